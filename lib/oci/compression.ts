import { ImgError } from '../errors.js';
import { MediaType } from './mediatype.js';

/**
 * How a layer's bytes are compressed, and the layer media types that say so (pure data). A layer
 * blob is a tar stream, uncompressed ('none'), gzip- or zstd-compressed; its digest is that of the
 * bytes as stored, its diff ID (in the config) that of the uncompressed tar.
 */
export type Compression = 'none' | 'gzip' | 'zstd';

/** The compressions a layer can be written with (--dest-compress-format). */
export type Compressor = Exclude<Compression, 'none'>;

const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';

/** The layer media types of each format, by compression (containers/image's compressionMIMETypeSets); Docker schema 2 has no zstd type. */
const LAYER_TYPES: { none: string; gzip: string; zstd?: string }[] = [
  { none: MediaType.ociLayer, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd },
  { none: DOCKER_LAYER, gzip: MediaType.dockerLayerGzip },
];

/** layerCompressionOf is the compression a layer media type names, or undefined for a type that is not a plain layer type (foreign layers, artifacts). */
export function layerCompressionOf(mediaType: string): Compression | undefined {
  for (const set of LAYER_TYPES) {
    for (const c of ['none', 'gzip', 'zstd'] as const) if (set[c] === mediaType) return c;
  }
  return undefined;
}

/**
 * layerMediaType is `mediaType` (a plain layer type) with its compression changed to `c`, in the same
 * format: …diff.tar.gzip → …diff.tar, …tar+gzip → …tar+zstd. A Docker schema 2 layer cannot be
 * zstd (UNSUPPORTED: the manifest must be OCI).
 */
export function layerMediaType(mediaType: string, c: Compression): string {
  const set = LAYER_TYPES.find((s) => Object.values(s).includes(mediaType));
  if (!set) throw new ImgError('UNSUPPORTED', `layer media type ${mediaType} has no ${c === 'none' ? 'uncompressed' : c} form`);
  const out = set[c];
  if (out === undefined)
    throw new ImgError('UNSUPPORTED', `a Docker schema 2 manifest cannot hold ${c} layers (${mediaType}): the manifest must be OCI (--format oci)`);
  return out;
}

/** sniffCompression tells a layer's compression by its first bytes (at least 6): gzip and zstd by their magic numbers, else uncompressed; xz and bzip2, which no layer type names, are refused. */
export function sniffCompression(head: Buffer, what: string): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  const unsupported = (kind: string) =>
    new ImgError('UNSUPPORTED', `${what} is ${kind}-compressed, which imgpipe cannot decompress (gzip, zstd and uncompressed layers are read)`);
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw unsupported('xz');
  if (head.subarray(0, 3).toString('latin1') === 'BZh') throw unsupported('bzip2');
  return 'none';
}

/** The compression levels each compressor takes (--dest-compress-level), and its default. */
export const LEVELS: Record<Compressor, { min: number; max: number; default: number }> = {
  // zlib's levels, as Go's compress/gzip (0 stores, 9 is best); skopeo's default is Go's, zlib's 6.
  gzip: { min: 0, max: 9, default: 6 },
  // zstd's regular levels; 3 is zstd's (and skopeo's) default.
  zstd: { min: 1, max: 22, default: 3 },
};
