import { promises as fsp } from 'node:fs';
import { ImgError } from '../errors.js';
import { isAlive } from './fs.js';

/** A lock file still empty after this long belongs to a process killed between creating and writing it. */
const EMPTY_LOCK_MS = 10_000;

/**
 * withLock runs fn while holding an exclusive lock file at `path` (created with O_EXCL, holding
 * the owner's pid). A lock whose owner is dead is taken over; a live one is waited for up to
 * `timeoutMs`, then LOCKED is thrown.
 *
 * Taking over is safe against several takers at once: a taker first hard-links the dead lock to
 * `path.reap-PID` (a link fails when that name exists, so one taker wins), then removes the lock
 * only if the link still names the same file and it holds the dead pid. Only the owner or the
 * holder of that link ever removes a lock file, so a lock taken meanwhile by a live process is
 * never removed by a late taker.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const fh = await fsp.open(path, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await lockOwner(path);
    if (owner?.dead && (await reap(path, owner.pid))) continue;
    if (Date.now() > deadline) throw new ImgError('LOCKED', `${path} is locked by process ${owner?.pid || '(unknown)'}`);
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 200);
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(path, { force: true });
  }
}

/** lockOwner reads the pid in the lock at `path` (0 while it is empty) and whether that process is gone; undefined when there is no lock. */
async function lockOwner(path: string): Promise<{ pid: number; dead: boolean } | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = (await fsp.readFile(path, 'utf8')).trim();
    mtimeMs = (await fsp.stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
  if (text === '') return { pid: 0, dead: Date.now() - mtimeMs > EMPTY_LOCK_MS };
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? { pid, dead: !isAlive(pid) } : { pid: 0, dead: false };
}

/** reap removes the lock at `path` if it is still the one of dead process `pid`; true when it did (or it was gone). */
async function reap(path: string, pid: number): Promise<boolean> {
  const marker = `${path}.reap-${pid}`;
  try {
    await fsp.link(path, marker);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'EEXIST') throw e;
    // Another taker holds the marker. One left by a taker killed midway is stale: its lock is gone or
    // replaced, or (linking sets the ctime) it was made long ago.
    const [m, l] = await Promise.all([fsp.stat(marker).catch(() => undefined), fsp.stat(path).catch(() => undefined)]);
    if (m && (!l || l.ino !== m.ino || Date.now() - m.ctimeMs > EMPTY_LOCK_MS)) await fsp.rm(marker, { force: true });
    return false;
  }
  try {
    const [m, l] = await Promise.all([fsp.stat(marker), fsp.stat(path).catch(() => undefined)]);
    const text = (await fsp.readFile(marker, 'utf8')).trim();
    const same = l !== undefined && l.ino === m.ino && l.dev === m.dev;
    if (!same) return true;
    if ((text === '' && pid === 0) || Number(text) === pid) {
      await fsp.rm(path, { force: true });
      return true;
    }
    return false;
  } finally {
    await fsp.rm(marker, { force: true });
  }
}
