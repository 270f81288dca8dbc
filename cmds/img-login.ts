import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { registryOptions } from '../lib/cli/registry-flags.js';
import { runLogin } from '../lib/cli/login.js';
import { readStdin } from '../lib/cli/prompt.js';

const HELP = `usage: img-login [-u USER] [-p PASS | --password-stdin] [--authfile FILE | --compat-auth-file FILE]
                 [--tls-verify=false] [--cert-dir DIR] [--registries-conf FILE] [--retry-times N]
                 [--retry-delay DURATION] REGISTRY
       img-login --get-login [--authfile FILE | --compat-auth-file FILE] REGISTRY

Checks the credentials against REGISTRY (HOST[:PORT], or HOST/NAMESPACE for credentials that
apply to part of a registry) and stores them in auth.json (mode 0600) where skopeo and podman
find them: --authfile, else $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json.
--compat-auth-file FILE (or $DOCKER_CONFIG, when no auth file is named) writes Docker's
config.json instead, in Docker's form (Docker Hub as https://index.docker.io/v1/, no HOST/NAMESPACE).
Without -u and -p, credentials already stored for REGISTRY are checked with the registry first:
still good, nothing is asked or written; refused, new ones are asked for on the terminal.
--get-login prints the user stored for REGISTRY (exit 1 when there is none), and asks nothing.
registries.conf (--registries-conf FILE, else $CONTAINERS_REGISTRIES_CONF, else the containers
tools' files) may make REGISTRY insecure (as --tls-verify=false) or block it.`;

run('img-login', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-login']);
  const args = flags._.map(String);
  if (args.length !== 1) throw usage('expected one REGISTRY');
  if (flags.password !== undefined && flags['password-stdin']) throw usage('--password and --password-stdin exclude each other');
  const username = flags.username === undefined ? undefined : String(flags.username);
  let password = flags.password === undefined ? undefined : String(flags.password);
  if (flags['password-stdin'] && !flags['get-login']) {
    if (username === undefined) throw usage('--password-stdin needs --username');
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  const outcome = await runLogin({
    registry: args[0]!,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    getLogin: flags['get-login'] === true,
    file: {
      ...(flags.authfile !== undefined ? { authfile: String(flags.authfile) } : {}),
      ...(flags['compat-auth-file'] !== undefined ? { compatAuthFile: String(flags['compat-auth-file']) } : {}),
    },
    options: registryOptions({ ...flags, username: undefined, password: undefined }),
    out: process.stderr,
    warn: (message) => process.stderr.write(`img-login: warning: ${message}\n`),
  });
  if ('user' in outcome) process.stdout.write(`${outcome.user}\n`);
  else if ('valid' in outcome) process.stderr.write(`Existing credentials are valid. Already logged in to ${outcome.valid}\n`);
  else process.stderr.write(`Login Succeeded! (credentials for ${outcome.key} stored in ${outcome.stored})\n`);
});
