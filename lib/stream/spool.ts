import { close, createReadStream, createWriteStream, open, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { tempPathIn } from '../util/fs.js';
import { DigestingStream } from './verify.js';

const openFd = promisify(open) as (path: string, flags: string, mode?: number) => Promise<number>;
const closeFd = promisify(close);

/** Spooled: a stream's bytes in an anonymous temp file, with their digest and size. */
export interface Spooled {
  digest: string;
  size: number;
  /** read streams the bytes from the start (once at a time; the file stays until close). */
  read(): Readable;
  /** close lets the file go. */
  close(): Promise<void>;
}

/**
 * spoolDigested writes `input` to a temp file in `dir` (default: $TMPDIR), digesting it on the way:
 * for a blob whose digest must be known before it is uploaded (--dest-precompute-digests, as
 * containers/image's streamdigest.ComputeBlobInfo). The file is unlinked as soon as it is open, so
 * nothing is left behind by a kill; it is read through its descriptor. An error of `input` (its own
 * digest check) fails the spool and closes the file.
 */
export async function spoolDigested(input: Readable, what: string, dir = tmpdir()): Promise<Spooled> {
  const path = tempPathIn(dir, 'spool-blob');
  const fd = await openFd(path, 'wx+', 0o600);
  try {
    await fsp.rm(path, { force: true });
    const digesting = new DigestingStream({}, what);
    await pipeline(input, digesting, createWriteStream('', { fd, start: 0, autoClose: false }));
    const closed = { done: false };
    return {
      digest: digesting.digest!,
      size: digesting.size,
      read: () => createReadStream('', { fd, start: 0, autoClose: false }),
      close: async () => {
        if (closed.done) return;
        closed.done = true;
        await closeFd(fd);
      },
    };
  } catch (e) {
    await closeFd(fd).catch(() => undefined);
    throw e;
  }
}
