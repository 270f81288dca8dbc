import { ImgError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediatype.js';
import type { StoredManifest } from '../types.js';

/** One image of manifest.json, as `docker save` and skopeo write it. */
export interface DockerManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** How a layer file is compressed: layers are served uncompressed, as skopeo does; gzip is told by its magic bytes. */
export type Compression = 'none' | 'gzip';

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

/** compressionOf tells gzip from an uncompressed tar by magic bytes; other compressions are refused. */
export function compressionOf(magic: Buffer, entry: string, archive: string): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
  const unsupported = (kind: string) => new ImgError('UNSUPPORTED', `archive ${archive}: layer entry ${JSON.stringify(entry)} is ${kind}-compressed, which imgpipe cannot decompress (gzip and uncompressed layers are read)`);
  if (magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) throw unsupported('zstd');
  if (magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw unsupported('xz');
  if (magic.subarray(0, 3).toString('latin1') === 'BZh') throw unsupported('bzip2');
  return 'none';
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
