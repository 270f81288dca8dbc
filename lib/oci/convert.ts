import { ImgError } from '../errors.js';
import { MediaType } from './mediatype.js';
import type { Descriptor, ImageIndex, ImageManifest, ParsedManifest } from './manifest.js';

export type Format = 'oci' | 'v2s2';

const LAYER_TO_DOCKER: Record<string, string> = {
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.ociLayer]: 'application/vnd.docker.image.rootfs.diff.tar',
  [MediaType.ociLayerNondistributableGzip]: MediaType.dockerForeignLayerGzip,
  [MediaType.dockerLayerGzip]: MediaType.dockerLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.docker.image.rootfs.diff.tar',
  [MediaType.dockerForeignLayerGzip]: MediaType.dockerForeignLayerGzip,
};
const LAYER_TO_OCI: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistributableGzip,
  [MediaType.ociLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.ociLayer]: MediaType.ociLayer,
  [MediaType.ociLayerZstd]: MediaType.ociLayerZstd,
  [MediaType.ociLayerNondistributableGzip]: MediaType.ociLayerNondistributableGzip,
};

/** formatOf says which family a manifest's media type belongs to. */
export function formatOf(mediaType: string): Format {
  return mediaType.startsWith('application/vnd.docker.') ? 'v2s2' : 'oci';
}

/**
 * convertManifest rewrites a manifest or index into the other format (Docker schema 2 ⇄ OCI), as
 * containers/image does: media types change, blobs and their digests do not, annotations have no
 * place in Docker schema 2 and are refused rather than lost. Children of an index are replaced by
 * `children` (old digest → converted descriptor), since converting a child changes its digest.
 * Serialised as Go's encoding/json would (struct field order, compact), so the result matches
 * what skopeo writes for the same conversion.
 */
export function convertManifest(p: ParsedManifest, to: Format, what: string, children: Map<string, Descriptor> = new Map()): { bytes: Buffer; mediaType: string } {
  if (p.kind === 'image') return convertImage(p.manifest, to, what);
  return convertIndex(p.manifest, to, what, children);
}

function convertImage(m: ImageManifest, to: Format, what: string): { bytes: Buffer; mediaType: string } {
  const table = to === 'v2s2' ? LAYER_TO_DOCKER : LAYER_TO_OCI;
  const layers = m.layers.map((l, i) => {
    const mt = table[l.mediaType];
    if (!mt) throw new ImgError('UNSUPPORTED', `${what}: layer ${i} has media type ${l.mediaType}, which ${to === 'v2s2' ? 'Docker schema 2' : 'OCI'} cannot hold`);
    if (to === 'v2s2' && l.annotations && Object.keys(l.annotations).length) throw new ImgError('UNSUPPORTED', `${what}: layer ${i} has annotations, which Docker schema 2 cannot hold`);
    return { ...l, mediaType: mt };
  });
  if (to === 'v2s2') {
    if (m.annotations && Object.keys(m.annotations).length) throw new ImgError('UNSUPPORTED', `${what}: the manifest has annotations, which Docker schema 2 cannot hold`);
    if (m.subject) throw new ImgError('UNSUPPORTED', `${what}: the manifest has a subject, which Docker schema 2 cannot hold`);
    const doc = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: dockerDesc({ ...m.config, mediaType: MediaType.dockerConfig }), layers: layers.map(dockerDesc) };
    return { bytes: Buffer.from(JSON.stringify(doc)), mediaType: MediaType.dockerManifest };
  }
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociManifest };
  if (m.artifactType) doc.artifactType = m.artifactType;
  doc.config = ociDesc({ ...m.config, mediaType: m.config.mediaType === MediaType.dockerConfig ? MediaType.ociConfig : m.config.mediaType });
  doc.layers = layers.map(ociDesc);
  if (m.subject) doc.subject = ociDesc(m.subject);
  if (m.annotations) doc.annotations = m.annotations;
  return { bytes: Buffer.from(JSON.stringify(doc)), mediaType: MediaType.ociManifest };
}

function convertIndex(m: ImageIndex, to: Format, what: string, children: Map<string, Descriptor>): { bytes: Buffer; mediaType: string } {
  const manifests = m.manifests.map((d) => {
    const c = children.get(d.digest);
    const next = c ? { ...d, mediaType: c.mediaType, digest: c.digest, size: c.size } : d;
    if (formatOf(next.mediaType) !== to) throw new ImgError('UNSUPPORTED', `${what}: child ${d.digest} was not converted to ${to} (copy the index with its children)`);
    return next;
  });
  if (to === 'v2s2') {
    if (m.annotations && Object.keys(m.annotations).length) throw new ImgError('UNSUPPORTED', `${what}: the index has annotations, which a Docker manifest list cannot hold`);
    const doc = { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: manifests.map((d) => ({ ...dockerDesc(d), ...(d.platform ? { platform: d.platform } : {}) })) };
    return { bytes: Buffer.from(JSON.stringify(doc)), mediaType: MediaType.dockerManifestList };
  }
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: manifests.map(ociDesc) };
  if (m.annotations) doc.annotations = m.annotations;
  return { bytes: Buffer.from(JSON.stringify(doc)), mediaType: MediaType.ociIndex };
}

/** dockerDesc orders a descriptor's fields as Docker's Go struct does: mediaType, size, digest, urls. */
function dockerDesc(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, size: d.size, digest: d.digest };
  if (d.urls?.length) out.urls = d.urls;
  return out;
}

/** ociDesc orders a descriptor's fields as the OCI Go struct does. */
function ociDesc(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = d.annotations;
  if (d.data) out.data = d.data;
  if (d.platform) out.platform = d.platform;
  if (d.artifactType) out.artifactType = d.artifactType;
  return out;
}
