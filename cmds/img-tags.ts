import { run } from '../lib/cli/run.js';
import { TAGS_HELP, tagsMain } from '../lib/cli/commands/img-tags.js';

run('img-tags', TAGS_HELP, tagsMain);
