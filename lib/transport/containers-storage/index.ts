import { cachedPromise } from '../../util/memo.js';
import { Readable } from 'node:stream';
import { ImgError, toImgError } from '../../errors.js';
import { MAX_MANIFEST_SIZE, parseManifest, type Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediatype.js';
import { formatDockerRef, formatRef, parseDockerRef, repositoryOf, withDefaultTag, type DockerRef, type ImageRef } from '../../ref/index.js';
import { checked } from '../../stream/verify.js';
import { TarSink } from '../archive/sink.js';
import type { ArchiveWriter, DockerNamed, LayersForCopy, ManifestDeleter, ManifestHead, TransportTraits } from '../capabilities.js';
import { DockerArchiveTransport } from '../docker-archive/index.js';
import { spooled } from '../engine/spool.js';
import { storedManifest } from '../manifest.js';
import { OciArchiveBuilder } from '../oci-archive/index.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import { imageInfo, openLoad, removeImage, save, storeLocation, tag, type ImageInfo } from './libpod.js';
import { serviceFor, type PodmanService } from './service.js';
import { layerSizes, readBigData, type StoreLocation } from './store.js';

type StorageRef = Extract<ImageRef, { transport: 'containers-storage' }>;

/** What a reference resolves to in its store. */
interface Resolved {
  svc: PodmanService;
  info: ImageInfo;
  loc?: StoreLocation;
  /** the manifest served: the stored one (read-only from the store), else the one of a save */
  manifest: StoredManifest;
  /** whether `manifest` is the stored one (else the save's, whose layers are all readable) */
  stored: boolean;
}

/** Resolutions of this process, by store and name; forgotten for a store once imgpipe wrote to it. */
const resolutions = new Map<string, Promise<Resolved | undefined>>();
/** Saves (`podman save` spooled to a temp file) of this process, by store and image ID. */
const saves = new Map<string, Promise<DockerArchiveTransport>>();
const locations = new Map<PodmanService, Promise<StoreLocation | undefined>>();

const UNCOMPRESSED: Record<string, string> = {
  [MediaType.ociManifest]: MediaType.ociLayer,
  [MediaType.dockerManifest]: 'application/vnd.docker.image.rootfs.diff.tar',
};

/**
 * ContainersStorageTransport is an image in a containers/storage store (podman's, buildah's,
 * CRI-O's), through the Podman service that owns the store (service.ts): imgpipe never writes the
 * store's files.
 *
 * Reading: the image is looked up by the API (GET /libpod/images/{name}/json: its ID and the digest
 * of its stored manifest). The manifest served is the one stored with the image, read read-only
 * from the store's files (store.ts), so that it and its digest are skopeo's byte for byte (`skopeo
 * inspect --raw`, `podman images --digests`); the config too. Layers come from `podman save
 * --format docker-archive` (GET /libpod/images/{id}/get), spooled to a temp file and read by the
 * docker-archive reader: uncompressed, by diff ID, since the store keeps no compressed bytes. So a
 * stored manifest that names compressed layers (a pulled image) names blobs this transport cannot
 * give: the LayersForCopy capability gives the layers to copy instead, as containers/image's
 * LayerInfosForCopy does, and img-manifest get puts them in the record's manifest. Where the store's
 * files cannot be read (another user's store), the manifest is the one the save gives (Docker
 * schema 2, uncompressed layers), whose digest is not the stored one.
 *
 * Writing (ArchiveWriter): the image is streamed as an OCI archive, its manifest byte for byte and
 * named NAME:TAG (the ref.name annotation), into POST /libpod/images/load, so the store keeps the
 * manifest and its digest and the image ID is the config's digest, as with skopeo's copy; podman
 * loads nothing from a body cut short. Only NAME[:TAG] can be written; an index needs a platform picked.
 */
export class ContainersStorageTransport implements Transport, ArchiveWriter, DockerNamed, ManifestHead, LayersForCopy, ManifestDeleter {
  /** Signatures are not written to the store (no SignatureStore): a signed source is refused unless they are removed. */
  static readonly traits: TransportTraits = { keepsSignatures: false };
  /** Every layer is served uncompressed (from the save), whatever media type the stored manifest names (UncompressedLayers). */
  readonly layersUncompressed = true;
  readonly name: string;
  readonly dockerName?: string;
  /** Each reference is loaded on its own (one load per image). */
  readonly archive: string;
  private writer?: { builder: OciArchiveBuilder; load?: Awaited<ReturnType<typeof openLoad>>; config?: string; tag: DockerRef };

  constructor(private readonly ref: StorageRef) {
    this.name = formatRef(ref);
    this.archive = this.name;
    if (ref.docker) this.dockerName = repositoryOf(ref.docker);
  }

  private service(): Promise<PodmanService> {
    return serviceFor(this.ref.store);
  }

  /** apiName is the image as the API is asked for it: the ID, else NAME@DIGEST, else NAME:TAG. */
  private apiName(): string {
    const d = this.ref.docker;
    if (this.ref.id !== undefined) return this.ref.id;
    return d!.digest !== undefined ? `${repositoryOf(d!)}@${d!.digest}` : formatDockerRef(d!);
  }

  private resolved(): Promise<Resolved | undefined> {
    return cachedPromise(resolutions, `${this.ref.store ?? ''}\0${this.apiName()}`, () => this.resolve());
  }

  /** image is the resolution, or MANIFEST_UNKNOWN naming the store and what to do. */
  private async image(): Promise<Resolved> {
    const r = await this.resolved();
    if (r) return r;
    const svc = await this.service();
    const d = this.ref.docker;
    const what = !d
      ? `no image with ID ${this.ref.id}`
      : this.ref.id !== undefined
        ? `no image ${repositoryOf(d)} with ID ${this.ref.id}`
        : `no image ${this.apiName()}`;
    // containers/image's words first ("does not resolve to an image ID"), as skopeo's tests look for them
    throw new ImgError('MANIFEST_UNKNOWN', `${this.name} does not resolve to an image ID: ${svc.store} has ${what}; ${svc.list} lists what it has`, {
      ref: this.name,
    });
  }

  private async resolve(): Promise<Resolved | undefined> {
    const svc = await this.service();
    const info = await imageInfo(svc, this.apiName());
    if (!info) return undefined;
    const d = this.ref.docker;
    // podman's lookup is lenient (short names, any registry); the image must carry the name asked for, as containers/image checks.
    if (d) {
      const repo = repositoryOf(d);
      const names = [...info.RepoTags, ...info.RepoDigests].map(normalised);
      if (this.ref.id === undefined && d.digest === undefined && !names.includes(formatDockerRef(d))) return undefined;
      if (!names.some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`))) return undefined;
    }
    if (this.ref.id !== undefined && info.Id !== this.ref.id) return undefined;
    let loc = locations.get(svc);
    if (!loc) {
      loc = storeLocation(svc).catch(() => undefined);
      locations.set(svc, loc);
    }
    const where = await loc;
    // As skopeo: the manifest of the digest the reference names, if the image has it, else the image's own.
    const keys = [...(d?.digest !== undefined ? [`manifest-${d.digest}`] : []), 'manifest'];
    for (const key of where ? keys : []) {
      const bytes = await readBigData(where!, info.Id, key, key === 'manifest' ? undefined : key.slice('manifest-'.length));
      if (bytes && bytes.length <= MAX_MANIFEST_SIZE) {
        const { parsed: _p, ...m } = storedManifest(bytes, `${this.name} (stored manifest)`);
        return { svc, info, ...(where ? { loc: where } : {}), manifest: m, stored: true };
      }
    }
    const archive = await this.saved({ svc, info });
    const manifest = await this.fromSave(() => archive.getManifest(), archive);
    return { svc, info, ...(where ? { loc: where } : {}), manifest, stored: false };
  }

  /** saved is the image's `podman save` (docker-archive), spooled once per process (and pipeline), checked to be the image asked for. */
  private saved(r: Pick<Resolved, 'svc' | 'info'>): Promise<DockerArchiveTransport> {
    const key = `${r.svc.client.label.at}\0${r.info.Id}`;
    return cachedPromise(saves, key, async () => {
      const what = `image ${r.info.Id}`;
      const path = await spooled(r.svc.client, key, 'podman-save', what, () => save(r.svc, r.info.Id, what));
      const archive = new DockerArchiveTransport({ transport: 'docker-archive', path });
      const m = await this.fromSave(() => archive.getManifest(), archive);
      const config = (parseManifest(m.bytes, this.name, m.mediaType).manifest as { config?: { digest: string } }).config?.digest;
      if (config !== `sha256:${r.info.Id}`)
        throw new ImgError('DIGEST_MISMATCH', `asked ${r.svc.client.label.at} for image ${r.info.Id}, it saved image ${String(config)}`);
      return archive;
    });
  }

  /** fromSave runs a read of the save, naming the image instead of the temp file in its errors. */
  private async fromSave<T>(fn: () => Promise<T>, archive: DockerArchiveTransport): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = toImgError(e);
      const path = archive.name.slice('docker-archive:'.length);
      const message = err.message.split(archive.name).join(this.name).split(`archive ${path}`).join(this.name).split(path).join(this.name);
      throw new ImgError(err.code, message, { cause: e, ref: this.name, ...(err.status !== undefined ? { status: err.status } : {}) });
    }
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const r = await this.image();
    if (digest === undefined || digest === r.manifest.digest) return r.manifest;
    // Another manifest stored with the image (the index it was pulled through, an instance of it).
    const bytes = r.loc ? await readBigData(r.loc, r.info.Id, `manifest-${digest}`, digest) : undefined;
    if (!bytes) throw new ImgError('MANIFEST_UNKNOWN', `${this.name} has no manifest ${digest} (its manifest is ${r.manifest.digest})`, { ref: this.name });
    const { parsed: _p, ...m } = storedManifest(bytes, `${this.name}@${digest}`, digest);
    return m;
  }

  /** headManifest is the digest of the manifest getManifest serves, or undefined when the store has no such image (a destination not written yet). */
  async headManifest(): Promise<{ digest: string; mediaType: string; size: number; also: string[] } | undefined> {
    const r = await this.resolved();
    if (!r) return undefined;
    // The image can hold other manifests too (stored again with the same config): every digest podman lists for the name's repository.
    const repo = this.ref.docker ? repositoryOf(this.ref.docker) : undefined;
    const also = r.stored
      ? r.info.RepoDigests.map(normalised)
          .filter((n) => repo === undefined || n.startsWith(`${repo}@`))
          .map((n) => n.slice(n.indexOf('@') + 1))
      : [];
    return {
      digest: r.manifest.digest,
      mediaType: r.manifest.mediaType,
      size: r.manifest.bytes.length,
      also: [...new Set(also)].filter((d) => d !== r.manifest.digest),
    };
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    const r = await this.image();
    // The config (and other small items stored with the image) read from the store; layers from a save.
    if (r.loc && blob.digest === `sha256:${r.info.Id}`) {
      const bytes = await readBigData(r.loc, r.info.Id, blob.digest, blob.digest);
      if (bytes) return checked(Readable.from([bytes]), blob, `blob ${blob.digest} of ${this.name}`);
    }
    const archive = await this.saved(r);
    try {
      return await this.fromSave(() => archive.getBlob(blob), archive);
    } catch (e) {
      if (e instanceof ImgError && e.code === 'BLOB_UNKNOWN' && r.stored && this.namesLayer(r, blob.digest)) {
        throw new ImgError(
          'BLOB_UNKNOWN',
          `blob ${blob.digest} of ${this.name} is a compressed layer, which the store does not keep (it keeps layers uncompressed, by diff ID): read the image with img-manifest get, whose record lists the layers as the store gives them`,
          { ref: this.name },
        );
      }
      throw e;
    }
  }

  private namesLayer(r: Resolved, digest: string): boolean {
    const p = parseManifest(r.manifest.bytes, this.name, r.manifest.mediaType);
    return p.kind === 'image' && p.manifest.layers.some((l) => l.digest === digest);
  }

  /** statBlob is undefined where the store has no such image (a destination) or no such blob (a compressed layer it does not keep). */
  async statBlob(digest: string): Promise<number | undefined> {
    const r = await this.resolved();
    if (!r) return undefined;
    if (digest === `sha256:${r.info.Id}`) {
      const p = parseManifest(r.manifest.bytes, this.name, r.manifest.mediaType);
      if (p.kind === 'image' && p.manifest.config.digest === digest) return p.manifest.config.size;
    }
    const sizes = await this.diffSizes(r);
    if (sizes.has(digest)) return sizes.get(digest);
    const archive = await this.saved(r);
    return this.fromSave(() => archive.statBlob(digest), archive);
  }

  /** diffSizes are the uncompressed sizes of the image's layers, by diff ID (from the store's layers.json, else from a save). */
  private async diffSizes(r: Resolved): Promise<Map<string, number>> {
    const diffIDs = await this.diffIDs(r);
    const fromStore = r.loc ? await layerSizes(r.loc) : undefined;
    if (fromStore && diffIDs.every((d) => fromStore.has(d))) return new Map(diffIDs.map((d) => [d, fromStore.get(d)!]));
    const archive = await this.saved(r);
    const m = await this.fromSave(() => archive.getManifest(), archive);
    const p = parseManifest(m.bytes, this.name, m.mediaType);
    return new Map(p.kind === 'image' ? p.manifest.layers.map((l) => [l.digest, l.size]) : []);
  }

  /** diffIDs are the config's rootfs.diff_ids. */
  private async diffIDs(r: Resolved): Promise<string[]> {
    const config = `sha256:${r.info.Id}`;
    let bytes = r.loc ? await readBigData(r.loc, r.info.Id, config, config) : undefined;
    if (!bytes) {
      const chunks: Buffer[] = [];
      for await (const c of await this.getBlob({ digest: config })) chunks.push(c as Buffer);
      bytes = Buffer.concat(chunks);
    }
    const ids = (JSON.parse(bytes.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
    return Array.isArray(ids) ? ids.filter((d): d is string => typeof d === 'string') : [];
  }

  /**
   * layersForCopy gives the layers to copy for manifest `m` of this image when its own cannot be
   * read as named (compressed layers of a pulled image): each layer uncompressed, by diff ID, with
   * the uncompressed media type of the manifest's format, as containers/image's LayerInfosForCopy.
   * undefined when the manifest names them so already.
   */
  async layersForCopy(m: StoredManifest): Promise<Descriptor[] | undefined> {
    const p = parseManifest(m.bytes, this.name, m.mediaType);
    if (p.kind !== 'image') return undefined;
    const r = await this.image();
    if (p.manifest.config.digest !== `sha256:${r.info.Id}`) return undefined;
    const diffIDs = await this.diffIDs(r);
    const layers = p.manifest.layers;
    if (diffIDs.length !== layers.length) {
      throw new ImgError('MANIFEST_INVALID', `${this.name}: the manifest has ${layers.length} layers but the config has ${diffIDs.length} diff IDs`, {
        ref: this.name,
      });
    }
    const mediaType = UNCOMPRESSED[p.mediaType] ?? MediaType.ociLayer;
    // As LayerInfosForCopy: the uncompressed type too (a manifest podman stored from a docker-archive names uncompressed layers …diff.tar.gzip).
    if (layers.every((l, i) => l.digest === diffIDs[i] && l.mediaType === mediaType)) return undefined;
    const sizes = await this.diffSizes(r);
    return diffIDs.map((d) => {
      const size = sizes.get(d);
      if (size === undefined) throw new ImgError('BLOB_UNKNOWN', `${this.name}: the store has no layer ${d}`, { ref: this.name });
      return { mediaType, digest: d, size };
    });
  }

  /**
   * deleteManifest removes what the reference names, as `podman rmi` does and never forced: NAME:TAG
   * removes that name (and the image when it was its last one); an ID or NAME@DIGEST the image, which
   * podman refuses while it has several names. skopeo delete removes the image whatever names it has.
   */
  async deleteManifest(): Promise<string> {
    const r = await this.image();
    const d = this.ref.docker;
    const name = d && this.ref.id === undefined && d.digest === undefined ? formatDockerRef(d) : r.info.Id;
    forget(this.ref.store);
    await removeImage(r.svc, name);
    return r.manifest.digest;
  }

  async putBlob(_data: Readable, _expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    throw this.refuseBlobWrite('write a blob');
  }

  async putManifest(_m: StoredManifest, _opts?: { child?: boolean }): Promise<void> {
    throw this.refuseBlobWrite('write a manifest');
  }

  private refuseBlobWrite(what: string): ImgError {
    return new ImgError(
      'UNSUPPORTED',
      `cannot ${what} to ${this.name}: podman loads whole images (podman load), which img-manifest put writes with their blobs`,
      { ref: this.name },
    );
  }

  /** destination is the NAME:TAG the image is stored as; an image ID or a digest cannot be written. */
  private destination(): DockerRef {
    const d = this.ref.docker;
    if (!d || this.ref.id !== undefined || d.digest !== undefined || d.tag === undefined) {
      throw new ImgError(
        'USAGE',
        `cannot write to ${this.name}: a containers-storage: destination is [STORE]NAME[:TAG] (the store gives the image its ID, the config's digest)`,
        { ref: this.name },
      );
    }
    return d;
  }

  nameInArchive(): string | undefined {
    this.destination();
    return undefined;
  }

  async addImage(image: { manifest: StoredManifest; children?: StoredManifest[] }, source: Transport, name?: string): Promise<StoredManifest> {
    const target = name !== undefined ? withDefaultTag(parseDockerRef(name)) : this.destination();
    const parsed = parseManifest(image.manifest.bytes, source.name, image.manifest.mediaType);
    if (parsed.kind === 'index') {
      throw new ImgError(
        'UNSUPPORTED',
        `cannot write ${source.name} to ${this.name}: it is a multi-platform index and imgpipe stores single images in containers-storage; pick one with --platform OS/ARCH (or --multi-arch system, img-copy's default, for this machine's)`,
        { ref: source.name },
      );
    }
    if (this.writer?.config !== undefined) throw new ImgError('USAGE', `cannot write a second image to ${this.name}: one reference names one image`);
    // The service first: a missing podman or a store that cannot be opened fails before any blob is read.
    const svc = await this.service();
    const w: NonNullable<ContainersStorageTransport['writer']> = (this.writer ??= {
      tag: target,
      builder: new OciArchiveBuilder(`(podman load into ${svc.store})`, async () => {
        w.load = await openLoad(svc, this.name);
        return TarSink.onStream(`(podman load into ${svc.store})`, w.load);
      }),
    });
    await w.builder.addImage(image, source, formatDockerRef(target));
    w.config = parsed.manifest.config.digest;
    return image.manifest;
  }

  async finish(): Promise<void> {
    const w = this.writer;
    if (!w || w.config === undefined) return;
    const svc = await this.service();
    forget(this.ref.store);
    await w.builder.finish();
    const names = (await w.load?.answer) ?? [];
    const full = formatDockerRef(w.tag);
    const id = w.config.replace(/^sha256:/, '');
    // podman names what it loads from the archive's ref.name; tag it when it did not (older podman).
    if (!names.map(normalised).includes(full)) await tag(svc, id, repositoryOf(w.tag), w.tag.tag!);
    const now = await imageInfo(svc, full);
    if (!now || now.Id !== id) {
      throw new ImgError(
        'DIGEST_MISMATCH',
        `${svc.client.label.at} loaded ${this.name}, but the name now points to ${now ? `image ${now.Id}` : 'no image'}, not ${id}`,
        { ref: this.name },
      );
    }
  }

  async abort(): Promise<void> {
    forget(this.ref.store);
    await this.writer?.builder.abort();
  }
}

/** forget drops what this process knows of a store (it is being written). */
function forget(store: string | undefined): void {
  for (const k of [...resolutions.keys()]) if (k.startsWith(`${store ?? ''}\0`)) resolutions.delete(k);
}

/** normalised reads a name podman gives (docker.io/library/x:1, localhost/x:1, x@sha256:…) as a full reference, or '' when it is not one. */
function normalised(n: string): string {
  try {
    return formatDockerRef(parseDockerRef(n));
  } catch {
    return '';
  }
}
