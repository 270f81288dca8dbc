import { parseFlags, run, usage } from '../lib/cli/run.js';
import { processRecordsConcurrently, records } from '../lib/cli/records.js';
import { TRANSFER_FLAGS, TRANSFER_HELP, transferOptions } from '../lib/cli/transfer-flags.js';
import { BlobMover } from '../lib/copy/mover.js';
import { parseSize } from '../lib/cli/args.js';
import { putBlob } from '../lib/image/blobs.js';
import { parseDigest } from '../lib/oci/digest.js';
import { formatRef, parseRef } from '../lib/ref/index.js';
import { RecordWriter } from '../lib/stream/ndjson.js';

const HELP = `usage: img-blob-put REF [--digest DIGEST] [--size N] [--media-type TYPE]
       img-blob-put < records

With REF: stores stdin as one blob at REF and prints a record {ref, digest, size[, mediaType]}.
With --digest (and --size) the bytes are verified before the blob becomes visible.
Without REF (batch mode): for each record on stdin, copies every blob its image needs from "ref"
to "dest" that "dest" lacks, verified, and passes the record on once they are all there. Each
distinct blob moves once per destination repository, up to --jobs N (default 6) at once; blobs
seen elsewhere on the destination registry are mounted instead of copied.

${TRANSFER_HELP}`;

run('img-blob-put', HELP, async (argv) => {
  const flags = parseFlags(argv, { string: [...TRANSFER_FLAGS.string, 'digest', 'size', 'media-type', 'jobs', 'progress'], boolean: [...TRANSFER_FLAGS.boolean, 'dry-run'], default: TRANSFER_FLAGS.default });
  const sides = transferOptions(flags);
  const topts = sides.dest;
  const args = flags._.map(String);
  if (args.length === 0) {
    if (process.stdin.isTTY) throw usage('give a REF and the blob on stdin, or records on stdin');
    const progress = flags.progress === undefined ? undefined : String(flags.progress);
    if (progress !== undefined && progress !== 'ndjson') throw usage(`invalid --progress ${JSON.stringify(progress)}: only ndjson is supported`);
    const onEvent = progress === 'ndjson' ? (e: object) => process.stderr.write(`${JSON.stringify(e)}\n`) : undefined;
    const jobs = flags.jobs === undefined ? undefined : Math.max(1, parseSize(flags.jobs, '--jobs'));
    const mover = new BlobMover({ src: sides.src, dest: sides.dest, dryRun: flags['dry-run'], ...(jobs ? { jobs } : {}), ...(onEvent ? { onEvent } : {}) });
    return processRecordsConcurrently('img-blob-put', records([], 'img-blob-put'), (rec) => mover.moveRecord(rec));
  }
  if (args.length !== 1) throw usage('expected one REF');
  const ref = parseRef(args[0]!);
  const expected: { digest?: string; size?: number } = {};
  if (flags.digest !== undefined) expected.digest = (parseDigest(String(flags.digest), '--digest'), String(flags.digest));
  if (flags.size !== undefined) expected.size = parseSize(flags.size, '--size');
  if (process.stdin.isTTY) throw usage('img-blob-put reads the blob from stdin');
  const info = await putBlob(ref, process.stdin, expected, topts);
  const rec: Record<string, unknown> = { ref: formatRef(ref), digest: info.digest, size: info.size };
  if (flags['media-type']) rec.mediaType = String(flags['media-type']);
  await new RecordWriter(process.stdout).write(rec);
});
