import { ImgError } from '../errors.js';
import { ociConfigFromDocker, type Format } from '../oci/convert.js';
import { digestOf } from '../oci/digest.js';
import type { Descriptor, ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/mediatype.js';
import { MAX_CONFIG_SIZE, readSourceBlob } from '../transport/index.js';
import { isSingleFormat } from '../transport/capabilities.js';
import { zstdLayers, type LayerOptions } from './layers.js';
import type { Transport } from '../transport/types.js';

/**
 * What img-blob-put and img-manifest put both need to know about a conversion, so that the blobs
 * moved are exactly the ones the written manifest references.
 */

export interface ConversionOptions extends LayerOptions {
  /** --format: convert every manifest to this format. */
  format?: Format;
  /** --preserve-digests: convert nothing a destination would convert on its own. */
  preserveDigests?: boolean;
}

/** parseFormat reads a --format flag: oci, v2s2 or not given. */
export function parseFormat(v: unknown): Format | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (s !== 'oci' && s !== 'v2s2') throw new ImgError('USAGE', `invalid --format ${JSON.stringify(s)}: oci or v2s2`);
  return s;
}

/**
 * formatAt is the format a manifest of format `from` is written in at `dest`: --format where given;
 * else the one format the destination holds (oci: and oci-archive: convert Docker manifests to OCI,
 * as skopeo 1.9 does) unless --preserve-digests keeps the manifest as it is; else OCI where its
 * layers are written zstd-compressed, which only OCI can name (skopeo 1.9 falls back to OCI for a
 * registry; it fails for dir:, which imgpipe converts too); else `from`.
 */
export function formatAt(from: Format, dest: Transport, opts: ConversionOptions, layers?: Descriptor[]): Format {
  const zstd = zstdLayers(dest, opts, layers);
  if (opts.format === 'v2s2' && zstd)
    throw new ImgError('USAGE', '--format v2s2 cannot name zstd layers (--dest-compress-format zstd): Docker schema 2 has no zstd layer type');
  if (opts.format) return opts.format;
  if (zstd && !opts.preserveDigests) return 'oci';
  if (!opts.preserveDigests && isSingleFormat(dest)) return dest.manifestFormat;
  return from;
}

/**
 * replacesConfig says whether converting image manifest `m` to `to` replaces its config blob: a
 * Docker config becomes an OCI config with a new digest (skopeo rewrites it). OCI → Docker keeps the
 * config blob; only the media type in the manifest changes.
 */
export function replacesConfig(m: ImageManifest, to: Format): boolean {
  return to === 'oci' && m.config.mediaType === MediaType.dockerConfig;
}

/** convertedConfig reads the Docker config of `m` from `src` and rewrites it as the OCI config the conversion references. */
export async function convertedConfig(src: Transport, m: ImageManifest, what: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const bytes = ociConfigFromDocker(await readSourceBlob(src, m.config, MAX_CONFIG_SIZE, 'config'), `config of ${what}`);
  return { descriptor: { mediaType: MediaType.ociConfig, digest: digestOf(bytes), size: bytes.length }, bytes };
}
