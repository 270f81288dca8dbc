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
import { CREATOR, exactFields, goString, invalidSignature, manifestMatchesDigest, type UntrustedPayload } from '../simple.js';
import { manifestDigest } from '../standalone.js';
import { isObject, parseStrictJSON, StrictJSONError, type JSONValue } from '../strict-json.js';

export const SIGSTORE_SIGNATURE_TYPE = 'cosign container image signature';
/** The media type of a sigstore signature layer (cosign's SimpleSigningMediaType). */
export const SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation that holds the base64 signature (cosign's SignatureAnnotationKey). */
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** SigstoreSignature: one attachment layer as containers/image keeps it — all untrusted until verified. */
export interface SigstoreSignature {
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** makeSigstorePayload writes the payload byte for byte as containers/image's json.Marshal does (sorted keys, Go escaping). */
export function makeSigstorePayload(p: UntrustedPayload): Buffer {
  if (!p.dockerManifestDigest || !p.dockerReference) throw new ImgError('USAGE', 'unexpected empty signature content');
  const optional: string[] = [];
  if (p.creator !== undefined) optional.push(`"creator":${goString(p.creator)}`);
  if (p.timestamp !== undefined) optional.push(`"timestamp":${Math.trunc(p.timestamp)}`);
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${goString(p.dockerReference)}},` +
      `"image":{"docker-manifest-digest":${goString(p.dockerManifestDigest)}},` +
      `"type":${goString(SIGSTORE_SIGNATURE_TYPE)}},"optional":{${optional.join(',')}}}`,
    'utf8',
  );
}

/**
 * parseSigstorePayload reads a payload as strictly as containers/image (and refuses a duplicate key
 * anywhere): `critical` and `optional` exactly; `optional` may be null (cosign writes that), its
 * `creator` a string and `timestamp` an integral number, other optional keys ignored.
 */
export function parseSigstorePayload(bytes: Uint8Array): UntrustedPayload {
  let doc: JSONValue;
  try {
    doc = parseStrictJSON(bytes);
  } catch (e) {
    if (e instanceof StrictJSONError) throw invalidSignature(`payload: ${e.message}`);
    throw e;
  }
  const top = exactFields(doc, 'payload', ['critical', 'optional']);
  const out: Partial<UntrustedPayload> = {};
  const optional = top.optional;
  if (optional !== null) {
    if (!isObject(optional)) throw invalidSignature('payload: optional is not a JSON object');
    if ('creator' in optional) {
      if (typeof optional.creator !== 'string') throw invalidSignature('payload: optional.creator is not a string');
      out.creator = optional.creator;
    }
    if ('timestamp' in optional) {
      const t = optional.timestamp;
      if (typeof t !== 'number') throw invalidSignature('payload: optional.timestamp is not a number');
      if (!Number.isInteger(t) || Math.abs(t) >= 2 ** 63) throw invalidSignature('payload: field optional.timestamp is not an integer');
      out.timestamp = t;
    }
  }
  const critical = exactFields(top.critical, 'critical', ['type', 'image', 'identity']);
  if (typeof critical.type !== 'string') throw invalidSignature('payload: critical.type is not a string');
  if (critical.type !== SIGSTORE_SIGNATURE_TYPE) throw invalidSignature(`unrecognized signature type ${JSON.stringify(critical.type)}`);
  const digest = exactFields(critical.image, 'critical.image', ['docker-manifest-digest'])['docker-manifest-digest'];
  if (typeof digest !== 'string') throw invalidSignature('payload: critical.image.docker-manifest-digest is not a string');
  const ref = exactFields(critical.identity, 'critical.identity', ['docker-reference'])['docker-reference'];
  if (typeof ref !== 'string') throw invalidSignature('payload: critical.identity.docker-reference is not a string');
  return { ...out, dockerManifestDigest: digest, dockerReference: ref };
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
 * digest and reference. It returns the payload or throws the reason (DENIED).
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
  if (!ok) throw invalidSignature('cryptographic signature verification failed: the payload was not signed by the given key (tampered, or signed by another key)');
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
