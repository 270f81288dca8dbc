import { ImgError } from '../errors.js';
import { RegistryClient, type RegistryOptions } from '../transport/registry/client.js';
import { normaliseKey, removeCredentials, storeCredentials, writableAuthFile } from './credentials.js';

/** loginKey is the auth.json key for what the user logs in to: a host, or host/namespace. */
export function loginKey(arg: string): string {
  const key = normaliseKey(arg.replace(/^docker:\/\//, '')).replace(/\/+$/, '');
  if (key === '' || /\s/.test(key) || !/^[A-Za-z0-9.[\]:-]+(?:\/[a-z0-9._-]+)*$/.test(key)) {
    throw new ImgError('REF_INVALID', `invalid registry ${JSON.stringify(arg)}: expected HOST[:PORT][/NAMESPACE]`);
  }
  return key;
}

/**
 * login checks username and password against the registry (the token or basic flow on /v2/), and
 * only then stores them in the auth file. Returns the file written.
 */
export async function login(key: string, username: string, password: string, opts: RegistryOptions & { authfile?: string }): Promise<string> {
  const host = key.split('/')[0]!;
  const client = new RegistryClient(host, { ...opts, credentials: { username, password } });
  const res = await client.request({ method: 'GET', path: '/v2/', scopes: [], ok: [200], what: `logging in to ${host}` });
  await res.body.dump();
  const file = writableAuthFile(opts.authfile);
  await storeCredentials(file, key, username, password);
  return file;
}

/** logout removes stored credentials for key (or every one with key undefined); false when there were none. */
export async function logout(key: string | undefined, authfile?: string): Promise<{ file: string; removed: boolean }> {
  const file = writableAuthFile(authfile);
  return { file, removed: await removeCredentials(file, key) };
}
