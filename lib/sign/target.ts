import { ImgError } from '../errors.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import type { ImageRecord } from '../oci/record.js';
import { formatDockerRef, withDefaultTag } from '../ref/docker.js';
import { formatRef, parseRef, type ImageRef } from '../ref/index.js';
import { requireString } from '../cli/records.js';

/**
 * signingTarget is what signing a record's destination needs: its docker:// reference, the identity
 * to sign for (the reference, `:latest` added when it has no tag) and the manifest in `raw`, which
 * MUST have the record's digest.
 */
export function signingTarget(rec: ImageRecord): { destRef: Extract<ImageRef, { transport: 'docker' }>; destName: string; identity: string; digest: string; manifest: Buffer } {
  const destRef = parseRef(requireString(rec, 'dest'));
  const destName = formatRef(destRef);
  if (destRef.transport !== 'docker') throw new ImgError('UNSUPPORTED', `cannot sign ${destName}: only docker:// destinations have a docker reference to sign for`);
  const identity = formatDockerRef(withDefaultTag(destRef.docker));
  const digest = requireString(rec, 'digest');
  const manifest = Buffer.from(requireString(rec, 'raw'), 'utf8');
  if (digestOf(manifest, parseDigest(digest).algorithm) !== digest) throw new ImgError('DIGEST_MISMATCH', `record for ${destName}: "raw" does not have digest ${digest}`);
  return { destRef, destName, identity, digest, manifest };
}

