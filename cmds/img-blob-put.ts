import { run } from '../lib/cli/run.js';
import { BLOB_PUT_HELP, blobPutMain } from '../lib/cli/commands/img-blob-put.js';

run('img-blob-put', BLOB_PUT_HELP, blobPutMain);
