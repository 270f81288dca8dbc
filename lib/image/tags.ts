import { ImgError, wrap } from '../errors.js';
import { parseDockerRef, repositoryOf, type DockerRef } from '../ref/index.js';
import { openTransport, type TransportOptions } from '../transport/index.js';
import { canListRepositories, canListTags } from '../transport/capabilities.js';

/** repositoryArg reads the repository img-tags lists: docker://NAME without tag or digest, as skopeo list-tags takes it. */
export function repositoryArg(arg: string): DockerRef {
  if (!arg.startsWith('docker://')) throw new ImgError('REF_INVALID', `invalid repository ${JSON.stringify(arg)}: tags are listed for docker://REPOSITORY`);
  const ref = parseDockerRef(arg.slice('docker://'.length), arg);
  if (ref.tag !== undefined || ref.digest !== undefined) throw new ImgError('REF_INVALID', `invalid repository ${JSON.stringify(arg)}: give the repository without a tag or digest`);
  return ref;
}

/** registryArg reads the registry img-tags --catalog lists: docker://HOST[:PORT] or HOST[:PORT]. */
export function registryArg(arg: string): string {
  const host = arg.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  let parsed: DockerRef | undefined;
  try {
    parsed = parseDockerRef(`${host}/x`, arg);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.domain !== host || host.includes('/')) throw new ImgError('REF_INVALID', `invalid registry ${JSON.stringify(arg)}: expected docker://HOST[:PORT]`);
  return host;
}

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
