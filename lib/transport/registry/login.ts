/**
 * img-login: credentials are stored only once the registry has accepted them. Here, with the
 * registry client, because lib/auth sits below the transports and speaks no HTTP (it keeps the
 * files: loginKey and logout are in lib/auth/login.ts).
 */
import { storeCredentials, writableAuthFile } from '../../auth/credentials.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { blockedError, findRegistry, loadRegistriesConf } from './registries-conf.js';

/**
 * login checks username and password against the registry (the token or basic flow on /v2/), and
 * only then stores them in the auth file. Returns the file written.
 */
export async function login(key: string, username: string, password: string, opts: RegistryOptions & { authfile?: string }): Promise<string> {
  const host = key.split('/')[0]!;
  // As containers/image's CheckAuth: registries.conf's entry for the host may block it or make it insecure.
  const { pull: _pull, registriesConf, ...rest } = opts;
  const reg = findRegistry(await loadRegistriesConf(registriesConf), host);
  if (reg?.blocked) throw blockedError(reg, host);
  if (rest.tlsVerify === undefined && reg?.insecure) rest.tlsVerify = false;
  const client = new RegistryClient(host, { ...rest, credentials: { username, password } });
  const res = await client.request({ method: 'GET', path: '/v2/', scopes: [], ok: [200], what: `logging in to ${host}` });
  await res.body.dump();
  const file = writableAuthFile(opts.authfile);
  await storeCredentials(file, key, username, password);
  return file;
}
