import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ImgError, wrap } from '../errors.js';
import type { Algorithm } from '../oci/digest.js';
import { DigestingStream } from '../stream/verify.js';

/**
 * fileDigest streams a file ("-" for stdin) and returns its digest, which for a manifest is what
 * skopeo manifest-digest prints. Signed schema 1 manifests (whose digest excludes their JWS
 * signatures) are refused rather than given a wrong answer.
 */
export async function fileDigest(file: string, algorithm: Algorithm): Promise<string> {
  const what = file === '-' ? 'stdin' : file;
  const hasher = new DigestingStream({}, what, algorithm);
  let head = Buffer.alloc(0);
  try {
    await pipeline(
      file === '-' ? process.stdin : createReadStream(file),
      hasher,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          if (head.length < 512) head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
          cb();
        },
      }),
    );
  } catch (e) {
    throw wrap(e, `reading ${what}`);
  }
  if (/^\s*\{\s*"schemaVersion"\s*:\s*1\s*,/.test(head.toString('utf8'))) {
    throw new ImgError('MANIFEST_UNSUPPORTED', `${what} is a Docker schema 1 manifest, which imgpipe does not support`);
  }
  return hasher.digest!;
}
