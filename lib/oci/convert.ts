import { ImgError } from '../errors.js';
import { MediaType } from './mediatype.js';
import type { Descriptor, ImageIndex, ImageManifest, ParsedManifest, Platform } from './manifest.js';

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
export function convertManifest(
  p: ParsedManifest,
  to: Format,
  what: string,
  children: Map<string, Descriptor> = new Map(),
  config?: Descriptor,
): { bytes: Buffer; mediaType: string } {
  if (p.kind === 'image') return convertImage(p.manifest, to, what, config);
  return convertIndex(p.manifest, to, what, children);
}

/**
 * convertImage converts an image manifest. Docker → OCI needs `config`: the descriptor of the config
 * as ociConfigFromDocker rewrote it (skopeo rewrites the config too); OCI → Docker keeps the config.
 */
function convertImage(m: ImageManifest, to: Format, what: string, config?: Descriptor): { bytes: Buffer; mediaType: string } {
  const table = to === 'v2s2' ? LAYER_TO_DOCKER : LAYER_TO_OCI;
  const layers = m.layers.map((l, i) => {
    const mt = table[l.mediaType];
    if (!mt)
      throw new ImgError('UNSUPPORTED', `${what}: layer ${i} has media type ${l.mediaType}, which ${to === 'v2s2' ? 'Docker schema 2' : 'OCI'} cannot hold`);
    if (to === 'v2s2' && l.annotations && Object.keys(l.annotations).length)
      throw new ImgError('UNSUPPORTED', `${what}: layer ${i} has annotations, which Docker schema 2 cannot hold`);
    return { ...l, mediaType: mt };
  });
  if (to === 'v2s2') {
    if (m.annotations && Object.keys(m.annotations).length)
      throw new ImgError('UNSUPPORTED', `${what}: the manifest has annotations, which Docker schema 2 cannot hold`);
    if (m.subject) throw new ImgError('UNSUPPORTED', `${what}: the manifest has a subject, which Docker schema 2 cannot hold`);
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: dockerDesc({ ...m.config, mediaType: MediaType.dockerConfig }),
      layers: layers.map(dockerDesc),
    };
    return { bytes: goJSON(doc), mediaType: MediaType.dockerManifest };
  }
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociManifest };
  if (m.artifactType) doc.artifactType = m.artifactType;
  const cfg = m.config.mediaType === MediaType.dockerConfig ? config : m.config;
  if (!cfg) throw new ImgError('UNSUPPORTED', `${what}: converting a Docker config to OCI needs the converted config`);
  doc.config = ociDesc({ ...m.config, mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size });
  doc.layers = layers.map(ociDesc);
  if (m.subject) doc.subject = ociDesc(m.subject);
  if (m.annotations && Object.keys(m.annotations).length) doc.annotations = goMap(m.annotations);
  return { bytes: goJSON(doc), mediaType: MediaType.ociManifest };
}

function convertIndex(m: ImageIndex, to: Format, what: string, children: Map<string, Descriptor>): { bytes: Buffer; mediaType: string } {
  const manifests = m.manifests.map((d) => {
    const c = children.get(d.digest);
    const next = c ? { ...d, mediaType: c.mediaType, digest: c.digest, size: c.size } : d;
    if (formatOf(next.mediaType) !== to)
      throw new ImgError('UNSUPPORTED', `${what}: child ${d.digest} was not converted to ${to} (copy the index with its children)`);
    return next;
  });
  if (to === 'v2s2') {
    if (m.annotations && Object.keys(m.annotations).length)
      throw new ImgError('UNSUPPORTED', `${what}: the index has annotations, which a Docker manifest list cannot hold`);
    const doc = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: manifests.map((d) => ({ ...dockerDesc(d), platform: dockerPlatform(d.platform) })),
    };
    return { bytes: goJSON(doc), mediaType: MediaType.dockerManifestList };
  }
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: manifests.map(ociDesc) };
  if (m.annotations && Object.keys(m.annotations).length) doc.annotations = goMap(m.annotations);
  return { bytes: goJSON(doc), mediaType: MediaType.ociIndex };
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
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = goMap(d.annotations);
  if (d.data) out.data = d.data;
  if (d.platform) out.platform = ociPlatform(d.platform);
  if (d.artifactType) out.artifactType = d.artifactType;
  return out;
}

/** ociPlatform orders a platform as image-spec's Platform struct: architecture, os, os.version, os.features, variant. */
function ociPlatform(p: Platform): Record<string, unknown> {
  const out: Record<string, unknown> = { architecture: p.architecture ?? '', os: p.os ?? '' };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = p['os.features'];
  if (p.variant) out.variant = p.variant;
  return out;
}

/** dockerPlatform is Docker's Schema2PlatformSpec: always present, with features after variant. */
function dockerPlatform(p: Platform | undefined): Record<string, unknown> {
  const out = ociPlatform(p ?? { architecture: '', os: '' });
  if (p?.features?.length) out.features = p.features;
  return out;
}

/**
 * ociConfigFromDocker rewrites a Docker image config as an OCI one exactly as containers/image does
 * on a Docker → OCI conversion (json.Unmarshal into image-spec's Image, then json.Marshal): fields
 * Docker has and OCI has not are dropped, the rest are in Go struct order, maps sorted, times in
 * RFC 3339 with trailing zeros of the fraction cut, HTML characters escaped.
 */
export function ociConfigFromDocker(bytes: Buffer, what: string): Buffer {
  let c: Record<string, any>;
  try {
    c = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `${what}: the config is not JSON: ${(e as Error).message}`);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new ImgError('MANIFEST_INVALID', `${what}: the config is not a JSON object`);
  const bad = (field: string) => new ImgError('MANIFEST_INVALID', `${what}: config field ${field} has the wrong type`);
  const str = (v: unknown, field: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw bad(field);
    return v === '' ? undefined : v;
  };
  const strs = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(field);
    return v.length ? v : undefined;
  };
  const set = (v: unknown, field: string): Map<string, object> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw bad(field);
    return Object.keys(v).length ? goMap(Object.fromEntries(Object.keys(v).map((k) => [k, {}]))) : undefined;
  };
  const labels = (v: unknown): Map<string, string> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw bad('config.Labels');
    return Object.keys(v).length ? goMap(v as Record<string, string>) : undefined;
  };
  const time = (v: unknown, field: string): string | undefined => (v === undefined || v === null ? undefined : goTime(str(v, field) ?? '', what, field));
  const cfg = (c.config ?? {}) as Record<string, unknown>;
  if (typeof cfg !== 'object' || Array.isArray(cfg)) throw bad('config');
  if (cfg.ArgsEscaped !== undefined && cfg.ArgsEscaped !== null && typeof cfg.ArgsEscaped !== 'boolean') throw bad('config.ArgsEscaped');
  const rootfs = (c.rootfs ?? {}) as Record<string, unknown>;
  if (!Array.isArray(c.history ?? []) || typeof rootfs !== 'object') throw bad('history');
  const out = prune({
    created: time(c.created, 'created'),
    author: str(c.author, 'author'),
    architecture: str(c.architecture, 'architecture') ?? '',
    variant: str(c.variant, 'variant'),
    os: str(c.os, 'os') ?? '',
    'os.version': str(c['os.version'], 'os.version'),
    'os.features': strs(c['os.features'], 'os.features'),
    config: prune({
      User: str(cfg.User, 'config.User'),
      ExposedPorts: set(cfg.ExposedPorts, 'config.ExposedPorts'),
      Env: strs(cfg.Env, 'config.Env'),
      Entrypoint: strs(cfg.Entrypoint, 'config.Entrypoint'),
      Cmd: strs(cfg.Cmd, 'config.Cmd'),
      Volumes: set(cfg.Volumes, 'config.Volumes'),
      WorkingDir: str(cfg.WorkingDir, 'config.WorkingDir'),
      Labels: labels(cfg.Labels),
      StopSignal: str(cfg.StopSignal, 'config.StopSignal'),
      ArgsEscaped: cfg.ArgsEscaped === true ? true : undefined,
    }),
    rootfs: {
      type: str(rootfs.type, 'rootfs.type') ?? '',
      diff_ids: rootfs.diff_ids === undefined ? null : (strs(rootfs.diff_ids, 'rootfs.diff_ids') ?? rootfs.diff_ids),
    },
    history: (c.history as Record<string, unknown>[] | undefined)?.map((h, i) =>
      prune({
        created: time(h.created, `history[${i}].created`),
        created_by: str(h.created_by, `history[${i}].created_by`),
        author: str(h.author, `history[${i}].author`),
        comment: str(h.comment, `history[${i}].comment`),
        empty_layer: h.empty_layer === true ? true : undefined,
      }),
    ),
  });
  if (Array.isArray(out.history) && out.history.length === 0) delete out.history;
  return goJSON(out);
}

function prune(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** goTime re-formats an RFC 3339 time as Go's time.Time MarshalJSON does (RFC3339Nano: fraction without trailing zeros, Z for a zero offset). */
function goTime(s: string, what: string, field: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) throw new ImgError('MANIFEST_INVALID', `${what}: config field ${field} is not an RFC 3339 time: ${JSON.stringify(s)}`);
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3] === 'Z' || m[3] === 'z' || m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : m[3];
  return `${m[1]}${frac ? `.${frac}` : ''}${zone}`;
}

/** goMap marks an object as a Go map, which goJSON writes with its keys sorted. */
function goMap<T>(o: Record<string, T>): Map<string, T> {
  return new Map(Object.entries(o));
}

/**
 * goJSON writes a value as Go's encoding/json writes the structs containers/image marshals: plain
 * objects (structs) in their field order without undefined fields, Maps (Go maps) with keys sorted
 * bytewise (JSON.stringify would put integer-like keys such as "9" and "10" first, in numeric
 * order), and <, >, & escaped.
 */
function goJSON(v: unknown): Buffer {
  const enc = (x: unknown): string => {
    if (x instanceof Map) {
      const keys = [...x.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      return `{${keys.map((k) => `${JSON.stringify(k)}:${enc(x.get(k))}`).join(',')}}`;
    }
    if (Array.isArray(x)) return `[${x.map(enc).join(',')}]`;
    if (x !== null && typeof x === 'object') {
      return `{${Object.entries(x)
        .filter(([, y]) => y !== undefined)
        .map(([k, y]) => `${JSON.stringify(k)}:${enc(y)}`)
        .join(',')}}`;
    }
    return JSON.stringify(x);
  };
  return Buffer.from(goEscape(enc(v)), 'utf8');
}

/** goEscape escapes what Go's encoding/json escapes and JSON.stringify does not. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
