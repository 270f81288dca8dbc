/**
 * Arguments that name docker repositories, registries and sync sources and destinations: the
 * grammar of the commands' arguments beside the references themselves (index.ts). Which transport
 * an argument names is decided here, by its prefix, as parseRef decides it for a reference.
 */
import { ImgError } from '../errors.js';
import { parseDockerRef, type DockerRef } from './docker.js';
import { parseRef, TRANSPORTS, type ImageRef, type TransportName } from './index.js';

const DOCKER = 'docker://';

/** repositoryArg reads the repository img-tags lists: docker://NAME without tag or digest, as skopeo list-tags takes it. */
export function repositoryArg(arg: string): DockerRef {
  if (!arg.startsWith(DOCKER)) throw new ImgError('REF_INVALID', `invalid repository ${JSON.stringify(arg)}: tags are listed for docker://REPOSITORY`);
  const ref = parseDockerRef(arg.slice(DOCKER.length), arg);
  if (ref.tag !== undefined || ref.digest !== undefined)
    throw new ImgError('REF_INVALID', `invalid repository ${JSON.stringify(arg)}: give the repository without a tag or digest`);
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
  if (!parsed || parsed.domain !== host || host.includes('/'))
    throw new ImgError('REF_INVALID', `invalid registry ${JSON.stringify(arg)}: expected docker://HOST[:PORT]`);
  return host;
}

/**
 * SourceArg is a sync source as img-tags reads it: a docker reference without a default tag
 * (docker://REPO is a repository, every tag of it; docker://REPO:TAG and @DIGEST one image), or any
 * other reference.
 */
export type SourceArg = { docker: DockerRef } | { ref: ImageRef };

/** parseSourceArg reads a sync source (see SourceArg). */
export function parseSourceArg(arg: string): SourceArg {
  if (arg.startsWith(DOCKER)) return { docker: parseDockerRef(arg.slice(DOCKER.length), arg) };
  return { ref: parseRef(arg) };
}

/**
 * dockerImageArg reads a DOCKER-REF argument: `docker://REF` or a bare reference; normalised, no tag
 * added. Another transport's reference is refused, with `why` (what only a registry has).
 */
export function dockerImageArg(arg: string, why: string): DockerRef {
  const scheme = /^([a-z-]+):/.exec(arg)?.[1];
  if (scheme !== undefined && scheme !== 'docker' && (TRANSPORTS as readonly string[]).includes(scheme)) {
    throw new ImgError('USAGE', `${arg}: ${why}: give a docker:// reference`);
  }
  return parseDockerRef(arg.startsWith(DOCKER) ? arg.slice(DOCKER.length) : arg, arg);
}

/** The sync source kinds (skopeo sync --src) and destination kinds (--dest). */
export const SYNC_SOURCES = ['docker', 'dir', 'oci', 'yaml'] as const;
export const SYNC_DESTS = ['docker', 'dir', 'oci', 'containers-storage'] as const;

/** withPrefix writes a sync argument as a reference of `kind`: `docker://` + the argument for a registry, `KIND:` + it otherwise (a prefix already there is not repeated). */
function withPrefix(kind: TransportName, arg: string): string {
  const prefix = kind === 'docker' ? DOCKER : `${kind}:`;
  return `${prefix}${arg.startsWith(prefix) ? arg.slice(prefix.length) : arg}`;
}

/**
 * syncSourceArg turns skopeo sync's SOURCE for `--src KIND` into what img-tags reads: a docker
 * repository or image (REPO, REPO:TAG, with or without docker://), a registry HOST with
 * `catalog`, or a dir:/oci: path; a yaml SOURCE is the file.
 */
export function syncSourceArg(kind: string, source: string, catalog: boolean): string {
  if (!(SYNC_SOURCES as readonly string[]).includes(kind))
    throw new ImgError('USAGE', `invalid --src ${JSON.stringify(kind)}: expected one of ${SYNC_SOURCES.join(', ')}`);
  if (catalog && kind !== 'docker') throw new ImgError('USAGE', '--catalog needs --src docker');
  return kind === 'yaml' ? source : withPrefix(kind as TransportName, source);
}

/** syncDestKind reads skopeo sync's `--dest KIND`. */
export function syncDestKind(kind: string): TransportName {
  if (!(SYNC_DESTS as readonly string[]).includes(kind))
    throw new ImgError('USAGE', `invalid --dest ${JSON.stringify(kind)}: expected one of ${SYNC_DESTS.join(', ')}`);
  return kind as TransportName;
}

/** syncDestPrefix turns skopeo sync's DESTINATION for `--dest KIND` into img-ref's --to PREFIX. */
export function syncDestPrefix(kind: string, dest: string): string {
  return withPrefix(syncDestKind(kind), dest);
}

/** skopeo sync's own transports: --src docker, dir or yaml; --dest docker or dir (img-sync takes more). */
const SKOPEO_SYNC_SOURCES = ['docker', 'dir', 'yaml'];
const SKOPEO_SYNC_DESTS = ['docker', 'dir'];

/**
 * checkSkopeoSyncKinds refuses what skopeo sync refuses, in its words: a missing or unknown
 * --src or --dest, and dir to dir. Returns whether SOURCE is a registry's (skopeo then logs its
 * "Tag presence check"), and whether DESTINATION is a directory of image directories (skopeo
 * refuses existing ones and makes them first).
 */
export function checkSkopeoSyncKinds(src: string, dest: string): { registrySource: boolean; directoryDestination: boolean } {
  if (src === '') throw new ImgError('USAGE', 'A source transport must be specified');
  if (!SKOPEO_SYNC_SOURCES.includes(src)) throw new ImgError('USAGE', `${JSON.stringify(src)} is not a valid source transport`);
  if (dest === '') throw new ImgError('USAGE', 'A destination transport must be specified');
  if (!SKOPEO_SYNC_DESTS.includes(dest)) throw new ImgError('USAGE', `${JSON.stringify(dest)} is not a valid destination transport`);
  if (src === dest && src === 'dir') throw new ImgError('USAGE', "sync from 'dir' to 'dir' not implemented, consider using rsync instead");
  return { registrySource: src === 'docker', directoryDestination: dest === 'dir' };
}
