import { ImgError } from '../errors.js';
import type { TransportOptions } from '../transport/index.js';
import { REGISTRY_FLAGS, registryOptions } from './registry-flags.js';

/** Registry (Docker engine, oci: layout) flags for both ends of a transfer: --src-X and --dest-X, each falling back to --X, as skopeo copy names them. */
const SIDE_VALUES = ['creds', 'username', 'password', 'registry-token', 'authfile', 'cert-dir', 'daemon-host', 'shared-blob-dir'];
const SIDE_BOOLEANS = ['tls-verify', 'no-creds'];
const SIDE = [...SIDE_VALUES, ...SIDE_BOOLEANS];
const CREDENTIALS = ['creds', 'username', 'password', 'registry-token', 'no-creds'];
const SHARED = ['retry-times', 'retry-delay', 'debug', 'registries-conf', 'rate'];
type Side = 'src' | 'dest';

const sided = (names: string[]) => ['src', 'dest'].flatMap((side) => names.map((f) => `${side}-${f}`));

/** Every --src-X and --dest-X flag. */
export const SIDED_FLAGS = sided(SIDE);

/** The Docker engine flag of a command that reads or writes images (docker-daemon:), as skopeo inspect names it. */
export const DAEMON_FLAGS = ['daemon-host'];

/** The oci: layout flag of a command that reads or writes images: where its blobs are shared, as skopeo inspect names it. */
export const OCI_FLAGS = ['shared-blob-dir'];

/**
 * imageOnly says whether a flag (--X, --src-X, --dest-X) concerns only where images are (a Docker
 * engine, an oci: layout's blobs): img-sign's stages, which read and write signatures, which
 * neither keeps, take none of these.
 */
export const imageOnly = (flag: string): boolean => /^(?:--)?(?:src-|dest-)?(?:daemon-host|shared-blob-dir)(?:=|$)/.test(flag);

export const TRANSFER_FLAGS = {
  string: [...REGISTRY_FLAGS.string, ...DAEMON_FLAGS, ...OCI_FLAGS, ...sided(SIDE_VALUES)],
  boolean: [...REGISTRY_FLAGS.boolean, ...sided(SIDE_BOOLEANS)],
  default: REGISTRY_FLAGS.default,
};

export const TRANSFER_HELP = `source and destination registry flags (each falls back to the flag without src-/dest-):
  --src-creds, --dest-creds USER[:PASS]    --src-no-creds, --dest-no-creds
  --src-username, --dest-username USER     --src-password, --dest-password PASS
  --src-registry-token, --dest-registry-token TOKEN
  --src-authfile, --dest-authfile FILE     --src-cert-dir, --dest-cert-dir DIR
  --src-tls-verify=false, --dest-tls-verify=false
  --authfile, --creds, --cert-dir, --tls-verify=false, --retry-times N, --retry-delay DURATION, --rate N,
  --registries-conf FILE, --debug
  as for every command (registries.conf's mirrors and locations serve the source only)`;

const DAEMON_HOST_HELP = `  --daemon-host HOST      the engine: unix:///PATH, tcp://HOST:PORT (TLS, with ca.pem, cert.pem and
                          key.pem from --cert-dir; --tls-verify=false) or http://HOST:PORT
                          (default: $DOCKER_HOST, else unix:///var/run/docker.sock)`;

/** DAEMON_HELP: the Docker engine flag of a command with one end. */
export const DAEMON_HELP = `Docker engine flags (docker-daemon:):
${DAEMON_HOST_HELP}`;

const SHARED_BLOB_DIR_HELP = `  --shared-blob-dir DIR   the blobs (and manifests) of an oci: layout are read from and written to
                          DIR/sha256/HEX instead of the layout's blobs/ (left empty), so layouts
                          share them; index.json and oci-layout stay in the layout. An
                          oci-archive: is read so (skopeo writes it so), never written so`;

/** OCI_HELP: the oci: layout flag of a command with one end. */
export const OCI_HELP = `oci: layout flags:
${SHARED_BLOB_DIR_HELP}`;

/** OCI_TRANSFER_HELP: the oci: layout flags of a command with two ends. */
export const OCI_TRANSFER_HELP = `oci: layout flags:
  --src-shared-blob-dir, --dest-shared-blob-dir DIR   the shared blob directory of an oci: source or
                          destination (each falls back to --shared-blob-dir)
${SHARED_BLOB_DIR_HELP}`;

/** DAEMON_TRANSFER_HELP: the Docker engine flags of a command with two ends. */
export const DAEMON_TRANSFER_HELP = `Docker engine flags (docker-daemon:):
  --src-daemon-host, --dest-daemon-host HOST   the engine of a docker-daemon: source or destination
                          (each falls back to --daemon-host; TLS from --src-cert-dir, --dest-cert-dir)
${DAEMON_HOST_HELP}`;

const isFalse = (v: unknown) => v === false || v === 'false';

/**
 * sideFlags gives the plain registry flags (--creds, --tls-verify, …) one end of a transfer uses:
 * its own --src-X or --dest-X where given, else the shared --X. A side's own credentials (or its
 * --X-no-creds) replace every shared credential flag.
 */
export function sideFlags(flags: Record<string, unknown>, side: Side): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const f of [...SIDE, ...SHARED]) if (flags[f] !== undefined) merged[f] = flags[f];
  const own = (f: string) => flags[`${side}-${f}`];
  if (['creds', 'username', 'registry-token'].some((f) => own(f) !== undefined) || own('no-creds') === true) for (const k of CREDENTIALS) delete merged[k];
  for (const f of SIDE) {
    const v = own(f);
    if (v === undefined) continue;
    if (f === 'tls-verify') {
      if (typeof v === 'string' && !['', 'true', 'false'].includes(v)) throw new ImgError('USAGE', `invalid --${side}-tls-verify=${v}: true or false`);
      merged[f] = !isFalse(v);
    } else if (f === 'no-creds') {
      if (v === true) merged[f] = true;
    } else merged[f] = v;
  }
  return merged;
}

/**
 * transferOptions builds the options for each end from the --src- and --dest- flags and the shared
 * ones. The source is read as an image source (registries.conf's mirrors and locations), the
 * destination as written.
 */
export function transferOptions(flags: Record<string, unknown>): { src: TransportOptions; dest: TransportOptions } {
  return { src: transportOptions(sideFlags(flags, 'src'), { pull: true }), dest: transportOptions(sideFlags(flags, 'dest')) };
}

/**
 * transportOptions builds the options of a command with one end from its plain flags (--creds,
 * --daemon-host, …); `pull` where it only reads images, so that registries.conf's mirrors serve it.
 */
export function transportOptions(flags: Record<string, unknown>, side: { pull?: boolean } = {}): TransportOptions {
  const host = flags['daemon-host'];
  if (host !== undefined && String(host) === '') throw new ImgError('USAGE', '--daemon-host needs a host (unix:///PATH, tcp://HOST:PORT or http://HOST:PORT)');
  const shared = flags['shared-blob-dir'];
  if (shared !== undefined && String(shared) === '') throw new ImgError('USAGE', '--shared-blob-dir needs a directory');
  const registry = registryOptions(flags);
  if (side.pull) registry.pull = true;
  return { registry, ...(host !== undefined ? { daemonHost: String(host) } : {}), ...(shared !== undefined ? { sharedBlobDir: String(shared) } : {}) };
}

/** flagArgs writes one flag's value as arguments: `--as`, `--as=false`, `--as=VALUE`, once per value of a list. */
export function flagArgs(name: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (v === true) return [`--${name}`];
  if (v === false) return [`--${name}=false`];
  if (Array.isArray(v)) return v.flatMap((x) => flagArgs(name, x));
  return [`--${name}=${String(v)}`];
}

/**
 * sideArgs gives the registry flags one end of a transfer uses, for a stage that knows only plain
 * flags (img-tags and img-manifest get for the source, img-manifest put for the destination).
 */
export function sideArgs(flags: Record<string, unknown>, side: Side): string[] {
  const merged = sideFlags(flags, side);
  return [...SIDE, ...SHARED].flatMap((f) => flagArgs(f, merged[f]));
}

/** transferArgs gives a stage that reads both ends (--src-X and --dest-X) every registry flag as given. */
export function transferArgs(flags: Record<string, unknown>): string[] {
  const names = [...SIDE, ...sided(SIDE), ...SHARED];
  return names.flatMap((f) => flagArgs(f, flags[f]));
}
