import { promises as fsp } from 'node:fs';
import { ImgError } from '../errors.js';
import { isAlive } from './fs.js';

/**
 * withLock runs fn while holding an exclusive lock file at `path` (created with O_EXCL, holding
 * the owner's pid). A lock whose owner is dead is taken over; a live one is waited for up to
 * `timeoutMs`, then LOCKED is thrown.
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
    const owner = Number((await fsp.readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      await fsp.rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new ImgError('LOCKED', `${path} is locked by process ${owner || '(unknown)'}`);
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 200);
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(path, { force: true });
  }
}
