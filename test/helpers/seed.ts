import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** SeededImage is one tag written by seedRegistry: its repository, tag and manifest digest. */
export interface SeededImage {
  repo: string;
  tag: string;
  digest: string;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** tinyTar is a ustar archive of one file `name` holding `text`. */
function tinyTar(name: string, text: string): Buffer {
  const body = Buffer.from(text);
  const h = Buffer.alloc(512);
  const put = (s: string, off: number) => h.write(s, off, 'ascii');
  const oct = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off);
  put(name, 0);
  oct(0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(body.length, 124, 12);
  oct(0, 136, 12);
  h.fill(' ', 148, 156);
  put('0', 156);
  put('ustar\0', 257);
  put('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512), Buffer.alloc(1024)]);
}

/**
 * seedRegistry writes `tags` tags into each of `repos` straight into a distribution registry's
 * filesystem storage (Registry.storage), as the registry itself lays out pushed images: a few
 * thousand tiny images in a second, where pushing them takes minutes. Each repository has one layer
 * of its own (a tar naming it), each tag an image config of its own, so every tag is a distinct
 * OCI image. Write before the registry is asked about these repositories.
 */
export function seedRegistry(storage: string, repos: string[], tags: string[]): SeededImage[] {
  const v2 = join(storage, 'docker', 'registry', 'v2');
  const blob = (b: Buffer): string => {
    const d = sha256(b);
    const hex = d.slice(7);
    const dir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data'), b);
    return d;
  };
  const link = (path: string[], digest: string) => {
    mkdirSync(join(v2, ...path), { recursive: true });
    writeFileSync(join(v2, ...path, 'link'), digest);
  };
  const out: SeededImage[] = [];
  for (const repo of repos) {
    const r = ['repositories', ...repo.split('/')];
    const layer = tinyTar('etc/origin', `image of ${repo}\n`);
    const layerDigest = blob(layer);
    link([...r, '_layers', 'sha256', layerDigest.slice(7)], layerDigest);
    for (const tag of tags) {
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: { repo, tag } },
          rootfs: { type: 'layers', diff_ids: [layerDigest] },
        }),
      );
      const configDigest = blob(config);
      link([...r, '_layers', 'sha256', configDigest.slice(7)], configDigest);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        }),
      );
      const digest = blob(manifest);
      link([...r, '_manifests', 'revisions', 'sha256', digest.slice(7)], digest);
      link([...r, '_manifests', 'tags', tag, 'current'], digest);
      link([...r, '_manifests', 'tags', tag, 'index', 'sha256', digest.slice(7)], digest);
      out.push({ repo, tag, digest });
    }
  }
  return out;
}
