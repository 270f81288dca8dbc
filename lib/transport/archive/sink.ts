import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type tar from 'tar-stream';
import { ImgError, toImgError } from '../../errors.js';
import { closeFd, fdWriteStream, fsyncFd, openFd } from './fd.js';
import { forgetAtExit, fsyncDir, removeAtExit, removeStaleTemps, tempPathIn } from '../../util/fs.js';

/** Every entry is written with this time, so that the same images give the same archive bytes. */
const EPOCH = new Date(0);
const STDOUT_PATHS = new Set(['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/**
 * TarSink writes one tar archive in one pass with tar-stream. A regular destination is written to a
 * temp file beside PATH, fsynced and renamed over PATH by finish(): until then nothing is at PATH,
 * and abort() (or a failed write, or process exit) removes the temp file. /dev/stdout, a FIFO or a
 * device is written as it goes; an abort there leaves the reader a tar without its end blocks.
 */
export class TarSink {
  private readonly pump: Promise<void>;
  private failed?: ImgError;
  private done = false;

  private constructor(
    /** The destination path as given, for messages. */
    readonly archive: string,
    private readonly out: Writable,
    private readonly pack: tar.Pack,
    private readonly temp?: { path: string; fd: number; final: string },
  ) {
    this.pump = (async () => {
      for await (const chunk of this.pack) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
    })();
    // A failed output (EPIPE, ENOSPC) stops the pack; the error comes out of the next call.
    this.pump.catch((e) => this.fail(e));
    out.on('error', (e) => this.fail(e));
  }

  /** open starts writing the archive at `path`. */
  static async open(path: string): Promise<TarSink> {
    // Loaded only here: commands that write no archive do not pay for tar-stream at start-up.
    const pack = (await import('tar-stream')).default.pack();
    if (STDOUT_PATHS.has(path)) return new TarSink(path, process.stdout, pack);
    const st = await fsp.stat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st && st.isDirectory()) throw new ImgError('NOT_IMAGE_DIR', `cannot write archive ${path}: it is a directory`);
    if (st && !st.isFile()) {
      const ws: WriteStream = createWriteStream(path, { flags: 'w' });
      await once(ws, 'open');
      return new TarSink(path, ws, pack);
    }
    const dir = dirname(resolve(path));
    await removeStaleTemps(dir);
    const tmp = tempPathIn(dir, path);
    const fd = await openFd(tmp, 'wx', 0o644);
    removeAtExit(tmp);
    return new TarSink(path, fdWriteStream(fd), pack, { path: tmp, fd, final: path });
  }

  /** addBuffer writes a file entry holding `data`. */
  async addBuffer(name: string, data: Buffer | string, mode = 0o644): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.entry({ name, type: 'file', size: buf.length, mode, mtime: EPOCH, uid: 0, gid: 0 }, async (w) => {
      w.end(buf);
    });
  }

  /** addStream writes a file entry of `size` bytes from `src`; a stream that fails or is not `size` bytes long aborts the archive. */
  async addStream(name: string, size: number, src: Readable, mode = 0o644): Promise<void> {
    await this.entry({ name, type: 'file', size, mode, mtime: EPOCH, uid: 0, gid: 0 }, async (w) => {
      for await (const chunk of src) {
        if (!w.write(chunk)) await new Promise<void>((res) => w.once('drain', () => res()));
      }
      w.end();
    });
  }

  async addSymlink(name: string, target: string): Promise<void> {
    await this.entry({ name, type: 'symlink', linkname: target, mode: 0o777, mtime: EPOCH, uid: 0, gid: 0 }, async (w) => void w.end());
  }

  async addDir(name: string): Promise<void> {
    await this.entry({ name: name.endsWith('/') ? name : `${name}/`, type: 'directory', mode: 0o755, mtime: EPOCH, uid: 0, gid: 0 }, async (w) => void w.end());
  }

  private async entry(header: Partial<tar.Header> & { name: string }, write: (w: Writable) => Promise<void>): Promise<void> {
    this.check();
    try {
      await new Promise<void>((res, rej) => {
        const w = this.pack.entry(header, (err) => (err ? rej(err) : res()));
        // The error is reported through rej; the entry's own 'error' event must not go unhandled.
        w.on('error', () => undefined);
        write(w as unknown as Writable).catch((e) => {
          (w as unknown as Writable).destroy(e);
          rej(e);
        });
      });
    } catch (e) {
      const err = this.failed ?? toImgError(e);
      await this.abort(err);
      throw err;
    }
    this.check();
  }

  private check(): void {
    if (this.failed) throw this.failed;
    if (this.done) throw new ImgError('IO', `archive ${this.archive} is already finished`);
  }

  private fail(e: unknown): void {
    if (this.failed) return;
    const err = toImgError(e);
    this.failed = new ImgError(err.code, `writing archive ${this.archive}: ${err.message}`, { cause: e });
    void this.abort(this.failed);
  }

  /** finish writes the end-of-archive blocks and, for a file, fsyncs the temp file and renames it to PATH. */
  async finish(): Promise<void> {
    this.check();
    this.pack.finalize();
    try {
      await this.pump;
      this.check();
      if (this.temp) {
        // autoClose is off (the handle is fsynced below), so wait for 'finish', not 'close'.
        await new Promise<void>((res, rej) => {
          this.out.once('error', rej);
          this.out.end(() => res());
        });
        await fsyncFd(this.temp.fd);
        await closeFd(this.temp.fd);
        await fsp.rename(this.temp.path, this.temp.final);
        forgetAtExit(this.temp.path);
        await fsyncDir(dirname(resolve(this.temp.final)));
      } else if (this.out !== process.stdout) {
        this.out.end();
        await finished(this.out);
      }
      this.done = true;
    } catch (e) {
      const err = this.failed ?? toImgError(e);
      await this.abort(err);
      throw err;
    }
  }

  /** abort stops writing and removes the temp file: nothing appears at PATH. */
  async abort(err?: ImgError): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (err && !this.failed) this.failed = err;
    this.pack.destroy();
    if (this.temp) {
      this.out.destroy();
      await closeFd(this.temp.fd).catch(() => undefined);
      await fsp.rm(this.temp.path, { force: true });
      forgetAtExit(this.temp.path);
    } else if (this.out !== process.stdout) {
      this.out.destroy();
    }
  }
}

