import { openOutput } from '../lib/util/fs.js';
import { parseFlags, run } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { describe, runPipeline } from '../lib/cli/pipeline.js';
import { OCI_TRANSFER_HELP, TRANSFER_HELP } from '../lib/cli/transfer-flags.js';
import { SIGNATURE_HELP } from '../lib/cli/sign-stages.js';
import { planSync, SYNC_FILTERS } from '../lib/cli/sync-plan.js';
import { LAYER_HELP } from '../lib/image/layers.js';

const HELP = `usage: img-sync --src docker|dir|oci|yaml --dest docker|dir|oci|containers-storage [flags] SOURCE DESTINATION

Copies every image of SOURCE under DESTINATION, named as skopeo sync names them. It is exactly
the pipeline (--explain prints it; one per registry of a YAML file), run in this one process
  img-tags SOURCE [filters] | img-ref --to DESTINATION [--scoped] [--append-suffix S]
    | img-manifest get --missing-at-dest --multi-arch system|all | img-sign check | img-blob-put
    | img-manifest put | img-sign copy [| img-sign sign --sign-by FPR] [| img-sign sign --sign-by-sigstore-private-key F]
(to an oci: or containers-storage: DESTINATION, which keep no signatures, img-sign copy comes before img-blob-put)
SOURCE: docker: REPOSITORY (every tag) or REPOSITORY:TAG, or with --catalog a registry HOST (every
tag of every repository); dir: a directory searched for image directories; oci: a layout (its named
images); yaml: a skopeo sync YAML file. DESTINATION: docker: HOST[/PATH]; dir: a directory (one
image directory per image); oci: one layout holding every image by name, blobs stored once;
containers-storage: [STORE]PREFIX, images named PREFIX/NAME:TAG in that store (through podman).
Images the destination already has (same digest) are passed by: a re-run moves nothing.
  --scoped                     keep the source's registry and full path under DESTINATION
  --append-suffix S            append S to each destination tag
  --catalog                    (--src docker) SOURCE is a registry: sync all of it
  --regex RE, --exclude RE, --semver C, --newest N   filter the source's tags (see img-tags)
  -a, --all                    copy indexes with every image in them (as --multi-arch all)
  --multi-arch system|all|index-only   default system, as skopeo sync
  --platform OS/ARCH[/VARIANT] with system: the image of an index to take
  --override-os, --override-arch, --override-variant   as skopeo: the platform to pick (the rest from
                               this machine); not with --platform, and with --all they choose nothing
  --format oci|v2s2            convert manifests (digests change)
  --preserve-digests           fail rather than change any digest
  --keep-going                 report a failed image and go on (exit 1 at the end); without it the
                               first failure stops the sync
  --dry-run                    print the plan (status "planned", blobs and bytes), copy nothing
  --digestfile FILE            write "DIGEST DEST" for each image synced
  --shard K/N                  sync only the repositories of shard K of N (0 <= K < N): run N of
                               these at once, on one machine or many (img-ref --shard, docs/scale.md)
  --jobs N, --progress=ndjson  as img-blob-put
  --explain                    print the pipelines and exit

${LAYER_HELP}

${SIGNATURE_HELP}

${TRANSFER_HELP}

${OCI_TRANSFER_HELP}`;

run('img-sync', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-sync']);
  const { pipelines, source, shard, auth } = await planSync(flags, flags._.map(String));
  if (flags.explain) {
    process.stderr.write(`${pipelines.map(describe).join('\n')}\n`);
    return 0;
  }

  const digestfile = flags.digestfile === undefined ? undefined : String(flags.digestfile);
  // Written as images are synced and committed at the end, also after a failure: it lists what was synced.
  const digests = digestfile === undefined ? undefined : await openOutput(digestfile);
  let failed = false;
  let images = 0;
  try {
    for (const p of pipelines) {
      const status = await runPipeline(p, {
        onRecord: (r) => {
          if (r.error !== undefined) {
            failed = true;
            return flags['keep-going'] === true;
          }
          if (r.parent !== undefined) return;
          images++;
          if (digests !== undefined && typeof r.digest === 'string' && typeof r.dest === 'string') digests.stream.write(`${r.digest} ${r.dest}\n`);
        },
      });
      if (status !== 0) failed = true;
      if (failed && !flags['keep-going']) break;
    }
  } finally {
    auth.remove();
    await digests?.commit();
  }
  // A shard may hold none of the images: only the whole source is expected to have some.
  if (images === 0 && !failed && flags.src !== 'yaml' && shard === undefined && !SYNC_FILTERS.some((k) => flags[k] !== undefined)) {
    process.stderr.write(`img-sync: no images to sync found in ${source}\n`);
    return 1;
  }
  if (failed && flags['keep-going']) process.stderr.write('img-sync: sync failed for one or more images (reported above)\n');
  return failed ? 1 : 0;
});
