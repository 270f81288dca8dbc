/**
 * What a reference is to policy.json, as containers/image's transports answer it (each
 * ImageReference's PolicyConfigurationIdentity and PolicyConfigurationNamespaces, each transport's
 * ValidatePolicyConfigurationScope, DockerReference): the scopes of an image, the syntax of a scope,
 * the docker reference an image is known by. Pure: paths are resolved beforehand (lib/policy/load.ts).
 */
import { parseDigest } from '../oci/digest.js';
import { dockerIdentity, dockerNamespaces, type DockerRef } from './docker.js';
import type { ImageRef } from './index.js';

/**
 * PolicyScopes: the section of policy.json's "transports" that applies (the transport's name), the
 * image's own scope ("" when it has none) and its parent namespaces.
 */
export interface PolicyScopes {
  section: string;
  identity: string;
  namespaces: string[];
}

/** pathParents lists /a/b, /a for /a/b/c (never "/", which is the "" default's job). */
function pathParents(path: string): string[] {
  const out: string[] = [];
  for (let p = path, i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/')) {
    p = p.slice(0, i);
    out.push(p);
  }
  return out;
}

/**
 * policyScopes gives an image's scopes. `resolvedPath` is the absolute, symlink-free path of a
 * dir:, oci:, oci-archive: or sif: image (the oci: name is not part of the scope, as in containers/image).
 */
export function policyScopes(ref: ImageRef, resolvedPath?: string): PolicyScopes {
  const path = resolvedPath ?? ('path' in ref ? ref.path : '');
  switch (ref.transport) {
    case 'docker':
      return { section: 'docker', identity: dockerIdentity(ref.docker), namespaces: dockerNamespaces(ref.docker) };
    case 'dir':
    case 'sif':
      return { section: ref.transport, identity: path, namespaces: pathParents(path) };
    case 'oci':
    case 'oci-archive':
      return { section: ref.transport, identity: path, namespaces: path === '/' ? [] : [path, ...pathParents(path)] };
    case 'docker-daemon':
      return ref.docker
        ? { section: 'docker-daemon', identity: dockerIdentity(ref.docker), namespaces: dockerNamespaces(ref.docker) }
        : { section: 'docker-daemon', identity: '', namespaces: [] };
    default:
      // docker-archive has only the "" scope; containers-storage scopes (with their [store]) are not
      // computed here, so only its "" scope and the global default apply.
      return { section: ref.transport, identity: '', namespaces: [] };
  }
}

/** scopedPath is the path whose absolute, symlink-free form an image's scopes are built from (dir:, oci:, oci-archive:, sif:), or undefined. */
export function scopedPath(ref: ImageRef): string | undefined {
  return ref.transport === 'dir' || ref.transport === 'oci' || ref.transport === 'oci-archive' || ref.transport === 'sif' ? ref.path : undefined;
}

/**
 * imageDockerReference is the docker reference an image is known by, for signedIdentity matching:
 * dir:, oci: and oci-archive: images have none.
 */
export function imageDockerReference(ref: ImageRef): DockerRef | undefined {
  switch (ref.transport) {
    case 'docker':
      return ref.docker;
    case 'docker-archive':
    case 'docker-daemon':
    case 'containers-storage':
      return ref.docker;
    default:
      return undefined;
  }
}

/** scopeProblem says what is wrong with a non-default scope of a transport, as its ValidatePolicyConfigurationScope would. */
export function scopeProblem(transport: string, scope: string): string | undefined {
  switch (transport) {
    case 'dir':
    case 'oci':
    case 'oci-archive':
    case 'sif': {
      if (!scope.startsWith('/')) return 'must be an absolute path';
      if (scope === '/') return 'use the default scope "" instead of "/"';
      const parts = scope.split('/').slice(1);
      if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'not a canonical path (no "//", ".", ".." or trailing "/")';
      return undefined;
    }
    case 'docker-archive':
      return 'docker-archive: takes no scopes except the default ""';
    case 'docker-daemon':
      try {
        parseDigest(scope);
        return 'an algo:digest value cannot be a namespace';
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}
