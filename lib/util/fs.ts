import { randomBytes } from 'node:crypto';
import { close, constants, createWriteStream, fsync, lstatSync, open, readlinkSync, realpathSync, rmSync, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { ImgError, toImgError } from '../errors.js';

/** Temporary files are named so that a later run can tell whose they are and clean up after a kill. */
const TEMP_PREFIX = '.imgpipe-tmp-';

export function tempPathIn(dir: string, hint: string): string {
  return join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-${basename(hint)}`);
}

const exitRemovals = new Set<string>();
const exitCalls = new Set<() => void>();
let exitHooked = false;

function removeAll(): void {
  for (const f of exitCalls) {
    try {
      f();
    } catch {
      /* the others still run */
    }
  }
  exitCalls.clear();
  for (const p of exitRemovals) rmSync(p, { recursive: true, force: true });
  exitRemovals.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', removeAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      removeAll();
      process.kill(process.pid, sig);
    });
  }
}

/**
 * runAtExit runs `f` (synchronous: no awaiting at exit) when the process exits, also on SIGINT,
 * SIGTERM and SIGHUP, before the removals of removeAtExit: e.g. to signal a child process to stop.
 */
export function runAtExit(f: () => void): void {
  hookExit();
  exitCalls.add(f);
}

/**
 * removeAtExit removes `path` (a temp file or directory) when the process exits, also on SIGINT,
 * SIGTERM and SIGHUP (after which the process dies of the signal as it would have), unless
 * forgetAtExit(path) is called first.
 */
export function removeAtExit(path: string): void {
  hookExit();
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

/**
 * How an output path a user named is written. Only a regular file (or nothing yet) is replaced by
 * renaming a temp file over it; renaming over anything else would destroy it (`-o /dev/null` run as
 * root would leave a regular file where the device was).
 *
 * - `replace`: `target` is a regular file or does not exist. It is written to a temp file in its
 *   directory, fsynced and renamed over it. A symlink is never replaced: `target` is where the
 *   chain of links ends, so the link stays and its target gets the new bytes.
 * - `fd`: one of this process's own descriptors (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`), written as it is.
 * - `open`: a device, a FIFO, another process's `/proc/PID/fd/N`: opened for writing (no create,
 *   no rename) and written as it goes, as skopeo does.
 * - `socket`: a Unix socket: connected to and written as it goes.
 */
export type OutputPlan = { how: 'replace'; target: string } | { how: 'fd'; fd: number } | { how: 'open'; target: string } | { how: 'socket'; target: string };

/** The fd directory of a process (or thread) in /proc, as realpath gives it. */
const FD_DIR = /^\/proc\/(self|thread-self|\d+)(?:\/task\/\d+)?\/fd$/;
/** As many links as the kernel follows before ELOOP. */
const MAX_LINKS = 40;

/** outputError is a one-line error naming the path as the user gave it: `cannot write PATH: permission denied`. */
function outputError(path: string, e: unknown): ImgError {
  const sys = e as NodeJS.ErrnoException;
  if (!(sys && typeof sys.code === 'string' && sys.syscall)) return toImgError(e);
  const err = toImgError(Object.assign(sys, { path }));
  const prefix = `${sys.syscall} ${path}: `;
  return err.message.startsWith(prefix) ? new ImgError(err.code, `cannot write ${path}: ${err.message.slice(prefix.length)}`, { cause: e }) : err;
}

/**
 * outputPlan decides how `path` is written (see OutputPlan), following symlinks one at a time.
 * A directory is refused.
 */
export function outputPlan(path: string): OutputPlan {
  if (path === '') throw new ImgError('USAGE', 'the output path is empty');
  let p = path;
  for (let links = 0; ; links++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !p.endsWith('/')) {
        // An fd that is not open shows as a missing entry in /proc/self/fd.
        if (/^\/(proc|dev)\//.test(p) && FD_DIR.test(realDir(p) ?? ''))
          throw new ImgError('IO', `cannot write ${path}: file descriptor ${basename(p)} is not open`);
        return { how: 'replace', target: p };
      }
      throw outputError(path, e);
    }
    if (st.isSymbolicLink()) {
      const dir = realDir(p);
      if (dir === undefined) throw new ImgError('IO', `cannot write ${path}: cannot resolve the directory of ${p}`);
      const m = FD_DIR.exec(dir);
      if (m && /^\d+$/.test(basename(p))) {
        // An eventfd or epoll descriptor of the runtime, not one the caller handed over.
        if (readlinkSync(p).startsWith('anon_inode:'))
          throw new ImgError('IO', `cannot write ${path}: file descriptor ${basename(p)} is not a file, pipe or socket`);
        const own = m[1] === 'self' || m[1] === 'thread-self' || Number(m[1]) === process.pid;
        return own ? { how: 'fd', fd: Number(basename(p)) } : { how: 'open', target: p };
      }
      if (links >= MAX_LINKS) throw new ImgError('IO', `cannot write ${path}: too many levels of symbolic links`);
      const to = readlinkSync(p);
      // Not path.resolve: '..' after a symlinked directory must be resolved by the kernel, not by string.
      p = isAbsolute(to) ? to : `${dir === '/' ? '' : dir}/${to}`;
      continue;
    }
    if (st.isDirectory()) throw new ImgError('IO', `cannot write ${path}: it is a directory`);
    if (st.isFile()) return { how: 'replace', target: p };
    if (st.isSocket()) return { how: 'socket', target: p };
    return { how: 'open', target: p }; // character or block device, FIFO
  }
}

/** realDir is the real path of p's directory, or undefined when it cannot be resolved. */
function realDir(p: string): string | undefined {
  try {
    return realpathSync.native(dirname(p));
  } catch {
    return undefined;
  }
}

/** isStdout says whether writing to `path` writes to this process's stdout. */
export function isStdout(path: string): boolean {
  try {
    const plan = outputPlan(path);
    return plan.how === 'fd' && plan.fd === 1;
  } catch {
    return false;
  }
}

/**
 * Output is an output path opened for writing: write to `stream`, then commit() (for a replaced
 * file: fsync, rename over the target, fsync the directory) or abort() (for a replaced file: the temp
 * file is removed and the target is untouched; elsewhere the bytes already written stay written).
 */
export interface Output {
  /** The path as given, for messages. */
  readonly path: string;
  readonly plan: OutputPlan;
  readonly stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const openP = promisify(open) as (path: string, flags: string | number, mode?: number) => Promise<number>;
const closeP = promisify(close);
const fsyncP = promisify(fsync);

/** openOutput opens a user-named output path for writing, the way outputPlan says. */
export async function openOutput(path: string, mode = 0o644): Promise<Output> {
  const plan = outputPlan(path);
  let settled = false;
  const once = (fn: () => Promise<void>) => async () => {
    if (settled) return;
    settled = true;
    try {
      await fn();
    } catch (e) {
      throw outputError(path, e);
    }
  };
  switch (plan.how) {
    case 'replace': {
      const dir = dirname(plan.target);
      const tmp = tempPathIn(dir, plan.target);
      let fd: number;
      // Registered before the open: a process that dies while the open is under way leaves no temp file.
      removeAtExit(tmp);
      try {
        fd = await openP(tmp, 'wx', mode);
      } catch (e) {
        forgetAtExit(tmp);
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImgError('IO', `cannot write ${path}: directory ${dir} does not exist`);
        throw outputError(path, e);
      }
      // autoClose off: the descriptor is fsynced before it is closed.
      const stream = quiet(createWriteStream('', { fd, autoClose: false }));
      const drop = async () => {
        stream.destroy();
        await closeP(fd).catch(() => undefined);
        await fsp.rm(tmp, { force: true });
        forgetAtExit(tmp);
      };
      return {
        path,
        plan,
        stream,
        abort: once(drop),
        commit: once(async () => {
          try {
            await endStream(stream);
            await fsyncP(fd);
            await closeP(fd);
            await fsp.rename(tmp, plan.target);
          } catch (e) {
            await drop();
            throw outputError(path, e);
          }
          forgetAtExit(tmp);
          await fsyncDir(dir);
        }),
      };
    }
    case 'open': {
      // No O_CREAT: if the node went away meanwhile, fail rather than make a file that is not atomic.
      const fd = await openP(plan.target, constants.O_WRONLY | constants.O_TRUNC).catch((e) => Promise.reject(outputError(path, e)));
      const stream = quiet(createWriteStream('', { fd, autoClose: false }));
      return {
        path,
        plan,
        stream,
        abort: once(async () => {
          stream.destroy();
          await closeP(fd).catch(() => undefined);
        }),
        commit: once(async () => {
          try {
            await endStream(stream);
          } finally {
            await closeP(fd).catch(() => undefined);
          }
        }),
      };
    }
    case 'socket': {
      const { createConnection } = await import('node:net');
      const sock = createConnection({ path: plan.target });
      await new Promise<void>((res, rej) => {
        sock.once('connect', res);
        sock.once('error', (e) => rej(outputError(path, e)));
      });
      quiet(sock);
      return {
        path,
        plan,
        stream: sock,
        abort: once(async () => void sock.destroy()),
        commit: once(async () => {
          try {
            await endStream(sock);
          } finally {
            sock.destroy();
          }
        }),
      };
    }
    case 'fd': {
      // Our own stdout and stderr are shared with the rest of the process: flushed, never ended.
      const shared = plan.fd === 1 ? process.stdout : plan.fd === 2 ? process.stderr : undefined;
      const stream = shared ?? quiet(createWriteStream('', { fd: plan.fd, autoClose: false }));
      return {
        path,
        plan,
        stream,
        abort: once(async () => {
          if (!shared) stream.destroy();
        }),
        commit: once(async () => {
          if (shared) await new Promise<void>((res, rej) => shared.write('', (e) => (e ? rej(e) : res())));
          else await endStream(stream);
        }),
      };
    }
  }
}

/** quiet keeps a late write error from being thrown as uncaught: it is kept in `errored` and reported by the next write or commit. */
function quiet<W extends Writable>(w: W): W {
  w.on('error', () => undefined);
  return w;
}

/** endStream ends a writable and waits until everything written has been handed on (or the stream failed). */
async function endStream(w: Writable): Promise<void> {
  if (w.errored) throw w.errored;
  w.end();
  await finished(w, { readable: false });
}

/** writeOutput writes data (bytes or a stream of them) to out.stream and commits it; any failure, of the input or of the output, aborts it. */
export async function writeOutput(out: Output, data: Uint8Array | string | AsyncIterable<Uint8Array | string>): Promise<void> {
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await writeChunk(out, data);
    else for await (const chunk of data) await writeChunk(out, chunk);
  } catch (e) {
    await out.abort();
    throw e;
  }
  await out.commit();
}

/** writeChunk writes one chunk, waiting for 'drain' when the stream asks; a write error names the output path. */
async function writeChunk(out: Output, chunk: Uint8Array | string): Promise<void> {
  const w = out.stream;
  try {
    if (w.errored) throw w.errored;
    if (w.write(chunk)) return;
    await new Promise<void>((res, rej) => {
      const onErr = (e: Error) => {
        w.off('drain', onDrain);
        rej(e);
      };
      const onDrain = () => {
        w.off('error', onErr);
        res();
      };
      w.once('error', onErr);
      w.once('drain', onDrain);
    });
  } catch (e) {
    throw outputError(out.path, e);
  }
}

/**
 * writeFileAtomic writes data to `path` as openOutput does: a regular file (or a new one) is written
 * to a temp file beside it, fsynced and renamed into place, so a reader sees the old bytes or the new
 * ones; a symlink is followed and its target written the same way; a device, a FIFO, a socket or an
 * open descriptor is written directly; a directory is refused.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await writeOutput(await openOutput(path, mode), data);
}

/** streamToOutput writes a stream to a user-named path as openOutput does; a stream that fails leaves a regular file untouched. */
export async function streamToOutput(input: AsyncIterable<Uint8Array | string>, path: string, mode = 0o644): Promise<void> {
  await writeOutput(await openOutput(path, mode), input);
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
  // A signal (SIGTERM, SIGINT, SIGHUP) mid-write removes the temp file too.
  removeAtExit(tmp);
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
  } finally {
    forgetAtExit(tmp);
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
