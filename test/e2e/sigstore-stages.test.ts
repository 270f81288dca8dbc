// Sigstore .sig attachments in the record stages: img-copy and img-sync sign with
// --sign-by-sigstore-private-key, img-sign check enforces a sigstoreSigned policy before any blob
// moves, img-sign copy carries attachments between registries where registries.d sets
// use-sigstore-attachments. Real registry; Debian's skopeo 1.9.3 has sigstore disabled, so it is
// the oracle only for the attachment as plain data (it copies the .sig tag byte for byte).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-sigstore-stages-');
const L = join(work, 'layout');
const box = sandbox(work);
const { img, sk } = box;
const path = (...p: string[]) => join(work, ...p);
const NO_TLS = '--tls-verify=false';
const RD = path('registries.d'); // attachments on everywhere
const RD_OFF = path('registries-off.d'); // attachments off everywhere
const RD_SRC = path('registries-src.d'); // on for a/ only
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const copy = (rd: string, ...args: string[]) => img('img-copy', [NO_TLS, `--registries.d=${rd}`, ...args]);
const signFlags = () => ['--sign-by-sigstore-private-key', path('k.private'), '--sign-passphrase-file', path('pass')];

let reg: Registry;
let H = '';
let D = ''; // digest of the fixture image

const sigTag = (d: string) => `${d.replace(':', '-')}.sig`;
async function manifestBytes(repo: string, tag: string): Promise<Buffer | undefined> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}
const repoExists = (repo: string) => existsSync(join(reg.storage, 'docker/registry/v2/repositories', repo));

beforeAll(async () => {
  writeFileSync(path('pass'), 'stage pass\n');
  for (const [dir, yaml] of [
    [RD, `default-docker:\n  lookaside: file://${path('lookaside')}\n  use-sigstore-attachments: true\n`],
    [RD_OFF, `default-docker:\n  lookaside: file://${path('lookaside')}\n`],
  ] as const) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'default.yaml'), yaml);
  }
  reg = await startRegistry();
  H = reg.host;
  mkdirSync(RD_SRC);
  writeFileSync(
    join(RD_SRC, 'default.yaml'),
    `default-docker:\n  lookaside: file://${path('lookaside')}\ndocker:\n  ${H}/a:\n    use-sigstore-attachments: true\n`,
  );
  for (const k of ['k', 'other']) ok(await img('img-sign', ['keygen', '--output-prefix', path(k), '--passphrase-file', path('pass')]));
  const sigstoreSigned = (key: string, identity?: object) => ({
    type: 'sigstoreSigned',
    keyPath: path(key),
    ...(identity ? { signedIdentity: identity } : {}),
  });
  writeFileSync(path('sigstore.json'), JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { '': [sigstoreSigned('k.pub')] } } }));
  writeFileSync(path('other.json'), JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { '': [sigstoreSigned('other.pub')] } } }));
  // The skopeo-placed copy names a/signed:1 in its signature.
  writeFileSync(
    path('placed.json'),
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { docker: { '': [sigstoreSigned('k.pub', { type: 'exactReference', dockerReference: `${H}/a/signed:1` })] } },
    }),
  );
  await umociImage(work, L, 'x');
  await sk(['copy', '-q', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${H}/src/app:1`]);
  D = `sha256:${createHash('sha256')
    .update((await manifestBytes('src/app', '1'))!)
    .digest('hex')}`;
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe('img-copy --sign-by-sigstore-private-key and a sigstoreSigned policy', () => {
  it('signs at the destination; a copy under sigstoreSigned passes and the attachment arrives byte for byte', async () => {
    const explained = ok(await copy(RD, '--explain', ...signFlags(), `docker://${H}/src/app:1`, `docker://${H}/a/signed:1`));
    expect(explained.stderr).toContain(`img-sign sign --sign-by-sigstore-private-key=${path('k.private')} --passphrase-file=${path('pass')}`);
    ok(await copy(RD, ...signFlags(), `docker://${H}/src/app:1`, `docker://${H}/a/signed:1`));
    const att = await manifestBytes('a/signed', sigTag(D));
    expect(att).toBeDefined();
    ok(await img('img-sign', ['verify', NO_TLS, '--sigstore-public-key', path('k.pub'), `docker://${H}/a/signed:1`]));

    const r = ok(await copy(RD, '--policy', path('sigstore.json'), `docker://${H}/a/signed:1`, `docker://${H}/b/copied:1`));
    expect(records(r.stdout)[0]).toMatchObject({ status: 'copied', digest: D });
    expect(await manifestBytes('b/copied', sigTag(D))).toEqual(att);
    // skopeo sees the same attachment as plain data.
    const inspected = await sk(['inspect', '--raw', NO_TLS, `docker://${H}/b/copied:${sigTag(D)}`]);
    expect(inspected.stdoutBytes).toEqual(att);
    // The copy is checked in turn (the identity signed is a/signed:1, which exactReference names).
    // dir: keeps it as a signature-N file (test/e2e/sigstore-dir.test.ts).
    ok(await copy(RD, '--policy', path('placed.json'), `docker://${H}/b/copied:1`, `dir:${path('from-b')}`));
    expect(existsSync(path('from-b', 'signature-1'))).toBe(true);
  });

  it('refuses an unsigned image before any blob moves', async () => {
    const r = await copy(RD, '--policy', path('sigstore.json'), `docker://${H}/src/app:1`, `docker://${H}/dst/unsigned:1`);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `img-sign check: source image docker://${H}/src/app:1 rejected by ${path('sigstore.json')} (transports.docker[""]): a signature was required, but no signature exists`,
    );
    expect(records(r.stdout)[0]!.error).toMatchObject({ code: 'POLICY_DENIED', stage: 'img-sign check' });
    expect(repoExists('dst/unsigned')).toBe(false);
  });

  it('refuses a signature by another key, with the reason', async () => {
    const r = await copy(RD, '--policy', path('other.json'), `docker://${H}/a/signed:1`, `docker://${H}/dst/wrong:1`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`rejected by ${path('other.json')}`);
    expect(r.stderr).toContain('cryptographic signature verification failed');
    expect(repoExists('dst/wrong')).toBe(false);
  });

  it('refuses a signature for another identity, with the reason', async () => {
    // b/copied:1 carries a/signed:1's signature: the default matchRepoDigestOrExact refuses it.
    const r = await copy(RD, '--policy', path('sigstore.json'), `docker://${H}/b/copied:1`, `docker://${H}/dst/identity:1`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`signature for identity "${H}/a/signed:1" is not accepted`);
    expect(repoExists('dst/identity')).toBe(false);
  });

  it('reads attachments only where registries.d turns them on, as containers/image, and says so', async () => {
    const r = await copy(RD_OFF, '--policy', path('sigstore.json'), `docker://${H}/a/signed:1`, `docker://${H}/dst/off:1`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `a signature was required, but no signature exists (sigstore attachments of docker://${H}/a/signed:1 are not used: registries.d ${RD_OFF} does not set use-sigstore-attachments for it)`,
    );
    expect(repoExists('dst/off')).toBe(false);
  });

  it('accepts an attachment that skopeo placed (copied as plain data)', async () => {
    ok(await sk(['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${H}/a/signed:1`, `docker://${H}/e/placed:1`]));
    ok(
      await sk([
        'copy',
        '-q',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${H}/a/signed:${sigTag(D)}`,
        `docker://${H}/e/placed:${sigTag(D)}`,
      ]),
    );
    ok(await copy(RD, '--remove-signatures', '--policy', path('placed.json'), `docker://${H}/e/placed:1`, `dir:${path('placed')}`));
    const bad = await copy(RD, '--remove-signatures', '--policy', path('other.json'), `docker://${H}/e/placed:1`, `dir:${path('placed-bad')}`);
    expect(bad.status).toBe(1);
    expect(existsSync(path('placed-bad'))).toBe(false);
  });
});

describe('img-sign copy with sigstore attachments', () => {
  it('refuses a destination where attachments are off, or that keeps none; --remove-signatures drops them', async () => {
    const off = await copy(RD_SRC, `docker://${H}/a/signed:1`, `docker://${H}/c/off:1`);
    expect(off.status).toBe(1);
    expect(records(off.stdout)[0]!.error).toMatchObject({ code: 'UNSUPPORTED', stage: 'img-sign copy' });
    expect(off.stderr).toContain(
      `cannot copy 1 sigstore signature of docker://${H}/a/signed:1 to docker://${H}/c/off:1: writing sigstore attachments is disabled by configuration`,
    );
    expect(off.stderr).toContain('(copy with --remove-signatures)');
    expect(await manifestBytes('c/off', sigTag(D))).toBeUndefined();

    const oci = await copy(RD, `docker://${H}/a/signed:1`, `oci:${path('oci')}:x`);
    expect(oci.status).toBe(1);
    expect(oci.stderr).toContain('keeps no sigstore signatures (only docker:// and dir: do) (copy with --remove-signatures)');
    expect(existsSync(path('oci'))).toBe(false);

    ok(await copy(RD_SRC, '--remove-signatures', `docker://${H}/a/signed:1`, `docker://${H}/c/removed:1`));
    expect(await manifestBytes('c/removed', '1')).toBeDefined();
    expect(await manifestBytes('c/removed', sigTag(D))).toBeUndefined();
    ok(await copy(RD, '--remove-signatures', `docker://${H}/a/signed:1`, `oci:${path('oci')}:x`));
  });

  it('refuses a converted manifest, whose digest the signatures do not name', async () => {
    const r = await copy(RD, '--format', 'v2s2', `docker://${H}/a/signed:1`, `docker://${H}/c/conv:1`);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error).toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(r.stderr).toContain('its 1 sigstore signature would not verify there');
  });
});

describe('img-sync --sign-by-sigstore-private-key', () => {
  it('signs each synced image; a sync under sigstoreSigned copies it on with its attachment', async () => {
    ok(await img('img-sync', [NO_TLS, `--registries.d=${RD}`, '--src', 'docker', '--dest', 'docker', ...signFlags(), `${H}/src/app`, `${H}/sync`]));
    ok(await img('img-sign', ['verify', NO_TLS, '--sigstore-public-key', path('k.pub'), `docker://${H}/sync/app:1`]));
    ok(
      await img('img-sync', [
        NO_TLS,
        `--registries.d=${RD}`,
        '--policy',
        path('sigstore.json'),
        '--src',
        'docker',
        '--dest',
        'docker',
        `${H}/sync/app:1`,
        `${H}/sync2`,
      ]),
    );
    // Every tag of sync/app includes the attachment's own tag, which is not signed (skopeo sync lists it too).
    const all = await img('img-sync', [
      NO_TLS,
      `--registries.d=${RD}`,
      '--policy',
      path('sigstore.json'),
      '--src',
      'docker',
      '--dest',
      'docker',
      `${H}/sync/app`,
      `${H}/sync3`,
    ]);
    expect(all.stderr).toContain(`source image docker://${H}/sync/app:${sigTag(D)} rejected`);
    expect(await manifestBytes('sync2/app', sigTag(D))).toEqual(await manifestBytes('sync/app', sigTag(D)));
  });
});

describe('usage', () => {
  it('the sigstore key needs a passphrase file and a docker:// destination; one passphrase file for one kind of signing', async () => {
    const noPass = await copy(RD, '--sign-by-sigstore-private-key', path('k.private'), `docker://${H}/src/app:1`, `docker://${H}/u/x:1`);
    expect(noPass.status).toBe(2);
    expect(noPass.stderr).toContain('--sign-by-sigstore-private-key needs --sign-passphrase-file');
    const toDir = await copy(RD, ...signFlags(), `docker://${H}/src/app:1`, `dir:${path('u-dir')}`);
    expect(toDir.status).toBe(2);
    const both = await copy(RD, ...signFlags(), '--sign-by', 'ABCD', `docker://${H}/src/app:1`, `docker://${H}/u/x:1`);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('only one of --sign-by and --sign-by-sigstore-private-key can be used with --sign-passphrase-file');
    const wrongPass = await img(
      'img-sign',
      ['sign', '--sign-by-sigstore-private-key', path('other.private'), '--passphrase-file', path('registries.d/default.yaml')],
      '',
    );
    expect(wrongPass.status).toBe(1);
    expect(wrongPass.stderr).toContain(`initializing private key ${path('other.private')}: wrong passphrase`);
    expect(repoExists('u/x')).toBe(false);
  });
});
