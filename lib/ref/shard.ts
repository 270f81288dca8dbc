import { createHash } from 'node:crypto';
import { ImgError } from '../errors.js';
import { repositoryOf } from './docker.js';
import { formatRef, parseRef } from './index.js';

/** Shard is K of N: `index` counts from 0 to `count` - 1, as Kubernetes numbers the indexes of an Indexed Job. */
export interface Shard {
  index: number;
  count: number;
}

/** parseShard reads `K/N` (0 <= K < N); anything else is a USAGE error naming `flag`. */
export function parseShard(spec: string, flag = '--shard'): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(spec.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count) {
    throw new ImgError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: expected K/N, shard K of N shards, with 0 <= K < N (as 0/4 … 3/4)`);
  }
  return { index, count };
}

/**
 * shardKey is what a destination is sharded by: its repository, the reference without tag and
 * digest. docker://HOST/PATH:TAG gives HOST/PATH (as normalised: docker.io/library/busybox);
 * containers-storage:[STORE]NAME:TAG gives containers-storage:[STORE]NAME; oci:PATH:NAME:TAG gives
 * oci:PATH:NAME; dir:PATH/NAME:TAG gives dir:PATH/NAME (skopeo sync puts the tag in the directory's
 * name); any other reference is its canonical form less a trailing :TAG or @DIGEST of its name.
 */
export function shardKey(dest: string): string {
  const ref = parseRef(dest);
  switch (ref.transport) {
    case 'docker':
      return repositoryOf(ref.docker);
    case 'containers-storage':
      if (!ref.docker) return formatRef(ref);
      return `containers-storage:${ref.store !== undefined ? `[${ref.store}]` : ''}${repositoryOf(ref.docker)}`;
    case 'docker-daemon':
      return ref.docker ? `docker-daemon:${repositoryOf(ref.docker)}` : formatRef(ref);
    case 'docker-archive':
      return ref.docker ? `docker-archive:${ref.path}:${repositoryOf(ref.docker)}` : formatRef(ref);
    case 'oci':
    case 'oci-archive':
      return ref.name === undefined ? formatRef(ref) : `${ref.transport}:${ref.path}:${untagged(ref.name)}`;
    case 'dir': {
      const slash = ref.path.lastIndexOf('/');
      return `dir:${ref.path.slice(0, slash + 1)}${untagged(ref.path.slice(slash + 1))}`;
    }
    case 'sif':
      return formatRef(ref);
  }
}

/** untagged drops `@DIGEST`, then a `:TAG` after the last "/", from an image name. */
function untagged(name: string): string {
  const at = name.indexOf('@');
  const bare = at < 0 ? name : name.slice(0, at);
  const colon = bare.lastIndexOf(':');
  return colon > bare.lastIndexOf('/') ? bare.slice(0, colon) : bare;
}

/**
 * shardOf is the shard (0 … count-1) that a destination belongs to: the first 4 bytes of the
 * SHA-256 of shardKey(dest), read as a big-endian unsigned number, modulo count. In a shell:
 * `echo $(( 0x$(printf %s "$KEY" | sha256sum | cut -c1-8) % N ))`. Every tag of a repository has
 * the same key, so a repository is always in one shard.
 */
export function shardOf(dest: string, count: number): number {
  return createHash('sha256').update(shardKey(dest), 'utf8').digest().readUInt32BE(0) % count;
}
