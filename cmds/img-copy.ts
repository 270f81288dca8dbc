import { writeFileAtomic } from '../lib/util/fs.js';
import { parseFlags, run, usage } from '../lib/cli/run.js';
import { describe, runPipeline, type Stage } from '../lib/cli/pipeline.js';
import { TRANSFER_FLAGS, TRANSFER_HELP, transferOptions } from '../lib/cli/transfer-flags.js';
import { sideArgs, transferArgs } from '../lib/cli/stage-args.js';
import { formatRef, parseRef } from '../lib/ref/index.js';

const HELP = `usage: img-copy [flags] SRC DEST

Copies one image (with --all, an index and every image in it) from SRC to DEST. It is exactly the
pipeline
  img-manifest get SRC | img-ref --dest DEST | img-blob-put | img-manifest put
with the flags below passed to the stages that use them (--explain prints it). stdout gets the
records of the last stage.
  -a, --all                    copy an index and all of its images (as --multi-arch all)
  --multi-arch system|all|index-only
  --platform OS/ARCH[/VARIANT] copy only that image of an index
  --format oci|v2s2            convert the manifest (the digest changes)
  --preserve-digests           fail rather than change any digest
  --digestfile FILE            write the digest of the copied manifest to FILE
  --dry-run                    print the plan (status "planned", blobs and bytes), copy nothing
  --jobs N, --progress=ndjson  as img-blob-put
  --explain                    print the pipeline and exit

${TRANSFER_HELP}`;

run('img-copy', HELP, async (argv) => {
  const flags = parseFlags(argv, {
    string: [...TRANSFER_FLAGS.string, 'multi-arch', 'platform', 'format', 'digestfile', 'jobs', 'progress'],
    boolean: [...TRANSFER_FLAGS.boolean, 'all', 'preserve-digests', 'dry-run', 'explain'],
    alias: { a: 'all' },
    default: TRANSFER_FLAGS.default,
  });
  const args = flags._.map(String);
  if (args.length !== 2) throw usage('expected SRC and DEST');
  const src = formatRef(parseRef(args[0]!));
  const dest = formatRef(parseRef(args[1]!));
  transferOptions(flags);
  const get = ['get', src, ...sideArgs(flags, 'src')];
  if (flags.all) get.push('--all');
  for (const f of ['multi-arch', 'platform']) if (flags[f] !== undefined) get.push(`--${f}=${String(flags[f])}`);
  const blobPut = transferArgs(flags);
  for (const f of ['jobs', 'progress']) if (flags[f] !== undefined) blobPut.push(`--${f}=${String(flags[f])}`);
  if (flags['dry-run']) blobPut.push('--dry-run');
  const put = ['put', ...sideArgs(flags, 'dest')];
  if (flags.format !== undefined) put.push(`--format=${String(flags.format)}`);
  if (flags['preserve-digests']) put.push('--preserve-digests');
  const stages: Stage[] = [
    { command: 'img-manifest', args: get },
    { command: 'img-ref', args: ['--dest', dest] },
    { command: 'img-blob-put', args: blobPut },
  ];
  if (!flags['dry-run']) stages.push({ command: 'img-manifest', args: put });
  if (flags.explain) {
    process.stderr.write(`${describe(stages)}\n`);
    return 0;
  }
  let top: string | undefined;
  const status = await runPipeline(stages, {
    onRecord: (r) => {
      if (r.parent === undefined && typeof r.digest === 'string' && r.error === undefined) top = r.digest;
    },
  });
  if (status === 0 && flags.digestfile !== undefined && top !== undefined) await writeFileAtomic(String(flags.digestfile), top);
  return status;
});
