/** skopeo login and logout (containers/common's auth.Login and auth.Logout), over img-login's and img-logout's code. */
import { access } from 'node:fs/promises';
import { loginFile, loginKey, logout as removeLogin, type LoginFileOptions } from '../../auth/login.js';
import { toImgError } from '../../errors.js';
import type { ParsedFlags } from '../flags.js';
import { LoginCheckFailed, runLogin } from '../login.js';
import { readStdin } from '../prompt.js';
import { registryOptions } from '../registry-flags.js';
import type { Subcommand } from './context.js';
import { asStageError, reason, SkopeoError } from './errors.js';
import { log } from './log.js';

/** fileOptions are --authfile and --compat-auth-file as given (an empty one is not given, as in skopeo). */
function fileOptions(flags: ParsedFlags): LoginFileOptions {
  const authfile = flags.authfile === undefined ? '' : String(flags.authfile);
  const compat = flags['compat-auth-file'] === undefined ? '' : String(flags['compat-auth-file']);
  return { ...(authfile ? { authfile } : {}), ...(compat ? { compatAuthFile: compat } : {}) };
}

/** skopeoWords gives a failure of a login or logout in containers/common's words. */
function skopeoWords(e: unknown): unknown {
  if (e instanceof SkopeoError) return e;
  if (e instanceof LoginCheckFailed) {
    if (e.code === 'UNAUTHORIZED') return new SkopeoError(`logging into ${JSON.stringify(e.key)}: invalid username/password`);
    return new SkopeoError(`authenticating creds for ${JSON.stringify(e.key)}: ${reason(asStageError(e))}`);
  }
  return new SkopeoError(toImgError(e).message);
}

export const login: Subcommand = {
  usage: 'login [command options] REGISTRY',
  short: 'Login to a container registry',
  help: `Login to a container registry on a specified server: skopeo login, as img-login (credentials
  checked, then kept in auth.json). Without -u and -p, credentials already stored for REGISTRY are
  checked first ("Already logged in"); refused, new ones are asked for.

Flags:
      --authfile string           path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override
      --cert-dir string           use certificates at the specified path to access the registry
      --compat-auth-file string   path of a Docker-compatible config file to update instead
      --get-login                 Return the current login user for the registry
  -p, --password string           Password for registry
      --password-stdin            Take the password from stdin
      --tls-verify                require HTTPS and verify certificates when accessing the registry
  -u, --username string           Username for registry
  -v, --verbose                   Write more detailed information to stdout`,
  async run(ctx) {
    const { flags } = ctx;
    if (ctx.args.length === 0) throw new SkopeoError('please provide a registry to log in to');
    if (ctx.args.length > 1) throw new SkopeoError('login accepts only one registry to log in to');
    const username = flags.username === undefined ? '' : String(flags.username);
    let password = flags.password === undefined ? '' : String(flags.password);
    try {
      const getLogin = flags['get-login'] === true;
      if (flags['password-stdin'] && !getLogin) {
        if (password !== '') throw new SkopeoError("can't specify both --password-stdin and --password");
        if (username === '') throw new SkopeoError('must provide --username with --password-stdin');
        // As containers/common: every line of stdin, joined without their line breaks.
        password = (await readStdin()).replace(/\r?\n/g, '');
      }
      const outcome = await runLogin({
        registry: ctx.args[0]!,
        username,
        password,
        getLogin,
        file: fileOptions(flags),
        options: registryOptions({
          'cert-dir': flags['cert-dir'],
          'tls-verify': flags['tls-verify'] ?? ctx.global['tls-verify'],
          'registries-conf': ctx.global['registries-conf'],
          debug: ctx.global.debug,
        }),
        out: process.stdout,
        warn: (message) => log('warning', message),
      });
      if ('user' in outcome) process.stdout.write(`${outcome.user}\n`);
      else if ('valid' in outcome) process.stdout.write(`Existing credentials are valid. Already logged in to ${outcome.valid}\n`);
      else {
        // Go's fmt.Println("Used: ", desc): two spaces.
        if (flags.verbose) process.stdout.write(`Used:  ${outcome.stored}\n`);
        process.stdout.write('Login Succeeded!\n');
      }
      return 0;
    } catch (e) {
      throw skopeoWords(e);
    }
  },
};

export const logout: Subcommand = {
  usage: 'logout [command options] REGISTRY',
  short: 'Logout of a container registry',
  help: `Logout of a container registry on a specified server: skopeo logout, as img-logout.

Flags:
  -a, --all                       Remove the cached credentials for all registries in the auth file
      --authfile string           path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override
      --compat-auth-file string   path of a Docker-compatible config file to update instead
      --tls-verify                accepted as skopeo accepts it: logout contacts no registry, so it changes nothing`,
  async run(ctx) {
    const given = fileOptions(ctx.flags);
    // As containers/common's CheckAuthFile: a file named on the command line must be there.
    for (const path of [given.authfile, given.compatAuthFile]) {
      if (path === undefined) continue;
      await access(path).catch((e: NodeJS.ErrnoException) => {
        throw new SkopeoError(`credential file is not accessible: faccessat ${path}: ${errnoText(e)}`);
      });
    }
    try {
      const file = loginFile(given);
      if (file.warning) log('warning', file.warning);
      if (ctx.flags.all) {
        if (ctx.args.length > 0) throw new SkopeoError('--all takes no arguments');
        await removeLogin(undefined, file);
        process.stdout.write('Removed login credentials for all registries\n');
        return 0;
      }
      if (ctx.args.length === 0) throw new SkopeoError('please provide a registry to log out from');
      if (ctx.args.length > 1) throw new SkopeoError('logout accepts only one registry to log out from');
      const key = loginKey(ctx.args[0]!);
      const { removed } = await removeLogin(key, file).catch((e: unknown) => {
        throw new SkopeoError(`logging out of ${JSON.stringify(key)}: ${toImgError(e).message}`);
      });
      if (!removed) throw new SkopeoError(`not logged into ${key}`);
      process.stdout.write(`Removed login credentials for ${key}\n`);
      return 0;
    } catch (e) {
      throw skopeoWords(e);
    }
  },
};

/** errnoText is Go's text for a system error (syscall.Errno's Error()). */
function errnoText(e: NodeJS.ErrnoException): string {
  const texts: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'file name too long',
  };
  return texts[e.code ?? ''] ?? e.message;
}
