import { run } from '../lib/cli/run.js';
import { SIGN_HELP, signMain } from '../lib/cli/commands/img-sign.js';

run('img-sign', SIGN_HELP, signMain);
