/**
 * Which requirements of a policy apply to an image: its transport's scopes, most specific first,
 * as containers/image's requirementsForImageRef with each transport's PolicyConfigurationIdentity
 * and PolicyConfigurationNamespaces. Pure: paths must be resolved beforehand (load.ts).
 */
import { dockerIdentity, dockerNamespaces, type DockerRef } from '../ref/docker.js';
import type { ImageRef } from '../ref/index.js';
import type { Policy, Requirement } from './parse.js';

/** PolicyScopes: the transport, the image's own scope ("" when it has none) and its parent namespaces. */
export interface PolicyScopes {
  transport: string;
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
 * dir:, oci: or oci-archive: image (the oci: name is not part of the scope, as in containers/image).
 */
export function policyScopes(ref: ImageRef, resolvedPath?: string): PolicyScopes {
  const path = resolvedPath ?? ('path' in ref ? ref.path : '');
  switch (ref.transport) {
    case 'docker':
      return { transport: 'docker', identity: dockerIdentity(ref.docker), namespaces: dockerNamespaces(ref.docker) };
    case 'dir':
      return { transport: 'dir', identity: path, namespaces: pathParents(path) };
    case 'oci':
    case 'oci-archive':
      return { transport: ref.transport, identity: path, namespaces: path === '/' ? [] : [path, ...pathParents(path)] };
    case 'docker-daemon':
      return ref.docker ? { transport: 'docker-daemon', identity: dockerIdentity(ref.docker), namespaces: dockerNamespaces(ref.docker) } : { transport: 'docker-daemon', identity: '', namespaces: [] };
    default:
      // docker-archive has only the "" scope; containers-storage scopes (with their [store]) are not
      // computed here, so only its "" scope and the global default apply.
      return { transport: ref.transport, identity: '', namespaces: [] };
  }
}

/** Applicable: the requirements that apply and the policy section they came from, for messages. */
export interface Applicable {
  requirements: Requirement[];
  section: string;
}

/** requirementsFor picks the first of: the exact scope, each namespace, the transport's "", the default. */
export function requirementsFor(policy: Policy, scopes: PolicyScopes): Applicable {
  const t = policy.transports.get(scopes.transport);
  if (t) {
    for (const scope of [scopes.identity, ...scopes.namespaces, '']) {
      const reqs = t.get(scope);
      if (reqs) return { requirements: reqs, section: `transports.${scopes.transport}[${JSON.stringify(scope)}]` };
    }
  }
  return { requirements: policy.default, section: 'default' };
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
