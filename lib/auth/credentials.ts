import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ImgError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

/** Credentials for one registry: a user and password, an identity (refresh) token, or a bearer token. */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** What the user said about credentials on the command line; it decides where credentials come from. */
export interface CredentialOptions {
  /** --creds USER[:PASS] */
  creds?: string;
  username?: string;
  password?: string;
  /** --no-creds: access the registry anonymously */
  noCreds?: boolean;
  /** --registry-token: a bearer token used as it is */
  registryToken?: string;
  /** --authfile, else $REGISTRY_AUTH_FILE */
  authfile?: string;
  /**
   * registries.conf's credential-helpers, asked in order: "containers-auth.json" stands for the auth
   * files, any other NAME for docker-credential-NAME. Default: the auth files only.
   */
  helpers?: string[];
}

/** The credential helper name that stands for the auth files (containers-auth.json(5)). */
export const AUTH_FILES_HELPER = 'containers-auth.json';

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  username?: string;
  password?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

/**
 * authFilePaths lists the files searched for credentials, in the containers tools' order: the
 * --authfile or $REGISTRY_AUTH_FILE alone when given; else $XDG_RUNTIME_DIR/containers/auth.json,
 * ~/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json.
 */
export function authFilePaths(authfile?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = authfile ?? env.REGISTRY_AUTH_FILE;
  if (explicit) return [explicit];
  const home = env.HOME || homedir();
  const paths: string[] = [];
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'));
  paths.push(env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json'));
  return paths;
}

/** writableAuthFile is where img-login writes: --authfile, $REGISTRY_AUTH_FILE, else the first of the search list. */
export function writableAuthFile(authfile?: string, env: NodeJS.ProcessEnv = process.env): string {
  return authFilePaths(authfile, env)[0]!;
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImgError('IO', `reading auth file ${path}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as AuthFile;
  } catch (e) {
    throw new ImgError('USAGE', `auth file ${path} is not valid: ${(e as Error).message}`);
  }
}

/** normaliseKey turns a docker config key (https://index.docker.io/v1/, host/ns) into host[/path]. */
export function normaliseKey(key: string): string {
  let k = key.replace(/^https?:\/\//, '');
  if (k.startsWith('index.docker.io/v1') || k === 'index.docker.io' || k.startsWith('registry-1.docker.io')) k = 'docker.io';
  if (key.startsWith('http://') || key.startsWith('https://')) k = k.split('/')[0]!;
  if (k === 'index.docker.io') k = 'docker.io';
  return k.replace(/\/+$/, '');
}

/** candidateKeys lists auth.json keys for a repository, most specific first: host/ns/repo, host/ns, host. */
export function candidateKeys(host: string, repository: string): string[] {
  const parts = repository === '' ? [] : repository.split('/');
  const keys: string[] = [];
  for (let n = parts.length; n >= 1; n--) keys.push(`${host}/${parts.slice(0, n).join('/')}`);
  keys.push(host);
  return keys;
}

function decodeEntry(entry: AuthEntry, path: string, key: string): Credentials | undefined {
  if (entry.identitytoken) {
    // The user an identity token was issued to, where the entry says (containers/image reads it from "auth").
    const decoded = entry.auth ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : undefined;
    return { identityToken: entry.identitytoken, username: entry.username ?? (user || '<token>') };
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ImgError('USAGE', `auth file ${path}: the entry for ${key} is not base64 of USER:PASSWORD`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * lookupCredentials finds the credentials for `host` and `repository` as skopeo does: command-line
 * credentials first, then registries.conf's credential helpers in order (`opts.helpers`; by default
 * the auth files only). In the auth files, tried in order, a credential helper configured for the
 * host (credHelpers, then credsStore) wins over `auths`, and `auths` keys are matched from the most
 * to the least specific. Returns undefined for anonymous access.
 */
export async function lookupCredentials(
  host: string,
  repository: string,
  opts: CredentialOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  if (opts.noCreds) return undefined;
  if (opts.registryToken) return { registryToken: opts.registryToken };
  if (opts.creds !== undefined) return parseCredsFlag(opts.creds);
  if (opts.username !== undefined) return { username: opts.username, password: opts.password ?? '' };
  for (const helper of opts.helpers?.length ? opts.helpers : [AUTH_FILES_HELPER]) {
    const creds = helper === AUTH_FILES_HELPER ? await fromAuthFiles(host, repository, opts, env) : await credentialHelperGet(helper, host);
    if (creds) return creds;
  }
  return undefined;
}

/** fromAuthFiles looks `host` and `repository` up in the auth files, in order. */
async function fromAuthFiles(host: string, repository: string, opts: CredentialOptions, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const keys = candidateKeys(host, repository);
  for (const path of authFilePaths(opts.authfile, env)) {
    const file = await readAuthFile(path);
    if (!file) continue;
    const helper = file.credHelpers?.[host] ?? (host === 'docker.io' ? file.credHelpers?.['index.docker.io'] : undefined);
    if (helper) {
      // As containers/image does: the helper answers for this file; "not found" goes on to the next file.
      const creds = await credentialHelperGet(helper, host);
      if (creds) return creds;
      continue;
    }
    const auths = new Map<string, [string, AuthEntry]>();
    for (const [k, v] of Object.entries(file.auths ?? {})) if (v && typeof v === 'object') auths.set(normaliseKey(k), [k, v]);
    for (const key of keys) {
      const hit = auths.get(key);
      if (hit) {
        const creds = decodeEntry(hit[1], path, hit[0]);
        if (creds) return creds;
      }
    }
    if (file.credsStore) {
      const creds = await credentialHelperGet(file.credsStore, host);
      if (creds) return creds;
    }
  }
  return undefined;
}

/** parseCredsFlag reads --creds USER[:PASSWORD]. */
export function parseCredsFlag(creds: string): Credentials {
  const colon = creds.indexOf(':');
  const username = colon === -1 ? creds : creds.slice(0, colon);
  if (username === '') throw new ImgError('USAGE', 'invalid --creds: the user name is empty (expected USER[:PASSWORD])');
  return { username, password: colon === -1 ? '' : creds.slice(colon + 1) };
}

/** credentialHelperGet asks docker-credential-NAME for a host's credentials; "not found" is undefined. */
export async function credentialHelperGet(name: string, host: string): Promise<Credentials | undefined> {
  const { status, stdout, stderr } = await runHelper(name, 'get', host === 'docker.io' ? 'https://index.docker.io/v1/' : host);
  if (status !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new ImgError('IO', `credential helper docker-credential-${name} failed for ${host} (exit ${status})`);
  }
  try {
    const doc = JSON.parse(stdout) as { Username?: string; Secret?: string };
    if (!doc.Secret) return undefined;
    return doc.Username === '<token>' ? { identityToken: doc.Secret, username: '<token>' } : { username: doc.Username ?? '', password: doc.Secret };
  } catch {
    throw new ImgError('IO', `credential helper docker-credential-${name} printed something that is not JSON for ${host}`);
  }
}

async function runHelper(name: string, verb: string, input: string): Promise<{ status: number; stdout: string; stderr: string }> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ImgError('USAGE', `invalid credential helper name ${JSON.stringify(name)}`);
  // Loaded only here: most commands never run a helper, and node:child_process costs start-up time.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [verb], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ImgError(
          'IO',
          e.code === 'ENOENT' ? `credential helper docker-credential-${name} is not installed` : `credential helper docker-credential-${name}: ${e.message}`,
        ),
      ),
    );
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Docker's own key for Docker Hub in config.json. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/**
 * compatKey is the key for `key` in Docker's config.json (--compat-auth-file): Docker Hub under
 * Docker's own key; a namespaced key (host/ns) is refused, as Docker has no such entries.
 */
export function compatKey(key: string): string {
  if (key.includes('/')) throw new ImgError('USAGE', `Credentials cannot be recorded in Docker-compatible format with namespaced key ${JSON.stringify(key)}`);
  return key === 'docker.io' ? DOCKER_HUB_KEY : key;
}

/**
 * storeCredentials records credentials for `key` (host or host/path) in auth.json, mode 0600,
 * atomically, keeping whatever else the file holds; with `compat`, in Docker's config.json form
 * (compatKey). A credHelpers entry for the key stores them in that helper instead. Returns where
 * they went, as containers/image words it: the file, or "credential helper: NAME".
 */
export async function storeCredentials(path: string, key: string, username: string, password: string, compat = false): Promise<string> {
  const entry = compat ? compatKey(key) : key;
  const file = (await readAuthFile(path)) ?? {};
  const helper = file.credHelpers?.[entry];
  if (helper) {
    const { status } = await runHelperStore(helper, entry, username, password);
    if (status !== 0) throw new ImgError('IO', `credential helper docker-credential-${helper} could not store credentials for ${entry}`);
    return `credential helper: ${helper}`;
  }
  file.auths = { ...(file.auths ?? {}), [entry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(file, null, '\t')}\n`, 0o600);
  return path;
}

function runHelperStore(name: string, host: string, username: string, secret: string) {
  return runHelper(name, 'store', JSON.stringify({ ServerURL: host, Username: username, Secret: secret }));
}

/**
 * removeCredentials deletes `key` (or with all, every entry) from auth.json, any spelling of it
 * (Docker Hub's https://index.docker.io/v1/ too); with `compat` a namespaced key is refused, as
 * Docker's config.json has none (compatKey). Returns whether anything was removed.
 */
export async function removeCredentials(path: string, key: string | undefined, compat = false): Promise<boolean> {
  if (compat && key !== undefined) compatKey(key);
  const file = await readAuthFile(path);
  if (!file) return false;
  let removed = false;
  if (key === undefined) {
    removed = Object.keys(file.auths ?? {}).length > 0;
    file.auths = {};
  } else {
    for (const k of Object.keys(file.auths ?? {})) {
      if (k === key || normaliseKey(k) === key) {
        delete file.auths![k];
        removed = true;
      }
    }
    const helper = file.credHelpers?.[key];
    if (helper) {
      const { status } = await runHelper(helper, 'erase', key);
      removed = removed || status === 0;
    }
  }
  if (removed) await writeFileAtomic(path, `${JSON.stringify(file, null, '\t')}\n`, 0o600);
  return removed;
}
