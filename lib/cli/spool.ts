import { createReadStream, createWriteStream, rmSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { ImgError, toImgError } from '../errors.js';
import { openTransport } from '../transport/index.js';
import { readsInPlace } from '../transport/capabilities.js';
import { forgetAtExit, removeAtExit, tempPathIn } from '../util/fs.js';

/**
 * spoolArchive makes an archive source readable by several processes: archives are read in place,
 * by offset (ReadInPlace), so an oci-archive: or docker-archive: reference whose path is a pipe, a device or one
 * of our own descriptors (/dev/stdin, a FIFO) is first copied into a temp file in os.tmpdir(),
 * removed when this process exits (also on error or SIGINT/SIGTERM/SIGHUP). Returns the reference
 * to use, which is `ref` itself for a regular file or any other transport.
 */
export async function spoolArchive(refString: string): Promise<string> {
  const t = openTransport(refString);
  if (!readsInPlace(t)) return refString;
  const path = t.archivePath;
  const own = /^\/(?:dev\/(?:stdin|fd\/\d+)|proc\/self\/fd\/\d+)$/.test(path);
  const st = await fsp.stat(path).catch(() => undefined);
  if (st === undefined || (st.isFile() && !own)) return refString;
  const tmp = tempPathIn(tmpdir(), 'spool-archive.tar');
  removeAtExit(tmp);
  try {
    await pipeline(createReadStream(path), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    rmSync(tmp, { force: true });
    forgetAtExit(tmp);
    throw new ImgError('IO', `reading archive ${path}: ${toImgError(e).message}`);
  }
  return t.readingAt(tmp);
}
