import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync, promises as fsp } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Temporary files are named so that a later run can tell whose they are and clean up after a kill. */
const TEMP_PREFIX = '.imgpipe-tmp-';

export function tempPathIn(dir: string, hint: string): string {
  return join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-${basename(hint)}`);
}

const exitRemovals = new Set<string>();
let exitHooked = false;

function removeAll(): void {
  for (const p of exitRemovals) rmSync(p, { recursive: true, force: true });
  exitRemovals.clear();
}

/**
 * removeAtExit removes `path` (a temp file or directory) when the process exits, also on SIGINT,
 * SIGTERM and SIGHUP (after which the process dies of the signal as it would have), unless
 * forgetAtExit(path) is called first.
 */
export function removeAtExit(path: string): void {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', removeAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        removeAll();
        process.kill(process.pid, sig);
      });
    }
  }
  exitRemovals.add(path);
}

/** forgetAtExit undoes removeAtExit for `path` (it was renamed into place, or removed already). */
export function forgetAtExit(path: string): void {
  exitRemovals.delete(path);
}

/** fsyncDir makes a rename in dir durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** writeFileAtomic writes data to a temp file beside `path`, fsyncs it and renames it into place. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPathIn(dir, path);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/**
 * streamToFileAtomic writes a stream to a temp file in `tmpDir`, fsyncs it and renames it to
 * finalPath (called only once the stream has ended, so it may depend on a digest computed on the
 * way) only if the stream ended without error: a verifying stream that fails at EOF leaves nothing
 * visible.
 */
export async function streamToFileAtomic(input: Readable, finalPath: string | (() => string), tmpDir: string): Promise<string> {
  const tmp = tempPathIn(tmpDir, 'blob');
  let path = '';
  try {
    await pipeline(input, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    path = typeof finalPath === 'string' ? finalPath : finalPath();
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(path));
  return path;
}

/** removeStaleTemps deletes temp files in dir left by processes that are no longer alive. */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) await fsp.rm(join(dir, name), { force: true });
  }
}

export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** fileSize is the size of a regular file, or undefined where there is none. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await fsp.stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}
