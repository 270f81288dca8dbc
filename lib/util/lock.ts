import { promises as fsp, readFileSync } from 'node:fs';
import { ImgError } from '../errors.js';
import { isAlive } from './fs.js';

/** A lock file still empty after this long belongs to a process killed between creating and writing it. */
const EMPTY_LOCK_MS = 10_000;

/**
 * withLock runs fn while holding an exclusive lock file at `path` (created with O_EXCL). The lock
 * names its owner: `PID START BOOT`, the pid, the process's start time (field 22 of /proc/PID/stat,
 * in clock ticks since boot) and the boot id (/proc/sys/kernel/random/boot_id). A lock whose owner is
 * gone is taken over: the pid is not alive, or it is alive but is another process (its start time
 * differs: the pid was reused), or the lock is from another boot. A lock of the older form, the pid
 * alone, is taken over when that pid is dead or its process started after the lock was written.
 * A live owner is waited for up to `timeoutMs`, then LOCKED is thrown.
 *
 * Taking over is safe against several takers at once: a taker first hard-links the stale lock to
 * `path.reap-PID` (a link fails when that name exists, so one taker wins), then removes the lock
 * only if the link still names the same file and it holds the same owner. Only the owner or the
 * holder of that link ever removes a lock file, so a lock taken meanwhile by a live process is
 * never removed by a late taker.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  const me = ownerLine(process.pid);
  for (;;) {
    try {
      const fh = await fsp.open(path, 'wx', 0o644);
      await fh.writeFile(me);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await lockOwner(path);
    if (owner?.dead && (await reap(path, owner.text))) continue;
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

/** ownerLine is what a lock of process `pid` holds: "PID START BOOT", or the pid alone where /proc cannot tell more. */
export function ownerLine(pid: number): string {
  const start = startTicks(pid);
  const boot = bootId();
  return start === undefined || boot === undefined ? String(pid) : `${pid} ${start} ${boot}`;
}

/** startTicks is field 22 of /proc/PID/stat (when the process started, in clock ticks since boot), or undefined. */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

let boot: string | undefined | null = null;
function bootId(): string | undefined {
  if (boot === null) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      boot = undefined;
    }
  }
  return boot;
}

/** startedAtMs is when process `pid` started, in ms since the epoch (btime of /proc/stat plus its start ticks; USER_HZ is 100), or undefined. */
function startedAtMs(pid: number): number | undefined {
  const ticks = startTicks(pid);
  if (ticks === undefined) return undefined;
  try {
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(btime) && btime > 0 ? btime * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Slack for the older lock form: the kernel's boot time is in whole seconds. */
const START_SLACK_MS = 2_000;

/**
 * lockOwner reads the lock at `path`: its text, the pid it names (0 while it is empty) and whether
 * that owner is gone (see withLock); undefined when there is no lock.
 */
async function lockOwner(path: string): Promise<{ pid: number; dead: boolean; text: string } | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = (await fsp.readFile(path, 'utf8')).trim();
    mtimeMs = (await fsp.stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
  if (text === '') return { pid: 0, dead: Date.now() - mtimeMs > EMPTY_LOCK_MS, text };
  const m = /^(\d+)(?: (\d+) (\S+))?$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(pid) || pid <= 0) return { pid: 0, dead: false, text };
  if (!isAlive(pid)) return { pid, dead: true, text };
  if (m[2] !== undefined) {
    // The lock says which process took it: another boot, or another process under the same pid, is not its owner.
    const boot = bootId();
    if (boot !== undefined && m[3] !== boot) return { pid, dead: true, text };
    const start = startTicks(pid);
    return { pid, dead: start !== undefined && start !== Number(m[2]), text };
  }
  // The pid alone: a process that started after the lock was written cannot have written it.
  const started = startedAtMs(pid);
  return { pid, dead: started !== undefined && started > mtimeMs + START_SLACK_MS, text };
}

/** reap removes the lock at `path` if it still holds `text` (a stale owner's); true when it did (or it was gone). */
async function reap(path: string, text: string): Promise<boolean> {
  const marker = `${path}.reap-${/^\d+/.exec(text)?.[0] ?? '0'}`;
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
    const held = (await fsp.readFile(marker, 'utf8')).trim();
    const same = l !== undefined && l.ino === m.ino && l.dev === m.dev;
    if (!same) return true;
    if (held === text) {
      await fsp.rm(path, { force: true });
      return true;
    }
    return false;
  } finally {
    await fsp.rm(marker, { force: true });
  }
}
