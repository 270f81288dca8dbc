/**
 * signedIdentity: how the docker reference a signature claims is matched against the image being
 * checked, as containers/image's policy_reference_match.go does it. Pure functions, no I/O.
 */
import { formatDockerRef, parseDockerRef, repositoryOf, type DockerRef } from '../ref/docker.js';

export type SignedIdentity =
  | { type: 'matchExact' }
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

export const IDENTITY_TYPES = ['matchExact', 'matchRepoDigestOrExact', 'matchRepository', 'exactReference', 'exactRepository', 'remapIdentity'] as const;

const nameOnly = (r: DockerRef) => r.tag === undefined && r.digest === undefined;

function parse(s: string): DockerRef | undefined {
  try {
    return parseDockerRef(s);
  } catch {
    return undefined;
  }
}

/**
 * matchRepoDigestOrExactValues: a signature with neither tag nor digest never matches; an image named
 * by tag needs the same reference exactly; an image named only by digest needs the same repository
 * (the digest itself is checked against the manifest elsewhere).
 */
function matchRepoDigestOrExactValues(intended: DockerRef, signed: DockerRef): boolean {
  if (nameOnly(signed)) return false;
  if (intended.tag !== undefined) return formatDockerRef(signed) === formatDockerRef(intended);
  if (intended.digest !== undefined) return repositoryOf(signed) === repositoryOf(intended);
  return false;
}

/** remapPrefixMatches says whether a repository name starts with `prefix` at a "/" boundary, or equals it. */
export function remapPrefixMatches(name: string, prefix: string): boolean {
  if (name.length < prefix.length) return false;
  if (name.length === prefix.length) return name === prefix;
  return name.startsWith(prefix) && name[prefix.length] === '/';
}

/**
 * remapReference rewrites `ref` from `prefix` to `signedPrefix` when its name matches; the result must
 * be a canonical reference (as reference.ParseNamed demands), else undefined.
 */
export function remapReference(ref: DockerRef, prefix: string, signedPrefix: string): DockerRef | undefined {
  if (!remapPrefixMatches(repositoryOf(ref), prefix)) return ref;
  const s = formatDockerRef(ref);
  const rewritten = s.replace(prefix, () => signedPrefix);
  const parsed = parse(rewritten);
  return parsed && formatDockerRef(parsed) === rewritten ? parsed : undefined;
}

/**
 * matchesSignedIdentity says whether a signature claiming `signedReference` is accepted for an image
 * whose own docker reference is `intended` (undefined for dir: and oci: images, which have none:
 * then only exactReference and exactRepository can match). Unparsable references never match.
 */
export function matchesSignedIdentity(identity: SignedIdentity, intended: DockerRef | undefined, signedReference: string): boolean {
  const signed = parse(signedReference);
  if (!signed) return false;
  switch (identity.type) {
    case 'matchExact':
      return intended !== undefined && !nameOnly(intended) && !nameOnly(signed) && formatDockerRef(signed) === formatDockerRef(intended);
    case 'matchRepoDigestOrExact':
      return intended !== undefined && matchRepoDigestOrExactValues(intended, signed);
    case 'matchRepository':
      return intended !== undefined && repositoryOf(signed) === repositoryOf(intended);
    case 'exactReference': {
      const want = parse(identity.dockerReference);
      return want !== undefined && !nameOnly(want) && !nameOnly(signed) && formatDockerRef(signed) === formatDockerRef(want);
    }
    case 'exactRepository': {
      const want = parse(identity.dockerRepository);
      return want !== undefined && repositoryOf(signed) === repositoryOf(want);
    }
    case 'remapIdentity': {
      if (intended === undefined) return false;
      const remapped = remapReference(intended, identity.prefix, identity.signedPrefix);
      return remapped !== undefined && matchRepoDigestOrExactValues(remapped, signed);
    }
  }
}

// Grammar of distribution/reference, for validating remapIdentity prefixes.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const domainRe = new RegExp(`^${domain}$`);
const domainPrefixRe = new RegExp(`^${domain}/`);
const nameRe = new RegExp(`^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*$`);

/**
 * isValidRemapPrefix accepts what containers/image accepts for prefix and signedPrefix: a registry
 * host[:port], or a name that starts with one and a "/" (like it, it cannot tell "ns/repo" apart).
 */
export function isValidRemapPrefix(s: string): boolean {
  return domainRe.test(s) || (nameRe.test(s) && domainPrefixRe.test(s));
}
