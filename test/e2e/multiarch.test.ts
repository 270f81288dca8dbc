import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage, sha256 } from '../helpers/fixtures.js';
import { skopeo, must } from '../helpers/images.js';
import { img, records, sh, tempDir } from '../helpers/run.js';

const work = tempDir();
const layout = join(work, 'layout');
let index: Buffer;
const children: { digest: string; arch: string }[] = [];

beforeAll(async () => {
  for (const arch of ['amd64', 'arm64']) {
    const src = join(work, `src-${arch}`);
    const image = writeDirImage(src, { seed: arch });
    const r = await sh(`img-manifest get dir:${src} | jq -c '.dest = "oci:${layout}:${arch}"' | img-blob-put | img-manifest put`);
    expect(r.status, r.stderr).toBe(0);
    children.push({ digest: image.digest, arch });
  }
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((c) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: c.digest,
      size: readFileSync(join(layout, 'blobs', 'sha256', c.digest.slice(7))).length,
      platform: { os: 'linux', architecture: c.arch },
    })),
  };
  index = Buffer.from(JSON.stringify(doc, null, 2));
  const put = await img('img-manifest', ['put', `oci:${layout}:multi`], JSON.stringify({ raw: index.toString() }));
  expect(put.status, put.stderr).toBe(0);
});

describe('an index and its children', () => {
  it('get --all emits every child, with platform and parent, before the index', async () => {
    const r = await img('img-manifest', ['get', '--all', `oci:${layout}:multi`]);
    expect(r.status, r.stderr).toBe(0);
    const recs = records(r.stdout);
    expect(recs.map((x) => x.digest)).toEqual([...children.map((c) => c.digest), sha256(index)]);
    expect(recs[0]).toMatchObject({ parent: sha256(index), platform: { os: 'linux', architecture: 'amd64' } });
    expect(recs[1]).toMatchObject({ parent: sha256(index), platform: { os: 'linux', architecture: 'arm64' } });
    expect(recs[2]!.parent).toBeUndefined();
    expect(recs[2]!.raw).toBe(index.toString());
  });

  it('copies to dir: in skopeo\'s multi-image layout, which skopeo reads and copies on', async () => {
    const dest = join(work, 'dir-copy');
    const r = await sh(`img-manifest get --all oci:${layout}:multi | jq -c '.dest = "dir:${dest}"' | img-blob-put | img-manifest put`);
    expect(r.status, r.stderr).toBe(0);
    const names = readdirSync(dest);
    for (const c of children) expect(names).toContain(`${c.digest.slice(7)}.manifest.json`);
    expect(readFileSync(join(dest, 'manifest.json')).equals(index)).toBe(true);
    const raw = await must(skopeo(['inspect', '--raw', `dir:${dest}`], work), 'skopeo inspect');
    expect(raw.stdoutBytes.equals(index)).toBe(true);
    await must(skopeo(['copy', '--all', `dir:${dest}`, `oci:${join(work, 'sk-out')}:x`], work), 'skopeo copy --all');
    // skopeo compresses the uncompressed layers on the way, so compare with its copy of the original.
    await must(skopeo(['copy', '--all', `oci:${layout}:multi`, `oci:${join(work, 'sk-ref')}:x`], work), 'skopeo copy --all');
    const digests = async (ref: string) => records((await img('img-manifest', ['get', '--all', ref])).stdout).map((x) => x.digest);
    const fromOurs = await digests(`oci:${join(work, 'sk-out')}:x`);
    expect(fromOurs).toHaveLength(3);
    expect(fromOurs).toEqual(await digests(`oci:${join(work, 'sk-ref')}:x`));
  });

  it('an index whose children are not at the destination is refused', async () => {
    const r = await sh(`img-manifest get oci:${layout}:multi | img-manifest put dir:${join(work, 'no-children')}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('references child manifests not stored there');
  });
});
