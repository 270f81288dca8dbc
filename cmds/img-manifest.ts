import { run } from '../lib/cli/run.js';
import { MANIFEST_HELP, manifestMain } from '../lib/cli/commands/img-manifest.js';

run('img-manifest', MANIFEST_HELP, manifestMain);
