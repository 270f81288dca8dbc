import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError } from '../../errors.js';
import { decompressor } from '../../stream/compression.js';

/**
 * A whole archive file may be compressed, as `docker save | xz` makes it: containers/image reads a
 * docker-archive through AutoDecompress (gzip, bzip2, xz, zstd) into a temp file, and oci-archive
 * through containers/storage's Untar, which decompresses the same four. ArchiveReader does the same:
 * gzip through node:zlib, zstd through zstd-codec (as layers), xz and bzip2 through Debian's `xz`
 * and `bzip2` commands (xz-utils, bzip2: priority standard), which check their own CRCs.
 */
export type ArchiveCompression = 'gzip' | 'zstd' | 'xz' | 'bzip2';

/** sniffArchive tells a compressed archive by its first bytes (at least 6), or undefined for anything else (a tar is checked by its reader). */
export function sniffArchive(head: Buffer): ArchiveCompression | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return undefined;
}

const COMMANDS = { xz: { cmd: 'xz', pkg: 'xz-utils' }, bzip2: { cmd: 'bzip2', pkg: 'bzip2' } } as const;
/** Bytes of a decompressing command's stderr kept for the message. */
const STDERR_KEPT = 4096;

/**
 * decompressArchive writes `src`, compressed with `kind`, uncompressed to `out`; `archive` names the
 * file in errors. Corrupt input fails with MANIFEST_INVALID; a missing xz or bzip2 command with
 * UNSUPPORTED naming its Debian package.
 */
export async function decompressArchive(src: Readable, kind: ArchiveCompression, out: Writable, archive: string): Promise<void> {
  const invalid = (why: string) => new ImgError('MANIFEST_INVALID', `archive ${archive} is not valid ${kind}: ${why}`);
  if (kind === 'gzip' || kind === 'zstd') {
    const unpack = await decompressor(kind);
    // An error of the decompressor is the archive's; one of src or out passes as it is.
    let bad: Error | undefined;
    unpack.on('error', (e) => (bad ??= e));
    try {
      await pipeline(src, unpack, out);
    } catch (e) {
      if (bad !== undefined) throw invalid(bad.message);
      throw e;
    }
    return;
  }
  const { cmd, pkg } = COMMANDS[kind];
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_KEPT) stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    // The command's stdin closing early (it found corrupt data) is its exit status's to report.
    const feed = pipeline(src, child.stdin).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
    });
    const [code] = await Promise.all([exited, feed, pipeline(child.stdout, out)]);
    if (code !== 0) throw invalid(stderr.trim().replace(/\s*\n\s*/g, '; ') || `${cmd} exited with status ${code}`);
  } catch (e) {
    child.kill();
    const sys = e as NodeJS.ErrnoException;
    if (sys.code === 'ENOENT' && sys.syscall?.startsWith('spawn'))
      throw new ImgError('UNSUPPORTED', `archive ${archive} is ${kind}-compressed: reading it needs the ${cmd} command (Debian's ${pkg} package)`);
    throw e;
  }
}
