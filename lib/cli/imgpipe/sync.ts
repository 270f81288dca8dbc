import { existsSync, mkdirSync } from 'node:fs';
import type { ImageRecord } from '../../oci/record.js';
import { openOutput } from '../../util/fs.js';
import type { ParsedFlags } from '../flags.js';
import { describe, runPipeline, type Stage } from '../pipeline.js';
import { LAYER_FLAGS } from '../command-flags.js';
import { planSync } from '../sync-plan.js';
import { checkSkopeoSyncKinds } from '../../ref/args.js';
import { capture, type Captured } from './capture.js';
import { copyLines } from './copy.js';
import { TRANSFER_GLOBALS, transferFlags, type Ctx, type Subcommand } from './context.js';
import { imageError, reason, SkopeoError } from './errors.js';
import { log } from './log.js';

const SIDE = ['authfile', 'creds', 'username', 'password', 'registry-token', 'cert-dir', 'tls-verify', 'no-creds'];

/** The flags of skopeo sync that img-sync takes under the same name. */
const SAME = [
  'authfile',
  ...['src-', 'dest-'].flatMap((p) => SIDE.map((f) => `${p}${f}`)),
  'retry-times',
  'retry-delay',
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
  ...LAYER_FLAGS.string,
  ...LAYER_FLAGS.boolean,
];

/** syncFlags gives img-sync's flags (COMMAND_FLAGS['img-sync']) for skopeo sync's, with img-blob-put's progress events for skopeo's lines. */
export function syncFlags(ctx: Ctx): ParsedFlags {
  const out = transferFlags(ctx, SAME, TRANSFER_GLOBALS);
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
      --src-no-creds, --dest-no-creds, --retry-times N, --retry-delay DURATION
  -s, --src, -d, --dest TRANSPORT   SOURCE and DESTINATION transport type
      --scoped                  Images at DESTINATION are prefix using the full source image path as scope
      --append-suffix string    String to append to DESTINATION tags
  -a, --all                     Copy all images if SOURCE-IMAGE is a list
      --dry-run                 Run without actually copying data
      --keep-going              Do not abort the sync if any image copy fails
      --digestfile string       Write the digests and Image References of the resulting images to the file
  -f, --format, --preserve-digests, --remove-signatures, --sign-by, --sign-by-sigstore-private-key,
      --sign-passphrase-file, --dest-compress, --dest-decompress, --dest-compress-format,
      --dest-compress-level, --dest-force-compress-format (skopeo sync ignores it; imgpipe's does not
      pass by an image the destination has), --dest-oci-accept-uncompressed-layers   as for copy
      --explain                 print the img-* pipelines (on stderr) and exit
Refused: --sign-by-sq-fingerprint (needs Sequoia-PGP's key store, which Debian bookworm's sq 0.27
  lacks), --sign-by-sigstore (keyless signing needs OIDC, Fulcio and Rekor servers).`,
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
    if (dryRun) log('warning', 'Running in dry-run mode');
    const keepGoing = flags['keep-going'] === true;
    const digests = flags.digestfile === undefined || dryRun ? undefined : await openOutput(String(flags.digestfile));
    const out = new SyncReport(listed, ctx, dryRun, digests);
    let status = 0;
    let stopped = false;
    try {
      for (const p of plan.pipelines) {
        const run = await capture(
          () =>
            runPipeline(p, {
              quiet: true,
              onRecord: (r) => {
                out.take(r);
                if (r.error !== undefined && !keepGoing) {
                  stopped = true;
                  return false;
                }
              },
            }),
          undefined,
          out.captured,
        );
        if (run.result !== 0) status = 1;
        out.flush();
        if (stopped) break;
      }
    } finally {
      plan.auth.remove();
      await digests?.commit();
    }
    const t = out.tally;
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

/** Tally: what the pipelines of one sync came to, for its last lines. */
interface Tally {
  synced: number;
  seen: boolean;
  lastError?: string;
  sources: Set<string>;
}

const keyOf = (r: { ref?: unknown; dest?: unknown }) => `${String(r.ref)} ${String(r.dest)}`;

/**
 * SyncReport prints skopeo sync's lines for each image as its record comes out of the pipeline,
 * in the source's order (a record that comes early waits for those before it): its log line,
 * numbered within its repository, and copy's lines; failures as skopeo logs them.
 */
class SyncReport {
  readonly tally: Tally = { synced: 0, seen: false, sources: new Set() };
  /** what the stages said: their lines and blob events, as the pipelines run */
  readonly captured: Captured = { lines: [], events: [] };
  private readonly at = new Map<string, { index: number; i: number; n: number }>();
  private readonly waiting = new Map<number, ImageRecord>();
  private readonly children = new Map<string, ImageRecord[]>();
  private next = 0;

  constructor(
    listed: { ref: string; dest: string }[],
    private readonly ctx: Ctx,
    private readonly dryRun: boolean,
    private readonly digests: Awaited<ReturnType<typeof openOutput>> | undefined,
  ) {
    const counts = new Map<string, number>();
    for (const l of listed) counts.set(repositoryOf(l.ref), (counts.get(repositoryOf(l.ref)) ?? 0) + 1);
    const seen = new Map<string, number>();
    listed.forEach((l, index) => {
      const repo = repositoryOf(l.ref);
      const i = (seen.get(repo) ?? 0) + 1;
      seen.set(repo, i);
      if (!this.at.has(keyOf(l))) this.at.set(keyOf(l), { index, i, n: counts.get(repo)! });
    });
  }

  /** take is one record of a pipeline's last stage. */
  take(r: ImageRecord): void {
    if (typeof r.parent === 'string') {
      // an image of an index: printed with the index
      if (r.error === undefined) this.children.set(String(r.dest), [...(this.children.get(String(r.dest)) ?? []), r]);
      else this.tally.lastError = `Error copying ref ${JSON.stringify(familiar(String(r.ref)))}: ${imageError('', r.error).message}`;
      return;
    }
    const at = this.at.get(keyOf(r));
    if (at === undefined) {
      this.print(r);
      return;
    }
    this.waiting.set(at.index, r);
    while (this.waiting.has(this.next)) {
      this.print(this.waiting.get(this.next)!);
      this.waiting.delete(this.next++);
    }
  }

  /** flush prints the records still waiting (those before them never came), in order. */
  flush(): void {
    for (const k of [...this.waiting.keys()].sort((a, b) => a - b)) this.print(this.waiting.get(k)!);
    this.waiting.clear();
    // a failure before any record (img-tags): its line
    if (!this.tally.seen && this.captured.lines.length > 0)
      this.tally.lastError = reason({ code: 'IO', message: this.captured.lines[this.captured.lines.length - 1]!.message });
  }

  private print(r: ImageRecord): void {
    const t = this.tally;
    const ref = familiar(String(r.ref));
    if (r.error !== undefined) {
      const e = imageError('', r.error);
      if (r.error.stage === 'img-tags') {
        t.lastError = e.message;
        return;
      }
      t.seen = true;
      t.lastError = `Error copying ref ${JSON.stringify(ref)}: ${e.message}`;
      if (this.ctx.flags['keep-going']) log('error', `Error copying ref ${JSON.stringify(ref)}`, { error: e.message });
      return;
    }
    t.seen = true;
    const repo = repositoryOf(String(r.ref));
    t.sources.add(repo);
    const at = this.at.get(keyOf(r));
    const n = at ? `${at.i}/${at.n}` : '1/1';
    log('info', `${this.dryRun ? 'Would have copied' : 'Copying'} image ref ${n}`, { from: ref, to: String(r.dest ?? '') });
    if (!this.dryRun) {
      const print = { removeSignatures: this.ctx.flags['remove-signatures'] === true, tty: process.stdout.isTTY === true, sync: true };
      const lines = copyLines([...(this.children.get(String(r.dest)) ?? []), r], this.captured, print);
      this.children.delete(String(r.dest));
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      if (this.digests !== undefined && typeof r.digest === 'string') this.digests.stream.write(`${r.digest} ${String(r.dest)}\n`);
    }
    t.synced++;
  }
}
