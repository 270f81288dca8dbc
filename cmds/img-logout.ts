import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { logout, loginFile, loginKey } from '../lib/auth/login.js';
import { ImgError } from '../lib/errors.js';

const HELP = `usage: img-logout [--authfile FILE | --compat-auth-file FILE] REGISTRY
       img-logout --all [--authfile FILE | --compat-auth-file FILE]

Removes the stored credentials for REGISTRY (or, with --all, every registry) from auth.json
(--authfile, else $REGISTRY_AUTH_FILE, else the default one), or from Docker's config.json with
--compat-auth-file FILE (or $DOCKER_CONFIG, when no auth file is named).`;

run('img-logout', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-logout']);
  const args = flags._.map(String);
  const file = loginFile({
    ...(flags.authfile !== undefined ? { authfile: String(flags.authfile) } : {}),
    ...(flags['compat-auth-file'] !== undefined ? { compatAuthFile: String(flags['compat-auth-file']) } : {}),
  });
  if (file.warning) process.stderr.write(`img-logout: warning: ${file.warning}\n`);
  if (flags.all) {
    if (args.length) throw usage('--all takes no REGISTRY');
    await logout(undefined, file);
    process.stderr.write(`Removed login credentials for all registries from ${file.path}\n`);
    return;
  }
  if (args.length !== 1) throw usage('expected one REGISTRY, or --all');
  const key = loginKey(args[0]!);
  const { removed } = await logout(key, file);
  if (!removed) throw new ImgError('UNAUTHORIZED', `not logged into ${key} (in ${file.path})`);
  process.stderr.write(`Removed login credentials for ${key}\n`);
});
