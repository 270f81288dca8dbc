import type { Readable } from 'node:stream';
import { ImgError, wrap } from '../../errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import { checked, readCapped } from '../../stream/verify.js';
import type { TarSink } from './sink.js';
import type { Transport } from '../types.js';

/** refuseBlobWrite is the error putBlob and putManifest of an archive transport throw. */
export function refuseBlobWrite(name: string, what: string): ImgError {
  return new ImgError(
    'UNSUPPORTED',
    `cannot ${what} to ${name}: an archive is written whole, in one pass, by img-manifest put (blobs cannot be added to it one by one)`,
    { ref: name },
  );
}

/** sourceBlob opens a blob of `source`, checked once more against its descriptor on the way into the archive. */
export async function sourceBlob(source: Transport, d: { digest: string; size: number }): Promise<Readable> {
  return checked(await source.getBlob({ digest: d.digest, size: d.size }), { digest: d.digest, size: d.size }, `blob ${d.digest} from ${source.name}`);
}

/** readSourceBlob reads a small blob (a config) of `source` into memory, verified, refusing more than `cap` bytes. */
export async function readSourceBlob(source: Transport, d: Descriptor, cap: number, what: string): Promise<Buffer> {
  if (d.size > cap) throw new ImgError('TOO_LARGE', `${what} ${d.digest} of ${source.name} is ${d.size} bytes, over the ${cap}-byte limit`);
  try {
    return await readCapped(await sourceBlob(source, d), cap, `${what} ${d.digest}`);
  } catch (e) {
    throw wrap(e, `reading ${what} ${d.digest} from ${source.name}`);
  }
}

/**
 * SinkHolder holds the one TarSink of an archive being written and makes every failure final:
 * once a write failed the archive is aborted (its temp file removed), and every later call fails
 * with the first error.
 */
export class SinkHolder {
  private sink?: Promise<TarSink>;
  private failed?: ImgError;

  constructor(private readonly open: () => Promise<TarSink>) {}

  /** run runs fn with the sink; an error aborts the archive. */
  async run<T>(fn: (sink: TarSink) => Promise<T>): Promise<T> {
    if (this.failed) throw this.failed;
    this.sink ??= this.open();
    let sink: TarSink;
    try {
      sink = await this.sink;
    } catch (e) {
      this.failed = e instanceof ImgError ? e : wrap(e, 'opening archive');
      throw this.failed;
    }
    try {
      return await fn(sink);
    } catch (e) {
      this.failed = e instanceof ImgError ? e : wrap(e, `writing archive ${sink.archive}`);
      await sink.abort(this.failed);
      throw this.failed;
    }
  }

  async abort(): Promise<void> {
    if (!this.sink) return;
    const sink = await this.sink.catch(() => undefined);
    this.failed ??= new ImgError('IO', 'the archive was aborted');
    await sink?.abort(this.failed);
  }
}
