import { checkCopyFlags, overridden, parseAdditionalTags } from './args.js';
import type { ParsedFlags } from './flags.js';
import type { Stage } from './pipeline.js';
import { usage } from './run.js';
import { signatureStages } from './sign-stages.js';
import { spoolArchive } from './spool.js';
import { imageOnly, sideArgs, transferArgs, transferOptions } from './transfer-flags.js';
import { checkLayerOptionsAt, layerArgs, parseLayerFlags } from '../image/layers.js';
import { writesToStdout } from '../image/put.js';
import { formatRef, parseRef } from '../ref/index.js';
import { checkWritable, openTransport, transportTraits } from '../transport/index.js';
import { takesAdditionalTags } from '../transport/capabilities.js';

/** CopyPlan is img-copy's pipeline for one SRC and DEST. */
export interface CopyPlan {
  stages: Stage[];
  /** src as the stages read it: a pipe given as an archive SRC is spooled to a temp file first (not with --explain). */
  src: string;
  /** src as the user gave it (normalised). */
  srcGiven: string;
  dest: string;
  /** the archive goes to stdout (oci-archive:/dev/stdout): the last stage writes stdout itself. */
  toStdout: boolean;
}

/**
 * planCopy checks img-copy's flags (COMMAND_FLAGS['img-copy']) and builds its stages for
 * `args` (SRC DEST): img-manifest get | img-sign check | img-ref --dest | [img-sign copy] |
 * img-blob-put | img-manifest put | img-sign copy | img-sign sign…, each with the flags it uses.
 * An archive SRC that is a pipe is spooled unless flags.explain is set.
 */
export async function planCopy(flags: ParsedFlags, args: string[]): Promise<CopyPlan> {
  if (args.length !== 2) throw usage('expected SRC and DEST');
  const srcGiven = formatRef(parseRef(args[0]!));
  const dest = formatRef(parseRef(args[1]!));
  // A destination that can only be read (sif:) is refused before the source is opened, as skopeo does.
  checkWritable(parseRef(dest));
  transferOptions(flags);
  checkCopyFlags(flags);
  const layers = parseLayerFlags(flags);
  // More names are kept by a docker-archive: only (containers/image ignores them elsewhere): refused before anything moves.
  const additionalTags = parseAdditionalTags(flags['additional-tag']);
  if (additionalTags.length > 0 && !takesAdditionalTags(openTransport(dest)))
    throw usage(`--additional-tag: ${dest} keeps no names of its own (additional tags are for docker-archive: destinations)`);
  // Layer flags that would do nothing at DEST: refused now rather than by img-blob-put's record.
  checkLayerOptionsAt(openTransport(dest), layers);
  const toStdout = writesToStdout(dest) && !flags['dry-run'];
  if (toStdout && flags.digestfile !== undefined) throw usage('--digestfile cannot be used when the archive is written to stdout');
  // A Docker engine and an oci: layout keep no signatures: the img-sign stages get no --daemon-host, no --shared-blob-dir flags.
  const sigs = signatureStages(
    flags,
    transportTraits(parseRef(dest)),
    transferArgs(flags).filter((a) => !imageOnly(a)),
  );
  const src = flags.explain ? srcGiven : await spoolArchive(srcGiven);

  const get = ['get', src, ...sideArgs(flags, 'src')];
  // skopeo copy's default is --multi-arch system; get refuses --all with another --multi-arch.
  if (flags.all) get.push('--all');
  if (flags['multi-arch'] !== undefined || !flags.all) get.push(`--multi-arch=${flags['multi-arch'] === undefined ? 'system' : String(flags['multi-arch'])}`);
  for (const p of ([] as unknown[]).concat(flags.platform ?? [])) get.push(`--platform=${String(p)}`);
  // skopeo's --override-*: the image of an index to take (with --all, none is chosen)
  const picked = overridden(flags);
  if (picked !== undefined) get.push(`--platform=${picked}`);
  // Both img-blob-put and put know of a conversion: a config that put rewrites is not copied.
  const convert = [...(flags.format !== undefined ? [`--format=${String(flags.format)}`] : []), ...(flags['preserve-digests'] ? ['--preserve-digests'] : [])];
  // img-blob-put writes nothing to a Docker engine (put loads the image whole): no --dest-daemon-host.
  // Layers are (re)compressed by img-blob-put, which tells put in the record ("layerUpdates").
  const blobPut = [...transferArgs(flags).filter((a) => !a.startsWith('--dest-daemon-host=')), ...convert, ...layerArgs(layers)];
  for (const f of ['jobs', 'progress']) if (flags[f] !== undefined) blobPut.push(`--${f}=${String(flags[f])}`);
  if (flags['dry-run']) blobPut.push('--dry-run');
  // put reads the source too when DEST is an archive, so it gets both ends' flags.
  const put = ['put', ...transferArgs(flags), ...convert, ...additionalTags.map((t) => `--additional-tag=${t}`)];
  const stages: Stage[] = [
    { command: 'img-manifest', args: get },
    ...(sigs.check ? [sigs.check] : []),
    { command: 'img-ref', args: ['--dest', dest] },
    ...(sigs.beforeBlobs ? [sigs.beforeBlobs] : []),
    { command: 'img-blob-put', args: blobPut },
  ];
  if (!flags['dry-run']) stages.push({ command: 'img-manifest', args: put }, ...sigs.afterPut);
  return { stages, src, srcGiven, dest, toStdout };
}
