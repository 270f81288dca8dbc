import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS, LAYER_FLAGS } from '../command-flags.js';
import { LAYER_HELP, parseLayerFlags } from '../../image/layers.js';
import { processRecordsConcurrently, records } from '../records.js';
import { DAEMON_TRANSFER_HELP, OCI_TRANSFER_HELP, SIDED_FLAGS, TRANSFER_HELP, transferOptions } from '../transfer-flags.js';
import { BlobMover, type MoverOptions } from '../../copy/mover.js';
import { ProgressBars } from '../../copy/progress.js';
import { parseJobs, parseProgress, parseSize } from '../args.js';
import { putBlob } from '../../image/blobs.js';
import { parseFormat } from '../../image/conversion.js';
import { parseDigest } from '../../oci/digest.js';
import { formatRef, parseRef } from '../../ref/index.js';

export const BLOB_PUT_HELP = `usage: img-blob-put REF [--digest DIGEST] [--size N] [--media-type TYPE]
       img-blob-put < records

With REF: stores stdin as one blob at REF and prints a record {ref, digest, size[, mediaType]}.
With --digest (and --size) the bytes are verified before the blob becomes visible.
Without REF (batch mode): for each record on stdin, copies every blob its image needs from "ref"
to "dest" that "dest" lacks, verified, and passes the record on once they are all there. Each
distinct blob moves once per destination repository, up to --jobs N (default 6) blobs over 1 MiB
at once and 3 × N smaller ones beside them; blobs
seen elsewhere on the destination registry are mounted instead of copied.
  --format oci|v2s2, --preserve-digests   as given to img-manifest put: a Docker config that the
                               conversion to OCI rewrites (also into oci:, which holds only OCI) is
                               left for put to write, so that no unreferenced blob is left behind
  --progress=tty|ndjson|none   batch mode progress on stderr: per-blob bars when stderr is a
                               terminal (tty, the default; also "bars"), JSON events (ndjson),
                               or nothing (none)
  -q, --quiet                  as --progress=none

${LAYER_HELP}

${TRANSFER_HELP}

${DAEMON_TRANSFER_HELP}

${OCI_TRANSFER_HELP}`;

/** The flags of one mode only: a blob at REF is verified with these, */
const SINGLE_ONLY = ['digest', 'size', 'media-type'] as const;
/** and records are copied with these (the source is each record's "ref"). */
const BATCH_ONLY = [
  'jobs',
  'progress',
  'quiet',
  'dry-run',
  'format',
  'preserve-digests',
  ...LAYER_FLAGS.string,
  ...LAYER_FLAGS.boolean,
  ...SIDED_FLAGS.filter((f) => f.startsWith('src-')),
];

/** blobPutMain is img-blob-put's work (see BLOB_PUT_HELP); cmds/img-blob-put.ts runs it over stdin and stdout, img-copy and img-sync as a stage. */
export async function blobPutMain(argv: string[], io: StageIO): Promise<number | void> {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-blob-put']);
  const sides = transferOptions(flags);
  const topts = sides.dest;
  const args = flags._.map(String);
  // Each mode refuses the other's flags rather than ignore them.
  const given = (names: readonly string[]) => names.filter((f) => flags[f] !== undefined);
  if (args.length === 0) {
    const single = given(SINGLE_ONLY);
    if (single.length > 0) throw usage(`--${single[0]} is for one blob (img-blob-put REF), not for records on stdin`);
    if (io.interactive) throw usage('give a REF and the blob on stdin, or records on stdin');
    const progress = parseProgress(flags.progress, flags.quiet === true);
    const jobs = flags.jobs === undefined ? undefined : parseJobs(flags.jobs);
    const format = parseFormat(flags.format);
    const opts: MoverOptions = {
      src: sides.src,
      dest: sides.dest,
      dryRun: flags['dry-run'],
      preserveDigests: flags['preserve-digests'],
      ...parseLayerFlags(flags),
      ...(format ? { format } : {}),
      ...(jobs ? { jobs } : {}),
    };
    let bars: ProgressBars | undefined;
    if (progress === 'ndjson') Object.assign(opts, { onEvent: (e: object) => process.stderr.write(`${JSON.stringify(e)}\n`), progressEvery: 500 });
    else if (progress === 'tty' && process.stderr.isTTY) {
      bars = new ProgressBars(process.stderr, { alsoHook: process.stdout.isTTY ? [process.stdout] : [] }).start();
      Object.assign(opts, { onEvent: bars.onEvent, progressEvery: 100 });
    }
    const mover = new BlobMover(opts);
    try {
      return await processRecordsConcurrently('img-blob-put', records([], 'img-blob-put', io), (rec) => mover.moveRecord(rec), io.out);
    } finally {
      bars?.stop();
    }
  }
  if (args.length !== 1) throw usage('expected one REF');
  const batch = given(BATCH_ONLY);
  if (batch.length > 0) throw usage(`--${batch[0]} is for records on stdin (batch mode), not for one blob at a REF`);
  const ref = parseRef(args[0]!);
  const expected: { digest?: string; size?: number } = {};
  if (flags.digest !== undefined) {
    parseDigest(String(flags.digest), '--digest');
    expected.digest = String(flags.digest);
  }
  if (flags.size !== undefined) expected.size = parseSize(flags.size, '--size');
  if (io.interactive) throw usage('img-blob-put reads the blob from stdin');
  const info = await putBlob(ref, process.stdin, expected, topts);
  const rec: Record<string, unknown> = { ref: formatRef(ref), digest: info.digest, size: info.size };
  if (flags['media-type']) rec.mediaType = String(flags['media-type']);
  await io.out.write(rec);
}
