/**
 * The flags of every command, one spec each (pure data, no I/O): the commands parse with these,
 * and test/e2e/flag-coverage.test.ts checks that each flag here does what it says.
 */
import type { FlagSpec } from './flags.js';
import { REGISTRY_FLAGS } from './registry-flags.js';
import { DAEMON_FLAGS, imageOnly, OCI_FLAGS, SIDED_FLAGS, TRANSFER_FLAGS } from './transfer-flags.js';

/** The signature and policy flags of img-copy and img-sync, as skopeo names them. */
export const SIGNATURE_FLAGS = {
  string: ['sign-by', 'sign-by-sigstore-private-key', 'sign-passphrase-file', 'policy', 'registries.d'],
  boolean: ['remove-signatures', 'insecure-policy', 'require-signed'],
};

/** The flags of img-sign's sigstore subcommands (keygen, sign --sigstore-private-key, verify --sigstore-public-key). */
export const SIGSTORE_CLI_FLAGS = ['output-prefix', 'sigstore-private-key', 'sigstore-public-key', 'sign-identity'];

const SIGN_STAGE_FLAGS = TRANSFER_FLAGS.string.filter((f) => !imageOnly(f));

/** skopeo's global --override-os, --override-arch, --override-variant: the image of an index to pick (lib/cli/args.ts), for img-copy, img-sync and img-manifest get. */
export const OVERRIDE_FLAGS = ['override-os', 'override-arch', 'override-variant'];

/** The flags of every command: --command-timeout (lib/cli/deadline.ts), as skopeo's global flag. */
export const COMMON_FLAGS = ['command-timeout'];

/** skopeo copy's and sync's layer compression flags (lib/image/layers.ts), for img-blob-put, which compresses (img-manifest put names what it stored from the record). */
export const LAYER_FLAGS = {
  string: ['dest-compress-format', 'dest-compress-level'],
  boolean: ['dest-compress', 'dest-decompress', 'dest-oci-accept-uncompressed-layers', 'dest-force-compress-format', 'dest-precompute-digests'],
};

const only = (names: readonly string[], subs: readonly string[]) => Object.fromEntries(names.map((n) => [n, subs]));

/** The image flags of skopeo's subcommands (its dockerImageFlags and imageFlags: --daemon-host and --shared-blob-dir are imageFlags' own). */
export const SKOPEO_IMAGE_FLAGS = {
  string: ['authfile', 'creds', 'username', 'password', 'registry-token', 'cert-dir', 'daemon-host', 'shared-blob-dir'],
  boolean: ['tls-verify', 'no-creds'],
};

/** skopeoSided names skopeo copy's and sync's --src-X and --dest-X forms of image flags. */
const skopeoSided = (names: readonly string[]) => ['src', 'dest'].flatMap((side) => names.map((f) => `${side}-${f}`));

export const COMMAND_FLAGS = {
  'img-ref': { string: ['to', 'append-suffix', 'dest', 'shard', ...COMMON_FLAGS], boolean: ['scoped'] },
  'img-tags': {
    string: [...REGISTRY_FLAGS.string, ...COMMON_FLAGS, 'regex', 'exclude', 'semver', 'newest', 'yaml', 'registry'],
    boolean: [...REGISTRY_FLAGS.boolean, 'json', 'catalog', 'tags'],
    default: REGISTRY_FLAGS.default,
  },
  'img-manifest': {
    string: [...TRANSFER_FLAGS.string, ...COMMON_FLAGS, 'multi-arch', 'format', 'jobs', ...OVERRIDE_FLAGS, 'manifest-digest'],
    list: ['platform', 'additional-tag'],
    boolean: [...TRANSFER_FLAGS.boolean, 'all', 'raw', 'config', 'inspect', 'no-tags', 'missing-at-dest', 'preserve-digests'],
    alias: { f: 'format' },
    default: TRANSFER_FLAGS.default,
    only: {
      ...only(
        ['all', 'multi-arch', 'platform', 'missing-at-dest', 'jobs', 'config', 'raw', 'inspect', 'no-tags', 'manifest-digest', ...OVERRIDE_FLAGS],
        ['get'],
      ),
      ...only(['format'], ['get', 'put']),
      ...only(['preserve-digests', 'additional-tag'], ['put']),
      // The source is read by get, and by put for an archive DEST or a --format conversion; the
      // destination by put, and by get for --missing-at-dest. delete takes the plain flags.
      ...only(SIDED_FLAGS, ['get', 'put']),
    },
  },
  'img-blob-get': {
    string: [...REGISTRY_FLAGS.string, ...DAEMON_FLAGS, ...OCI_FLAGS, ...COMMON_FLAGS, 'output', 'size'],
    boolean: REGISTRY_FLAGS.boolean,
    alias: { o: 'output' },
    default: REGISTRY_FLAGS.default,
  },
  'img-blob-put': {
    // A Docker engine destination gets the image whole from img-manifest put: no --dest-daemon-host.
    string: [
      ...TRANSFER_FLAGS.string.filter((f) => f !== 'dest-daemon-host'),
      ...COMMON_FLAGS,
      'digest',
      'size',
      'media-type',
      'jobs',
      'progress',
      'format',
      ...LAYER_FLAGS.string,
    ],
    boolean: [...TRANSFER_FLAGS.boolean, 'dry-run', 'quiet', 'preserve-digests', ...LAYER_FLAGS.boolean],
    alias: { q: 'quiet' },
    default: TRANSFER_FLAGS.default,
  },
  // No default for --algorithm: --check names its own, and a different --algorithm is refused.
  'img-digest': { string: ['check', 'algorithm', ...COMMON_FLAGS] },
  'img-login': {
    string: ['username', 'password', 'authfile', 'compat-auth-file', 'cert-dir', 'retry-times', 'retry-delay', 'registries-conf', ...COMMON_FLAGS],
    boolean: ['password-stdin', 'get-login', 'tls-verify', 'debug'],
    alias: { u: 'username', p: 'password' },
    default: REGISTRY_FLAGS.default,
  },
  'img-logout': { string: ['authfile', 'compat-auth-file', ...COMMON_FLAGS], boolean: ['all'], alias: { a: 'all' } },
  'img-sign': {
    // A Docker engine and an oci: layout keep no signatures: no --daemon-host, no --shared-blob-dir flags.
    string: [
      'output',
      'passphrase-file',
      'public-key-file',
      'sign-by',
      'sign-by-sigstore-private-key',
      'sign-identity',
      'policy',
      'registries.d',
      'jobs',
      ...SIGN_STAGE_FLAGS,
      ...COMMON_FLAGS,
    ],
    boolean: [...TRANSFER_FLAGS.boolean, 'require-signed'],
    alias: { o: 'output' },
    default: TRANSFER_FLAGS.default,
    only: {
      ...only([...SIGN_STAGE_FLAGS, ...TRANSFER_FLAGS.boolean, 'registries.d'], ['check', 'copy', 'sign']),
      // check reads only the source, sign writes only the destination, copy does both.
      ...only(
        SIDED_FLAGS.filter((f) => f.startsWith('src-') && !imageOnly(f)),
        ['check', 'copy'],
      ),
      ...only(
        SIDED_FLAGS.filter((f) => f.startsWith('dest-') && !imageOnly(f)),
        ['copy', 'sign'],
      ),
      ...only(['output', 'passphrase-file', 'sign-by', 'sign-by-sigstore-private-key', 'sign-identity'], ['sign']),
      ...only(['public-key-file'], ['verify']),
      ...only(['policy', 'require-signed'], ['check']),
      ...only(['jobs'], ['check', 'copy']),
    },
  },
  'img-sign sigstore': {
    string: [...SIGSTORE_CLI_FLAGS, 'passphrase-file', ...REGISTRY_FLAGS.string, ...COMMON_FLAGS],
    boolean: REGISTRY_FLAGS.boolean,
    default: REGISTRY_FLAGS.default,
    only: {
      ...only([...REGISTRY_FLAGS.string, ...REGISTRY_FLAGS.boolean], ['sign', 'verify']),
      ...only(['output-prefix'], ['keygen']),
      ...only(['sigstore-private-key', 'sign-identity'], ['sign']),
      ...only(['passphrase-file'], ['keygen', 'sign']),
      ...only(['sigstore-public-key'], ['verify']),
    },
  },
  'img-copy': {
    string: [
      ...TRANSFER_FLAGS.string,
      ...SIGNATURE_FLAGS.string,
      ...COMMON_FLAGS,
      ...LAYER_FLAGS.string,
      'multi-arch',
      'format',
      'digestfile',
      'jobs',
      'progress',
      ...OVERRIDE_FLAGS,
      'sign-identity',
    ],
    list: ['platform', 'additional-tag'],
    boolean: [...TRANSFER_FLAGS.boolean, ...SIGNATURE_FLAGS.boolean, ...LAYER_FLAGS.boolean, 'all', 'preserve-digests', 'dry-run', 'explain'],
    alias: { a: 'all' },
    default: TRANSFER_FLAGS.default,
  },
  'img-sync': {
    // No sync source or destination is a Docker engine (as in skopeo sync): no --daemon-host flags.
    string: [
      ...TRANSFER_FLAGS.string.filter((f) => !f.endsWith('daemon-host')),
      ...SIGNATURE_FLAGS.string,
      ...COMMON_FLAGS,
      ...LAYER_FLAGS.string,
      'src',
      'dest',
      'append-suffix',
      'multi-arch',
      'format',
      'digestfile',
      'jobs',
      'progress',
      'regex',
      'exclude',
      'semver',
      'newest',
      'shard',
      ...OVERRIDE_FLAGS,
    ],
    list: ['platform'],
    boolean: [
      ...TRANSFER_FLAGS.boolean,
      ...SIGNATURE_FLAGS.boolean,
      ...LAYER_FLAGS.boolean,
      'all',
      'scoped',
      'catalog',
      'keep-going',
      'preserve-digests',
      'dry-run',
      'explain',
    ],
    alias: { a: 'all', s: 'src', d: 'dest' },
    default: TRANSFER_FLAGS.default,
  },
  // imgpipe: skopeo's command line. "imgpipe" holds skopeo's global flags, taken before the
  // subcommand and (as cobra's persistent flags) after it too; each "imgpipe SUB" its own, as
  // skopeo spells them. Flags skopeo has that imgpipe cannot honour yet are refused by name
  // (lib/cli/imgpipe/refused.ts), not declared here.
  imgpipe: {
    string: [
      'policy',
      'registries.d',
      'override-arch',
      'override-os',
      'override-variant',
      'registries-conf',
      'tmpdir',
      'user-agent-prefix',
      'tls-details',
      ...COMMON_FLAGS,
    ],
    boolean: ['debug', 'insecure-policy', 'require-signed', 'tls-verify', 'version'],
    alias: { v: 'version' },
  },
  'imgpipe inspect': {
    string: [...SKOPEO_IMAGE_FLAGS.string, 'retry-times', 'retry-delay', 'format', 'manifest-digest'],
    boolean: [...SKOPEO_IMAGE_FLAGS.boolean, 'raw', 'config', 'no-tags'],
    alias: { f: 'format', n: 'no-tags' },
  },
  'imgpipe copy': {
    string: [
      'authfile',
      ...skopeoSided(SKOPEO_IMAGE_FLAGS.string),
      ...LAYER_FLAGS.string,
      'screds',
      'dcreds',
      'retry-times',
      'retry-delay',
      'sign-by',
      'sign-by-sigstore-private-key',
      'sign-passphrase-file',
      'sign-identity',
      'format',
      'multi-arch',
      'digestfile',
      'image-parallel-copies',
    ],
    list: ['additional-tag'],
    boolean: [
      ...skopeoSided(SKOPEO_IMAGE_FLAGS.boolean),
      ...LAYER_FLAGS.boolean,
      'tls-verify',
      'remove-signatures',
      'preserve-digests',
      'quiet',
      'all',
      'explain',
    ],
    alias: { f: 'format', q: 'quiet', a: 'all' },
  },
  'imgpipe sync': {
    string: [
      'authfile',
      ...skopeoSided(SKOPEO_IMAGE_FLAGS.string.filter((f) => !imageOnly(f))),
      'screds',
      'dcreds',
      'retry-times',
      'retry-delay',
      'sign-by',
      'sign-by-sigstore-private-key',
      'sign-passphrase-file',
      'format',
      'src',
      'dest',
      'append-suffix',
      'digestfile',
      ...LAYER_FLAGS.string,
    ],
    boolean: [
      ...skopeoSided(SKOPEO_IMAGE_FLAGS.boolean),
      ...LAYER_FLAGS.boolean,
      'tls-verify',
      'remove-signatures',
      'preserve-digests',
      'scoped',
      'all',
      'dry-run',
      'keep-going',
      'explain',
    ],
    alias: { f: 'format', s: 'src', d: 'dest', a: 'all' },
  },
  'imgpipe delete': {
    string: [...SKOPEO_IMAGE_FLAGS.string.filter((f) => f !== 'daemon-host'), 'retry-times', 'retry-delay'],
    boolean: SKOPEO_IMAGE_FLAGS.boolean,
  },
  'imgpipe list-tags': {
    string: [...SKOPEO_IMAGE_FLAGS.string.filter((f) => !imageOnly(f)), 'retry-times', 'retry-delay'],
    boolean: SKOPEO_IMAGE_FLAGS.boolean,
  },
  'imgpipe login': {
    string: ['authfile', 'compat-auth-file', 'cert-dir', 'username', 'password'],
    boolean: ['password-stdin', 'get-login', 'verbose', 'tls-verify'],
    alias: { u: 'username', p: 'password', v: 'verbose' },
  },
  // --tls-verify: accepted as skopeo accepts it; logout removes stored credentials and contacts no registry.
  'imgpipe logout': { string: ['authfile', 'compat-auth-file'], boolean: ['all', 'tls-verify'], alias: { a: 'all' } },
  'imgpipe manifest-digest': {},
  'imgpipe standalone-sign': { string: ['output', 'passphrase-file'], alias: { o: 'output' } },
  'imgpipe standalone-verify': { string: ['public-key-file'] },
  'imgpipe generate-sigstore-key': { string: ['output-prefix', 'passphrase-file'] },
} satisfies Record<string, FlagSpec>;

export type CommandName = keyof typeof COMMAND_FLAGS;
