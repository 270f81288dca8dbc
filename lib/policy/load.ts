/**
 * Finding and reading policy.json as the containers tools do: --policy, else
 * $HOME/.config/containers/policy.json when it exists, else /etc/containers/policy.json.
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ImgError, wrap } from '../errors.js';
import type { ImageRef } from '../ref/index.js';
import { parsePolicy, type Policy } from './parse.js';
import { policyScopes, scopedPath, type PolicyScopes } from '../ref/policy.js';

export const SYSTEM_POLICY_PATH = '/etc/containers/policy.json';

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** policyPath is the policy file to use: `explicit`, the user's, or the system's; none is an error naming both. */
export async function policyPath(explicit?: string, home = process.env.HOME || homedir(), system = SYSTEM_POLICY_PATH): Promise<string> {
  if (explicit) return explicit;
  const user = join(home, '.config/containers/policy.json');
  if (await exists(user)) return user;
  if (await exists(system)) return system;
  throw new ImgError('USAGE', `no policy.json file found at any of the following: ${JSON.stringify(user)}, ${JSON.stringify(system)}`);
}

/** loadPolicy finds and parses the policy (see policyPath). */
export async function loadPolicy(explicit?: string): Promise<{ path: string; policy: Policy }> {
  const path = await policyPath(explicit);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw wrap(e, 'reading the signature policy');
  }
  return { path, policy: parsePolicy(bytes, path) };
}

/**
 * resolveExplicitPath makes a path absolute and symlink-free as containers/image's
 * ResolvePathToFullyExplicit: the path if it exists, else its parent (which must exist) and the name.
 */
export async function resolveExplicitPath(path: string): Promise<string> {
  const abs = resolve(path);
  if (await exists(abs)) return fsp.realpath(abs);
  return join(await fsp.realpath(dirname(abs)), basename(abs));
}

/** imageScopes resolves a local image's path and gives its policy scopes. */
export async function imageScopes(ref: ImageRef): Promise<PolicyScopes> {
  const path = scopedPath(ref);
  return policyScopes(ref, path === undefined ? undefined : await resolveExplicitPath(path));
}
