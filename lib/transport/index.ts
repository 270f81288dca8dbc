import { ImgError } from '../errors.js';
import { formatRef, parseRef, type DockerRef, type ImageRef, type TransportName } from '../ref/index.js';
import { DirTransport } from './dir/index.js';
import { OciLayoutTransport } from './oci-layout/index.js';
import { OciArchiveTransport } from './oci-archive/index.js';
import { DockerArchiveTransport } from './docker-archive/index.js';
import { DockerDaemonTransport } from './docker-daemon/index.js';
import { ContainersStorageTransport } from './containers-storage/index.js';
import { RegistryTransport } from './registry/index.js';
import { SifTransport } from './sif/index.js';
import type { RegistryOptions } from './registry/client.js';
import type { Transport } from './types.js';
import type { TransportTraits } from './capabilities.js';

export type { Transport, StoredManifest, BlobInfo } from './types.js';
export type { RegistryOptions } from './registry/client.js';

/** Options for opening a location; each transport reads the part that concerns it. */
export interface TransportOptions {
  registry?: RegistryOptions;
  /** --registries.d: where docker:// finds its lookaside signature store (else the containers tools' default). */
  registriesDir?: string;
  /** --daemon-host (--src-daemon-host, --dest-daemon-host): the Docker engine of docker-daemon: (else $DOCKER_HOST, else unix:///var/run/docker.sock); a tcp:// engine's TLS uses registry.certDir and registry.tlsVerify, as skopeo's --cert-dir and --tls-verify. */
  daemonHost?: string;
  /**
   * --shared-blob-dir (--src-shared-blob-dir, --dest-shared-blob-dir): the directory an oci:
   * layout's blobs and manifests are read from and written to (DIR/ALG/HEX) instead of its blobs/,
   * as containers/image's OCISharedBlobDirPath; an oci-archive: is read so too, and not written so.
   */
  sharedBlobDir?: string;
}

type Opener = (ref: ImageRef, opts: TransportOptions) => Transport;

export type { TransportTraits } from './capabilities.js';
/** Reading a whole small blob (a config) from any transport, capped. */
export { readSourceBlob } from './archive/common.js';
export { MAX_CONFIG_SIZE } from './archive/reader.js';
/** img-login: check credentials against a registry's /v2/; the credentials a login finds stored. */
export { checkLogin, storedLogin } from './registry/login.js';

/** The transport registry: scheme → implementation. Transports not listed here parse but cannot be opened yet. */
const OPENERS: Partial<Record<TransportName, Opener>> = {
  docker: (ref, opts) => new RegistryTransport(ref as Extract<ImageRef, { transport: 'docker' }>, opts.registry, opts.registriesDir),
  dir: (ref) => new DirTransport(ref as Extract<ImageRef, { transport: 'dir' }>),
  oci: (ref, opts) => new OciLayoutTransport(ref as Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>, { sharedBlobDir: opts.sharedBlobDir }),
  'oci-archive': (ref, opts) => new OciArchiveTransport(ref as Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>, { sharedBlobDir: opts.sharedBlobDir }),
  'docker-archive': (ref) => new DockerArchiveTransport(ref as Extract<ImageRef, { transport: 'docker-archive' }>),
  'docker-daemon': (ref, opts) =>
    new DockerDaemonTransport(ref as Extract<ImageRef, { transport: 'docker-daemon' }>, {
      host: opts.daemonHost,
      certDir: opts.registry?.certDir,
      tlsVerify: opts.registry?.tlsVerify,
    }),
  // The store is in the reference ([DRIVER@ROOT+RUNROOT:OPTIONS]); no options.
  'containers-storage': (ref) => new ContainersStorageTransport(ref as Extract<ImageRef, { transport: 'containers-storage' }>),
  // Read only: the SIF's squashfs partition becomes one layer (fakeroot, unsquashfs, tar).
  sif: (ref) => new SifTransport(ref as Extract<ImageRef, { transport: 'sif' }>),
};

/** What each kind of transport is (see TransportTraits), as its class declares it. */
const TRAITS: Record<TransportName, TransportTraits> = {
  docker: RegistryTransport.traits,
  dir: DirTransport.traits,
  oci: OciLayoutTransport.traits,
  'oci-archive': OciArchiveTransport.traits,
  'docker-archive': DockerArchiveTransport.traits,
  'docker-daemon': DockerDaemonTransport.traits,
  'containers-storage': ContainersStorageTransport.traits,
  sif: SifTransport.traits,
};

/**
 * transportTraits gives what the transport of a reference (or of a kind, as img-sync's --dest names
 * one) is, without opening anything: whether it keeps signatures, what a signature for it names.
 */
export function transportTraits(ref: ImageRef | TransportName): TransportTraits {
  return TRAITS[typeof ref === 'string' ? ref : ref.transport];
}

/**
 * checkWritable refuses a destination whose transport can only be read (TransportTraits.readOnly),
 * before anything is opened or read, in containers/image's words ("initializing destination REF: …").
 */
export function checkWritable(ref: ImageRef): void {
  const why = transportTraits(ref).readOnly;
  if (why !== undefined) throw new ImgError('UNSUPPORTED', `initializing destination ${formatRef(ref)}: ${why}`, { ref: formatRef(ref) });
}

/**
 * sigstoreAttachmentsFor says whether registries.d (`registriesDir`, else the containers tools'
 * default) turns on sigstore attachments (use-sigstore-attachments) for a docker reference, and
 * which directory said so. Loaded on first use.
 */
export async function sigstoreAttachmentsFor(ref: DockerRef, registriesDir?: string): Promise<{ enabled: boolean; registriesDir: string }> {
  const { loadRegistriesD, registriesDirPath, useSigstoreAttachments } = await import('./registry/registries-d.js');
  const dir = await registriesDirPath(registriesDir);
  return { enabled: useSigstoreAttachments(await loadRegistriesD(dir), ref), registriesDir: dir };
}

/** OPENED_TRANSPORTS lists the transports that can be opened (the contract suite runs over each). */
export const OPENED_TRANSPORTS = Object.keys(OPENERS) as TransportName[];

/** openTransport opens the location a reference (string or parsed) names. Nothing is touched on disk until it is used. */
export function openTransport(ref: string | ImageRef, opts: TransportOptions = {}): Transport {
  const parsed = typeof ref === 'string' ? parseRef(ref) : ref;
  const open = OPENERS[parsed.transport];
  if (!open) {
    throw new ImgError('UNSUPPORTED', `${formatRef(parsed)}: the ${parsed.transport}: transport is not supported yet`, { ref: formatRef(parsed) });
  }
  return open(parsed, opts);
}
