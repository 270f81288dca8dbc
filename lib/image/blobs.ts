import type { Readable } from 'node:stream';
import { wrap } from '../errors.js';
import { formatRef, type ImageRef } from '../ref/index.js';
import { openTransport, type TransportOptions } from '../transport/index.js';
import type { BlobInfo } from '../transport/types.js';

/** openBlob opens one blob of the location `ref` names as a stream that fails at EOF unless the bytes match `digest` (and `size`). */
export async function openBlob(ref: ImageRef, digest: string, size?: number, topts: TransportOptions = {}): Promise<Readable> {
  const name = formatRef(ref);
  try {
    return await openTransport(ref, topts).getBlob(size === undefined ? { digest } : { digest, size });
  } catch (e) {
    throw wrap(e, `fetching blob ${name}@${digest}`, name);
  }
}

/**
 * putBlob stores a stream as one blob at `ref`, verified against `expected` where given. A blob
 * the destination has already (same digest, and size where given) is not sent again.
 */
export async function putBlob(ref: ImageRef, input: Readable, expected: { digest?: string; size?: number }, topts: TransportOptions = {}): Promise<BlobInfo> {
  const name = formatRef(ref);
  try {
    const t = openTransport(ref, topts);
    if (expected.digest !== undefined) {
      const present = await t.statBlob(expected.digest);
      if (present !== undefined && (expected.size === undefined || present === expected.size)) {
        input.resume();
        return { digest: expected.digest, size: present };
      }
    }
    return await t.putBlob(input, expected);
  } catch (e) {
    throw wrap(e, `writing blob to ${name}`, name);
  }
}
