/**
 * img-login's and img-logout's auth.json side: the key a login is stored under, the file it goes
 * to, and logout. The login itself checks the credentials with the registry first, so it is in the
 * registry transport (lib/transport/registry/login.ts), above this layer.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImgError } from '../errors.js';
import { normaliseKey, removeCredentials, writableAuthFile } from './credentials.js';

/** loginKey is the auth.json key for what the user logs in to: a host, or host/namespace. */
export function loginKey(arg: string): string {
  const key = normaliseKey(arg.replace(/^docker:\/\//, '')).replace(/\/+$/, '');
  if (key === '' || /\s/.test(key) || !/^[A-Za-z0-9.[\]:-]+(?:\/[a-z0-9._-]+)*$/.test(key)) {
    throw new ImgError('REF_INVALID', `invalid registry ${JSON.stringify(arg)}: expected HOST[:PORT][/NAMESPACE]`);
  }
  return key;
}

/** What the user said about the file login and logout use: --authfile, --compat-auth-file. */
export interface LoginFileOptions {
  authfile?: string;
  compatAuthFile?: string;
}

/**
 * LoginFile is the one file login and logout write: `compat` when it is Docker's config.json
 * (written as Docker writes it), `explicit` when the user or the environment named it (then
 * stored credentials are looked up there alone), with the warning the containers tools print.
 */
export interface LoginFile {
  path: string;
  compat: boolean;
  explicit: boolean;
  warning?: string;
}

/**
 * loginFile picks the file as containers/common's login and logout do: --authfile, else
 * --compat-auth-file (Docker's format; both at once are refused), else $REGISTRY_AUTH_FILE, else
 * $DOCKER_CONFIG/config.json in Docker's format, else the default auth.json.
 */
export function loginFile(opts: LoginFileOptions, env: NodeJS.ProcessEnv = process.env): LoginFile {
  const { authfile, compatAuthFile } = opts;
  const dockerDefault = join(env.HOME || homedir(), '.docker', 'config.json');
  if (authfile && compatAuthFile)
    throw new ImgError('USAGE', 'options for paths to the credential file and to the Docker-compatible credential file can not be set simultaneously');
  if (authfile) {
    const warning = authfile === dockerDefault ? 'saving credentials to ~/.docker/config.json, but not using Docker-compatible file format' : undefined;
    return { path: authfile, compat: false, explicit: true, ...(warning ? { warning } : {}) };
  }
  if (compatAuthFile) return { path: compatAuthFile, compat: true, explicit: true };
  if (env.REGISTRY_AUTH_FILE) {
    const warning =
      env.REGISTRY_AUTH_FILE === dockerDefault
        ? '$REGISTRY_AUTH_FILE points to ~/.docker/config.json, but the file format is not fully compatible; use the Docker-compatible file path option instead'
        : undefined;
    return { path: env.REGISTRY_AUTH_FILE, compat: false, explicit: true, ...(warning ? { warning } : {}) };
  }
  if (env.DOCKER_CONFIG) return { path: join(env.DOCKER_CONFIG, 'config.json'), compat: true, explicit: true };
  return { path: writableAuthFile(undefined, env), compat: false, explicit: false };
}

/** logout removes stored credentials for key (or every one with key undefined) from `file`; false when there were none. */
export async function logout(key: string | undefined, file: LoginFile): Promise<{ file: string; removed: boolean }> {
  return { file: file.path, removed: await removeCredentials(file.path, key, file.compat) };
}
