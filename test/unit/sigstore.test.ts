import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { digestOf } from '../../lib/oci/digest.js';
import { appendSignatures, attachmentTag } from '../../lib/signature/sigstore/attachment.js';
import { decryptKeyData, encryptKeyData, loadPrivateKey, loadPublicKey, pemDecode, pemEncode } from '../../lib/signature/sigstore/keys.js';
import {
  createSigstoreSignature,
  digestRule,
  makeSigstorePayload,
  parseSigstorePayload,
  SIGSTORE_SIGNATURE_ANNOTATION,
  verifySigstoreSignature,
} from '../../lib/signature/sigstore/signature.js';

const D = `sha256:${'a'.repeat(64)}`;
const refused = (f: () => unknown, re: RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImgError);
  expect((err as Error).message).toMatch(re);
};

describe('sigstore payload', () => {
  it('is written as Go json.Marshal writes the map: sorted keys, HTML-safe escaping', () => {
    expect(makeSigstorePayload({ dockerManifestDigest: D, dockerReference: 'example.com/a:<b>&', creator: 'c', timestamp: 7 }).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"example.com/a:\\u003cb\\u003e\\u0026"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":{"creator":"c","timestamp":7}}`,
    );
    expect(makeSigstorePayload({ dockerManifestDigest: D, dockerReference: 'r:1' }).toString()).toMatch(/"optional":\{\}\}$/);
  });

  it('is read strictly: optional may be null (cosign), critical has exactly its keys, no duplicates, integral timestamps', () => {
    const crit = (extra = '') =>
      `{"identity":{"docker-reference":"r:1"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"${extra}}`;
    expect(parseSigstorePayload(Buffer.from(`{"critical":${crit()},"optional":null}`))).toEqual({ dockerManifestDigest: D, dockerReference: 'r:1' });
    expect(parseSigstorePayload(Buffer.from(`{"critical":${crit()},"optional":{"timestamp":5,"other":[1]}}`)).timestamp).toBe(5);
    refused(() => parseSigstorePayload(Buffer.from(`{"critical":${crit(',"x":1')},"optional":null}`)), /unknown key "x" in critical/);
    refused(
      () => parseSigstorePayload(Buffer.from(`{"critical":${crit(',"type":"cosign container image signature"')},"optional":null}`)),
      /duplicate key "type"/,
    );
    refused(() => parseSigstorePayload(Buffer.from(`{"critical":${crit()},"optional":{"timestamp":1.5}}`)), /not an integer/);
    refused(() => parseSigstorePayload(Buffer.from(`{"critical":${crit()}}`)), /key "optional" missing/);
    refused(
      () =>
        parseSigstorePayload(Buffer.from(`{"critical":${crit().replace('cosign container image signature', 'atomic container signature')},"optional":null}`)),
      /unrecognized signature type/,
    );
  });
});

describe('sigstore signatures', () => {
  const manifest = Buffer.from('{"schemaVersion":2}');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const rules = { checkDigest: digestRule(manifest), checkReference: () => undefined };

  it('verify with the signing key, refuse another key, a tampered payload, a missing annotation and another manifest', () => {
    const sig = createSigstoreSignature(manifest, 'example.com/a:1', privateKey, 1_700_000_000_000);
    expect(JSON.parse(sig.payload.toString()).optional).toEqual({ creator: 'imgpipe 0.1.0', timestamp: 1_700_000_000 });
    expect(verifySigstoreSignature([other, publicKey], sig, rules).dockerManifestDigest).toBe(digestOf(manifest));
    refused(() => verifySigstoreSignature([other], sig, rules), /cryptographic signature verification failed/);
    const tampered = { ...sig, payload: Buffer.from(sig.payload.toString().replace('a:1', 'a:2')) };
    refused(() => verifySigstoreSignature([publicKey], tampered, rules), /cryptographic signature verification failed/);
    refused(() => verifySigstoreSignature([publicKey], { ...sig, annotations: {} }, rules), new RegExp(`missing ${SIGSTORE_SIGNATURE_ANNOTATION}`));
    refused(() => verifySigstoreSignature([publicKey], sig, { ...rules, checkDigest: digestRule(Buffer.from('{}')) }), /does not match the manifest/);
  });

  it('attachment: tag from the digest, layers appended once, config diff_ids follow the layers', () => {
    expect(attachmentTag(D)).toBe(`sha256-${'a'.repeat(64)}.sig`);
    const s1 = createSigstoreSignature(manifest, 'example.com/a:1', privateKey, 1000);
    const s2 = createSigstoreSignature(manifest, 'example.com/a:1', privateKey, 2000);
    const first = appendSignatures(undefined, [s1]);
    const config = first.blobs[first.blobs.length - 1]!;
    expect(config.bytes.toString()).toBe(`{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["${digestOf(s1.payload)}"]}}`);
    const m = JSON.parse(first.manifest.toString());
    const again = appendSignatures({ manifest: m, config: config.bytes }, [s1, s2]);
    expect(again.added).toBe(1);
    const m2 = JSON.parse(again.manifest.toString());
    expect(m2.layers.map((l: { digest: string }) => l.digest)).toEqual([digestOf(s1.payload), digestOf(s2.payload)]);
    expect(again.manifest.toString()).toMatch(/^\{"schemaVersion":2,"mediaType":"application\/vnd.oci.image.manifest.v1\+json","config":\{"mediaType":/);
  });
});

describe('sigstore key files', () => {
  it('PEM as Go writes it: 64-character lines; the first block is read', () => {
    const der = Buffer.alloc(100, 7);
    const pem = pemEncode('PUBLIC KEY', der);
    expect(pem.split('\n').map((l) => l.length)).toEqual([26, 64, 64, 8, 24, 0]);
    expect(pemDecode(`junk\n${pem}${pemEncode('OTHER', Buffer.from('x'))}`)).toEqual({ type: 'PUBLIC KEY', der });
  });

  it('encrypted data: the JSON of encrypted.Encrypt, opened with the passphrase only; unexpected scrypt parameters refused', async () => {
    const salt = Buffer.alloc(32, 1);
    const nonce = Buffer.alloc(24, 2);
    const json = await encryptKeyData(Buffer.from('secret'), 'pw', salt, nonce);
    expect(json).toMatch(
      /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"AQEB[^"]+"\},"cipher":\{"name":"nacl\/secretbox","nonce":"AgIC[^"]+"\},"ciphertext":"[^"]+"\}$/,
    );
    // secretbox: 16-byte Poly1305 tag + ciphertext as long as the plaintext
    expect(Buffer.from(JSON.parse(json).ciphertext, 'base64')).toHaveLength(16 + 6);
    expect(Buffer.from(await decryptKeyData(Buffer.from(json), 'pw')).toString()).toBe('secret');
    await expect(decryptKeyData(Buffer.from(json), 'pW')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(decryptKeyData(Buffer.from(json.replace('"N":65536', '"N":1048576')), 'pw')).rejects.toThrow(/unsupported scrypt parameters/);
    await expect(decryptKeyData(Buffer.from(json.replace('nacl/secretbox', 'aes')), 'pw')).rejects.toThrow(/unknown cipher name/);
  });

  it('refuses private keys of another PEM type and public keys that are not PKIX', async () => {
    await expect(loadPrivateKey(pemEncode('EC PRIVATE KEY', Buffer.from('x')), 'pw')).rejects.toThrow(/unsupported pem type: EC PRIVATE KEY/);
    expect(() => loadPublicKey('no pem here')).toThrow(/PEM decoding failed/);
    expect(() => loadPublicKey(pemEncode('RSA PUBLIC KEY', Buffer.from('x')))).toThrow(/unknown Public key PEM file type/);
  });
});
