import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../../oci/digest.js';

/**
 * Read-only access to a containers/storage store's files, for what the libpod API does not hand out:
 * the manifest bytes skopeo shows for an image (and the config bytes), and layers' uncompressed
 * sizes. Files are only ever opened for reading, never locked and never written: containers/storage
 * replaces them by rename (ioutils.AtomicWriteFile), so a read sees a whole old or a whole new file,
 * and every read is checked (a manifest and a config against their digests, a layer size against
 * its diff ID's record) so a file replaced meanwhile is noticed. Anything unreadable (another
 * user's store, a service in another mount namespace) gives undefined and the caller falls back to
 * what the API gives (a save of the image).
 */
export interface StoreLocation {
  graphRoot: string;
  runRoot?: string;
  driver: string;
}

const MAX_BIG_DATA = 16 * 1024 * 1024;
const MAX_LAYERS_JSON = 256 * 1024 * 1024;

/**
 * bigDataName is the file name containers/storage gives an image's big-data item `key`
 * (makeBigDataBaseName): the key itself when it is all of `.`, digits and lowercase letters, else
 * `=` and the key in standard base64.
 */
export function bigDataName(key: string): string {
  return /^[.0-9a-z]*$/.test(key) ? key : `=${Buffer.from(key, 'utf8').toString('base64')}`;
}

/** readBigData reads an image's big-data item, or undefined when it cannot be read; with `digest`, only bytes that have it. */
export async function readBigData(loc: StoreLocation, imageID: string, key: string, digest?: string): Promise<Buffer | undefined> {
  const path = join(loc.graphRoot, `${loc.driver}-images`, imageID, bigDataName(key));
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_BIG_DATA) return undefined;
    const bytes = await fh.readFile();
    if (digest !== undefined && digestOf(bytes, digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== digest) return undefined;
    return bytes;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** layerSizes reads the uncompressed size of every layer of the store (layers.json, and volatile-layers.json in the run root), by diff ID; undefined when unreadable. */
export async function layerSizes(loc: StoreLocation): Promise<Map<string, number> | undefined> {
  const files = [join(loc.graphRoot, `${loc.driver}-layers`, 'layers.json')];
  if (loc.runRoot) files.push(join(loc.runRoot, `${loc.driver}-layers`, 'volatile-layers.json'));
  const sizes = new Map<string, number>();
  let any = false;
  for (const f of files) {
    try {
      const st = await fsp.stat(f);
      if (!st.isFile() || st.size > MAX_LAYERS_JSON) continue;
      const doc = JSON.parse(await fsp.readFile(f, 'utf8')) as unknown;
      if (!Array.isArray(doc)) continue;
      any = true;
      for (const l of doc as { 'diff-digest'?: unknown; 'diff-size'?: unknown }[]) {
        if (typeof l?.['diff-digest'] === 'string' && typeof l['diff-size'] === 'number' && l['diff-size'] >= 0) sizes.set(l['diff-digest'], l['diff-size']);
      }
    } catch {
      /* unreadable: the caller asks the save */
    }
  }
  return any ? sizes : undefined;
}
