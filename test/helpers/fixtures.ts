import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** tarOf is a tar archive holding one file `name` (a layer an engine can apply), made by hand: one ustar header, the data, the end blocks. */
export function tarOf(name: string, data: Buffer | string): Buffer {
  const body = Buffer.from(data);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512), Buffer.alloc(1024)]);
}

export interface DirImage {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  layer: Buffer;
}

/**
 * writeDirImage writes a minimal image in skopeo's dir: format by hand (not with imgpipe), with a
 * manifest that callers may replace to make bad inputs.
 */
export function writeDirImage(dir: string, opts: { seed?: string; manifest?: (m: any) => any; raw?: Buffer } = {}): DirImage {
  mkdirSync(dir, { recursive: true });
  const seed = opts.seed ?? 'x';
  const layer = Buffer.from(`layer bytes of ${seed}\n`.repeat(100));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  let m: any = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  };
  if (opts.manifest) m = opts.manifest(m);
  const manifest = opts.raw ?? Buffer.from(JSON.stringify(m));
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  writeFileSync(join(dir, sha256(layer).slice(7)), layer);
  writeFileSync(join(dir, sha256(config).slice(7)), config);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  return { manifest, digest: sha256(manifest), config, layer };
}
