import { ImgError } from '../errors.js';
import { layerCompressionOf, LEVELS, type Compression, type Compressor } from '../oci/compression.js';
import type { Descriptor } from '../oci/manifest.js';
import { compressesEveryLayer, isArchiveWriter, servesUncompressedLayers, wantsCompressedLayers } from '../transport/capabilities.js';
import type { Transport } from '../transport/types.js';

/**
 * Layer compression on the way, as containers/image's copy does it (copy/compression.go): decided by
 * img-blob-put, which compresses and tells img-manifest put what it stored (the record's
 * `layerUpdates`), so that put names the layers as stored.
 */

/** LayerOptions are skopeo's --dest-compress, --dest-decompress, --dest-compress-format, --dest-compress-level and --dest-oci-accept-uncompressed-layers. */
export interface LayerOptions {
  compress?: boolean;
  decompress?: boolean;
  /** --dest-oci-accept-uncompressed-layers: an uncompressed layer stays uncompressed wherever it goes (compressed ones are still recompressed as --dest-compress-format asks). */
  acceptUncompressed?: boolean;
  /** --dest-force-compress-format: every layer is stored in compressFormat, at any destination (dir: too), and an image the destination has is not passed by. */
  forceFormat?: boolean;
  /** --dest-precompute-digests: a layer stored with another compression is spooled and digested first, and not uploaded where the destination has it. */
  precomputeDigests?: boolean;
  compressFormat?: Compressor;
  compressLevel?: number;
}

/** What a destination does with layers: compress the uncompressed ones, decompress the compressed ones, or keep them as they come. */
export type Desired = 'compress' | 'decompress' | 'preserve';

/**
 * desiredCompression is what `dest` does with the layers of `src`: --dest-compress and
 * --dest-decompress say; else a destination that stores layers compressed (WantsCompressedLayers:
 * docker://, oci:, as containers/image's DesiredLayerCompression) compresses the layers of a source
 * that holds them uncompressed (UncompressedLayers: docker-archive:, docker-daemon:), and any
 * source's when --dest-compress-format or --dest-compress-level asks for a compression, or when it
 * compresses every layer (CompressesEveryLayer: oci:, as skopeo; not with --preserve-digests, which
 * keeps a layer that says it is uncompressed as it is, as skopeo does); else layers are kept as they
 * come (dir:, and a registry's or a layout's layers on their way into a registry, whose digests a
 * copy keeps). skopeo also compresses the uncompressed layers of a dir: or oci: source on their way
 * into a registry; imgpipe leaves those as they are unless asked.
 */
export function desiredCompression(src: Transport, dest: Transport, opts: LayerOptions & { preserveDigests?: boolean }): Desired {
  if (opts.compress || opts.forceFormat) return 'compress';
  if (opts.decompress) return 'decompress';
  if (!wantsCompressedLayers(dest)) return 'preserve';
  const asked = opts.compressFormat !== undefined || opts.compressLevel !== undefined;
  const every = compressesEveryLayer(dest) && !opts.preserveDigests;
  return asked || servesUncompressedLayers(src) || every ? 'compress' : 'preserve';
}

/**
 * layerChange is the compression a layer stored as `actual` gets at a destination that wants
 * `desired`, or undefined when it is stored as it is: an uncompressed layer is compressed (with
 * --dest-compress-format, else gzip; not with --dest-oci-accept-uncompressed-layers), a compressed
 * one recompressed only when --dest-compress-format names another compression; decompress undoes any
 * compression.
 */
export function layerChange(actual: Compression, desired: Desired, opts: LayerOptions): Compression | undefined {
  if (desired === 'compress') {
    if (actual === 'none') return opts.acceptUncompressed ? undefined : (opts.compressFormat ?? 'gzip');
    return opts.compressFormat !== undefined && opts.compressFormat !== actual ? opts.compressFormat : undefined;
  }
  if (desired === 'decompress') return actual === 'none' ? undefined : 'none';
  return undefined;
}

/**
 * expectedCompression is how a source stores a layer, as far as it is known before reading it: a
 * source that serves every layer uncompressed says so (UncompressedLayers: docker-archive:,
 * docker-daemon:, whose manifests name them …tar.gzip, as skopeo's do); else the media type tells;
 * undefined for a type that names no compression (a foreign or unknown layer type), left as it is.
 */
export function expectedCompression(layer: Descriptor, src: Transport): Compression | undefined {
  const byType = layerCompressionOf(layer.mediaType);
  if (byType === undefined) return undefined;
  return servesUncompressedLayers(src) ? 'none' : byType;
}

/**
 * zstdLayers says whether layers written to `dest` are (re)compressed with zstd, which only an OCI
 * manifest can name: with --dest-compress-format zstd at a destination that compresses, when the
 * image has a layer whose compression its media type tells (`layers`, where known).
 */
export function zstdLayers(dest: Transport, opts: LayerOptions, layers?: Descriptor[]): boolean {
  const compresses = opts.compress === true || opts.forceFormat === true || (!opts.decompress && wantsCompressedLayers(dest));
  if (opts.compressFormat !== 'zstd' || !compresses) return false;
  return layers === undefined || layers.some((l) => layerCompressionOf(l.mediaType) !== undefined);
}

/**
 * checkLayerOptionsAt refuses the layer flags that would do nothing at `dest`, before anything
 * moves: any of them at a destination written whole by img-manifest put (archives, engines, which
 * store layers as their format does), and a compression or level where nothing is compressed (dir:
 * without --dest-compress or --dest-force-compress-format keeps layers as they come; skopeo takes
 * the flags there and does nothing with them).
 */
export function checkLayerOptionsAt(dest: Transport, opts: LayerOptions): void {
  if (isArchiveWriter(dest)) {
    const given = layerArgs(opts)[0];
    if (given !== undefined) {
      throw new ImgError(
        'USAGE',
        `${given.split('=')[0]} does not apply to ${dest.name}: it is written whole by img-manifest put, which stores layers as its format does (oci-archive: gzip-compressed, as skopeo; docker-archive:, docker-daemon: and containers-storage: uncompressed)`,
      );
    }
    return;
  }
  const asked = opts.compressFormat !== undefined ? '--dest-compress-format' : opts.compressLevel !== undefined ? '--dest-compress-level' : undefined;
  if (asked !== undefined && !opts.compress && !opts.forceFormat && !wantsCompressedLayers(dest)) {
    throw new ImgError(
      'USAGE',
      `${asked} does nothing at ${dest.name}, which keeps layers as they come: add --dest-compress (compress the uncompressed layers) or --dest-force-compress-format (every layer in that format)`,
    );
  }
}

/** LayerUpdate is what img-blob-put stored for a layer it changed: the new blob and its compression. */
export interface LayerUpdate {
  digest: string;
  size: number;
  compression: Compression;
}

/** The record field img-blob-put names its layer updates in: source digest → LayerUpdate. */
export const LAYER_UPDATES = 'layerUpdates';

/** layerUpdatesOf reads a record's `layerUpdates`, checking its shape (a record may come from anywhere). */
export function layerUpdatesOf(rec: Record<string, unknown>, what: string): Map<string, LayerUpdate> {
  const v = rec[LAYER_UPDATES];
  const out = new Map<string, LayerUpdate>();
  if (v === undefined) return out;
  const bad = () => new ImgError('RECORD_INVALID', `record for ${what}: "${LAYER_UPDATES}" must map layer digests to {digest, size, compression}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
  for (const [from, u] of Object.entries(v as Record<string, unknown>)) {
    const x = u as Partial<LayerUpdate>;
    if (
      typeof x !== 'object' ||
      x === null ||
      typeof x.digest !== 'string' ||
      !Number.isSafeInteger(x.size) ||
      !['none', 'gzip', 'zstd'].includes(x.compression as string)
    )
      throw bad();
    out.set(from, { digest: x.digest, size: x.size!, compression: x.compression! });
  }
  return out;
}

/**
 * parseLayerFlags reads --dest-compress, --dest-decompress, --dest-compress-format and
 * --dest-compress-level, refusing what contradicts: both directions, a level out of the format's
 * range, and any of them with --preserve-digests (each changes layer digests).
 */
export function parseLayerFlags(flags: Record<string, unknown>): LayerOptions {
  const out: LayerOptions = {};
  const on = (f: string) => flags[f] === true;
  if (on('dest-compress')) out.compress = true;
  if (on('dest-decompress')) out.decompress = true;
  if (out.compress && out.decompress) throw new ImgError('USAGE', '--dest-compress and --dest-decompress exclude each other');
  if (on('dest-oci-accept-uncompressed-layers')) {
    if (out.compress)
      throw new ImgError(
        'USAGE',
        '--dest-compress and --dest-oci-accept-uncompressed-layers exclude each other: one compresses uncompressed layers, the other keeps them',
      );
    out.acceptUncompressed = true;
  }
  const format = flags['dest-compress-format'];
  if (format !== undefined) {
    const f = String(format);
    if (f !== 'gzip' && f !== 'zstd') throw new ImgError('USAGE', `invalid --dest-compress-format ${JSON.stringify(f)}: gzip or zstd`);
    out.compressFormat = f;
  }
  const level = flags['dest-compress-level'];
  if (level !== undefined) {
    const s = String(level);
    const range = LEVELS[out.compressFormat ?? 'gzip'];
    if (!/^-?[0-9]+$/.test(s) || Number(s) < range.min || Number(s) > range.max) {
      throw new ImgError('USAGE', `invalid --dest-compress-level ${JSON.stringify(s)}: ${out.compressFormat ?? 'gzip'} takes ${range.min} to ${range.max}`);
    }
    out.compressLevel = Number(s);
  }
  if (on('dest-precompute-digests')) out.precomputeDigests = true;
  if (on('dest-force-compress-format')) {
    // containers/image's words (copy.Options.ForceCompressionFormat), then what to do
    if (out.compressFormat === undefined)
      throw new ImgError(
        'USAGE',
        'cannot use ForceCompressionFormat with undefined default compression format: --dest-force-compress-format needs --dest-compress-format',
      );
    if (out.acceptUncompressed)
      throw new ImgError(
        'USAGE',
        '--dest-force-compress-format and --dest-oci-accept-uncompressed-layers exclude each other: one compresses every layer, the other keeps uncompressed ones',
      );
    out.forceFormat = true;
  }
  if (out.decompress && (out.compressFormat !== undefined || out.compressLevel !== undefined)) {
    throw new ImgError(
      'USAGE',
      `--dest-decompress stores layers uncompressed: --dest-compress-${out.compressFormat !== undefined ? 'format' : 'level'} does not go with it`,
    );
  }
  if (flags['preserve-digests'] === true) {
    const given = ['dest-compress', 'dest-decompress', 'dest-compress-format', 'dest-compress-level', 'dest-force-compress-format'].find(
      (f) => flags[f] !== undefined && flags[f] !== false,
    );
    if (given !== undefined) throw new ImgError('USAGE', `--${given} changes layer digests, which --preserve-digests forbids`);
  }
  return out;
}

/** LAYER_HELP: the layer compression flags, as img-blob-put, img-copy and img-sync take them. */
export const LAYER_HELP = `layer compression (as skopeo copy and sync): an uncompressed layer (docker-daemon:, docker-archive:,
a store's layers, a SIF's) is gzip-compressed on its way into docker://, oci: or oci-archive:, and into oci:
any uncompressed layer (of a layout or a dir: too), digested as it uploads, and the manifest names it as
stored (the config's diff IDs stay); dir: keeps layers as they come; archives and engines take none of
these flags
  --dest-compress              compress uncompressed layers at any destination (dir: too)
  --dest-decompress            store layers uncompressed (…diff.tar, …layer.v1.tar)
  --dest-compress-format gzip|zstd   the compression to use; zstd also recompresses gzip layers and
                               makes a Docker manifest OCI (Docker schema 2 has no zstd layer type)
  --dest-compress-level N      gzip 0-9 (default 6), zstd 1-22 (default 3)
  --dest-force-compress-format   with --dest-compress-format: every layer is stored in that format, at
                               any destination (dir: too), and img-sync copies images the destination
                               has (their layers may be in another)
  --dest-precompute-digests    a layer compressed (or decompressed) on the way is first written to a
                               temp file in $TMPDIR and digested, then not uploaded where DEST has it
                               (or mounted from another repository); other blobs' digests are known
                               already, and nothing changes for them
  --dest-oci-accept-uncompressed-layers   keep uncompressed layers uncompressed: oci: (which otherwise
                               compresses every uncompressed layer, as skopeo's), and docker:// for
                               those it would compress; not with --dest-compress
  (--preserve-digests refuses all of these but the last, and any copy that would change a layer that
  its media type misnames; an uncompressed oci: layer then stays as it is, as in skopeo)`;

/** layerArgs writes layer options back as flags, for the stages img-copy and img-sync run. */
export function layerArgs(opts: LayerOptions): string[] {
  return [
    ...(opts.compress ? ['--dest-compress'] : []),
    ...(opts.decompress ? ['--dest-decompress'] : []),
    ...(opts.acceptUncompressed ? ['--dest-oci-accept-uncompressed-layers'] : []),
    ...(opts.forceFormat ? ['--dest-force-compress-format'] : []),
    ...(opts.precomputeDigests ? ['--dest-precompute-digests'] : []),
    ...(opts.compressFormat !== undefined ? [`--dest-compress-format=${opts.compressFormat}`] : []),
    ...(opts.compressLevel !== undefined ? [`--dest-compress-level=${opts.compressLevel}`] : []),
  ];
}
