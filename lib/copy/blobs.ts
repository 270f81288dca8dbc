import { ImgError, wrap } from '../errors.js';
import { parseManifest, referencedBlobs } from '../oci/manifest.js';
import { manifestOfRecord, type ImageRecord } from '../oci/record.js';
import { formatRef, parseRef } from '../ref/index.js';
import { openTransport, type TransportOptions } from '../transport/index.js';

/**
 * copyRecordBlobs makes sure every blob a record's image manifest needs (config and layers) is at
 * the record's `dest`, copying from `ref` what the destination lacks; each blob is verified
 * against its digest before it becomes visible. An index needs no blobs of its own: its children
 * come as records of their own (img-manifest get --all). Returns the record with a `status`.
 *
 * This is the sequential core of batch mode; concurrency, mounts and cross-record dedup build on it.
 */
export async function copyRecordBlobs(rec: ImageRecord, topts: TransportOptions = {}): Promise<ImageRecord> {
  if (typeof rec.ref !== 'string' || typeof rec.dest !== 'string') {
    throw new ImgError('RECORD_INVALID', `record needs "ref" and "dest" (add dest with img-ref --to)${typeof rec.ref === 'string' ? `: ${rec.ref}` : ''}`);
  }
  const src = openTransport(formatRef(parseRef(rec.ref)), topts);
  const dest = openTransport(formatRef(parseRef(rec.dest)), topts);
  const m = manifestOfRecord(rec, src.name);
  const parsed = parseManifest(m.bytes, src.name, m.mediaType);
  if (parsed.kind === 'index') return { ...rec, status: 'exists' };
  let copied = 0;
  for (const blob of referencedBlobs(parsed.manifest)) {
    try {
      if ((await dest.statBlob(blob.digest)) === blob.size) continue;
      await dest.putBlob(await src.getBlob({ digest: blob.digest, size: blob.size }), { digest: blob.digest, size: blob.size });
      copied++;
    } catch (e) {
      throw wrap(e, `copying blob ${blob.digest} from ${src.name} to ${dest.name}`, src.name);
    }
  }
  return { ...rec, status: copied > 0 ? 'copied' : 'exists' };
}
