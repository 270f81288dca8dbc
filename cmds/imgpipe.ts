// imgpipe: skopeo's command line (alias skopeo=imgpipe), each subcommand the img-* stages it is.
import { exitsWhenMainEnds } from '../lib/cli/deadline.js';
import { copy } from '../lib/cli/imgpipe/copy.js';
import { inspect } from '../lib/cli/imgpipe/inspect.js';
import { login, logout } from '../lib/cli/imgpipe/login.js';
import { fatal, imgpipeMain } from '../lib/cli/imgpipe/main.js';
import * as simple from '../lib/cli/imgpipe/simple.js';
import { sync } from '../lib/cli/imgpipe/sync.js';

const SUBCOMMANDS = {
  inspect,
  copy,
  sync,
  delete: simple.deleteImage,
  'list-tags': simple.listTags,
  login,
  logout,
  'manifest-digest': simple.manifestDigest,
  'standalone-sign': simple.standaloneSign,
  'standalone-verify': simple.standaloneVerify,
  'generate-sigstore-key': simple.generateSigstoreKey,
};

imgpipeMain(process.argv.slice(2), SUBCOMMANDS).then(
  (status) => {
    process.exitCode = status;
    // Stages a stopped pipeline left behind would keep working: end them with the process.
    if (exitsWhenMainEnds()) process.exit();
  },
  (err: unknown) => {
    process.exitCode = fatal(err);
  },
);
