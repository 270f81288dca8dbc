import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { DigestingStream } from '../../stream/verify.js';
import { cachedPromise } from '../../util/memo.js';
import type { TransportTraits, UncompressedLayers } from '../capabilities.js';
import { regularFileSize } from '../local.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import { convert, privateDir, type Layer } from './convert.js';
import { injectedScript, readSif, sifConfig, sifManifest } from './format.js';

type SifRef = Extract<ImageRef, { transport: 'sif' }>;

/** An image converted from a SIF file: its manifest, its config and its one layer, spooled. */
interface Converted {
  manifest: StoredManifest;
  config: { bytes: Buffer; digest: string };
  layer: Layer;
}

/** The conversions of this process, by the SIF file's identity: every stage of one img-copy reads one. */
const conversions = new Map<string, Promise<Converted>>();

/**
 * SifTransport reads a Singularity/Apptainer image (SIF) as containers/image's sif transport does:
 * the primary system partition (squashfs) becomes one uncompressed layer, through fakeroot,
 * unsquashfs and tar (convert.ts), and the image is an OCI manifest and config made as
 * containers/image makes them (format.ts): the header's architecture, its modification time as
 * "created", Cmd bash or the /podman/runscript made of the definition file's %environment and
 * %runscript. It cannot be written to, as in containers/image.
 *
 * The layer is converted once per process and SIF file and spooled to a temp file, removed at exit;
 * in the stages of a pipeline run by img-copy or img-sync (IMGPIPE_SPOOL_DIR) it is kept there, and a
 * stage in another process reads that copy. Converted twice, a SIF gives the same bytes (tar names
 * sorted, numeric owners, no atime or ctime): unlike skopeo's, whose layer digest changes on every
 * read (docs/decisions.md, 23).
 */
/** Why a SIF cannot be written, as containers/image says it. */
const READ_ONLY = '"sif:" locations can only be read from, not written to';

export class SifTransport implements Transport, UncompressedLayers {
  /** A SIF keeps no signatures that containers/image reads. */
  static readonly traits: TransportTraits = { keepsSignatures: false, readOnly: READ_ONLY };
  readonly name: string;
  /** The layer is a plain tar, which a copy into a registry or oci: compresses, as skopeo does. */
  readonly layersUncompressed = true;
  private readonly path: string;

  constructor(ref: SifRef) {
    this.name = formatRef(ref);
    this.path = ref.path;
  }

  /** load converts the SIF (once per process and file identity) and gives the image. */
  private async load(): Promise<Converted> {
    if ((await regularFileSize(this.path, 'the SIF file')) === undefined)
      throw new ImgError('MANIFEST_UNKNOWN', `there is no SIF file at ${this.path}`, { ref: this.name });
    const real = await fsp.realpath(this.path);
    const st = await fsp.stat(real);
    const key = [real, st.dev, st.ino, st.size, st.mtimeMs].join('\0');
    return cachedPromise(conversions, key, () => this.convertOnce(real, key));
  }

  private async convertOnce(file: string, key: string): Promise<Converted> {
    const img = await readSif(file, this.path);
    const def = img.deffile ? await readRange(file, img.deffile.offset, img.deffile.size) : undefined;
    const { command, script } = injectedScript(def, this.name);
    const shared = process.env.IMGPIPE_SPOOL_DIR;
    const kept = shared ? join(shared, `sif-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`) : undefined;
    let layer = kept !== undefined ? await keptLayer(kept) : undefined;
    if (!layer) {
      const priv = privateDir(shared ?? (process.env.TMPDIR || '/var/tmp'));
      layer = await convert({ file, offset: img.rootfs.offset, mtime: img.modifiedAt, what: this.name, ...(script ? { script } : {}) }, priv);
      if (kept !== undefined) {
        // Complete: under its name for the stages after this one (the pipeline removes the directory).
        await fsp.rename(layer.path, `${kept}.tar`);
        layer = { ...layer, path: `${kept}.tar` };
        const meta = `${kept}.json.${process.pid}`;
        await fsp.writeFile(meta, JSON.stringify({ digest: layer.digest, size: layer.size }));
        await fsp.rename(meta, `${kept}.json`);
      }
    }
    const configBytes = sifConfig(img, command, layer.digest, this.name);
    const config = { bytes: configBytes, digest: digestOf(configBytes) };
    const bytes = sifManifest({ digest: config.digest, size: configBytes.length }, layer);
    return { manifest: { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(bytes) }, config, layer };
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const c = await this.load();
    if (digest !== undefined && digest !== c.manifest.digest) {
      throw new ImgError(
        'MANIFEST_UNKNOWN',
        `${this.name} has no manifest ${digest}: a SIF file holds one image (no index), whose manifest is ${c.manifest.digest}`,
        { ref: this.name },
      );
    }
    return c.manifest;
  }

  async getBlob(blob: { digest: string; size?: number }): Promise<Readable> {
    const c = await this.load();
    const expected = { digest: blob.digest, ...(blob.size !== undefined ? { size: blob.size } : {}) };
    if (blob.digest === c.config.digest) return Readable.from([c.config.bytes]).pipe(new DigestingStream(expected, `config ${blob.digest} of ${this.name}`));
    if (blob.digest !== c.layer.digest) throw new ImgError('BLOB_UNKNOWN', `blob ${blob.digest} not found in ${this.name}`, { ref: this.name });
    const check = new DigestingStream({ digest: blob.digest, size: blob.size ?? c.layer.size }, `layer ${blob.digest} of ${this.name}`);
    const src = createReadStream(c.layer.path);
    src.on('error', (e) => check.destroy(e));
    return src.pipe(check);
  }

  /** statBlob is undefined where there is no SIF file (so a copy planner sees nothing there). */
  async statBlob(digest: string): Promise<number | undefined> {
    if ((await regularFileSize(this.path, 'the SIF file')) === undefined) return undefined;
    const c = await this.load();
    if (digest === c.config.digest) return c.config.bytes.length;
    return digest === c.layer.digest ? c.layer.size : undefined;
  }

  async putBlob(_data: Readable, _expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    throw this.readOnly('write a blob');
  }

  async putManifest(_m: StoredManifest, _opts?: { child?: boolean }): Promise<void> {
    throw this.readOnly('write a manifest');
  }

  private readOnly(what: string): ImgError {
    return new ImgError('UNSUPPORTED', `cannot ${what} to ${this.name}: ${READ_ONLY}`, { ref: this.name });
  }
}

/** readRange reads `size` bytes at `offset` of `file`. */
async function readRange(file: string, offset: number, size: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** keptLayer is the layer another stage of the pipeline converted and kept at `kept`.tar, or undefined. */
async function keptLayer(kept: string): Promise<Layer | undefined> {
  try {
    const meta = JSON.parse(await fsp.readFile(`${kept}.json`, 'utf8')) as { digest?: unknown; size?: unknown };
    const st = await fsp.stat(`${kept}.tar`);
    if (typeof meta.digest !== 'string' || meta.size !== st.size) return undefined;
    return { path: `${kept}.tar`, digest: meta.digest, size: st.size };
  } catch {
    return undefined;
  }
}
