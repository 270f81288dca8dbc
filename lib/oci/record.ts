import { isDeepStrictEqual } from 'node:util';
import { ImgError } from '../errors.js';
import { digestOf } from './digest.js';
import { parseManifest } from './manifest.js';
import type { Platform } from './manifest.js';

/** The record that flows between img-* stages: one image per line. Unknown fields pass through. */
export interface ImageRecord {
  ref?: string;
  dest?: string;
  digest?: string;
  mediaType?: string;
  size?: number;
  manifest?: unknown;
  raw?: string;
  platform?: Platform;
  parent?: string;
  config?: unknown;
  status?: 'copied' | 'exists' | 'mounted' | 'skipped' | 'planned' | string;
  error?: { code: string; message: string; stage: string };
  [field: string]: unknown;
}

/** requireString reads a string field of a record, or fails naming the field. */
export function requireString(r: ImageRecord, field: string): string {
  const v = r[field];
  if (typeof v !== 'string' || v === '')
    throw new ImgError('RECORD_INVALID', `record has no "${field}" field${typeof r.ref === 'string' ? ` (ref ${r.ref})` : ''}`);
  return v;
}

/**
 * manifestOfRecord gives the manifest bytes a record stands for: `raw` byte for byte, unless the
 * record's `manifest` was edited (it no longer equals the parsed raw), in which case the edited
 * manifest is serialised. A stated `digest` must match unedited raw bytes.
 */
export function manifestOfRecord(r: ImageRecord, what: string): { bytes: Buffer; mediaType: string; digest: string; edited: boolean } {
  let bytes: Buffer;
  let edited = false;
  if (typeof r.raw === 'string') {
    bytes = Buffer.from(r.raw, 'utf8');
    if (r.manifest !== undefined) {
      let original: unknown;
      try {
        original = JSON.parse(r.raw);
      } catch (e) {
        throw new ImgError('RECORD_INVALID', `record for ${what}: "raw" is not JSON: ${(e as Error).message}`);
      }
      if (!isDeepStrictEqual(original, r.manifest)) {
        bytes = Buffer.from(JSON.stringify(r.manifest), 'utf8');
        edited = true;
      }
    }
  } else if (r.manifest !== undefined) {
    bytes = Buffer.from(JSON.stringify(r.manifest), 'utf8');
    edited = true;
  } else {
    throw new ImgError('RECORD_INVALID', `record for ${what} has neither "raw" nor "manifest"`);
  }
  const algorithm = typeof r.digest === 'string' && r.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (!edited && typeof r.digest === 'string' && r.digest !== digest) {
    throw new ImgError('DIGEST_MISMATCH', `record for ${what}: "raw" has digest ${digest}, but the record says ${r.digest}`);
  }
  const parsed = parseManifest(bytes, what, edited ? undefined : r.mediaType);
  return { bytes, mediaType: parsed.mediaType, digest, edited };
}
