import { ImgError, wrap } from '../errors.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { requireString, type ImageRecord } from '../oci/record.js';
import { formatDockerRef, parseCanonicalDockerRef, parseDockerRef, withDefaultTag, type DockerRef } from '../ref/docker.js';
import { imageDockerReference } from '../ref/policy.js';
import { formatRef, parseRef, type ImageRef } from '../ref/index.js';
import { openTransport, transportTraits, type TransportOptions } from '../transport/index.js';

/** SigningTarget: the destination image a record's signature is made for. */
export interface SigningTarget {
  destRef: ImageRef;
  destName: string;
  /** The docker reference signed for: --sign-identity as given, else the destination, normalised, `:latest` added when it has no tag. */
  identity: string;
  digest: string;
  /** The record is a child of an index at the destination (stored by digest only). */
  child: boolean;
}

/**
 * signingTarget is what signing a record's destination needs: the identity to sign for (`signIdentity`,
 * skopeo's --sign-identity, checked by signIdentityArg; else the destination's docker:// reference,
 * `:latest` added when it has no tag) and the record's digest.
 */
export function signingTarget(rec: ImageRecord, signIdentity?: string): SigningTarget {
  const destRef = parseRef(requireString(rec, 'dest'));
  const destName = formatRef(destRef);
  let identity = signIdentity;
  if (identity === undefined) {
    const docker = transportTraits(destRef).signedIdentity === 'docker-reference' ? imageDockerReference(destRef) : undefined;
    if (docker === undefined)
      throw new ImgError('UNSUPPORTED', `cannot sign ${destName}: only docker:// destinations have a docker reference to sign for (else give --sign-identity)`);
    identity = formatDockerRef(withDefaultTag(docker));
  }
  const digest = requireString(rec, 'digest');
  parseDigest(digest);
  return { destRef, destName, identity, digest, child: typeof rec.parent === 'string' };
}

/**
 * signIdentityArg checks skopeo copy's --sign-identity: a docker reference written in full
 * (containers/image's reference.ParseNamed) with a tag or a digest, in skopeo's words. skopeo finds
 * a name without either only when it signs, after the copy; here it is a usage error before it.
 */
export function signIdentityArg(v: string): string {
  let r: DockerRef;
  try {
    r = parseCanonicalDockerRef(v);
  } catch (e) {
    throw new ImgError('USAGE', `Could not parse --sign-identity: ${(e as Error).message}`);
  }
  if (r.tag === undefined && r.digest === undefined) throw new ImgError('USAGE', `Sign identity must be a fully specified reference ${v}`);
  return v;
}

/**
 * signingManifest is the manifest to sign: the record's `raw`, which MUST have the record's digest,
 * or, for a record that carries none (status `exists` from `img-manifest get --missing-at-dest`),
 * the manifest of that digest fetched from the destination.
 */
export async function signingManifest(rec: ImageRecord, t: SigningTarget, destTopts: TransportOptions): Promise<Buffer> {
  const { algorithm } = parseDigest(t.digest);
  if (typeof rec.raw === 'string' && rec.raw !== '') {
    const manifest = Buffer.from(rec.raw, 'utf8');
    if (digestOf(manifest, algorithm) !== t.digest) throw new ImgError('DIGEST_MISMATCH', `record for ${t.destName}: "raw" does not have digest ${t.digest}`);
    return manifest;
  }
  const stored = await openTransport(t.destRef, destTopts)
    .getManifest(t.digest)
    .catch((e) => Promise.reject(wrap(e, `fetching manifest ${t.digest} of ${t.destName}`)));
  if (digestOf(stored.bytes, algorithm) !== t.digest) throw new ImgError('DIGEST_MISMATCH', `${t.destName}: manifest ${t.digest} does not have that digest`);
  return stored.bytes;
}

/** namesTarget says whether a signed docker reference (untrusted, from a payload) names the target's identity, after normalising. */
export function namesTarget(signedReference: string, t: SigningTarget): boolean {
  try {
    return formatDockerRef(parseDockerRef(signedReference)) === t.identity;
  } catch {
    return false;
  }
}
