import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ImgError } from '../errors.js';
import { parseDigest, type Algorithm } from '../oci/digest.js';

/**
 * DigestingStream passes bytes through while hashing and counting them. With an expected digest
 * (and size) it fails as soon as the size is exceeded and at EOF on any mismatch, so a consumer that
 * sees 'end' without 'error' has exactly the expected bytes. Without one, `digest` and `size` tell
 * what went through once it has ended.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: Algorithm;
  size = 0;
  digest?: string;

  /**
   * `cap`, for a stream whose size nobody knows: fail (TOO_LARGE) at the first byte over `max`,
   * with `why` in the message.
   */
  constructor(
    readonly expected: { digest?: string; size?: number },
    private readonly what: string,
    algorithm?: Algorithm,
    private readonly cap?: { max: number; why: string },
  ) {
    super();
    // A check that fails before anyone reads (a short file read ahead while the reader opens its
    // output) is kept in `errored` and thrown by the reader's pipeline or `for await`: never uncaught.
    this.on('error', () => undefined);
    this.algorithm = expected.digest !== undefined ? parseDigest(expected.digest, `digest of ${what}`).algorithm : (algorithm ?? 'sha256');
    this.hash = createHash(this.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    const want = this.expected.size;
    if (want !== undefined && want >= 0 && this.size > want) {
      cb(new ImgError('SIZE_MISMATCH', `${this.what}: more than the expected ${want} bytes`));
      return;
    }
    if (this.cap !== undefined && this.size > this.cap.max) {
      cb(new ImgError('TOO_LARGE', `${this.what} is over ${this.cap.max} bytes: ${this.cap.why}`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.digest = `${this.algorithm}:${this.hash.digest('hex')}`;
    const want = this.expected;
    if (want.size !== undefined && want.size >= 0 && this.size !== want.size) {
      cb(new ImgError('SIZE_MISMATCH', `${this.what}: got ${this.size} bytes, expected ${want.size}`));
      return;
    }
    if (want.digest !== undefined && this.digest !== want.digest) {
      cb(new ImgError('DIGEST_MISMATCH', `${this.what}: content has digest ${this.digest}, expected ${want.digest}`));
      return;
    }
    cb();
  }
}

/**
 * checked gives `data` as a stream that fails unless it carries exactly `expected`: `data` itself
 * when it is a DigestingStream already checking that digest and size (a blob read from a transport
 * is, so a copy hashes each byte once), else `data` piped through a new DigestingStream, with
 * `data`'s errors passed on. Read `digest` and `size` from the result once it has ended.
 */
export function checked(data: Readable, expected: { digest?: string; size?: number }, what: string): DigestingStream {
  if (data.errored) throw data.errored;
  if (
    data instanceof DigestingStream &&
    expected.digest !== undefined &&
    data.expected.digest === expected.digest &&
    (expected.size === undefined || data.expected.size === expected.size)
  ) {
    return data;
  }
  const check = new DigestingStream(expected, what);
  data.on('error', (e) => check.destroy(e));
  return data.pipe(check);
}

/** readCapped reads a whole stream into memory, refusing more than `max` bytes (for manifests and bodies, never blobs). */
export async function readCapped(input: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of input) {
    n += chunk.length;
    if (n > max) throw new ImgError('TOO_LARGE', `${what} is over the ${max}-byte limit`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
