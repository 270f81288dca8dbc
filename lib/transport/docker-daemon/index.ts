import { cachedPromise } from '../../util/memo.js';
import type { Readable } from 'node:stream';
import { ImgError, toImgError } from '../../errors.js';
import { parseManifest } from '../../oci/manifest.js';
import { formatDockerRef, formatRef, parseDockerRef, repositoryOf, withDefaultTag, type DockerRef, type ImageRef } from '../../ref/index.js';
import { TarSink } from '../archive/sink.js';
import type { ArchiveWriter, DockerNamed, TransportTraits, UncompressedLayers } from '../capabilities.js';
import { DockerArchiveTransport } from '../docker-archive/index.js';
import { DockerArchiveBuilder } from '../docker-archive/write.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import { engineAt, type Engine } from './engine.js';
import { endpointOf, type DaemonHostOptions, type Endpoint } from './host.js';
import { openLoad } from './load.js';
import { spooled } from '../engine/spool.js';

type DaemonRef = Extract<ImageRef, { transport: 'docker-daemon' }>;

/** The saves of this process: one `docker save` per engine and reference, read by every transport opened on it. */
const saves = new Map<string, Promise<DockerArchiveTransport>>();

/**
 * DockerDaemonTransport is an image in a Docker engine, through the Engine API (engine.ts).
 *
 * Reading: GET /images/{name}/get streams what `docker save` writes; it is spooled to a temp file
 * (removed at exit, also on SIGINT/SIGTERM/SIGHUP) and read in place by the docker-archive reader,
 * since a tar stream gives manifest.json last and blobs are asked for in any order. The manifest
 * served is the one skopeo serves for the image, byte for byte (Docker schema 2, layers named by
 * their diff IDs, uncompressed); its config is the engine's, so the image ID is the config digest.
 *
 * Writing: the engine loads whole images (POST /images/load), so this is an ArchiveWriter as
 * docker-archive: is: addImage streams a docker-archive (written by the docker-archive writer) as
 * the request body; finish ends it and reads the engine's answer. A failure cuts the request
 * before its end, and the engine, which unpacks the whole body before loading, loads nothing.
 * Only NAME:TAG can be written (as in containers/image).
 */
export class DockerDaemonTransport implements Transport, ArchiveWriter, DockerNamed, UncompressedLayers {
  /** An engine keeps no signatures. */
  static readonly traits: TransportTraits = { keepsSignatures: false };
  readonly name: string;
  /** Layers are served as the engine saves them: uncompressed, named by their diff IDs. */
  readonly layersUncompressed = true;
  readonly dockerName?: string;
  /** Each reference is loaded on its own (one request per image), as skopeo does. */
  readonly archive: string;
  private ep?: Endpoint;
  private writer?: { builder: DockerArchiveBuilder; load?: Awaited<ReturnType<typeof openLoad>>; config?: string };

  constructor(
    private readonly ref: DaemonRef,
    private readonly hostOpts: DaemonHostOptions = {},
  ) {
    this.name = formatRef(ref);
    this.archive = this.name;
    if (ref.docker) this.dockerName = repositoryOf(ref.docker);
  }

  private endpoint(): Endpoint {
    this.ep ??= endpointOf(this.hostOpts);
    return this.ep;
  }

  private engine(): Engine {
    return engineAt(this.endpoint());
  }

  /** apiName is the image as the engine's API names it: NAME:TAG, NAME@DIGEST or sha256:ID. */
  private apiName(): string {
    return this.ref.docker ? formatDockerRef(this.ref.docker) : this.ref.id!;
  }

  private saved(): Promise<DockerArchiveTransport> {
    return cachedPromise(saves, `${this.endpoint().host}\0${this.apiName()}`, () => this.save());
  }

  /**
   * save streams the engine's `docker save` of the image into a temp file and opens it as a docker
   * archive. The name is looked up first (GET /images/{name}/json: a missing image is a 404 there,
   * where a save can answer 500) and the image is saved by its ID, so that a tag moved meanwhile
   * cannot mix two images. In a pipeline run by img-copy (IMGPIPE_SPOOL_DIR, lib/cli/pipeline.ts)
   * the save is kept there under a name of the engine and image ID, and the stages after the first
   * read that copy instead of saving the image again.
   */
  private async save(): Promise<DockerArchiveTransport> {
    const engine = this.engine();
    const host = engine.ep.host;
    const name = this.apiName();
    const info = (await engine.getJSON(
      `/images/${name}/json`,
      `to look up ${name}`,
      (said) =>
        new ImgError(
          'MANIFEST_UNKNOWN',
          `the Docker engine at ${host} has no image ${name} (${said}); docker images lists what it has, docker pull fetches one`,
          { status: 404 },
        ),
    )) as { Id?: unknown };
    if (typeof info?.Id !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(info.Id))
      throw new ImgError('HTTP', `the Docker engine at ${host} gave no image ID for ${name}`);
    const id = info.Id;
    const what = name === id ? id : `${name} (image ${id})`;
    const path = await spooled(engine, `${host}\0${id}`, 'docker-save', what, () => engine.get(`/images/${id}/get`, `to save ${what}`));
    const archive = new DockerArchiveTransport({ transport: 'docker-archive', path });
    let config: string | undefined;
    try {
      const m = await archive.getManifest();
      config = (parseManifest(m.bytes, this.name, m.mediaType).manifest as { config?: { digest: string } }).config?.digest;
    } catch (e) {
      throw this.relabel(e, path, `the Docker engine at ${host} saved ${what} as an archive imgpipe cannot read: `);
    }
    if (config !== id) throw new ImgError('DIGEST_MISMATCH', `asked the Docker engine at ${host} for image ${id}, it saved image ${String(config)}`);
    return archive;
  }

  /** relabel names the image instead of the temp file in a message of the docker-archive reader. */
  private relabel(e: unknown, path: string, prefix = ''): ImgError {
    const err = toImgError(e);
    const message = err.message.split(`docker-archive:${path}`).join(this.name).split(`archive ${path}`).join(this.name).split(path).join(this.name);
    return new ImgError(err.code, `${prefix}${message}`, { cause: e, ...(err.status !== undefined ? { status: err.status } : {}) });
  }

  private async read<T>(fn: (a: DockerArchiveTransport) => Promise<T>): Promise<T> {
    const a = await this.saved();
    try {
      return await fn(a);
    } catch (e) {
      throw this.relabel(e, a.name.slice('docker-archive:'.length));
    }
  }

  getManifest(digest?: string): Promise<StoredManifest> {
    return this.read((a) => a.getManifest(digest));
  }

  getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    return this.read((a) => a.getBlob(blob));
  }

  statBlob(digest: string): Promise<number | undefined> {
    return this.read((a) => a.statBlob(digest));
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
      `cannot ${what} to ${this.name}: the Docker engine loads whole images (docker load), which img-manifest put writes with their blobs`,
      { ref: this.name },
    );
  }

  /** destination is the NAME:TAG the image is loaded as; an image ID or a digest cannot be written. */
  private destination(): DockerRef {
    const d = this.ref.docker;
    if (!d || d.tag === undefined || d.digest !== undefined) {
      throw new ImgError('USAGE', `cannot write to ${this.name}: a docker-daemon: destination must be NAME:TAG (the engine tags what it loads)`, {
        ref: this.name,
      });
    }
    return d;
  }

  nameInArchive(): string | undefined {
    this.destination();
    return undefined;
  }

  async addImage(image: { manifest: StoredManifest; children?: StoredManifest[] }, source: Transport, name?: string): Promise<StoredManifest> {
    const tag = name !== undefined ? withDefaultTag(parseDockerRef(name)) : this.destination();
    if (parseManifest(image.manifest.bytes, source.name, image.manifest.mediaType).kind === 'index') {
      throw new ImgError(
        'UNSUPPORTED',
        `cannot write ${source.name} to ${this.name}: it is a multi-platform index and the Docker engine loads single images; pick one with --platform OS/ARCH (or --multi-arch system, img-copy's default, for this machine's)`,
        { ref: source.name },
      );
    }
    if (this.writer?.config !== undefined) throw new ImgError('USAGE', `cannot write a second image to ${this.name}: one reference names one image`);
    const ep = this.endpoint();
    const engine = this.engine();
    // The engine is asked first (its version, its answer to the load request): a missing engine fails before any blob is read.
    await engine.apiVersion();
    const w: NonNullable<DockerDaemonTransport['writer']> = (this.writer ??= {
      builder: new DockerArchiveBuilder(`${ep.host}`, this.name, async () => {
        w.load = await openLoad(engine, this.name);
        return TarSink.onStream(this.name, w.load);
      }),
    });
    const served = await w.builder.addImage(image.manifest, source, tag);
    w.config = (parseManifest(served.bytes, this.name, served.mediaType).manifest as { config: { digest: string } }).config.digest;
    return served;
  }

  async finish(): Promise<void> {
    const w = this.writer;
    // Nothing was added: there is nothing to load.
    if (!w || w.config === undefined) return;
    await w.builder.finish();
    // What the engine now names NAME:TAG must be the image sent (the engine loaded it, and nothing retagged it since).
    const name = formatDockerRef(this.destination());
    const res = await this.engine().get(`/images/${name}/json`, `to inspect ${name} after loading it`);
    let body = '';
    for await (const chunk of res) body += (chunk as Buffer).toString('utf8');
    const id = (JSON.parse(body) as { Id?: unknown }).Id;
    if (id !== w.config)
      throw new ImgError(
        'DIGEST_MISMATCH',
        `the Docker engine at ${this.endpoint().host} loaded ${this.name}, but the name now points to image ${String(id)}, not ${w.config}`,
      );
    for (const key of [...saves.keys()]) if (key.startsWith(`${this.endpoint().host}\0`)) saves.delete(key);
  }

  async abort(): Promise<void> {
    await this.writer?.builder.abort();
  }
}
