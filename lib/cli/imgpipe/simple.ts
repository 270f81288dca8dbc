/** skopeo's subcommands of one image or one file: delete, list-tags, manifest-digest and the standalone signing ones. */
import { ImgError } from '../../errors.js';
import { parseSourceArg } from '../../ref/args.js';
import { fileDigest } from '../../image/digest.js';
import { SKOPEO_IMAGE_FLAGS } from '../command-flags.js';
import { manifestMain } from '../commands/img-manifest.js';
import { signMain } from '../commands/img-sign.js';
import { tagsMain } from '../commands/img-tags.js';
import { imageOnly } from '../transfer-flags.js';
import { capture } from './capture.js';
import { collect, globalArgs, passOn, type Subcommand } from './context.js';
import { asStageError, imageError, SkopeoError } from './errors.js';
import { log } from './log.js';

const IMAGE = [...SKOPEO_IMAGE_FLAGS.string, ...SKOPEO_IMAGE_FLAGS.boolean, 'retry-times', 'retry-delay'];

/** stageRun runs an img-* stage's work on no input, its records kept; a failure (thrown or an error record) is thrown as skopeo words it after `lead`. */
async function stageRun(main: (argv: string[], io: ReturnType<typeof collect>['io']) => Promise<number | void>, argv: string[], lead: string): Promise<number> {
  const { io, records } = collect();
  const { result, captured } = await capture(() => main(argv, io)).catch((err: unknown) => {
    throw imageError(lead, asStageError(err));
  });
  const failure = records.find((r) => r.error !== undefined)?.error;
  for (const l of captured.lines) if (failure === undefined || !l.message.includes(failure.message)) log('warning', l.message);
  if (failure !== undefined) throw imageError(lead, failure);
  return result ?? 0;
}

export const deleteImage: Subcommand = {
  usage: 'delete [command options] IMAGE-NAME',
  short: 'Delete image IMAGE-NAME',
  help: `Delete an "IMAGE_NAME" from a transport: skopeo delete, run as img-manifest delete IMAGE-NAME.

Flags:
      --authfile, --creds USERNAME[:PASSWORD], --username, --password, --registry-token,
      --cert-dir PATH, --tls-verify, --no-creds, --retry-times N,
      --retry-delay DURATION    Fixed delay between retries (else an exponential backoff)
      --shared-blob-dir DIRECTORY   DIRECTORY to use to share blobs across OCI repositories (its
                                blobs are never deleted: other layouts may use them)
Refused: --daemon-host (no delete from an engine)`,
  async run(ctx) {
    if (ctx.args.length !== 1) throw new SkopeoError('Usage: delete imageReference');
    const ref = ctx.args[0]!;
    return stageRun(
      manifestMain,
      [
        'delete',
        ref,
        ...passOn(
          ctx.flags,
          IMAGE.filter((f) => f !== 'daemon-host'),
        ),
        ...globalArgs(ctx),
      ],
      '',
    ).catch((e: unknown) => {
      if (!(e instanceof SkopeoError)) throw e;
      // an oci: layout's (or a store's) image: containers/image's words where imgpipe's differ
      if (namesOtherTransport(ref)) throw layoutWords(e);
      // containers/image's words for a registry that has no such image (exit 1, not 2).
      if (e.exitStatus === 2)
        throw new SkopeoError(`Unable to delete ${ref.replace(/^docker:\/\//, '')}. Image may not exist or is not stored with a v2 Schema in a v2 registry`);
      throw e;
    });
  },
};

export const listTags: Subcommand = {
  usage: 'list-tags [command options] SOURCE-IMAGE',
  short: 'List tags in the transport/repository specified by the SOURCE-IMAGE',
  help: `List the tags of a repository (docker://REPOSITORY), or the names of the images a docker-archive:FILE holds:
skopeo list-tags, run as img-tags --json SOURCE-IMAGE.

Flags:
      --authfile, --creds USERNAME[:PASSWORD], --username, --password, --registry-token,
      --cert-dir PATH, --tls-verify, --no-creds, --retry-times N,
      --retry-delay DURATION    Fixed delay between retries (else an exponential backoff)`,
  async run(ctx) {
    if (ctx.args.length !== 1) throw new SkopeoError('Exactly one non-option argument expected', 1, true);
    const flags = IMAGE.filter((f) => !imageOnly(f));
    const arg = ctx.args[0]!;
    // skopeo's lead is a registry listing's; an archive's failures (a missing file is no missing image: 1) have none.
    const archive = namesOtherTransport(arg);
    return stageRun(tagsMain, ['--json', arg, ...passOn(ctx.flags, flags), ...globalArgs(ctx)], archive ? '' : 'Error listing repository tags: ').catch(
      (e: unknown) => {
        const unsupported = e instanceof Error ? /the (\S+): transport keeps no tags/.exec(e.message) : null;
        if (unsupported) throw new SkopeoError(`Unsupported transport '${unsupported[1]}' for tag listing. Only supported: docker, docker-archive`);
        // No registry said "manifest unknown": the file is missing or is no archive.
        if (archive && e instanceof SkopeoError) throw new SkopeoError(e.message.replace(/^manifest unknown: /, ''));
        throw e;
      },
    );
  },
};

/**
 * layoutWords words an oci: layout's failure to find the image as containers/image's layout
 * reference does (getManifestDescriptor): a name not there is its ImageNotFoundError (exit 2, as
 * current skopeo's isNotFoundImageError); @N past the end and an unnamed pick among several are
 * plain errors (exit 1), and so is a path that is no layout.
 */
function layoutWords(e: SkopeoError): SkopeoError {
  const msg = e.message.replace(/^manifest unknown: /, '');
  const name = /no image named "([^"]*)"/.exec(msg);
  if (name) return new SkopeoError(`no descriptor found for reference ${JSON.stringify(name[1])}`, 2);
  const at = /no image @(\d+): the layout holds (\d+)/.exec(msg);
  if (at) return new SkopeoError(`index ${at[1]} is too large, only ${at[2]} entries available`);
  if (/the layout holds \d+ images: name one/.test(msg)) return new SkopeoError('more than one image in oci, choose an image');
  if (/is not an OCI image layout/.test(msg)) return new SkopeoError(msg);
  return e;
}

/** namesOtherTransport says whether an argument is a reference of another transport than docker:// (a registry's repository or image). */
function namesOtherTransport(arg: string): boolean {
  try {
    return !('docker' in parseSourceArg(arg));
  } catch {
    return false;
  }
}

export const manifestDigest: Subcommand = {
  usage: 'manifest-digest MANIFEST-FILE',
  short: 'Compute a manifest digest of a file',
  help: 'Compute a manifest digest of MANIFEST-FILE and write it to standard output: skopeo manifest-digest, as img-digest.',
  async run(ctx) {
    if (ctx.args.length !== 1) throw new SkopeoError(`Usage: ${ctx.prog} manifest-digest manifest`);
    const file = ctx.args[0]!;
    const digest = await fileDigest(file, 'sha256').catch((e: unknown) => {
      throw new SkopeoError(`Error reading manifest from ${file}: ${asStageError(e).message.replace(/^reading \S+: /, '')}`);
    });
    process.stdout.write(`${digest}\n`);
    return 0;
  },
};

export const standaloneSign: Subcommand = {
  usage: 'standalone-sign [command options] MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT --output|-o SIGNATURE',
  short: 'Create a signature using local files',
  help: `Create a signature using local files: skopeo standalone-sign, run as img-sign sign.

Flags:
  -o, --output SIGNATURE      output the signature to SIGNATURE
      --passphrase-file string   file that contains a passphrase for the --sign-by key`,
  async run(ctx) {
    const { flags } = ctx;
    if (ctx.args.length !== 3 || flags.output === undefined || String(flags.output) === '')
      throw new SkopeoError(`Usage: ${ctx.prog} standalone-sign manifest docker-reference key-fingerprint -o signature`);
    const argv = ['sign', `--output=${String(flags.output)}`, ...passOn(flags, ['passphrase-file']), ...ctx.args];
    return stageRun(signMain, argv, '');
  },
};

export const standaloneVerify: Subcommand = {
  usage: 'standalone-verify MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE',
  short: 'Verify a signature using local files',
  help: `Verify a signature using local files: skopeo standalone-verify, run as img-sign verify.

Flags:
      --public-key-file string   File containing public keys. If not specified, will use local GPG keys.`,
  async run(ctx) {
    if (ctx.args.length !== 4) throw new SkopeoError(`Usage: ${ctx.prog} standalone-verify manifest docker-reference key-fingerprint signature`);
    if (ctx.args[2] === 'any' && ctx.flags['public-key-file'] === undefined) throw new SkopeoError('Cannot use any fingerprint without a public key file');
    return stageRun(signMain, ['verify', ...passOn(ctx.flags, ['public-key-file']), ...ctx.args], '');
  },
};

export const generateSigstoreKey: Subcommand = {
  usage: 'generate-sigstore-key [command options] --output-prefix PREFIX',
  short: 'Generate a sigstore public/private key pair',
  help: `Generate a sigstore public/private key pair: skopeo generate-sigstore-key, run as img-sign keygen.

Flags:
      --output-prefix PREFIX     Write the keys to PREFIX.pub and PREFIX.private
      --passphrase-file PATH     Read a passphrase for the private key from PATH`,
  async run(ctx) {
    if (ctx.args.length !== 0 || ctx.flags['output-prefix'] === undefined) throw new SkopeoError('Usage: generate-sigstore-key --output-prefix PREFIX');
    return stageRun(signMain, ['keygen', ...passOn(ctx.flags, ['output-prefix', 'passphrase-file'])], '').catch((e: unknown) => {
      throw e instanceof ImgError ? new SkopeoError(e.message.replace(/^refusing to overwrite/i, 'Refusing to overwrite')) : e;
    });
  },
};
