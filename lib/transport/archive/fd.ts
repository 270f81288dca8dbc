import { close, createReadStream, createWriteStream, fstat, fsync, open, read, type ReadStream, type WriteStream } from 'node:fs';
import { promisify } from 'node:util';

/**
 * Numeric file descriptors for temp files that several streams share. A FileHandle is not used
 * here: FileHandle.close() waits until every stream made from it has closed, which streams made
 * with autoClose: false never do, so it would hang.
 */
export const openFd = promisify(open) as (path: string, flags: string, mode?: number) => Promise<number>;
export const closeFd = promisify(close);
export const fsyncFd = promisify(fsync);
export const fstatFd = promisify(fstat);
const readP = promisify(read);

/** readFd reads up to `length` bytes at `position`: fewer only at end of file. */
export async function readFd(fd: number, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await readP(fd, buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** fdReadStream streams bytes [start, end] (inclusive) of an open file, leaving the descriptor open. */
export function fdReadStream(fd: number, start: number, end?: number): ReadStream {
  return createReadStream('', end === undefined ? { fd, start, autoClose: false } : { fd, start, end, autoClose: false });
}

/** fdWriteStream writes to an open file from offset 0, leaving the descriptor open. */
export function fdWriteStream(fd: number): WriteStream {
  return createWriteStream('', { fd, start: 0, autoClose: false });
}
