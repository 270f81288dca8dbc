import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type tar from 'tar-stream';
import { ImgError, toImgError } from '../../errors.js';
import { openOutput, removeStaleTemps, type Output } from '../../util/fs.js';

/** Every entry is written with this time, so that the same images give the same archive bytes. */
const EPOCH = new Date(0);

/** Where a TarSink writes: an output path (openOutput), or any stream with its own commit and abort (an engine's load request). */
export type SinkOutput = Pick<Output, 'stream' | 'commit' | 'abort'>;

/**
 * TarSink writes one tar archive in one pass with tar-stream, to PATH opened by openOutput
 * (lib/util/fs.ts). A regular destination (or a new one, or the regular target of a symlink) is
 * written to a temp file beside it, fsynced and renamed over it by finish(): until then nothing is
 * there, and abort() (or a failed write, or process exit) removes the temp file. /dev/stdout, a
 * FIFO, a device or a socket is written as it goes; an abort there leaves the reader a tar without
 * its end blocks.
 */
export class TarSink {
  private readonly pump: Promise<void>;
  private failed?: ImgError;
  private done = false;

  private constructor(
    /** The destination path as given, for messages. */
    readonly archive: string,
    private readonly output: SinkOutput,
    private readonly pack: tar.Pack,
  ) {
    const out: Writable = output.stream;
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
    const output = await openOutput(path);
    if (output.plan.how === 'replace') await removeStaleTemps(dirname(output.plan.target));
    return new TarSink(path, output, pack);
  }

  /** onStream writes the archive to `output` (commit at finish, abort on failure); `archive` names it in messages. */
  static async onStream(archive: string, output: SinkOutput): Promise<TarSink> {
    const pack = (await import('tar-stream')).default.pack();
    return new TarSink(archive, output, pack);
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

  /** finish writes the end-of-archive blocks and commits the output (for a file: fsync, then rename over PATH). */
  async finish(): Promise<void> {
    this.check();
    this.pack.finalize();
    try {
      await this.pump;
      this.check();
      await this.output.commit();
      this.done = true;
    } catch (e) {
      const err = this.failed ?? toImgError(e);
      await this.abort(err);
      throw err;
    }
  }

  /** abort stops writing; for a file the temp file is removed and nothing appears at PATH. */
  async abort(err?: ImgError): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (err && !this.failed) this.failed = err;
    this.pack.destroy();
    await this.output.abort();
  }
}
