import type { Readable } from 'node:stream';

/** A manifest as stored: its exact bytes, its media type and the digest of those bytes. */
export interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

/**
 * Transport is what every image location implements: a narrow interface over manifests and blobs.
 * Optional capabilities (tags, mount, delete, catalog, signatures) are separate interfaces detected
 * with type guards.
 *
 * Write order: putBlob for every blob, then putManifest for each child manifest of an index, then
 * putManifest for the top-level manifest. putManifest MUST refuse a manifest whose blobs (or
 * children) are not stored yet, so an image never becomes visible half-written.
 */
export interface Transport {
  /** The canonical `transport:reference` string, for messages and records. */
  readonly name: string;
  /** getManifest reads the manifest the reference names, or with `digest` that instance (a child of an index), verified. */
  getManifest(digest?: string): Promise<StoredManifest>;
  /** putManifest stores a manifest byte for byte; `child` stores an index's child by digest only, without naming it. */
  putManifest(m: StoredManifest, opts?: { child?: boolean }): Promise<void>;
  /**
   * getBlob opens a blob as a stream that fails at EOF unless it has `digest` (and `size`, where
   * given). A failure before the caller reads is kept in the stream's `errored` for the read, never
   * thrown as uncaught (DigestingStream does this).
   */
  getBlob(blob: { digest: string; size?: number }): Promise<Readable>;
  /** statBlob is a blob's size, or undefined when the location does not have it. */
  statBlob(digest: string): Promise<number | undefined>;
  /** putBlob stores a stream, verified against `expected` where given; the blob is visible only once verified. */
  putBlob(data: Readable, expected?: { digest?: string; size?: number }): Promise<BlobInfo>;
}
