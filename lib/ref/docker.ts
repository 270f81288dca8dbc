import { ImgError } from '../errors.js';
import { parseDigest } from '../oci/digest.js';

/** A normalised docker reference: docker.io/library/busybox:latest, localhost:5000/a/b@sha256:… */
export interface DockerRef {
  /** Registry host, with :port where given; "docker.io" for Docker Hub. */
  domain: string;
  /** Repository path within the registry, "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const DEFAULT_TAG = 'latest';
const MAX_NAME_LENGTH = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const nameComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const pathRe = new RegExp(`^${nameComponent}(?:/${nameComponent})*$`);
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestShapeRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const hex64Re = /^[a-f0-9]{64}$/;

/**
 * parseDockerRef parses and normalises a docker reference as the containers tools do
 * (ParseNormalizedNamed): docker.io and library/ for Docker Hub, index.docker.io folded into
 * docker.io, lowercase repositories, tag and digest grammar, 255-character names. It does not add a
 * default tag: call withDefaultTag for that. `input` is what the user wrote, for messages.
 */
export function parseDockerRef(s: string, input = s): DockerRef {
  const bad = (why: string) => new ImgError('REF_INVALID', `invalid reference ${JSON.stringify(input)}: ${why}`);
  if (s === '') throw bad('empty image name');
  if (hex64Re.test(s)) throw bad('a 64-character hexadecimal string is an image ID, not a repository name');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestShapeRe.test(digest)) throw bad(`invalid digest "${digest}"`);
    try {
      parseDigest(digest);
    } catch (e) {
      throw bad((e as Error).message.replace(/^invalid digest /, 'digest '));
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw bad(`invalid tag "${tag}": up to 128 of letters, digits, "_", "." and "-", not starting with "." or "-"`);
  }
  const { domain, path } = splitDomain(rest);
  if (!domainRe.test(domain)) throw bad(`invalid registry host "${domain}"`);
  if (path.toLowerCase() !== path) throw bad(`repository name "${path}" must be lowercase`);
  if (!pathRe.test(path)) {
    throw bad(`invalid repository name "${path}": components are lowercase letters and digits separated by ".", "_", "__" or "-"`);
  }
  const full = `${domain}/${path}`;
  if (full.length > MAX_NAME_LENGTH) throw bad(`repository name is ${full.length} characters, over the ${MAX_NAME_LENGTH} allowed`);
  const ref: DockerRef = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** splitDomain decides whether the first component is a registry host, as the containers tools do. */
function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/**
 * parseCanonicalDockerRef parses a docker reference that must be written in full, as containers/image's
 * reference.ParseNamed wants one (skopeo copy --sign-identity): docker.io/library/busybox:1, not
 * busybox:1 or docker.io/busybox:1. Not canonical: REF_INVALID, "repository name must be canonical"
 * (its words) and the full form.
 */
export function parseCanonicalDockerRef(s: string): DockerRef {
  const r = parseDockerRef(s);
  const full = formatDockerRef(r);
  if (full !== s) throw new ImgError('REF_INVALID', `repository name must be canonical (${JSON.stringify(s)} is ${full} in full)`);
  return r;
}

/** withDefaultTag gives a name-only reference the tag "latest", as the containers tools do. */
export function withDefaultTag(r: DockerRef): DockerRef {
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: DEFAULT_TAG } : r;
}

/** repositoryOf is "domain/path", the reference without tag and digest. */
export function repositoryOf(r: DockerRef): string {
  return `${r.domain}/${r.path}`;
}

/** formatDockerRef writes the fully-qualified form: docker.io/library/busybox:latest. */
export function formatDockerRef(r: DockerRef): string {
  return `${repositoryOf(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** familiarDockerRef writes the short form users type: busybox:latest, team/app:1. */
export function familiarDockerRef(r: DockerRef): string {
  let name = repositoryOf(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice(8) : r.path;
  }
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/**
 * dockerIdentity is a docker reference's own scope in policy.json and registries.d (containers/image's
 * PolicyConfigurationIdentity): NAME:TAG or NAME@DIGEST (the digest wins when both are given, as it
 * is what is fetched).
 */
export function dockerIdentity(r: DockerRef): string {
  return r.digest !== undefined ? `${repositoryOf(r)}@${r.digest}` : `${repositoryOf(r)}:${r.tag ?? 'latest'}`;
}

/**
 * dockerNamespaces lists its parent scopes (PolicyConfigurationNamespaces): host/ns/repo, host/ns,
 * host, then wildcard domains: for
 * registry.example.com:5000/a/b that is …/a/b, …/a, registry.example.com:5000, *.example.com, *.com.
 */
export function dockerNamespaces(r: DockerRef): string[] {
  const out: string[] = [];
  let name = repositoryOf(r);
  for (;;) {
    out.push(name);
    const slash = name.lastIndexOf('/');
    if (slash === -1) break;
    name = name.slice(0, slash);
  }
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.')) {
    name = name.slice(dot + 1);
    out.push(`*.${name}`);
  }
  return out;
}
