/**
 * Sigstore signatures as containers/image makes and checks them (signature/sigstore/sign.go,
 * signature/internal/sigstore_payload.go): the payload is the "simple signing" JSON with
 * critical.type "cosign container image signature", signed by a key (ECDSA P-256 with SHA-256 for
 * the keys imgpipe makes) and carried as an attachment layer of media type
 * application/vnd.dev.cosign.simplesigning.v1+json whose annotation dev.cosignproject.cosign/signature
 * holds the base64 of the ASN.1 signature. No I/O.
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { formatDockerRef, parseDockerRef } from '../../ref/docker.js';
import { CREATOR, invalidSignature, makePayload, manifestMatchesDigest, parsePayload, type UntrustedPayload } from '../simple.js';
import { manifestDigest } from '../standalone.js';
import type { SigstoreSignature } from '../../transport/signature-blob.js';

export const SIGSTORE_SIGNATURE_TYPE = 'cosign container image signature';
/** The media type of a sigstore signature layer (cosign's SimpleSigningMediaType). */
export const SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation that holds the base64 signature (cosign's SignatureAnnotationKey). */
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** SigstoreSignature: one attachment layer (defined with the stored form the transports keep, lib/transport/signature-blob.ts). */
export type { SigstoreSignature };

/** makeSigstorePayload writes the payload byte for byte as containers/image's json.Marshal does (sorted keys, Go escaping). */
export function makeSigstorePayload(p: UntrustedPayload): Buffer {
  return Buffer.from(makePayload(p, SIGSTORE_SIGNATURE_TYPE));
}

/**
 * parseSigstorePayload reads a payload as strictly as containers/image (and refuses a duplicate key
 * anywhere), as simple signing's: `optional` may also be null (cosign writes that).
 */
export function parseSigstorePayload(bytes: Uint8Array): UntrustedPayload {
  return parsePayload(bytes, SIGSTORE_SIGNATURE_TYPE, { nullOptional: true });
}

/**
 * signatureIdentity is the docker-reference a signature for `ref` names: the normalised reference
 * (docker.io/library/busybox:latest), which must have a tag or digest, as containers/image requires.
 */
export function signatureIdentity(ref: string): string {
  const r = parseDockerRef(ref);
  if (r.tag === undefined && r.digest === undefined) throw new ImgError('USAGE', `reference ${ref} can't be signed, it has neither a tag nor a digest`);
  return formatDockerRef(r);
}

/** createSigstoreSignature signs `manifest` as `dockerReference` (already normalised, see signatureIdentity) with a private key. */
export function createSigstoreSignature(manifest: Uint8Array, dockerReference: string, key: KeyObject, now = Date.now()): SigstoreSignature {
  const payload = makeSigstorePayload({
    dockerManifestDigest: manifestDigest(manifest),
    dockerReference,
    creator: CREATOR,
    timestamp: Math.floor(now / 1000),
  });
  const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const sig = cryptoSign(algorithm, payload, { key, dsaEncoding: 'der' });
  return { mimeType: SIGSTORE_SIGNATURE_MIME_TYPE, payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: sig.toString('base64') } };
}

/** AcceptanceRules decide on the verified payload's claims; each throws the reason it refuses. */
export interface AcceptanceRules {
  checkDigest(digest: string): void;
  checkReference(reference: string): void;
}

/**
 * verifySigstoreSignature checks one signature in containers/image's order: the annotation, the
 * base64, the cryptographic signature (by any of `publicKeys`), the payload, then `rules` on its
 * digest and reference. It returns the payload or throws the reason (SIGNATURE_INVALID).
 */
export function verifySigstoreSignature(publicKeys: KeyObject[], sig: SigstoreSignature, rules: AcceptanceRules): UntrustedPayload {
  if (publicKeys.length === 0) throw new ImgError('USAGE', 'no public keys to verify with');
  const b64 = sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (b64 === undefined) throw invalidSignature(`missing ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw invalidSignature('base64 decoding of the signature failed');
  const raw = Buffer.from(b64, 'base64');
  const ok = publicKeys.some((key) => {
    try {
      return cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', sig.payload, { key, dsaEncoding: 'der' }, raw);
    } catch {
      return false;
    }
  });
  if (!ok)
    throw invalidSignature('cryptographic signature verification failed: the payload was not signed by the given key (tampered, or signed by another key)');
  const payload = parseSigstorePayload(sig.payload);
  rules.checkDigest(payload.dockerManifestDigest);
  rules.checkReference(payload.dockerReference);
  return payload;
}

/** digestRule accepts a signed digest only when `manifest` has it. */
export function digestRule(manifest: Uint8Array): (digest: string) => void {
  return (digest) => {
    try {
      parseDigest(digest);
    } catch (e) {
      throw invalidSignature(`invalid docker-manifest-digest value ${JSON.stringify(digest)}: ${(e as Error).message}`);
    }
    if (!manifestMatchesDigest(manifest, digest)) throw invalidSignature(`signature for digest ${digest} does not match the manifest`);
  };
}
