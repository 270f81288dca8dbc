import type { Format } from '../oci/convert.js';
import type { FormattedSignature } from './signature-blob.js';
import type { Transport } from './types.js';

/** Optional capabilities of a transport, each detected with its type guard. */

/**
 * TransportTraits are what a kind of transport is, known from a reference before anything is opened
 * (img-copy and img-sync check their flags and place their stages with them). Each transport class
 * declares its own as `static traits`; lib/transport/index.ts gives them by reference
 * (`transportTraits`).
 */
export interface TransportTraits {
  /** keepsSignatures: simple signatures of the images written there are kept (docker:// in its lookaside store, dir: as signature-N files), so they are copied after the manifest; elsewhere a signed source is refused before any blob moves. */
  readonly keepsSignatures: boolean;
  /** signedIdentity: what a signature made for an image there names: "docker-reference", its docker reference (docker://); absent, no signature can be made for it (--sign-by is refused). */
  readonly signedIdentity?: 'docker-reference';
  /** sigstore: where sigstore signatures are kept: "attachments", .sig manifests beside the image in the registry (where registries.d turns them on); "files", with the simple ones (FormattedSignatureStore); absent, nowhere. */
  readonly sigstore?: 'attachments' | 'files';
  /** readOnly: images there can only be read; a copy to it is refused before anything is read or written, with this reason (in containers/image's words). Absent: it can be written. */
  readonly readOnly?: string;
}

export interface TagLister {
  /** listTags lists the tags of the reference's repository. */
  listTags(): Promise<string[]>;
}

/**
 * ArchiveTags is declared by the transports whose one file holds several images under docker names
 * (docker-archive: manifest.json's RepoTags). listArchiveTags lists the whole file's names as skopeo
 * list-tags does, whatever image the reference picks: each NAME:TAG as the file spells it, and `@N`
 * for an image N without a name. Unlike TagLister's, these are whole names of several
 * repositories, not the tags of the reference's repository (so skopeo inspect's RepoTags stay empty).
 */
export interface ArchiveTags {
  listArchiveTags(): Promise<string[]>;
}

export const canListArchiveTags = (t: Transport): t is Transport & ArchiveTags => typeof (t as Partial<ArchiveTags>).listArchiveTags === 'function';

export interface Catalog {
  /** listRepositories lists every repository of the registry (the _catalog API). */
  listRepositories(): Promise<string[]>;
}

export interface ManifestDeleter {
  /** deleteManifest deletes the manifest the reference names and returns its digest. */
  deleteManifest(): Promise<string>;
}

export interface ManifestHead {
  /**
   * headManifest is the digest (and type and size) of the manifest the reference names, or undefined
   * when there is none, without fetching it. `also` lists other manifests the reference holds as well:
   * a containers-storage: image can hold several (an image stored again under another manifest with
   * the same config), and its name does not say which one it was written with.
   */
  headManifest(): Promise<{ digest: string; mediaType?: string; size?: number; also?: string[] } | undefined>;
}

/**
 * BlobMounter is declared by the transports whose blobs live in a repository of a registry that links
 * blobs across its repositories (docker://). The mover notes where it has seen each blob by
 * `blobRepository`, and mounts into one repository what it saw in another of the same registry. A
 * transport without it is never a mount's source or target, whatever its reference names.
 */
export interface BlobMounter {
  /** blobRepository is where this reference's blobs live: the registry host and the repository in it. */
  readonly blobRepository: { registry: string; repository: string };
  /** mountBlob asks the registry to link a blob from another repository; false when it would not. */
  mountBlob(digest: string, fromRepository: string): Promise<boolean>;
}

/**
 * BlobScope is declared by the transports whose blobs are shared by several references: every
 * image of an oci: layout (oci:PATH), every tag of a registry repository (docker://HOST/REPO). The
 * mover moves each blob once per scope, however many records name it; without BlobScope a
 * transport's scope is its name.
 */
export interface BlobScope {
  readonly blobScope: string;
}

export const blobScopeOf = (t: Transport): string => {
  const s = (t as Partial<BlobScope>).blobScope;
  return typeof s === 'string' ? s : t.name;
};

/**
 * DigestAddressed is declared by the transports that serve any manifest they hold by its digest,
 * the reference's own included (a registry: GET /v2/REPO/manifests/DIGEST). The others read the
 * manifest their reference names with getManifest() and only the children of an index by digest.
 */
export interface DigestAddressed {
  readonly digestAddressed: true;
}

export const isDigestAddressed = (t: Transport): t is Transport & DigestAddressed => (t as Partial<DigestAddressed>).digestAddressed === true;

/** An image a source lists: its reference, the tag filters look at (none: it passes every filter), and the base its name is scoped from. */
export interface ListedImage {
  ref: string;
  tag?: string;
  /** For img-ref --to --scoped: the part of the source's path the image's name is relative to (dir:). */
  base?: string;
}

/**
 * ImageLister is declared by the local sources that hold several images, listed as skopeo sync finds
 * them: oci: every named image of a layout (oci:PATH:NAME, the tag being the part of the name after
 * its last ":"), or the one image a name or @N picks; dir: every directory below the path that
 * holds a manifest.json. `tagFilters` false: the images have no tags, so tag filters are refused.
 */
export interface ImageLister {
  listImages(): Promise<ListedImage[]>;
  readonly tagFilters: boolean;
}

export const canListImages = (t: Transport): t is Transport & ImageLister => typeof (t as Partial<ImageLister>).listImages === 'function';

/**
 * ReadInPlace is declared by the archive transports (oci-archive:, docker-archive:), which read their
 * file in place, by offset, and by several processes of a pipeline: a path that is a pipe, a device
 * or a descriptor of the process (/dev/stdin) must first be copied to a regular file.
 */
export interface ReadInPlace {
  /** archivePath is the file read. */
  readonly archivePath: string;
  /** readingAt is this reference with its file at `path` instead (a spooled copy), as a reference string. */
  readingAt(path: string): string;
}

export const readsInPlace = (t: Transport): t is Transport & ReadInPlace =>
  typeof (t as Partial<ReadInPlace>).archivePath === 'string' && typeof (t as Partial<ReadInPlace>).readingAt === 'function';

/**
 * DockerNamed is declared by the transports whose reference can name a docker repository
 * (docker://, docker-daemon:NAME:TAG, docker-archive:PATH:NAME:TAG): skopeo inspect prints it as Name.
 */
export interface DockerNamed {
  /** dockerName is the repository the reference names (docker.io/library/busybox), or undefined when it names none (an image ID, an unnamed archive). */
  readonly dockerName?: string;
}

export const dockerNameOf = (t: Transport): string | undefined => {
  const n = (t as Partial<DockerNamed>).dockerName;
  return typeof n === 'string' ? n : undefined;
};

/**
 * LayersForCopy is declared by containers-storage:, whose store keeps layers uncompressed only: the
 * manifest stored with an image (which it serves, as skopeo does, so digests agree) can name
 * compressed layers it cannot give back. layersForCopy gives the layers to copy instead, each as the
 * store gives it (uncompressed, by diff ID), as containers/image's LayerInfosForCopy does; undefined
 * when the manifest's own layers can be read as named. img-manifest get puts them in the record's
 * `manifest` (so the record is edited: put writes that manifest, img-blob-put copies its layers).
 */
export interface LayersForCopy {
  layersForCopy(m: import('./types.js').StoredManifest): Promise<import('../oci/manifest.js').Descriptor[] | undefined>;
}

export const hasLayersForCopy = (t: Transport): t is Transport & LayersForCopy => typeof (t as Partial<LayersForCopy>).layersForCopy === 'function';

export const canListTags = (t: Transport): t is Transport & TagLister => typeof (t as Partial<TagLister>).listTags === 'function';
export const canListRepositories = (t: Transport): t is Transport & Catalog => typeof (t as Partial<Catalog>).listRepositories === 'function';
export const canDelete = (t: Transport): t is Transport & ManifestDeleter => typeof (t as Partial<ManifestDeleter>).deleteManifest === 'function';
export const canHead = (t: Transport): t is Transport & ManifestHead => typeof (t as Partial<ManifestHead>).headManifest === 'function';
export const canMount = (t: Transport): t is Transport & BlobMounter =>
  typeof (t as Partial<BlobMounter>).mountBlob === 'function' && typeof (t as Partial<BlobMounter>).blobRepository === 'object';

/**
 * UncompressedLayers is declared by the transports whose layers are stored uncompressed and served
 * as they are stored, whatever media type the manifest they serve names (docker-archive: and
 * docker-daemon: serve skopeo's manifest, which names them …diff.tar.gzip). A copy to a destination
 * that wants compressed layers compresses them on the way (lib/image/layers.ts); any transport whose
 * store keeps layers uncompressed can declare it.
 */
export interface UncompressedLayers {
  readonly layersUncompressed: true;
}

export const servesUncompressedLayers = (t: Transport): t is Transport & UncompressedLayers => (t as Partial<UncompressedLayers>).layersUncompressed === true;

/**
 * WantsCompressedLayers is declared by the destinations that store layers compressed (docker://,
 * oci:), as containers/image's DesiredLayerCompression "Compress": an uncompressed layer is gzip-
 * (or, with --dest-compress-format, zstd-) compressed on the way. The others (dir:) keep layers as
 * they come unless --dest-compress or --dest-decompress asks.
 */
export interface WantsCompressedLayers {
  readonly wantsCompressedLayers: true;
}

export const wantsCompressedLayers = (t: Transport): t is Transport & WantsCompressedLayers =>
  (t as Partial<WantsCompressedLayers>).wantsCompressedLayers === true;

/**
 * CompressesEveryLayer is declared by the destinations that, as containers/image's OCI layout
 * destination does, compress every uncompressed layer they are given, whatever the source: an oci:
 * layout's `…layer.v1.tar` layers copied into another become `…tar+gzip` (unless
 * --dest-oci-accept-uncompressed-layers, or --preserve-digests, keeps them). docker://, which
 * containers/image compresses into too, declares only WantsCompressedLayers: imgpipe keeps a
 * registry's or a layout's uncompressed layers as they are on their way into a registry (decision 20).
 */
export interface CompressesEveryLayer extends WantsCompressedLayers {
  readonly compressesEveryLayer: true;
}

export const compressesEveryLayer = (t: Transport): t is Transport & CompressesEveryLayer =>
  wantsCompressedLayers(t) && (t as Partial<CompressesEveryLayer>).compressesEveryLayer === true;

/**
 * SingleFormat is declared by the transports that hold manifests of one format only: oci: and
 * oci-archive: hold OCI manifests, so a Docker manifest written there is converted to OCI (its
 * config rewritten), as skopeo 1.9 does, unless --preserve-digests keeps it as it is. img-manifest put
 * converts; img-blob-put leaves out the Docker config that the conversion replaces.
 */
export interface SingleFormat {
  readonly manifestFormat: Format;
}

export const isSingleFormat = (t: Transport): t is Transport & SingleFormat => typeof (t as Partial<SingleFormat>).manifestFormat === 'string';

/**
 * ArchiveWriter is implemented by the archive transports (oci-archive:, docker-archive:). An archive
 * is written by one process in one pass (so that /dev/stdout and pipes work): not blob by blob
 * through putBlob, which these transports refuse with UNSUPPORTED.
 */
export interface ArchiveWriter {
  /**
   * archive is the reference of what is written in one pass (`oci-archive:PATH` for
   * `oci-archive:PATH:NAME`; a docker-daemon: reference is its own, one load per image):
   * img-manifest put writes every image bound for it through one writer, opened with this.
   */
  readonly archive: string;
  /** nameInArchive is the name this reference gives the image written to it (NAME of `oci-archive:PATH:NAME`), or undefined; USAGE for a reference that cannot be written (`:@N`). */
  nameInArchive(): string | undefined;
  /**
   * addImage writes one image (its blobs streamed from `source`, then its manifests) into the archive
   * being written, and returns the manifest the archive will serve for it (docker-archive serves a
   * manifest of its own, with uncompressed layers). Children of an index are added through their
   * index (fetched from `source` when not given).
   */
  addImage(
    image: { manifest: import('./types.js').StoredManifest; children?: import('./types.js').StoredManifest[] },
    source: Transport,
    name?: string,
  ): Promise<import('./types.js').StoredManifest>;
  /** toStdout says whether the archive is written to this process's stdout (/dev/stdout, /dev/fd/1): then nothing else may be printed there. Absent: it is not. */
  readonly toStdout?: boolean;
  /** finish writes the archive's index (index.json / manifest.json) and closes it; until then nothing is visible at PATH (temp file + rename), except for /dev/stdout and pipes, which are written as they go. */
  finish(): Promise<void>;
  /** abort gives up the archive: its temp file is removed and nothing appears at PATH. */
  abort(): Promise<void>;
}

/**
 * AdditionalTags is declared by the archive writers whose images carry docker names of their own
 * (docker-archive: manifest.json's RepoTags and the legacy repositories file), which skopeo copy's
 * --additional-tag adds to; containers/image reads it for docker-archive: only (its
 * DockerArchiveAdditionalTags).
 */
export interface AdditionalTags {
  /** addImageTagged is ArchiveWriter.addImage naming the image `tags` too (normalised NAME:TAGs), after `name`, each once. */
  addImageTagged(
    image: { manifest: import('./types.js').StoredManifest; children?: import('./types.js').StoredManifest[] },
    source: Transport,
    name: string | undefined,
    tags: readonly string[],
  ): Promise<import('./types.js').StoredManifest>;
}

export const takesAdditionalTags = (t: Transport): t is Transport & AdditionalTags => typeof (t as Partial<AdditionalTags>).addImageTagged === 'function';

export const isArchiveWriter = (t: Transport): t is Transport & ArchiveWriter =>
  typeof (t as Partial<ArchiveWriter>).addImage === 'function' && typeof (t as Partial<ArchiveWriter>).finish === 'function';

/**
 * SignatureStore is implemented by the transports that keep simple signatures (binary OpenPGP
 * messages) for a manifest, as containers/image does: dir: as `signature-N` files beside the
 * manifest (`HEX.signature-N` for a child of an index), docker:// in the lookaside store that
 * registries.d names. oci:, oci-archive: and docker-archive: keep none (as in skopeo).
 */
export interface SignatureStore {
  /** getSignatures reads the signatures of the manifest `digest` (`child`: an index's child), in order; none is []. */
  getSignatures(digest: string, opts?: { child?: boolean }): Promise<Buffer[]>;
  /** putSignatures replaces the signatures of the manifest `digest` with `signatures` (the manifest is stored first). */
  putSignatures(digest: string, signatures: Uint8Array[], opts?: { child?: boolean }): Promise<void>;
}

/** A signature larger than this is refused (containers/image's limit for lookaside signatures). */
export const MAX_SIGNATURE_SIZE = 4 * 1024 * 1024;

/**
 * FormattedSignatureStore is implemented by the transports that keep signatures of either kind,
 * simple and sigstore, in one ordered list (containers/image's GetSignaturesWithFormat and
 * PutSignaturesWithFormat): dir:, as `signature-N` files in containers/image's stored form
 * (lib/transport/signature-blob.ts). Its getSignatures/putSignatures see the simple ones only.
 */
export interface FormattedSignatureStore {
  /** getSignaturesWithFormat reads every signature of the manifest `digest`, in order; a file of an unknown format is an error naming it. */
  getSignaturesWithFormat(digest: string, opts?: { child?: boolean }): Promise<FormattedSignature[]>;
  /** putSignaturesWithFormat replaces every signature of the manifest `digest` with `signatures`, in order (the manifest is stored first). */
  putSignaturesWithFormat(digest: string, signatures: FormattedSignature[], opts?: { child?: boolean }): Promise<void>;
}

export const canStoreFormattedSignatures = (t: Transport): t is Transport & FormattedSignatureStore =>
  typeof (t as Partial<FormattedSignatureStore>).getSignaturesWithFormat === 'function' &&
  typeof (t as Partial<FormattedSignatureStore>).putSignaturesWithFormat === 'function';

export const canStoreSignatures = (t: Transport): t is Transport & SignatureStore =>
  typeof (t as Partial<SignatureStore>).getSignatures === 'function' && typeof (t as Partial<SignatureStore>).putSignatures === 'function';
