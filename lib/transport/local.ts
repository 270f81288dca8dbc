import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { ImgError } from '../errors.js';
import { MAX_MANIFEST_SIZE, referencedBlobs, type ParsedManifest } from '../oci/manifest.js';
import { checked, DigestingStream } from '../stream/verify.js';
import { streamToFileAtomic } from '../util/fs.js';
import type { BlobInfo } from './types.js';
export { storedManifest } from './manifest.js';

/**
 * Helpers shared by the transports that keep images in local files (dir:, oci:). Their messages
 * name files and digests, not the image reference: callers wrap them ("fetching manifest REF: …").
 */

/**
 * regularFileSize is the size of the regular file at `path` (symlinks followed), or undefined when
 * nothing is there. Anything else there (a FIFO, a device such as /dev/zero, a socket, a directory)
 * is refused, saying what it is: reading it would block or never end, and it is not "not found".
 */
export async function regularFileSize(path: string, what: string): Promise<number | undefined> {
  let st: Stats;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  if (st.isFile()) return st.size;
  const kind = st.isFIFO()
    ? 'a FIFO (named pipe)'
    : st.isCharacterDevice()
      ? 'a character device'
      : st.isBlockDevice()
        ? 'a block device'
        : st.isSocket()
          ? 'a socket'
          : st.isDirectory()
            ? 'a directory'
            : 'not a file';
  const real = await fsp.realpath(path).catch(() => path);
  throw new ImgError('IO', `${what} at ${path}${real !== path ? ` (${real})` : ''} is ${kind}, not a regular file`);
}

/** readManifestFile reads a manifest file, refusing one over the manifest size cap before reading it. */
export async function readManifestFile(path: string): Promise<Buffer> {
  const size = await regularFileSize(path, 'the manifest');
  if (size === undefined) throw new ImgError('MANIFEST_UNKNOWN', `no manifest at ${path}`);
  if (size > MAX_MANIFEST_SIZE) throw new ImgError('TOO_LARGE', `manifest ${path} is ${size} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`);
  return fsp.readFile(path);
}

/** openVerifiedFile streams a file through a verifying stream; a missing file is BLOB_UNKNOWN. */
export async function openVerifiedFile(path: string, blob: { digest: string; size?: number }): Promise<Readable> {
  const size = await regularFileSize(path, `blob ${blob.digest}`);
  if (size === undefined) throw new ImgError('BLOB_UNKNOWN', `blob ${blob.digest} not found`);
  if (blob.size !== undefined && size !== blob.size) {
    throw new ImgError('SIZE_MISMATCH', `blob ${blob.digest} is ${size} bytes, expected ${blob.size}`);
  }
  const src = createReadStream(path);
  const check = new DigestingStream({ digest: blob.digest, size }, `blob ${blob.digest}`);
  src.on('error', (e) => check.destroy(e));
  return src.pipe(check);
}

/**
 * writeVerifiedBlob streams data into a temp file in tmpDir, checks it against `expected` and
 * renames it to pathOf(digest): nothing is visible under a digest before it is verified.
 */
export async function writeVerifiedBlob(
  data: Readable,
  expected: { digest?: string; size?: number },
  tmpDir: string,
  pathOf: (digest: string) => string,
): Promise<BlobInfo> {
  const check = checked(data, expected, expected.digest !== undefined ? `blob ${expected.digest}` : 'blob');
  await streamToFileAtomic(check, () => pathOf(check.digest!), tmpDir);
  return { digest: check.digest!, size: check.size };
}

/** missingBlobs lists the blobs an image manifest references that `has` says are absent. */
export async function missingBlobs(parsed: ParsedManifest, has: (digest: string) => Promise<boolean>): Promise<string[]> {
  const want = parsed.kind === 'image' ? referencedBlobs(parsed.manifest).map((d) => d.digest) : parsed.manifest.manifests.map((d) => d.digest);
  const missing: string[] = [];
  for (const d of new Set(want)) if (!(await has(d))) missing.push(d);
  return missing;
}

/** refuseMissing throws MANIFEST_BLOB_UNKNOWN naming what a manifest needs that is not stored. */
export async function refuseMissing(parsed: ParsedManifest, has: (digest: string) => Promise<boolean>): Promise<void> {
  const missing = await missingBlobs(parsed, has);
  if (missing.length > 0) {
    const kind = parsed.kind === 'index' ? 'child manifest' : 'blob';
    throw new ImgError(
      'MANIFEST_BLOB_UNKNOWN',
      `the manifest references ${kind}${missing.length > 1 ? 's' : ''} not stored there: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
    );
  }
}

/**
 * prepareImageDir makes sure `path` may receive an image: created when absent; when it holds
 * anything, `isImage` must say it is already an image of this kind, else NOT_IMAGE_DIR and nothing
 * is touched. Callers MUST then write their marker file (version, oci-layout) before anything
 * else, so that a concurrent writer never sees a half-made image as a foreign directory.
 */
export async function prepareImageDir(path: string, isImage: () => Promise<boolean>, kind: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await fsp.mkdir(path, { recursive: true });
      return;
    }
    if (code === 'ENOTDIR') throw new ImgError('NOT_IMAGE_DIR', `${path} exists and is not a directory`);
    throw e;
  }
  // Our own temp and lock files do not count: another imgpipe process may be creating the image.
  if (entries.some((e) => !e.startsWith('.imgpipe-')) && !(await isImage())) {
    throw new ImgError('NOT_IMAGE_DIR', `refusing to write into ${path}: it is not empty and is not ${kind}`);
  }
}
