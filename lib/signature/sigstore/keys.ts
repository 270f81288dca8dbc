/**
 * Sigstore (cosign) key files: an ECDSA P-256 key pair, the private key as cosign and
 * containers/image write it — PEM "ENCRYPTED COSIGN PRIVATE KEY" around the JSON of
 * go-securesystemslib's encrypted.Encrypt (scrypt N=65536 r=8 p=1 over a 32-byte salt, then NaCl
 * secretbox with a 24-byte nonce) of the key's PKCS #8 DER — and the public key as PEM "PUBLIC KEY"
 * (PKIX). The crypto: scrypt from @noble/hashes, XSalsa20-Poly1305 from @noble/ciphers, ECDSA and
 * key encodings from node:crypto.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { ImgError } from '../../errors.js';
import { isObject, parseStrictJSON, type JSONValue } from '../../util/strict-json.js';

/** The PEM type containers/image (skopeo generate-sigstore-key) and cosign 1.x write. */
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';
/** The PEM type cosign 2.x writes; read as well, as containers/image does. */
export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';

const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const KEY_SIZE = 32;
/** What encrypted.Encrypt writes (its "standard" strength). */
const WRITE_PARAMS = { N: 65536, r: 8, p: 1 };
/** What encrypted.Decrypt accepts (legacy, standard, OWASP); others are refused, as a tampered N could exhaust memory. */
const ACCEPTED_N = [32768, 65536, 131072];

/** pemEncode writes one PEM block as Go's pem.EncodeToMemory does (64-character lines). */
export function pemEncode(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((l) => `${l}\n`).join('')}-----END ${type}-----\n`;
}

/** pemDecode reads the first PEM block of `text` (as Go's pem.Decode: text before it is skipped); undefined when there is none. */
export function pemDecode(text: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  const body = m[2]!.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (body.some((l) => l.includes(':'))) return undefined; // PEM headers: not in any sigstore key
  const b64 = body.join('').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  return { type: m[1]!, der: Buffer.from(b64, 'base64') };
}

/** encryptKeyData encrypts bytes with a passphrase as encrypted.Encrypt does and returns its JSON (Go's field order and base64). */
export async function encryptKeyData(
  plaintext: Uint8Array,
  passphrase: string,
  salt = randomBytes(SALT_SIZE),
  nonce = randomBytes(NONCE_SIZE),
): Promise<string> {
  const key = await scryptAsync(new TextEncoder().encode(passphrase), salt, { ...WRITE_PARAMS, dkLen: KEY_SIZE });
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return (
    `{"kdf":{"name":"scrypt","params":{"N":${WRITE_PARAMS.N},"r":${WRITE_PARAMS.r},"p":${WRITE_PARAMS.p}},"salt":"${b64(salt)}"},` +
    `"cipher":{"name":"nacl/secretbox","nonce":"${b64(nonce)}"},"ciphertext":"${b64(ciphertext)}"}`
  );
}

/**
 * decryptKeyData decrypts encrypted.Encrypt's JSON with a passphrase. A wrong passphrase (or
 * tampered data: secretbox cannot tell them apart) is UNAUTHORIZED; a malformed document is USAGE.
 */
export async function decryptKeyData(json: Uint8Array, passphrase: string): Promise<Uint8Array> {
  const bad = (why: string) => new ImgError('USAGE', `not an encrypted sigstore private key: ${why}`);
  let doc: JSONValue;
  try {
    doc = parseStrictJSON(json);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const obj = (v: JSONValue | undefined, what: string) => {
    if (!isObject(v)) throw bad(`${what} is not a JSON object`);
    return v;
  };
  const top = obj(doc, 'the document');
  const kdf = obj(top.kdf, 'kdf');
  const cipher = obj(top.cipher, 'cipher');
  const params = obj(kdf.params, 'kdf.params');
  if (kdf.name !== 'scrypt') throw bad(`unknown kdf name ${JSON.stringify(kdf.name ?? null)}`);
  if (cipher.name !== 'nacl/secretbox') throw bad(`unknown cipher name ${JSON.stringify(cipher.name ?? null)}`);
  if (params.r !== 8 || params.p !== 1 || !ACCEPTED_N.includes(params.N as number)) throw bad('unsupported scrypt parameters');
  const bytes = (v: JSONValue | undefined, what: string) => {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw bad(`${what} is not base64`);
    return Buffer.from(v, 'base64');
  };
  const salt = bytes(kdf.salt, 'kdf.salt');
  const nonce = bytes(cipher.nonce, 'cipher.nonce');
  const ciphertext = bytes(top.ciphertext, 'ciphertext');
  if (nonce.length !== NONCE_SIZE) throw bad('incorrect nonce size');
  const key = await scryptAsync(new TextEncoder().encode(passphrase), salt, { N: params.N as number, r: 8, p: 1, dkLen: KEY_SIZE });
  try {
    return xsalsa20poly1305(key, nonce).decrypt(ciphertext);
  } catch {
    throw new ImgError('UNAUTHORIZED', 'wrong passphrase (decryption failed)');
  }
}

/** KeyPairFiles: the contents of P.private and P.pub. */
export interface KeyPairFiles {
  privateKey: string;
  publicKey: string;
}

/** generateKeyPair makes an ECDSA P-256 key pair, the private key encrypted with `passphrase`, as skopeo generate-sigstore-key. */
export async function generateKeyPair(passphrase: string): Promise<KeyPairFiles> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const enc = await encryptKeyData(der, passphrase);
  return {
    privateKey: pemEncode(COSIGN_PRIVATE_KEY_PEM, Buffer.from(enc, 'utf8')),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/**
 * loadPrivateKey decrypts a cosign private key file (either PEM type) and returns the key. As in
 * containers/image, the PKCS #8 key may be ECDSA, RSA or Ed25519.
 */
export async function loadPrivateKey(pem: Uint8Array | string, passphrase: string): Promise<KeyObject> {
  const block = pemDecode(typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8'));
  if (!block) throw new ImgError('USAGE', 'invalid pem block');
  if (block.type !== COSIGN_PRIVATE_KEY_PEM && block.type !== SIGSTORE_PRIVATE_KEY_PEM) throw new ImgError('USAGE', `unsupported pem type: ${block.type}`);
  const der = await decryptKeyData(block.der, passphrase);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new ImgError('USAGE', `parsing private key: ${(e as Error).message}`);
  }
  checkKeyType(key);
  return key;
}

/** loadPublicKey reads the first PEM "PUBLIC KEY" block (PKIX) of a file, as sigstore's UnmarshalPEMToPublicKey. */
export function loadPublicKey(pem: Uint8Array | string): KeyObject {
  const block = pemDecode(typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8'));
  if (!block) throw new ImgError('USAGE', 'parsing public key: PEM decoding failed');
  if (block.type !== 'PUBLIC KEY')
    throw new ImgError('USAGE', `parsing public key: unknown Public key PEM file type ${block.type}. Are you passing the correct public key?`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch (e) {
    throw new ImgError('USAGE', `parsing public key: ${(e as Error).message}`);
  }
  checkKeyType(key);
  return key;
}

function checkKeyType(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' && key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ed25519') {
    throw new ImgError('UNSUPPORTED', `unsupported key type ${key.asymmetricKeyType ?? '?'} (ECDSA, RSA or Ed25519)`);
  }
}
