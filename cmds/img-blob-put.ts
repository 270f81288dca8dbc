import { parseFlags, run, usage } from '../lib/cli/run.js';
import { processRecords, records } from '../lib/cli/records.js';
import { REGISTRY_FLAGS, REGISTRY_HELP, registryOptions } from '../lib/cli/registry-flags.js';
import { copyRecordBlobs } from '../lib/copy/blobs.js';
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
to "dest" that "dest" lacks, verified, and passes the record on once they are all there.

${REGISTRY_HELP}`;

run('img-blob-put', HELP, async (argv) => {
  const flags = parseFlags(argv, { string: [...REGISTRY_FLAGS.string, 'digest', 'size', 'media-type'], boolean: REGISTRY_FLAGS.boolean, default: REGISTRY_FLAGS.default });
  const topts = { registry: registryOptions(flags) };
  const args = flags._.map(String);
  if (args.length === 0) {
    if (process.stdin.isTTY) throw usage('give a REF and the blob on stdin, or records on stdin');
    return processRecords('img-blob-put', records([], 'img-blob-put'), async (rec, emit) => emit(await copyRecordBlobs(rec, topts)));
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
