import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirImage, sha256 } from '../helpers/fixtures.js';
import { skopeo, must } from '../helpers/images.js';
import { BIN, img, records, sh, tempDir } from '../helpers/run.js';

const work = tempDir();
// The fixtures' layers are uncompressed: an oci: destination would gzip them (as skopeo's does), and
// these tests compare digests with the source's.
const copy = (from: string, to: string) =>
  sh(`img-manifest get '${from}' | jq -c '.dest = "${to}"' | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`);

describe('oci: layouts', () => {
  it('concurrent writers to one layout all keep their names', async () => {
    const layout = join(work, 'shared-layout');
    const n = 8;
    for (let i = 0; i < n; i++) writeDirImage(join(work, `src-${i}`), { seed: `image ${i}` });
    const runs = await Promise.all(Array.from({ length: n }, (_, i) => copy(`dir:${join(work, `src-${i}`)}`, `oci:${layout}:img-${i}`)));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const names = index.manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name']).sort();
    expect(names).toEqual(Array.from({ length: n }, (_, i) => `img-${i}`).sort());
    for (let i = 0; i < n; i++) {
      const r = await img('img-manifest', ['get', `oci:${layout}:img-${i}`]);
      expect(records(r.stdout)[0]!.digest).toBe(sha256(readFileSync(join(work, `src-${i}`, 'manifest.json'))));
    }
    expect(readdirSync(layout).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('writing a name again replaces that entry only; an unnamed layout of several images asks for a name', async () => {
    const layout = join(work, 'shared-layout');
    const r = await copy(`dir:${join(work, 'src-1')}`, `oci:${layout}:img-0`);
    expect(r.status).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const entries = index.manifests.filter((m: any) => m.annotations['org.opencontainers.image.ref.name'] === 'img-0');
    expect(entries).toHaveLength(1);
    expect(entries[0].digest).toBe(sha256(readFileSync(join(work, 'src-1', 'manifest.json'))));
    expect(index.manifests).toHaveLength(8);
    const any = await img('img-manifest', ['get', `oci:${layout}`]);
    expect(any.status).toBe(1);
    expect(any.stderr).toContain(`the layout holds 8 images: name one as oci:${layout}:NAME`);
    const missing = await img('img-manifest', ['get', `oci:${layout}:nope`]);
    expect(missing.stderr).toContain('no image named "nope"');
    const byIndex = await img('img-manifest', ['get', `oci:${layout}:@2`]);
    expect(records(byIndex.stdout)[0]!.digest).toBe(index.manifests[2].digest);
  });

  it('a writer killed mid-blob leaves nothing under the digest, and the next writer cleans its temp file', async () => {
    const layout = join(work, 'killed');
    writeDirImage(join(work, 'seed'));
    expect((await copy(`dir:${join(work, 'seed')}`, `oci:${layout}:seed`)).status).toBe(0);
    const blobsBefore = readdirSync(join(layout, 'blobs', 'sha256')).sort();
    const child = spawn(join(BIN, 'img-blob-put'), [`oci:${layout}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.write(Buffer.alloc(1 << 20, 7));
    const temps = () => readdirSync(layout).filter((f) => f.startsWith('.imgpipe-tmp-'));
    for (let i = 0; i < 200 && temps().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(temps()).toHaveLength(1);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(readdirSync(join(layout, 'blobs', 'sha256')).sort()).toEqual(blobsBefore);
    const next = await img('img-blob-put', [`oci:${layout}`], 'after the kill');
    expect(next.status).toBe(0);
    expect(temps()).toEqual([]);
    expect(records((await img('img-manifest', ['get', `oci:${layout}:seed`])).stdout)[0]!.error).toBeUndefined();
  });
});

describe('dir: images', () => {
  it('writing a new image replaces the old one only after its manifest lands, and skopeo reads it', async () => {
    const a = writeDirImage(join(work, 'a'), { seed: 'a' });
    const b = writeDirImage(join(work, 'b'), { seed: 'b' });
    const dest = join(work, 'replaced');
    expect((await copy(`dir:${join(work, 'a')}`, `dir:${dest}`)).status).toBe(0);
    expect(readFileSync(join(dest, 'manifest.json')).equals(a.manifest)).toBe(true);
    expect((await copy(`dir:${join(work, 'b')}`, `dir:${dest}`)).status).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(['manifest.json', 'version', sha256(b.layer).slice(7), sha256(b.config).slice(7)].sort());
    expect(existsSync(join(dest, sha256(a.layer).slice(7)))).toBe(false);
    const raw = await must(skopeo(['inspect', '--raw', `dir:${dest}`], work), 'skopeo inspect');
    expect(raw.stdoutBytes.equals(b.manifest)).toBe(true);
  });

  it('an edited manifest is written as edited, with its new digest', async () => {
    const dest = join(work, 'edited');
    const r = await sh(
      `img-manifest get dir:${join(work, 'a')} | jq -c '.manifest.annotations = {"note": "edited"} | .dest = "dir:${dest}"' | img-blob-put | img-manifest put`,
    );
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    const written = readFileSync(join(dest, 'manifest.json'));
    expect(JSON.parse(written.toString()).annotations).toEqual({ note: 'edited' });
    expect(rec!.digest).toBe(sha256(written));
    expect(rec!.status).toBe('copied');
  });
});

describe('img-ref', () => {
  it('normalises references and maps destinations as skopeo sync names them, passing other fields through', async () => {
    const input = [
      'docker://busybox',
      JSON.stringify({ ref: 'docker://quay.io/team/app:1.2', note: 'kept' }),
      'docker://localhost:5000/a/b@sha256:' + 'c'.repeat(64),
    ].join('\n');
    const plain = records((await img('img-ref', ['--to', 'docker://mirror.local:5000/m'], input)).stdout);
    expect(plain).toEqual([
      { ref: 'docker://docker.io/library/busybox:latest', dest: 'docker://mirror.local:5000/m/busybox:latest' },
      { ref: 'docker://quay.io/team/app:1.2', note: 'kept', dest: 'docker://mirror.local:5000/m/app:1.2' },
      { ref: `docker://localhost:5000/a/b@sha256:${'c'.repeat(64)}`, dest: `docker://mirror.local:5000/m/b@sha256:${'c'.repeat(64)}` },
    ]);
    const scoped = records((await img('img-ref', ['--to', 'oci:/srv/layout', '--scoped', '--append-suffix=-mirror', 'docker://quay.io/team/app:1.2'])).stdout);
    expect(scoped).toEqual([{ ref: 'docker://quay.io/team/app:1.2', dest: 'oci:/srv/layout:quay.io/team/app:1.2-mirror' }]);
    const bad = await img('img-ref', ['--to', 'docker://mirror/m:tag', 'docker://busybox']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('"docker://mirror/m:tag" must be a registry or repository path without tag or digest');
  });
});
