import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';

/**
 * A conversion writes maps as Go writes them (keys sorted bytewise, <>& escaped): labels and ports
 * whose keys JavaScript would reorder ("9", "10") give the same config and manifest bytes as
 * skopeo's --format conversion.
 */
describe('conversion output byte for byte with skopeo, maps in Go order', () => {
  let sb: Sandbox;
  let work: string;
  beforeAll(() => {
    work = tempDir();
    sb = sandbox(work);
  });

  /** writeDockerImage writes a Docker schema 2 image into a dir: by hand. */
  function writeDockerImage(dir: string, annotations?: Record<string, string>) {
    mkdirSync(dir, { recursive: true });
    const layer = Buffer.from('a layer\n'.repeat(50));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-05-06T07:08:09.5Z',
        config: { Labels: { zeta: 'z', '10': 'ten', '9': 'nine', 'a&b': '<c>' }, ExposedPorts: { '8080/tcp': {}, '443/tcp': {}, '10/udp': {} }, Env: ['A=1'] },
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
        ...(annotations ? { annotations } : {}),
      }),
    );
    writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
    for (const b of [layer, config]) writeFileSync(join(dir, sha256(b).slice(7)), b);
    writeFileSync(join(dir, 'manifest.json'), manifest);
  }

  it('Docker → OCI: the rewritten config and the manifest equal skopeo copy --format oci', async () => {
    writeDockerImage(join(work, 'src'));
    await sb.sk(['copy', '--format', 'oci', `dir:${join(work, 'src')}`, `dir:${join(work, 'skopeo')}`]);
    const r = await sb.img('img-copy', ['--format', 'oci', `dir:${join(work, 'src')}`, `dir:${join(work, 'ours')}`]);
    expect(r.status, r.stderr).toBe(0);
    const theirs = readFileSync(join(work, 'skopeo', 'manifest.json'));
    const ours = readFileSync(join(work, 'ours', 'manifest.json'));
    const config = JSON.parse(theirs.toString()).config.digest.slice(7);
    expect(readFileSync(join(work, 'ours', config)).toString()).toBe(readFileSync(join(work, 'skopeo', config)).toString());
    expect(ours.toString()).toBe(theirs.toString());
  });
});
