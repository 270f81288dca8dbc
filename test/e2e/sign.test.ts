import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { digestOf } from '../../lib/oci/digest.js';
import { checkPolicy } from '../../lib/policy/evaluate.js';
import type { PolicyImage } from '../../lib/policy/image.js';
import { loadPolicy } from '../../lib/policy/load.js';
import { parsePolicy } from '../../lib/policy/parse.js';
import { imageDockerReference, policyScopes, requirementsFor } from '../../lib/policy/scope.js';
import { parseRef } from '../../lib/ref/index.js';
import { exec, img, tempDir, type Result } from '../helpers/run.js';

// Real gpg keyrings made here, real skopeo as the oracle: what img-sign signs skopeo verifies and
// the other way round, and both refuse the same forged signatures.

const work = tempDir('imgpipe-sign-');
const GNUPGHOME = join(work, 'g');
const env = { GNUPGHOME };
const PASSPHRASE = 'correct horse battery';
const manifestPath = join(work, 'manifest.json');
const manifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:${'1'.repeat(64)}","size":2},"layers":[]}`;
const DIGEST = digestOf(new TextEncoder().encode(manifest));
const REF = 'registry.example.com/team/app:v1';
let plain = ''; // fingerprint of the key without passphrase
let locked = ''; // fingerprint of the key with a passphrase

const gpg = (args: string[], input?: string | Buffer) => exec('gpg', ['--batch', ...args], input, env);
const ok = async (p: Promise<Result>, what: string) => {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}: ${r.stderr}`);
  return r;
};
const file = (name: string, data: string | Buffer) => {
  const p = join(work, name);
  writeFileSync(p, data);
  return p;
};
const skopeo = (args: string[]) => exec('skopeo', args, undefined, env);

async function genKey(params: string): Promise<string> {
  const r = await ok(gpg(['--status-fd', '1', '--gen-key'], params), 'gpg --gen-key');
  const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(r.stdout)?.[1];
  if (!fpr) throw new Error(`no KEY_CREATED in ${r.stdout}`);
  return fpr;
}

/** signedPayload returns the literal data of an OpenPGP message, decompressing it when needed. */
function packets(sig: Buffer): Buffer {
  if (sig[0] === 0xa3) return sig[1] === 1 ? inflateRawSync(sig.subarray(2)) : sig[1] === 2 ? inflateSync(sig.subarray(2)) : sig.subarray(2);
  return sig;
}

/** tamper rewrites `from` into `to` (same length) inside the signed data, as a forger would. */
function tamper(sig: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const inner = Buffer.from(packets(sig));
  const at = inner.indexOf(from);
  expect(at).toBeGreaterThan(0);
  inner.write(to, at);
  return inner; // one-pass signature, literal data, signature: a valid message without compression
}

beforeAll(async () => {
  mkdirSync(GNUPGHOME);
  chmodSync(GNUPGHOME, 0o700);
  writeFileSync(manifestPath, manifest);
  plain = await genKey('%no-protection\nKey-Type: RSA\nKey-Length: 2048\nName-Real: imgpipe plain\nExpire-Date: 0\n%commit\n');
  locked = await genKey(
    `Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: imgpipe locked\nPassphrase: ${PASSPHRASE}\nExpire-Date: 0\n%commit\n`,
  );
  file('plain.pub', (await ok(gpg(['--export', plain]), 'export')).stdoutBytes);
  file('locked.pub', (await ok(gpg(['--export', locked]), 'export')).stdoutBytes);
  file('right.pass', `${PASSPHRASE}\nsecond line ignored\n`);
  file('both.pub', (await ok(gpg(['--armor', '--export', plain, locked]), 'export')).stdoutBytes);
});

afterAll(async () => {
  await exec('gpgconf', ['--kill', 'gpg-agent'], undefined, env);
});

describe('img-sign sign → skopeo standalone-verify', () => {
  it('signs with a key without passphrase; skopeo and img-sign verify it', async () => {
    const out = join(work, 'plain.sig');
    const s = await img('img-sign', ['sign', '--output', out, manifestPath, REF, plain], undefined, env);
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(s.stdout).toBe('');
    const v = await skopeo(['standalone-verify', manifestPath, REF, plain, out]);
    expect(v.stderr).toBe('');
    expect(v.stdout).toBe(`Signature verified, digest ${DIGEST}\n`);
    const mine = await img('img-sign', ['verify', manifestPath, REF, plain, out], undefined, env);
    expect(mine.stdout).toBe(`Signature verified using fingerprint ${plain}, digest ${DIGEST}\n`);
    // The payload as containers/image writes it.
    const payload = (await ok(gpg(['--decrypt', out]), 'gpg --decrypt')).stdout;
    expect(payload).toMatch(
      new RegExp(
        `^\\{"critical":\\{"identity":\\{"docker-reference":"${REF}"\\},"image":\\{"docker-manifest-digest":"${DIGEST}"\\},"type":"atomic container signature"\\},"optional":\\{"creator":"imgpipe [^"]+","timestamp":\\d+\\}\\}$`,
      ),
    );
  });

  it('refuses a wrong passphrase without printing or passing it in argv, then signs with the right one', async () => {
    // A gpg wrapper first on PATH records the argv imgpipe gives gpg.
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(work, 'gpg-argv.log');
    const gpgPath = (await exec('sh', ['-c', 'command -v gpg'])).stdout.trim();
    writeFileSync(join(bin, 'gpg'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${gpgPath}' "$@"\n`, { mode: 0o755 });
    const wrapped = { ...env, PATH: `${bin}:${process.env.PATH}` };
    const out = join(work, 'locked.sig');
    const bad = await img('img-sign', ['sign', '-o', out, '--passphrase-file', file('wrong.pass', 'not it\n'), manifestPath, REF, locked], undefined, wrapped);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`img-sign: creating signature: signing with key ${locked}: bad passphrase\n`);
    const good = await img('img-sign', ['sign', '-o', out, '--passphrase-file', join(work, 'right.pass'), manifestPath, REF, locked], undefined, wrapped);
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    const argv = readFileSync(log, 'utf8');
    expect(argv).toContain('--passphrase-fd 4');
    expect(argv).not.toContain('not it');
    expect(argv).not.toContain(PASSPHRASE);
    const v = await skopeo(['standalone-verify', manifestPath, REF, locked, out]);
    expect(v.stdout).toBe(`Signature verified, digest ${DIGEST}\n`);
  });

  it('refuses to sign without a secret key or with a bad reference', async () => {
    const other = await img('img-sign', ['sign', '-o', join(work, 'x.sig'), manifestPath, REF, 'D'.repeat(40)], undefined, env);
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/no secret key/);
    const ref = await img('img-sign', ['sign', '-o', join(work, 'x.sig'), manifestPath, 'Bad:Ref:x', plain], undefined, env);
    expect(ref.status).toBe(2);
    expect(ref.stderr).toMatch(/invalid reference "Bad:Ref:x"/);
  });
});

describe('skopeo standalone-sign → img-sign verify', () => {
  it('verifies skopeo signatures with the keyring and with --public-key-file', async () => {
    const a = join(work, 'skopeo-plain.sig');
    await ok(skopeo(['standalone-sign', '-o', a, manifestPath, REF, plain]), 'skopeo standalone-sign');
    const b = join(work, 'skopeo-locked.sig');
    await ok(skopeo(['standalone-sign', '-o', b, '--passphrase-file', join(work, 'right.pass'), manifestPath, REF, locked]), 'skopeo standalone-sign');
    const line = (f: string) => `Signature verified using fingerprint ${f}, digest ${DIGEST}\n`;
    expect((await img('img-sign', ['verify', manifestPath, REF, plain, a], undefined, env)).stdout).toBe(line(plain));
    expect((await img('img-sign', ['verify', manifestPath, REF, `${plain},${locked}`, b], undefined, env)).stdout).toBe(line(locked));
    // A fresh keyring with only the given keys: GNUPGHOME is not consulted at all.
    const none = { GNUPGHOME: join(work, 'no-such-home') };
    expect((await img('img-sign', ['verify', '--public-key-file', join(work, 'both.pub'), manifestPath, REF, 'any', b], undefined, none)).stdout).toBe(
      line(locked),
    );
    expect(
      (
        await img(
          'img-sign',
          ['verify', '--public-key-file', join(work, 'plain.pub'), manifestPath, 'registry.example.com/team/app:v1', plain.toLowerCase(), a],
          undefined,
          none,
        )
      ).stdout,
    ).toBe(line(plain));
    const any = await img('img-sign', ['verify', manifestPath, REF, 'any', a], undefined, env);
    expect(any.status).toBe(2);
    expect(any.stderr).toMatch(/cannot use any fingerprint without a public key file/);
  });
});

describe('rejections, each with its reason (and skopeo agrees)', () => {
  let sig: Buffer;
  let sigPath = '';
  beforeAll(async () => {
    sigPath = join(work, 'base.sig');
    await ok(img('img-sign', ['sign', '-o', sigPath, manifestPath, REF, plain], undefined, env), 'img-sign sign');
    sig = readFileSync(sigPath);
  });
  const verify = (args: string[], e = env) => img('img-sign', ['verify', ...args], undefined, e);

  it('a tampered payload', async () => {
    const forged = file('tampered.sig', tamper(sig, 'team/app:v1', 'team/app:v2'));
    const r = await verify([manifestPath, 'registry.example.com/team/app:v2', plain, forged]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^img-sign: verifying signature: invalid signature: bad signature by key ID [0-9A-F]{16}: the signed data does not match the signature \(tampered\)\n$/,
    );
    expect(r.stdout).toBe('');
    expect((await skopeo(['standalone-verify', manifestPath, 'registry.example.com/team/app:v2', plain, forged])).status).not.toBe(0);
    // The untampered decompressed message still verifies: the forgery, not the repacking, is refused.
    expect((await verify([manifestPath, REF, plain, file('repacked.sig', tamper(sig, 'team/app:v1', 'team/app:v1'))])).status).toBe(0);
  });

  it('a wrong key', async () => {
    const onlyLocked = await verify(['--public-key-file', join(work, 'locked.pub'), manifestPath, REF, 'any', sigPath]);
    expect(onlyLocked.status).toBe(1);
    expect(onlyLocked.stderr).toMatch(/invalid signature: signed by key ID [0-9A-F]{16}, which is not among the trusted public keys/);
    const otherFpr = await verify([manifestPath, REF, locked, sigPath]);
    expect(otherFpr.status).toBe(1);
    expect(otherFpr.stderr).toContain(`invalid signature: signature by key ${plain} is not accepted (expected ${locked})`);
    expect((await skopeo(['standalone-verify', manifestPath, REF, locked, sigPath])).status).not.toBe(0);
  });

  it('a wrong identity, and a reference without the tag it was signed with', async () => {
    for (const ref of ['registry.example.com/team/app:v2', 'registry.example.com/team/other:v1', 'registry.example.com/team/app']) {
      const r = await verify([manifestPath, ref, plain, sigPath]);
      expect(r.status, ref).toBe(1);
      expect(r.stderr).toContain(`invalid signature: docker reference "${REF}" does not match "${ref}"`);
      expect((await skopeo(['standalone-verify', manifestPath, ref, plain, sigPath])).status, ref).not.toBe(0);
    }
  });

  it('another manifest', async () => {
    const other = file('other.json', manifest.replace('"size":2', '"size":3'));
    const r = await verify([other, REF, plain, sigPath]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`invalid signature: signature for docker digest "${DIGEST}" does not match the manifest`);
  });

  it('duplicate keys in the payload, signed by a trusted key', async () => {
    const payload = `{"critical":{"identity":{"docker-reference":"${REF}","docker-reference":"evil.example.com/x:1"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature"},"optional":{}}`;
    const forged = join(work, 'dup.sig');
    await ok(gpg(['--local-user', plain, '--output', forged, '--sign'], payload), 'gpg --sign');
    for (const ref of [REF, 'evil.example.com/x:1']) {
      const r = await verify([manifestPath, ref, plain, forged]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/invalid signature: payload: duplicate key "docker-reference" at offset \d+/);
      expect((await skopeo(['standalone-verify', manifestPath, ref, plain, forged])).status).not.toBe(0);
    }
  });

  it('an unknown key in critical, signed by a trusted key', async () => {
    const payload = `{"critical":{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"atomic container signature","expires":0},"optional":{}}`;
    const forged = join(work, 'unknown.sig');
    await ok(gpg(['--local-user', plain, '--output', forged, '--sign'], payload), 'gpg --sign');
    const r = await verify([manifestPath, REF, plain, forged]);
    expect(r.stderr).toContain('invalid signature: payload: unknown key "expires" in critical');
    expect((await skopeo(['standalone-verify', manifestPath, REF, plain, forged])).status).not.toBe(0);
  });

  it('something that is not a signature, and a message with two signatures', async () => {
    const junk = await verify([manifestPath, REF, plain, manifestPath]);
    expect(junk.status).toBe(1);
    expect(junk.stderr).toMatch(/invalid signature: not an OpenPGP signed message/);
    const payload = readFileSync(sigPath); // any bytes will do: the count is refused first
    const two = join(work, 'two.sig');
    await ok(
      gpg(['--local-user', plain, '--local-user', locked, '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE, '--output', two, '--sign'], payload),
      'gpg --sign twice',
    );
    const r = await verify([manifestPath, REF, plain, two]);
    expect(r.stderr).toMatch(/invalid signature: unexpected GPG signature count 2/);
  });
});

describe('policy evaluation with real signatures (lib/policy/evaluate)', () => {
  let byPlain: Buffer;
  let byLocked: Buffer;
  beforeAll(async () => {
    await ok(img('img-sign', ['sign', '-o', join(work, 'p1.sig'), manifestPath, REF, plain], undefined, env), 'sign');
    await ok(
      img('img-sign', ['sign', '-o', join(work, 'p2.sig'), '--passphrase-file', join(work, 'right.pass'), manifestPath, REF, locked], undefined, env),
      'sign',
    );
    byPlain = readFileSync(join(work, 'p1.sig'));
    byLocked = readFileSync(join(work, 'p2.sig'));
  });
  const signedBy = (identity?: object) =>
    parsePolicy(
      JSON.stringify({
        default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: join(work, 'plain.pub'), ...(identity ? { signedIdentity: identity } : {}) }],
      }),
    ).default;
  const imageAt = (ref: string, signatures: Buffer[]): PolicyImage => ({
    name: ref,
    dockerReference: imageDockerReference(parseRef(ref)),
    manifest: new TextEncoder().encode(manifest),
    signatures,
  });
  const reason = async (p: Promise<void>) => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ImgError);
    return `${(e as ImgError).code}: ${(e as ImgError).message}`;
  };

  it('accepts a signed image under signedBy with the default identity rule', async () => {
    await checkPolicy(signedBy(), imageAt(`docker://${REF}`, [byPlain]));
    await checkPolicy(signedBy(), imageAt(`docker://${REF}`, [byLocked, byPlain])); // one accepted signature is enough
  });

  it('refuses a signature for one tag presented for another tag with the same digest', async () => {
    expect(await reason(checkPolicy(signedBy(), imageAt('docker://registry.example.com/team/app:v2', [byPlain])))).toBe(
      `POLICY_DENIED: signature for identity "${REF}" is not accepted`,
    );
    await checkPolicy(signedBy({ type: 'matchRepository' }), imageAt('docker://registry.example.com/team/app:v2', [byPlain]));
    await checkPolicy(signedBy(), imageAt(`docker://registry.example.com/team/app@${DIGEST}`, [byPlain])); // by digest: the repository must match
  });

  it('refuses an unsigned image, a wrong key and another manifest, with the reason', async () => {
    expect(await reason(checkPolicy(signedBy(), imageAt(`docker://${REF}`, [])))).toBe('POLICY_DENIED: a signature was required, but no signature exists');
    expect(await reason(checkPolicy(signedBy(), imageAt(`docker://${REF}`, [byLocked])))).toMatch(
      /^POLICY_DENIED: invalid signature: signed by key ID [0-9A-F]{16}, which is not among the trusted public keys$/,
    );
    const other = { ...imageAt(`docker://${REF}`, [byPlain, byLocked]), manifest: new TextEncoder().encode(`${manifest} `) };
    expect(await reason(checkPolicy(signedBy(), other))).toMatch(
      /^POLICY_DENIED: none of the signatures were accepted, reasons: signature for digest sha256:\w+ does not match; invalid signature: signed by key ID/,
    );
  });

  it('dir: images have no docker reference: only exactReference/exactRepository can match', async () => {
    const local = imageAt(`dir:${work}/img`, [byPlain]);
    expect(await reason(checkPolicy(signedBy(), local))).toContain('is not accepted');
    await checkPolicy(signedBy({ type: 'exactReference', dockerReference: REF }), local);
    await checkPolicy(signedBy({ type: 'exactRepository', dockerRepository: 'registry.example.com/team/app' }), local);
  });

  it('remapIdentity accepts a mirror copy signed under the original name', async () => {
    const mirror = imageAt('docker://mirror.example.net/team/app:v1', [byPlain]);
    expect(await reason(checkPolicy(signedBy(), mirror))).toContain('is not accepted');
    await checkPolicy(signedBy({ type: 'remapIdentity', prefix: 'mirror.example.net', signedPrefix: 'registry.example.com' }), mirror);
  });

  it('takes the scope that applies from a policy file; reject and sigstore say why', async () => {
    const path = file(
      'policy.json',
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            'registry.example.com/team': [{ type: 'signedBy', keyType: 'GPGKeys', keyData: readFileSync(join(work, 'plain.pub')).toString('base64') }],
            'cosign.example.com': [{ type: 'sigstoreSigned', keyPath: '/k.pub' }],
          },
        },
      }),
    );
    const { policy } = await loadPolicy(path);
    const check = (ref: string, sigs: Buffer[]) => checkPolicy(requirementsFor(policy, policyScopes(parseRef(ref))).requirements, imageAt(ref, sigs));
    await check(`docker://${REF}`, [byPlain]);
    expect(await reason(check('docker://other.example.com/x:1', [byPlain]))).toBe(
      'POLICY_DENIED: running image docker://other.example.com/x:1 is rejected by policy',
    );
    expect(await reason(check('docker://cosign.example.com/x:1', []))).toBe('POLICY_DENIED: a signature was required, but no signature exists');
  });
});
