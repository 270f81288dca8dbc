import { openOutput } from '../lib/util/fs.js';
import { parseFlags, run, usage } from '../lib/cli/run.js';
import { checkCopyFlags } from '../lib/cli/args.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { describe, runPipeline, type Stage } from '../lib/cli/pipeline.js';
import { sideArgs, TRANSFER_HELP, transferArgs, transferOptions } from '../lib/cli/transfer-flags.js';
import { SIGNATURE_HELP, signatureStages } from '../lib/cli/sign-stages.js';
import { LAYER_HELP, layerArgs, parseLayerFlags } from '../lib/image/layers.js';
import type { SyncSource } from '../lib/sync/source.js';
import { syncDestKind, syncDestPrefix, syncSourceArg, TempAuthFiles, yamlRegistryFlags } from '../lib/sync/plan.js';
import { transportTraits } from '../lib/transport/index.js';
import { parseShard } from '../lib/ref/shard.js';

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

${TRANSFER_HELP}`;

const FILTERS = ['regex', 'exclude', 'semver', 'newest'];

run('img-sync', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-sync']);
  const args = flags._.map(String);
  if (args.length !== 2) throw usage('expected SOURCE and DESTINATION');
  if (flags.src === undefined || flags.dest === undefined) throw usage('--src and --dest name the transports of SOURCE and DESTINATION');
  const source = syncSourceArg(String(flags.src), args[0]!, flags.catalog);
  const prefix = syncDestPrefix(String(flags.dest), args[1]!);
  if (flags.all && flags['multi-arch'] !== undefined && flags['multi-arch'] !== 'all')
    throw usage(`--all and --multi-arch ${flags['multi-arch']} exclude each other`);
  transferOptions(flags);
  checkCopyFlags(flags);
  const shard = flags.shard === undefined ? undefined : String(flags.shard);
  if (shard !== undefined) parseShard(shard);
  const layers = parseLayerFlags(flags);
  const destTraits = transportTraits(syncDestKind(String(flags.dest)));
  signatureStages(flags, destTraits, []);

  /** stages builds one pipeline; `tags` are img-tags' source arguments. */
  const stages = (tags: string[], f: Record<string, unknown>): Stage[] => {
    const list = [...tags, ...sideArgs(f, 'src')];
    if (f.catalog) list.push('--catalog', '--tags');
    for (const k of FILTERS) if (f[k] !== undefined) list.push(`--${k}=${String(f[k])}`);
    const ref = ['--to', prefix];
    if (f.scoped) ref.push('--scoped');
    if (f['append-suffix'] !== undefined) ref.push(`--append-suffix=${String(f['append-suffix'])}`);
    if (shard !== undefined) ref.push(`--shard=${shard}`);
    const get = ['get', '--missing-at-dest', `--multi-arch=${f.all ? 'all' : String(f['multi-arch'] ?? 'system')}`, ...transferArgs(f)];
    for (const p of ([] as unknown[]).concat(f.platform ?? [])) get.push(`--platform=${String(p)}`);
    // Both img-blob-put and put know of a conversion: a config that put rewrites is not copied.
    const convert = [...(f.format !== undefined ? [`--format=${String(f.format)}`] : []), ...(f['preserve-digests'] ? ['--preserve-digests'] : [])];
    // Layers are (re)compressed by img-blob-put, which tells put in the record ("layerUpdates").
    const blobPut = [...transferArgs(f), ...convert, ...layerArgs(layers)];
    for (const k of ['jobs', 'progress']) if (f[k] !== undefined) blobPut.push(`--${k}=${String(f[k])}`);
    if (f['dry-run']) blobPut.push('--dry-run');
    const put = ['put', ...transferArgs(f), ...convert];
    const sigs = signatureStages(flags, destTraits, transferArgs(f));
    const out: Stage[] = [
      { command: 'img-tags', args: list },
      { command: 'img-ref', args: ref },
      { command: 'img-manifest', args: get },
      ...(sigs.check ? [sigs.check] : []),
      ...(sigs.beforeBlobs ? [sigs.beforeBlobs] : []),
      { command: 'img-blob-put', args: blobPut },
    ];
    if (!f['dry-run']) out.push({ command: 'img-manifest', args: put }, ...sigs.afterPut);
    return out;
  };

  // One pipeline per registry key of a YAML file, with that key's TLS settings and credentials.
  const auth = new TempAuthFiles();
  const pipelines: Stage[][] = [];
  if (flags.src === 'yaml') {
    const byKey = new Map<string, SyncSource>();
    const { readSyncYaml } = await import('../lib/sync/yaml.js');
    for (const s of await readSyncYaml(source)) if (!byKey.has(s.key)) byKey.set(s.key, s);
    for (const [key, s] of byKey) {
      const file = s.credentials ? (flags.explain ? `<temp auth.json with the credentials of ${key}>` : auth.write(s)) : undefined;
      pipelines.push(stages(['--yaml', source, '--registry', key], yamlRegistryFlags(flags, s, file)));
    }
  } else pipelines.push(stages([source], flags));
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
  if (images === 0 && !failed && flags.src !== 'yaml' && shard === undefined && !FILTERS.some((k) => flags[k] !== undefined)) {
    process.stderr.write(`img-sync: no images to sync found in ${source}\n`);
    return 1;
  }
  if (failed && flags['keep-going']) process.stderr.write('img-sync: sync failed for one or more images (reported above)\n');
  return failed ? 1 : 0;
});
