import { ImgError, wrap } from '../errors.js';
import { formatDockerRef, formatRef, parseDockerRef, repositoryOf, type DockerRef, type ImageRef } from '../ref/index.js';
import { parseSourceArg } from '../ref/args.js';
import { openTransport, type TransportOptions } from '../transport/index.js';
import { canListArchiveTags, canListImages, canListRepositories, canListTags, type ListedImage } from '../transport/capabilities.js';
import { matchRegex, matchSemver, newest, parseConstraint, compileGoRegex } from '../sync/tagfilter.js';
import { expandSource, validTags, type SyncSource } from '../sync/source.js';

export { registryArg, repositoryArg } from '../ref/args.js';

/** listTags lists a repository's tags. */
export async function listTags(repo: DockerRef, topts: TransportOptions): Promise<string[]> {
  const name = `docker://${repositoryOf(repo)}`;
  const t = openTransport({ transport: 'docker', docker: { ...repo, tag: 'latest' } }, topts);
  if (!canListTags(t)) throw new ImgError('UNSUPPORTED', `${name} cannot list tags`);
  try {
    return await t.listTags();
  } catch (e) {
    throw wrap(e, `listing tags of ${name}`, name);
  }
}

/**
 * archiveTags lists the names an archive holds (ArchiveTags: docker-archive:FILE, whatever image the
 * reference picks), as skopeo list-tags does, with the filters applied to the tag of each name (an
 * unnamed image, @N, passes every filter). A reference whose transport holds no such names is
 * UNSUPPORTED, naming its transport.
 */
export async function archiveTags(ref: ImageRef, f: TagFilters, topts: TransportOptions): Promise<string[]> {
  const name = formatRef(ref);
  const t = openTransport(ref, topts);
  if (!canListArchiveTags(t))
    throw new ImgError(
      'UNSUPPORTED',
      `cannot list tags of ${name}: the ${name.split(':')[0]}: transport keeps no tags (tags are listed for docker://REPOSITORY and docker-archive:FILE)`,
    );
  const names = await t.listArchiveTags();
  if (!hasFilters(f)) return names;
  const tagOf = (n: string) => (n.startsWith('@') ? undefined : n.slice(n.lastIndexOf(':') + 1));
  const kept = new Set(filterTags([...new Set(names.map(tagOf).filter((t) => t !== undefined))], f));
  return names.filter((n) => tagOf(n) === undefined || kept.has(tagOf(n)!));
}

/** listRepositories lists every repository of a registry (the _catalog API). */
export async function listRepositories(host: string, topts: TransportOptions): Promise<string[]> {
  const t = openTransport({ transport: 'docker', docker: { domain: host, path: 'catalog', tag: 'latest' } }, topts);
  if (!canListRepositories(t)) throw new ImgError('UNSUPPORTED', `docker://${host} cannot list repositories`);
  try {
    return await t.listRepositories();
  } catch (e) {
    throw wrap(e, `listing repositories of docker://${host}`, `docker://${host}`);
  }
}

/** TagFilters selects tags: Go RE2 --regex and --exclude, a Masterminds --semver constraint, then the --newest N by semver. */
export interface TagFilters {
  regex?: string;
  exclude?: string;
  semver?: string;
  newest?: number;
}

const hasFilters = (f: TagFilters) => f.regex !== undefined || f.exclude !== undefined || f.semver !== undefined || f.newest !== undefined;

/** checkFilters fails (USAGE) on a bad regex or constraint, before anything is listed. */
export function checkFilters(f: TagFilters): void {
  if (f.regex !== undefined) compileGoRegex(f.regex, '--regex');
  if (f.exclude !== undefined) compileGoRegex(f.exclude, '--exclude');
  if (f.semver !== undefined) parseConstraint(f.semver);
}

/** filterTags keeps the tags the filters select, in input order (with --newest, highest version first). */
export function filterTags(tags: readonly string[], f: TagFilters): string[] {
  let out = [...tags];
  if (f.regex !== undefined || f.exclude !== undefined) out = matchRegex(out, f.regex ?? '', f.exclude);
  if (f.semver !== undefined) out = matchSemver(out, f.semver);
  if (f.newest !== undefined) out = newest(out, f.newest);
  return out;
}

/**
 * sourceImages lists the images a sync source names, as skopeo sync reads its SOURCE, with the
 * filters applied to their tags: docker://REPO gives every tag, docker://REPO:TAG and
 * docker://REPO@DIGEST that image alone (a digest passes every filter); a source that lists images
 * (ImageLister: oci:PATH every named image of the layout, filtered by the tag part of its name,
 * oci:PATH:NAME that one; dir:PATH every image directory below PATH, which tag filters do not apply
 * to) its images; any other reference itself. `arg` is a reference as the user wrote it: a docker
 * reference without tag is a repository here, not NAME:latest. Each image comes with the base its
 * --scoped name is relative to, where it has one.
 */
export async function sourceImages(arg: string, f: TagFilters, topts: TransportOptions): Promise<ListedImage[]> {
  const src = parseSourceArg(arg);
  if ('docker' in src) {
    const ref = src.docker;
    if (ref.digest !== undefined) return [{ ref: `docker://${formatDockerRef(ref)}` }];
    if (ref.tag !== undefined) return filterTags([ref.tag], f).map((tag) => ({ ref: `docker://${formatDockerRef({ ...ref, tag })}` }));
    const tags = filterTags(validTags(ref, await listTags(ref, topts)), f);
    return tags.map((tag) => ({ ref: `docker://${formatDockerRef({ ...ref, tag })}` }));
  }
  const t = openTransport(src.ref, topts);
  if (!canListImages(t))
    throw new ImgError('UNSUPPORTED', `cannot list the images of ${formatRef(src.ref)}: only docker://, dir: and oci: sources can be listed`);
  if (!t.tagFilters && hasFilters(f)) throw new ImgError('USAGE', `cannot filter the images of ${arg}: tag filters apply to docker:// and oci: sources`);
  const images = await t.listImages();
  if (!hasFilters(f)) return images;
  const byTag = new Map<string, ListedImage[]>();
  const untagged: ListedImage[] = [];
  for (const image of images) {
    if (image.tag === undefined) untagged.push(image);
    else byTag.set(image.tag, [...(byTag.get(image.tag) ?? []), image]);
  }
  return [...filterTags([...byTag.keys()], f).flatMap((tag) => byTag.get(tag)!), ...untagged];
}

/** catalogImages lists every tag of every repository of a registry; a repository that cannot be listed comes as {ref, error}. */
export async function* catalogImages(host: string, f: TagFilters, topts: TransportOptions): AsyncGenerator<{ ref: string; error?: unknown }> {
  for (const repo of await listRepositories(host, topts)) {
    const name = `docker://${host}/${repo}`;
    let refs: ListedImage[];
    try {
      refs = await sourceImages(name, f, topts);
    } catch (error) {
      yield { ref: name, error };
      continue;
    }
    for (const { ref } of refs) yield { ref };
  }
}

/**
 * yamlSourceOptions gives the transport options for one registry of a sync YAML file: the
 * command's own, with the file's tls-verify, cert-dir and credentials in their place.
 */
export function yamlSourceOptions(src: SyncSource, topts: TransportOptions): TransportOptions {
  const registry = { ...(topts.registry ?? {}) };
  if (src.tlsVerify !== undefined) registry.tlsVerify = src.tlsVerify;
  if (src.certDir !== undefined) registry.certDir = src.certDir;
  if (src.credentials)
    registry.credentials = {
      ...(registry.credentials?.authfile ? { authfile: registry.credentials.authfile } : {}),
      username: src.credentials.username,
      password: src.credentials.password,
    };
  return { ...topts, registry };
}

/** yamlImages expands one source of a sync YAML file into image references, with the filters applied on top of the file's. */
export async function yamlImages(src: SyncSource, f: TagFilters, topts: TransportOptions): Promise<string[]> {
  const opts = yamlSourceOptions(src, topts);
  const refs = await expandSource(src, (domain, path) => listTags({ domain, path }, opts));
  if (!hasFilters(f)) return refs;
  const tagged = new Map<string, string>();
  const digests: string[] = [];
  for (const r of refs) {
    const d = parseDockerRef(r.slice('docker://'.length));
    if (d.tag === undefined) digests.push(r);
    else tagged.set(d.tag, r);
  }
  return [...filterTags([...tagged.keys()], f).map((t) => tagged.get(t)!), ...digests];
}
