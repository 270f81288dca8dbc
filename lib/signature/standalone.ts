/**
 * Standalone simple signing: sign a manifest file for a docker reference, and verify such a
 * signature, with the same rules as skopeo standalone-sign / standalone-verify
 * (containers/image SignDockerManifestWithOptions, VerifyImageManifestSignatureUsingKeyIdentityList).
 */
import { ImgError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { parseDockerRef } from '../ref/docker.js';
import { gpgSign, gpgVerify, withPublicKeys, type Verified } from './gpg.js';
import { checkSignedReference, CREATOR, invalidSignature, makePayload, manifestMatchesDigest, parsePayload } from './simple.js';

/** manifestDigest is the digest a signature names for manifest bytes; signed schema 1 manifests are not handled. */
export function manifestDigest(manifest: Uint8Array): string {
  try {
    const m = JSON.parse(new TextDecoder().decode(manifest)) as { schemaVersion?: unknown; signatures?: unknown };
    if (m?.schemaVersion === 1 && m.signatures !== undefined) throw new ImgError('UNSUPPORTED', 'signing Docker schema 1 signed manifests is not supported');
  } catch (e) {
    if (e instanceof ImgError) throw e;
  }
  return digestOf(manifest, 'sha256');
}

/**
 * signManifest signs `manifest` as `dockerReference` with the gpg key `keyIdentity` and returns the
 * binary signature. The reference is written as given, after checking that it parses.
 */
export async function signManifest(manifest: Uint8Array, dockerReference: string, keyIdentity: string, passphrase?: string, now = Date.now()): Promise<Buffer> {
  parseDockerRef(dockerReference);
  const payload = makePayload({
    dockerManifestDigest: manifestDigest(manifest),
    dockerReference,
    creator: CREATOR,
    timestamp: Math.floor(now / 1000),
  });
  return gpgSign(payload, keyIdentity, passphrase);
}

/** VerifiedSignature is what a verified signature says, and the fingerprint that verified it. */
export interface VerifiedSignature {
  dockerManifestDigest: string;
  dockerReference: string;
  keyIdentity: string;
}

export interface VerifyOptions {
  /** Public keys to trust (gpg --export output, binary or armored); without them the user's keyring is used. */
  publicKeys?: Uint8Array;
}

/**
 * verifyManifestSignature checks that `signature` was made by one of `fingerprints` (or, with
 * "any" and public keys given, by any of those keys) over `manifest` for `expectedReference`.
 * Order of checks and reasons as containers/image: key, payload, digest, reference.
 */
export async function verifyManifestSignature(
  signature: Uint8Array,
  manifest: Uint8Array,
  expectedReference: string,
  fingerprints: string[] | 'any',
  opts: VerifyOptions = {},
): Promise<VerifiedSignature> {
  parseDockerRef(expectedReference);
  if (fingerprints === 'any' && !opts.publicKeys) throw new ImgError('USAGE', 'cannot use any fingerprint without a public key file');
  const check = (v: Verified, accepted: string[]) => finish(v, manifest, expectedReference, accepted);
  if (opts.publicKeys) {
    return withPublicKeys([opts.publicKeys], async (homedir, imported) => {
      if (imported.length === 0) throw new ImgError('USAGE', 'the public key file holds no public keys');
      return check(await gpgVerify(signature, homedir), fingerprints === 'any' ? imported : fingerprints);
    });
  }
  return check(await gpgVerify(signature), fingerprints as string[]);
}

/**
 * acceptedKeyIdentity returns the fingerprint under which `accepted` accepts a verified signature:
 * the signing key's, or for a subkey its primary key's (as containers/image); else it refuses.
 */
export function acceptedKeyIdentity(v: Verified, accepted: string[]): string {
  const ok = new Set(accepted.map((f) => f.toUpperCase()));
  if (ok.has(v.keyIdentity.toUpperCase())) return v.keyIdentity;
  if (v.primaryKeyIdentity !== v.keyIdentity && ok.has(v.primaryKeyIdentity.toUpperCase())) return v.primaryKeyIdentity;
  const of = v.primaryKeyIdentity !== v.keyIdentity ? ` of ${v.primaryKeyIdentity}` : '';
  throw invalidSignature(`signature by key ${v.keyIdentity}${of} is not accepted (expected ${accepted.join(', ')})`);
}

function finish(v: Verified, manifest: Uint8Array, expectedReference: string, accepted: string[]): VerifiedSignature {
  const keyIdentity = acceptedKeyIdentity(v, accepted);
  const payload = parsePayload(v.content);
  if (!manifestMatchesDigest(manifest, payload.dockerManifestDigest)) {
    throw invalidSignature(`signature for docker digest ${JSON.stringify(payload.dockerManifestDigest)} does not match the manifest`);
  }
  checkSignedReference(payload.dockerReference, expectedReference);
  return { dockerManifestDigest: payload.dockerManifestDigest, dockerReference: payload.dockerReference, keyIdentity };
}

/** readPassphraseFile returns the first line of a passphrase file, as skopeo and gpg read it. */
export async function readPassphraseFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = (await readFile(path)).toString('utf8');
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl);
}
