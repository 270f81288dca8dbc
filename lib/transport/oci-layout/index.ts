import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediatype.js';
import { validateManifest, type Descriptor, type ImageIndex } from '../../oci/manifest.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { fileSize, pathExists, removeStaleTemps, writeFileAtomic } from '../../util/fs.js';
import { withLock } from '../../util/lock.js';
import { openVerifiedFile, prepareImageDir, readManifestFile, refuseMissing, storedManifest, writeVerifiedBlob } from '../local.js';
import type { BlobScope, ImageLister, ListedImage, ManifestDeleter, SingleFormat, TransportTraits, WantsCompressedLayers } from '../capabilities.js';
import { blobsOf, unusedAfterDelete } from './delete.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const LAYOUT_FILE = 'oci-layout';
const LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';
const LOCK_FILE = '.imgpipe-index.lock';

/** parseLayoutIndex parses an OCI layout's index.json (`what` names it in errors). Shared with oci-archive:. */
export function parseLayoutIndex(bytes: Buffer, what: string): ImageIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `${what} is not JSON: ${(e as Error).message}`);
  }
  return validateManifest(doc, what, MediaType.ociIndex).manifest as ImageIndex;
}

/**
 * resolveIndexEntry finds the index.json entry an oci: or oci-archive: reference names: entry N for
 * `@N`, the one entry with that ref.name for NAME, the only entry for neither. `ref` is the
 * reference and `holder` ("layout", "archive") what holds the images, for messages.
 */
export function resolveIndexEntry(
  entries: Descriptor[],
  sel: { name?: string | undefined; index?: number | undefined },
  ref: string,
  holder: string,
): Descriptor {
  if (sel.index !== undefined) {
    const d = entries[sel.index];
    if (!d) throw new ImgError('MANIFEST_UNKNOWN', `no image @${sel.index}: the ${holder} holds ${entries.length}`);
    return d;
  }
  if (sel.name !== undefined) {
    const found = entries.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === sel.name);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw new ImgError('NAME_AMBIGUOUS', `${found.length} images are named "${sel.name}"`);
    const names = entries.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
    throw new ImgError('MANIFEST_UNKNOWN', `no image named "${sel.name}" (names here: ${names.length ? names.join(', ') : 'none'})`);
  }
  if (entries.length === 1) return entries[0]!;
  if (entries.length === 0) throw new ImgError('MANIFEST_UNKNOWN', `the ${holder} holds no images`);
  throw new ImgError('NAME_AMBIGUOUS', `the ${holder} holds ${entries.length} images: name one as ${ref}:NAME or pick one as ${ref}:@N`);
}

/** What opens an oci: layout besides its reference (TransportOptions' part for oci:). */
export interface OciLayoutOptions {
  /**
   * --shared-blob-dir DIR: the blobs (manifests included) of the layout are read from and written
   * to DIR/ALG/HEX instead of the layout's blobs/, as containers/image's OCISharedBlobDirPath;
   * index.json and oci-layout stay in the layout, whose blobs/ is then left empty.
   */
  sharedBlobDir?: string;
}

/** blobPathIn is where a blob is in a blob directory (a layout's blobs/, or a shared one): DIR/ALG/HEX. */
export function blobPathIn(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, algorithm, hex);
}

/**
 * OciLayoutTransport is an OCI image layout: `oci-layout`, `index.json`, `blobs/ALG/HEX`. Images
 * are named by the org.opencontainers.image.ref.name annotation of their index.json entry. Writers
 * update index.json under a lock with an atomic rewrite, so concurrent writers all keep their names.
 * With a shared blob directory (OciLayoutOptions) the blobs live there instead, shared by every
 * layout opened with it: written there as verified temp files renamed into place, so concurrent
 * writers of one blob each rename a whole, checked file over the other.
 */
export class OciLayoutTransport implements Transport, SingleFormat, BlobScope, ImageLister, ManifestDeleter, WantsCompressedLayers {
  static readonly traits: TransportTraits = { keepsSignatures: false };
  readonly name: string;
  /** Every image of a layout shares its blobs; every layout of a shared blob directory shares that directory's. */
  readonly blobScope: string;
  /** Images are filtered by the tag part of their names. */
  readonly tagFilters = true;
  /** Layers are stored compressed, as skopeo stores them in a layout: an uncompressed one from any source is compressed (CompressesEveryLayer). */
  readonly wantsCompressedLayers = true;
  readonly compressesEveryLayer = true;
  /** A layout holds OCI manifests: Docker ones are converted on the way in (as skopeo 1.9 does). */
  readonly manifestFormat = 'oci';
  private readonly path: string;
  private readonly imageName?: string;
  private readonly imageIndex?: number;
  /** Where the blobs are: the layout's blobs/, or the shared blob directory. */
  private readonly blobDir: string;
  private readonly shared: boolean;
  private prepared?: Promise<void>;

  constructor(ref: Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>, opts: OciLayoutOptions = {}) {
    this.name = formatRef(ref);
    this.path = ref.path;
    const shared = opts.sharedBlobDir || undefined;
    this.shared = shared !== undefined;
    this.blobDir = shared ?? join(ref.path, 'blobs');
    this.blobScope = shared !== undefined ? `shared blob directory ${resolve(shared)}` : formatRef({ transport: 'oci', path: ref.path });
    if (ref.name !== undefined) this.imageName = ref.name;
    if (ref.index !== undefined) this.imageIndex = ref.index;
  }

  /**
   * listImages lists the images of a sync source: for oci:PATH every named image of the layout
   * (unnamed entries are left out, as skopeo sync leaves them out: they have no name to sync under);
   * oci:PATH:NAME and oci:PATH:@N are the one image they name (@N has no tag: it passes every filter).
   */
  async listImages(): Promise<ListedImage[]> {
    const tagOf = (name: string) => name.slice(name.lastIndexOf(':') + 1);
    if (this.imageName !== undefined) return [{ ref: this.name, tag: tagOf(this.imageName) }];
    if (this.imageIndex !== undefined) return [{ ref: this.name }];
    const out: ListedImage[] = [];
    for (const d of (await this.readIndex()).manifests) {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      if (name) out.push({ ref: formatRef({ transport: 'oci', path: this.path, name }), tag: tagOf(name) });
    }
    return out;
  }

  private blobPath(digest: string): string {
    return blobPathIn(this.blobDir, digest);
  }

  /** readIndex reads index.json; a layout without one is not an image layout. */
  async readIndex(): Promise<ImageIndex> {
    if (!(await pathExists(join(this.path, LAYOUT_FILE)))) {
      throw new ImgError('MANIFEST_UNKNOWN', `${this.path} is not an OCI image layout (no ${LAYOUT_FILE} file)`);
    }
    return parseLayoutIndex(await readManifestFile(join(this.path, 'index.json')), join(this.path, 'index.json'));
  }

  /** resolve finds the index.json entry the reference names. */
  private async resolve(): Promise<Descriptor> {
    return resolveIndexEntry((await this.readIndex()).manifests, { name: this.imageName, index: this.imageIndex }, this.name, 'layout');
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const desc = digest === undefined ? await this.resolve() : undefined;
    const want = desc?.digest ?? digest!;
    const bytes = await readManifestFile(this.blobPath(want)).catch(async (e: unknown) => {
      throw (await this.emptyBlobs(e)) ?? e;
    });
    if (desc && bytes.length !== desc.size) {
      throw new ImgError('SIZE_MISMATCH', `manifest ${desc.digest} is ${bytes.length} bytes, index.json says ${desc.size}`);
    }
    const { parsed: _p, ...stored } = storedManifest(bytes, want, want, desc?.mediaType);
    return stored;
  }

  /**
   * emptyBlobs says why a manifest is missing from a layout whose blobs/ is empty, as one written
   * with a shared blob directory is (containers/image's words are only "no such file"): the error
   * `e` with that said, or undefined.
   */
  private async emptyBlobs(e: unknown): Promise<ImgError | undefined> {
    if (this.shared || !(e instanceof ImgError) || e.code !== 'MANIFEST_UNKNOWN') return undefined;
    const held = await fsp.readdir(this.blobDir).catch(() => undefined);
    if (held === undefined || held.length > 0) return undefined;
    return new ImgError(
      'MANIFEST_UNKNOWN',
      `${e.message} (${this.blobDir} is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir DIR)`,
    );
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    return openVerifiedFile(this.blobPath(blob.digest), blob);
  }

  async statBlob(digest: string): Promise<number | undefined> {
    return fileSize(this.blobPath(digest));
  }

  async putBlob(data: Readable, expected: { digest?: string; size?: number } = {}): Promise<BlobInfo> {
    await this.prepare();
    if (expected.digest !== undefined) await fsp.mkdir(join(this.blobDir, parseDigest(expected.digest).algorithm), { recursive: true });
    // The temp file is made where the blob goes (the layout, or the shared directory): a rename, never a copy across file systems.
    return writeVerifiedBlob(data, expected, this.shared ? this.blobDir : this.path, (d) => this.blobPath(d));
  }

  async putManifest(m: StoredManifest, opts: { child?: boolean } = {}): Promise<void> {
    if (!opts.child && this.imageIndex !== undefined)
      throw new ImgError('USAGE', `cannot write to ${this.name}: @N selects an image to read; name the image instead`);
    const parsed = storedManifest(m.bytes, m.digest, m.digest, m.mediaType).parsed;
    await refuseMissing(parsed, async (d) => (await this.statBlob(d)) !== undefined);
    await this.prepare();
    const path = this.blobPath(m.digest);
    await fsp.mkdir(join(path, '..'), { recursive: true });
    if ((await fileSize(path)) !== m.bytes.length) await writeFileAtomic(path, m.bytes);
    if (opts.child) return;
    const desc: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    if (this.imageName !== undefined) desc.annotations = { [REF_NAME_ANNOTATION]: this.imageName };
    await withLock(join(this.path, LOCK_FILE), async () => {
      // A delete since the blobs were checked may have removed one this image shares with the image it
      // deleted: checked again under the lock, with everything below an index, before the name is given.
      const needed = await blobsOf(desc, (d) => this.readManifestIfAny(d), new Set(), this.name);
      const missing: string[] = [];
      for (const d of needed) if ((await this.statBlob(d)) === undefined) missing.push(d);
      if (missing.length > 0)
        throw new ImgError(
          'MANIFEST_BLOB_UNKNOWN',
          `the manifest references blobs not stored there (deleted meanwhile?): ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`,
        );
      const index = await this.readIndex();
      const kept = index.manifests.filter((d) => {
        const name = d.annotations?.[REF_NAME_ANNOTATION];
        return this.imageName !== undefined ? name !== this.imageName : !(name === undefined && d.digest === m.digest);
      });
      const next: ImageIndex = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...kept, desc] };
      await writeFileAtomic(join(this.path, 'index.json'), JSON.stringify(next));
    });
  }

  /**
   * deleteManifest removes the image the reference names from the layout, as containers/image's
   * DeleteImage does: its index.json entry, then every blob it used that no other entry uses (nested
   * indexes followed). Unlike containers/image, index.json is rewritten first (atomically, under
   * the lock every writer takes), so that no entry ever names a deleted blob, and a blob another
   * image needs is never deleted; blobs are deleted from the layout's own blobs/ only, never from a
   * shared blob directory, whose other users cannot be seen.
   */
  async deleteManifest(): Promise<string> {
    await this.readIndex(); // a path that is no layout says so (and gets no lock file)
    return withLock(join(this.path, LOCK_FILE), async () => {
      const index = await this.readIndex();
      const desc = resolveIndexEntry(index.manifests, { name: this.imageName, index: this.imageIndex }, this.name, 'layout');
      // Its manifest is not there and blobs/ is empty: a layout whose blobs are in a shared blob
      // directory, deleted without it. Refused with the hint inspect and copy give (containers/image
      // fails there too), rather than delete the entry without knowing what it uses.
      if ((await this.readManifestIfAny(desc.digest)) === undefined) {
        const hint = await this.emptyBlobs(new ImgError('MANIFEST_UNKNOWN', `no manifest at ${this.blobPath(desc.digest)}`));
        if (hint) throw hint;
      }
      const at = index.manifests.indexOf(desc);
      const entries = index.manifests;
      const name = (i: number) => {
        const n = entries[i]!.annotations?.[REF_NAME_ANNOTATION];
        return formatRef(n === undefined ? { transport: 'oci', path: this.path, index: i } : { transport: 'oci', path: this.path, name: n });
      };
      const unused = await unusedAfterDelete(entries, at, (d) => this.readManifestIfAny(d), name);
      const next: ImageIndex = { ...index, manifests: entries.filter((_, i) => i !== at) };
      await writeFileAtomic(join(this.path, 'index.json'), JSON.stringify(next));
      for (const d of unused) {
        const { algorithm, hex } = parseDigest(d);
        await fsp.rm(join(this.path, 'blobs', algorithm, hex), { force: true });
      }
      return desc.digest;
    });
  }

  /** readManifestIfAny reads a manifest blob (capped), or undefined when there is none. */
  private async readManifestIfAny(digest: string): Promise<Buffer | undefined> {
    if ((await this.statBlob(digest)) === undefined) return undefined;
    return readManifestFile(this.blobPath(digest));
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await prepareImageDir(this.path, () => pathExists(join(this.path, LAYOUT_FILE)), 'an OCI image layout (no oci-layout file)');
      if (!(await pathExists(join(this.path, LAYOUT_FILE)))) await writeFileAtomic(join(this.path, LAYOUT_FILE), LAYOUT_CONTENT);
      await removeStaleTemps(this.path);
      // The layout MUST have blobs/ (empty when the blobs are shared, as containers/image leaves it).
      await fsp.mkdir(join(this.path, 'blobs'), { recursive: true });
      await fsp.mkdir(join(this.blobDir, 'sha256'), { recursive: true });
      if (this.shared) await removeStaleTemps(this.blobDir);
      await withLock(join(this.path, LOCK_FILE), async () => {
        if (!(await pathExists(join(this.path, 'index.json')))) {
          await writeFileAtomic(join(this.path, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
        }
      });
    })();
    return this.prepared;
  }
}
