import type { Readable } from 'node:stream';
import { ImgError, toImgError, wrap } from '../errors.js';
import { formatOf } from '../oci/convert.js';
import { isForeign, parseManifest, referencedBlobs, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { manifestOfRecord, type ImageRecord } from '../oci/record.js';
import { formatRef, parseRef } from '../ref/index.js';
import { checkWritable, openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import { blobScopeOf, canMount, isArchiveWriter, type BlobMounter } from '../transport/capabilities.js';
import { DigestingStream } from '../stream/verify.js';
import { convertedConfig, formatAt, replacesConfig, type ConversionOptions } from '../image/conversion.js';
import { checkLayerOptionsAt, desiredCompression, expectedCompression, LAYER_UPDATES, layerChange, type LayerUpdate } from '../image/layers.js';
import { layerCompressionOf, sniffCompression, type Compression } from '../oci/compression.js';
import { peekHead, recode } from '../stream/compression.js';
import { spoolDigested } from '../stream/spool.js';
import { compressionKey, LayerCache } from './layer-cache.js';
import { Limiter } from '../util/limiter.js';

export interface MoverOptions extends ConversionOptions {
  /** Where compressed layers are remembered between runs (lib/copy/layer-cache.ts); none: a new one in the default place. */
  cache?: LayerCache;
  src?: TransportOptions;
  dest?: TransportOptions;
  /** Blobs moved at once across all records. */
  jobs?: number;
  /** Whole-blob retries after a failed transfer (the stream cannot be resumed mid-upload). */
  retries?: number;
  /** Plan only: report what would move, move nothing. */
  dryRun?: boolean;
  /** Progress events (start, progress, skip, mount, done, error, plan), for --progress. */
  onEvent?: (e: BlobEvent) => void;
  /** With onEvent: a 'progress' event for each blob in transfer at most every this many ms, when its byte count changed. */
  progressEvery?: number;
}

/** BlobEvent is one step of one blob: `bytes` so far (progress) or in all (done, plan); `from` the repository a mount came from. */
export interface BlobEvent {
  event: 'start' | 'progress' | 'skip' | 'mount' | 'done' | 'error' | 'plan';
  digest: string;
  size: number;
  dest: string;
  ref?: string;
  bytes?: number;
  from?: string;
  message?: string;
}

/** A transfer whose bytes are reported: the source's verifying stream counts them already. */
interface Tracked {
  data: DigestingStream;
  sent: number;
  event: (e: Omit<BlobEvent, 'digest' | 'size' | 'dest'>) => void;
}

/** Blobs up to this size run under the small-blob limit (3 × jobs). */
const SMALL_BLOB = 1024 * 1024;

type Outcome = 'copied' | 'mounted' | 'exists' | 'planned';

/** What moving one blob came to, and for a layer stored with another compression what it became. */
interface Moved {
  outcome: Outcome;
  update?: LayerUpdate;
}

/** What an upload came to: the layer stored otherwise (update); `found` where --dest-precompute-digests found the blob it became at the destination (or mounted it `from` there). */
interface Uploaded {
  update?: LayerUpdate;
  found?: 'exists' | 'mounted';
  from?: string;
}

/** What the mover did for one record, added to it as `blobs`. */
export interface BlobSummary {
  copied: number;
  mounted: number;
  existed: number;
  bytes: number;
  /** With --dry-run: the blobs that would be copied. */
  planned?: { digest: string; size: number; mediaType: string }[];
}

/**
 * BlobMover is img-blob-put's batch mode: for each record it makes sure every blob the image
 * needs is at `dest`, copying from `ref`. Across all records of a run it moves each distinct blob
 * at most once per destination repository (records needing a blob that is on its way wait for that
 * transfer), skips blobs the destination has, mounts blobs across repositories of one registry
 * where it has seen them, streams every blob (verified before the upload is finalised) and runs up
 * to `jobs` transfers at once.
 */
export class BlobMover {
  private readonly limiter: Limiter;
  /** Small blobs (configs, small layers) cost round trips, not bandwidth or memory: more of them run at once, beside the large ones. */
  private readonly smallLimiter: Limiter;
  private readonly inFlight = new Map<string, Promise<Moved>>();
  /** The first transfer of each blob to each registry host under way: host|digest → its promise. */
  private readonly toRegistry = new Map<string, Promise<Moved>>();
  /** What layers became when they were (re)compressed: source digest|compressionKey → the blob stored. */
  private readonly updates = new Map<string, LayerUpdate>();
  private cache?: LayerCache;
  /** Where each blob has been seen on each registry host: host → digest → repositories. */
  private readonly seen = new Map<string, Map<string, Set<string>>>();
  private readonly tracked = new Set<Tracked>();
  private ticker?: NodeJS.Timeout;

  constructor(private readonly opts: MoverOptions = {}) {
    this.limiter = new Limiter(opts.jobs ?? 6);
    this.smallLimiter = new Limiter(3 * (opts.jobs ?? 6));
  }

  /**
   * moveRecord resolves once every blob of the record's image is at its destination, with status
   * copied, mounted, ready (every blob was there) or planned. A record with status "exists" is
   * passed on untouched.
   */
  async moveRecord(rec: ImageRecord): Promise<ImageRecord> {
    // img-manifest get --missing-at-dest found the image at its destination already.
    if (rec.status === 'exists') return rec;
    if (typeof rec.ref !== 'string' || typeof rec.dest !== 'string') {
      throw new ImgError('RECORD_INVALID', `record needs "ref" and "dest" (add dest with img-ref --to)${typeof rec.ref === 'string' ? `: ${rec.ref}` : ''}`);
    }
    checkWritable(parseRef(rec.dest));
    const src = openTransport(formatRef(parseRef(rec.ref)), this.opts.src ?? {});
    const dest = openTransport(formatRef(parseRef(rec.dest)), this.opts.dest ?? {});
    const m = manifestOfRecord(rec, src.name);
    const parsed = parseManifest(m.bytes, src.name, m.mediaType);
    const summary: BlobSummary = { copied: 0, mounted: 0, existed: 0, bytes: 0 };
    // Layer flags that would do nothing there are refused, not taken and ignored (an archive is written
    // whole by img-manifest put, which streams the blobs from `ref` itself).
    checkLayerOptionsAt(dest, this.opts);
    if (isArchiveWriter(dest)) {
      if (!this.opts.dryRun) return rec;
      summary.planned = [];
      for (const b of parsed.kind === 'image' ? await this.blobsFor(parsed, src, dest) : []) {
        summary.copied++;
        summary.bytes += b.size;
        summary.planned.push({ digest: b.digest, size: b.size, mediaType: b.mediaType });
      }
      return { ...rec, status: 'planned', blobs: summary };
    }
    if (this.opts.dryRun) summary.planned = [];
    const updates: Record<string, LayerUpdate> = {};
    if (parsed.kind === 'image') {
      const blobs = await this.blobsFor(parsed, src, dest);
      const layers = new Set(parsed.manifest.layers.map((l) => l.digest));
      const outcomes = await Promise.allSettled(blobs.map((b) => this.moveBlob(b, layers.has(b.digest), src, dest)));
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      outcomes.forEach((o, i) => {
        const { outcome: v, update } = (o as PromiseFulfilledResult<Moved>).value;
        if (update) updates[blobs[i]!.digest] = update;
        if (v === 'copied' || v === 'planned') {
          summary.copied++;
          summary.bytes += blobs[i]!.size;
          summary.planned?.push({ digest: blobs[i]!.digest, size: blobs[i]!.size, mediaType: blobs[i]!.mediaType });
        } else if (v === 'mounted') summary.mounted++;
        else summary.existed++;
      });
    }
    // Not "exists": that would tell img-manifest put to pass the record by, and the manifest may still be missing.
    const status = this.opts.dryRun ? 'planned' : summary.copied > 0 ? 'copied' : summary.mounted > 0 ? 'mounted' : 'ready';
    // Layers stored with another compression: img-manifest put names them in the manifest it writes.
    const { [LAYER_UPDATES]: _old, ...rest } = rec;
    return { ...rest, status, blobs: summary, ...(Object.keys(updates).length > 0 ? { [LAYER_UPDATES]: updates } : {}) };
  }

  /**
   * blobsFor lists the blobs an image needs at `dest`, each once: its config and layers. When the
   * manifest will be converted there (--format, or a destination of one format) and the conversion
   * rewrites the config, the source's config is left out: img-manifest put writes the rewritten one,
   * and the source's would be a blob nothing references. A dry run plans the rewritten one instead.
   */
  private async blobsFor(image: Extract<ParsedManifest, { kind: 'image' }>, src: Transport, dest: Transport): Promise<Descriptor[]> {
    const m = image.manifest;
    if (!replacesConfig(m, formatAt(formatOf(image.mediaType), dest, this.opts, m.layers))) return dedupe(referencedBlobs(m));
    const layers = dedupe(m.layers);
    return this.opts.dryRun ? [(await convertedConfig(src, m, src.name)).descriptor, ...layers] : layers;
  }

  /** moveBlob moves one blob (`layer`: one of the image's layers) once per destination repository, however many records ask for it. */
  private moveBlob(blob: Descriptor, layer: boolean, src: Transport, dest: Transport): Promise<Moved> {
    const key = `${blobScopeOf(dest)}|${blob.digest}`;
    let p = this.inFlight.get(key);
    if (!p) {
      // The same blob on its way to another repository of the same registry: wait for it, then mount it from there.
      const hostKey = canMount(dest) ? `${dest.blobRepository.registry}|${blob.digest}` : undefined;
      const sibling = hostKey === undefined ? undefined : this.toRegistry.get(hostKey);
      const limiter = blob.size <= SMALL_BLOB ? this.smallLimiter : this.limiter;
      p = (sibling ?? Promise.resolve()).catch(() => undefined).then(() => limiter.run(() => this.transfer(blob, layer, src, dest)));
      this.inFlight.set(key, p);
      if (hostKey !== undefined && sibling === undefined) {
        this.toRegistry.set(hostKey, p);
        void p.finally(() => this.toRegistry.delete(hostKey)).catch(() => undefined);
      }
      // A failed transfer may be asked for again by a later record.
      p.catch(() => this.inFlight.delete(key));
    }
    return p;
  }

  /**
   * transfer moves one blob. A layer that the destination stores with another compression than the
   * source's (lib/image/layers.ts: an uncompressed layer to docker:// or oci: is gzip-compressed, or
   * as --dest-compress-format says; --dest-decompress undoes compression) is (re)compressed as it
   * streams into putBlob, which digests what it stores; the new blob is the record's layer update.
   */
  private async transfer(blob: Descriptor, layer: boolean, src: Transport, dest: Transport): Promise<Moved> {
    const event = (e: Omit<BlobEvent, 'digest' | 'size' | 'dest'>) => this.opts.onEvent?.({ digest: blob.digest, size: blob.size, dest: dest.name, ...e });
    try {
      this.note(src, blob.digest);
      const desired = desiredCompression(src, dest, this.opts);
      const expected = layer ? expectedCompression(blob, src) : undefined;
      const change = expected === undefined ? undefined : layerChange(expected, desired, this.opts);
      if (change !== undefined) return await this.transferChanged(blob, expected!, change, src, dest, event);
      // A destination that minds compression (not dir:, which keeps layers as they come, as skopeo's)
      // gets a layer that is stored otherwise than its media type says (an uncompressed layer named
      // …tar.gzip by docker-archive:) named as it is stored.
      const renames = desired !== 'preserve' && !this.opts.preserveDigests;
      const claimed = layer ? layerCompressionOf(blob.mediaType) : undefined;
      const rename =
        renames && expected !== undefined && claimed !== expected ? { update: { digest: blob.digest, size: blob.size, compression: expected } } : {};
      if ((await dest.statBlob(blob.digest)) === blob.size) {
        this.note(dest, blob.digest);
        event({ event: 'skip' });
        return { outcome: 'exists', ...rename };
      }
      // A layer whose compression its media type does not tell right may have been recompressed by an earlier run.
      const stored = desired === 'decompress' ? 'none' : this.opts.acceptUncompressed ? undefined : (this.opts.compressFormat ?? 'gzip');
      const earlier = layer && renames && stored !== undefined ? await this.storedBefore(blob, stored, dest) : undefined;
      if (earlier) {
        event({ event: 'skip' });
        return { outcome: 'exists', update: earlier };
      }
      if (this.opts.dryRun) {
        event({ event: 'plan', ref: src.name, bytes: blob.size });
        return { outcome: 'planned' };
      }
      const from = await this.tryMount(blob.digest, dest);
      if (from !== undefined) {
        event({ event: 'mount', from });
        return { outcome: 'mounted', ...rename };
      }
      // A layer stored otherwise than its media type says is told by its first bytes.
      const sniff = expected === undefined ? undefined : { changeFor: (actual: Compression) => layerChange(actual, desired, this.opts), renames };
      return this.uploaded(await this.upload(blob, src, dest, event, sniff), blob, event, rename);
    } catch (e) {
      const err = wrap(e, `copying blob ${blob.digest} from ${src.name} to ${dest.name}`, src.name);
      event({ event: 'error', message: err.message });
      throw err;
    }
  }

  /**
   * transferChanged moves a layer that is stored with compression `change` at `dest`: unless what it
   * became before (in this run, or in the cache of earlier runs) is at the destination already or can
   * be mounted there, it is read, (re)compressed and uploaded.
   */
  private async transferChanged(
    blob: Descriptor,
    expected: Compression,
    change: Compression,
    src: Transport,
    dest: Transport,
    event: Tracked['event'],
  ): Promise<Moved> {
    if (this.opts.preserveDigests) {
      const how = (c: Compression) => (c === 'none' ? 'uncompressed' : `${c}-compressed`);
      throw new ImgError(
        'UNSUPPORTED',
        `layer ${blob.digest} of ${src.name} is stored ${how(expected)} and ${dest.name} stores it ${how(change)}, which changes its digest, but --preserve-digests was given (copy to a destination that keeps layers as they come, such as dir:, or leave out --preserve-digests)`,
        { ref: src.name },
      );
    }
    const known = this.known(blob.digest, change);
    if (known) {
      if (await this.storedBefore(blob, change, dest)) {
        event({ event: 'skip' });
        return { outcome: 'exists', update: known };
      }
      if (!this.opts.dryRun) {
        const from = await this.tryMount(known.digest, dest);
        if (from !== undefined) {
          event({ event: 'mount', from });
          return { outcome: 'mounted', update: known };
        }
      }
    }
    if (this.opts.dryRun) {
      event({ event: 'plan', ref: src.name, bytes: blob.size });
      return { outcome: 'planned' };
    }
    return this.uploaded(await this.upload(blob, src, dest, event, { changeFor: () => change, renames: true }), blob, event, {});
  }

  /** uploaded is what an upload came to, with its event: copied (done), or found at the destination by --dest-precompute-digests (skip, mount). */
  private uploaded(up: Uploaded, blob: Descriptor, event: Tracked['event'], otherwise: { update?: LayerUpdate }): Moved {
    if (up.found === 'exists') {
      event({ event: 'skip' });
      return { outcome: 'exists', ...(up.update ? { update: up.update } : {}) };
    }
    if (up.found === 'mounted') {
      event({ event: 'mount', ...(up.from !== undefined ? { from: up.from } : {}) });
      return { outcome: 'mounted', ...(up.update ? { update: up.update } : {}) };
    }
    event({ event: 'done', bytes: blob.size });
    return { outcome: 'copied', ...(up.update ? { update: up.update } : otherwise) };
  }

  /** known is what a layer became when this run or an earlier one stored it with compression `to`. */
  private known(digest: string, to: Compression): LayerUpdate | undefined {
    const key = compressionKey(to, to === 'none' ? undefined : this.opts.compressLevel);
    this.cache ??= this.opts.cache ?? new LayerCache();
    return this.updates.get(`${digest}|${key}`) ?? this.cache.get(digest, key);
  }

  /** remember notes what a layer became, for this run and the next ones. */
  private remember(digest: string, u: LayerUpdate): void {
    if (u.digest === digest) return;
    const key = compressionKey(u.compression, u.compression === 'none' ? undefined : this.opts.compressLevel);
    this.cache ??= this.opts.cache ?? new LayerCache();
    this.updates.set(`${digest}|${key}`, u);
    this.cache.put(digest, key, u);
  }

  /** storedBefore is what the layer became with compression `to`, when that is at `dest` already. */
  private async storedBefore(blob: Descriptor, to: Compression, dest: Transport): Promise<LayerUpdate | undefined> {
    const known = this.known(blob.digest, to);
    if (!known || (await dest.statBlob(known.digest)) !== known.size) return undefined;
    this.note(dest, known.digest);
    return known;
  }

  /**
   * upload streams a blob from `src` into `dest`, retried whole after a network failure. With
   * `layer`, the blob is a layer whose compression its first bytes tell: when changeFor gives a
   * compression for it, it is stored in that one and the blob stored is returned; stored as it is,
   * it is returned (to be named as it is) when that is not what its media type says and `renames`.
   */
  private async upload(
    blob: Descriptor,
    src: Transport,
    dest: Transport,
    event: Tracked['event'],
    layer?: { changeFor: (actual: Compression) => Compression | undefined; renames: boolean },
  ): Promise<Uploaded> {
    const retries = this.opts.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      event({ event: 'start', ref: src.name });
      try {
        const data = await src.getBlob({ digest: blob.digest, size: blob.size });
        // A small blob can fail its check before the destination starts reading; keep the
        // error on the stream (data.errored) for putBlob instead of crashing the process.
        data.on('error', () => undefined);
        const untrack = this.track(data, event);
        try {
          if (!layer) {
            await dest.putBlob(data, { digest: blob.digest, size: blob.size });
            this.note(dest, blob.digest);
            return {};
          }
          const what = `layer ${blob.digest} of ${src.name}`;
          const { head, stream } = await peekHead(data);
          const actual = sniffCompression(head, what);
          const to = layer.changeFor(actual) ?? actual;
          if (to === actual) {
            await dest.putBlob(stream, { digest: blob.digest, size: blob.size });
            this.note(dest, blob.digest);
            return layer.renames && layerCompressionOf(blob.mediaType) !== actual
              ? { update: { digest: blob.digest, size: blob.size, compression: actual } }
              : {};
          }
          const level = to === 'none' ? undefined : this.opts.compressLevel;
          const recoded = await recode(stream, actual, to, what, level);
          if (this.opts.precomputeDigests) return await this.uploadSpooled(recoded, blob, to, what, dest);
          const info = await dest.putBlob(recoded);
          this.note(dest, info.digest);
          const update: LayerUpdate = { digest: info.digest, size: info.size, compression: to };
          this.remember(blob.digest, update);
          return { update };
        } finally {
          untrack();
        }
      } catch (e) {
        const err = toImgError(e);
        if (attempt >= retries || !['UNREACHABLE', 'TIMEOUT', 'HTTP'].includes(err.code)) throw e;
        event({ event: 'error', message: `${err.message}; retrying` });
        // --retry-delay (one flag for both ends) holds this retry as it holds a request's.
        const delay = this.opts.src?.registry?.fixedRetryDelayMs ?? this.opts.dest?.registry?.fixedRetryDelayMs;
        if (delay) await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * uploadSpooled is --dest-precompute-digests for a layer stored otherwise than the source holds it
   * (the only blobs whose digest is not known before they are read): its new bytes are written to a
   * temp file and digested first, so that a destination that has them, or a repository of its
   * registry that it can mount them from, gets nothing uploaded, as containers/image's docker
   * destination does (streamdigest.ComputeBlobInfo). Else they are uploaded from the file.
   */
  private async uploadSpooled(data: Readable, blob: Descriptor, to: Compression, what: string, dest: Transport): Promise<Uploaded> {
    const spooled = await spoolDigested(data, `${what} ${to === 'none' ? 'decompressed' : `compressed with ${to}`}`);
    try {
      const update: LayerUpdate = { digest: spooled.digest, size: spooled.size, compression: to };
      this.remember(blob.digest, update);
      if ((await dest.statBlob(update.digest)) === update.size) {
        this.note(dest, update.digest);
        return { update, found: 'exists' };
      }
      const from = await this.tryMount(update.digest, dest);
      if (from !== undefined) return { update, found: 'mounted', from };
      const info = await dest.putBlob(spooled.read(), { digest: update.digest, size: update.size });
      this.note(dest, info.digest);
      return { update };
    } finally {
      await spooled.close();
    }
  }

  /** tryMount links a blob from another repository of the destination's registry where it was seen, and names that repository. */
  private async tryMount(digest: string, dest: Transport): Promise<string | undefined> {
    if (!canMount(dest)) return undefined;
    const d = dest.blobRepository;
    const repos = this.seen.get(d.registry)?.get(digest);
    if (!repos) return undefined;
    for (const from of repos) {
      if (from === d.repository) continue;
      try {
        if (await dest.mountBlob(digest, from)) {
          this.note(dest, digest);
          return from;
        }
      } catch {
        // A refused mount (no pull access to the other repository) falls back to a copy.
      }
    }
    return undefined;
  }

  /**
   * track reports a transfer's bytes with 'progress' events: one timer for all transfers reads the
   * count the source's verifying stream keeps, so nothing is added to the data path. Returns untrack.
   */
  private track(data: Readable, event: Tracked['event']): () => void {
    const every = this.opts.progressEvery;
    if (!every || !this.opts.onEvent || !(data instanceof DigestingStream)) return () => undefined;
    const t: Tracked = { data, sent: 0, event };
    this.tracked.add(t);
    if (!this.ticker) {
      this.ticker = setInterval(() => {
        for (const x of this.tracked) {
          if (x.data.size === x.sent) continue;
          x.sent = x.data.size;
          x.event({ event: 'progress', bytes: x.sent });
        }
      }, every);
      this.ticker.unref();
    }
    return () => {
      this.tracked.delete(t);
      if (this.tracked.size === 0) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
    };
  }

  /** note records that a registry repository has a blob (a source's, or one moved there), to mount it from there later; other transports are no mount's source. */
  private note(t: Transport, digest: string): void {
    if (!canMount(t)) return;
    const d: BlobMounter['blobRepository'] = t.blobRepository;
    let byDigest = this.seen.get(d.registry);
    if (!byDigest) this.seen.set(d.registry, (byDigest = new Map()));
    let repos = byDigest.get(digest);
    if (!repos) byDigest.set(digest, (repos = new Set()));
    repos.add(d.repository);
  }
}

function dedupe(blobs: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return blobs.filter((b) => !isForeign(b) && !seen.has(b.digest) && seen.add(b.digest));
}
