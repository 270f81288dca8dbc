/**
 * Simple signing ("atomic container signature"): the payload containers/image signs, written
 * byte for byte as its json.Marshal writes it, and read back as strictly as its
 * ParanoidUnmarshalJSONObject reads it. Pure: no I/O (the OpenPGP envelope is lib/signature/gpg.ts).
 */
import { ImgError } from '../errors.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { formatDockerRef, parseDockerRef } from '../ref/docker.js';
import { goString } from '../util/gostring.js';
import { isObject, parseStrictJSON, StrictJSONError, type JSONObject, type JSONValue } from '../util/strict-json.js';

export const SIGNATURE_TYPE = 'atomic container signature';
/** CREATOR is what imgpipe writes as optional.creator (containers/image writes "atomic VERSION"). */
export const CREATOR = 'imgpipe 0.1.0';

/** UntrustedPayload is what a payload claims; nothing in it is trusted until verification is done. */
export interface UntrustedPayload {
  dockerManifestDigest: string;
  dockerReference: string;
  creator?: string;
  timestamp?: number;
}

/** invalidSignature is the error for a signature that is refused; the message says why. */
export function invalidSignature(reason: string): ImgError {
  return new ImgError('SIGNATURE_INVALID', `invalid signature: ${reason}`);
}

/**
 * makePayload writes the payload JSON exactly as containers/image does: keys sorted, no spaces,
 * Go's string escaping (<, >, & and U+2028/9 as \u escapes). Empty digest or reference is refused.
 * `type` is critical.type (sigstore payloads have the same shape with another type).
 */
export function makePayload(p: UntrustedPayload, type = SIGNATURE_TYPE): Uint8Array {
  if (!p.dockerManifestDigest || !p.dockerReference) throw new ImgError('USAGE', 'unexpected empty signature content');
  const optional: string[] = [];
  if (p.creator !== undefined) optional.push(`"creator":${goString(p.creator)}`);
  if (p.timestamp !== undefined) optional.push(`"timestamp":${Math.trunc(p.timestamp)}`);
  const json =
    `{"critical":{"identity":{"docker-reference":${goString(p.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goString(p.dockerManifestDigest)}},` +
    `"type":${goString(type)}},"optional":{${optional.join(',')}}}`;
  return new TextEncoder().encode(json);
}

/**
 * parsePayload reads a signed payload strictly, as containers/image does, and more: a duplicate key
 * anywhere rejects it; `critical`, `critical.image` and `critical.identity` must hold exactly their
 * keys; `critical.type` must be `type` ("atomic container signature"); `optional` must be an object
 * (or, with `nullOptional`, null, as cosign writes) whose `creator` is a string and `timestamp` an
 * integer (other optional keys are ignored).
 */
export function parsePayload(bytes: Uint8Array, type = SIGNATURE_TYPE, opts: { nullOptional?: boolean } = {}): UntrustedPayload {
  let doc: JSONValue;
  try {
    doc = parseStrictJSON(bytes);
  } catch (e) {
    if (e instanceof StrictJSONError) throw invalidSignature(`payload: ${e.message}`);
    throw e;
  }
  const top = exactFields(doc, 'payload', ['critical', 'optional']);
  const optional = top.optional === null && opts.nullOptional ? (Object.create(null) as JSONObject) : top.optional;
  if (!isObject(optional)) throw invalidSignature('payload: optional is not a JSON object');
  const out: Partial<UntrustedPayload> = {};
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
  const critical = exactFields(top.critical, 'critical', ['type', 'image', 'identity']);
  if (typeof critical.type !== 'string') throw invalidSignature('payload: critical.type is not a string');
  if (critical.type !== type) throw invalidSignature(`unrecognized signature type ${JSON.stringify(critical.type)}`);
  const image = exactFields(critical.image, 'critical.image', ['docker-manifest-digest']);
  const digest = image['docker-manifest-digest'];
  if (typeof digest !== 'string') throw invalidSignature('payload: critical.image.docker-manifest-digest is not a string');
  try {
    parseDigest(digest);
  } catch (e) {
    throw invalidSignature(`invalid docker-manifest-digest value ${JSON.stringify(digest)}: ${(e as Error).message}`);
  }
  const identity = exactFields(critical.identity, 'critical.identity', ['docker-reference']);
  const ref = identity['docker-reference'];
  if (typeof ref !== 'string') throw invalidSignature('payload: critical.identity.docker-reference is not a string');
  return { ...out, dockerManifestDigest: digest, dockerReference: ref };
}

/** exactFields requires an object with exactly `keys`: none missing, none other. */
function exactFields(v: JSONValue | undefined, what: string, keys: string[]): JSONObject {
  if (!isObject(v)) throw invalidSignature(`payload: ${what} is not a JSON object`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw invalidSignature(`payload: unknown key ${JSON.stringify(k)} in ${what}`);
  }
  for (const k of keys) {
    if (!(k in v)) throw invalidSignature(`payload: key ${JSON.stringify(k)} missing in ${what}`);
  }
  return v;
}

/** manifestMatchesDigest says whether manifest bytes have `digest` (in its own algorithm). */
export function manifestMatchesDigest(manifest: Uint8Array, digest: string): boolean {
  const { algorithm } = parseDigest(digest);
  return digestOf(manifest, algorithm) === digest;
}

/**
 * checkSignedReference compares a signed reference with the expected one after normalising both,
 * as skopeo standalone-verify does (busybox ≠ docker.io/library/busybox:latest: no tag is added).
 * An unparsable signed reference is refused; an unparsable expected one is a usage error.
 */
export function checkSignedReference(signed: string, expected: string): void {
  const want = formatDockerRef(parseDockerRef(expected));
  let got: string;
  try {
    got = formatDockerRef(parseDockerRef(signed));
  } catch {
    throw invalidSignature(`invalid docker reference ${JSON.stringify(signed)} in signature`);
  }
  if (got !== want) throw invalidSignature(`docker reference ${JSON.stringify(signed)} does not match ${JSON.stringify(expected)}`);
}
