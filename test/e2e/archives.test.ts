import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from '../../lib/transport/archive/write.js';
import { must, skopeo, umociImage } from '../helpers/images.js';
import { exec, img, records, ROOT, sh, tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-archives-');
const L = join(work, 'layout');
const sk = (args: string[]) => must(skopeo(args, work), `skopeo ${args.join(' ')}`);
const skRaw = async (ref: string) => (await sk(['inspect', '--raw', ref])).stdoutBytes;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const at = (name: string) => join(work, name);
const DRIVER = at('driver.mjs');

/** makeTar writes a tar file with tar-stream, entries given as they should appear (bad names included). */
async function makeTar(path: string, entries: { name: string; data?: Buffer | string; type?: 'symlink' | 'link'; linkname?: string }[]): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      if (e.type) pack.entry({ name: e.name, type: e.type, linkname: e.linkname! }, (err) => (err ? rej(err) : res()));
      else pack.entry({ name: e.name }, e.data ?? '', (err) => (err ? rej(err) : res()));
    });
  }
  pack.finalize();
  await done;
  writeFileSync(path, Buffer.concat(chunks));
}

/** getAll reads an image with img-manifest get and every blob with img-blob-get, checking each blob's digest. */
async function getAll(ref: string): Promise<Record<string, any>> {
  const r = await img('img-manifest', ['get', ref]);
  expect(r.stderr).toBe('');
  const [rec] = records(r.stdout);
  for (const b of [rec!.manifest.config, ...rec!.manifest.layers]) {
    const blob = await img('img-blob-get', [`${ref}@${b.digest}`]);
    expect(blob.status, blob.stderr).toBe(0);
    expect(sha256(blob.stdoutBytes)).toBe(b.digest);
    expect(blob.stdoutBytes.length).toBe(b.size);
  }
  return rec!;
}

const sourceManifest = (name: string) => JSON.parse(readFileSync(join(L, 'blobs', 'sha256', manifestDigest(name).slice(7)), 'utf8'));
function manifestDigest(name: string): string {
  const index = JSON.parse(readFileSync(join(L, 'index.json'), 'utf8'));
  return index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === name).digest;
}
const diffIDs = (name: string) => JSON.parse(readFileSync(join(L, 'blobs', 'sha256', sourceManifest(name).config.digest.slice(7)), 'utf8')).rootfs.diff_ids;

beforeAll(async () => {
  await umociImage(work, L, 'base');
  await umociImage(work, L, 'other');
  await sk(['copy', `oci:${L}:base`, `docker-archive:${at('sk-d.tar')}:app:1`]);
  await sk(['copy', `oci:${L}:base`, `oci-archive:${at('sk-o.tar')}:v1`]);
  // A docker save-style archive with one gzip-compressed layer file (docker save never compresses, but others do).
  const m = JSON.parse((await exec('tar', ['-xOf', at('sk-d.tar'), 'manifest.json'])).stdout);
  await must(
    sh(`set -e; mkdir ${at('gz')}; cd ${at('gz')}; tar -xf ${at('sk-d.tar')}; gzip -n < ${m[0].Layers[0]} > l0.tar.gz; chmod u+w manifest.json
        jq -c '.[0].Layers[0] = "l0.tar.gz"' manifest.json > m && mv m manifest.json; tar -cf ${at('gz.tar')} manifest.json l0.tar.gz ${m[0].Layers[1]} ${m[0].Config}`),
    'making gz.tar',
  );
  // A test-only driver around writeArchive, bundled like the commands, to write to /dev/stdout from another process.
  writeFileSync(
    at('driver.ts'),
    `import { writeArchive } from ${JSON.stringify(join(ROOT, 'lib/transport/archive/write.ts'))};
const [dest, ...imgs] = process.argv.slice(2);
writeArchive(dest!, imgs.map((s) => { const [ref, name] = s.split('='); return name ? { ref: ref!, name } : { ref: ref! }; }))
  .catch((e) => { process.stderr.write(e.message + '\\n'); process.exitCode = 1; });`,
  );
  await build({
    entryPoints: [at('driver.ts')],
    outfile: DRIVER,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  });
});

describe('what skopeo writes, imgpipe reads with the digest skopeo reports', () => {
  for (const ref of [
    () => `docker-archive:${at('sk-d.tar')}`,
    () => `docker-archive:${at('sk-d.tar')}:app:1`,
    () => `docker-archive:${at('sk-d.tar')}:@0`,
    () => `docker-archive:${at('gz.tar')}`,
    () => `oci-archive:${at('sk-o.tar')}:v1`,
    () => `oci-archive:${at('sk-o.tar')}`,
  ]) {
    it(ref().replace(`${work}/`, ''), async () => {
      const rec = await getAll(ref());
      const raw = await skRaw(ref());
      expect(Buffer.from(rec.raw, 'utf8').equals(raw)).toBe(true);
      expect(rec.digest).toBe(sha256(raw));
      expect(rec.digest).toBe((await sk(['manifest-digest', await writeTmp(raw)])).stdout.trim());
    });
  }

  it('oci-archive :@N, and a docker-archive compressed layer served uncompressed under its diff ID, as skopeo does', async () => {
    const byIndex = records((await img('img-manifest', ['get', `oci-archive:${at('sk-o.tar')}:@0`])).stdout)[0]!;
    expect(byIndex.digest).toBe(sha256(await skRaw(`oci-archive:${at('sk-o.tar')}:v1`)));
    const gz = records((await img('img-manifest', ['get', `docker-archive:${at('gz.tar')}`])).stdout)[0]!;
    expect(gz.manifest.layers.map((l: any) => l.digest)).toEqual(diffIDs('base'));
    expect(gz.manifest.layers.every((l: any) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true);
    const missing = await img('img-manifest', ['get', `docker-archive:${at('sk-d.tar')}:nope:2`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no image tagged docker.io/library/nope:2');
    expect(missing.stderr).toContain('tags here: docker.io/library/app:1');
  });

  it('an archive on a pipe (/dev/stdin) is read once, spooled to a temp file', async () => {
    const r = await sh(`cat ${at('sk-d.tar')} | img-manifest get docker-archive:/dev/stdin | jq -r .digest`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sha256(await skRaw(`docker-archive:${at('sk-d.tar')}`)));
    const layer = diffIDs('base')[1];
    const b = await sh(`cat ${at('sk-o.tar')} | img-manifest get oci-archive:/dev/stdin | jq -r .manifest.config.digest`);
    expect(b.stdout.trim()).toBe(sourceManifest('base').config.digest);
    const blob = await sh(`cat ${at('gz.tar')} | img-blob-get docker-archive:/dev/stdin@${layer} | sha256sum`);
    expect(blob.stdout.split(' ')[0]).toBe(layer.slice(7));
  });

  it('archives refuse blob-by-blob writes with UNSUPPORTED', async () => {
    const r = await sh(`echo hi | img-blob-put oci-archive:${at('nope.tar')}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^img-blob-put: .*written whole, in one pass, by img-manifest put/);
    expect(existsSync(at('nope.tar'))).toBe(false);
  });
});

async function writeTmp(b: Buffer): Promise<string> {
  const p = at(`m-${sha256(b).slice(7, 19)}.json`);
  writeFileSync(p, b);
  return p;
}

describe('what imgpipe writes, skopeo reads', () => {
  it('oci-archive with two named images: skopeo inspect --raw gives the source bytes; skopeo copy reads it back', async () => {
    const dest = at('ours-o.tar');
    await writeArchive(`oci-archive:${dest}`, [
      { ref: `oci:${L}:base`, name: 'base' },
      { ref: `oci:${L}:other`, name: 'other' },
    ]);
    for (const name of ['base', 'other']) {
      const raw = await skRaw(`oci-archive:${dest}:${name}`);
      expect(sha256(raw)).toBe(manifestDigest(name));
      await sk(['copy', `oci-archive:${dest}:${name}`, `oci:${at('back')}:${name}`]);
      await getAll(`oci-archive:${dest}:${name}`);
    }
    const names = (await exec('tar', ['-tf', dest])).stdout.trim().split('\n');
    expect(names[0]).toBe('oci-layout');
    expect(names.at(-1)).toBe('index.json');
    expect(names.filter((n) => n.startsWith('blobs/sha256/') && n.length > 14).length).toBe(new Set(names).size - 4);
    expect(readdirSync(work).filter((n) => n.startsWith('.imgpipe-tmp-'))).toEqual([]);
  });

  it('docker-archive: the same manifest.json, repositories and layer files skopeo writes; skopeo reads each image by @N and tag', async () => {
    const dest = at('ours-d.tar');
    await writeArchive(`docker-archive:${dest}:app:1`, [{ ref: `oci:${L}:base` }]);
    const list = async (f: string) => (await exec('tar', ['-tf', f])).stdout.trim().split('\n').sort();
    expect(await list(dest)).toEqual(await list(at('sk-d.tar')));
    for (const f of await list(dest)) {
      const ours = (await exec('tar', ['-xOf', dest, f])).stdoutBytes;
      expect(ours.equals((await exec('tar', ['-xOf', at('sk-d.tar'), f])).stdoutBytes), f).toBe(true);
    }
    const multi = at('ours-multi.tar');
    await writeArchive(`docker-archive:${multi}`, [
      { ref: `oci:${L}:base`, name: 'app:1' },
      { ref: `oci:${L}:other`, name: 'quay.io/team/other:2' },
      { ref: `oci:${L}:base`, name: 'app:latest' },
    ]);
    const manifestJson = JSON.parse((await exec('tar', ['-xOf', multi, 'manifest.json'])).stdout);
    expect(manifestJson.map((i: any) => i.RepoTags)).toEqual([['docker.io/library/app:1', 'docker.io/library/app:latest'], ['quay.io/team/other:2']]);
    for (const [sel, name] of [
      ['@0', 'base'],
      ['@1', 'other'],
      ['quay.io/team/other:2', 'other'],
      ['app', 'base'],
    ] as const) {
      const ref = `docker-archive:${multi}:${sel}`;
      const theirs = JSON.parse((await sk(['inspect', '--raw', ref])).stdout);
      expect(theirs.config.digest).toBe(sourceManifest(name).config.digest);
      expect(theirs.layers.map((l: any) => l.digest)).toEqual(diffIDs(name));
      const ours = await getAll(ref);
      expect(ours.digest).toBe(sha256(await skRaw(ref)));
    }
    await sk(['copy', `docker-archive:${multi}:@1`, `oci:${at('back')}:from-docker`]);
    const none = await img('img-manifest', ['get', `docker-archive:${multi}`]);
    expect(none.stderr).toContain('the archive holds 2 images');
  });

  it('writes a valid tar to /dev/stdout and into a FIFO as it goes', async () => {
    const out = await sh(`node ${DRIVER} oci-archive:/dev/stdout oci:${L}:base=base | tar -tf -`);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain('index.json');
    const fifo = at('fifo');
    await must(exec('mkfifo', [fifo]), 'mkfifo');
    const reader = new Promise<string>((res) => {
      const t = spawn('tar', ['-tf', fifo]);
      let s = '';
      t.stdout.on('data', (b) => (s += b));
      t.on('close', () => res(s));
    });
    await writeArchive(`docker-archive:${fifo}:app:1`, [{ ref: `oci:${L}:base` }]);
    expect((await reader).split('\n')).toContain('manifest.json');
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('docker-archive refuses an index, naming it and suggesting --platform; oci-archive keeps it', async () => {
    const LI = at('layout-index');
    cpSync(L, LI, { recursive: true });
    const child = (n: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifestDigest(n),
      size: statSync(join(L, 'blobs', 'sha256', manifestDigest(n).slice(7))).size,
      platform: { architecture: n === 'base' ? 'amd64' : 'arm64', os: 'linux' },
    });
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [child('base'), child('other')] }),
    );
    writeFileSync(join(LI, 'blobs', 'sha256', sha256(bytes).slice(7)), bytes);
    const index = JSON.parse(readFileSync(join(LI, 'index.json'), 'utf8'));
    index.manifests.push({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: sha256(bytes),
      size: bytes.length,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' },
    });
    writeFileSync(join(LI, 'index.json'), JSON.stringify(index));
    const dest = at('index-d.tar');
    await expect(writeArchive(`docker-archive:${dest}`, [{ ref: `oci:${LI}:multi` }])).rejects.toThrow(
      /oci:.*layout-index:multi.*multi-platform index.*--platform/,
    );
    expect(existsSync(dest)).toBe(false);
    await writeArchive(`oci-archive:${at('index-o.tar')}:multi`, [{ ref: `oci:${LI}:multi` }]);
    expect((await skRaw(`oci-archive:${at('index-o.tar')}:multi`)).equals(bytes)).toBe(true);
    const all = records((await img('img-manifest', ['get', '--all', `oci-archive:${at('index-o.tar')}:multi`])).stdout);
    expect(all.map((r) => r.digest)).toEqual([manifestDigest('base'), manifestDigest('other'), sha256(bytes)]);
  });

  it('a source blob that fails its digest aborts the write: nothing at PATH, no temp file left', async () => {
    const LB = at('layout-bad');
    cpSync(L, LB, { recursive: true });
    const layer = sourceManifest('base').layers[1].digest.slice(7);
    const p = join(LB, 'blobs', 'sha256', layer);
    const b = readFileSync(p);
    b[b.length - 1] ^= 0xff;
    writeFileSync(p, b);
    for (const dest of [`oci-archive:${at('bad-o.tar')}`, `docker-archive:${at('bad-d.tar')}:app:1`]) {
      await expect(writeArchive(dest, [{ ref: `oci:${LB}:base` }])).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    }
    expect(existsSync(at('bad-o.tar'))).toBe(false);
    expect(existsSync(at('bad-d.tar'))).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith('.imgpipe-tmp-'))).toEqual([]);
    const r = await sh(`node ${DRIVER} oci-archive:/dev/stdout oci:${LB}:base | tar -tf - >/dev/null`);
    expect(r.status).not.toBe(0);
  });
});

describe('bad archives: one-line errors naming the archive and the entry', () => {
  const index = JSON.stringify({ schemaVersion: 2, manifests: [] });
  const cases: [string, { name: string; data?: string; type?: 'symlink' | 'link'; linkname?: string }[], RegExp][] = [
    [
      'dotdot',
      [
        { name: 'oci-layout', data: '{}' },
        { name: '../evil', data: 'x' },
        { name: 'index.json', data: index },
      ],
      /entry "\.\.\/evil" has a "\.\." component/,
    ],
    [
      'absolute',
      [
        { name: 'oci-layout', data: '{}' },
        { name: '/tmp/evil', data: 'x' },
        { name: 'index.json', data: index },
      ],
      /entry "\/tmp\/evil" has an absolute path/,
    ],
    [
      'symlink',
      [
        { name: 'oci-layout', data: '{}' },
        { name: 'blobs/sha256/x', type: 'symlink', linkname: '../../../etc/passwd' },
        { name: 'index.json', data: index },
      ],
      /symlink "blobs\/sha256\/x" points outside the archive/,
    ],
    [
      'hardlink',
      [
        { name: 'oci-layout', data: '{}' },
        { name: 'index.json', type: 'link', linkname: '../x' },
      ],
      /hard link "index.json" points outside the archive/,
    ],
    [
      'duplicate',
      [
        { name: 'oci-layout', data: '{}' },
        { name: 'index.json', data: index },
        { name: './index.json', data: index },
      ],
      /entry "index.json" appears more than once/,
    ],
    [
      'oversized',
      [
        { name: 'oci-layout', data: '{}' },
        { name: 'index.json', data: ' '.repeat(4 * 1024 * 1024 + 1) },
      ],
      /index.json \(entry "index.json"\) is 4194305 bytes, over the 4194304-byte limit/,
    ],
  ];
  for (const [what, entries, message] of cases) {
    it(what, async () => {
      const file = at(`bad-${what}.tar`);
      await makeTar(file, entries);
      for (const ref of [`oci-archive:${file}`, `docker-archive:${file}`]) {
        const r = await img('img-manifest', ['get', ref]);
        expect(r.status).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        if (!ref.startsWith('docker-archive') || what !== 'oversized') {
          expect(lines[0]).toMatch(message);
          expect(lines[0]).toContain(`archive ${file}`);
        }
      }
    });
  }
  it('nothing is written outside (or anywhere) while reading', () => {
    expect(existsSync(join(work, '..', 'evil'))).toBe(false);
    expect(existsSync('/tmp/evil')).toBe(false);
  });

  it('a truncated archive', async () => {
    const file = at('truncated.tar');
    cpSync(at('sk-o.tar'), file);
    truncateSync(file, Math.floor(statSync(file).size / 2) + 100);
    const r = await img('img-manifest', ['get', `oci-archive:${file}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/archive .*truncated\.tar: truncated/);
    const notTar = at('not.tar');
    writeFileSync(notTar, 'x'.repeat(2048));
    expect((await img('img-manifest', ['get', `docker-archive:${notTar}`])).stderr).toMatch(/not\.tar: is not a tar archive/);
  });
});
