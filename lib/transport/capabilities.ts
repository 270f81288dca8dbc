import type { Transport } from './types.js';

/** Optional capabilities of a transport, each detected with its type guard. */

export interface TagLister {
  /** listTags lists the tags of the reference's repository. */
  listTags(): Promise<string[]>;
}

export interface Catalog {
  /** listRepositories lists every repository of the registry (the _catalog API). */
  listRepositories(): Promise<string[]>;
}

export interface ManifestDeleter {
  /** deleteManifest deletes the manifest the reference names and returns its digest. */
  deleteManifest(): Promise<string>;
}

export interface ManifestHead {
  /** headManifest is the digest (and type and size) of the manifest the reference names, or undefined when there is none, without fetching it. */
  headManifest(): Promise<{ digest: string; mediaType?: string; size?: number } | undefined>;
}

export interface BlobMounter {
  /** mountBlob asks the registry to link a blob from another repository; false when it would not. */
  mountBlob(digest: string, fromRepository: string): Promise<boolean>;
}

export const canListTags = (t: Transport): t is Transport & TagLister => typeof (t as Partial<TagLister>).listTags === 'function';
export const canListRepositories = (t: Transport): t is Transport & Catalog => typeof (t as Partial<Catalog>).listRepositories === 'function';
export const canDelete = (t: Transport): t is Transport & ManifestDeleter => typeof (t as Partial<ManifestDeleter>).deleteManifest === 'function';
export const canHead = (t: Transport): t is Transport & ManifestHead => typeof (t as Partial<ManifestHead>).headManifest === 'function';
export const canMount = (t: Transport): t is Transport & BlobMounter => typeof (t as Partial<BlobMounter>).mountBlob === 'function';
