import { writeFileAtomic } from '../lib/util/fs.js';
import { parseFlags, run, usage } from '../lib/cli/run.js';
import { checkCopyFlags } from '../lib/cli/args.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { describe, runPipeline, type Stage } from '../lib/cli/pipeline.js';
import { DAEMON_TRANSFER_HELP, sideArgs, TRANSFER_HELP, transferArgs, transferOptions } from '../lib/cli/transfer-flags.js';
import { spoolArchive } from '../lib/cli/spool.js';
import { SIGNATURE_HELP, signatureStages } from '../lib/cli/sign-stages.js';
import { hostPlatform } from '../lib/image/inspect.js';
import { writesToStdout } from '../lib/image/put.js';
import { LAYER_HELP, layerArgs, parseLayerFlags } from '../lib/image/layers.js';
import { formatPlatform } from '../lib/oci/platform.js';
import { formatRef, parseRef } from '../lib/ref/index.js';
import { transportTraits } from '../lib/transport/index.js';

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
  --format oci|v2s2            convert the manifest (the digest changes)
  --preserve-digests           fail rather than change any digest
  --digestfile FILE            write the digest of the copied manifest to FILE
  --dry-run                    print the plan (status "planned", blobs and bytes), copy nothing
  --jobs N, --progress=ndjson  as img-blob-put
  --explain                    print the pipeline and exit

${LAYER_HELP}

${SIGNATURE_HELP}

${TRANSFER_HELP}

${DAEMON_TRANSFER_HELP}`;

run('img-copy', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-copy']);
  const args = flags._.map(String);
  if (args.length !== 2) throw usage('expected SRC and DEST');
  const srcGiven = formatRef(parseRef(args[0]!));
  const dest = formatRef(parseRef(args[1]!));
  transferOptions(flags);
  checkCopyFlags(flags);
  const layers = parseLayerFlags(flags);
  const toStdout = writesToStdout(dest) && !flags['dry-run'];
  if (toStdout && flags.digestfile !== undefined) throw usage('--digestfile cannot be used when the archive is written to stdout');
  // A Docker engine keeps no signatures: the img-sign stages get no --daemon-host flags.
  const sigs = signatureStages(
    flags,
    transportTraits(parseRef(dest)),
    transferArgs(flags).filter((a) => !/^--(?:src-|dest-)?daemon-host=/.test(a)),
  );
  const src = flags.explain ? srcGiven : await spoolArchive(srcGiven);

  const get = ['get', src, ...sideArgs(flags, 'src')];
  // skopeo copy's default is --multi-arch system; get refuses --all with another --multi-arch.
  if (flags.all) get.push('--all');
  if (flags['multi-arch'] !== undefined || !flags.all) get.push(`--multi-arch=${flags['multi-arch'] === undefined ? 'system' : String(flags['multi-arch'])}`);
  for (const p of ([] as unknown[]).concat(flags.platform ?? [])) get.push(`--platform=${String(p)}`);
  if (['override-os', 'override-arch', 'override-variant'].some((f) => flags[f] !== undefined)) {
    const host = hostPlatform();
    const os = flags['override-os'] ?? host.os;
    const arch = flags['override-arch'] ?? host.architecture;
    const variant = flags['override-variant'] ?? (flags['override-arch'] === undefined ? host.variant : undefined);
    get.push(`--platform=${formatPlatform({ os: String(os), architecture: String(arch), ...(variant ? { variant: String(variant) } : {}) })}`);
  }
  // Both img-blob-put and put know of a conversion: a config that put rewrites is not copied.
  const convert = [...(flags.format !== undefined ? [`--format=${String(flags.format)}`] : []), ...(flags['preserve-digests'] ? ['--preserve-digests'] : [])];
  // img-blob-put writes nothing to a Docker engine (put loads the image whole): no --dest-daemon-host.
  // Layers are (re)compressed by img-blob-put, which tells put in the record ("layerUpdates").
  const blobPut = [...transferArgs(flags).filter((a) => !a.startsWith('--dest-daemon-host=')), ...convert, ...layerArgs(layers)];
  for (const f of ['jobs', 'progress']) if (flags[f] !== undefined) blobPut.push(`--${f}=${String(flags[f])}`);
  if (flags['dry-run']) blobPut.push('--dry-run');
  // put reads the source too when DEST is an archive, so it gets both ends' flags.
  const put = ['put', ...transferArgs(flags), ...convert];
  const stages: Stage[] = [
    { command: 'img-manifest', args: get },
    ...(sigs.check ? [sigs.check] : []),
    { command: 'img-ref', args: ['--dest', dest] },
    ...(sigs.beforeBlobs ? [sigs.beforeBlobs] : []),
    { command: 'img-blob-put', args: blobPut },
  ];
  if (!flags['dry-run']) stages.push({ command: 'img-manifest', args: put }, ...sigs.afterPut);
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
