import { ImgError } from '../errors.js';
import { parseDigest } from './digest.js';
import { MediaType, SCHEMA1_TYPES, isImageManifestType, isIndexType, baseMediaType } from './mediatype.js';

/** Manifests (and indexes) larger than this are refused before they are parsed. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'image'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; manifest: ImageIndex };

/** Content types that say nothing about which manifest type a body is. */
const GENERIC_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * parseManifest parses and validates a manifest or index. `servedAs` is the media type it was
 * served or described as (Content-Type, a descriptor's mediaType); a document whose own mediaType
 * disagrees with it is refused, as is one with both `layers` and `manifests`, a schema 1 manifest,
 * or one over MAX_MANIFEST_SIZE. `what` names the manifest in every message.
 */
export function parseManifest(bytes: Uint8Array, what: string, servedAs?: string): ParsedManifest {
  if (bytes.length > MAX_MANIFEST_SIZE) {
    throw new ImgError('TOO_LARGE', `manifest ${what} is ${bytes.length} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ImgError('MANIFEST_INVALID', `manifest ${what} is not valid UTF-8`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `manifest ${what} is not JSON: ${(e as Error).message}`);
  }
  return validateManifest(doc, what, servedAs);
}

/** validateManifest checks an already-parsed document as parseManifest does. */
export function validateManifest(doc: unknown, what: string, servedAs?: string): ParsedManifest {
  const bad = (why: string) => new ImgError('MANIFEST_INVALID', `manifest ${what} ${why}`);
  if (!isObject(doc)) throw bad('is not a JSON object');
  const served = servedAs === undefined ? '' : baseMediaType(servedAs);
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw bad('has a non-string mediaType');
  if (doc.schemaVersion === 1 || SCHEMA1_TYPES.includes(served) || (declared !== undefined && SCHEMA1_TYPES.includes(declared))) {
    throw new ImgError('MANIFEST_UNSUPPORTED', `manifest ${what} is Docker schema 1, which imgpipe does not support (convert it with a current registry or docker push)`);
  }
  if (doc.schemaVersion !== 2) throw bad(`has schemaVersion ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  if ('layers' in doc && 'manifests' in doc) throw bad('has both "layers" and "manifests": it is neither a manifest nor an index');
  if (declared !== undefined && !GENERIC_TYPES.has(served) && declared !== served) {
    throw bad(`declares mediaType ${declared} but was served as ${served}`);
  }
  const type = declared ?? (GENERIC_TYPES.has(served) ? undefined : served);
  const kind = type !== undefined ? kindOfType(type) : 'manifests' in doc ? 'index' : 'config' in doc ? 'image' : undefined;
  if (kind === undefined) {
    throw new ImgError('MANIFEST_UNSUPPORTED', `manifest ${what} has media type ${type ?? '(none)'}, which is neither an image manifest nor an index`);
  }
  if (kind === 'image') {
    if ('manifests' in doc) throw bad('is an image manifest with a "manifests" field');
    if (!isObject(doc.config)) throw bad('has no "config" descriptor');
    if (!Array.isArray(doc.layers)) throw bad('has no "layers" array');
    checkDescriptor(doc.config, `${what} config`);
    doc.layers.forEach((l, i) => checkDescriptor(l, `${what} layer ${i}`));
    if (doc.subject !== undefined) checkDescriptor(doc.subject, `${what} subject`);
    return { kind, mediaType: type ?? MediaType.ociManifest, manifest: doc as unknown as ImageManifest };
  }
  if ('config' in doc) throw bad('is an index with a "config" field');
  if (!Array.isArray(doc.manifests)) throw bad('has no "manifests" array');
  doc.manifests.forEach((m, i) => checkDescriptor(m, `${what} manifests[${i}]`));
  if (doc.subject !== undefined) checkDescriptor(doc.subject, `${what} subject`);
  return { kind, mediaType: type ?? MediaType.ociIndex, manifest: doc as unknown as ImageIndex };
}

function kindOfType(mt: string): 'image' | 'index' | undefined {
  if (isImageManifestType(mt)) return 'image';
  if (isIndexType(mt)) return 'index';
  return undefined;
}

/** checkDescriptor validates a descriptor's mediaType, digest and size; `what` names it in errors. */
export function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  if (!isObject(d)) throw new ImgError('MANIFEST_INVALID', `descriptor ${what} is not an object`);
  if (typeof d.mediaType !== 'string' || d.mediaType === '') {
    throw new ImgError('MANIFEST_INVALID', `descriptor ${what} has no mediaType`);
  }
  if (typeof d.digest !== 'string') throw new ImgError('MANIFEST_INVALID', `descriptor ${what} has no digest`);
  try {
    parseDigest(d.digest, `digest of ${what}`);
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', (e as Error).message);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new ImgError('MANIFEST_INVALID', `descriptor ${what} has an invalid size ${JSON.stringify(d.size)}`);
  }
}

/** referencedBlobs lists what an image manifest needs stored: its config, then its layers (foreign layers excluded). */
export function referencedBlobs(m: ImageManifest): Descriptor[] {
  return [m.config, ...m.layers.filter((l) => !isForeign(l))];
}

/** isForeign says whether a layer lives outside the registry (urls, non-distributable) and is not copied. */
export function isForeign(d: Descriptor): boolean {
  return d.mediaType === MediaType.dockerForeignLayerGzip || d.mediaType.includes('.nondistributable.');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
