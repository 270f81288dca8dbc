// Simple signatures travel with img-copy and img-sync, and policy.json is enforced before any blob
// moves: real gpg keyrings made here, a real registry with a file:// lookaside store named in a
// registries.d, and real skopeo 1.9 (--registries.d, --policy) as the oracle both ways.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { BIN, exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox, ACCEPT_ANYTHING } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-signatures-');
const L = join(work, 'layout');
const box = sandbox(work);
box.env.GNUPGHOME = join(work, 'gnupg');
const { img, sk } = box;
const RD = join(work, 'registries.d');
const LOOKASIDE = join(work, 'lookaside');
const NO_TLS = '--tls-verify=false';
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const path = (...p: string[]) => join(work, ...p);
/** copy is img-copy against the plain-http registry, with the test's registries.d. */
const copy = (...args: string[]) => img('img-copy', [NO_TLS, `--registries.d=${RD}`, ...args]);
/** skCopy is skopeo copy with the test's registries.d and a policy file of this directory. */
const skCopy = (policy: string, ...args: string[]) =>
  exec(
    'skopeo',
    ['--policy', path(policy), '--registries.d', RD, 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', ...args],
    undefined,
    box.env,
  );
const gpg = (args: string[]) => exec('gpg', ['--batch', ...args], undefined, box.env);
/** lookaside lists the signature files stored for repository `repo` (any digest). */
const lookaside = (repo: string): string[] => {
  const dir = join(LOOKASIDE, ...repo.split('/').slice(0, -1));
  const last = repo.split('/').pop()!;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(`${last}@`))
    .flatMap((n) => readdirSync(join(dir, n)).map((f) => `${n}/${f}`));
};

let reg: Registry;
let H: string;
let FPR = '';
let _OTHER = '';

beforeAll(async () => {
  mkdirSync(box.env.GNUPGHOME!, { recursive: true });
  chmodSync(box.env.GNUPGHOME!, 0o700);
  for (const [name, out] of [
    ['imgpipe signer', 'signer.pub'],
    ['someone else', 'other.pub'],
  ] as const) {
    const params = `%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: ${name}\nExpire-Date: 0\n%commit\n`;
    const r = await must(exec('gpg', ['--batch', '--status-fd', '1', '--gen-key'], params, box.env), 'gpg --gen-key');
    const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(r.stdout)![1]!;
    writeFileSync(path(out), (await must(gpg(['--export', fpr]), 'gpg --export')).stdoutBytes);
    if (out === 'signer.pub') FPR = fpr;
    else _OTHER = fpr;
  }
  mkdirSync(RD);
  writeFileSync(join(RD, 'default.yaml'), `default-docker:\n  lookaside: file://${LOOKASIDE}\n`);
  writeFileSync(path('accept.json'), ACCEPT_ANYTHING);
  const signedBy = (key: string, identity?: object) => ({
    type: 'signedBy',
    keyType: 'GPGKeys',
    keyPath: path(key),
    ...(identity ? { signedIdentity: identity } : {}),
  });
  writeFileSync(path('signed.json'), JSON.stringify({ default: [signedBy('signer.pub')] }));
  writeFileSync(path('other.json'), JSON.stringify({ default: [signedBy('other.pub')] }));
  reg = await startRegistry();
  H = reg.host;
  // Signatures name where the image was first pushed; the copies at dst/ verify against that name.
  writeFileSync(
    path('travelled.json'),
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${H}/dst`]: [signedBy('signer.pub', { type: 'remapIdentity', prefix: `${H}/dst`, signedPrefix: `${H}/src` })],
          [`${H}/src`]: [signedBy('signer.pub')],
        },
        dir: { '': [{ type: 'insecureAcceptAnything' }] },
      },
    }),
  );
  await umociImage(work, L, 'x');
  await sk(['copy', '-q', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${H}/src/plain:1`]);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
  await exec('gpgconf', ['--kill', 'gpg-agent'], undefined, box.env);
});

describe('signing at the destination', () => {
  it('img-copy --sign-by stores a signature in the lookaside store that skopeo accepts under signedBy', async () => {
    const r = ok(await copy('--sign-by', FPR, `oci:${L}:x`, `docker://${H}/src/signed:1`));
    const rec = records(r.stdout)[0]!;
    expect(lookaside('src/signed')).toEqual([`signed@${rec.digest.replace(':', '=')}/signature-1`]);
    ok(await skCopy('signed.json', `docker://${H}/src/signed:1`, `dir:${path('sk-verify-1')}`));
    const wrongKey = await skCopy('other.json', `docker://${H}/src/signed:1`, `dir:${path('sk-verify-2')}`);
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stderr).toContain('Source image rejected');
    // The payload names the destination and its digest, as skopeo's standalone-verify reads it.
    const v = ok(await box.skopeo(['standalone-verify', path('sk-verify-1', 'manifest.json'), `${H}/src/signed:1`, FPR, path('sk-verify-1', 'signature-1')]));
    expect(v.stdout).toContain(`Signature verified, digest ${rec.digest}`);
  });

  it('a skopeo copy --sign-by signature passes img-sign check', async () => {
    await must(skCopy('accept.json', '--sign-by', FPR, `oci:${L}:x`, `docker://${H}/src/sksigned:1`), 'skopeo copy --sign-by');
    const r = await box.sh(
      `img-manifest get ${NO_TLS} docker://${H}/src/sksigned:1 | img-sign check --policy ${path('signed.json')} --registries.d ${RD} ${NO_TLS}`,
    );
    expect(records(ok(r).stdout)[0]).not.toHaveProperty('error');
    const refused = await box.sh(
      `img-manifest get ${NO_TLS} docker://${H}/src/sksigned:1 | img-sign check --policy ${path('other.json')} --registries.d ${RD} ${NO_TLS}`,
    );
    expect(refused.status).toBe(1);
    expect(records(refused.stdout)[0]!.error).toMatchObject({ code: 'POLICY_DENIED', stage: 'img-sign check' });
    expect(refused.stderr).toMatch(
      /rejected by .*other\.json \(default\): invalid signature: signed by key ID [0-9A-F]{16}, which is not among the trusted public keys/,
    );
  });
});

describe('signatures travel registry → dir → registry', () => {
  it('img-copy carries them as skopeo does, and the image still verifies at the end', async () => {
    ok(await copy('--sign-by', FPR, `oci:${L}:x`, `docker://${H}/src/app:1`));
    const original = readFileSync(join(LOOKASIDE, 'src', lookaside('src/app')[0]!));
    // registry → dir: signature-1 beside manifest.json, the same bytes skopeo writes there.
    ok(await copy('--policy', path('signed.json'), `docker://${H}/src/app:1`, `dir:${path('d1')}`));
    ok(await skCopy('signed.json', `docker://${H}/src/app:1`, `dir:${path('sk-d1')}`));
    expect(readdirSync(path('d1')).filter((n) => n.startsWith('signature'))).toEqual(['signature-1']);
    expect(readFileSync(path('d1', 'signature-1'))).toEqual(readFileSync(path('sk-d1', 'signature-1')));
    expect(readFileSync(path('d1', 'signature-1'))).toEqual(original);
    // dir → registry (another repository): the signature goes to its lookaside place.
    const back = records(ok(await copy('--policy', path('travelled.json'), `dir:${path('d1')}`, `docker://${H}/dst/app:1`)).stdout)[0]!;
    expect(lookaside('dst/app')).toEqual([`app@${back.digest.replace(':', '=')}/signature-1`]);
    // At the end both checkers accept it (the signature names src/app:1, remapped from dst/).
    ok(await skCopy('travelled.json', `docker://${H}/dst/app:1`, `dir:${path('sk-end')}`));
    ok(await copy('--policy', path('travelled.json'), `docker://${H}/dst/app:1`, `dir:${path('end')}`));
    expect(readFileSync(path('end', 'signature-1'))).toEqual(original);
    // A dir: image skopeo wrote is read the same way (dst/app:2 has dst/app:1's digest: the same lookaside place).
    ok(await copy('--policy', path('travelled.json'), `dir:${path('sk-d1')}`, `docker://${H}/dst/app:2`));
    expect(lookaside('dst/app')).toHaveLength(1);
    expect(readFileSync(join(LOOKASIDE, 'dst', lookaside('dst/app')[0]!))).toEqual(original);
  });

  it('img-sync carries them too, and skopeo verifies the mirror', async () => {
    ok(await copy('--sign-by', FPR, `oci:${L}:x`, `docker://${H}/src/synced:1`));
    ok(
      await img('img-sync', [
        NO_TLS,
        `--registries.d=${RD}`,
        '--policy',
        path('signed.json'),
        '--src',
        'docker',
        '--dest',
        'docker',
        `${H}/src/synced`,
        `${H}/dst`,
      ]),
    );
    expect(lookaside('dst/synced')).toHaveLength(1);
    ok(await skCopy('travelled.json', `docker://${H}/dst/synced:1`, `dir:${path('sk-synced')}`));
  });
});

describe('policy.json is enforced before any blob moves', () => {
  it('an unsigned image under a signedBy policy is refused, and the destination stays empty', async () => {
    for (const dest of [`docker://${H}/dst/plain:1`, `dir:${path('plain')}`]) {
      const r = await copy('--policy', path('signed.json'), `docker://${H}/src/plain:1`, dest);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(
        `img-sign check: source image docker://${H}/src/plain:1 rejected by ${path('signed.json')} (default): a signature was required, but no signature exists`,
      );
      expect(records(r.stdout)[0]!.error).toMatchObject({ code: 'POLICY_DENIED', stage: 'img-sign check' });
    }
    expect(existsSync(path('plain'))).toBe(false);
    expect(existsSync(join(reg.storage, 'docker/registry/v2/repositories/dst/plain'))).toBe(false);
    // skopeo refuses it the same way.
    const sk1 = await skCopy('signed.json', `docker://${H}/src/plain:1`, `dir:${path('sk-plain')}`);
    expect(sk1.stderr).toContain('A signature was required, but no signature exists');
  });

  it('--insecure-policy leaves the check out; without a flag the user policy.json is used', async () => {
    const home = path('reject-home');
    mkdirSync(join(home, '.config/containers'), { recursive: true });
    writeFileSync(join(home, '.config/containers/policy.json'), '{"default":[{"type":"reject"}]}');
    const run = (...args: string[]) => exec(join(BIN, 'img-copy'), [NO_TLS, `--registries.d=${RD}`, ...args], undefined, { ...box.env, HOME: home });
    const refused = await run(`docker://${H}/src/plain:1`, `dir:${path('ins-1')}`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `rejected by ${join(home, '.config/containers/policy.json')} (default): running image docker://${H}/src/plain:1 is rejected by policy`,
    );
    const explained = ok(await run('--insecure-policy', '--explain', `docker://${H}/src/plain:1`, `dir:${path('ins-2')}`));
    expect(explained.stderr).not.toContain('img-sign check');
    ok(await run('--insecure-policy', `docker://${H}/src/plain:1`, `dir:${path('ins-2')}`));
    expect(existsSync(path('ins-2', 'manifest.json'))).toBe(true);
    const both = await run('--insecure-policy', '--policy', path('signed.json'), `docker://${H}/src/plain:1`, `dir:${path('ins-3')}`);
    expect(both.status).toBe(2);
  });
});

describe('--remove-signatures and destinations without signatures', () => {
  it('drops the signatures; an oci: destination refuses a signed source before any blob moves unless they are removed', async () => {
    ok(await copy('--sign-by', FPR, `oci:${L}:x`, `docker://${H}/src/rm:1`));
    ok(await copy('--remove-signatures', `docker://${H}/src/rm:1`, `dir:${path('rm')}`));
    expect(existsSync(path('rm', 'manifest.json'))).toBe(true);
    expect(readdirSync(path('rm')).filter((n) => n.startsWith('signature'))).toEqual([]);
    const oci = await copy(`docker://${H}/src/rm:1`, `oci:${path('rm-oci')}:x`);
    expect(oci.status).toBe(1);
    expect(oci.stderr).toContain('keeps no simple signatures (copy with --remove-signatures)');
    expect(existsSync(path('rm-oci'))).toBe(false);
    ok(await copy('--remove-signatures', `docker://${H}/src/rm:1`, `oci:${path('rm-oci')}:x`));
    // A conversion would change the digest the signature names: refused, as skopeo refuses it.
    const conv = await copy('--format', 'v2s2', `docker://${H}/src/rm:1`, `docker://${H}/dst/rm:1`);
    expect(records(conv.stdout)[0]!.error).toMatchObject({ code: 'SIGNATURE_INVALID' });
    expect(lookaside('dst/rm')).toEqual([]);
    ok(await copy('--format', 'v2s2', '--remove-signatures', `docker://${H}/src/rm:1`, `docker://${H}/dst/rm:1`));
  });
});

describe('registries.d', () => {
  it('an unknown key is an error that names it and its file', async () => {
    const bad = path('bad.d');
    mkdirSync(bad);
    writeFileSync(join(bad, 'x.yaml'), `docker:\n  ${H}/src:\n    lookasid: file://${LOOKASIDE}\n`);
    const r = await img('img-copy', [NO_TLS, `--registries.d=${bad}`, '--policy', path('signed.json'), `docker://${H}/src/signed:1`, `dir:${path('bad-out')}`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${join(bad, 'x.yaml')}: unknown key "lookasid" in docker["${H}/src"]`);
    expect(existsSync(path('bad-out'))).toBe(false);
  });
});
