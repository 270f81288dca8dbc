import { Readable } from 'node:stream';
import { ImgError, wrap } from '../errors.js';
import { convertManifest, formatOf, type Format } from '../oci/convert.js';
import { digestOf } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { manifestOfRecord, type ImageRecord } from '../oci/record.js';
import { formatRef, parseRef } from '../ref/index.js';
import { isArchiveWriter, servesUncompressedLayers, takesAdditionalTags, type ArchiveWriter } from '../transport/capabilities.js';
import { convertedConfig, formatAt, replacesConfig } from './conversion.js';
import { LAYER_UPDATES, layerUpdatesOf, type LayerUpdate } from './layers.js';
import { layerMediaType } from '../oci/compression.js';
import { MediaType } from '../oci/mediatype.js';
import { manifestAt } from './manifests.js';
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import type { StoredManifest } from '../transport/types.js';

export interface PutOptions {
  /** The destination given on the command line; without it, each record's `dest`. */
  dest?: string;
  /** Options for the destination, and for the source, which archives and conversions read. */
  destTopts?: TransportOptions;
  srcTopts?: TransportOptions;
  /** Convert every manifest to this format (as skopeo copy --format). */
  format?: Format;
  /** Refuse any record whose digest would change (a conversion, an edited manifest). */
  preserveDigests?: boolean;
  /** More names for the image written (normalised NAME:TAGs): skopeo copy --additional-tag, for a destination that takes them (AdditionalTags). */
  additionalTags?: readonly string[];
}

/** One archive being written: images are added as their top-level records come; finish at end of input. */
interface ArchiveJob {
  target: Transport & ArchiveWriter;
  /** Children waiting for their index, as converted. */
  children: StoredManifest[];
  /** Records written into it, printed once the archive is finished. */
  held: ImageRecord[];
  failed?: ImgError;
  /** The image the additional tags went to (they name one image). */
  tagged?: string;
}

/** The manifest a record becomes at its destination, and any blob the conversion made (a rewritten config). */
interface Prepared {
  stored: StoredManifest;
  changed: boolean;
  blobs: Map<string, Buffer>;
}

/**
 * ManifestPutter is img-manifest put: it writes each record's manifest to its destination, byte for
 * byte unless the record's manifest was edited or `format` asks for a conversion (children of an
 * index come first and the index is rewritten with their new digests). Archive destinations
 * (oci-archive:, docker-archive:) are written whole: each top-level record becomes one addImage
 * with the children that came before it, and finish() closes every archive; any failure aborts the
 * archive so that nothing appears at its path.
 */
export class ManifestPutter {
  /** Each child put so far: its digest as the index names it → its descriptor as written. */
  private readonly children = new Map<string, Descriptor>();
  private readonly archives = new Map<string, ArchiveJob>();

  constructor(private readonly opts: PutOptions = {}) {}

  /** destOf is the canonical destination of a record, or undefined when it has none. */
  private destOf(rec: ImageRecord): string | undefined {
    const d = this.opts.dest ?? (typeof rec.dest === 'string' ? rec.dest : undefined);
    return d === undefined ? undefined : formatRef(parseRef(d));
  }

  /** toStdout says whether a record goes into an archive written to stdout: then its records must not be printed. */
  toStdout(rec: ImageRecord): boolean {
    try {
      const d = this.destOf(rec);
      return d !== undefined && writesToStdout(d, this.opts.destTopts);
    } catch {
      return false;
    }
  }

  /** failed tells the putter that an earlier stage failed on a record: an archive it was headed for is given up. */
  async failed(rec: ImageRecord): Promise<void> {
    let target: Transport | undefined;
    try {
      const d = this.destOf(rec);
      target = d === undefined ? undefined : openTransport(d, this.opts.destTopts ?? {});
    } catch {
      return;
    }
    // Whether the archive was begun or not, it is not written without this image.
    const job = target && isArchiveWriter(target) ? this.archiveJob(target.archive) : undefined;
    if (job)
      await this.abortJob(
        job,
        new ImgError('IO', `not written: ${typeof rec.ref === 'string' ? rec.ref : 'a record'} failed before it (${rec.error?.message ?? 'error'})`),
      );
  }

  /** put writes one record and returns the records to pass on now (records bound for an archive are held until finish). */
  async put(rec: ImageRecord): Promise<ImageRecord[]> {
    const dest = this.destOf(rec);
    if (dest === undefined) {
      throw new ImgError('RECORD_INVALID', `record${typeof rec.ref === 'string' ? ` for ${rec.ref}` : ''} has no "dest" and no destination was given`);
    }
    // img-manifest get --missing-at-dest found the image at its destination already.
    if (rec.status === 'exists') return [rec];
    let job: ArchiveJob | undefined;
    try {
      const destTarget = openTransport(dest, this.opts.destTopts ?? {});
      const archive = isArchiveWriter(destTarget) ? destTarget : undefined;
      job = archive ? this.archiveJob(archive.archive) : undefined;
      if (job?.failed) throw job.failed;
      // Before anything is written: containers/image ignores the names elsewhere, imgpipe says so.
      if (this.opts.additionalTags?.length && !takesAdditionalTags(destTarget))
        throw new ImgError('UNSUPPORTED', `--additional-tag: ${dest} keeps no names of its own (additional tags are for docker-archive: destinations)`);
      const p = await this.prepare(rec, dest);
      const child = typeof rec.parent === 'string';
      if (child)
        this.children.set(typeof rec.digest === 'string' ? rec.digest : p.stored.digest, {
          mediaType: p.stored.mediaType,
          digest: p.stored.digest,
          size: p.stored.bytes.length,
        });
      const out: ImageRecord = {
        ...rec,
        dest,
        ...(p.changed ? recordFields(p.stored) : { digest: p.stored.digest, mediaType: p.stored.mediaType, size: p.stored.bytes.length }),
      };
      if (job) {
        if (child) job.children.push(p.stored);
        else {
          // docker-archive serves a manifest of its own (uncompressed layers): the record names that
          // one, and says in layerUpdates which source layer each of its layers is.
          const served = await this.addToArchive(job, rec, archive!, p);
          if (served.digest !== p.stored.digest) {
            Object.assign(out, recordFields(served));
            if (servesUncompressedLayers(job.target)) {
              const updates = servedLayerUpdates(rec, served);
              if (Object.keys(updates).length > 0) out[LAYER_UPDATES] = updates;
            }
          }
        }
        job.held.push({ ...out, status: 'copied' });
        return [];
      }
      // Blobs img-blob-put had to copy or mount mean the manifest cannot be there yet: no lookup first.
      const fresh = rec.status === 'copied' || rec.status === 'mounted';
      out.status = await writeTo(destTarget, p, child, fresh);
      return [out];
    } catch (e) {
      const err = wrap(e, `writing manifest ${dest}`, dest);
      if (job) await this.abortJob(job, err);
      throw err;
    }
  }

  /** finish closes every archive; it returns every record held for them, with the archive's error where it failed. */
  async finish(): Promise<{ record: ImageRecord; error?: ImgError }[]> {
    const out: { record: ImageRecord; error?: ImgError }[] = [];
    for (const job of this.archives.values()) {
      if (!job.failed) {
        try {
          if (job.children.length) throw new ImgError('RECORD_INVALID', `${job.children.length} child manifest(s) came without their index`);
          await job.target.finish();
        } catch (e) {
          await this.abortJob(job, wrap(e, `writing archive ${job.target.name}`, job.target.name));
        }
      }
      for (const record of job.held) out.push(job.failed ? { record: { ...record, status: undefined }, error: job.failed } : { record });
    }
    this.archives.clear();
    return out;
  }

  /** abort gives up every archive not finished yet (nothing appears at their paths). */
  async abort(): Promise<void> {
    for (const job of this.archives.values()) await this.abortJob(job, new ImgError('IO', 'aborted'));
  }

  /** archiveJob is the job writing the archive `key` (an ArchiveWriter's `archive`), begun on first use. */
  private archiveJob(key: string): ArchiveJob {
    let job = this.archives.get(key);
    if (!job) {
      const target = openTransport(key, this.opts.destTopts ?? {});
      if (!isArchiveWriter(target)) throw new ImgError('UNSUPPORTED', `${key} cannot be written`);
      job = { target, children: [], held: [] };
      this.archives.set(key, job);
    }
    return job;
  }

  private async abortJob(job: ArchiveJob, err: ImgError): Promise<void> {
    if (job.failed) return;
    job.failed = err;
    await job.target.abort().catch(() => undefined);
  }

  private async addToArchive(job: ArchiveJob, rec: ImageRecord, dest: ArchiveWriter, p: Prepared): Promise<StoredManifest> {
    const name = dest.nameInArchive();
    const src = this.source(rec, p.blobs);
    const children = job.children;
    job.children = [];
    const tags = this.opts.additionalTags ?? [];
    if (tags.length === 0) return job.target.addImage({ manifest: p.stored, children }, src, name);
    // The names are of one image: a second image under them would make each name ambiguous.
    if (job.tagged !== undefined && job.tagged !== p.stored.digest)
      throw new ImgError('USAGE', `--additional-tag names one image: ${job.target.name} already holds ${job.tagged} under ${tags.join(', ')}`);
    if (!takesAdditionalTags(job.target)) throw new ImgError('UNSUPPORTED', `--additional-tag: ${job.target.name} keeps no names of its own`);
    job.tagged = p.stored.digest;
    return job.target.addImageTagged({ manifest: p.stored, children }, src, name, tags);
  }

  /** source opens the record's `ref`, serving `blobs` (made by a conversion) from memory. */
  private source(rec: ImageRecord, blobs: Map<string, Buffer>): Transport {
    if (typeof rec.ref !== 'string') throw new ImgError('RECORD_INVALID', 'record has no "ref" to read the blobs from');
    const src = openTransport(formatRef(parseRef(rec.ref)), this.opts.srcTopts ?? {});
    if (blobs.size === 0) return src;
    return {
      // What the source is goes along (an archive compresses the layers of one that holds them uncompressed).
      ...(servesUncompressedLayers(src) ? { layersUncompressed: true } : {}),
      name: src.name,
      getManifest: (d) => src.getManifest(d),
      putManifest: (m, o) => src.putManifest(m, o),
      statBlob: async (d) => blobs.get(d)?.length ?? src.statBlob(d),
      putBlob: (data, e) => src.putBlob(data, e),
      getBlob: async (b) => (blobs.has(b.digest) ? Readable.from([blobs.get(b.digest)!]) : src.getBlob(b)),
    };
  }

  /** prepare gives the manifest bytes a record becomes: raw, edited, or converted to `format` (with children's new digests). */
  private async prepare(rec: ImageRecord, dest: string): Promise<Prepared> {
    const m = manifestOfRecord(rec, dest);
    const what = typeof rec.ref === 'string' ? rec.ref : dest;
    const parsed = parseManifest(m.bytes, what, m.mediaType);
    const blobs = new Map<string, Buffer>();
    let stored: StoredManifest = { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest };
    const from = formatOf(parsed.mediaType);
    const updates = parsed.kind === 'image' ? layerUpdatesOf(rec, what) : new Map<string, LayerUpdate>();
    // zstd layers need an OCI manifest (Docker schema 2 has no zstd type): img-blob-put made the same choice.
    const zstd = [...updates.values()].some((u) => u.compression === 'zstd');
    const to = zstd && !this.opts.format && !this.opts.preserveDigests ? 'oci' : formatAt(from, openTransport(dest, this.opts.destTopts ?? {}), this.opts);
    if (parsed.kind === 'index') {
      const moved = parsed.manifest.manifests.some((d) => {
        const c = this.children.get(d.digest);
        return c !== undefined && c.digest !== d.digest;
      });
      if (moved || to !== from) stored = withDigest(convertManifest(parsed, to, what, this.children));
    } else if (to !== from || updates.size > 0) {
      // The config a conversion rewrites is written here: img-blob-put left the source's out.
      let config: Descriptor | undefined;
      if (to !== from && replacesConfig(parsed.manifest, to)) {
        const c = await convertedConfig(this.source(rec, blobs), parsed.manifest, what);
        config = c.descriptor;
        blobs.set(config.digest, c.bytes);
      }
      // Layers img-blob-put stored with another compression are named as stored (the config's diff IDs stay).
      const layers = parsed.manifest.layers.map((l) => withUpdate(l, updates.get(l.digest)));
      stored = withDigest(convertManifest({ ...parsed, manifest: { ...parsed.manifest, layers } }, to, what, undefined, config));
    }
    // The digest the record had: the source's, or none for a manifest made or edited by hand.
    const original = typeof rec.digest === 'string' ? rec.digest : m.edited ? undefined : m.digest;
    const changed = m.edited || stored.digest !== m.digest;
    if (this.opts.preserveDigests && stored.digest !== original) {
      const why =
        updates.size > 0
          ? 'names layers stored with another compression'
          : stored.digest !== m.digest
            ? `must be converted to ${stored.mediaType}`
            : 'was edited';
      throw new ImgError(
        'UNSUPPORTED',
        `${what} ${why}, which changes its digest ${original ? `from ${original} ` : ''}to ${stored.digest}, but --preserve-digests was given`,
        { ref: what },
      );
    }
    return { stored, changed, blobs };
  }
}

/** writesToStdout says whether `dest` is an archive written to this process's stdout (ArchiveWriter's toStdout). */
export function writesToStdout(dest: string, topts: TransportOptions = {}): boolean {
  const t = openTransport(dest, topts);
  return isArchiveWriter(t) && t.toStdout === true;
}

/**
 * withUpdate names a layer as img-blob-put stored it: its new digest and size, and its media type
 * with the new compression (a zstd layer of a Docker manifest takes the OCI type, which the
 * conversion to OCI that zstd needs keeps).
 */
function withUpdate(l: Descriptor, u: LayerUpdate | undefined): Descriptor {
  if (!u) return l;
  const docker = formatOf(l.mediaType) === 'v2s2';
  const mediaType = docker && u.compression === 'zstd' ? MediaType.ociLayerZstd : layerMediaType(l.mediaType, u.compression);
  return { ...l, mediaType, digest: u.digest, size: u.size };
}

/** recordFields are the fields of a record that describe a manifest. */
/**
 * servedLayerUpdates maps each layer of the record's source manifest to the layer an archive serves
 * for it (uncompressed, by its diff ID), as img-blob-put's layerUpdates map a layer to its stored
 * form: source digest → {digest, size, compression "none"}; a layer served as it is is left out.
 */
function servedLayerUpdates(rec: ImageRecord, served: StoredManifest): Record<string, LayerUpdate> {
  const from = (rec.manifest as { layers?: { digest?: unknown }[] } | undefined)?.layers ?? [];
  const to = (JSON.parse(served.bytes.toString('utf8')) as { layers?: { digest: string; size: number }[] }).layers ?? [];
  const out: Record<string, LayerUpdate> = {};
  if (from.length !== to.length) return out;
  for (const [i, l] of from.entries()) {
    if (typeof l.digest === 'string' && l.digest !== to[i]!.digest) out[l.digest] = { digest: to[i]!.digest, size: to[i]!.size, compression: 'none' };
  }
  return out;
}

function recordFields(m: StoredManifest): Partial<ImageRecord> {
  const raw = m.bytes.toString('utf8');
  return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, manifest: JSON.parse(raw), raw };
}

function withDigest(c: { bytes: Buffer; mediaType: string }): StoredManifest {
  return { ...c, digest: digestOf(c.bytes) };
}

/**
 * writeTo stores a prepared manifest (and the blobs its conversion made) at a non-archive
 * destination; "exists" when it was there already, which is looked up unless `child` (stored by
 * digest only) or `skipLookup`.
 */
async function writeTo(target: Transport, p: Prepared, child: boolean, skipLookup = false): Promise<'copied' | 'exists'> {
  if (!child && !skipLookup) {
    const existing = await manifestAt(target);
    if (existing?.digest === p.stored.digest) return 'exists';
  }
  for (const [digest, bytes] of p.blobs) {
    if ((await target.statBlob(digest)) !== bytes.length) await target.putBlob(Readable.from([bytes]), { digest, size: bytes.length });
  }
  await target.putManifest(p.stored, { child });
  return 'copied';
}
