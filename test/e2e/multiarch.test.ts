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
    // the fixture's layer is uncompressed: kept so, so that the index names the source's digests
    const r = await sh(
      `img-manifest get dir:${src} | jq -c '.dest = "oci:${layout}:${arch}"' | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`,
    );
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

  it("copies to dir: in skopeo's multi-image layout, which skopeo reads and copies on", async () => {
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

describe('choosing from an index: --multi-arch, --platform', () => {
  const get = async (...args: string[]) => {
    const r = await img('img-manifest', ['get', ...args, `oci:${layout}:multi`]);
    expect(r.status, r.stderr).toBe(0);
    return records(r.stdout);
  };
  const digestOf = (arch: string) => children.find((c) => c.arch === arch)!.digest;

  it('--multi-arch system takes the image for this machine, as a record of its own', async () => {
    const host = process.arch === 'arm64' ? 'arm64' : 'amd64';
    const recs = await get('--multi-arch', 'system');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ digest: digestOf(host), index: sha256(index), platform: { os: 'linux', architecture: host } });
    expect(recs[0]!.parent).toBeUndefined();
  });

  it('--platform takes that image; --multi-arch index-only and the default take the index alone', async () => {
    expect((await get('--platform', 'linux/arm64')).map((r) => r.digest)).toEqual([digestOf('arm64')]);
    expect((await get('--multi-arch=index-only')).map((r) => r.digest)).toEqual([sha256(index)]);
    expect((await get()).map((r) => r.digest)).toEqual([sha256(index)]);
    expect((await get('--multi-arch=all')).map((r) => r.digest)).toEqual([digestOf('amd64'), digestOf('arm64'), sha256(index)]);
  });

  it('an unknown platform, a bad --multi-arch and --all with system are one-line errors', async () => {
    const none = await img('img-manifest', ['get', '--platform', 'linux/s390x', `oci:${layout}:multi`]);
    expect(none.status).toBe(1);
    expect(none.stderr.trim()).toMatch(/^img-manifest get: fetching manifest oci:.*:multi: .*no image in the index for linux\/s390x/);
    const bad = await img('img-manifest', ['get', '--multi-arch', 'most', `oci:${layout}:multi`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('invalid --multi-arch "most"');
    expect((await img('img-manifest', ['get', '--all', '--multi-arch=system', `oci:${layout}:multi`])).status).toBe(2);
  });

  it('repeated --platform copies those children and an index that lists only them', async () => {
    // Add a third child so that a subset is a real subset.
    const src = join(work, 'src-ppc');
    const ppc = writeDirImage(src, { seed: 'ppc64le' });
    expect(
      (await sh(`img-manifest get dir:${src} | jq -c '.dest = "oci:${layout}:ppc"' | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`))
        .status,
    ).toBe(0);
    const doc = JSON.parse(index.toString());
    doc.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: ppc.digest,
      size: readFileSync(join(layout, 'blobs', 'sha256', ppc.digest.slice(7))).length,
      platform: { os: 'linux', architecture: 'ppc64le' },
    });
    const three = JSON.stringify(doc);
    expect((await img('img-manifest', ['put', `oci:${layout}:three`], JSON.stringify({ raw: three }))).status).toBe(0);
    const dest = join(work, 'subset');
    const r = await sh(
      `img-manifest get --platform linux/ppc64le --platform linux/amd64 oci:${layout}:three | img-ref --dest oci:${dest}:sub | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`,
    );
    expect(r.status, r.stderr).toBe(0);
    const recs = records(r.stdout);
    // img-blob-put passes children on as their blobs land, in either order; the index comes last.
    expect(
      recs
        .map((x) => x.digest)
        .slice(0, 2)
        .sort(),
    ).toEqual([digestOf('amd64'), ppc.digest].sort());
    const copied = JSON.parse((await img('img-manifest', ['get', '--raw', `oci:${dest}:sub`])).stdout);
    expect(copied.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'ppc64le']);
    expect(recs[2]!.digest).not.toBe(sha256(Buffer.from(three)));
    // skopeo reads the result.
    await must(skopeo(['copy', '--all', `oci:${dest}:sub`, `dir:${join(work, 'subset-dir')}`], work), 'skopeo copy --all');
  });

  it('--missing-at-dest marks what the destination has; later stages pass it by', async () => {
    const dest = join(work, 'mad');
    // layers kept uncompressed: the index at the destination is the source's, which --missing-at-dest looks for
    const pipeline = `img-ref --dest oci:${dest}:m oci:${layout}:multi | img-manifest get --missing-at-dest --all | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`;
    const first = await sh(pipeline);
    expect(first.status, first.stderr).toBe(0);
    expect(records(first.stdout).map((x) => x.status)).toEqual(['copied', 'copied', 'copied']);
    const again = await sh(pipeline);
    expect(again.status, again.stderr).toBe(0);
    const recs = records(again.stdout);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ digest: sha256(index), status: 'exists' });
    expect(recs[0]!.raw).toBeUndefined();
    // A record without dest is an error naming the way to add one.
    const nodest = await img('img-manifest', ['get', '--missing-at-dest', `oci:${layout}:multi`]);
    expect(nodest.status).toBe(1);
    expect(nodest.stderr).toContain('has no "dest" for --missing-at-dest');
  });
});
