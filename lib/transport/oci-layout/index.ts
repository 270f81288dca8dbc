import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { MediaType } from '../../oci/mediatype.js';
import { validateManifest, type Descriptor, type ImageIndex } from '../../oci/manifest.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { fileSize, pathExists, removeStaleTemps, writeFileAtomic } from '../../util/fs.js';
import { withLock } from '../../util/lock.js';
import { openVerifiedFile, prepareImageDir, readManifestFile, refuseMissing, storedManifest, writeVerifiedBlob } from '../local.js';
import type { BlobScope, ImageLister, ListedImage, SingleFormat, TransportTraits, WantsCompressedLayers } from '../capabilities.js';
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

/**
 * OciLayoutTransport is an OCI image layout: `oci-layout`, `index.json`, `blobs/ALG/HEX`. Images
 * are named by the org.opencontainers.image.ref.name annotation of their index.json entry. Writers
 * update index.json under a lock with an atomic rewrite, so concurrent writers all keep their names.
 */
export class OciLayoutTransport implements Transport, SingleFormat, BlobScope, ImageLister, WantsCompressedLayers {
  static readonly traits: TransportTraits = { keepsSignatures: false };
  readonly name: string;
  /** Every image of a layout shares its blobs. */
  readonly blobScope: string;
  /** Images are filtered by the tag part of their names. */
  readonly tagFilters = true;
  /** Layers are stored compressed, as skopeo stores them in a layout. */
  readonly wantsCompressedLayers = true;
  /** A layout holds OCI manifests: Docker ones are converted on the way in (as skopeo 1.9 does). */
  readonly manifestFormat = 'oci';
  private readonly path: string;
  private readonly imageName?: string;
  private readonly imageIndex?: number;
  private prepared?: Promise<void>;

  constructor(ref: Extract<ImageRef, { transport: 'oci' | 'oci-archive' }>) {
    this.name = formatRef(ref);
    this.path = ref.path;
    this.blobScope = formatRef({ transport: 'oci', path: ref.path });
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
    const { algorithm, hex } = parseDigest(digest);
    return join(this.path, 'blobs', algorithm, hex);
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
    const bytes = await readManifestFile(this.blobPath(want));
    if (desc && bytes.length !== desc.size) {
      throw new ImgError('SIZE_MISMATCH', `manifest ${desc.digest} is ${bytes.length} bytes, index.json says ${desc.size}`);
    }
    const { parsed: _p, ...stored } = storedManifest(bytes, want, want, desc?.mediaType);
    return stored;
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    return openVerifiedFile(this.blobPath(blob.digest), blob);
  }

  async statBlob(digest: string): Promise<number | undefined> {
    return fileSize(this.blobPath(digest));
  }

  async putBlob(data: Readable, expected: { digest?: string; size?: number } = {}): Promise<BlobInfo> {
    await this.prepare();
    if (expected.digest !== undefined) await fsp.mkdir(join(this.path, 'blobs', parseDigest(expected.digest).algorithm), { recursive: true });
    return writeVerifiedBlob(data, expected, this.path, (d) => this.blobPath(d));
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
      const index = await this.readIndex();
      const kept = index.manifests.filter((d) => {
        const name = d.annotations?.[REF_NAME_ANNOTATION];
        return this.imageName !== undefined ? name !== this.imageName : !(name === undefined && d.digest === m.digest);
      });
      const next: ImageIndex = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...kept, desc] };
      await writeFileAtomic(join(this.path, 'index.json'), JSON.stringify(next));
    });
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await prepareImageDir(this.path, () => pathExists(join(this.path, LAYOUT_FILE)), 'an OCI image layout (no oci-layout file)');
      if (!(await pathExists(join(this.path, LAYOUT_FILE)))) await writeFileAtomic(join(this.path, LAYOUT_FILE), LAYOUT_CONTENT);
      await removeStaleTemps(this.path);
      await fsp.mkdir(join(this.path, 'blobs', 'sha256'), { recursive: true });
      await withLock(join(this.path, LOCK_FILE), async () => {
        if (!(await pathExists(join(this.path, 'index.json')))) {
          await writeFileAtomic(join(this.path, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
        }
      });
    })();
    return this.prepared;
  }
}
