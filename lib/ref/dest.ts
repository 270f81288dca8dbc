import { posix } from 'node:path';
import { ImgError } from '../errors.js';
import { formatDockerRef, repositoryOf } from './docker.js';
import { formatRef, parseRef, type ImageRef } from './index.js';

export interface DestOptions {
  /** Keep the source's registry and full path under the prefix (skopeo sync --scoped). */
  scoped?: boolean;
  /** Append this to the destination tag (skopeo sync --append-suffix). */
  appendSuffix?: string;
  /** For a dir: source found below a directory (img-tags dir:BASE): BASE, which `scoped` names are relative to, as skopeo sync's. */
  base?: string;
}

/**
 * destinationFor names where a source image goes under a destination prefix, as skopeo sync names
 * it: docker://PREFIX/NAME:TAG, dir:PREFIX/NAME:TAG, and for oci: one layout holding every image
 * as oci:PATH:NAME:TAG, and containers-storage:[STORE]PREFIX/NAME:TAG. NAME is the last path component of the source repository, or with
 * `scoped` the whole of it with its registry.
 */
export function destinationFor(source: string | ImageRef, prefix: string, opts: DestOptions = {}): string {
  const src = typeof source === 'string' ? parseRef(source) : source;
  const srcName = formatRef(src);
  let suffix = sourceSuffix(src, opts.scoped === true, opts.base);
  if (opts.appendSuffix) {
    if (!/:[^/@]+$/.test(suffix) || suffix.includes('@')) {
      throw new ImgError('REF_INVALID', `cannot append suffix "${opts.appendSuffix}" to ${srcName}: it has no tag`);
    }
    suffix += opts.appendSuffix;
  }
  let dest: string;
  if (prefix.startsWith('docker://')) {
    // The prefix is joined as text, as skopeo sync does (path.Join), and only the result is
    // parsed: a prefix is not a reference of its own. Parsed alone, "mirror.local" or
    // "localhost:5000" would be read as docker.io/library/mirror.local and as a name with the tag
    // "5000"; followed by "/NAME" they are registry hosts.
    const base = prefix.slice('docker://'.length).replace(/\/+$/, '');
    const last = base.split('/').pop()!;
    if (base === '') throw new ImgError('REF_INVALID', `destination prefix ${JSON.stringify(prefix)} names no registry`);
    if (base.includes('@') || (base.includes('/') && last.includes(':'))) {
      throw new ImgError('REF_INVALID', `destination prefix ${JSON.stringify(prefix)} must be a registry or repository path without tag or digest`);
    }
    dest = `docker://${base}/${suffix}`;
  } else if (prefix.startsWith('containers-storage:')) {
    // [STORE]PREFIX: joined as text too, as for docker:// (PREFIX alone would parse as a name with :latest).
    let rest = prefix.slice('containers-storage:'.length);
    let store = '';
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new ImgError('REF_INVALID', `destination prefix ${JSON.stringify(prefix)} has an unterminated [store specifier]`);
      store = rest.slice(0, close + 1);
      rest = rest.slice(close + 1);
    }
    const base = rest.replace(/\/+$/, '');
    const last = base.split('/').pop()!;
    if (base.includes('@') || (base.includes('/') && last.includes(':'))) {
      throw new ImgError('REF_INVALID', `destination prefix ${JSON.stringify(prefix)} must be a repository path without tag, digest or image ID`);
    }
    dest = `containers-storage:${store}${base === '' ? '' : `${base}/`}${suffix}`;
  } else {
    const to = parseRef(prefix);
    switch (to.transport) {
      case 'dir':
        dest = `dir:${to.path.replace(/\/+$/, '')}/${suffix}`;
        break;
      case 'oci':
      case 'oci-archive':
        if (to.name !== undefined || to.index !== undefined) {
          throw new ImgError('REF_INVALID', `destination prefix ${JSON.stringify(prefix)} must be a layout path without an image name`);
        }
        dest = `${to.transport}:${to.path}:${suffix}`;
        break;
      default:
        throw new ImgError(
          'UNSUPPORTED',
          `cannot map images to ${prefix}: ${to.transport}: is not a destination prefix (use docker://, dir:, oci: or containers-storage:)`,
        );
    }
  }
  try {
    return formatRef(parseRef(dest));
  } catch (e) {
    throw new ImgError('REF_INVALID', `${srcName} mapped under ${prefix} gives an invalid reference ${dest}: ${(e as Error).message}`);
  }
}

function sourceSuffix(src: ImageRef, scoped: boolean, base?: string): string {
  const last = (p: string) => p.replace(/\/+$/, '').split('/').pop() ?? p;
  switch (src.transport) {
    case 'docker':
    case 'docker-archive':
    case 'docker-daemon':
    case 'containers-storage':
      if (src.docker) {
        const full = formatDockerRef(src.docker);
        return scoped ? full : full.slice(repositoryOf(src.docker).length - last(src.docker.path).length);
      }
      if ('path' in src) return last(src.path);
      throw new ImgError('REF_INVALID', `${formatRef(src)} has no repository name to map`);
    case 'oci':
    case 'oci-archive':
      // skopeo sync keeps the name's last path component unless scoped (path.Base), as for docker names.
      if (src.name !== undefined) return scoped ? src.name : last(src.name);
      return scoped ? src.path.replace(/^\.?\/+/, '') : last(src.path);
    case 'sif':
      // A file's name, as for an archive without a docker name.
      return last(src.path);
    case 'dir': {
      if (!scoped) return last(src.path);
      if (base === undefined) return src.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
      // skopeo sync: the path below the source directory, or the directory's own name when it is the image.
      const below = posix.relative(posix.normalize(base), posix.normalize(src.path));
      if (below.startsWith('..')) throw new ImgError('REF_INVALID', `${formatRef(src)} is not below its source directory ${base}`);
      return below === '' ? last(base) : below;
    }
  }
}
