import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

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
