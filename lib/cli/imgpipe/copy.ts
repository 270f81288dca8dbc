import type { ImageRecord } from '../../oci/record.js';
import { writeFileAtomic } from '../../util/fs.js';
import { LAYER_FLAGS, SKOPEO_IMAGE_FLAGS } from '../command-flags.js';
import { planCopy } from '../copy-plan.js';
import type { ParsedFlags } from '../flags.js';
import { describe, runPipeline } from '../pipeline.js';
import { capture, type Captured } from './capture.js';
import { TRANSFER_GLOBALS, transferFlags, type Ctx, type Subcommand } from './context.js';
import { imageError, SkopeoError, type StageError } from './errors.js';
import { log } from './log.js';

const sided = (names: readonly string[]) => ['src-', 'dest-'].flatMap((p) => names.map((n) => `${p}${n}`));

/** The flags of skopeo copy that img-copy takes under the same name. */
const SAME = [
  'authfile',
  ...sided([...SKOPEO_IMAGE_FLAGS.string, ...SKOPEO_IMAGE_FLAGS.boolean]),
  ...LAYER_FLAGS.string,
  ...LAYER_FLAGS.boolean,
  'retry-times',
  'retry-delay',
  'sign-by',
  'sign-by-sigstore-private-key',
  'sign-passphrase-file',
  'sign-identity',
  'format',
  'multi-arch',
  'digestfile',
  'additional-tag',
  'all',
  'preserve-digests',
  'remove-signatures',
  'explain',
];

/**
 * copyFlags gives img-copy's flags (COMMAND_FLAGS['img-copy']) for skopeo copy's: the same names,
 * --screds/--dcreds as --src-creds/--dest-creds, --image-parallel-copies as --jobs, the global flags,
 * and img-blob-put's progress events, which imgpipe turns into skopeo's lines (none with --quiet).
 */
export function copyFlags(ctx: Ctx): ParsedFlags {
  const { flags } = ctx;
  const out = transferFlags(ctx, SAME, TRANSFER_GLOBALS);
  const parallel = flags['image-parallel-copies'];
  if (parallel !== undefined) {
    if (!/^\d+$/.test(String(parallel)))
      throw new SkopeoError(
        `invalid argument ${JSON.stringify(String(parallel))} for "--image-parallel-copies" flag: strconv.ParseUint: parsing ${JSON.stringify(String(parallel))}: invalid syntax`,
      );
    if (Number(parallel) > 0) out.jobs = String(Number(parallel));
  }
  out.progress = flags.quiet ? 'none' : 'ndjson';
  return out;
}

/** copyLines are the lines skopeo copy writes for the images of `records` (in the order get gave them), as containers/image words them. */
export function copyLines(
  records: ImageRecord[],
  captured: Captured,
  opts: { removeSignatures: boolean; signing?: string; tty: boolean; sync?: boolean },
): string[] {
  const lines: string[] = [];
  const skipped = new Set(captured.events.filter((e) => e.event === 'skip' || e.event === 'mount').map((e) => String(e.digest)));
  const short = (d: string) => d.replace(/^[a-z0-9]+:/, '').slice(0, 12);
  const blob = (kind: string, d: string) =>
    opts.tty ? `Copying ${kind} ${short(d)} ${kind === 'blob' && skipped.has(d) ? 'skipped: already exists' : 'done'}` : `Copying ${kind} ${d}`;
  const signed = () => (opts.signing ? [`Creating signature: ${opts.signing}`] : []);
  const image = (r: ImageRecord) => {
    // a sync's image the destination has already (img-manifest get --missing-at-dest)
    if (opts.sync && r.status === 'exists') {
      if (!opts.removeSignatures) lines.push('Getting image source signatures');
      lines.push('Skipping: image already present at destination');
      return;
    }
    const m = r.manifest as { layers?: { digest: string }[]; config?: { digest: string } } | undefined;
    const updates = (r.layerUpdates ?? {}) as Record<string, { digest: string }>;
    const source = (d: string) => Object.entries(updates).find(([, u]) => u.digest === d)?.[0] ?? d;
    // the source's signatures img-sign copy carried (its record says how many)
    const carried = typeof r.signatures === 'number' && r.signatures > 0;
    if (!opts.removeSignatures) lines.push('Getting image source signatures');
    if (carried) lines.push('Checking if image destination supports signatures');
    for (const l of m?.layers ?? []) lines.push(blob('blob', source(l.digest)));
    if (m?.config) lines.push(blob('config', m.config.digest));
    lines.push('Writing manifest to image destination', ...signed());
    if (opts.signing || carried) lines.push('Storing signatures');
  };
  const children = records.filter((r) => typeof r.parent === 'string');
  for (const r of records) {
    if (typeof r.parent === 'string') continue;
    const m = r.manifest as { manifests?: unknown[] } | undefined;
    if (!Array.isArray(m?.manifests)) {
      image(r);
      continue;
    }
    // the index's children in its order (as put wrote them: converted digests where it converted)
    const listed = (m.manifests as { digest?: string }[]).map((d) => d.digest);
    const mine = listed.flatMap((d) => children.filter((c) => c.digest === d).slice(0, 1));
    const listCarried = typeof r.signatures === 'number' && r.signatures > 0;
    if (!opts.removeSignatures) lines.push('Getting image list signatures');
    if (listCarried) lines.push('Checking if image list destination supports signatures');
    lines.push(`Copying ${mine.length} images generated from ${m.manifests.length} images in list`);
    mine.forEach((c, i) => {
      lines.push(`Copying image ${String(c.digest)} (${i + 1}/${mine.length})`);
      image(c);
    });
    lines.push('Writing manifest list to image destination', ...signed());
    if (opts.signing || listCarried) lines.push('Storing list signatures');
  }
  return lines;
}

/** Stages before img-blob-put: a failure there comes before skopeo prints anything. */
const BEFORE_BLOBS = /^img-(?:manifest get|sign check|ref)$/;

export const copy: Subcommand = {
  usage: 'copy [command options] SOURCE-IMAGE DESTINATION-IMAGE',
  short: 'Copy an IMAGE-NAME from one location to another',
  help: `Copy an IMAGE-NAME from one location to another: skopeo copy, run as the img-copy pipeline
  (img-manifest get | img-sign check | img-ref --dest | img-blob-put | img-manifest put | img-sign copy);
  --explain prints it instead of running it. Progress goes to stdout, as skopeo writes it.

Flags:
      --authfile, --src-authfile, --dest-authfile string, --src-creds, --dest-creds USERNAME[:PASSWORD]
      --src-username, --dest-username, --src-password, --dest-password, --src-registry-token,
      --dest-registry-token, --src-cert-dir, --dest-cert-dir PATH, --src-tls-verify, --dest-tls-verify,
      --src-no-creds, --dest-no-creds, --src-daemon-host, --dest-daemon-host HOST, --retry-times N,
      --retry-delay DURATION      Fixed delay between retries (else an exponential backoff)
      --src-shared-blob-dir, --dest-shared-blob-dir DIRECTORY   DIRECTORY to use to share blobs across
                                  OCI repositories (there instead of an oci: layout's blobs/; an
                                  oci-archive: is read so, never written so)
  -a, --all                       Copy all images if SOURCE-IMAGE is a list
      --multi-arch string         How to handle multi-architecture images (system, all, or index-only)
  -f, --format string             MANIFEST TYPE (oci, v2s2) to use in the destination
      --preserve-digests          Preserve digests of images and lists
      --digestfile string         Write the digest of the pushed image to the specified file
      --additional-tag strings    additional tags (supports docker-archive; refused for any other destination)
      --remove-signatures         Do not copy signatures from SOURCE-IMAGE
      --sign-by FINGERPRINT, --sign-by-sigstore-private-key PATH, --sign-passphrase-file PATH
      --sign-identity string      Identity of signed image, must be a fully specified docker reference.
                                  Defaults to the target docker reference (with it, dir: can be signed)
      --dest-compress, --dest-decompress, --dest-compress-format FORMAT, --dest-compress-level LEVEL
      --dest-oci-accept-uncompressed-layers   Allow uncompressed image layers when saving to an OCI image
                                  (default is to compress things that aren't compressed)
      --dest-force-compress-format   Force exclusive use of the compression algorithm set in
                                  --dest-compress-format (every layer, at any destination)
      --dest-precompute-digests   Precompute digests to prevent uploading layers already on the registry
                                  (a layer compressed on the way is digested in a temp file first)
      --image-parallel-copies N   Maximum number of layers copied at once
  -q, --quiet                     Suppress output information when copying images
      --explain                   print the img-* pipeline (on stderr) and exit
Refused: --sign-by-sq-fingerprint (needs Sequoia-PGP's key store, which Debian bookworm's sq 0.27
  lacks), --sign-by-sigstore (keyless signing needs OIDC, Fulcio and Rekor servers).
Out of scope: image encryption (--encryption-key, --decryption-key, --encrypt-layer).`,
  async run(ctx) {
    if (ctx.args.length !== 2) throw new SkopeoError('Exactly two arguments expected', 1, true);
    const { flags } = ctx;
    if (flags['tls-verify'] !== undefined) log('warning', "'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify");
    if (flags['multi-arch'] !== undefined && flags.all) throw new SkopeoError('Cannot use --all and --multi-arch flags together');
    const f = copyFlags(ctx);
    const plan = await planCopy(f, ctx.args);
    if (flags.explain) {
      process.stderr.write(`${describe(plan.stages)}\n`);
      return 0;
    }
    if (plan.toStdout) return runPipeline(plan.stages, { stdout: 'inherit' });
    const records: ImageRecord[] = [];
    const { result: status, captured } = await capture(() => runPipeline(plan.stages, { quiet: true, onRecord: (r) => void records.push(r) }));
    const failed = records.find((r) => r.error !== undefined);
    const ok = records.filter((r) => r.error === undefined);
    const signing =
      flags['sign-by'] !== undefined
        ? 'Signing image using simple signing'
        : flags['sign-by-sigstore-private-key'] !== undefined
          ? 'Signing image using a sigstore signature'
          : undefined;
    const print = { removeSignatures: flags['remove-signatures'] === true, tty: process.stdout.isTTY === true, ...(signing ? { signing } : {}) };
    if (!flags.quiet) {
      const shown = failed && !BEFORE_BLOBS.test(String(failed.error!.stage)) ? [...ok, { ...failed, error: undefined }] : ok;
      const lines = failed
        ? copyLines(shown, captured, print).filter((l) => !l.startsWith('Writing manifest') && !l.startsWith('Storing') && !l.startsWith('Creating'))
        : copyLines(ok, captured, print);
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    }
    const error: StageError | undefined = failed?.error ?? (status !== 0 ? lastLine(captured) : undefined);
    // containers/image's leading words for a source it cannot open
    if (error !== undefined) throw imageError(error.stage === 'img-manifest get' ? `initializing source ${plan.srcGiven}: ` : '', error);
    for (const l of captured.lines) log('warning', l.message);
    const top = ok.find((r) => r.parent === undefined && typeof r.digest === 'string');
    if (f.digestfile !== undefined && top !== undefined) await writeFileAtomic(String(f.digestfile), String(top.digest));
    return status;
  },
};

/** lastLine is a stage's failure that made no record (a usage error of a stage): its line on stderr. */
function lastLine(captured: Captured): StageError {
  const l = captured.lines[captured.lines.length - 1];
  return { code: 'IO', message: l ? l.message.replace(/ \(see img-[a-z-]+ --help\)$/, '') : 'the copy failed' };
}
