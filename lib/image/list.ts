import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { ImgError } from '../errors.js';
import { formatRef, type ImageRef } from '../ref/index.js';
import { openTransport } from '../transport/index.js';
import { OciLayoutTransport, REF_NAME_ANNOTATION } from '../transport/oci-layout/index.js';

/** The most directories walked when looking for dir: images, so a wrong path cannot walk a whole disk. */
const MAX_WALK = 100_000;

/**
 * listLocalImages lists the images a local source holds, as skopeo sync finds them: every named
 * image of an oci: layout (oci:PATH:NAME; unnamed entries are left out, as skopeo leaves them
 * out: they have no name to sync under), and every directory below a dir: path that holds a
 * manifest.json (dir:PATH/SUB), in byte order of names as Go's filepath.WalkDir walks.
 */
export async function listLocalImages(ref: ImageRef): Promise<string[]> {
  if (ref.transport === 'oci') {
    const t = openTransport({ transport: 'oci', path: ref.path }) as OciLayoutTransport;
    const index = await t.readIndex();
    const out: string[] = [];
    for (const d of index.manifests) {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      if (name) out.push(formatRef({ transport: 'oci', path: ref.path, name }));
    }
    return out;
  }
  if (ref.transport === 'dir') {
    const out: string[] = [];
    let walked = 0;
    const walk = async (dir: string): Promise<void> => {
      if (++walked > MAX_WALK) throw new ImgError('TOO_LARGE', `dir:${ref.path}: more than ${MAX_WALK} directories below it`);
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        throw new ImgError('IO', `reading ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
      }
      if (entries.some((e) => e.isFile() && e.name === 'manifest.json')) {
        const rel = relative(ref.path, dir);
        out.push(formatRef({ transport: 'dir', path: rel === '' ? ref.path : join(ref.path, rel) }));
        return;
      }
      for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) await walk(join(dir, e.name));
    };
    await walk(ref.path);
    return out;
  }
  throw new ImgError('UNSUPPORTED', `cannot list the images of ${formatRef(ref)}: only docker://, dir: and oci: sources can be listed`);
}
