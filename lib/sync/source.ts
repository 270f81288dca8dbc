/** A source of skopeo sync's YAML file, and its expansion into references (no YAML parsing here: lib/sync/yaml.ts). */
import { ImgError } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import { formatDockerRef, parseDockerRef, repositoryOf, type DockerRef } from '../ref/docker.js';
import { compileGoRegex, matchRegex, matchSemver, parseConstraint } from './tagfilter.js';

export type SyncSelection =
  | { kind: 'all' }
  | { kind: 'tags'; tags: string[]; digests: string[] }
  | { kind: 'regex'; pattern: string }
  | { kind: 'semver'; constraint: string };

export interface SyncSource {
  /** The registry key of the YAML file this source comes from, as written ("quay.io/org"). */
  key: string;
  /** Registry host, with :port where given ("docker.io" for Docker Hub). */
  registry: string;
  /** Repository path in the registry, normalised ("library/busybox"). */
  repository: string;
  selection: SyncSelection;
  tlsVerify?: boolean;
  certDir?: string;
  credentials?: { username: string; password: string };
}

/**
 * expandSource lists the images a SyncSource selects as `docker://REGISTRY/REPO:TAG` and
 * `docker://REGISTRY/REPO@DIGEST` references, in skopeo's order: the registry's tag order for
 * all tags, regex and semver; listed tags then listed digests for a tags selection (which needs
 * no tag list). Tags the registry lists that are not valid tags are skipped, as skopeo does.
 * `listTags` is called at most once; its errors pass through.
 */
export async function expandSource(src: SyncSource, listTags: (registry: string, repository: string) => Promise<string[]>): Promise<string[]> {
  const repo = parseDockerRef(`${src.registry}/${src.repository}`);
  if (repo.tag !== undefined || repo.digest !== undefined || repo.domain !== src.registry || repo.path !== src.repository) {
    throw new ImgError(
      'REF_INVALID',
      `invalid sync source ${JSON.stringify(`${src.registry}/${src.repository}`)}: expected a normalised registry and repository`,
    );
  }
  const tagRef = (tag: string) => `docker://${formatDockerRef({ domain: repo.domain, path: repo.path, tag })}`;
  const sel = src.selection;
  switch (sel.kind) {
    case 'tags':
      for (const d of sel.digests) parseDigest(d, 'digest');
      for (const t of sel.tags) parseDockerRef(`${src.registry}/${src.repository}:${t}`);
      return [...sel.tags.map(tagRef), ...sel.digests.map((digest) => `docker://${formatDockerRef({ domain: repo.domain, path: repo.path, digest })}`)];
    case 'all':
      return validTags(repo, await listTags(repo.domain, repo.path)).map(tagRef);
    case 'regex': {
      compileGoRegex(sel.pattern);
      return matchRegex(validTags(repo, await listTags(repo.domain, repo.path)), sel.pattern).map(tagRef);
    }
    case 'semver': {
      const c = parseConstraint(sel.constraint);
      return matchSemver(validTags(repo, await listTags(repo.domain, repo.path)), c).map(tagRef);
    }
  }
}

/** validTags drops listed tags that are not valid tags of `repo` (as skopeo sync skips them). */
export function validTags(repo: DockerRef, tags: readonly string[]): string[] {
  return tags.filter((t) => {
    try {
      return parseDockerRef(`${repositoryOf(repo)}:${t}`).tag === t;
    } catch {
      return false;
    }
  });
}
