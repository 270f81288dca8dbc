import { pipeline } from 'node:stream/promises';
import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { openBlob } from '../lib/image/blobs.js';
import { splitBlobRef } from '../lib/ref/index.js';
import { parseSize } from '../lib/cli/args.js';
import { REGISTRY_HELP } from '../lib/cli/registry-flags.js';
import { DAEMON_HELP, OCI_HELP, transportOptions } from '../lib/cli/transfer-flags.js';
import { streamToOutput } from '../lib/util/fs.js';

const HELP = `usage: img-blob-get REF@DIGEST [-o FILE] [--size N]
       img-blob-get REF DIGEST [-o FILE] [--size N]

Writes one blob's bytes to stdout (or atomically to FILE), verified against DIGEST: a mismatch
fails the command and, with -o, leaves no file.

${REGISTRY_HELP}

${DAEMON_HELP}

${OCI_HELP}`;

run('img-blob-get', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-blob-get']);
  const args = flags._.map(String);
  if (args.length < 1 || args.length > 2) throw usage('expected REF@DIGEST or REF DIGEST');
  const { ref, digest } = splitBlobRef(args[0]!, args[1]);
  const size = flags.size === undefined ? undefined : parseSize(flags.size, '--size');
  const blob = await openBlob(ref, digest, size, transportOptions(flags, { pull: true }));
  if (flags.output) {
    await streamToOutput(blob, String(flags.output));
  } else {
    await pipeline(blob, process.stdout);
  }
});
