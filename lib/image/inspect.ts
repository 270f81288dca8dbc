import { createHash } from 'node:crypto';
import { ImgError, wrap } from '../errors.js';
import { parseManifest, type Descriptor, type ImageManifest, type Platform } from '../oci/manifest.js';
import { readCapped } from '../stream/verify.js';
import { formatRef, parseRef } from '../ref/index.js';
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import { canListTags, dockerNameOf } from '../transport/capabilities.js';
import { MediaType } from '../oci/mediatype.js';
import { MAX_DOCUMENT_DEPTH, tooDeep } from '../oci/json-depth.js';
import { compileFormat, configJSON, configValue, inspectJSON, inspectValue, isJSONFormat, renderFormat, type InspectOutput } from './inspect-format.js';

/** Image configs are read whole; larger ones are refused. */
const MAX_CONFIG_SIZE = 16 * 1024 * 1024;

export interface InspectOptions {
  noTags?: boolean;
  platform?: Platform;
  warn?: (line: string) => void;
  /** the algorithm of Digest (skopeo inspect --manifest-digest); else that of the image's config digest, as skopeo's */
  digestAlgorithm?: string;
}

/** DIGEST_ALGORITHMS are those skopeo inspect --manifest-digest can compute (go-digest's available ones). */
export const DIGEST_ALGORITHMS = ['sha256', 'sha384', 'sha512'];

/** manifestDigestWith is the digest of manifest bytes by `algorithm`, refused (naming it) where skopeo's is not available. */
export function manifestDigestWith(bytes: Uint8Array, algorithm: string, what = 'digest algorithm'): string {
  if (!DIGEST_ALGORITHMS.includes(algorithm))
    throw new ImgError('USAGE', `${what} ${JSON.stringify(algorithm)} is not available (${DIGEST_ALGORITHMS.join(', ')} are)`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** InspectOutput is what `skopeo inspect` prints (defined beside its Go type in inspect-format.ts, which renders it). */
export type { InspectOutput };

/** hostPlatform is the platform skopeo would pick from an index on this machine. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const p: Platform = { os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch[process.arch] ?? process.arch };
  if (process.arch === 'arm64') p.variant = 'v8';
  return p;
}

/** chooseInstance picks the child of an index for a platform, as containers/image does (variant optional for arm64/v8). */
export function chooseInstance(manifests: Descriptor[], want: Platform, what: string): Descriptor {
  const matches = (d: Descriptor, strictVariant: boolean) =>
    d.platform?.os === want.os &&
    d.platform.architecture === want.architecture &&
    (!strictVariant ||
      (d.platform.variant ?? '') === (want.variant ?? '') ||
      (want.architecture === 'arm64' && (d.platform.variant ?? 'v8') === (want.variant ?? 'v8')));
  const found = manifests.find((d) => matches(d, true)) ?? manifests.find((d) => matches(d, false) && want.variant === undefined);
  if (!found) {
    throw new ImgError(
      'MANIFEST_UNKNOWN',
      `${what}: no image in the index for ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''} (choose one with --platform)`,
    );
  }
  return found;
}

/** imageOf resolves a reference to one image manifest: itself, or the index's child for the platform. */
export async function imageOf(t: Transport, platform: Platform): Promise<{ topDigest: string; topBytes: Uint8Array; manifest: ImageManifest }> {
  const top = await t.getManifest();
  const parsed = parseManifest(top.bytes, t.name, top.mediaType);
  if (parsed.kind === 'image') return { topDigest: top.digest, topBytes: top.bytes, manifest: parsed.manifest };
  const child = chooseInstance(parsed.manifest.manifests, platform, t.name);
  const m = await t.getManifest(child.digest);
  const inner = parseManifest(m.bytes, `${t.name}@${child.digest}`, m.mediaType);
  if (inner.kind !== 'image') throw new ImgError('MANIFEST_UNSUPPORTED', `${t.name}: nested indexes are not supported for inspect`);
  return { topDigest: top.digest, topBytes: top.bytes, manifest: inner.manifest };
}

/** readConfig fetches and parses an image's config blob, verified. */
export async function readConfig(t: Transport, m: ImageManifest): Promise<{ raw: Buffer; config: Record<string, any> }> {
  if (m.config.size > MAX_CONFIG_SIZE)
    throw new ImgError('TOO_LARGE', `config ${m.config.digest} is ${m.config.size} bytes, over the ${MAX_CONFIG_SIZE}-byte limit`);
  const raw = await readCapped(
    (await t.getBlob({ digest: m.config.digest, size: m.config.size })) as AsyncIterable<Buffer>,
    MAX_CONFIG_SIZE,
    `config ${m.config.digest}`,
  );
  if (tooDeep(raw, MAX_DOCUMENT_DEPTH))
    throw new ImgError(
      'MANIFEST_INVALID',
      `config ${m.config.digest} nests arrays and objects deeper than ${MAX_DOCUMENT_DEPTH} levels, the limit for a config`,
    );
  try {
    const config = JSON.parse(raw.toString('utf8'));
    if (typeof config !== 'object' || config === null) throw new Error('not an object');
    return { raw, config };
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `config ${m.config.digest} is not a JSON object: ${(e as Error).message}`);
  }
}

/** inspectImage gathers what `skopeo inspect` prints for a reference. */
export async function inspectImage(refString: string, topts: TransportOptions, opts: InspectOptions = {}): Promise<InspectOutput> {
  const ref = parseRef(refString);
  const name = formatRef(ref);
  const t = openTransport(ref, topts);
  try {
    const { topDigest, topBytes, manifest } = await imageOf(t, opts.platform ?? hostPlatform());
    const { config } = await readConfig(t, manifest);
    // skopeo's Digest: the top manifest's, by --manifest-digest's algorithm, else by that of the config's digest
    const configAlgorithm = manifest.config.digest.slice(0, manifest.config.digest.indexOf(':'));
    const algorithm = opts.digestAlgorithm ?? configAlgorithm;
    const digest =
      algorithm === topDigest.slice(0, topDigest.indexOf(':'))
        ? topDigest
        : manifestDigestWith(topBytes, algorithm, opts.digestAlgorithm === undefined ? 'config digest algorithm' : 'digest algorithm');
    const out: InspectOutput = {
      Digest: digest,
      RepoTags: [],
      // containers/image reads a Docker config's created as a time.Time (zero when absent), an OCI one's as a *time.Time (null)
      Created: goTime(config.created) ?? (manifest.mediaType === MediaType.dockerManifest ? '0001-01-01T00:00:00Z' : null),
      DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
      Labels: nonEmptyObject(config.config?.Labels),
      Architecture: typeof config.architecture === 'string' ? config.architecture : '',
      Os: typeof config.os === 'string' ? config.os : '',
      Layers: manifest.layers.map((l) => l.digest),
      LayersData: manifest.layers.map((l) => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ?? null })),
      Env: Array.isArray(config.config?.Env) ? config.config.Env : null,
    };
    const dockerName = dockerNameOf(t);
    if (dockerName !== undefined) {
      const named: InspectOutput = { Name: dockerName, ...out };
      if (!opts.noTags && canListTags(t)) {
        try {
          named.RepoTags = await t.listTags();
        } catch (e) {
          if (e instanceof ImgError && (e.code === 'DENIED' || e.code === 'UNAUTHORIZED'))
            opts.warn?.(`listing tags of ${name} was refused (${e.message}); RepoTags left empty`);
          else throw e;
        }
      }
      return named;
    }
    return out;
  } catch (e) {
    throw wrap(e, `inspecting ${name}`, name);
  }
}

/** inspectConfig reads the config of the image inspectImage shows (for an index, the platform's child). */
export async function inspectConfig(
  refString: string,
  topts: TransportOptions,
  opts: InspectOptions = {},
): Promise<{ raw: Buffer; config: Record<string, any> }> {
  const name = formatRef(parseRef(refString));
  try {
    const t = openTransport(parseRef(refString), topts);
    const { manifest } = await imageOf(t, opts.platform ?? hostPlatform());
    return await readConfig(t, manifest);
  } catch (e) {
    throw wrap(e, `inspecting ${name}`, name);
  }
}

/**
 * inspectPrinter gives what `get --inspect` prints for a reference: skopeo inspect's JSON, or with
 * `config` skopeo inspect --config's (the config read as image-spec's v1.Image), or either
 * through a --format Go template. The template is parsed here, before anything is fetched, so a bad
 * one is a usage error at once; an error while running it (an unknown field) fails that reference.
 */
export function inspectPrinter(show: { config?: boolean; format?: string }): (ref: string, topts: TransportOptions, opts: InspectOptions) => Promise<string> {
  const format = show.format ?? '';
  const tmpl = format === '' || isJSONFormat(format) ? undefined : compileFormat(format);
  return async (ref, topts, opts) => {
    const name = formatRef(parseRef(ref));
    if (show.config) {
      const v = configValue((await inspectConfig(ref, topts, opts)).config, `inspecting ${name}: reading its config`);
      return tmpl ? formatOrWrap(() => renderFormat(tmpl, v), name) : configJSON(v);
    }
    const out = await inspectImage(ref, topts, opts);
    return formatOrWrap(() => (tmpl ? renderFormat(tmpl, inspectValue(out)) : inspectJSON(out)), name);
  };
}

function formatOrWrap(render: () => string, name: string): string {
  try {
    return render();
  } catch (e) {
    throw wrap(e, `inspecting ${name}`, name);
  }
}

/** goTime formats a timestamp as Go's time.Time marshals it (RFC 3339, fraction without trailing zeros). */
export function goTime(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(v);
  if (!m) return v;
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3]!.toUpperCase() === 'Z' || m[3] === '+00:00' ? 'Z' : m[3]!;
  return `${m[1]}${frac ? `.${frac}` : ''}${zone}`;
}

function nonEmptyObject(v: unknown): Record<string, string> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, string>) : null;
}

/** goJson writes JSON as Go's json.MarshalIndent with four spaces does, HTML characters escaped. */
export function goJson(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
