/**
 * The login of img-login and imgpipe login, as containers/common's auth.Login goes: the file
 * (--authfile, --compat-auth-file), the stored user (--get-login), stored credentials checked
 * again before asking for new ones, then the new ones checked and stored. The commands say the
 * outcome in their own words and streams.
 */
import { compatKey, storeCredentials } from '../auth/credentials.js';
import { loginFile, loginKey, type LoginFileOptions } from '../auth/login.js';
import { ImgError, toImgError } from '../errors.js';
import { checkLogin, storedLogin, type RegistryOptions } from '../transport/index.js';
import { readSecret } from './prompt.js';

/**
 * LoginCheckFailed: the registry refused the credentials (code UNAUTHORIZED), or could not be
 * asked; the message is the failure's own. `key` is what the login was for.
 */
export class LoginCheckFailed extends ImgError {
  readonly key: string;
  constructor(key: string, failure: ImgError) {
    super(failure.code, failure.message, { ...(failure.status !== undefined ? { status: failure.status } : {}), cause: failure });
    this.key = key;
  }
}

/** check is checkLogin with its failure a LoginCheckFailed. */
async function check(key: string, username: string, password: string, options: RegistryOptions): Promise<void> {
  try {
    await checkLogin(key, username, password, options);
  } catch (e) {
    throw new LoginCheckFailed(key, toImgError(e));
  }
}

/** ask is readSecret, its failure worded as containers/common's ("getting username and password: …"). */
async function ask(question: string, hidden: boolean, out: NodeJS.WritableStream): Promise<string> {
  try {
    return await readSecret(question, hidden, out);
  } catch (e) {
    const err = toImgError(e);
    throw new ImgError(err.code, `getting username and password: ${err.message}`, { cause: e });
  }
}

export interface LoginRequest {
  /** REGISTRY as given: HOST[:PORT][/NAMESPACE] */
  registry: string;
  username?: string;
  /** given with -p, or read from stdin by the command (--password-stdin) */
  password?: string;
  /** --get-login: only say which user is logged in */
  getLogin?: boolean;
  file: LoginFileOptions;
  options: RegistryOptions;
  /** where progress lines and the prompts go */
  out: NodeJS.WritableStream;
  /** a warning of the containers tools (a Docker config.json written in auth.json's format) */
  warn(message: string): void;
}

/** What a login came to: the user stored (--get-login), stored credentials still good, or new ones stored `where`. */
export type LoginOutcome = { user: string } | { valid: string } | { stored: string; key: string };

/**
 * runLogin logs in as containers/common does. Without a user and a password, credentials already
 * stored for REGISTRY are checked with the registry first ("Authenticating with existing
 * credentials for KEY"); when they are good that is all, when the registry refuses them the user is
 * asked for new ones (the stored user offered), and when the registry cannot be asked the login
 * fails. Throws UNAUTHORIZED when the registry refuses the new ones.
 */
export async function runLogin(r: LoginRequest): Promise<LoginOutcome> {
  const file = loginFile(r.file);
  if (file.warning) r.warn(file.warning);
  const key = loginKey(r.registry);
  const host = key.split('/')[0]!;
  const stored = await storedLogin(key, file, r.options);
  const storedUser = stored?.username === '<token>' ? undefined : stored?.username;
  if (r.getLogin) {
    if (!storedUser) throw new ImgError('UNAUTHORIZED', `not logged into ${key}`);
    return { user: storedUser };
  }
  if (stored?.identityToken) throw new ImgError('USAGE', 'currently logged in, auth file contains an Identity token');
  let username = r.username ?? '';
  let password = r.password ?? '';
  if (username === '' && password === '' && storedUser && stored?.password) {
    r.out.write(`Authenticating with existing credentials for ${key}\n`);
    try {
      await check(key, storedUser, stored.password, r.options);
      return { valid: host };
    } catch (e) {
      // Only a refusal makes them invalid: a registry that cannot be asked fails the login.
      if ((e as LoginCheckFailed).code !== 'UNAUTHORIZED') throw e;
    }
    r.out.write('Existing credentials are invalid, please enter valid username and password\n');
  }
  // Refused before anything is asked: Docker's config.json has no namespaced entries.
  if (file.compat) compatKey(key);
  if (username === '') username = (await ask(storedUser ? `Username (${storedUser}): ` : 'Username: ', false, r.out)).trim() || (storedUser ?? '');
  if (password === '') password = await ask('Password: ', true, r.out);
  if (username === '') throw new ImgError('USAGE', 'a user name is required');
  await check(key, username, password, r.options);
  return { stored: await storeCredentials(file.path, key, username, password, file.compat), key };
}
