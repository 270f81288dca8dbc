import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { logout, loginKey } from '../lib/auth/login.js';
import { ImgError } from '../lib/errors.js';

const HELP = `usage: img-logout [--authfile FILE] REGISTRY
       img-logout --all [--authfile FILE]

Removes the stored credentials for REGISTRY (or, with --all, every registry) from auth.json.`;

run('img-logout', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-logout']);
  const args = flags._.map(String);
  const authfile = flags.authfile === undefined ? undefined : String(flags.authfile);
  if (flags.all) {
    if (args.length) throw usage('--all takes no REGISTRY');
    const { file } = await logout(undefined, authfile);
    process.stderr.write(`Removed login credentials for all registries from ${file}\n`);
    return;
  }
  if (args.length !== 1) throw usage('expected one REGISTRY, or --all');
  const key = loginKey(args[0]!);
  const { removed, file } = await logout(key, authfile);
  if (!removed) throw new ImgError('UNAUTHORIZED', `not logged into ${key} (in ${file})`);
  process.stderr.write(`Removed login credentials for ${key}\n`);
});
