import { writeFileAtomic } from '../lib/util/fs.js';
import { parseFlags, run } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { planCopy } from '../lib/cli/copy-plan.js';
import { describe, runPipeline } from '../lib/cli/pipeline.js';
import { DAEMON_TRANSFER_HELP, OCI_TRANSFER_HELP, TRANSFER_HELP } from '../lib/cli/transfer-flags.js';
import { SIGNATURE_HELP } from '../lib/cli/sign-stages.js';
import { LAYER_HELP } from '../lib/image/layers.js';

const HELP = `usage: img-copy [flags] SRC DEST

Copies one image from SRC to DEST, as skopeo copy does. It is exactly the pipeline
  img-manifest get SRC --multi-arch system | img-sign check | img-ref --dest DEST | img-blob-put
    | img-manifest put | img-sign copy [| img-sign sign --sign-by FPR] [| img-sign sign --sign-by-sigstore-private-key F]
with the flags below passed to the stages that use them (--explain prints it), its stages run in
this one process. To a DEST that
keeps no signatures (oci:, archives) img-sign copy comes before img-blob-put. stdout gets the
records of the last stage, or the archive when DEST is oci-archive:/dev/stdout or
docker-archive:/dev/stdout. An archive SRC that is a pipe (oci-archive:/dev/stdin) is first
copied to a temp file, removed at exit.
  -a, --all                    copy an index and all of its images (as --multi-arch all)
  --multi-arch system|all|index-only   of an index, copy this machine's image (default), all, or the index alone
  --platform OS/ARCH[/VARIANT] the image of an index to copy (repeat for several: a smaller index)
  --override-os, --override-arch, --override-variant   as skopeo: the platform to pick, the rest from this machine
  --sign-identity REF          with --sign-by or --sign-by-sigstore-private-key: sign for REF (a docker
                               reference in full, with a tag or digest) instead of DEST's reference; then
                               a dir: DEST can be signed too
  --format oci|v2s2            convert the manifest (the digest changes)
  --preserve-digests           fail rather than change any digest
  --digestfile FILE            write the digest of the copied manifest to FILE
  --additional-tag NAME:TAG    (repeatable) a docker-archive: DEST names the image so too, after its own name
  --dry-run                    print the plan (status "planned", blobs and bytes), copy nothing
  --jobs N, --progress=ndjson  as img-blob-put
  --explain                    print the pipeline and exit

${LAYER_HELP}

${SIGNATURE_HELP}

${TRANSFER_HELP}

${DAEMON_TRANSFER_HELP}

${OCI_TRANSFER_HELP}`;

run('img-copy', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-copy']);
  const { stages, src, srcGiven, toStdout } = await planCopy(flags, flags._.map(String));
  if (flags.explain) {
    process.stderr.write(`${describe(stages)}\n`);
    return 0;
  }
  if (toStdout) return runPipeline(stages, { stdout: 'inherit' });
  let top: string | undefined;
  const status = await runPipeline(stages, {
    quiet: true,
    onRecord: (r) => {
      if (r.parent === undefined && typeof r.digest === 'string' && r.error === undefined) top = r.digest;
      // A spooled SRC is named as the user gave it, not by its temp file.
      process.stdout.write(`${JSON.stringify(src === srcGiven || r.ref !== src ? r : { ...r, ref: srcGiven })}\n`);
    },
  });
  if (status === 0 && flags.digestfile !== undefined && top !== undefined) await writeFileAtomic(String(flags.digestfile), top);
  return status;
});
