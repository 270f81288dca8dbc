import { checkCopyFlags, overridden } from './args.js';
import type { ParsedFlags } from './flags.js';
import type { Stage } from './pipeline.js';
import { usage } from './run.js';
import { signatureStages } from './sign-stages.js';
import { imageOnly, sideArgs, transferArgs, transferOptions } from './transfer-flags.js';
import { layerArgs, parseLayerFlags } from '../image/layers.js';
import { parseShard } from '../ref/shard.js';
import type { SyncSource } from '../sync/source.js';
import { syncDestKind, syncDestPrefix, syncSourceArg, TempAuthFiles, yamlRegistryFlags } from '../sync/plan.js';
import { transportTraits } from '../transport/index.js';

/** The tag filters of img-sync, handed to img-tags. */
export const SYNC_FILTERS = ['regex', 'exclude', 'semver', 'newest'];

/** SyncPlan is img-sync's pipelines: one, or one per registry of a YAML file. */
export interface SyncPlan {
  pipelines: Stage[][];
  /** SOURCE as img-tags reads it. */
  source: string;
  shard?: string;
  /** the temp auth.json files of a YAML file's credentials: remove() when the pipelines are done. */
  auth: TempAuthFiles;
}

/**
 * planSync checks img-sync's flags (COMMAND_FLAGS['img-sync']) and builds its pipelines for
 * `args` (SOURCE DESTINATION): img-tags | img-ref --to | img-manifest get --missing-at-dest |
 * img-sign check | img-blob-put | img-manifest put | img-sign copy…, each with the flags it uses.
 * With flags.explain, a YAML file's credentials are named, not written to a temp file.
 */
export async function planSync(flags: ParsedFlags, args: string[]): Promise<SyncPlan> {
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
    // img-tags reads an oci: source's index.json only: no --shared-blob-dir.
    const list = [...tags, ...sideArgs(f, 'src').filter((a) => !imageOnly(a))];
    if (f.catalog) list.push('--catalog', '--tags');
    for (const k of SYNC_FILTERS) if (f[k] !== undefined) list.push(`--${k}=${String(f[k])}`);
    const ref = ['--to', prefix];
    if (f.scoped) ref.push('--scoped');
    if (f['append-suffix'] !== undefined) ref.push(`--append-suffix=${String(f['append-suffix'])}`);
    if (shard !== undefined) ref.push(`--shard=${shard}`);
    // --dest-force-compress-format: an image the destination has may hold layers in another
    // compression, so it is not passed by (get reads the source only, then)
    const get = [
      'get',
      ...(layers.forceFormat ? [] : ['--missing-at-dest']),
      `--multi-arch=${f.all ? 'all' : String(f['multi-arch'] ?? 'system')}`,
      ...(layers.forceFormat ? sideArgs(f, 'src') : transferArgs(f)),
    ];
    for (const p of ([] as unknown[]).concat(f.platform ?? [])) get.push(`--platform=${String(p)}`);
    // skopeo's --override-*: the image of an index to take (with --all, none is chosen)
    const picked = overridden(f);
    if (picked !== undefined) get.push(`--platform=${picked}`);
    // Both img-blob-put and put know of a conversion: a config that put rewrites is not copied.
    const convert = [...(f.format !== undefined ? [`--format=${String(f.format)}`] : []), ...(f['preserve-digests'] ? ['--preserve-digests'] : [])];
    // Layers are (re)compressed by img-blob-put, which tells put in the record ("layerUpdates").
    const blobPut = [...transferArgs(f), ...convert, ...layerArgs(layers)];
    for (const k of ['jobs', 'progress']) if (f[k] !== undefined) blobPut.push(`--${k}=${String(f[k])}`);
    if (f['dry-run']) blobPut.push('--dry-run');
    const put = ['put', ...transferArgs(f), ...convert];
    // An oci: layout keeps no signatures: the img-sign stages get no --shared-blob-dir flags.
    const sigs = signatureStages(
      flags,
      destTraits,
      transferArgs(f).filter((a) => !imageOnly(a)),
    );
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
    const { readSyncYaml } = await import('../sync/yaml.js');
    for (const s of await readSyncYaml(source)) if (!byKey.has(s.key)) byKey.set(s.key, s);
    for (const [key, s] of byKey) {
      const file = s.credentials ? (flags.explain ? `<temp auth.json with the credentials of ${key}>` : auth.write(s)) : undefined;
      pipelines.push(stages(['--yaml', source, '--registry', key], yamlRegistryFlags(flags, s, file)));
    }
  } else pipelines.push(stages([source], flags));
  return { pipelines, source, auth, ...(shard !== undefined ? { shard } : {}) };
}
