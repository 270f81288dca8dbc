import { ImgError } from '../errors.js';
import { parseDigest } from './digest.js';
import { caseVariants, goKeys, isObject } from './gojson.js';
import { guessManifestType } from './guess.js';
import { MAX_DOCUMENT_DEPTH, tooDeep } from './json-depth.js';
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

export type ParsedManifest = { kind: 'image'; mediaType: string; manifest: ImageManifest } | { kind: 'index'; mediaType: string; manifest: ImageIndex };

/** Content types that say nothing about which manifest type a body is. */
const GENERIC_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);
/** ignoreBOM: a byte order mark stays in the text, where JSON.parse refuses it as Go's decoder does. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The fields that tell the kinds apart (containers/image's AllowedManifestFields). */
const IMAGE_FIELDS = ['config', 'layers'] as const;
const INDEX_FIELDS = ['manifests'] as const;
const SCHEMA1_FIELDS = ['fsLayers', 'history'] as const;
/** Top-level fields imgpipe reads; a key that is one of them only to Go (another case) is refused. */
const TOP_FIELDS = ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'manifests', 'subject', 'annotations', 'fsLayers', 'history'];
const DESCRIPTOR_FIELDS = ['mediaType', 'digest', 'size', 'urls', 'annotations', 'data', 'platform', 'artifactType'];
const PLATFORM_FIELDS = ['architecture', 'os', 'os.version', 'os.features', 'variant', 'features'];

/**
 * parseManifest parses and validates a manifest or index. `servedAs` is the media type it was
 * served or described as (Content-Type, a descriptor's mediaType); a document whose own mediaType
 * disagrees with it is refused, as is an ambiguous one (see validateManifest), a schema 1
 * manifest, or one over MAX_MANIFEST_SIZE. `what` names the manifest in every message.
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
  // Go's decoder refuses a byte order mark too; said in words, since JSON.parse's message shows an invisible character.
  if (text.charCodeAt(0) === 0xfeff)
    throw new ImgError('MANIFEST_INVALID', `manifest ${what} starts with a UTF-8 byte order mark (EF BB BF), which is not JSON`);
  if (tooDeep(text, MAX_DOCUMENT_DEPTH))
    throw new ImgError('MANIFEST_INVALID', `manifest ${what} nests arrays and objects deeper than ${MAX_DOCUMENT_DEPTH} levels, the limit for a manifest`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `manifest ${what} is not JSON: ${(e as Error).message}`);
  }
  return validateManifest(doc, what, servedAs);
}

/**
 * validateManifest checks an already-parsed document as parseManifest does.
 *
 * Ambiguous documents are refused (MANIFEST_INVALID, "manifest WHAT is ambiguous: …"), as
 * containers/image's ValidateUnambiguousManifestFormat refuses them, so that no document can be
 * one image to imgpipe and another to a different tool (the advisory behind CVE-2021-41190):
 * schemaVersion 2 with a schema 1 field (fsLayers, history); image manifest fields (config,
 * layers) with index ones (manifests); an image manifest with manifests; an index with config or
 * layers. Fields are found as Go finds them (any case, lib/oci/gojson.ts), and a field counts when
 * its key is there at all, even with null (containers/image: when not null), which is stricter.
 * A key that is a field imgpipe reads only to Go ("Layers", "Digest") is refused too, in the
 * document, its descriptors and their platforms: imgpipe reads keys exactly.
 *
 * The type is the document's mediaType, else the one it was served as (unless generic), else
 * containers/image's GuessMIMEType (lib/oci/guess.ts): from the config's mediaType, or an index
 * when there are manifests. An index entry's platform must have os and architecture.
 */
export function validateManifest(doc: unknown, what: string, servedAs?: string): ParsedManifest {
  const bad = (why: string) => new ImgError('MANIFEST_INVALID', `manifest ${what} ${why}`);
  const ambiguous = (why: string) => bad(`is ambiguous: ${why}`);
  if (!isObject(doc)) throw bad('is not a JSON object');
  const served = servedAs === undefined ? '' : baseMediaType(servedAs);
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw bad('has a non-string mediaType');
  if (doc.schemaVersion === 1 || SCHEMA1_TYPES.includes(served) || (declared !== undefined && SCHEMA1_TYPES.includes(declared))) {
    throw new ImgError(
      'MANIFEST_UNSUPPORTED',
      `manifest ${what} is Docker schema 1, which imgpipe does not support (convert it with a current registry or docker push)`,
    );
  }
  if (doc.schemaVersion !== 2) throw bad(`has schemaVersion ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  const keysOf = (fields: readonly string[]) => fields.flatMap((f) => goKeys(doc, f));
  const schema1 = keysOf(SCHEMA1_FIELDS);
  if (schema1.length > 0) throw ambiguous(`schemaVersion 2 with schema 1 ${fieldList(schema1)}`);
  const imageKeys = keysOf(IMAGE_FIELDS);
  const indexKeys = keysOf(INDEX_FIELDS);
  if (imageKeys.length > 0 && indexKeys.length > 0) {
    throw ambiguous(`it has image manifest ${fieldList(imageKeys)} and index ${fieldList(indexKeys)}`);
  }
  if (declared !== undefined && !GENERIC_TYPES.has(served) && declared !== served) {
    throw bad(`declares mediaType ${declared} but was served as ${served}`);
  }
  let type = declared ?? (GENERIC_TYPES.has(served) ? undefined : served);
  if (type === undefined) {
    type = guessManifestType(doc);
    if (type === '') throw bad('has no mediaType, and its config or manifests are malformed, so its type cannot be told');
  }
  const kind = kindOfType(type);
  if (kind === undefined) {
    throw new ImgError('MANIFEST_UNSUPPORTED', `manifest ${what} has media type ${type}, which is neither an image manifest nor an index`);
  }
  if (kind === 'image' && indexKeys.length > 0) throw ambiguous(`an image manifest (${type}) with index ${fieldList(indexKeys)}`);
  if (kind === 'index' && imageKeys.length > 0) throw ambiguous(`an index (${type}) with image manifest ${fieldList(imageKeys)}`);
  const variant = caseVariants(doc, TOP_FIELDS)[0];
  if (variant !== undefined) throw ambiguous(caseWhy(variant));
  if (kind === 'image') {
    if (!isObject(doc.config)) throw bad('has no "config" descriptor');
    if (!Array.isArray(doc.layers)) throw bad('has no "layers" array');
    checkDescriptor(doc.config, `${what} config`);
    doc.layers.forEach((l, i) => {
      checkDescriptor(l, `${what} layer ${i}`);
    });
    if (doc.subject !== undefined) checkDescriptor(doc.subject, `${what} subject`);
    return { kind, mediaType: type, manifest: doc as unknown as ImageManifest };
  }
  if (!Array.isArray(doc.manifests)) throw bad('has no "manifests" array');
  doc.manifests.forEach((m, i) => {
    checkDescriptor(m, `${what} manifests[${i}]`);
    if (m.platform != null) checkPlatform(m.platform, `${what} manifests[${i}]`); // null: no platform, to Go as to imgpipe
  });
  if (doc.subject !== undefined) checkDescriptor(doc.subject, `${what} subject`);
  return { kind, mediaType: type, manifest: doc as unknown as ImageIndex };
}

/** fieldList names keys for a message: field "fsLayers", fields "config", "layers". */
function fieldList(keys: string[]): string {
  return `${keys.length === 1 ? 'field' : 'fields'} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
}

function caseWhy([key, field]: [string, string]): string {
  return `key ${JSON.stringify(key)} is the field ${JSON.stringify(field)} to case-insensitive readers (Go's encoding/json)`;
}

function kindOfType(mt: string): 'image' | 'index' | undefined {
  if (isImageManifestType(mt)) return 'image';
  if (isIndexType(mt)) return 'index';
  return undefined;
}

/** checkDescriptor validates a descriptor's mediaType, digest and size; `what` names it in errors. */
export function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  if (!isObject(d)) throw new ImgError('MANIFEST_INVALID', `descriptor ${what} is not an object`);
  const variant = caseVariants(d, DESCRIPTOR_FIELDS)[0];
  if (variant !== undefined) throw new ImgError('MANIFEST_INVALID', `descriptor ${what} is ambiguous: ${caseWhy(variant)}`);
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

/**
 * checkPlatform validates the platform of an index entry (one that has one): an object with os and architecture
 * (non-empty strings, as image-spec requires), variant and os.version strings, os.features and
 * features arrays of strings, as Go decodes them.
 */
export function checkPlatform(p: unknown, what: string): asserts p is Platform {
  const fail = (why: string) => new ImgError('MANIFEST_INVALID', `descriptor ${what} has a platform ${why}`);
  if (!isObject(p)) throw fail('that is not an object');
  const variant = caseVariants(p, PLATFORM_FIELDS)[0];
  if (variant !== undefined) throw new ImgError('MANIFEST_INVALID', `descriptor ${what} platform is ambiguous: ${caseWhy(variant)}`);
  for (const f of ['os', 'architecture'] as const) {
    if (p[f] === undefined) throw fail(`without ${JSON.stringify(f)}`);
    if (typeof p[f] !== 'string' || p[f] === '') throw fail(`whose ${JSON.stringify(f)} is ${JSON.stringify(p[f])}, not a name`);
  }
  for (const f of ['variant', 'os.version']) {
    if (p[f] !== undefined && typeof p[f] !== 'string') throw fail(`whose ${JSON.stringify(f)} is not a string`);
  }
  for (const f of ['os.features', 'features']) {
    const v = p[f];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw fail(`whose ${JSON.stringify(f)} is not an array of strings`);
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
