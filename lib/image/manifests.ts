import { ImgError, wrap } from '../errors.js';
import { parseManifest } from '../oci/manifest.js';
import { manifestOfRecord, type ImageRecord } from '../oci/record.js';
import { formatRef, parseRef } from '../ref/index.js';
import { openTransport, type TransportOptions } from '../transport/index.js';
import { canDelete, canHead } from '../transport/capabilities.js';
import type { Platform } from '../oci/manifest.js';
import { hostPlatform, imageOf, readConfig } from './inspect.js';

export interface GetOptions {
  /** For an index, emit every child (depth first, with platform and parent) before the index. */
  all?: boolean;
  /** Add the parsed image config of each image manifest as `config`. */
  config?: boolean;
}

/**
 * getManifestRecords reads the manifest a record's `ref` names and returns it as records
 * (children first with `all`), each with digest, mediaType, size, manifest and raw.
 */
export async function getManifestRecords(rec: ImageRecord, opts: GetOptions = {}, topts: TransportOptions = {}): Promise<ImageRecord[]> {
  const ref = formatRef(parseRef(requireRef(rec)));
  const src = openTransport(ref, topts);
  const out: ImageRecord[] = [];
  const visit = async (digest: string | undefined, extra: Partial<ImageRecord>, depth: number): Promise<void> => {
    const m = await src.getManifest(digest);
    const parsed = parseManifest(m.bytes, digest ? `${ref}@${digest}` : ref, m.mediaType);
    if (opts.all && parsed.kind === 'index') {
      if (depth > 4) throw new ImgError('MANIFEST_INVALID', `${ref}: indexes nested more than 4 deep`);
      for (const child of parsed.manifest.manifests) {
        const childExtra: Partial<ImageRecord> = { parent: m.digest };
        if (child.platform) childExtra.platform = child.platform;
        await visit(child.digest, childExtra, depth + 1);
      }
    }
    const record: ImageRecord = { ...rec, ref, ...extra, digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, manifest: parsed.manifest, raw: m.bytes.toString('utf8') };
    if (opts.config && parsed.kind === 'image') record.config = (await readConfig(src, parsed.manifest)).config;
    out.push(record);
  };
  try {
    await visit(undefined, {}, 0);
  } catch (e) {
    throw wrap(e, `fetching manifest ${ref}`, ref);
  }
  return out;
}

/**
 * getRawManifest reads the exact manifest bytes a reference names, or with `config` its config
 * blob's bytes. For an index, the config is that of the child for `platform` (default: this
 * machine's), as `skopeo inspect --config --raw` picks it.
 */
export async function getRawManifest(refString: string, topts: TransportOptions = {}, config = false, platform?: Platform): Promise<Buffer> {
  const ref = formatRef(parseRef(refString));
  try {
    const t = openTransport(ref, topts);
    if (!config) return (await t.getManifest()).bytes;
    const { manifest } = await imageOf(t, platform ?? hostPlatform());
    return (await readConfig(t, manifest)).raw;
  } catch (e) {
    throw wrap(e, `fetching ${config ? 'config' : 'manifest'} ${ref}`, ref);
  }
}

/**
 * putManifestRecord writes a record's manifest to `dest` (the argument, else the record's `dest`):
 * byte for byte unless the record's `manifest` was edited. A record with a `parent` is a child of an
 * index and is stored by digest only. The blobs it needs MUST already be at the destination.
 */
export async function putManifestRecord(rec: ImageRecord, destArg?: string, topts: TransportOptions = {}): Promise<ImageRecord> {
  const destString = destArg ?? (typeof rec.dest === 'string' ? rec.dest : undefined);
  if (destString === undefined) {
    throw new ImgError('RECORD_INVALID', `record${typeof rec.ref === 'string' ? ` for ${rec.ref}` : ''} has no "dest" and no destination was given`);
  }
  const dest = formatRef(parseRef(destString));
  try {
    const m = manifestOfRecord(rec, dest);
    const target = openTransport(dest, topts);
    const child = typeof rec.parent === 'string';
    let status = 'copied';
    if (!child) {
      const existing = canHead(target) ? await target.headManifest() : await target.getManifest().catch(() => undefined);
      if (existing?.digest === m.digest) status = 'exists';
    }
    if (status === 'copied') await target.putManifest({ bytes: m.bytes, mediaType: m.mediaType, digest: m.digest }, { child });
    const out: ImageRecord = { ...rec, dest, digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, status };
    if (m.edited) {
      out.raw = m.bytes.toString('utf8');
      out.manifest = JSON.parse(out.raw);
    }
    return out;
  } catch (e) {
    throw wrap(e, `writing manifest ${dest}`, dest);
  }
}

/** deleteManifestRecord deletes the manifest a record's `ref` names (by digest, as skopeo delete does). */
export async function deleteManifestRecord(rec: ImageRecord, topts: TransportOptions = {}): Promise<ImageRecord> {
  const ref = formatRef(parseRef(requireRef(rec)));
  const t = openTransport(ref, topts);
  if (!canDelete(t)) throw new ImgError('UNSUPPORTED', `deleting manifest ${ref}: the ${ref.split(':')[0]}: transport cannot delete images`);
  try {
    return { ...rec, ref, digest: await t.deleteManifest(), status: 'deleted' };
  } catch (e) {
    throw wrap(e, `deleting manifest ${ref}`, ref);
  }
}

function requireRef(rec: ImageRecord): string {
  if (rec.ref === undefined) throw new ImgError('RECORD_INVALID', 'record has no "ref" field');
  if (typeof rec.ref !== 'string' || rec.ref === '') throw new ImgError('RECORD_INVALID', `record field "ref" must be a non-empty string, not ${JSON.stringify(rec.ref)}`);
  return rec.ref;
}
