import { run } from '../lib/cli/run.js';
import { REF_HELP, refMain } from '../lib/cli/commands/img-ref.js';

run('img-ref', REF_HELP, refMain);
