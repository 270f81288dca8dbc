import { SKOPEO_IMAGE_FLAGS } from '../command-flags.js';
import { manifestMain } from '../commands/img-manifest.js';
import { overridePlatform } from '../args.js';
import { DIGEST_ALGORITHMS } from '../../image/inspect.js';
import { capture } from './capture.js';
import { collect, globalArgs, passOn, type Ctx, type Subcommand } from './context.js';
import { asStageError, choosingInstance, imageError, SkopeoError } from './errors.js';
import { log } from './log.js';

const OVERRIDES = ['override-os', 'override-arch', 'override-variant'];

/** inspectStage is the img-manifest command `imgpipe inspect` runs: get --inspect with skopeo's flags. */
export function inspectStage(ctx: Ctx): string[] {
  const { flags } = ctx;
  const argv = [
    'get',
    '--inspect',
    ctx.args[0]!,
    ...passOn(flags, [...SKOPEO_IMAGE_FLAGS.string, ...SKOPEO_IMAGE_FLAGS.boolean, 'retry-times', 'retry-delay']),
  ];
  argv.push(...globalArgs(ctx));
  for (const f of ['raw', 'config', 'no-tags']) if (flags[f] === true) argv.push(`--${f}`);
  if (flags.format !== undefined && String(flags.format) !== '') argv.push(`--format=${String(flags.format)}`);
  if (flags['manifest-digest'] !== undefined) argv.push(`--manifest-digest=${String(flags['manifest-digest'])}`);
  // The platform picks the image of an index; --raw alone prints the manifest as it is.
  if (OVERRIDES.some((f) => ctx.global[f] !== undefined) && !(flags.raw && !flags.config)) argv.push(`--platform=${overridePlatform(ctx.global)}`);
  return argv;
}

export const inspect: Subcommand = {
  usage: 'inspect [command options] IMAGE-NAME',
  short: 'Inspect image IMAGE-NAME',
  help: `Return low-level information about "IMAGE-NAME" in a registry/transport: skopeo inspect, run as
  img-manifest get --inspect IMAGE-NAME (with these flags passed on).

Flags:
      --authfile, --creds USERNAME[:PASSWORD], --username, --password, --registry-token,
      --cert-dir PATH, --tls-verify, --no-creds, --daemon-host HOST, --retry-times N,
      --retry-delay DURATION    Fixed delay between retries (else an exponential backoff)
      --config                  output configuration
  -f, --format string           Format the output to a Go template
  -n, --no-tags                 Do not list the available tags from the repository in the output
      --raw                     output raw manifest or configuration
      --shared-blob-dir DIRECTORY   DIRECTORY to use to share blobs across OCI repositories
      --manifest-digest algorithm   Algorithm to use for computing manifest digest (sha256, sha384, sha512);
                                defaults to algorithm used in config digest ("": sha256). EXPERIMENTAL in
                                skopeo; refused with --raw or --config, whose output has no Digest`,
  async run(ctx) {
    if (ctx.args.length !== 1) throw new SkopeoError('Exactly one argument expected');
    if (ctx.flags.raw && ctx.flags.format !== undefined && String(ctx.flags.format) !== '') throw new SkopeoError('raw output does not support format option');
    const algorithm = ctx.flags['manifest-digest'];
    if (algorithm !== undefined && String(algorithm) !== '' && !DIGEST_ALGORITHMS.includes(String(algorithm)))
      throw new SkopeoError(`Error computing manifest digest: digest algorithm ${JSON.stringify(String(algorithm))} is not available`);
    if (algorithm !== undefined && (ctx.flags.raw || ctx.flags.config))
      throw new SkopeoError(`--manifest-digest does not go with --${ctx.flags.raw ? 'raw' : 'config'}: that output has no Digest`);
    const ref = ctx.args[0]!;
    const { io, records } = collect();
    const { result: status, captured } = await capture(() => manifestMain(inspectStage(ctx), io)).catch((err: unknown) => {
      throw imageError(`Error parsing image name ${JSON.stringify(ref)}: `, asStageError(err));
    });
    const failure = records.find((r) => r.error !== undefined)?.error;
    for (const l of captured.lines) if (failure === undefined || !l.message.includes(failure.message)) log('warning', l.message);
    if (failure !== undefined) {
      const choosing = choosingInstance(failure);
      if (choosing !== undefined) throw new SkopeoError(`Error parsing manifest for image: ${choosing}`);
      throw imageError(`Error parsing image name ${JSON.stringify(ref)}: `, failure);
    }
    return status ?? 0;
  },
};
