import type { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { formatDockerRef, formatRef, parseDockerRef, repositoryOf, withDefaultTag, type DockerRef, type ImageRef } from '../../ref/index.js';
import { DigestingStream } from '../../stream/verify.js';
import { decompressor } from '../../stream/compression.js';
import { ArchiveReader, archiveExists, MAX_CONFIG_SIZE, MAX_METADATA_SIZE } from '../archive/reader.js';
import { refuseBlobWrite } from '../archive/common.js';
import { checkedName, type TarEntry } from '../archive/tar.js';
import type {
  AdditionalTags,
  ArchiveTags,
  ArchiveWriter,
  DockerNamed,
  ImageLister,
  ListedImage,
  ReadInPlace,
  TransportTraits,
  UncompressedLayers,
} from '../capabilities.js';
import { isStdout } from '../../util/fs.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import { DockerArchiveBuilder } from './write.js';
import { compressionOf, diffIDsOf, synthesisedManifest, type Compression, type DockerManifestItem } from './format.js';

interface Layer {
  diffID: string;
  entry: TarEntry;
  compression: Compression;
}

interface LoadedImage {
  config: { bytes: Buffer; digest: string; entry: TarEntry };
  /** Layers in manifest order (a diff ID may repeat). */
  layers: Layer[];
  manifest?: StoredManifest;
}

/**
 * DockerArchiveTransport reads `docker save` archives (manifest.json, HEX.json configs, layer tars)
 * in place, and writes them whole through the ArchiveWriter capability. The manifest it serves is
 * the Docker schema 2 manifest skopeo synthesises for the same archive, byte for byte, so digests
 * agree with `skopeo inspect docker-archive:…`: layers are named by their diff IDs and served
 * uncompressed.
 */
export class DockerArchiveTransport
  implements Transport, ArchiveWriter, AdditionalTags, ArchiveTags, DockerNamed, ImageLister, ReadInPlace, UncompressedLayers
{
  static readonly traits: TransportTraits = { keepsSignatures: false };
  readonly name: string;
  /** The tar file, read in place. */
  readonly archivePath: string;
  /** Layers are served uncompressed, named by their diff IDs (a gzip entry is decompressed on the way). */
  readonly layersUncompressed = true;
  readonly dockerName?: string;
  private readonly path: string;
  private readonly docker?: DockerRef;
  private readonly imageIndex?: number;
  private loaded?: Promise<LoadedImage>;
  private writer?: DockerArchiveBuilder;
  readonly archive: string;
  /** Images are filtered by the tag of their names. */
  readonly tagFilters = true;

  constructor(ref: Extract<ImageRef, { transport: 'docker-archive' }>) {
    this.name = formatRef(ref);
    this.path = ref.path;
    this.archivePath = ref.path;
    this.archive = formatRef({ transport: 'docker-archive', path: ref.path });
    if (ref.docker !== undefined) {
      this.docker = ref.docker;
      this.dockerName = repositoryOf(ref.docker);
    }
    if (ref.index !== undefined) this.imageIndex = ref.index;
  }

  get toStdout(): boolean {
    return isStdout(this.path);
  }

  readingAt(path: string): string {
    return formatRef({
      transport: 'docker-archive',
      path,
      ...(this.docker ? { docker: this.docker } : {}),
      ...(this.imageIndex !== undefined ? { index: this.imageIndex } : {}),
    });
  }

  nameInArchive(): string | undefined {
    if (this.imageIndex !== undefined) throw new ImgError('USAGE', `cannot write to ${this.name}: @N selects an image to read; name the image instead`);
    return this.docker ? formatDockerRef(this.docker) : undefined;
  }

  private load(): Promise<LoadedImage> {
    this.loaded ??= this.doLoad();
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  /** items reads manifest.json: one item per image. */
  private async items(): Promise<DockerManifestItem[]> {
    const r = await ArchiveReader.open(this.path);
    return parseManifestJson(await r.readEntry('manifest.json', MAX_METADATA_SIZE, 'manifest.json'), this.path);
  }

  /**
   * listArchiveTags lists the archive's names as skopeo list-tags does (containers/image's
   * Reader.List, each name through ManifestTagsForReference): every RepoTags entry of every image in
   * order, spelled as the first entry of the archive that names the same image reference, and `@N`
   * for an image N without one. An entry that is not a NAME:TAG fails the whole listing, as in skopeo.
   */
  async listArchiveTags(): Promise<string[]> {
    const items = await this.items();
    const named = items.map((it, i) => it.RepoTags.map((t) => ({ raw: t, ref: formatDockerRef(this.repoTag(t, i)) })));
    const first = new Map<string, string>();
    for (const t of named.flat()) if (!first.has(t.ref)) first.set(t.ref, t.raw);
    return named.flatMap((tags, i) => (tags.length === 0 ? [`@${i}`] : tags.map((t) => first.get(t.ref)!)));
  }

  /**
   * listImages lists the images of a source as img-tags does: for docker-archive:PATH one reference
   * per name of each image (docker-archive:PATH:NAME:TAG, filtered by TAG), and PATH:@N for an image
   * without a name; a reference that names or picks an image is that image alone.
   */
  async listImages(): Promise<ListedImage[]> {
    if (this.docker !== undefined) return [{ ref: this.name, tag: this.docker.tag! }];
    if (this.imageIndex !== undefined) return [{ ref: this.name }];
    const out: ListedImage[] = [];
    for (const [i, it] of (await this.items()).entries()) {
      if (it.RepoTags.length === 0) out.push({ ref: formatRef({ transport: 'docker-archive', path: this.path, index: i }) });
      for (const t of it.RepoTags) {
        const docker = this.repoTag(t, i);
        out.push({ ref: formatRef({ transport: 'docker-archive', path: this.path, docker }), tag: docker.tag! });
      }
    }
    return out;
  }

  /** repoTag reads a RepoTags entry of image `i` as a NAME:TAG reference; anything else is MANIFEST_INVALID, in containers/image's words. */
  private repoTag(t: string, i: number): DockerRef {
    let d: DockerRef;
    try {
      d = parseDockerRef(t);
    } catch (e) {
      throw new ImgError('MANIFEST_INVALID', `archive ${this.path}: invalid tag ${JSON.stringify(t)} in manifest item @${i}: ${(e as Error).message}`);
    }
    if (d.tag === undefined)
      throw new ImgError('MANIFEST_INVALID', `archive ${this.path}: invalid tag ${JSON.stringify(t)} in manifest item @${i}: it has no tag`);
    return { domain: d.domain, path: d.path, tag: d.tag };
  }

  private async doLoad(): Promise<LoadedImage> {
    const r = await ArchiveReader.open(this.path);
    const item = this.select(await this.items());
    const configName = checkedName(item.Config, this.path);
    const configEntry = r.lookup(configName);
    if (!configEntry) throw new ImgError('BLOB_UNKNOWN', `archive ${this.path}: no config entry ${JSON.stringify(configName)}, which manifest.json names`);
    const configBytes = await r.readEntry(configName, MAX_CONFIG_SIZE, 'image config');
    const diffIDs = diffIDsOf(configBytes, `config ${configName} in ${this.path}`);
    if (diffIDs.length !== item.Layers.length) {
      throw new ImgError(
        'MANIFEST_INVALID',
        `archive ${this.path}: manifest.json lists ${item.Layers.length} layers, config ${configName} has ${diffIDs.length} diff IDs`,
      );
    }
    const layers: Layer[] = [];
    for (const [i, raw] of item.Layers.entries()) {
      const name = checkedName(raw, this.path);
      const entry = r.lookup(name);
      if (!entry) throw new ImgError('BLOB_UNKNOWN', `archive ${this.path}: no layer entry ${JSON.stringify(name)}, which manifest.json names`);
      const magic = await r.readRange(entry.offset, Math.min(6, entry.size));
      layers.push({ diffID: diffIDs[i]!, entry, compression: compressionOf(magic, name, this.path) });
    }
    return { config: { bytes: configBytes, digest: digestOf(configBytes), entry: configEntry }, layers };
  }

  /** select picks the manifest.json item the reference names: by RepoTags, by @N, or the only one. */
  private select(items: DockerManifestItem[]): DockerManifestItem {
    if (this.imageIndex !== undefined) {
      const it = items[this.imageIndex];
      if (!it) throw new ImgError('MANIFEST_UNKNOWN', `no image @${this.imageIndex}: the archive ${this.path} holds ${items.length}`);
      return it;
    }
    if (this.docker !== undefined) {
      const want = formatDockerRef(this.docker);
      const found = items.filter((it) => it.RepoTags.some((t) => normaliseTag(t) === want));
      if (found.length === 1) return found[0]!;
      if (found.length > 1) throw new ImgError('NAME_AMBIGUOUS', `${found.length} images in ${this.path} are tagged ${want}`);
      const tags = items.flatMap((it) => it.RepoTags);
      throw new ImgError('MANIFEST_UNKNOWN', `no image tagged ${want} in ${this.path} (tags here: ${tags.length ? tags.join(', ') : 'none'})`);
    }
    if (items.length === 1) return items[0]!;
    if (items.length === 0) throw new ImgError('MANIFEST_UNKNOWN', `the archive ${this.path} holds no images`);
    throw new ImgError('NAME_AMBIGUOUS', `the archive holds ${items.length} images: name one as ${this.name}:NAME:TAG or pick one as ${this.name}:@N`);
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const img = await this.load();
    img.manifest ??= await this.synthesise(img);
    if (digest !== undefined && digest !== img.manifest.digest) {
      throw new ImgError(
        'MANIFEST_UNKNOWN',
        `archive ${this.path} has no manifest ${digest} (a docker archive holds single images; its manifest is ${img.manifest.digest})`,
      );
    }
    return img.manifest;
  }

  /** synthesise builds the manifest skopeo serves for the image (see synthesisedManifest). */
  private async synthesise(img: LoadedImage): Promise<StoredManifest> {
    const r = await ArchiveReader.open(this.path);
    const sizes = new Map<string, number>();
    for (const l of img.layers) {
      if (!sizes.has(l.diffID)) sizes.set(l.diffID, l.compression === 'none' ? l.entry.size : await decompressedSize(r, l.entry, l.compression));
    }
    return synthesisedManifest(
      { digest: img.config.digest, size: img.config.bytes.length },
      img.layers.map((l) => ({ diffID: l.diffID, size: sizes.get(l.diffID)! })),
    );
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    const img = await this.load();
    const r = await ArchiveReader.open(this.path);
    if (blob.digest === img.config.digest) return r.streamVerified(img.config.entry, blob);
    const layer = img.layers.find((l) => l.diffID === blob.digest);
    if (!layer) throw new ImgError('BLOB_UNKNOWN', `blob ${blob.digest} not found in ${this.name}`);
    if (layer.compression === 'none') return r.streamVerified(layer.entry, blob);
    const src = r.streamEntry(layer.entry);
    const unpack = await decompressor(layer.compression);
    const check = new DigestingStream(blob, `layer ${blob.digest} (entry ${JSON.stringify(layer.entry.name)}) in ${this.path}`);
    src.on('error', (e) => unpack.destroy(e));
    unpack.on('error', (e) =>
      check.destroy(
        new ImgError(
          'MANIFEST_INVALID',
          `archive ${this.path}: layer entry ${JSON.stringify(layer.entry.name)} is not valid ${layer.compression}: ${e.message}`,
        ),
      ),
    );
    return src.pipe(unpack).pipe(check);
  }

  /** statBlob is undefined where there is no archive yet (a destination), so that a copy planner sees nothing stored. */
  async statBlob(digest: string): Promise<number | undefined> {
    if (!(await archiveExists(this.path))) return undefined;
    const img = await this.load();
    if (digest === img.config.digest) return img.config.bytes.length;
    if (!img.layers.some((l) => l.diffID === digest)) return undefined;
    const m = JSON.parse((await this.getManifest()).bytes.toString('utf8')) as { layers: { digest: string; size: number }[] };
    return m.layers.find((l) => l.digest === digest)?.size;
  }

  async putBlob(_data: Readable, _expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    throw refuseBlobWrite(this.name, 'write a blob');
  }

  async putManifest(_m: StoredManifest, _opts?: { child?: boolean }): Promise<void> {
    throw refuseBlobWrite(this.name, 'write a manifest');
  }

  async addImage(image: { manifest: StoredManifest; children?: StoredManifest[] }, source: Transport, name?: string): Promise<StoredManifest> {
    return this.addImageTagged(image, source, name, []);
  }

  /** addImageTagged writes the image named `name` (else the reference's name, if any), then each of `tags`, as skopeo's --additional-tag. */
  async addImageTagged(
    image: { manifest: StoredManifest; children?: StoredManifest[] },
    source: Transport,
    name: string | undefined,
    tags: readonly string[],
  ): Promise<StoredManifest> {
    if (this.imageIndex !== undefined) throw new ImgError('USAGE', `cannot write to ${this.name}: @N selects an image to read; name the image instead`);
    this.writer ??= new DockerArchiveBuilder(this.path, this.name);
    const tag = name !== undefined ? withDefaultTag(parseDockerRef(name)) : this.docker;
    const more = tags.map((t) => parseDockerRef(t));
    for (const [i, d] of [tag, ...more].entries()) {
      if (d?.digest !== undefined || (d !== undefined && d.tag === undefined))
        throw new ImgError(
          'REF_INVALID',
          `cannot tag an image in ${this.name} as ${i === 0 ? name : tags[i - 1]}: docker-archive tags are NAME:TAG, without a digest`,
        );
    }
    return this.writer.addImage(image.manifest, source, tag, more);
  }

  async finish(): Promise<void> {
    this.writer ??= new DockerArchiveBuilder(this.path, this.name);
    await this.writer.finish();
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}

/** parseManifestJson checks the shape of a docker archive's manifest.json. */
function parseManifestJson(bytes: Buffer, archive: string): DockerManifestItem[] {
  const bad = (why: string) => new ImgError('MANIFEST_INVALID', `archive ${archive}: manifest.json ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bad(`is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw bad('is not a JSON array');
  return doc.map((it: unknown, i) => {
    const o = it as Partial<Record<keyof DockerManifestItem, unknown>>;
    if (typeof it !== 'object' || it === null) throw bad(`item ${i} is not an object`);
    if (typeof o.Config !== 'string') throw bad(`item ${i} has no Config`);
    const tags = o.RepoTags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw bad(`item ${i} has an invalid RepoTags`);
    if (!Array.isArray(o.Layers) || o.Layers.some((l) => typeof l !== 'string')) throw bad(`item ${i} has an invalid Layers`);
    return { Config: o.Config, RepoTags: tags as string[], Layers: o.Layers as string[] };
  });
}

/** normaliseTag reads a RepoTags string (docker writes "app:1", skopeo "docker.io/library/app:1") as a full reference, or '' when it is not one. */
function normaliseTag(t: string): string {
  try {
    return formatDockerRef(withDefaultTag(parseDockerRef(t)));
  } catch {
    return '';
  }
}

async function decompressedSize(r: ArchiveReader, e: TarEntry, c: Compression): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of r.streamEntry(e).pipe(await decompressor(c))) n += (chunk as Buffer).length;
  } catch (err) {
    throw new ImgError('MANIFEST_INVALID', `archive ${r.archive}: layer entry ${JSON.stringify(e.name)} is not valid ${c}: ${(err as Error).message}`);
  }
  return n;
}
