import type { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { MAX_MANIFEST_SIZE, referencedBlobs, type Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediatype.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { ArchiveReader, archiveExists, MAX_METADATA_SIZE } from '../archive/reader.js';
import { refuseBlobWrite, SinkHolder, sourceBlob } from '../archive/common.js';
import { TarSink } from '../archive/sink.js';
import { servesUncompressedLayers, type ArchiveWriter, type ReadInPlace, type SingleFormat, type TransportTraits } from '../capabilities.js';
import { compressedLayers } from '../archive/compress.js';
import { fileSize, isStdout } from '../../util/fs.js';
import { storedManifest } from '../manifest.js';
import { blobPathIn, parseLayoutIndex, REF_NAME_ANNOTATION, resolveIndexEntry, type OciLayoutOptions } from '../oci-layout/index.js';
import { openVerifiedFile, readManifestFile } from '../local.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';

const LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';
const MAX_NESTING = 4;

const blobEntry = (digest: string) => {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
};

/**
 * OciArchiveTransport is an OCI image layout inside a tar file (what `skopeo copy … oci-archive:`
 * writes). It is read in place, without extracting: see ArchiveReader. Names and @N resolve as for
 * oci:. It is written whole, in one pass, through the ArchiveWriter capability.
 *
 * With a shared blob directory (OciLayoutOptions, as containers/image passes its
 * OCISharedBlobDirPath to the layout inside the archive) the archive's index.json is read from the
 * archive and its manifests and blobs from that directory: skopeo writes such archives, with no
 * blobs in them. Writing one is refused: an archive is a file to carry elsewhere, and one without
 * its blobs is useless there.
 */
export class OciArchiveTransport implements Transport, ArchiveWriter, SingleFormat, ReadInPlace {
  static readonly traits: TransportTraits = { keepsSignatures: false };
  readonly name: string;
  /** The tar file, read in place. */
  readonly archivePath: string;
  /** An OCI archive holds OCI manifests: Docker ones are converted on the way in (as skopeo 1.9 does). */
  readonly manifestFormat = 'oci';
  private readonly path: string;
  private readonly imageName?: string;
  private readonly imageIndex?: number;
  private writer?: OciArchiveBuilder;
  readonly archive: string;
  /** The shared blob directory the manifests and blobs are read from, instead of the archive. */
  private readonly sharedBlobDir?: string;

  constructor(ref: Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>, opts: OciLayoutOptions = {}) {
    this.name = formatRef(ref);
    this.path = ref.path;
    this.archivePath = ref.path;
    this.archive = formatRef({ transport: 'oci-archive', path: ref.path });
    if (ref.name !== undefined) this.imageName = ref.name;
    if (ref.index !== undefined) this.imageIndex = ref.index;
    this.selector = ref;
    if (opts.sharedBlobDir) this.sharedBlobDir = opts.sharedBlobDir;
  }

  private readonly selector: { name?: string; index?: number };

  get toStdout(): boolean {
    return isStdout(this.path);
  }

  readingAt(path: string): string {
    return formatRef({
      transport: 'oci-archive',
      path,
      ...(this.selector.name !== undefined ? { name: this.selector.name } : {}),
      ...(this.selector.index !== undefined ? { index: this.selector.index } : {}),
    });
  }

  nameInArchive(): string | undefined {
    this.refuseShared();
    if (this.imageIndex !== undefined) throw new ImgError('USAGE', `cannot write to ${this.name}: @N selects an image to read; name the image instead`);
    return this.imageName;
  }

  private refuseShared(): void {
    if (this.sharedBlobDir !== undefined)
      throw new ImgError(
        'USAGE',
        `cannot write ${this.archive} with a shared blob directory (${this.sharedBlobDir}): an archive holds its own blobs; the shared blob directory is for oci: layouts`,
      );
  }

  private async reader(): Promise<ArchiveReader> {
    const r = await ArchiveReader.open(this.path);
    if (!r.lookup('oci-layout')) throw new ImgError('MANIFEST_UNKNOWN', `archive ${this.path} is not an OCI archive (no oci-layout entry)`);
    const layout = await r.readEntry('oci-layout', MAX_METADATA_SIZE, 'oci-layout');
    try {
      JSON.parse(layout.toString('utf8'));
    } catch {
      throw new ImgError('MANIFEST_INVALID', `archive ${this.path}: entry "oci-layout" is not JSON`);
    }
    return r;
  }

  private async resolve(r: ArchiveReader): Promise<Descriptor> {
    const bytes = await r.readEntry('index.json', MAX_METADATA_SIZE, 'index.json');
    const index = parseLayoutIndex(bytes, `index.json in ${this.path}`);
    return resolveIndexEntry(index.manifests, { name: this.imageName, index: this.imageIndex }, this.name, 'archive');
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const r = await this.reader();
    const desc = digest === undefined ? await this.resolve(r) : undefined;
    const want = desc?.digest ?? digest!;
    const bytes =
      this.sharedBlobDir !== undefined
        ? await readManifestFile(blobPathIn(this.sharedBlobDir, want))
        : await r.readEntry(blobEntry(want), MAX_MANIFEST_SIZE, `manifest ${want}`);
    if (desc && bytes.length !== desc.size) {
      throw new ImgError('SIZE_MISMATCH', `archive ${this.path}: manifest ${desc.digest} is ${bytes.length} bytes, index.json says ${desc.size}`);
    }
    const { parsed: _p, ...stored } = storedManifest(bytes, `${want} in ${this.path}`, want, desc?.mediaType);
    return stored;
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    if (this.sharedBlobDir !== undefined) return openVerifiedFile(blobPathIn(this.sharedBlobDir, blob.digest), blob);
    const r = await this.reader();
    const e = r.lookup(blobEntry(blob.digest));
    if (!e) throw new ImgError('BLOB_UNKNOWN', `blob ${blob.digest} not found in archive ${this.path}`);
    return r.streamVerified(e, blob);
  }

  /** statBlob is undefined where there is no archive yet (a destination), so that a copy planner sees nothing stored. */
  async statBlob(digest: string): Promise<number | undefined> {
    if (this.sharedBlobDir !== undefined) return fileSize(blobPathIn(this.sharedBlobDir, digest));
    if (!(await archiveExists(this.path))) return undefined;
    return (await this.reader()).lookup(blobEntry(digest))?.size;
  }

  async putBlob(_data: Readable, _expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    throw refuseBlobWrite(this.name, 'write a blob');
  }

  async putManifest(_m: StoredManifest, _opts?: { child?: boolean }): Promise<void> {
    throw refuseBlobWrite(this.name, 'write a manifest');
  }

  /**
   * addImage writes an image into the archive. The layers of a source that holds them uncompressed
   * (UncompressedLayers: docker-archive:, docker-daemon:) are gzip-compressed on the way, as skopeo
   * writes them into an OCI archive: each into an anonymous temp file first (a tar entry needs its
   * size before its data), and the manifest written, and returned, names them as stored.
   */
  async addImage(image: { manifest: StoredManifest; children?: StoredManifest[] }, source: Transport, name?: string): Promise<StoredManifest> {
    this.refuseShared();
    if (this.imageIndex !== undefined) throw new ImgError('USAGE', `cannot write to ${this.name}: @N selects an image to read; name the image instead`);
    this.writer ??= new OciArchiveBuilder(this.path);
    const packed = servesUncompressedLayers(source) ? await compressedLayers(image.manifest, source) : undefined;
    try {
      await this.writer.addImage(packed ? { ...image, manifest: packed.manifest } : image, packed?.source ?? source, name ?? this.imageName);
    } finally {
      await packed?.close();
    }
    return packed?.manifest ?? image.manifest;
  }

  async finish(): Promise<void> {
    this.writer ??= new OciArchiveBuilder(this.path);
    await this.writer.finish();
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}

/**
 * OciArchiveBuilder writes oci-layout first, then each image's blobs and manifests, then index.json,
 * to the file at `path`, or to where `open` says (containers-storage: streams it into podman's load).
 */
export class OciArchiveBuilder {
  private readonly holder: SinkHolder;
  private readonly written = new Set<string>();
  private readonly dirs = new Set<string>();
  private entries: Descriptor[] = [];

  constructor(path: string, open: () => Promise<TarSink> = () => TarSink.open(path)) {
    this.holder = new SinkHolder(async () => {
      const sink = await open();
      await sink.addBuffer('oci-layout', LAYOUT_CONTENT);
      await sink.addDir('blobs');
      return sink;
    });
  }

  async addImage(image: { manifest: StoredManifest; children?: StoredManifest[] }, source: Transport, name?: string): Promise<void> {
    // Everything that can be checked before a byte is written is: a refusal here leaves the archive usable.
    const top = storedManifest(image.manifest.bytes, `${source.name}`, image.manifest.digest, image.manifest.mediaType);
    const given = new Map((image.children ?? []).map((c) => [c.digest, c]));
    const order: ReturnType<typeof storedManifest>[] = [];
    const collect = async (m: ReturnType<typeof storedManifest>, depth: number): Promise<void> => {
      if (m.parsed.kind === 'index') {
        if (depth >= MAX_NESTING) throw new ImgError('MANIFEST_INVALID', `${source.name}: indexes nested more than ${MAX_NESTING} deep`);
        for (const d of m.parsed.manifest.manifests) {
          const c = given.get(d.digest) ?? (await source.getManifest(d.digest));
          await collect(storedManifest(c.bytes, `${source.name}@${d.digest}`, d.digest, d.mediaType), depth + 1);
        }
      }
      order.push(m);
    };
    await collect(top, 0);
    for (const m of order) {
      if (m.parsed.kind === 'image') {
        for (const b of referencedBlobs(m.parsed.manifest)) await this.addBlob(b.digest, b.size, () => sourceBlob(source, b));
      }
      await this.addBlob(m.digest, m.bytes.length, async () => m.bytes);
    }
    const desc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    if (name !== undefined) desc.annotations = { [REF_NAME_ANNOTATION]: name };
    // As oci: does: a name replaces the entry of that name; an unnamed image replaces only itself.
    this.entries = this.entries.filter((d) => {
      const n = d.annotations?.[REF_NAME_ANNOTATION];
      return name !== undefined ? n !== name : !(n === undefined && d.digest === top.digest);
    });
    this.entries.push(desc);
  }

  private async addBlob(digest: string, size: number, open: () => Promise<Readable | Buffer>): Promise<void> {
    if (this.written.has(digest)) return;
    const entry = blobEntry(digest);
    await this.holder.run(async (sink) => {
      const dir = entry.slice(0, entry.lastIndexOf('/'));
      if (!this.dirs.has(dir)) {
        await sink.addDir(dir);
        this.dirs.add(dir);
      }
      const data = await open();
      if (Buffer.isBuffer(data)) await sink.addBuffer(entry, data);
      else await sink.addStream(entry, size, data);
    });
    this.written.add(digest);
  }

  async finish(): Promise<void> {
    await this.holder.run(async (sink) => {
      await sink.addBuffer('index.json', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.entries }));
      await sink.finish();
    });
  }

  abort(): Promise<void> {
    return this.holder.abort();
  }
}
