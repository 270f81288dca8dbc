import { ImgError } from '../errors.js';
import { formatRef, parseRef, type ImageRef, type TransportName } from '../ref/index.js';
import { DirTransport } from './dir/index.js';
import { OciLayoutTransport } from './oci-layout/index.js';
import type { Transport } from './types.js';

export type { Transport, StoredManifest, BlobInfo } from './types.js';

type Opener = (ref: ImageRef) => Transport;

/** The transport registry: scheme → implementation. Transports not listed here parse but cannot be opened yet. */
const OPENERS: Partial<Record<TransportName, Opener>> = {
  dir: (ref) => new DirTransport(ref as Extract<ImageRef, { transport: 'dir' }>),
  oci: (ref) => new OciLayoutTransport(ref as Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>),
};

/** openTransport opens the location a reference (string or parsed) names. Nothing is touched on disk until it is used. */
export function openTransport(ref: string | ImageRef): Transport {
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const open = OPENERS[parsed.transport];
  if (!open) {
    throw new ImgError('UNSUPPORTED', `${formatRef(parsed)}: the ${parsed.transport}: transport is not supported yet`, { ref: formatRef(parsed) });
  }
  return open(parsed);
}
