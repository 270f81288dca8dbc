// skopeo's shared blob directory for oci: layouts (--src-shared-blob-dir, --dest-shared-blob-dir,
// inspect's --shared-blob-dir), imgpipe against real skopeo 1.9.3: a layout skopeo writes with one
// imgpipe reads, and the other way round; the trees each writes are compared file by file. Then what
// imgpipe does better: a shared directory on another file system (skopeo renames its temp file
// across, and fails), concurrent writers of one blob, a blob that fails its digest, and an
// oci-archive: written without its blobs (refused; skopeo writes one). Decision 31.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { BIN, exec, have, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ready = ['docker-registry', 'skopeo'].every(have);
const work = tempDir('imgpipe-shared-blobs-');
const box = sandbox(work);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let reg: Registry;
let IMG = ''; // docker://reg/app:1: a Docker schema 2 image of two layers

const link = join(work, 'bin', 'skopeo');
mkdirSync(join(work, 'bin'), { recursive: true });
symlinkSync(join(BIN, 'imgpipe'), link);

/** ip runs imgpipe as skopeo; sk runs skopeo 1.9.3; both in the sandbox (accept-anything policy). */
const ip = (args: string[]) => exec(link, args, undefined, box.env);
const sk = (args: string[]) => exec('skopeo', args, undefined, box.env);
const img = (cmd: string, args: string[]) => box.img(cmd, args);
const at = (name: string) => join(work, 'out', name);
const logs = (r: Result) => r.stderr.replace(/^time="[^"]*" /gm, '');
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** tree maps every file below `dir` (relative path) to its bytes' digest; directories are listed with a trailing slash. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out[`${p}/`] = '';
        walk(p);
      } else out[p] = sha256(readFileSync(join(dir, p)));
    }
  };
  walk('');
  return out;
}

/** blobFiles checks that every file of DIR/sha256 is named by its digest, and lists those digests. */
function blobFiles(dir: string): string[] {
  const names = readdirSync(join(dir, 'sha256')).sort();
  for (const n of names) expect(sha256(readFileSync(join(dir, 'sha256', n))), n).toBe(`sha256:${n}`);
  return names.map((n) => `sha256:${n}`);
}

/** entries are a layout's index.json entries (skopeo 1.9.3 writes no top-level mediaType, imgpipe does: the images are compared). */
const entries = (layout: string) => JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests;

/** dirImage writes a dir: image with one gzip layer per text (or, with `size`, of that many random bytes) and a config. */
function dirImage(dir: string, texts: string[], size?: number): { manifest: Buffer; layers: Buffer[] } {
  mkdirSync(dir, { recursive: true });
  const layers = texts.map((t) => gzipSync(size === undefined ? Buffer.from(`${t}\n`.repeat(20)) : randomBytes(size), { level: 1 }));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-03-04T05:06:07Z', rootfs: { type: 'layers', diff_ids: texts.map((t) => sha256(t)) } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.length, digest: sha256(l) })),
    }),
  );
  for (const b of [config, ...layers]) writeFileSync(join(dir, sha256(b).slice(7)), b);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  return { manifest, layers };
}

beforeAll(async () => {
  if (!ready) return;
  reg = await startRegistry();
  mkdirSync(at(''), { recursive: true });
  dirImage(join(work, 'app'), ['app one', 'app two']);
  IMG = `docker://${reg.host}/app:1`;
  await must(sk(['copy', '--dest-tls-verify=false', `dir:${join(work, 'app')}`, IMG]), 'push app');
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe.skipIf(!ready)('--src-shared-blob-dir, --dest-shared-blob-dir, --shared-blob-dir: imgpipe and skopeo 1.9.3', () => {
  it('copy --dest-shared-blob-dir writes what skopeo writes: every blob and the manifest in DIR/sha256, the layout an empty blobs/, the same lines', async () => {
    const [o, t] = await Promise.all([
      ip(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('ip-shared'), IMG, `oci:${at('ip-layout')}:x`]),
      sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('sk-shared'), IMG, `oci:${at('sk-layout')}:x`]),
    ]);
    expect(o.status, o.stderr).toBe(0);
    expect(t.status, t.stderr).toBe(0);
    // (skopeo 1.9.3 says "Storing signatures" when there are none; current skopeo does not, nor imgpipe.
    // skopeo copies the layers at once, and names each as it starts: in any order)
    expect(lines(o.stdout).sort()).toEqual(
      lines(t.stdout)
        .filter((l) => l !== 'Storing signatures')
        .sort(),
    );
    expect(logs(o)).toBe(logs(t));
    // the shared directories: the same files, byte for byte (three blobs and the manifest)
    expect(tree(at('ip-shared'))).toEqual(tree(at('sk-shared')));
    expect(blobFiles(at('ip-shared'))).toHaveLength(4);
    // the layouts: oci-layout, index.json and an empty blobs/, naming the same image
    for (const l of ['ip-layout', 'sk-layout']) expect(readdirSync(at(l)).sort(), l).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(readdirSync(at('ip-layout/blobs'))).toEqual([]);
    expect(readdirSync(at('sk-layout/blobs'))).toEqual([]);
    expect(entries(at('ip-layout'))).toEqual(entries(at('sk-layout')));
    expect(blobFiles(at('ip-shared'))).toContain(entries(at('ip-layout'))[0].digest);
  });

  it("each reads the other's layout with --src-shared-blob-dir, as skopeo's systemtest checks (diff -urN SHARED LAYOUT/blobs)", async () => {
    await must(sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('r-sk-shared'), IMG, `oci:${at('r-sk')}:x`]), 'skopeo writes');
    await must(ip(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('r-ip-shared'), IMG, `oci:${at('r-ip')}:x`]), 'imgpipe writes');
    const [o, t] = await Promise.all([
      ip(['copy', '--src-shared-blob-dir', at('r-sk-shared'), `oci:${at('r-sk')}:x`, `oci:${at('r-ip2')}:x`]),
      sk(['copy', '--src-shared-blob-dir', at('r-ip-shared'), `oci:${at('r-ip')}:x`, `oci:${at('r-sk2')}:x`]),
    ]);
    expect(o.status, o.stderr).toBe(0);
    expect(t.status, t.stderr).toBe(0);
    expect(tree(at('r-ip2/blobs'))).toEqual(tree(at('r-sk-shared')));
    expect(tree(at('r-sk2/blobs'))).toEqual(tree(at('r-ip-shared')));
    const diff = await exec('diff', ['-urN', at('r-sk-shared'), at('r-ip2/blobs')]);
    expect(diff.status, diff.stdout).toBe(0);
    // both ends shared: nothing is copied, the destination's blobs/ stays empty
    const both = await img('img-copy', ['--shared-blob-dir', at('r-ip-shared'), `oci:${at('r-ip')}:x`, `oci:${at('r-ip3')}:y`]);
    expect(both.status, both.stderr).toBe(0);
    expect(records(both.stdout)[0]!.blobs).toMatchObject({ copied: 0, existed: 3 });
    expect(readdirSync(at('r-ip3/blobs'))).toEqual([]);
  });

  it('inspect --shared-blob-dir prints what skopeo prints; without it both fail (exit 1), imgpipe saying where the blobs may be', async () => {
    await must(sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('i-shared'), IMG, `oci:${at('i-layout')}:x`]), 'skopeo writes');
    const ref = `oci:${at('i-layout')}:x`;
    for (const args of [
      ['--shared-blob-dir', at('i-shared'), ref],
      ['--shared-blob-dir', at('i-shared'), '--config', ref],
      ['--shared-blob-dir', at('i-shared'), '--raw', ref],
    ]) {
      const [o, t] = await Promise.all([ip(['inspect', ...args]), sk(['inspect', ...args])]);
      expect(o.status, o.stderr).toBe(0);
      // (current skopeo prints LayersData; 1.9.3 does not)
      expect(o.stdout.replace(/ {4}"LayersData": \[\n[\s\S]*?\n {4}\],\n/, ''), args.join(' ')).toBe(t.stdout);
    }
    const [o, t] = await Promise.all([ip(['inspect', ref]), sk(['inspect', ref])]);
    expect(t.status).toBe(1);
    expect(o.status, o.stderr).toBe(1);
    expect(lines(o.stderr)).toHaveLength(1);
    expect(o.stderr).toContain(`blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir DIR`);
    // an empty --shared-blob-dir is no directory
    const empty = await ip(['inspect', '--shared-blob-dir', '', ref]);
    expect(empty.status).not.toBe(0);
    expect(lines(empty.stderr)).toHaveLength(1);
    expect(empty.stderr).toContain('--shared-blob-dir needs a directory');
  });

  it('delete --shared-blob-dir: the entry goes, the shared blobs stay (skopeo 1.9.3 cannot delete from oci: at all); without it, refused', async () => {
    const shared = at('del-shared');
    await must(sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', shared, IMG, `oci:${at('del')}:x`]), 'skopeo writes x');
    await must(sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', shared, IMG, `oci:${at('del')}:y`]), 'skopeo writes y');
    const before = tree(shared);
    const t = await sk(['delete', '--shared-blob-dir', shared, `oci:${at('del')}:x`]);
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/Deleting images not implemented for oci: images/);
    const without = await ip(['delete', `oci:${at('del')}:x`]);
    expect(without.status).toBe(1);
    expect(lines(without.stderr)).toHaveLength(1);
    expect(without.stderr).toMatch(/del\/blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir DIR/);
    expect(entries(at('del'))).toHaveLength(2);
    const o = await ip(['delete', '--shared-blob-dir', shared, `oci:${at('del')}:x`]);
    expect([o.status, o.stdout, o.stderr]).toEqual([0, '', '']);
    expect(entries(at('del')).map((e: { annotations: Record<string, string> }) => e.annotations['org.opencontainers.image.ref.name'])).toEqual(['y']);
    expect(tree(shared)).toEqual(before);
    expect(readdirSync(at('del/blobs'))).toEqual([]);
    // y, which shares every blob with x, is whole: skopeo reads it
    await must(sk(['copy', '--src-shared-blob-dir', shared, `oci:${at('del')}:y`, `dir:${at('del-dir')}`]), 'skopeo reads y');
  });

  it('oci-archive: read from a shared blob directory as skopeo writes it; never written so (refused, nothing at PATH)', async () => {
    const archive = at('a.tar');
    await must(sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('a-shared'), IMG, `oci-archive:${archive}:x`]), 'skopeo writes');
    // skopeo's archive holds no blob at all: they are in the shared directory
    const listing = await must(exec('tar', ['tf', archive]), 'tar tf');
    expect(lines(listing.stdout).sort()).toEqual(['blobs/', 'index.json', 'oci-layout']);
    const read = await ip(['copy', '--src-shared-blob-dir', at('a-shared'), `oci-archive:${archive}:x`, `oci:${at('a-layout')}:x`]);
    expect(read.status, read.stderr).toBe(0);
    expect(tree(at('a-layout/blobs'))).toEqual(tree(at('a-shared')));
    // imgpipe refuses to write one: one line naming the archive, exit 1, no file
    const refused = await ip(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', at('a-shared2'), IMG, `oci-archive:${at('b.tar')}:x`]);
    expect(refused.status).toBe(1);
    expect(lines(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toMatch(/cannot write oci-archive:\S*b\.tar with a shared blob directory \(\S*a-shared2\): an archive holds its own blobs/);
    expect(existsSync(at('b.tar'))).toBe(false);
    expect(existsSync(at('a-shared2'))).toBe(false);
  });
});

describe.skipIf(!ready)('--dest-shared-blob-dir: what imgpipe does better than skopeo', () => {
  it('a shared directory on another file system: the temp file is made there, so the rename works (skopeo: invalid cross-device link)', async (ctx) => {
    if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(work).dev) ctx.skip('no second file system (/dev/shm) here');
    const shared = `/dev/shm/imgpipe-shared-${process.pid}-${Date.now()}`;
    try {
      const t = await sk(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', shared, IMG, `oci:${at('x-sk')}:x`]);
      expect(t.status).toBe(1);
      expect(t.stderr).toMatch(/invalid cross-device link/);
      const o = await ip(['copy', '--src-tls-verify=false', '--dest-shared-blob-dir', shared, IMG, `oci:${at('x-ip')}:x`]);
      expect(o.status, o.stderr).toBe(0);
      expect(blobFiles(shared)).toHaveLength(4);
      expect(readdirSync(shared).filter((n) => n !== 'sha256')).toEqual([]);
      expect(readdirSync(at('x-ip')).filter((n) => n.startsWith('.imgpipe-tmp-'))).toEqual([]);
    } finally {
      await exec('rm', ['-rf', shared]);
    }
  });

  it('concurrent writers of the same blobs into one shared directory: every copy succeeds, every file is whole, no temp file is left', async () => {
    // two layers of 24 MiB, so that the writers overlap
    const big = join(work, 'big');
    const { layers } = dirImage(big, ['big one', 'big two'], 24 << 20);
    const shared = at('c-shared');
    const runs = await Promise.all([1, 2, 3, 4].map((i) => img('img-copy', ['--dest-shared-blob-dir', shared, `dir:${big}`, `oci:${at(`c-layout-${i}`)}:x`])));
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    const digests = new Set(runs.map((r) => records(r.stdout)[0]!.digest));
    expect(digests.size).toBe(1);
    expect(blobFiles(shared)).toEqual(expect.arrayContaining(layers.map((l) => sha256(l))));
    expect(blobFiles(shared)).toHaveLength(4);
    expect(readdirSync(shared).filter((n) => n !== 'sha256')).toEqual([]);
    for (const i of [1, 2, 3, 4]) expect(readdirSync(at(`c-layout-${i}/blobs`))).toEqual([]);
    // and skopeo reads each of them from there
    await must(sk(['copy', '--src-shared-blob-dir', shared, `oci:${at('c-layout-3')}:x`, `dir:${at('c-dir')}`]), 'skopeo reads');
  });

  it('a blob that fails its digest never appears in the shared directory, nor does its temp file', async () => {
    const bad = join(work, 'bad');
    const { layers } = dirImage(bad, ['good layer', 'bad layer']);
    const victim = layers[1]!;
    const flipped = Buffer.from(victim);
    flipped[flipped.length - 10] = flipped[flipped.length - 10]! ^ 0xff;
    writeFileSync(join(bad, sha256(victim).slice(7)), flipped);
    const shared = at('d-shared');
    const r = await img('img-copy', ['--dest-shared-blob-dir', shared, `dir:${bad}`, `oci:${at('d-layout')}:x`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/digest/i);
    expect(existsSync(join(shared, 'sha256', sha256(victim).slice(7)))).toBe(false);
    expect(readdirSync(shared).filter((n) => n !== 'sha256')).toEqual([]);
    for (const n of readdirSync(join(shared, 'sha256'))) expect(sha256(readFileSync(join(shared, 'sha256', n)))).toBe(`sha256:${n}`);
    // no image was named in the layout
    expect(existsSync(join(at('d-layout'), 'index.json')) ? entries(at('d-layout')) : []).toEqual([]);
  });
});
