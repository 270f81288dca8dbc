import { ImgError } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import { parseDockerRef, withDefaultTag, formatDockerRef, type DockerRef } from './docker.js';

export * from './docker.js';

export type TransportName = 'docker' | 'dir' | 'oci' | 'oci-archive' | 'docker-archive' | 'docker-daemon' | 'containers-storage' | 'sif';

/** ImageRef is a parsed `transport:reference`. Paths are kept as the user wrote them. */
export type ImageRef =
  | { transport: 'docker'; docker: DockerRef }
  | { transport: 'dir'; path: string }
  | { transport: 'oci' | 'oci-archive'; path: string; name?: string; index?: number }
  | { transport: 'docker-archive'; path: string; docker?: DockerRef; index?: number }
  | { transport: 'docker-daemon'; docker?: DockerRef; id?: string }
  | { transport: 'containers-storage'; store?: string; docker?: DockerRef; id?: string }
  | { transport: 'sif'; path: string };

export const TRANSPORTS: readonly TransportName[] = ['docker', 'dir', 'oci', 'oci-archive', 'docker-archive', 'docker-daemon', 'containers-storage', 'sif'];

/** The grammar of the org.opencontainers.image.ref.name annotation, which oci: names must match. */
const refNameComponent = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const refNameRe = new RegExp(`^${refNameComponent}(?:/${refNameComponent})*$`);
const hex64Re = /^[a-f0-9]{64}$/;

/**
 * parseRef parses `transport:reference` as the containers tools do. It throws REF_INVALID with a
 * message that names the input and what is wrong.
 */
export function parseRef(input: string): ImageRef {
  const bad = (why: string) => new ImgError('REF_INVALID', `invalid reference ${JSON.stringify(input)}: ${why}`);
  if (typeof input !== 'string' || input.trim() === '') throw bad('empty reference');
  if (/[\0\n\r]/.test(input)) throw bad('contains a control character');
  const colon = input.indexOf(':');
  if (colon <= 0) throw bad(`no transport: expected TRANSPORT:REFERENCE with a transport of ${TRANSPORTS.join(', ')} (e.g. docker://busybox)`);
  const transport = input.slice(0, colon);
  const rest = input.slice(colon + 1);
  switch (transport) {
    case 'docker': {
      // NAME:TAG@DIGEST keeps both, as distribution's ParseNormalizedNamed does: a deliberate
      // extension, since older containers/image docker: references refuse tag and digest together.
      if (!rest.startsWith('//')) throw bad('docker references start with "docker://"');
      return { transport, docker: withDefaultTag(parseDockerRef(rest.slice(2), input)) };
    }
    case 'dir':
      if (rest === '') throw bad('dir: needs a path');
      return { transport, path: rest };
    case 'oci':
    case 'oci-archive': {
      const [path, name] = splitPath(rest);
      if (path === '') throw bad(`${transport}: needs a path`);
      // An empty name ("oci:PATH:") means no name, as in containers/image.
      if (name === undefined || name === '') return { transport, path };
      if (name.startsWith('@')) return { transport, path, index: parseIndex(name.slice(1), bad) };
      if (!refNameRe.test(name)) throw bad(`invalid image name "${name}": letters, digits and "-._:@+" separated by "/"`);
      return { transport, path, name };
    }
    case 'docker-archive': {
      const [path, spec] = splitPath(rest);
      if (path === '') throw bad('docker-archive: needs a path');
      if (spec === undefined) return { transport, path };
      if (spec.startsWith('@')) return { transport, path, index: parseIndex(spec.slice(1), bad) };
      const docker = parseDockerRef(spec, input);
      if (docker.digest !== undefined) throw bad('docker-archive references cannot have a digest');
      return { transport, path, docker: withDefaultTag(docker) };
    }
    case 'docker-daemon': {
      // As containers/image: sha256:ID is an image ID; a digest of another algorithm is refused
      // (it would otherwise read as the repository "sha512" with a tag), as is the repository
      // name sha256, a name with neither tag nor digest (the daemon would take it as every tag)
      // and a name with both. NAME@DIGEST (an image the engine pulled by that digest) can be
      // read; writing needs NAME:TAG (checked where the image is written).
      if (rest.startsWith('sha256:')) {
        parseDigest(rest, `image ID in ${JSON.stringify(input)}`);
        return { transport, id: rest };
      }
      if (/^(?:sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/.test(rest)) throw bad('docker-daemon image IDs are sha256:<64 hex digits>');
      const docker = parseDockerRef(rest, input);
      if (docker.digest !== undefined && docker.tag !== undefined)
        throw bad('docker-daemon references name an image by NAME:TAG, NAME@DIGEST or sha256:ID, not by a tag and a digest at once');
      if (docker.domain === 'docker.io' && docker.path === 'library/sha256')
        throw bad('the repository name "sha256" is reserved for sha256:ID image references');
      if (docker.tag === undefined && docker.digest === undefined)
        throw bad('docker-daemon references need a tag: NAME:TAG (the name alone has neither a tag nor a digest)');
      return { transport, docker };
    }
    case 'containers-storage':
      return parseStorageRef(rest, bad);
    case 'sif':
      // The whole rest is the path, colons included, as containers/image's sif.NewReference takes it.
      if (rest === '') throw bad('sif: needs a path');
      return { transport, path: rest };
    default:
      throw bad(`unknown transport "${transport}" (known: ${TRANSPORTS.join(', ')})`);
  }
}

/** splitPath splits "PATH[:SPEC]" at the first colon, as the containers tools do on Unix. */
function splitPath(s: string): [string, string | undefined] {
  const i = s.indexOf(':');
  return i === -1 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

function parseIndex(s: string, bad: (why: string) => ImgError): number {
  if (!/^[0-9]{1,9}$/.test(s)) throw bad(`invalid image index "@${s}": expected @N with N a non-negative integer`);
  return Number(s);
}

/**
 * A containers-storage: store specifier, `[DRIVER@GRAPHROOT+RUNROOT:OPTIONS]` without the brackets,
 * read as containers/image (storage_transport.go, ParseReference) reads it: an optional `DRIVER@`
 * first, then `:OPTIONS` (comma-separated) from the first colon, then `+RUNROOT` from the first plus;
 * what is left is the graph root. Paths must be absolute. Each part left out is the store's default.
 */
export interface StoreSpec {
  driver?: string;
  graphRoot?: string;
  runRoot?: string;
  options?: string[];
}

/** parseStoreSpec reads a store specifier (without brackets); it throws an Error saying what is wrong. */
export function parseStoreSpec(spec: string): StoreSpec {
  const out: StoreSpec = {};
  let rest = spec;
  if (rest === '') throw new Error('the store specifier [] is empty: expected [DRIVER@GRAPHROOT+RUNROOT:OPTIONS], e.g. [vfs@/var/lib/containers/storage]');
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (at === 0) throw new Error(`store specifier [${spec}] has an empty driver before "@"`);
    out.driver = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (rest === '') throw new Error(`store specifier [${spec}] has nothing after "${out.driver}@": expected a graph root, +RUNROOT or :OPTIONS`);
  }
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const options = rest.slice(colon + 1).split(',');
    if (options.some((o) => o === '')) throw new Error(`store specifier [${spec}] has an empty storage option (options are :OPT1,OPT2)`);
    out.options = options;
    rest = rest.slice(0, colon);
  }
  const plus = rest.indexOf('+');
  if (plus >= 0) {
    const runRoot = rest.slice(plus + 1);
    rest = rest.slice(0, plus);
    if (runRoot !== '') {
      if (!runRoot.startsWith('/')) throw new Error(`store specifier [${spec}]: the run root ${JSON.stringify(runRoot)} is not an absolute path`);
      out.runRoot = runRoot;
    }
  }
  if (rest !== '') {
    if (!rest.startsWith('/')) throw new Error(`store specifier [${spec}]: the graph root ${JSON.stringify(rest)} is not an absolute path`);
    out.graphRoot = rest;
  }
  return out;
}

/**
 * parseStorageRef reads what follows `containers-storage:` as containers/image 5.23 does
 * (storage_transport.go, ParseStoreReference): an optional [store specifier], then NAME[:TAG][@DIGEST],
 * optionally followed by @ID, or ID / @ID alone. The part after the last "@" is an image ID unless it
 * is shaped like a digest. A name is normalised as docker names are (busybox is
 * docker.io/library/busybox:latest; localhost/app stays as it is) and gets :latest without a tag or
 * digest. containers/image also takes a truncated ID of an image present in the store; imgpipe
 * parses without a store, so an ID is all 64 hex digits.
 */
function parseStorageRef(rest: string, bad: (why: string) => ImgError): ImageRef {
  let store: string | undefined;
  let s = rest;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close === -1) throw bad('unterminated [store specifier]: expected [DRIVER@GRAPHROOT+RUNROOT:OPTIONS] before the image');
    store = s.slice(1, close);
    try {
      parseStoreSpec(store);
    } catch (e) {
      throw bad((e as Error).message);
    }
    s = s.slice(close + 1);
  }
  const base = store === undefined ? {} : { store };
  if (s === '') throw bad('containers-storage: needs an image name or ID');
  if (hex64Re.test(s)) return { transport: 'containers-storage', ...base, id: s };
  let id: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    const tail = s.slice(at + 1);
    if (tail === '') throw bad('nothing after "@": expected an image ID (64 hex digits) or a digest');
    // A digest (ALGORITHM:HEX) is left for the name's parser; anything else must be an image ID.
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(tail)) {
      if (!hex64Re.test(tail))
        throw bad(`invalid digest or image ID "${tail}": an image ID is 64 lowercase hex digits (a truncated ID is not looked up), a digest is ALGORITHM:HEX`);
      id = tail;
      s = s.slice(0, at);
      if (s === '') return { transport: 'containers-storage', ...base, id };
    }
  }
  const docker = withDefaultTag(parseDockerRef(s, `containers-storage:${rest}`));
  return id === undefined ? { transport: 'containers-storage', ...base, docker } : { transport: 'containers-storage', ...base, docker, id };
}

/** formatRef writes the canonical `transport:reference` string of a parsed reference. */
export function formatRef(r: ImageRef): string {
  switch (r.transport) {
    case 'docker':
      return `docker://${formatDockerRef(r.docker)}`;
    case 'dir':
      return `dir:${r.path}`;
    case 'oci':
    case 'oci-archive':
      return `${r.transport}:${r.path}${r.name !== undefined ? `:${r.name}` : r.index !== undefined ? `:@${r.index}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${r.path}${r.docker ? `:${formatDockerRef(r.docker)}` : r.index !== undefined ? `:@${r.index}` : ''}`;
    case 'docker-daemon':
      return `docker-daemon:${r.docker ? formatDockerRef(r.docker) : r.id}`;
    case 'containers-storage': {
      const store = r.store !== undefined ? `[${r.store}]` : '';
      const name = r.docker ? formatDockerRef(r.docker) : '';
      return `containers-storage:${store}${name}${r.id !== undefined ? (name ? `@${r.id}` : r.id) : ''}`;
    }
    case 'sif':
      return `sif:${r.path}`;
  }
}

/** isValidRefName says whether s may be an oci: image name (the ref.name annotation grammar). */
export function isValidRefName(s: string): boolean {
  return refNameRe.test(s);
}

/**
 * splitBlobRef reads `REF@DIGEST` (or REF and a separate DIGEST) as img-blob-get takes it: the
 * image location and the digest of one blob in it. The digest is validated.
 */
export function splitBlobRef(arg: string, digestArg?: string): { ref: ImageRef; digest: string } {
  let refPart = arg;
  let digest = digestArg;
  if (digest === undefined) {
    const at = arg.lastIndexOf('@');
    if (at === -1) throw new ImgError('USAGE', `${JSON.stringify(arg)} names no blob: expected REF@DIGEST or REF DIGEST`);
    refPart = arg.slice(0, at);
    digest = arg.slice(at + 1);
  }
  parseDigest(digest, 'blob digest');
  return { ref: parseRef(refPart), digest };
}
