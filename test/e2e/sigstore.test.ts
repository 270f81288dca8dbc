import { readFileSync, statSync, writeFileSync, mkdirSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { checkPolicy } from '../../lib/policy/evaluate.js';
import { parsePolicy } from '../../lib/policy/parse.js';
import { parseDockerRef } from '../../lib/ref/docker.js';
import { getSigstoreSignatures } from '../../lib/sign/sigstore/registry.js';
import { umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

// Sigstore keys, signatures and .sig attachments against the real registry. Oracles: skopeo 1.9.3
// reads and writes the attachments (registries.d use-sigstore-attachments); openssl checks and makes
// the ECDSA signatures and PKCS #8 keys; Python's hashlib.scrypt (OpenSSL) and libsodium's
// crypto_secretbox (the NaCl reference) check and make the encrypted private keys. Debian's skopeo
// is built with sigstore signing and verification disabled ("Debian-local change: sigstore
// disabled"): the tests that need skopeo to sign or verify run only with a skopeo that can.

const work = tempDir('imgpipe-sigstore-');
const box = sandbox(work);
const PASS = 'correct horse battery';
const file = (name: string, data: string | Buffer) => {
  const p = join(work, name);
  writeFileSync(p, data);
  return p;
};
const passFile = file('pass', `${PASS}\nsecond line is not read\n`);
const wrongPassFile = file('wrong-pass', 'not it\n');
const registriesD = join(work, 'registries.d');
mkdirSync(registriesD);
writeFileSync(join(registriesD, 'default.yaml'), 'default-docker:\n  use-sigstore-attachments: true\n');
const skopeoSigstoreDisabled = readFileSync('/usr/bin/skopeo').includes('Debian-local change: sigstore disabled');

let reg: Registry;
let digest = '';
const imgSign = (args: string[]) => box.img('img-sign', args);
const skopeo = (args: string[], policy = join(work, 'policy.json')) =>
  exec('skopeo', ['--policy', policy, '--registries.d', registriesD, ...args], undefined, box.env);
const ok = async (p: Promise<{ status: number; stderr: string; stdout: string }>, what: string) => {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}: ${r.stderr}`);
  return r;
};
const py = (script: string, args: string[]) => exec('python3', ['-c', script, ...args]);
const tagOf = (d: string) => `${d.replace(':', '-')}.sig`;
const ref = (repo: string, tag = '1') => `${reg.host}/${repo}:${tag}`;

async function fetchManifest(repo: string, tag: string): Promise<Buffer> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}
async function fetchBlob(repo: string, d: string): Promise<Buffer> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${d}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}
async function push(repo: string, tag = '1'): Promise<void> {
  await ok(skopeo(['copy', '--dest-tls-verify=false', 'oci:' + join(work, 'layout') + ':app', `docker://${ref(repo, tag)}`]), 'skopeo copy');
}
async function keygen(prefix: string, pass = passFile) {
  return ok(imgSign(['keygen', '--output-prefix', join(work, prefix), '--passphrase-file', pass]), 'img-sign keygen');
}
const sign = (repo: string, key: string, extra: string[] = []) =>
  imgSign([
    'sign',
    '--tls-verify=false',
    '--sigstore-private-key',
    join(work, `${key}.private`),
    '--passphrase-file',
    passFile,
    ...extra,
    `docker://${ref(repo)}`,
  ]);
const verify = (target: string, key: string) =>
  imgSign(['verify', '--tls-verify=false', '--sigstore-public-key', join(work, `${key}.pub`), `docker://${target}`]);

// Python oracle: cosign's encrypted key format (go-securesystemslib encrypted.Encrypt) with OpenSSL's
// scrypt and libsodium's secretbox. decrypt: argv PEM-file PASS → PKCS #8 DER on stdout;
// encrypt: argv DER-file PASS → PEM on stdout.
const PY_KEYS = String.raw`
import base64, ctypes, hashlib, json, os, sys
na = ctypes.CDLL('libsodium.so.23'); assert na.sodium_init() >= 0
def kdf(p, salt, n): return hashlib.scrypt(p.encode(), salt=salt, n=n, r=8, p=1, maxmem=2**28, dklen=32)
mode, path, pw = sys.argv[1:4]
if mode == 'decrypt':
    lines = open(path).read().strip().split('\n')
    assert lines[0] == '-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----', lines[0]
    d = json.loads(base64.b64decode(''.join(lines[1:-1])))
    assert d['kdf']['name'] == 'scrypt' and d['cipher']['name'] == 'nacl/secretbox'
    assert d['kdf']['params'] == {'N': 65536, 'r': 8, 'p': 1}, d['kdf']['params']
    salt, nonce, ct = (base64.b64decode(x) for x in (d['kdf']['salt'], d['cipher']['nonce'], d['ciphertext']))
    assert len(salt) == 32 and len(nonce) == 24
    out = ctypes.create_string_buffer(len(ct) - 16)
    if na.crypto_secretbox_open_easy(out, ct, ctypes.c_ulonglong(len(ct)), nonce, kdf(pw, salt, 65536)) != 0: sys.exit('secretbox open failed')
    sys.stdout.buffer.write(out.raw)
else:
    pt = open(path, 'rb').read(); salt = os.urandom(32); nonce = os.urandom(24)
    out = ctypes.create_string_buffer(len(pt) + 16)
    assert na.crypto_secretbox_easy(out, pt, ctypes.c_ulonglong(len(pt)), nonce, kdf(pw, salt, 65536)) == 0
    b = lambda x: base64.b64encode(x).decode()
    doc = '{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"%s"},"cipher":{"name":"nacl/secretbox","nonce":"%s"},"ciphertext":"%s"}' % (b(salt), b(nonce), b(out.raw))
    e = b(doc.encode())
    print('-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----'); [print(e[i:i+64]) for i in range(0, len(e), 64)]; print('-----END ENCRYPTED COSIGN PRIVATE KEY-----')
`;

beforeAll(async () => {
  reg = await startRegistry();
  await umociImage(work, join(work, 'layout'), 'app');
  await push('app');
  const m = await fetchManifest('app', '1');
  digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(m).digest('hex')}`;
  await keygen('k');
  await keygen('other');
}, 120_000);
afterAll(async () => {
  await reg?.stop();
});

describe('img-sign keygen', () => {
  it('writes an encrypted cosign private key (0600) and its PEM public key, as skopeo generate-sigstore-key', async () => {
    const priv = readFileSync(join(work, 'k.private'), 'utf8');
    const pub = readFileSync(join(work, 'k.pub'), 'utf8');
    expect(statSync(join(work, 'k.private')).mode & 0o777).toBe(0o600);
    expect(priv).toMatch(
      /^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n$/,
    );
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(priv).not.toContain(PASS);
    // libsodium + OpenSSL's scrypt open it with the passphrase (first line of the file); openssl
    // reads the PKCS #8 inside as a P-256 key whose public half is k.pub.
    const der = join(work, 'k.der');
    const opened = await py(PY_KEYS, ['decrypt', join(work, 'k.private'), PASS]);
    expect(opened.stderr).toBe('');
    writeFileSync(der, opened.stdoutBytes);
    const text = await ok(exec('openssl', ['pkey', '-inform', 'DER', '-in', der, '-noout', '-text']), 'openssl pkey');
    expect(text.stdout).toMatch(/NIST CURVE: P-256|ASN1 OID: prime256v1/);
    const derived = await ok(exec('openssl', ['pkey', '-inform', 'DER', '-in', der, '-pubout']), 'openssl pkey -pubout');
    expect(derived.stdout).toBe(pub);
    expect((await py(PY_KEYS, ['decrypt', join(work, 'k.private'), 'not it'])).stderr).toContain('secretbox open failed');
  });

  it('prints where the keys went, and refuses to overwrite either file', async () => {
    const r = await keygen('fresh');
    expect(r.stdout).toBe(`Key written to "${join(work, 'fresh.private')}" and "${join(work, 'fresh.pub')}"\n`);
    const before = readFileSync(join(work, 'fresh.private'));
    for (const gone of ['fresh.pub', 'fresh.private']) {
      const again = await imgSign(['keygen', '--output-prefix', join(work, 'fresh'), '--passphrase-file', passFile]);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/refusing to overwrite existing ".*fresh\.(pub|private)"/);
      expect(gone).toBeTruthy();
    }
    expect(readFileSync(join(work, 'fresh.private'))).toEqual(before);
    const noTty = await imgSign(['keygen', '--output-prefix', join(work, 'tty')]);
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toContain('--passphrase-file');
    expect(readdirSync(work).filter((f) => f.startsWith('tty'))).toEqual([]);
  });

  it('reads a key that another implementation encrypted (libsodium, OpenSSL scrypt, openssl PKCS #8) with the same passphrase', async () => {
    await ok(exec('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(work, 'ext.pem')]), 'openssl genpkey');
    await ok(exec('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', join(work, 'ext.pem'), '-outform', 'DER', '-out', join(work, 'ext.der')]), 'openssl pkcs8');
    const pem = await py(PY_KEYS, ['encrypt', join(work, 'ext.der'), PASS]);
    expect(pem.stderr).toBe('');
    file('ext.private', pem.stdout);
    file('ext.pub', (await ok(exec('openssl', ['pkey', '-inform', 'DER', '-in', join(work, 'ext.der'), '-pubout']), 'pubout')).stdout);
    await push('ext');
    const s = await sign('ext', 'ext');
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect((await verify(ref('ext'), 'ext')).status).toBe(0);
  });

  it('a wrong passphrase is one clear line, and nothing is written', async () => {
    await push('wrongpass');
    const r = await imgSign([
      'sign',
      '--tls-verify=false',
      '--sigstore-private-key',
      join(work, 'k.private'),
      '--passphrase-file',
      wrongPassFile,
      `docker://${ref('wrongpass')}`,
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`img-sign: initializing private key ${join(work, 'k.private')}: wrong passphrase (decryption failed)\n`);
    expect(r.stderr).not.toContain('not it');
    const tags = await ok(skopeo(['list-tags', '--tls-verify=false', `docker://${reg.host}/wrongpass`]), 'list-tags');
    expect(JSON.parse(tags.stdout).Tags).toEqual(['1']);
  });
});

describe('img-sign sign --sigstore-private-key', () => {
  it('stores the signature as containers/image does: payload, ECDSA signature that openssl verifies, attachment under sha256-HEX.sig', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await sign('app', 'k');
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse((await fetchManifest('app', tagOf(digest))).toString());
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(m.layers).toHaveLength(1);
    const layer = m.layers[0];
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(Object.keys(layer.annotations)).toEqual(['dev.cosignproject.cosign/signature']);
    const payload = await fetchBlob('app', layer.digest);
    const ts = JSON.parse(payload.toString()).optional.timestamp;
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(payload.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"${ref('app')}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":{"creator":"imgpipe 0.1.0","timestamp":${ts}}}`,
    );
    const config = JSON.parse((await fetchBlob('app', m.config.digest)).toString());
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [layer.digest] });
    file('payload', payload);
    file('sig.der', Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64'));
    const v = await exec('openssl', ['dgst', '-sha256', '-verify', join(work, 'k.pub'), '-signature', join(work, 'sig.der'), join(work, 'payload')]);
    expect(v.stdout).toContain('Verified OK');
    const wrong = await exec('openssl', ['dgst', '-sha256', '-verify', join(work, 'other.pub'), '-signature', join(work, 'sig.der'), join(work, 'payload')]);
    expect(wrong.stdout).not.toContain('Verified OK');
  });

  it('skopeo reads the attachment and writes it back byte for byte the same, one signature or appended ones', async () => {
    await push('two');
    expect((await sign('two', 'k')).status).toBe(0);
    expect((await sign('two', 'other')).status).toBe(0); // appended by imgpipe
    for (const repo of ['app', 'two']) {
      const d = join(work, `dir-${repo}`);
      await ok(skopeo(['copy', '--src-tls-verify=false', `docker://${ref(repo)}`, `dir:${d}`]), 'skopeo copy to dir');
      expect(readdirSync(d).filter((f) => f.startsWith('signature-'))).toHaveLength(repo === 'two' ? 2 : 1);
      await ok(skopeo(['copy', '--dest-tls-verify=false', `dir:${d}`, `docker://${ref(`${repo}-back`)}`]), 'skopeo copy from dir');
      const ours = await fetchManifest(repo, tagOf(digest));
      const theirs = await fetchManifest(`${repo}-back`, tagOf(digest));
      expect(theirs.toString()).toBe(ours.toString());
    }
    expect((await verify(ref('two'), 'other')).status).toBe(0); // the second, appended signature
    const moved = await verify(ref('two-back'), 'other'); // signed as two:1, not two-back:1
    expect(moved.status).toBe(1);
    expect(moved.stderr).toMatch(/identity ".*\/two:1" does not match/);
  });

  it('appends to an attachment skopeo wrote, keeping its layers, and does not add the same signature twice', async () => {
    // two-back was written by skopeo: signing it again appends a third layer.
    const before = JSON.parse((await fetchManifest('two-back', tagOf(digest))).toString());
    expect(
      (
        await imgSign([
          'sign',
          '--tls-verify=false',
          '--sigstore-private-key',
          join(work, 'k.private'),
          '--passphrase-file',
          passFile,
          `docker://${ref('two-back')}`,
        ])
      ).status,
    ).toBe(0);
    const after = JSON.parse((await fetchManifest('two-back', tagOf(digest))).toString());
    expect(after.layers.slice(0, 2)).toEqual(before.layers);
    expect(after.layers).toHaveLength(3);
    const config = JSON.parse((await fetchBlob('two-back', after.config.digest)).toString());
    expect(config.rootfs.diff_ids).toEqual(after.layers.map((l: { digest: string }) => l.digest));
    // skopeo copying the same signatures again adds nothing.
    await ok(skopeo(['copy', '--dest-tls-verify=false', `dir:${join(work, 'dir-two')}`, `docker://${ref('two-back')}`]), 'skopeo copy again');
    expect(JSON.parse((await fetchManifest('two-back', tagOf(digest))).toString()).layers).toHaveLength(3);
  });

  it('refuses a reference without a registry image, and a name-only --sign-identity', async () => {
    const r = await imgSign(['sign', '--sigstore-private-key', join(work, 'k.private'), '--passphrase-file', passFile, `dir:${work}/x`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('give a docker:// reference');
    const n = await sign('app', 'k', ['--sign-identity', 'example.com/app']);
    expect(n.status).toBe(2);
    expect(n.stderr).toContain("can't be signed, it has neither a tag nor a digest");
  });
});

/** dirWithSignature writes a dir: image (copied from `from`) whose one sigstore signature is `payload` with openssl's signature of `signed`, as skopeo keeps it. */
async function dirWithSignature(from: string, name: string, payload: string, keyPem: string, signed = payload): Promise<string> {
  const d = join(work, name);
  mkdirSync(d);
  for (const f of readdirSync(from)) if (!f.startsWith('signature-')) copyFileSync(join(from, f), join(d, f));
  const p = file(`${name}.payload`, signed);
  const sig = await exec('openssl', ['dgst', '-sha256', '-sign', keyPem, p]);
  expect(sig.status).toBe(0);
  const annotations = { 'dev.cosignproject.cosign/signature': sig.stdoutBytes.toString('base64') };
  const doc = { mimeType: 'application/vnd.dev.cosign.simplesigning.v1+json', payload: Buffer.from(payload).toString('base64'), annotations };
  writeFileSync(join(d, 'signature-1'), Buffer.concat([Buffer.from('\0sigstore-json\n'), Buffer.from(JSON.stringify(doc))]));
  return d;
}

describe('img-sign verify --sigstore-public-key', () => {
  const payloadFor = (identity: string, d = digest, extra = '') =>
    `{"critical":{"identity":{"docker-reference":"${identity}"},"image":{"docker-manifest-digest":"${d}"},"type":"cosign container image signature"${extra}},"optional":null}`;
  let keyPem = '';
  let plain = '';
  beforeAll(async () => {
    // An openssl key and openssl signatures; skopeo writes the attachments.
    keyPem = join(work, 'ossl.pem');
    await ok(exec('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPem]), 'openssl genpkey');
    file('ossl.pub', (await ok(exec('openssl', ['pkey', '-in', keyPem, '-pubout']), 'pubout')).stdout);
    plain = join(work, 'dir-plain');
    await ok(skopeo(['copy', '--src-tls-verify=false', `docker://${ref('app')}`, `dir:${plain}`]), 'skopeo copy to dir');
  });
  const put = async (name: string, payload: string, tag = '1', signed = payload) => {
    const d = await dirWithSignature(plain, name, payload, keyPem, signed);
    await ok(skopeo(['copy', '--dest-tls-verify=false', `dir:${d}`, `docker://${ref(name, tag)}`]), 'skopeo copy signed dir');
  };
  const expectRefused = async (target: string, key: string, reason: RegExp) => {
    const r = await verify(target, key);
    expect(r.status, r.stdout).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(reason);
  };

  it('accepts an openssl signature that skopeo attached, and prints the digest', async () => {
    await put('good', payloadFor(ref('good')));
    const r = await verify(ref('good'), 'ossl');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Signature verified using sigstore public key ${join(work, 'ossl.pub')}, digest ${digest}\n`);
    // a digest reference accepts the signature of any tag of the repository
    expect((await verify(`${reg.host}/good@${digest}`, 'ossl')).status).toBe(0);
  });

  it('refuses, each with its reason: wrong key, tampered payload, other identity, other tag with the same digest, duplicate keys, unsigned', async () => {
    await expectRefused(ref('good'), 'k', /cryptographic signature verification failed/);
    // the payload names another digest than the one signed
    await put('tampered', payloadFor(ref('tampered')), '1', payloadFor(ref('tampered'), `sha256:${'0'.repeat(64)}`));
    await expectRefused(ref('tampered'), 'ossl', /cryptographic signature verification failed/);
    await put('identity', payloadFor(`${reg.host}/someone-else:1`));
    await expectRefused(ref('identity'), 'ossl', /identity ".*someone-else:1" does not match/);
    await put('tags', payloadFor(ref('tags', 'v1')), 'v2');
    await expectRefused(ref('tags', 'v2'), 'ossl', /identity ".*tags:v1" does not match .*tags:v2/);
    await put('dup', payloadFor(ref('dup'), digest, ',"type":"cosign container image signature"'));
    await expectRefused(ref('dup'), 'ossl', /duplicate key "type"/);
    await put('digest', payloadFor(ref('digest'), `sha256:${'0'.repeat(64)}`));
    await expectRefused(ref('digest'), 'ossl', /signature for digest sha256:0+ does not match the manifest/);
    await expectRefused(ref('wrongpass'), 'ossl', /has no sigstore signature/);
  });
});

describe('policy.json sigstoreSigned', () => {
  const image = async (repo: string) => ({
    name: `docker://${ref(repo)}`,
    dockerReference: parseDockerRef(ref(repo)),
    manifest: await fetchManifest(repo, '1'),
    signatures: [],
    sigstoreSignatures: await getSigstoreSignatures(parseDockerRef(ref(repo)), digest, { registry: { tlsVerify: false } }),
  });
  const policy = (req: object) => parsePolicy(JSON.stringify({ default: [req] })).default;
  const denied = async (p: Promise<void>, reason: RegExp) => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ImgError);
    expect((e as ImgError).message).toMatch(reason);
  };

  it('accepts an image imgpipe signed, by keyPath, keyPaths or keyData, and refuses other keys, identities and unsigned images', async () => {
    const app = await image('app');
    const pub = join(work, 'k.pub');
    await checkPolicy(policy({ type: 'sigstoreSigned', keyPath: pub }), app);
    await checkPolicy(policy({ type: 'sigstoreSigned', keyPaths: [join(work, 'other.pub'), pub] }), app);
    await checkPolicy(policy({ type: 'sigstoreSigned', keyData: readFileSync(pub).toString('base64') }), app);
    await denied(checkPolicy(policy({ type: 'sigstoreSigned', keyPath: join(work, 'other.pub') }), app), /cryptographic signature verification failed/);
    await denied(
      checkPolicy(policy({ type: 'sigstoreSigned', keyPath: pub, signedIdentity: { type: 'exactReference', dockerReference: 'example.com/app:1' } }), app),
      /identity ".*app:1" is not accepted/,
    );
    await denied(checkPolicy(policy({ type: 'sigstoreSigned', keyPath: pub }), await image('wrongpass')), /a signature was required, but no signature exists/);
    const fulcio = { type: 'sigstoreSigned', fulcio: { caData: 'AA==', oidcIssuer: 'https://x', subjectEmail: 'a@b' }, rekorPublicKeyData: 'AA==' };
    await expect(checkPolicy(policy(fulcio), app)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it.skipIf(skopeoSigstoreDisabled)('skopeo copy accepts an image imgpipe signed under a sigstoreSigned policy, and refuses a wrong key', async () => {
    const pol = (key: string) => file(`pol-${key}.json`, JSON.stringify({ default: [{ type: 'sigstoreSigned', keyPath: join(work, `${key}.pub`) }] }));
    await ok(skopeo(['copy', '--src-tls-verify=false', `docker://${ref('app')}`, `dir:${join(work, 'sk-accepted')}`], pol('k')), 'skopeo copy under policy');
    const r = await skopeo(['copy', '--src-tls-verify=false', `docker://${ref('app')}`, `dir:${join(work, 'sk-refused')}`], pol('other'));
    expect(r.status).not.toBe(0);
  });

  it.skipIf(skopeoSigstoreDisabled)(
    'a key from img-sign keygen signs through skopeo copy --sign-by-sigstore-private-key, and img-sign verifies it',
    async () => {
      await ok(
        skopeo([
          'copy',
          '--dest-tls-verify=false',
          '--sign-by-sigstore-private-key',
          join(work, 'k.private'),
          '--sign-passphrase-file',
          passFile,
          `oci:${join(work, 'layout')}:app`,
          `docker://${ref('sk-signed')}`,
        ]),
        'skopeo copy --sign-by-sigstore-private-key',
      );
      expect((await verify(ref('sk-signed'), 'k')).status).toBe(0);
    },
  );
});
