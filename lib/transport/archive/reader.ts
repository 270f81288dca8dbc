import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError } from '../../errors.js';
import { DigestingStream } from '../../stream/verify.js';
import { tempPathIn } from '../../util/fs.js';
import { peekHead } from '../../stream/compression.js';
import { scanTar, type TarEntry } from './tar.js';
import { decompressArchive, sniffArchive } from './decompress.js';
import { closeFd, fdReadStream, fdWriteStream, fstatFd, openFd, readFd } from './fd.js';

/** Size caps for the metadata files of an archive, checked against the tar header before reading. */
export const MAX_METADATA_SIZE = 4 * 1024 * 1024;
export const MAX_CONFIG_SIZE = 16 * 1024 * 1024;
const MAX_LINK_HOPS = 16;

/**
 * ArchiveReader serves the entries of a tar archive as byte ranges of one file, found through an
 * index built by one header-only scan. A path that is not a regular file (a pipe, /dev/stdin) is
 * first spooled to a temp file in os.tmpdir(), which is unlinked as soon as it is open, so nothing
 * is left behind even when the process is killed.
 */
export class ArchiveReader {
  private readonly entries = new Map<string, TarEntry>();

  private constructor(
    /** The archive path, as the user wrote it: for messages. */
    readonly archive: string,
    private readonly source: { path: string } | { fd: number },
    list: TarEntry[],
  ) {
    for (const e of list) this.entries.set(e.name, e);
  }

  /** open indexes the archive at `path`; readers are cached per path for the life of the process (a pipe can be read once). */
  static open(path: string): Promise<ArchiveReader> {
    const cached = cache.get(path);
    if (cached) return cached.then(async (r) => ((await r.stillCurrent()) ? r : ArchiveReader.reopen(path)));
    return ArchiveReader.reopen(path);
  }

  private static reopen(path: string): Promise<ArchiveReader> {
    const p = load(path);
    cache.set(path, p);
    p.catch(() => cache.delete(path));
    return p;
  }

  private stat?: Stats;

  /** stillCurrent says whether a regular file (compressed or not) is unchanged since it was indexed (a spooled pipe always is). */
  private async stillCurrent(): Promise<boolean> {
    if (!this.stat) return true;
    const st = await fsp.stat(this.archive).catch(() => undefined);
    return st !== undefined && st.ino === this.stat.ino && st.size === this.stat.size && st.mtimeMs === this.stat.mtimeMs;
  }

  /** names lists the names of every entry. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** lookup finds a regular file entry by name, following links inside the archive; undefined when absent. */
  lookup(name: string): TarEntry | undefined {
    let e = this.entries.get(name);
    for (let hops = 0; e && (e.type === 'symlink' || e.type === 'link'); hops++) {
      if (hops >= MAX_LINK_HOPS) throw new ImgError('MANIFEST_INVALID', `archive ${this.archive}: entry ${JSON.stringify(name)} is a link loop`);
      e = this.entries.get(e.target!);
    }
    return e && e.type === 'file' ? e : undefined;
  }

  /** readEntry reads a whole (small) entry into memory, refusing one over `cap` bytes before reading it. */
  async readEntry(name: string, cap: number, what: string, missing: ImgError['code'] = 'MANIFEST_UNKNOWN'): Promise<Buffer> {
    const e = this.lookup(name);
    if (!e) throw new ImgError(missing, `archive ${this.archive}: no ${what} (entry ${JSON.stringify(name)})`);
    if (e.size > cap)
      throw new ImgError('TOO_LARGE', `archive ${this.archive}: ${what} (entry ${JSON.stringify(name)}) is ${e.size} bytes, over the ${cap}-byte limit`);
    return this.readRange(e.offset, e.size);
  }

  /** readRange reads bytes [offset, offset+length) of the archive file. */
  async readRange(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const fd = 'fd' in this.source ? this.source.fd : await openFd(this.source.path, 'r');
    try {
      const buf = await readFd(fd, offset, length);
      if (buf.length < length) throw new ImgError('IO', `archive ${this.archive}: truncated (the file ended while reading offset ${offset + buf.length})`);
      return buf;
    } finally {
      if (!('fd' in this.source)) await closeFd(fd);
    }
  }

  /** streamEntry streams an entry's raw bytes. */
  streamEntry(e: TarEntry): Readable {
    if (e.size === 0) return createEmpty();
    const opts = { start: e.offset, end: e.offset + e.size - 1 };
    return 'fd' in this.source ? fdReadStream(this.source.fd, opts.start, opts.end) : createReadStream(this.source.path, opts);
  }

  /** streamVerified streams an entry through a DigestingStream that fails at EOF unless it has `blob`'s digest and size. */
  streamVerified(e: TarEntry, blob: { digest: string; size?: number }): Readable {
    if (blob.size !== undefined && blob.size !== e.size) {
      throw new ImgError(
        'SIZE_MISMATCH',
        `archive ${this.archive}: blob ${blob.digest} (entry ${JSON.stringify(e.name)}) is ${e.size} bytes, expected ${blob.size}`,
      );
    }
    const src = this.streamEntry(e);
    const check = new DigestingStream({ digest: blob.digest, size: e.size }, `blob ${blob.digest} in ${this.archive}`);
    src.on('error', (err) => check.destroy(err));
    return src.pipe(check);
  }

  static async load(path: string): Promise<ArchiveReader> {
    let st: Stats;
    try {
      st = await fsp.stat(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImgError('MANIFEST_UNKNOWN', `archive ${path} does not exist`);
      throw e;
    }
    if (st.isDirectory()) throw new ImgError('MANIFEST_UNKNOWN', `archive ${path} is a directory, not a tar file`);
    if (st.isFile()) {
      const fd = await openFd(path, 'r');
      let list: TarEntry[] | undefined;
      try {
        // A compressed archive (tar.gz, tar.xz, …) is read as containers/image reads it: decompressed first.
        if (sniffArchive(await readFd(fd, 0, 6)) === undefined) list = await scanTar((pos, len) => readFd(fd, pos, len), st.size, path);
      } finally {
        await closeFd(fd);
      }
      const r = list === undefined ? await ArchiveReader.spool(path) : new ArchiveReader(path, { path }, list);
      r.stat = st;
      return r;
    }
    return ArchiveReader.spool(path);
  }

  /**
   * spool reads a pipe, a device or a compressed archive once into an anonymous temp file in
   * os.tmpdir() (unlinked as soon as it is open: nothing is left behind, even after a kill),
   * decompressing it on the way when it is compressed.
   */
  private static async spool(path: string): Promise<ArchiveReader> {
    const tmp = tempPathIn(tmpdir(), 'archive-spool');
    const fd = await openFd(tmp, 'wx+', 0o600);
    await fsp.rm(tmp, { force: true });
    try {
      const { head, stream } = await peekHead(createReadStream(path));
      const kind = sniffArchive(head);
      if (kind === undefined) await pipeline(stream, fdWriteStream(fd));
      else await decompressArchive(stream, kind, fdWriteStream(fd), path);
      const { size } = await fstatFd(fd);
      const list = await scanTar((pos, len) => readFd(fd, pos, len), size, path);
      return new ArchiveReader(path, { fd }, list);
    } catch (e) {
      await closeFd(fd).catch(() => undefined);
      throw e;
    }
  }
}

/** archiveExists says whether there is anything at PATH (a file, a pipe) to read an archive from. */
export async function archiveExists(path: string): Promise<boolean> {
  if (cache.has(path)) return true;
  try {
    await fsp.stat(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw e;
  }
}

const cache = new Map<string, Promise<ArchiveReader>>();
const load = (path: string) => ArchiveReader.load(path);

function createEmpty(): Readable {
  return Readable.from([]);
}
