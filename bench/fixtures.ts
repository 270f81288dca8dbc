// Bench fixtures: random uncompressed tar layers written straight into one OCI image layout, so
// one push (skopeo copy oci:… docker://…) puts them in a registry. Not imgpipe code: by hand.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
}

export const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const MIB = 1 << 20;

/** tarHeader makes the 512-byte ustar header of one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'ascii');
  const oct = (n: number, off: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', off, len);
  put(name, 0, 100);
  oct(0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(0, 136, 12);
  h.fill(' ', 148, 156);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** Layout writes blobs and an index.json of tagged images into an OCI image layout at `dir`. */
export class Layout {
  private readonly manifests: (Blob & { annotations: Record<string, string> })[] = [];

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  }

  /** randomLayer writes a tar holding one file of `bytes` random bytes, hashing as it writes. */
  randomLayer(name: string, bytes: number): Blob {
    const tmp = join(this.dir, 'blobs', `.tmp-${name}`);
    const fd = openSync(tmp, 'w');
    const hash = createHash('sha256');
    const out = (b: Buffer) => {
      hash.update(b);
      writeSync(fd, b);
    };
    out(tarHeader(name, bytes));
    const chunk = Buffer.allocUnsafe(4 * MIB);
    for (let left = bytes; left > 0; left -= chunk.length) out(randomFillSync(chunk).subarray(0, Math.min(left, chunk.length)));
    const pad = (512 - (bytes % 512)) % 512;
    out(Buffer.alloc(pad + 1024));
    closeSync(fd);
    const digest = `sha256:${hash.digest('hex')}`;
    renameSync(tmp, join(this.dir, 'blobs', 'sha256', digest.slice(7)));
    return { mediaType: LAYER_TYPE, digest, size: 512 + bytes + pad + 1024 };
  }

  private json(mediaType: string, value: unknown): Blob {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** image writes the config and manifest of an image of `layers` and tags it `tag`. */
  image(tag: string, layers: Blob[]): Blob {
    // Uncompressed layers: each diff ID is the layer digest.
    const config = this.json('application/vnd.oci.image.config.v1+json', {
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'bench.tag': tag } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    });
    const manifest = this.json('application/vnd.oci.image.manifest.v1+json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers,
    });
    this.manifests.push({ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
    this.flush();
    return manifest;
  }

  private flush(): void {
    writeFileSync(
      join(this.dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: this.manifests }),
    );
  }
}
