/**
 * Layers compressed on the way, as skopeo does (issue 11.5): sources that hold layers uncompressed
 * (docker-archive:, docker-daemon:) copied into a registry or oci: get gzip (or zstd) layers, the
 * manifest names them as stored and the config's diff IDs stay. The oracles are gzip and zstd (the
 * Debian tools) on what the registry serves, and skopeo 1.9.3, on fresh registries of its own (its
 * blob-info cache would otherwise reuse blobs) and compared by media types, config and decompressed
 * digests: gzip bytes differ between Go and zlib. Also: no cross-repository mount is tried from a
 * named docker-archive: source (issue 11.1).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerdUnavailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { writeDirImage } from '../helpers/fixtures.js';
import { exec, img as execImg, records, tempDir } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-compress-');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
let s: Sandbox;
let reg: Registry;
/** A docker-archive skopeo wrote (uncompressed layers named …diff.tar.gzip, as docker save's are served). */
let ARCHIVE: string;
/** Its config's diff IDs. */
let DIFF_IDS: string[];
let CONFIG: string;

/** get fetches a path of a plain-http registry. */
function get(host: string, path: string): Promise<{ status: number; body: Buffer; type?: string }> {
  return new Promise((res, rej) => {
    http
      .get(
        {
          host: host.split(':')[0],
          port: Number(host.split(':')[1]),
          path,
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks), type: r.headers['content-type'] }));
        },
      )
      .on('error', rej);
  });
}

/** decompressed is the sha256 of a blob decompressed by the Debian tool for its magic (gzip -dc, zstd -dc), or of the blob itself. */
async function decompressed(blob: Buffer): Promise<string> {
  const tool = blob.subarray(0, 2).equals(GZIP_MAGIC) ? 'gzip' : blob.subarray(0, 4).equals(ZSTD_MAGIC) ? 'zstd' : undefined;
  if (!tool) return sha256(blob);
  const r = await exec('sh', ['-c', `${tool} -dc | sha256sum`], blob);
  expect(r.status, r.stderr).toBe(0);
  return `sha256:${r.stdout.split(' ')[0]}`;
}

/** pushed reads an image from a registry as it serves it: manifest, config, and each layer's magic, media type and decompressed digest. */
async function pushed(
  host: string,
  repo: string,
  tag: string,
): Promise<{ manifest: any; config: string; layers: { mediaType: string; magic: string; diffID: string }[] }> {
  const m = await get(host, `/v2/${repo}/manifests/${tag}`);
  expect(m.status, m.body.toString()).toBe(200);
  const manifest = JSON.parse(m.body.toString('utf8'));
  const layers = [];
  for (const l of manifest.layers) {
    const b = await get(host, `/v2/${repo}/blobs/${l.digest}`);
    expect(b.status).toBe(200);
    expect(sha256(b.body)).toBe(l.digest);
    expect(b.body.length).toBe(l.size);
    const magic = b.body.subarray(0, 2).equals(GZIP_MAGIC) ? 'gzip' : b.body.subarray(0, 4).equals(ZSTD_MAGIC) ? 'zstd' : 'none';
    layers.push({ mediaType: l.mediaType, magic, diffID: await decompressed(b.body) });
  }
  return { manifest, config: manifest.config.digest, layers };
}

const img = (cmd: string, args: string[], input?: string) => s.img(cmd, args, input);

beforeAll(async () => {
  s = sandbox(work);
  reg = await startRegistry();
  const L = join(work, 'layout');
  await umociImage(work, L, 'app');
  ARCHIVE = join(work, 'app.tar');
  await s.sk(['copy', `oci:${L}:app`, `docker-archive:${ARCHIVE}:app:1`]);
  const m = JSON.parse((await exec('tar', ['-xOf', ARCHIVE, 'manifest.json'])).stdout);
  const config = JSON.parse((await exec('tar', ['-xOf', ARCHIVE, m[0].Config])).stdout);
  DIFF_IDS = config.rootfs.diff_ids;
  CONFIG = sha256((await exec('tar', ['-xOf', ARCHIVE, m[0].Config])).stdoutBytes);
  expect(DIFF_IDS).toHaveLength(2);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe('layers compressed on the way', () => {
  it('docker-archive → registry pushes gzip layers that decompress to the diff IDs; skopeo reads the image and pushes the same media types and config', async () => {
    const r = await img('img-copy', ['--dest-tls-verify=false', `docker-archive:${ARCHIVE}`, `docker://${reg.host}/gz/app:1`]);
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    expect(Object.keys(rec!.layerUpdates).sort()).toEqual([...DIFF_IDS].sort());
    const ours = await pushed(reg.host, 'gz/app', '1');
    expect(ours.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(ours.config).toBe(CONFIG);
    expect(ours.layers).toEqual(DIFF_IDS.map((d) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', magic: 'gzip', diffID: d })));
    expect(rec!.digest).toBe(sha256((await get(reg.host, '/v2/gz/app/manifests/1')).body));
    // skopeo, into a registry of its own.
    const fresh = await startRegistry();
    try {
      await s.sk(['copy', '--dest-tls-verify=false', `docker-archive:${ARCHIVE}`, `docker://${fresh.host}/gz/app:1`]);
      const theirs = await pushed(fresh.host, 'gz/app', '1');
      expect(ours.manifest.mediaType).toBe(theirs.manifest.mediaType);
      expect(ours.config).toBe(theirs.config);
      expect(ours.layers).toEqual(theirs.layers);
    } finally {
      await fresh.stop();
    }
    // skopeo reads what we pushed.
    const inspect = JSON.parse((await s.sk(['inspect', '--tls-verify=false', `docker://${reg.host}/gz/app:1`])).stdout);
    expect(inspect.Digest).toBe(rec!.digest);
    await s.sk(['copy', '--src-tls-verify=false', `docker://${reg.host}/gz/app:1`, `dir:${join(work, 'sk-gz')}`]);
    expect(readdirSync(join(work, 'sk-gz'))).toContain('manifest.json');
  });

  it('--dest-compress-format zstd pushes zstd layers that decompress to the diff IDs, in an OCI manifest, as skopeo does', async () => {
    const r = await img('img-copy', [
      '--dest-tls-verify=false',
      '--dest-compress-format',
      'zstd',
      `docker-archive:${ARCHIVE}`,
      `docker://${reg.host}/zstd/app:1`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const ours = await pushed(reg.host, 'zstd/app', '1');
    expect(ours.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(ours.layers).toEqual(DIFF_IDS.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', magic: 'zstd', diffID: d })));
    const fresh = await startRegistry();
    try {
      await s.sk(['copy', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', `docker-archive:${ARCHIVE}`, `docker://${fresh.host}/zstd/app:1`]);
      const theirs = await pushed(fresh.host, 'zstd/app', '1');
      expect(ours.manifest.mediaType).toBe(theirs.manifest.mediaType);
      expect(ours.config).toBe(theirs.config);
      expect(ours.layers).toEqual(theirs.layers);
    } finally {
      await fresh.stop();
    }
    await s.sk(['copy', '--src-tls-verify=false', `docker://${reg.host}/zstd/app:1`, `dir:${join(work, 'sk-zstd')}`]);
    // And back out of the registry into a docker-archive, which holds layers uncompressed: zstd is read.
    const back = await img('img-copy', ['--src-tls-verify=false', `docker://${reg.host}/zstd/app:1`, `docker-archive:${join(work, 'back.tar')}:back:1`]);
    expect(back.status, back.stderr).toBe(0);
    expect(JSON.parse((await s.sk(['inspect', `docker-archive:${join(work, 'back.tar')}`])).stdout).Layers).toEqual(DIFF_IDS);
  });

  it('--dest-compress-level 1 and 9 give other gzip bytes of the same layers', async () => {
    const sizes: number[] = [];
    for (const level of ['1', '9']) {
      const r = await img('img-copy', [
        '--dest-tls-verify=false',
        '--dest-compress-level',
        level,
        `docker-archive:${ARCHIVE}`,
        `docker://${reg.host}/level${level}/app:1`,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const p = await pushed(reg.host, `level${level}/app`, '1');
      expect(p.layers.map((l) => l.diffID)).toEqual(DIFF_IDS);
      sizes.push(p.manifest.layers.reduce((n: number, l: { size: number }) => n + l.size, 0));
    }
    expect(sizes[0]).toBeGreaterThanOrEqual(sizes[1]!);
    const bad = await img('img-copy', ['--dest-compress-level', '10', `docker-archive:${ARCHIVE}`, `dir:${join(work, 'never')}`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--dest-compress-level "10": gzip takes 0 to 9');
  });

  it('--dest-decompress stores layers uncompressed and names them so; --dest-compress compresses into dir:, which keeps layers as they come by default', async () => {
    const gz = await img('img-copy', ['--tls-verify=false', '--dest-decompress', `docker://${reg.host}/gz/app:1`, `docker://${reg.host}/plain/app:1`]);
    expect(gz.status, gz.stderr).toBe(0);
    const plain = await pushed(reg.host, 'plain/app', '1');
    expect(plain.layers).toEqual(DIFF_IDS.map((d) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', magic: 'none', diffID: d })));
    expect(plain.manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(DIFF_IDS);
    // dir: keeps the archive's layers as they come (as skopeo's dir: does), unless --dest-compress.
    const asIs = join(work, 'as-is');
    expect((await img('img-copy', [`docker-archive:${ARCHIVE}`, `dir:${asIs}`])).status).toBe(0);
    const asIsManifest = JSON.parse(readFileSync(join(asIs, 'manifest.json'), 'utf8'));
    expect(asIsManifest.layers.map((l: { digest: string }) => l.digest)).toEqual(DIFF_IDS);
    const skDir = join(work, 'sk-as-is');
    await s.sk(['copy', `docker-archive:${ARCHIVE}`, `dir:${skDir}`]);
    expect(readFileSync(join(asIs, 'manifest.json'))).toEqual(readFileSync(join(skDir, 'manifest.json')));
    const packed = join(work, 'packed');
    expect((await img('img-copy', ['--dest-compress', `docker-archive:${ARCHIVE}`, `dir:${packed}`])).status).toBe(0);
    const m = JSON.parse(readFileSync(join(packed, 'manifest.json'), 'utf8'));
    for (const [i, l] of m.layers.entries()) {
      const blob = readFileSync(join(packed, l.digest.slice(7)));
      expect(blob.subarray(0, 2)).toEqual(GZIP_MAGIC);
      expect(await decompressed(blob)).toBe(DIFF_IDS[i]);
    }
  });

  it('docker-archive → oci-archive: gets gzip layers, written into the archive as skopeo writes them; the compression flags are refused there', async () => {
    const tar = join(work, 'app.oci.tar');
    const r = await img('img-copy', [`docker-archive:${ARCHIVE}`, `oci-archive:${tar}:app`]);
    expect(r.status, r.stderr).toBe(0);
    const index = JSON.parse((await exec('tar', ['-xOf', tar, 'index.json'])).stdout);
    expect(records(r.stdout)[0]!.digest).toBe(index.manifests[0].digest);
    const m = JSON.parse((await exec('tar', ['-xOf', tar, `blobs/sha256/${index.manifests[0].digest.slice(7)}`])).stdout);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(DIFF_IDS.map(() => 'application/vnd.oci.image.layer.v1.tar+gzip'));
    for (const [i, l] of m.layers.entries()) {
      const blob = (await exec('tar', ['-xOf', tar, `blobs/sha256/${l.digest.slice(7)}`])).stdoutBytes;
      expect(sha256(blob)).toBe(l.digest);
      expect(await decompressed(blob)).toBe(DIFF_IDS[i]);
    }
    expect(JSON.parse((await s.sk(['inspect', '--config', '--raw', `oci-archive:${tar}`])).stdout).rootfs.diff_ids).toEqual(DIFF_IDS);
    const flagged = await img('img-copy', ['--dest-compress-format', 'zstd', `docker-archive:${ARCHIVE}`, `oci-archive:${join(work, 'never.tar')}:app`]);
    expect(flagged.status).toBe(2); // before anything is read
    expect(flagged.stderr).toContain('--dest-compress-format does not apply to oci-archive:');
    expect(readdirSync(work)).not.toContain('never.tar');
  });

  it('docker-archive → oci: gets gzip layers too, as skopeo writes them', async () => {
    const layout = join(work, 'oci-out');
    const r = await img('img-copy', [`docker-archive:${ARCHIVE}`, `oci:${layout}:app`]);
    expect(r.status, r.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const m = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(DIFF_IDS.map(() => 'application/vnd.oci.image.layer.v1.tar+gzip'));
    for (const [i, l] of m.layers.entries()) expect(await decompressed(readFileSync(join(layout, 'blobs/sha256', l.digest.slice(7))))).toBe(DIFF_IDS[i]);
    const sk = join(work, 'sk-oci');
    await s.sk(['copy', `docker-archive:${ARCHIVE}`, `oci:${sk}:app`]);
    const skIndex = JSON.parse(readFileSync(join(sk, 'index.json'), 'utf8'));
    const skm = JSON.parse(readFileSync(join(sk, 'blobs/sha256', skIndex.manifests[0].digest.slice(7)), 'utf8'));
    expect(m.config).toEqual(skm.config);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(skm.layers.map((l: { mediaType: string }) => l.mediaType));
  });

  it('oci: compresses any uncompressed layer, a layout’s or a dir:’s too, as skopeo 1.9.3 does; --dest-oci-accept-uncompressed-layers keeps them: the trees compared', async () => {
    const U = join(work, 'uncompressed-dir');
    writeDirImage(U, { seed: 'oci accept' });
    const tree = (dir: string) => {
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      const blob = (d: string) => readFileSync(join(dir, 'blobs/sha256', d.slice(7)));
      const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
      const files = readdirSync(join(dir, 'blobs/sha256'))
        .map((f) => `sha256:${f}`)
        .sort();
      return { index, manifest, blob, files };
    };
    const both = async (args: string[], name: string) => {
      const [o, t] = [join(work, `${name}-ours`), join(work, `${name}-theirs`)];
      const r = await img('img-copy', [...args.slice(0, -1), `oci:${o}:x`]);
      expect(r.status, r.stderr).toBe(0);
      await s.sk(['copy', ...args.slice(0, -1), `oci:${t}:x`]);
      return [tree(o), tree(t)] as const;
    };
    for (const src of [`dir:${U}`, `docker-archive:${ARCHIVE}`]) {
      // without the flag: gzip layers of the same content, named so; the same config
      const [o, t] = await both([src, 'DEST'], `accept-no-${src.split(':')[0]}`);
      expect(o.manifest.config).toEqual(t.manifest.config);
      expect(o.manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(t.manifest.layers.map((l: { mediaType: string }) => l.mediaType));
      expect(o.manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      for (const [i, l] of o.manifest.layers.entries()) {
        expect(o.blob(l.digest).subarray(0, 2).equals(GZIP_MAGIC), src).toBe(true);
        expect(await decompressed(o.blob(l.digest))).toBe(await decompressed(t.blob(t.manifest.layers[i].digest)));
      }
      // with it: the layers as they came, the same blobs as skopeo's (skopeo 1.9.3 names a
      // docker-archive's uncompressed layers …tar+gzip all the same; imgpipe names them …tar)
      const [ko, kt] = await both(['--dest-oci-accept-uncompressed-layers', src, 'DEST'], `accept-yes-${src.split(':')[0]}`);
      expect(ko.manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(kt.manifest.layers.map((l: { digest: string }) => l.digest));
      expect(ko.manifest.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar')).toBe(true);
      if (src.startsWith('dir:')) {
        // (index.json itself: imgpipe writes its mediaType, which skopeo 1.9.3 leaves out)
        expect(ko.index.manifests).toEqual(kt.index.manifests);
        expect(ko.files).toEqual(kt.files);
        for (const f of ko.files) expect(ko.blob(f).equals(kt.blob(f)), f).toBe(true);
      } else expect(kt.manifest.layers.every((l: { mediaType: string }) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true);
    }
    // an oci: source's uncompressed layers too (a layout skopeo wrote with the flag)
    const [lo, lt] = await both([`oci:${join(work, 'accept-yes-dir-theirs')}:x`, 'DEST'], 'accept-layout');
    expect(lo.manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(lt.manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    // --preserve-digests keeps them (their media type says what they are), as skopeo does
    const [po, pt] = await both(['--preserve-digests', `dir:${U}`, 'DEST'], 'accept-preserve');
    expect(po.files).toEqual(pt.files);
    // imgpipe copy takes skopeo's flag and prints skopeo's lines
    const ip = (dest: string) => ['--insecure-policy', 'copy', '--dest-oci-accept-uncompressed-layers', `dir:${U}`, `oci:${dest}:x`];
    const [io, it2] = [await img('imgpipe', ip(join(work, 'accept-ip-ours'))), await s.skopeo(ip(join(work, 'accept-ip-theirs')).slice(1))];
    expect({ status: io.status, stdout: io.stdout }).toEqual({ status: it2.status, stdout: it2.stdout.replace('Storing signatures\n', '') });
    expect(tree(join(work, 'accept-ip-ours')).files).toEqual(tree(join(work, 'accept-ip-theirs')).files);
    // it does not go with --dest-compress
    const u = await img('img-copy', ['--dest-compress', '--dest-oci-accept-uncompressed-layers', `dir:${U}`, `oci:${join(work, 'never')}:x`]);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('--dest-compress and --dest-oci-accept-uncompressed-layers exclude each other');
  });

  it('--dest-force-compress-format: needs --dest-compress-format, in containers/image’s words; then every layer is in that format, at dir: too, and a sync does not pass by an image the destination has', async () => {
    const src = `docker://${reg.host}/force/app:1`;
    expect((await img('img-copy', ['--dest-tls-verify=false', `docker-archive:${ARCHIVE}`, src])).status).toBe(0); // gzip layers
    const none = join(work, 'force-never');
    const u = await img('img-copy', ['--src-tls-verify=false', '--dest-force-compress-format', src, `dir:${none}`]);
    expect([u.status, u.stderr]).toEqual([
      2,
      'img-copy: cannot use ForceCompressionFormat with undefined default compression format: --dest-force-compress-format needs --dest-compress-format (see img-copy --help)\n',
    ]);
    const ip = await img('imgpipe', ['--insecure-policy', 'copy', '--src-tls-verify=false', '--dest-force-compress-format', src, `dir:${none}`]);
    expect(ip.status).toBe(1);
    expect(ip.stderr).toMatch(/level=fatal msg="cannot use ForceCompressionFormat with undefined default compression format/);
    // dir: keeps layers as they come: --dest-compress-format alone would do nothing there (skopeo's
    // leaves the gzip layers), so it is refused, before anything moves; forced, they are zstd
    const layersOf = (dir: string) => {
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      return m.layers.map((l: { digest: string; mediaType: string }) => ({ mediaType: l.mediaType, blob: readFileSync(join(dir, l.digest.slice(7))) }));
    };
    const [kept, forced] = [join(work, 'force-kept'), join(work, 'force-zstd')];
    const nothing = await img('img-copy', ['--src-tls-verify=false', '--dest-compress-format', 'zstd', src, `dir:${kept}`]);
    expect([nothing.status, nothing.stderr]).toEqual([
      2,
      `img-copy: --dest-compress-format does nothing at dir:${kept}, which keeps layers as they come: add --dest-compress (compress the uncompressed layers) or --dest-force-compress-format (every layer in that format) (see img-copy --help)\n`,
    ]);
    expect(existsSync(kept)).toBe(false);
    // img-blob-put given such a record says so in its error record
    const rec = (await img('img-manifest', ['get', '--tls-verify=false', src])).stdout.trim();
    const put = await img(
      'img-blob-put',
      ['--src-tls-verify=false', '--dest-compress-level=3'],
      `${JSON.stringify({ ...JSON.parse(rec), dest: `dir:${kept}` })}\n`,
    );
    expect(put.status).toBe(1);
    expect(records(put.stdout)[0]!.error.message).toContain(`--dest-compress-level does nothing at dir:${kept}`);
    const f = await img('imgpipe', [
      '--insecure-policy',
      'copy',
      '--src-tls-verify=false',
      '--dest-compress-format',
      'zstd',
      '--dest-force-compress-format',
      src,
      `dir:${forced}`,
    ]);
    expect(f.status, f.stderr).toBe(0);
    const z = layersOf(forced);
    expect(z.map((l: { mediaType: string }) => l.mediaType)).toEqual(DIFF_IDS.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'));
    expect(z.map((l: { blob: Buffer }) => l.blob.subarray(0, 4).equals(ZSTD_MAGIC))).toEqual([true, true]);
    expect(await Promise.all(z.map((l: { blob: Buffer }) => decompressed(l.blob)))).toEqual(DIFF_IDS);
    // a sync: the mirror has the image (gzip); --dest-compress-format zstd passes it by, as skopeo sync does; forced, it is copied again in zstd
    const sync = (extra: string[]) =>
      img('img-sync', [
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        ...extra,
        `${reg.host}/force/app`,
        `${reg.host}/forced`,
      ]);
    expect((await sync([])).status).toBe(0);
    const passed = await sync(['--dest-compress-format', 'zstd']);
    expect(records(passed.stdout).map((r) => r.status)).toEqual(['exists']);
    expect((await pushed(reg.host, 'forced/app', '1')).layers.map((l) => l.magic)).toEqual(['gzip', 'gzip']);
    const again = await sync(['--dest-compress-format', 'zstd', '--dest-force-compress-format']);
    expect(again.status, again.stderr).toBe(0);
    const mirror = await pushed(reg.host, 'forced/app', '1');
    expect(mirror.layers.map((l) => [l.magic, l.diffID])).toEqual(DIFF_IDS.map((d) => ['zstd', d]));
    expect(mirror.config).not.toBe(CONFIG); // an OCI config: zstd layers need an OCI manifest
  });

  it('--preserve-digests refuses a copy that would compress a layer, and the compression flags', async () => {
    const r = await img('img-copy', ['--dest-tls-verify=false', '--preserve-digests', `docker-archive:${ARCHIVE}`, `docker://${reg.host}/kept/app:1`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is stored uncompressed and docker://');
    expect(r.stderr).toContain('stores it gzip-compressed, which changes its digest, but --preserve-digests was given');
    expect((await get(reg.host, '/v2/kept/app/manifests/1')).status).toBe(404);
    for (const flag of ['--dest-compress', '--dest-decompress', '--dest-compress-format=zstd', '--dest-compress-level=3']) {
      const u = await img('img-copy', ['--preserve-digests', flag, `docker-archive:${ARCHIVE}`, `dir:${join(work, 'never')}`]);
      expect(u.status, flag).toBe(2);
      expect(u.stderr).toContain(`${flag.split('=')[0]} changes layer digests, which --preserve-digests forbids`);
    }
  });

  it('a re-run moves nothing: img-copy again, and img-sync twice from a layout of uncompressed layers', async () => {
    const again = await img('img-copy', ['--dest-tls-verify=false', `docker-archive:${ARCHIVE}`, `docker://${reg.host}/gz/app:1`]);
    expect(again.status, again.stderr).toBe(0);
    expect(records(again.stdout)[0]).toMatchObject({ status: 'exists', blobs: { copied: 0, mounted: 0 } });
    // A layout holding the layers uncompressed (…layer.v1.tar): a sync that asks for gzip compresses
    // them (a layout's layers are otherwise copied as they are), then finds them there.
    const layout = join(work, 'plain-layout');
    expect((await img('img-copy', ['--dest-decompress', `docker-archive:${ARCHIVE}`, `oci:${layout}:app:1`])).status).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const plainManifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    expect(plainManifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest])).toEqual(
      DIFF_IDS.map((d) => ['application/vnd.oci.image.layer.v1.tar', d]),
    );
    const sync = (extra: string[] = []) =>
      img('img-sync', [
        '--src',
        'oci',
        '--dest',
        'docker',
        '--dest-tls-verify=false',
        '--dest-compress-format',
        'gzip',
        ...extra,
        layout,
        `${reg.host}/synced`,
      ]);
    const first = await sync();
    expect(first.status, first.stderr).toBe(0);
    const synced = await pushed(reg.host, 'synced/app', '1');
    expect(synced.layers.map((l) => l.magic)).toEqual(['gzip', 'gzip']);
    expect(synced.layers.map((l) => l.diffID)).toEqual(DIFF_IDS);
    const second = await sync(['--progress=ndjson']);
    expect(second.status, second.stderr).toBe(0);
    const events = second.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'start' || e.event === 'done')).toEqual([]);
    expect(events.filter((e) => e.event === 'skip')).toHaveLength(3);
    // Without the flag a layout's layers go as they are, digests kept.
    const asIs = await img('img-copy', ['--dest-tls-verify=false', `oci:${layout}:app:1`, `docker://${reg.host}/as-is/app:1`]);
    expect(asIs.status, asIs.stderr).toBe(0);
    expect((await pushed(reg.host, 'as-is/app', '1')).manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(DIFF_IDS);
  });

  it('--dest-precompute-digests: a layer compressed on the way that the registry has is not uploaded (digested in a temp file first); nothing changes for blobs whose digest is known', async () => {
    const proxy: FaultProxy = await startFaultProxy(reg.host);
    // each run with a layer cache of its own, empty: only the flag can find the compressed layers
    const run = (args: string[], cache: string) =>
      execImg('img-copy', ['--dest-tls-verify=false', ...args], undefined, { ...s.env, IMGPIPE_CACHE_DIR: join(work, cache) });
    const uploads = (from: number) => proxy.seen.slice(from).filter((q) => q.method === 'POST' && q.url.includes('/blobs/uploads/'));
    try {
      const dest = `docker://${proxy.host}/pre/app:1`;
      expect((await run([`docker-archive:${ARCHIVE}`, dest], 'cache-1')).status).toBe(0);
      // again, the cache empty: without the flag both layers are compressed and uploaded again (the config is known: looked for, found)
      let at = proxy.seen.length;
      const plain = await run([`docker-archive:${ARCHIVE}`, dest], 'cache-2');
      expect(plain.status, plain.stderr).toBe(0);
      expect(uploads(at)).toHaveLength(2);
      // with it, nothing is uploaded: each layer is compressed into a temp file, digested, found
      at = proxy.seen.length;
      const pre = await run(['--dest-precompute-digests', '--progress=ndjson', `docker-archive:${ARCHIVE}`, dest], 'cache-3');
      expect(pre.status, pre.stderr).toBe(0);
      expect(uploads(at)).toEqual([]);
      const [rec] = records(pre.stdout);
      expect(rec!.blobs).toMatchObject({ copied: 0, existed: 3 });
      expect(Object.keys(rec!.layerUpdates).sort()).toEqual([...DIFF_IDS].sort());
      expect(pre.stderr.split('\n').filter((l) => l.includes('"event":"skip"'))).toHaveLength(3);
      expect(readdirSync(s.env.TMPDIR!).filter((f) => f.includes('spool-blob'))).toEqual([]);
      // a new repository: the layers uploaded from their temp files (and the config), each verified by the registry against its digest
      at = proxy.seen.length;
      const fresh = await run(['--dest-precompute-digests', `docker-archive:${ARCHIVE}`, `docker://${proxy.host}/pre/other:1`], 'cache-4');
      expect(fresh.status, fresh.stderr).toBe(0);
      expect(uploads(at)).toHaveLength(3);
      const stored = await pushed(reg.host, 'pre/other', '1');
      expect(stored.layers.map((l) => [l.magic, l.diffID])).toEqual(DIFF_IDS.map((d) => ['gzip', d]));
      // a copy that changes no layer: the same requests with the flag as without
      const requests = async (flags: string[], repo: string) => {
        const from = proxy.seen.length;
        const r = await run(['--src-tls-verify=false', ...flags, `docker://${proxy.host}/pre/app:1`, `docker://${proxy.host}/${repo}:1`], 'cache-5');
        expect(r.status, r.stderr).toBe(0);
        return proxy.seen.slice(from).map(
          (q) =>
            `${q.method} ${q.url
              .replace(repo, 'REPO')
              .replace(/\/uploads\/[^?]*/, '/uploads/ID')
              .replace(/_state=[^&]*/, '')}`,
        );
      };
      // (blobs move concurrently: the same requests, in any order)
      expect((await requests(['--dest-precompute-digests'], 'as-is-pre')).sort()).toEqual((await requests([], 'as-is-plain')).sort());
    } finally {
      await proxy.stop();
    }
  });

  it('a named docker-archive: source is no registry: a copy into the registry its name names sends no mount request and cancels no upload', async () => {
    const proxy: FaultProxy = await startFaultProxy(reg.host);
    try {
      const named = join(work, 'named.tar');
      await s.sk(['copy', `docker-archive:${ARCHIVE}`, `docker-archive:${named}:${proxy.host}/src/app:1`]);
      const r = await img('img-copy', ['--dest-tls-verify=false', `docker-archive:${named}:${proxy.host}/src/app:1`, `docker://${proxy.host}/dst/app:1`]);
      expect(r.status, r.stderr).toBe(0);
      expect(proxy.seen.filter((q) => q.url.includes('mount='))).toEqual([]);
      expect(proxy.seen.filter((q) => q.method === 'DELETE')).toEqual([]);
      expect(proxy.seen.filter((q) => q.method === 'PUT' && q.url.includes('/blobs/uploads/'))).toHaveLength(3);
    } finally {
      await proxy.stop();
    }
  });
});

const why = dockerdUnavailable();
it.runIf(why !== undefined)(`docker-daemon compression cases skipped: ${why}`, () => undefined);

describe.skipIf(why !== undefined)('docker-daemon → registry, with a real dockerd', () => {
  let d: Dockerd;
  beforeAll(async () => {
    d = await startDockerd();
    await must(d.docker(['load', '-i', ARCHIVE]), 'docker load');
  }, 120_000);
  afterAll(async () => {
    await d?.stop();
  }, 60_000);

  it("pushes gzip layers (zstd with --dest-compress-format) that decompress to the engine's diff IDs; skopeo reads them", async () => {
    const engine = JSON.parse((await must(d.docker(['image', 'inspect', 'app:1']), 'docker inspect')).stdout)[0];
    for (const [repo, extra, magic] of [
      ['daemon-gz', [], 'gzip'],
      ['daemon-zstd', ['--dest-compress-format', 'zstd'], 'zstd'],
    ] as const) {
      const r = await img('img-copy', [
        '--src-daemon-host',
        d.host,
        '--dest-tls-verify=false',
        ...extra,
        'docker-daemon:app:1',
        `docker://${reg.host}/${repo}/app:1`,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const p = await pushed(reg.host, `${repo}/app`, '1');
      expect(p.layers.map((l) => l.magic)).toEqual(engine.RootFS.Layers.map(() => magic));
      expect(p.layers.map((l) => l.diffID)).toEqual(engine.RootFS.Layers);
      await s.sk(['copy', '--src-tls-verify=false', `docker://${reg.host}/${repo}/app:1`, `dir:${join(work, `sk-${repo}`)}`]);
    }
    expect(JSON.parse((await s.sk(['inspect', '--tls-verify=false', `docker://${reg.host}/daemon-gz/app:1`])).stdout).Layers).toHaveLength(2);
    mkdirSync(join(work, 'unused'), { recursive: true });
  });
});
