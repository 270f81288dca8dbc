/**
 * img-login's and img-logout's auth.json side: the key a login is stored under, and logout. The
 * login itself checks the credentials with the registry first, so it is in the registry transport
 * (lib/transport/registry/login.ts), above this layer.
 */
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

/** logout removes stored credentials for key (or every one with key undefined); false when there were none. */
export async function logout(key: string | undefined, authfile?: string): Promise<{ file: string; removed: boolean }> {
  const file = writableAuthFile(authfile);
  return { file, removed: await removeCredentials(file, key) };
}
