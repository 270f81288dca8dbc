import { ImgError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediatype.js';
import { sniffCompression, type Compression } from '../../oci/compression.js';
import type { StoredManifest } from '../types.js';

/** One image of manifest.json, as `docker save` and skopeo write it. */
export interface DockerManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** How a layer file is compressed: layers are served uncompressed, as skopeo does; gzip and zstd are told by their magic bytes. */
export type { Compression } from '../../oci/compression.js';

/** diffIDsOf reads rootfs.diff_ids from an image config. */
export function diffIDsOf(bytes: Buffer, what: string): string[] {
  let doc: { rootfs?: { diff_ids?: unknown } };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `${what} is not JSON: ${(e as Error).message}`);
  }
  const ids = doc?.rootfs?.diff_ids ?? [];
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d))) {
    throw new ImgError('MANIFEST_INVALID', `${what} has an invalid rootfs.diff_ids`);
  }
  return ids as string[];
}

/** compressionOf tells gzip and zstd from an uncompressed tar by magic bytes; other compressions are refused. */
export function compressionOf(magic: Buffer, entry: string, archive: string): Compression {
  return sniffCompression(magic, `archive ${archive}: layer entry ${JSON.stringify(entry)}`);
}

/**
 * synthesisedManifest is the manifest a docker archive serves for an image, as containers/image's
 * docker/internal/tarfile Source builds it: keys in Go struct order, every layer typed
 * …rootfs.diff.tar.gzip (whatever its compression), named by its diff ID and sized uncompressed.
 */
export function synthesisedManifest(config: { digest: string; size: number }, layers: { diffID: string; size: number }[]): StoredManifest {
  const m = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: MediaType.dockerLayerGzip, size: l.size, digest: l.diffID })),
  };
  const bytes = Buffer.from(JSON.stringify(m), 'utf8');
  return { bytes, mediaType: MediaType.dockerManifest, digest: digestOf(bytes) };
}
