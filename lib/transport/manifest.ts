import { ImgError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { StoredManifest } from './types.js';

/** storedManifest parses and checks bytes read for `what`, against `expectedDigest` when there is one. */
export function storedManifest(bytes: Buffer, what: string, expectedDigest?: string, servedAs?: string): StoredManifest & { parsed: ParsedManifest } {
  const digest = digestOf(bytes, expectedDigest?.startsWith('sha512:') ? 'sha512' : 'sha256');
  if (expectedDigest !== undefined && digest !== expectedDigest) {
    throw new ImgError('DIGEST_MISMATCH', `manifest ${what} has digest ${digest}, expected ${expectedDigest}`);
  }
  const parsed = parseManifest(bytes, what, servedAs);
  return { bytes, mediaType: parsed.mediaType, digest, parsed };
}
