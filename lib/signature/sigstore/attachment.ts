/**
 * The sigstore attachment of an image: an OCI manifest tagged `sha256-HEX.sig` in the image's
 * repository, one layer per signature (the payload, its media type and annotations), and a config
 * that lists the layers' digests as rootfs.diff_ids. Written byte for byte as containers/image's
 * putSignaturesToSigstoreAttachments writes it (Go's json.Marshal of image-spec structs), so that
 * either tool appending to the other's attachment makes the same bytes. No I/O.
 */
import { ImgError } from '../../errors.js';
import { digestOf, parseDigest } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediatype.js';
import type { Descriptor, ImageManifest, Platform } from '../../oci/manifest.js';
import { goString } from '../../util/gostring.js';
import type { SigstoreSignature } from './signature.js';

/** attachmentTag is the tag of the attachment for a manifest digest: sha256:HEX → sha256-HEX.sig. */
export function attachmentTag(manifestDigest: string): string {
  parseDigest(manifestDigest);
  return `${manifestDigest.replace(':', '-')}.sig`;
}

/** Blob: bytes to store, with their descriptor fields. */
export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

/** AttachmentUpdate: what to store, blobs first, then the manifest under the attachment tag. */
export interface AttachmentUpdate {
  blobs: Blob[];
  manifest: Buffer;
  /** How many of the signatures were added (the others were there already). */
  added: number;
}

/**
 * appendSignatures adds the signatures not yet in an attachment (none: `existing` undefined) and
 * returns the new manifest and config. A layer equal in media type, size, digest and annotations is
 * the same signature and is not added twice, as in containers/image.
 */
export function appendSignatures(existing: { manifest: ImageManifest; config: Buffer } | undefined, sigs: SigstoreSignature[]): AttachmentUpdate {
  const layers: Descriptor[] = existing ? [...(existing.manifest.layers ?? [])] : [];
  const config = existing ? parseConfig(existing.config) : { rootfs: { type: 'layers', diff_ids: [] as string[] } };
  const blobs: Blob[] = [];
  let added = 0;
  for (const sig of sigs) {
    const digest = digestOf(sig.payload, 'sha256');
    if (layers.some((l) => sameSignature(l, sig, digest))) continue;
    blobs.push({ digest, size: sig.payload.length, bytes: sig.payload });
    layers.push({ mediaType: sig.mimeType, digest, size: sig.payload.length, annotations: { ...sig.annotations } });
    config.rootfs = { ...config.rootfs, type: config.rootfs?.type ?? '', diff_ids: [...(config.rootfs?.diff_ids ?? []), digest] };
    added++;
  }
  const configBytes = Buffer.from(goImage(config), 'utf8');
  const configDigest = digestOf(configBytes, 'sha256');
  blobs.push({ digest: configDigest, size: configBytes.length, bytes: configBytes });
  const manifest: ImageManifest = {
    ...(existing?.manifest ?? { schemaVersion: 2 }),
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  return { blobs, manifest: Buffer.from(goManifest(manifest), 'utf8'), added };
}

function sameSignature(l: Descriptor, sig: SigstoreSignature, digest: string): boolean {
  if (l.mediaType !== sig.mimeType || l.size !== sig.payload.length || l.digest !== digest) return false;
  const a = l.annotations ?? {};
  const b = sig.annotations;
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
}

// --- Go's json.Marshal of image-spec 1.1.0-rc2 structs (field order; maps sorted; omitempty) ---

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface ImageConfigDoc {
  created?: string;
  author?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  'os.version'?: string;
  'os.features'?: string[];
  config?: Record<string, Json>;
  rootfs?: { type?: string; diff_ids?: string[] | null };
  history?: Record<string, Json>[];
}

function parseConfig(bytes: Buffer): ImageConfigDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `parsing sigstore attachment config: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ImgError('MANIFEST_INVALID', 'parsing sigstore attachment config: not a JSON object');
  return doc as ImageConfigDoc;
}

/** goValue marshals a generic value as Go marshals map[string]interface{}: keys sorted, Go string escaping. */
function goValue(v: Json | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${goString(k)}:${goValue(v[k])}`)
    .join(',')}}`;
}

/** isEmpty is Go's omitempty test for the values found in these documents. */
function isEmpty(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    v === '' ||
    v === 0 ||
    v === false ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  );
}

/** goFields writes pre-marshalled fields in order, leaving out the undefined ones. */
function goFields(fields: [string, string | undefined][]): string {
  return `{${fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${goString(k)}:${v}`)
    .join(',')}}`;
}

/** goOmitEmpty marshals fields that are all omitempty, in the given order. */
function goOmitEmpty(fields: [string, Json | undefined][]): string {
  return goFields(fields.map(([k, v]) => [k, isEmpty(v) ? undefined : goValue(v)]));
}

function goPlatform(p: Platform): string {
  return goFields([
    ['architecture', goString(p.architecture ?? '')],
    ['os', goString(p.os ?? '')],
    ['os.version', isEmpty(p['os.version']) ? undefined : goString(p['os.version']!)],
    ['os.features', isEmpty(p['os.features']) ? undefined : goValue(p['os.features'])],
    ['variant', isEmpty(p.variant) ? undefined : goString(p.variant!)],
  ]);
}

function goDescriptor(d: Descriptor): string {
  const empty = isEmpty;
  return goFields([
    ['mediaType', empty(d.mediaType) ? undefined : goString(d.mediaType)],
    ['digest', goString(d.digest ?? '')],
    ['size', String(d.size ?? 0)],
    ['urls', empty(d.urls) ? undefined : goValue(d.urls as Json)],
    ['annotations', empty(d.annotations) ? undefined : goValue(d.annotations as Json)],
    ['data', empty(d.data) ? undefined : goString(d.data!)],
    ['platform', d.platform ? goPlatform(d.platform) : undefined],
    ['artifactType', empty(d.artifactType) ? undefined : goString(d.artifactType!)],
  ]);
}

function goManifest(m: ImageManifest): string {
  return goFields([
    ['schemaVersion', '2'],
    ['mediaType', m.mediaType ? goString(m.mediaType) : undefined],
    ['config', goDescriptor(m.config)],
    ['layers', m.layers ? `[${m.layers.map(goDescriptor).join(',')}]` : 'null'],
    ['subject', m.subject ? goDescriptor(m.subject) : undefined],
    ['annotations', m.annotations && Object.keys(m.annotations).length > 0 ? goValue(m.annotations as Json) : undefined],
  ]);
}

/** The fields of image-spec's ImageConfig, in Go's order; maps (ExposedPorts, Volumes, Labels) sorted. */
const IMAGE_CONFIG_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped'];

function goImage(c: ImageConfigDoc): string {
  const cfg = c.config ?? {};
  const history = c.history?.map((h) =>
    goOmitEmpty([
      ['created', h.created],
      ['created_by', h.created_by],
      ['author', h.author],
      ['comment', h.comment],
      ['empty_layer', h.empty_layer],
    ]),
  );
  return goFields([
    ['created', c.created ? goString(c.created) : undefined],
    ['author', c.author ? goString(c.author) : undefined],
    ['architecture', goString(c.architecture ?? '')],
    ['variant', c.variant ? goString(c.variant) : undefined],
    ['os', goString(c.os ?? '')],
    ['os.version', c['os.version'] ? goString(c['os.version']) : undefined],
    ['os.features', c['os.features']?.length ? goValue(c['os.features']) : undefined],
    ['config', goOmitEmpty(IMAGE_CONFIG_FIELDS.map((k) => [k, cfg[k]]))],
    [
      'rootfs',
      goFields([
        ['type', goString(c.rootfs?.type ?? '')],
        ['diff_ids', c.rootfs?.diff_ids ? goValue(c.rootfs.diff_ids) : 'null'],
      ]),
    ],
    ['history', history?.length ? `[${history.join(',')}]` : undefined],
  ]);
}
