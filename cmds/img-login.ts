import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { registryOptions } from '../lib/cli/registry-flags.js';
import { loginKey } from '../lib/auth/login.js';
import { login } from '../lib/transport/index.js';
import { readSecret, readStdin } from '../lib/cli/prompt.js';

const HELP = `usage: img-login [-u USER] [-p PASS | --password-stdin] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR]
                 [--registries-conf FILE] REGISTRY

Checks the credentials against REGISTRY (HOST[:PORT], or HOST/NAMESPACE for credentials that
apply to part of a registry) and stores them in auth.json (mode 0600) where skopeo and podman
find them: --authfile, else $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json.
registries.conf (--registries-conf FILE, else $CONTAINERS_REGISTRIES_CONF, else the containers
tools' files) may make REGISTRY insecure (as --tls-verify=false) or block it.`;

run('img-login', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-login']);
  const args = flags._.map(String);
  if (args.length !== 1) throw usage('expected one REGISTRY');
  const key = loginKey(args[0]!);
  if (flags.password !== undefined && flags['password-stdin']) throw usage('--password and --password-stdin exclude each other');
  let username = flags.username === undefined ? undefined : String(flags.username);
  let password = flags.password === undefined ? undefined : String(flags.password);
  if (flags['password-stdin']) {
    if (username === undefined) throw usage('--password-stdin needs --username');
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (username === undefined) username = await readSecret('Username: ', false);
  if (password === undefined) password = await readSecret('Password: ', true);
  if (!username) throw usage('a user name is required');
  const { registry } = { registry: registryOptions({ ...flags, username: undefined, password: undefined }) };
  const file = await login(key, username, password, { ...registry, ...(flags.authfile ? { authfile: String(flags.authfile) } : {}) });
  process.stderr.write(`Login Succeeded! (credentials for ${key} stored in ${file})\n`);
});
