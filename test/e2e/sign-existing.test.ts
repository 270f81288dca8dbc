// Signing and carrying signatures when the destination already holds the image (records with
// status `exists`): img-copy and img-sync sign what lacks a signature by that key for that
// reference, never add a duplicate, and check the key's passphrase even when nothing is to be
// signed. Real gpg (a key with a passphrase), a real registry with a file:// lookaside store and
// sigstore attachments turned on in registries.d, real skopeo 1.9.3 (signedBy, standalone-verify)
// and openssl (sigstore: Debian's skopeo has it disabled) as the oracles.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox, ACCEPT_ANYTHING } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-sign-existing-');
const L = join(work, 'layout');
const box = sandbox(work);
box.env.GNUPGHOME = join(work, 'gnupg');
const { img, sk } = box;
const RD = join(work, 'registries.d');
const LOOKASIDE = join(work, 'lookaside');
const NO_TLS = '--tls-verify=false';
const PASSPHRASE = 'existing images too';
const path = (...p: string[]) => join(work, ...p);
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const gpg = (args: string[], input?: string) => exec('gpg', ['--batch', ...args], input, box.env);
const copy = (...args: string[]) => img('img-copy', [NO_TLS, `--registries.d=${RD}`, ...args]);
const sync = (...args: string[]) => img('img-sync', [NO_TLS, `--registries.d=${RD}`, '--src', 'docker', '--dest', 'docker', ...args]);
const gpgSign = () => ['--sign-by', FPR, '--sign-passphrase-file', path('pass')];
const sigstoreSign = () => ['--sign-by-sigstore-private-key', path('k.private'), '--sign-passphrase-file', path('kpass')];
const skCopy = (policy: string, ...args: string[]) =>
  exec('skopeo', ['--policy', path(policy), '--registries.d', RD, 'copy', '-q', '--src-tls-verify=false', ...args], undefined, box.env);
/** killAgent stops gpg-agent, so that no cached passphrase stands in for the one given. */
const killAgent = () => exec('gpgconf', ['--kill', 'gpg-agent'], undefined, box.env);

let reg: Registry;
let H = '';
let FPR = '';
let OTHER = '';
let D = ''; // digest of the fixture image

/** lookaside lists the simple signatures stored for `repo`@digest D, in order. */
const lookaside = (repo: string, digest = D): Buffer[] => {
  const dir = join(LOOKASIDE, `${repo}@${digest.replace(':', '=')}`);
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((n) => /^signature-\d+$/.test(n));
  return names.sort((a, b) => Number(a.slice(10)) - Number(b.slice(10))).map((n) => readFileSync(join(dir, n)));
};

/** attachment is the layers (payload and base64 signature) of `repo`'s sigstore attachment for D. */
async function attachment(repo: string): Promise<{ payload: Buffer; signature: string }[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${D.replace(':', '-')}.sig`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  const m = (await res.json()) as { layers: { digest: string; annotations: Record<string, string> }[] };
  const out = [];
  for (const l of m.layers) {
    const b = await fetch(`${reg.url}/v2/${repo}/blobs/${l.digest}`);
    out.push({ payload: Buffer.from(await b.arrayBuffer()), signature: l.annotations['dev.cosignproject.cosign/signature']! });
  }
  return out;
}

/** opensslVerifies says whether openssl accepts a sigstore layer's signature with public key `pub`. */
async function opensslVerifies(layer: { payload: Buffer; signature: string }, pub: string, name: string): Promise<boolean> {
  writeFileSync(path(`${name}.payload`), layer.payload);
  writeFileSync(path(`${name}.sig`), Buffer.from(layer.signature, 'base64'));
  const v = await exec('openssl', ['dgst', '-sha256', '-verify', path(pub), '-signature', path(`${name}.sig`), path(`${name}.payload`)]);
  return v.stdout.includes('Verified OK');
}

/** payloadOf reads what a sigstore layer's payload names. */
const payloadOf = (layer: { payload: Buffer }) => {
  const p = JSON.parse(layer.payload.toString()) as { critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string } } };
  return { ref: p.critical.identity['docker-reference'], digest: p.critical.image['docker-manifest-digest'] };
};

/** skopeoAccepts: skopeo copy under a signedBy policy for FPR accepts `image`, and standalone-verify verifies its signature-N for `identity`. */
async function skopeoAccepts(image: string, name: string, n = 1, identity = image): Promise<void> {
  ok(await skCopy('signed.json', `docker://${image}`, `dir:${path(name)}`));
  const v = ok(await box.skopeo(['standalone-verify', path(name, 'manifest.json'), identity, FPR, path(name, `signature-${n}`)]));
  expect(v.stdout).toContain(`Signature verified, digest ${D}`);
}

beforeAll(async () => {
  mkdirSync(box.env.GNUPGHOME!, { recursive: true });
  chmodSync(box.env.GNUPGHOME!, 0o700);
  for (const [name, out] of [
    ['imgpipe signer', 'signer.pub'],
    ['someone else', 'other-gpg.pub'],
  ] as const) {
    const params = `Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: ${name}\nPassphrase: ${PASSPHRASE}\nExpire-Date: 0\n%commit\n`;
    const r = await must(exec('gpg', ['--batch', '--pinentry-mode', 'loopback', '--status-fd', '1', '--gen-key'], params, box.env), 'gpg --gen-key');
    const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(r.stdout)![1]!;
    writeFileSync(path(out), (await must(gpg(['--export', fpr]), 'gpg --export')).stdoutBytes);
    if (out === 'signer.pub') FPR = fpr;
    else OTHER = fpr;
  }
  writeFileSync(path('pass'), `${PASSPHRASE}\n`);
  writeFileSync(path('wrong'), 'not the passphrase\n');
  writeFileSync(path('kpass'), 'sigstore pass\n');
  mkdirSync(RD);
  writeFileSync(join(RD, 'default.yaml'), `default-docker:\n  lookaside: file://${LOOKASIDE}\n  use-sigstore-attachments: true\n`);
  writeFileSync(path('accept.json'), ACCEPT_ANYTHING);
  writeFileSync(path('signed.json'), JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path('signer.pub') }] }));
  ok(await img('img-sign', ['keygen', '--output-prefix', path('k'), '--passphrase-file', path('kpass')]));
  ok(await img('img-sign', ['keygen', '--output-prefix', path('other'), '--passphrase-file', path('kpass')]));
  reg = await startRegistry();
  H = reg.host;
  await umociImage(work, L, 'x');
  await sk(['copy', '-q', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${H}/src/app:1`]);
  const digest = await sk(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${H}/src/app:1`]);
  D = digest.stdout.trim();
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  await killAgent();
});

describe('img-copy --sign-by to a destination that has the image', () => {
  it('signs it (skopeo accepts the signature under signedBy), and a second run adds no duplicate', async () => {
    ok(await copy(`docker://${H}/src/app:1`, `docker://${H}/dst/simple:1`));
    expect(lookaside('dst/simple')).toHaveLength(0);
    const r = ok(await copy(...gpgSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/simple:1`));
    expect(records(r.stdout)[0]).toMatchObject({ digest: D, status: 'exists' });
    expect(lookaside('dst/simple')).toHaveLength(1);
    await skopeoAccepts(`${H}/dst/simple:1`, 'sk-simple');
    const first = lookaside('dst/simple')[0]!;
    ok(await copy(...gpgSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/simple:1`));
    expect(lookaside('dst/simple')).toEqual([first]);
    // Another tag of the same digest is another identity: it gets its own signature, once.
    ok(await copy(...gpgSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/simple:2`));
    ok(await copy(...gpgSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/simple:2`));
    expect(lookaside('dst/simple')).toHaveLength(2);
    expect(lookaside('dst/simple')[0]).toEqual(first);
    await skopeoAccepts(`${H}/dst/simple:2`, 'sk-simple-2', 2);
  });

  it('with --sign-by-sigstore-private-key the attachment appears, openssl verifies it, and a second run adds no layer', async () => {
    ok(await copy(`docker://${H}/src/app:1`, `docker://${H}/dst/sigstore:1`));
    expect(await attachment('dst/sigstore')).toHaveLength(0);
    const r = ok(await copy(...sigstoreSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/sigstore:1`));
    expect(records(r.stdout)[0]).toMatchObject({ digest: D, status: 'exists' });
    const layers = await attachment('dst/sigstore');
    expect(layers).toHaveLength(1);
    expect(payloadOf(layers[0]!)).toEqual({ ref: `${H}/dst/sigstore:1`, digest: D });
    expect(await opensslVerifies(layers[0]!, 'k.pub', 'copy')).toBe(true);
    expect(await opensslVerifies(layers[0]!, 'other.pub', 'copy-other')).toBe(false);
    ok(await copy(...sigstoreSign(), `docker://${H}/src/app:1`, `docker://${H}/dst/sigstore:1`));
    expect(await attachment('dst/sigstore')).toEqual(layers);
  });
});

describe('img-sync with signing, run again', () => {
  it("--sign-by: an unsigned mirror gets signed, a re-sync adds no duplicate, another key's signature does not count", async () => {
    ok(await sync(`${H}/src/app`, `${H}/m1`));
    expect(lookaside('m1/app')).toHaveLength(0);
    ok(await sync(...gpgSign(), `${H}/src/app`, `${H}/m1`));
    expect(lookaside('m1/app')).toHaveLength(1);
    await skopeoAccepts(`${H}/m1/app:1`, 'sk-m1');
    const first = lookaside('m1/app');
    ok(await sync(...gpgSign(), `${H}/src/app`, `${H}/m1`));
    expect(lookaside('m1/app')).toEqual(first);
    // A mirror signed by another key is signed by this one as well.
    ok(await sync('--sign-by', OTHER, '--sign-passphrase-file', path('pass'), `${H}/src/app`, `${H}/m2`));
    expect(lookaside('m2/app')).toHaveLength(1);
    ok(await sync(...gpgSign(), `${H}/src/app`, `${H}/m2`));
    ok(await sync(...gpgSign(), `${H}/src/app`, `${H}/m2`));
    expect(lookaside('m2/app')).toHaveLength(2);
    await skopeoAccepts(`${H}/m2/app:1`, 'sk-m2', 2);
  });

  it("--sign-by-sigstore-private-key: an unsigned mirror gets a signature, a re-sync adds no layer, another key's does not count", async () => {
    ok(await sync(`${H}/src/app`, `${H}/m3`));
    ok(await sync(...sigstoreSign(), `${H}/src/app`, `${H}/m3`));
    const layers = await attachment('m3/app');
    expect(layers).toHaveLength(1);
    expect(payloadOf(layers[0]!)).toEqual({ ref: `${H}/m3/app:1`, digest: D });
    expect(await opensslVerifies(layers[0]!, 'k.pub', 'm3')).toBe(true);
    ok(await sync(...sigstoreSign(), `${H}/src/app`, `${H}/m3`));
    expect(await attachment('m3/app')).toEqual(layers);
    ok(await sync('--sign-by-sigstore-private-key', path('other.private'), '--sign-passphrase-file', path('kpass'), `${H}/src/app`, `${H}/m4`));
    ok(await sync(...sigstoreSign(), `${H}/src/app`, `${H}/m4`));
    ok(await sync(...sigstoreSign(), `${H}/src/app`, `${H}/m4`));
    const both = await attachment('m4/app');
    expect(both).toHaveLength(2);
    expect(await opensslVerifies(both[0]!, 'other.pub', 'm4-0')).toBe(true);
    expect(await opensslVerifies(both[1]!, 'k.pub', 'm4-1')).toBe(true);
  });
});

describe('the passphrase is checked when the image is there already', () => {
  it('a wrong passphrase fails img-copy and img-sync with one line, and nothing is signed', async () => {
    ok(await copy(`docker://${H}/src/app:1`, `docker://${H}/dst/locked:1`));
    ok(await sync(`${H}/src/app:1`, `${H}/locked`));
    await killAgent();
    for (const r of [
      await copy('--sign-by', FPR, '--sign-passphrase-file', path('wrong'), `docker://${H}/src/app:1`, `docker://${H}/dst/locked:1`),
      await sync('--sign-by', FPR, '--sign-passphrase-file', path('wrong'), `${H}/src/app:1`, `${H}/locked`),
    ]) {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toBe(`img-sign: signing with key ${FPR}: bad passphrase\n`);
    }
    const s = await copy(
      '--sign-by-sigstore-private-key',
      path('k.private'),
      '--sign-passphrase-file',
      path('wrong'),
      `docker://${H}/src/app:1`,
      `docker://${H}/dst/locked:1`,
    );
    expect(s.status).not.toBe(0);
    expect(s.stderr).toBe(`img-sign: initializing private key ${path('k.private')}: wrong passphrase (decryption failed)\n`);
    expect(lookaside('dst/locked')).toHaveLength(0);
    expect(lookaside('locked/app')).toHaveLength(0);
    expect(await attachment('dst/locked')).toHaveLength(0);
  });
});

describe('policy.json is enforced on images the destination has', () => {
  it('a re-sync under a policy that rejects the source fails with POLICY_DENIED and signs nothing', async () => {
    ok(await sync(`${H}/src/app`, `${H}/m6`));
    writeFileSync(path('other-only.json'), JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path('other-gpg.pub') }] }));
    const r = await sync('--policy', path('other-only.json'), ...gpgSign(), `${H}/src/app`, `${H}/m6`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`img-sign check: source image docker://${H}/src/app:1 rejected by ${path('other-only.json')} (default)`);
    expect(lookaside('m6/app')).toHaveLength(0);
    // skopeo refuses that copy too.
    const sk = await skCopy('other-only.json', `docker://${H}/src/app:1`, `dir:${path('sk-m6')}`);
    expect(sk.status).toBe(1);
    expect(sk.stderr).toContain('Source image rejected');
  });
});

describe('the img-sign sign stage on records', () => {
  it('signs an `exists` record from get --missing-at-dest; `planned` and error records pass untouched', async () => {
    ok(await copy(`docker://${H}/src/app:1`, `docker://${H}/dst/stage:1`));
    const exists = records(
      ok(await box.sh(`img-ref --dest docker://${H}/dst/stage:1 docker://${H}/src/app:1 | img-manifest get --missing-at-dest ${NO_TLS}`)).stdout,
    )[0]!;
    expect(exists).toMatchObject({ status: 'exists', digest: D });
    expect(exists).not.toHaveProperty('raw');
    const planned = { ...exists, dest: `docker://${H}/dst/stage:2`, status: 'planned' };
    const failed = {
      ...exists,
      dest: `docker://${H}/dst/stage:3`,
      status: undefined,
      error: { code: 'IO', message: 'earlier failure', stage: 'img-blob-put' },
    };
    writeFileSync(path('stage.ndjson'), [exists, planned, failed].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = await box.sh(`img-sign sign --sign-by ${FPR} --passphrase-file ${path('pass')} --registries.d ${RD} ${NO_TLS} < ${path('stage.ndjson')}`);
    expect(r.status).toBe(1); // the error record passed through
    expect(records(r.stdout)).toEqual([exists, planned, JSON.parse(JSON.stringify(failed))]);
    expect(r.stderr).toBe('');
    expect(lookaside('dst/stage')).toHaveLength(1);
    await skopeoAccepts(`${H}/dst/stage:1`, 'sk-stage');
    const again = await box.sh(`img-sign sign --sign-by ${FPR} --passphrase-file ${path('pass')} --registries.d ${RD} ${NO_TLS} < ${path('stage.ndjson')}`);
    expect(again.status).toBe(1);
    expect(lookaside('dst/stage')).toHaveLength(1);
  });
});

describe('img-sign copy to a destination that has the image', () => {
  it("carries the source's simple and sigstore signatures that are missing there, once", async () => {
    ok(await copy(...gpgSign(), `oci:${L}:x`, `docker://${H}/src/signed:1`));
    ok(await img('img-sign', ['sign', NO_TLS, '--sigstore-private-key', path('k.private'), '--passphrase-file', path('kpass'), `docker://${H}/src/signed:1`]));
    const srcSigs = lookaside('src/signed');
    const srcLayers = await attachment('src/signed');
    expect(srcSigs).toHaveLength(1);
    expect(srcLayers).toHaveLength(1);
    // Copied without signatures first; then the plain copies carry them.
    ok(await copy('--remove-signatures', `docker://${H}/src/signed:1`, `docker://${H}/dst/carried:1`));
    expect(lookaside('dst/carried')).toHaveLength(0);
    const r = ok(await copy(`docker://${H}/src/signed:1`, `docker://${H}/dst/carried:1`));
    expect(records(r.stdout)[0]).toMatchObject({ status: 'exists' });
    expect(lookaside('dst/carried')).toEqual(srcSigs);
    expect(await attachment('dst/carried')).toEqual(srcLayers);
    ok(await copy(`docker://${H}/src/signed:1`, `docker://${H}/dst/carried:1`));
    expect(lookaside('dst/carried')).toEqual(srcSigs);
    expect(await attachment('dst/carried')).toEqual(srcLayers);
    // img-sync: get --missing-at-dest says `exists`; the signatures still arrive, once.
    ok(await sync('--remove-signatures', `${H}/src/signed`, `${H}/m5`));
    ok(await sync(`${H}/src/signed`, `${H}/m5`));
    ok(await sync(`${H}/src/signed`, `${H}/m5`));
    expect(lookaside('m5/signed')).toEqual(srcSigs);
    expect(await attachment('m5/signed')).toEqual(srcLayers);
    // skopeo accepts and verifies the carried signature (it names src/signed:1).
    const identity = { type: 'exactReference', dockerReference: `${H}/src/signed:1` };
    writeFileSync(
      path('carried.json'),
      JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path('signer.pub'), signedIdentity: identity }] }),
    );
    ok(await skCopy('carried.json', `docker://${H}/dst/carried:1`, `dir:${path('sk-carried')}`));
    const v = ok(await box.skopeo(['standalone-verify', path('sk-carried', 'manifest.json'), `${H}/src/signed:1`, FPR, path('sk-carried', 'signature-1')]));
    expect(v.stdout).toContain(`Signature verified, digest ${D}`);
  });
});
