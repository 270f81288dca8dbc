import { existsSync, mkdirSync } from 'node:fs';
import type { ImageRecord } from '../../oci/record.js';
import { openOutput } from '../../util/fs.js';
import type { ParsedFlags } from '../flags.js';
import { describe, runPipeline, type Stage } from '../pipeline.js';
import { planSync } from '../sync-plan.js';
import { checkSkopeoSyncKinds } from '../../ref/args.js';
import { capture } from './capture.js';
import { copyLines } from './copy.js';
import type { Ctx, Subcommand } from './context.js';
import { imageError, reason, SkopeoError } from './errors.js';
import { log } from './log.js';

const SIDE = ['authfile', 'creds', 'username', 'password', 'registry-token', 'cert-dir', 'tls-verify', 'no-creds'];

/** The flags of skopeo sync that img-sync takes under the same name. */
const SAME = [
  'authfile',
  ...['src-', 'dest-'].flatMap((p) => SIDE.map((f) => `${p}${f}`)),
  'retry-times',
  'sign-by',
  'sign-by-sigstore-private-key',
  'sign-passphrase-file',
  'format',
  'src',
  'dest',
  'append-suffix',
  'scoped',
  'all',
  'dry-run',
  'remove-signatures',
  'preserve-digests',
  'explain',
];
const GLOBALS = ['policy', 'insecure-policy', 'registries.d', 'debug', 'registries-conf', 'command-timeout'];

/** syncFlags gives img-sync's flags (COMMAND_FLAGS['img-sync']) for skopeo sync's, with img-blob-put's progress events for skopeo's lines. */
export function syncFlags(ctx: Ctx): ParsedFlags {
  const { flags, global } = ctx;
  const out: ParsedFlags = { _: ctx.args };
  for (const f of SAME) if (flags[f] !== undefined) out[f] = flags[f];
  for (const f of GLOBALS) if (global[f] !== undefined) out[f] = global[f];
  if (global['insecure-policy'] === true) delete out.policy;
  if (flags.screds !== undefined && flags['src-creds'] === undefined) out['src-creds'] = flags.screds;
  if (flags.dcreds !== undefined && flags['dest-creds'] === undefined) out['dest-creds'] = flags.dcreds;
  const tls = flags['tls-verify'] ?? global['tls-verify'];
  if (tls !== undefined) out['tls-verify'] = tls;
  // the images the destination has are passed by, as skopeo sync's OptimizeDestinationImageAlreadyExists
  out.progress = 'ndjson';
  return out;
}

/** familiar writes a docker:// reference as containers/image names it (docker.io/library/ left out). */
const familiar = (ref: string) => ref.replace(/^docker:\/\/docker\.io\/(?:library\/)?/, 'docker://');
/** repositoryOf is a reference without its tag or digest. */
const repositoryOf = (ref: string) => ref.replace(/@.*$/, '').replace(/:[^:/]*$/, '');

export const sync: Subcommand = {
  usage: 'sync [command options] --src TRANSPORT --dest TRANSPORT SOURCE DESTINATION',
  short: 'Synchronize one or more images from one location to another',
  help: `Copy all the images from a SOURCE to a DESTINATION: skopeo sync, run as the img-sync pipeline
  (img-tags | img-ref --to | img-manifest get --missing-at-dest | img-sign check | img-blob-put |
  img-manifest put | img-sign copy); --explain prints it instead of running it.

Allowed SOURCE transports (specified with --src): docker, dir, yaml.
Allowed DESTINATION transports (specified with --dest): docker, dir.

Flags:
      --authfile, --src-authfile, --dest-authfile, --src-creds, --dest-creds USERNAME[:PASSWORD],
      --src-username, --dest-username, --src-password, --dest-password, --src-registry-token,
      --dest-registry-token, --src-cert-dir, --dest-cert-dir PATH, --src-tls-verify, --dest-tls-verify,
      --src-no-creds, --dest-no-creds, --retry-times N
  -s, --src, -d, --dest TRANSPORT   SOURCE and DESTINATION transport type
      --scoped                  Images at DESTINATION are prefix using the full source image path as scope
      --append-suffix string    String to append to DESTINATION tags
  -a, --all                     Copy all images if SOURCE-IMAGE is a list
      --dry-run                 Run without actually copying data
      --keep-going              Do not abort the sync if any image copy fails
      --digestfile string       Write the digests and Image References of the resulting images to the file
  -f, --format, --preserve-digests, --remove-signatures, --sign-by, --sign-by-sigstore-private-key,
      --sign-passphrase-file    as for copy
      --explain                 print the img-* pipelines (on stderr) and exit
Refused (not supported by imgpipe yet): --sign-by-sq-fingerprint, --sign-by-sigstore, --retry-delay.`,
  async run(ctx) {
    const { flags } = ctx;
    if (ctx.args.length !== 2) throw new SkopeoError('Exactly two arguments expected', 1, true);
    if (flags['tls-verify'] !== undefined) log('warning', "'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify");
    const src = flags.src === undefined ? '' : String(flags.src);
    const dest = flags.dest === undefined ? '' : String(flags.dest);
    const { registrySource, directoryDestination } = checkSkopeoSyncKinds(src, dest);
    const f = syncFlags(ctx);
    const plan = await planSync(f, ctx.args);
    if (flags.explain) {
      process.stderr.write(`${plan.pipelines.map(describe).join('\n')}\n`);
      return 0;
    }
    if (registrySource) {
      const tagged = /[:@][^/]*$/.test(ctx.args[0]!);
      log('info', 'Tag presence check', { imagename: ctx.args[0]!, tagged: String(tagged) });
      if (!tagged) log('info', 'Getting tags', { image: ctx.args[0]! });
    }
    const dryRun = flags['dry-run'] === true;
    const listed = await listImages(plan.pipelines);
    // a YAML file's repositories, as skopeo logs them while it lists their images
    if (src === 'yaml') {
      const repos = new Set(listed.map((i) => repositoryOf(i.ref).replace(/^docker:\/\//, '')));
      for (const r of repos) log('info', 'Processing repo', { registry: r.slice(0, r.indexOf('/')), repo: r.slice(r.indexOf('/') + 1) });
    }
    if (directoryDestination) claimDirectories(listed);
    const order = new Map(listed.map((i, n) => [`${i.ref} ${i.dest}`, n]));
    if (dryRun) log('warning', 'Running in dry-run mode');
    const keepGoing = flags['keep-going'] === true;
    const digests = flags.digestfile === undefined || dryRun ? undefined : await openOutput(String(flags.digestfile));
    const records: ImageRecord[] = [];
    const t: Tally = { synced: 0, seen: false, sources: new Set() };
    let status = 0;
    let stopped = false;
    try {
      for (const p of plan.pipelines) {
        const run = await capture(() =>
          runPipeline(p, {
            quiet: true,
            onRecord: (r) => {
              records.push(r);
              if (r.error !== undefined && !keepGoing) {
                stopped = true;
                return false;
              }
            },
          }),
        );
        if (run.result !== 0) status = 1;
        report(t, sortBy(records.splice(0), order), run.captured, ctx, dryRun, digests);
        if (stopped) break;
      }
    } finally {
      plan.auth.remove();
      await digests?.commit();
    }
    if (status !== 0 && !keepGoing) throw new SkopeoError(t.lastError ?? 'the sync failed');
    if (!t.seen && status === 0) throw new SkopeoError(`No images to sync found in ${JSON.stringify(ctx.args[0])}`);
    log('info', `${dryRun ? 'Would have synced' : 'Synced'} ${t.synced} images from ${t.sources.size} sources`);
    if (status !== 0) throw new SkopeoError('Sync failed due to previous reported error(s) for one or more images');
    return 0;
  },
};

/**
 * listImages gives the images the pipelines will sync, in the source's order, by running their
 * first two stages (img-tags | img-ref): as `ref DEST` keys, for printing in skopeo's order.
 */
async function listImages(pipelines: Stage[][]): Promise<{ ref: string; dest: string }[]> {
  const images: { ref: string; dest: string }[] = [];
  for (const p of pipelines) {
    await capture(() =>
      runPipeline(p.slice(0, 2), {
        quiet: true,
        onRecord: (r) => {
          if (r.error === undefined && typeof r.dest === 'string') images.push({ ref: String(r.ref), dest: r.dest });
        },
      }),
    );
  }
  return images;
}

/**
 * claimDirectories does what skopeo sync does for each image it syncs into dir:, before the copy
 * (and with --dry-run too): it refuses a destination directory that exists, else makes it. All are
 * checked before any image is copied (skopeo stops at the first, after copying those before it).
 */
function claimDirectories(images: { dest: string }[]): void {
  const dirs = images.map((i) => i.dest.replace(/^dir:/, ''));
  for (const d of dirs) if (existsSync(d)) throw new SkopeoError(`Refusing to overwrite destination directory ${JSON.stringify(d)}`);
  for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o755 });
}

/** sortBy puts records in the order of `order` (by ref and dest); records it lacks keep their place after those. */
function sortBy(records: ImageRecord[], order: Map<string, number>): ImageRecord[] {
  const at = (r: ImageRecord) => order.get(`${String(r.ref)} ${String(r.dest)}`) ?? order.size;
  return records
    .map((r, i) => ({ r, i }))
    .sort((x, y) => at(x.r) - at(y.r) || x.i - y.i)
    .map((x) => x.r);
}

/** Tally: what the pipelines of one sync came to, for its last lines. */
interface Tally {
  synced: number;
  seen: boolean;
  lastError?: string;
  sources: Set<string>;
}

/** report prints skopeo sync's lines for the records of one pipeline: per image its log line and copy's lines, failures as skopeo logs them. */
function report(
  t: Tally,
  records: ImageRecord[],
  captured: Parameters<typeof copyLines>[1],
  ctx: Ctx,
  dryRun: boolean,
  digests: Awaited<ReturnType<typeof openOutput>> | undefined,
): void {
  const tops = records.filter((r) => typeof r.parent !== 'string');
  const counts = new Map<string, number>();
  for (const r of tops) counts.set(repositoryOf(String(r.ref)), (counts.get(repositoryOf(String(r.ref))) ?? 0) + 1);
  const seen = new Map<string, number>();
  const print = { removeSignatures: ctx.flags['remove-signatures'] === true, tty: process.stdout.isTTY === true, sync: true };
  for (const r of tops) {
    t.seen = true;
    const repo = repositoryOf(String(r.ref));
    t.sources.add(repo);
    const i = (seen.get(repo) ?? 0) + 1;
    seen.set(repo, i);
    const fields = { from: familiar(String(r.ref)), to: String(r.dest ?? '') };
    const ref = familiar(String(r.ref));
    if (r.error !== undefined) {
      const e = imageError('', r.error);
      if (r.error.stage === 'img-tags') {
        t.lastError = e.message;
        continue;
      }
      t.lastError = `Error copying ref ${JSON.stringify(ref)}: ${e.message}`;
      if (ctx.flags['keep-going']) log('error', `Error copying ref ${JSON.stringify(ref)}`, { error: e.message });
      continue;
    }
    log('info', `${dryRun ? 'Would have copied' : 'Copying'} image ref ${i}/${counts.get(repo)}`, fields);
    if (!dryRun) {
      const children = records.filter((c) => c.parent === r.digest && c.dest === r.dest);
      const lines = copyLines([...children, r], captured, print);
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      if (digests !== undefined && typeof r.digest === 'string') digests.stream.write(`${r.digest} ${String(r.dest)}\n`);
    }
    t.synced++;
  }
  // a failure before any record (img-tags): its line
  if (tops.length === 0 && captured.lines.length > 0) t.lastError = reason({ code: 'IO', message: captured.lines[captured.lines.length - 1]!.message });
}
