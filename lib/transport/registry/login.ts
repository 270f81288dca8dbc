/**
 * img-login: credentials are stored only once the registry has accepted them (lib/cli/login.ts).
 * The check is here, with the registry client, because lib/auth sits below the transports and
 * speaks no HTTP (it keeps the files: loginKey, loginFile and logout are in lib/auth/login.ts).
 */
import { lookupCredentials, type Credentials } from '../../auth/credentials.js';
import type { LoginFile } from '../../auth/login.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { blockedError, findRegistry, loadRegistriesConf } from './registries-conf.js';

/**
 * checkLogin checks username and password against the registry of `key` (the token or basic flow
 * on /v2/), as containers/image's CheckAuth: registries.conf's entry for the host may block it or
 * make it insecure. Throws when the registry does not accept them (UNAUTHORIZED) or cannot be asked.
 */
export async function checkLogin(key: string, username: string, password: string, opts: RegistryOptions): Promise<void> {
  const host = key.split('/')[0]!;
  const { pull: _pull, registriesConf, ...rest } = opts;
  const reg = findRegistry(await loadRegistriesConf(registriesConf), host);
  if (reg?.blocked) throw blockedError(reg, host);
  if (rest.tlsVerify === undefined && reg?.insecure) rest.tlsVerify = false;
  const client = new RegistryClient(host, { ...rest, credentials: { username, password } });
  const res = await client.request({ method: 'GET', path: '/v2/', scopes: [], ok: [200], what: `logging in to ${host}` });
  await res.body.dump();
}

/**
 * storedLogin gives the credentials kept for `key` (host or host/namespace, the most specific entry
 * first) as containers/image's GetCredentials finds them for a login: registries.conf's credential
 * helpers in order, the auth files among them being `file` alone when the user or the environment
 * named it, else the usual search list. Undefined when there are none.
 */
export async function storedLogin(key: string, file: LoginFile, opts: Pick<RegistryOptions, 'registriesConf'>): Promise<Credentials | undefined> {
  const conf = await loadRegistriesConf(opts.registriesConf);
  const slash = key.indexOf('/');
  const [host, repository] = slash === -1 ? [key, ''] : [key.slice(0, slash), key.slice(slash + 1)];
  return lookupCredentials(host, repository, { helpers: conf.credentialHelpers, ...(file.explicit ? { authfile: file.path } : {}) });
}
