/**
 * The flags of every command, one spec each (pure data, no I/O): the commands parse with these,
 * and test/e2e/flag-coverage.test.ts checks that each flag here does what it says.
 */
import type { FlagSpec } from './flags.js';
import { REGISTRY_FLAGS } from './registry-flags.js';
import { DAEMON_FLAGS, SIDED_FLAGS, TRANSFER_FLAGS } from './transfer-flags.js';

/** The signature and policy flags of img-copy and img-sync, as skopeo names them. */
export const SIGNATURE_FLAGS = {
  string: ['sign-by', 'sign-by-sigstore-private-key', 'sign-passphrase-file', 'policy', 'registries.d'],
  boolean: ['remove-signatures', 'insecure-policy'],
};

/** The flags of img-sign's sigstore subcommands (keygen, sign --sigstore-private-key, verify --sigstore-public-key). */
export const SIGSTORE_CLI_FLAGS = ['output-prefix', 'sigstore-private-key', 'sigstore-public-key', 'sign-identity'];

/** skopeo copy's and sync's layer compression flags (lib/image/layers.ts), for img-blob-put, which compresses (img-manifest put names what it stored from the record). */
export const LAYER_FLAGS = { string: ['dest-compress-format', 'dest-compress-level'], boolean: ['dest-compress', 'dest-decompress'] };

const only = (names: readonly string[], subs: readonly string[]) => Object.fromEntries(names.map((n) => [n, subs]));

export const COMMAND_FLAGS = {
  'img-ref': { string: ['to', 'append-suffix', 'dest'], boolean: ['scoped'] },
  'img-tags': {
    string: [...REGISTRY_FLAGS.string, 'regex', 'exclude', 'semver', 'newest', 'yaml', 'registry'],
    boolean: [...REGISTRY_FLAGS.boolean, 'json', 'catalog', 'tags'],
    default: REGISTRY_FLAGS.default,
  },
  'img-manifest': {
    string: [...TRANSFER_FLAGS.string, 'multi-arch', 'format', 'jobs'],
    list: ['platform'],
    boolean: [...TRANSFER_FLAGS.boolean, 'all', 'raw', 'config', 'inspect', 'no-tags', 'missing-at-dest', 'preserve-digests'],
    alias: { f: 'format' },
    default: TRANSFER_FLAGS.default,
    only: {
      ...only(['all', 'multi-arch', 'platform', 'missing-at-dest', 'jobs', 'config', 'raw', 'inspect', 'no-tags'], ['get']),
      ...only(['format'], ['get', 'put']),
      ...only(['preserve-digests'], ['put']),
      // The source is read by get, and by put for an archive DEST or a --format conversion; the
      // destination by put, and by get for --missing-at-dest. delete takes the plain flags.
      ...only(SIDED_FLAGS, ['get', 'put']),
    },
  },
  'img-blob-get': { string: [...REGISTRY_FLAGS.string, ...DAEMON_FLAGS, 'output', 'size'], boolean: REGISTRY_FLAGS.boolean, alias: { o: 'output' }, default: REGISTRY_FLAGS.default },
  'img-blob-put': {
    string: [...TRANSFER_FLAGS.string, 'digest', 'size', 'media-type', 'jobs', 'progress', 'format', ...LAYER_FLAGS.string],
    boolean: [...TRANSFER_FLAGS.boolean, 'dry-run', 'quiet', 'preserve-digests', ...LAYER_FLAGS.boolean],
    alias: { q: 'quiet' },
    default: TRANSFER_FLAGS.default,
  },
  'img-digest': { string: ['check', 'algorithm'], default: { algorithm: 'sha256' } },
  'img-login': {
    string: ['username', 'password', 'authfile', 'cert-dir', 'retry-times'],
    boolean: ['password-stdin', 'tls-verify', 'debug'],
    alias: { u: 'username', p: 'password' },
    default: REGISTRY_FLAGS.default,
  },
  'img-logout': { string: ['authfile'], boolean: ['all'], alias: { a: 'all' } },
  'img-sign': {
    string: ['output', 'passphrase-file', 'public-key-file', 'sign-by', 'sign-by-sigstore-private-key', 'policy', 'registries.d', 'jobs', ...TRANSFER_FLAGS.string],
    boolean: TRANSFER_FLAGS.boolean,
    alias: { o: 'output' },
    default: TRANSFER_FLAGS.default,
    only: {
      ...only([...TRANSFER_FLAGS.string, ...TRANSFER_FLAGS.boolean, 'registries.d'], ['check', 'copy', 'sign']),
      ...only(['output', 'passphrase-file', 'sign-by', 'sign-by-sigstore-private-key'], ['sign']),
      ...only(['public-key-file'], ['verify']),
      ...only(['policy'], ['check']),
      ...only(['jobs'], ['check', 'copy']),
    },
  },
  'img-sign sigstore': {
    string: [...SIGSTORE_CLI_FLAGS, 'passphrase-file', ...REGISTRY_FLAGS.string],
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
    string: [...TRANSFER_FLAGS.string, ...SIGNATURE_FLAGS.string, ...LAYER_FLAGS.string, 'multi-arch', 'format', 'digestfile', 'jobs', 'progress', 'override-os', 'override-arch', 'override-variant'],
    list: ['platform'],
    boolean: [...TRANSFER_FLAGS.boolean, ...SIGNATURE_FLAGS.boolean, ...LAYER_FLAGS.boolean, 'all', 'preserve-digests', 'dry-run', 'explain'],
    alias: { a: 'all' },
    default: TRANSFER_FLAGS.default,
  },
  'img-sync': {
    // No sync source or destination is a Docker engine (as in skopeo sync): no --daemon-host flags.
    string: [...TRANSFER_FLAGS.string.filter((f) => !f.endsWith('daemon-host')), ...SIGNATURE_FLAGS.string, ...LAYER_FLAGS.string, 'src', 'dest', 'append-suffix', 'multi-arch', 'format', 'digestfile', 'jobs', 'progress', 'regex', 'exclude', 'semver', 'newest'],
    list: ['platform'],
    boolean: [...TRANSFER_FLAGS.boolean, ...SIGNATURE_FLAGS.boolean, ...LAYER_FLAGS.boolean, 'all', 'scoped', 'catalog', 'keep-going', 'preserve-digests', 'dry-run', 'explain'],
    alias: { a: 'all', s: 'src', d: 'dest' },
    default: TRANSFER_FLAGS.default,
  },
} satisfies Record<string, FlagSpec>;

export type CommandName = keyof typeof COMMAND_FLAGS;
