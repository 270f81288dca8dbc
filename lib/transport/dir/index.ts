import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest } from '../../oci/digest.js';
import { parseManifest, referencedBlobs, type ParsedManifest } from '../../oci/manifest.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { fileSize, removeStaleTemps, writeFileAtomic } from '../../util/fs.js';
import { openVerifiedFile, prepareImageDir, readManifestFile, refuseMissing, storedManifest, writeVerifiedBlob } from '../local.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import {
  MAX_SIGNATURE_SIZE,
  type FormattedSignatureStore,
  type ImageLister,
  type ListedImage,
  type SignatureStore,
  type TransportTraits,
} from '../capabilities.js';
import { signatureBlob, signatureFromBlob, type FormattedSignature } from '../signature-blob.js';
import { ImgError } from '../../errors.js';

/** The version file skopeo writes and checks before it overwrites a directory. */
export const DIR_VERSION = 'Directory Transport Version: 1.1\n';
const KNOWN_VERSIONS = new Set([DIR_VERSION, 'Directory Transport Version: 1.0\n']);
const BLOB_NAME = /^(?:[a-f0-9]{64}|[a-f0-9]{128})$/;
const CHILD_MANIFEST_NAME = /^([a-f0-9]{64}|[a-f0-9]{128})\.manifest\.json$/;
const SIGNATURE_NAME = /^(?:([a-f0-9]{64}|[a-f0-9]{128})\.)?signature-[0-9]+$/;
/** The most directories walked when looking for images, so a wrong path cannot walk a whole disk. */
const MAX_WALK = 100_000;

/**
 * DirTransport is skopeo's directory format, byte-compatible: `version`, `manifest.json`, blobs
 * named by bare hex digest, children of an index as `HEX.manifest.json`, signatures of both kinds
 * as `signature-N` in containers/image's stored form. A directory holds one image: writing a new top-level manifest replaces the old
 * image, and files of the old one are removed only after the new manifest.json has landed.
 */
export class DirTransport implements Transport, SignatureStore, FormattedSignatureStore, ImageLister {
  static readonly traits: TransportTraits = { keepsSignatures: true, sigstore: 'files' };
  readonly name: string;
  /** Image directories have no tags to filter. */
  readonly tagFilters = false;
  private readonly path: string;
  private prepared?: Promise<void>;

  constructor(ref: Extract<ImageRef, { transport: 'dir' }>) {
    this.name = formatRef(ref);
    this.path = ref.path;
  }

  private blobPath(digest: string): string {
    return join(this.path, parseDigest(digest).hex);
  }

  private manifestPath(digest?: string): string {
    return join(this.path, digest === undefined ? 'manifest.json' : `${parseDigest(digest).hex}.manifest.json`);
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    // A digest names a child of an index (HEX.manifest.json) or the top-level manifest itself.
    const path = this.manifestPath(digest);
    if (digest !== undefined && (await fileSize(path)) === undefined) {
      const top = await this.getManifest().catch(() => undefined);
      if (top?.digest === digest) return top;
    }
    const { parsed: _parsed, ...stored } = storedManifest(await readManifestFile(path), path, digest);
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
    return writeVerifiedBlob(data, expected, this.path, (d) => this.blobPath(d));
  }

  async putManifest(m: StoredManifest, opts: { child?: boolean } = {}): Promise<void> {
    const parsed = storedManifest(m.bytes, m.digest, m.digest, m.mediaType).parsed;
    await refuseMissing(parsed, (d) => this.has(d, parsed.kind === 'index'));
    await this.prepare();
    if (opts.child) {
      await writeFileAtomic(this.manifestPath(m.digest), m.bytes);
      return;
    }
    const old = await this.getManifest().catch(() => undefined);
    await writeFileAtomic(this.manifestPath(), m.bytes);
    await this.removeUnreferenced(parsed, old?.digest !== m.digest);
  }

  /** signaturePath is `signature-N` for the image, `HEX.signature-N` for a child of an index (containers/image's naming). */
  private signaturePath(n: number, digest: string, child: boolean): string {
    const hex = parseDigest(digest).hex;
    return join(this.path, child ? `${hex}.signature-${n}` : `signature-${n}`);
  }

  /** getSignatures reads the simple signatures of the manifest `digest` (sigstore ones are left out: getSignaturesWithFormat has all). */
  async getSignatures(digest: string, opts: { child?: boolean } = {}): Promise<Buffer[]> {
    return (await this.getSignaturesWithFormat(digest, opts)).flatMap((s) => (s.format === 'simple-signing' ? [s.blob] : []));
  }

  /** getSignaturesWithFormat reads `signature-1`… in order, each in containers/image's stored form (a file of an unknown format is an error naming it). */
  async getSignaturesWithFormat(digest: string, opts: { child?: boolean } = {}): Promise<FormattedSignature[]> {
    const out: FormattedSignature[] = [];
    for (let n = 1; ; n++) {
      const path = this.signaturePath(n, digest, opts.child === true);
      const size = await fileSize(path);
      if (size === undefined) return out;
      if (size > MAX_SIGNATURE_SIZE) throw new ImgError('TOO_LARGE', `signature ${path} is ${size} bytes, over the ${MAX_SIGNATURE_SIZE}-byte limit`);
      out.push(signatureFromBlob(await fsp.readFile(path), path));
    }
  }

  /** putSignatures writes simple signatures as `signature-1`… (replacing every signature there, sigstore ones too); the manifest must be stored already. */
  async putSignatures(digest: string, signatures: Uint8Array[], opts: { child?: boolean } = {}): Promise<void> {
    await this.putSignaturesWithFormat(
      digest,
      signatures.map((s) => ({ format: 'simple-signing', blob: Buffer.from(s) })),
      opts,
    );
  }

  /** putSignaturesWithFormat writes `signature-1`… (each atomically, in containers/image's stored form) and removes the numbers above them; the manifest must be stored already. */
  async putSignaturesWithFormat(digest: string, signatures: FormattedSignature[], opts: { child?: boolean } = {}): Promise<void> {
    const child = opts.child === true;
    const stored = await this.getManifest(child ? digest : undefined);
    if (stored.digest !== digest)
      throw new ImgError('DIGEST_MISMATCH', `${this.name} holds manifest ${stored.digest}, not ${digest}: its signatures are not written`);
    for (const [i, sig] of signatures.entries()) await writeFileAtomic(this.signaturePath(i + 1, digest, child), signatureBlob(sig));
    for (let n = signatures.length + 1; ; n++) {
      const path = this.signaturePath(n, digest, child);
      if ((await fileSize(path)) === undefined) return;
      await fsp.rm(path, { force: true });
    }
  }

  /**
   * listImages lists every directory below the path that holds a manifest.json (dir:PATH/SUB, the
   * path itself when it holds one), in byte order of names as Go's filepath.WalkDir walks, as skopeo
   * sync finds a dir: source's images; each keeps the path as its base for --scoped names.
   */
  async listImages(): Promise<ListedImage[]> {
    const out: ListedImage[] = [];
    let walked = 0;
    const walk = async (dir: string): Promise<void> => {
      if (++walked > MAX_WALK) throw new ImgError('TOO_LARGE', `${this.name}: more than ${MAX_WALK} directories below it`);
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        throw new ImgError('IO', `reading ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
      }
      if (entries.some((e) => e.isFile() && e.name === 'manifest.json')) {
        const rel = relative(this.path, dir);
        out.push({ ref: formatRef({ transport: 'dir', path: rel === '' ? this.path : join(this.path, rel) }), base: this.path });
        return;
      }
      for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) await walk(join(dir, e.name));
    };
    await walk(this.path);
    return out;
  }

  private async has(digest: string, asManifest: boolean): Promise<boolean> {
    return (await fileSize(asManifest ? this.manifestPath(digest) : this.blobPath(digest))) !== undefined;
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const versionFile = join(this.path, 'version');
      await prepareImageDir(this.path, () => isDirImage(this.path), 'an image directory (no skopeo version file)');
      await removeStaleTemps(this.path);
      if ((await fsp.readFile(versionFile, 'utf8').catch(() => '')) !== DIR_VERSION) await writeFileAtomic(versionFile, DIR_VERSION);
    })();
    return this.prepared;
  }

  /** removeUnreferenced deletes blobs, child manifests and (when the image changed) signatures of a replaced image. */
  private async removeUnreferenced(top: ParsedManifest, imageChanged: boolean): Promise<void> {
    const keep = new Set<string>();
    const keepImage = (p: ParsedManifest) => {
      if (p.kind === 'image') for (const d of referencedBlobs(p.manifest)) keep.add(parseDigest(d.digest).hex);
    };
    keepImage(top);
    if (top.kind === 'index') {
      for (const child of top.manifest.manifests) {
        const hex = parseDigest(child.digest).hex;
        keep.add(`${hex}.manifest.json`);
        try {
          keepImage(parseManifest(await fsp.readFile(this.manifestPath(child.digest)), `${this.name}@${child.digest}`, child.mediaType));
        } catch {
          // A child that is not an image manifest (a nested index, an artifact) keeps only itself.
        }
      }
    }
    for (const name of await fsp.readdir(this.path)) {
      const sig = SIGNATURE_NAME.exec(name);
      const stale =
        (BLOB_NAME.test(name) && !keep.has(name)) ||
        (CHILD_MANIFEST_NAME.test(name) && !keep.has(name)) ||
        (sig !== null && (imageChanged || (sig[1] !== undefined && !keep.has(`${sig[1]}.manifest.json`))));
      if (stale) await fsp.rm(join(this.path, name), { force: true });
    }
  }
}

/** isDirImage says whether path looks like a skopeo image directory. */
export async function isDirImage(path: string): Promise<boolean> {
  return KNOWN_VERSIONS.has(await fsp.readFile(join(path, 'version'), 'utf8').catch(() => ''));
}
