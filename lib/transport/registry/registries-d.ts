/**
 * registries.d: where the containers tools keep simple signatures of docker:// images (the
 * "lookaside" store), as containers/image's docker/registries_d.go reads it. The directory is
 * --registries.d, else $HOME/.config/containers/registries.d when it exists, else
 * /etc/containers/registries.d; every *.yaml file in it is merged (a namespace or default-docker
 * defined twice is an error). Unlike containers/image, an unknown key or a value of the wrong type
 * is an error that names it, its place and its file: a misspelt `lookaside` would silently send
 * signatures to the built-in default store.
 */
import { promises as fsp } from 'node:fs';
import { cachedPromise } from '../../util/memo.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ImgError } from '../../errors.js';
import { dockerIdentity, dockerNamespaces, type DockerRef } from '../../ref/docker.js';

export const SYSTEM_REGISTRIES_D = '/etc/containers/registries.d';

/** LookasideNamespace is one `default-docker:` or `docker: NAMESPACE:` entry. */
export interface LookasideNamespace {
  lookaside?: string;
  lookasideStaging?: string;
  /** The legacy names of lookaside and lookaside-staging (still read, as containers/image does). */
  sigstore?: string;
  sigstoreStaging?: string;
  /** use-sigstore-attachments: read and write sigstore signatures as .sig attachments. */
  useSigstoreAttachments?: boolean;
}

/** RegistriesD is every *.yaml file of a registries.d directory, merged. */
export interface RegistriesD {
  dir: string;
  defaultDocker?: LookasideNamespace;
  docker: Map<string, LookasideNamespace>;
}

const NAMESPACE_KEYS: Record<string, keyof LookasideNamespace> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
  'use-sigstore-attachments': 'useSigstoreAttachments',
};

/** registriesDirPath is the registries.d directory to use, as containers/image picks it. */
export async function registriesDirPath(explicit?: string, home = process.env.HOME || homedir()): Promise<string> {
  if (explicit) return explicit;
  // Looked up once per process, not for every record.
  return cachedPromise(dirs, home, async () => {
    const user = join(home, '.config/containers/registries.d');
    const st = await fsp.stat(user).catch(() => undefined);
    return st ? user : SYSTEM_REGISTRIES_D;
  });
}

const dirs = new Map<string, Promise<string>>();

const loaded = new Map<string, Promise<RegistriesD>>();

/** loadRegistriesD reads and merges a registries.d directory (once per process); a missing directory is an empty configuration. */
export function loadRegistriesD(dir: string): Promise<RegistriesD> {
  let p = loaded.get(dir);
  if (!p) {
    p = readRegistriesD(dir);
    loaded.set(dir, p);
  }
  return p;
}

async function readRegistriesD(dir: string): Promise<RegistriesD> {
  const out: RegistriesD = { dir, docker: new Map() };
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new ImgError('IO', `reading registries.d ${dir}: ${(e as Error).message}`);
  }
  let defaultFrom = '';
  const from = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const one = parseRegistriesYaml(await fsp.readFile(file, 'utf8'), file);
    if (one.defaultDocker) {
      if (out.defaultDocker) throw configError(`"default-docker" defined both in ${defaultFrom} and ${file}`);
      out.defaultDocker = one.defaultDocker;
      defaultFrom = file;
    }
    for (const [ns, cfg] of one.docker) {
      if (out.docker.has(ns)) throw configError(`"docker" namespace ${JSON.stringify(ns)} defined both in ${from.get(ns)} and ${file}`);
      out.docker.set(ns, cfg);
      from.set(ns, file);
    }
  }
  return out;
}

function configError(message: string): ImgError {
  return new ImgError('USAGE', `invalid signature storage configuration: ${message}`);
}

/** parseRegistriesYaml reads one registries.d file strictly: only default-docker and docker, only the namespace keys above. */
export function parseRegistriesYaml(text: string, file: string): Omit<RegistriesD, 'dir'> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw configError(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const top: unknown = doc.toJS();
  const out: Omit<RegistriesD, 'dir'> = { docker: new Map() };
  if (top === null || top === undefined) return out;
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (v === null || v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw configError(`${file}: ${where} is not a mapping`);
    return v as Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(obj(top, 'the file'))) {
    if (k === 'default-docker') out.defaultDocker = namespace(v, 'default-docker', file, obj);
    else if (k === 'docker') {
      for (const [ns, nv] of Object.entries(obj(v, 'docker'))) out.docker.set(ns, namespace(nv, `docker[${JSON.stringify(ns)}]`, file, obj));
    } else throw configError(`${file}: unknown key ${JSON.stringify(k)} (expected default-docker or docker)`);
  }
  return out;
}

function namespace(v: unknown, where: string, file: string, obj: (v: unknown, where: string) => Record<string, unknown>): LookasideNamespace {
  const out: LookasideNamespace = {};
  for (const [k, val] of Object.entries(obj(v, where))) {
    const field = NAMESPACE_KEYS[k];
    if (!field) throw configError(`${file}: unknown key ${JSON.stringify(k)} in ${where} (expected one of ${Object.keys(NAMESPACE_KEYS).join(', ')})`);
    if (field === 'useSigstoreAttachments') {
      if (typeof val !== 'boolean') throw configError(`${file}: ${where}.${k} must be true or false`);
      out.useSigstoreAttachments = val;
      continue;
    }
    if (typeof val !== 'string') throw configError(`${file}: ${where}.${k} must be a URL string`);
    let url: URL;
    try {
      url = new URL(val);
    } catch {
      throw configError(`${file}: ${where}.${k}: invalid URL ${JSON.stringify(val)}`);
    }
    if (!['file:', 'http:', 'https:'].includes(url.protocol))
      throw configError(`${file}: ${where}.${k}: unsupported scheme in ${JSON.stringify(val)} (file, http or https)`);
    out[field] = val;
  }
  return out;
}

/** topLevel is a namespace's URL for reading, or for writing (the staging URL first), as containers/image's signatureTopLevel. */
function topLevel(ns: LookasideNamespace | undefined, write: boolean): string | undefined {
  if (!ns) return undefined;
  if (write && (ns.lookasideStaging || ns.sigstoreStaging)) return ns.lookasideStaging || ns.sigstoreStaging;
  return ns.lookaside || ns.sigstore || undefined;
}

/** namespaceFor applies `pick` to the docker reference's scopes, most specific first, then default-docker. */
function namespaceFor<T>(config: RegistriesD, ref: DockerRef, pick: (ns: LookasideNamespace) => T | undefined): T | undefined {
  for (const scope of [dockerIdentity(ref), ...dockerNamespaces(ref)]) {
    const ns = config.docker.get(scope);
    const v = ns && pick(ns);
    if (v !== undefined) return v;
  }
  return config.defaultDocker ? pick(config.defaultDocker) : undefined;
}

/**
 * lookasideBase is the URL under which `ref`'s signatures live: the configured one, else the
 * built-in default containers/image uses (file:///var/lib/containers/sigstore for root,
 * $HOME/.local/share/containers/sigstore for others), then "/" and the repository path.
 */
export function lookasideBase(config: RegistriesD, ref: DockerRef, write: boolean, home = process.env.HOME || homedir()): URL {
  const configured = namespaceFor(config, ref, (ns) => topLevel(ns, write));
  const base =
    configured !== undefined
      ? new URL(configured)
      : new URL(`file://${process.getuid?.() === 0 ? '/var/lib/containers/sigstore' : join(home, '.local/share/containers/sigstore')}`);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${ref.path}`;
  return base;
}

export { lookasideURL } from './lookaside.js';

/** useSigstoreAttachments says whether registries.d turns on sigstore .sig attachments for `ref` (default false). */
export function useSigstoreAttachments(config: RegistriesD, ref: DockerRef): boolean {
  return namespaceFor(config, ref, (ns) => ns.useSigstoreAttachments) ?? false;
}
