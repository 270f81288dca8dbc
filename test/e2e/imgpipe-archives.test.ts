// imgpipe against real skopeo 1.9.3 on archives and layouts (issue 14.2): list-tags of a
// docker-archive: file (img-tags --json and plain), copy --additional-tag into a docker-archive:
// (img-copy and img-manifest put --additional-tag), and delete from an oci: layout (skopeo 1.9.3
// cannot: its words and rules are current containers/image's, read from its source).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { tarOf } from '../helpers/fixtures.js';
import { BIN, exec, have, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ready = ['skopeo', 'tar', 'xz', 'bzip2', 'zstd'].every(have);
const work = tempDir('imgpipe-archives-');
const box = sandbox(work);
const at = (...p: string[]) => join(work, ...p);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const link = at('bin', 'skopeo');
mkdirSync(at('bin'), { recursive: true });
symlinkSync(join(BIN, 'imgpipe'), link);

/** ip runs imgpipe as skopeo; sk runs skopeo 1.9.3; both in the sandbox. */
const ip = (args: string[]) => exec(link, args, undefined, box.env);
const sk = (args: string[]) => box.skopeo(args);
/** logs are stderr's lines without logrus's time field. */
const logs = (r: Result) => r.stderr.replace(/^time="[^"]*" /gm, '');
const sh = (script: string) => exec('/bin/bash', ['-o', 'pipefail', '-c', script], undefined, box.env);
async function must(p: Promise<Result>, what: string): Promise<Result> {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
}

/** dirImage writes a dir: image of one gzip layer (a tar of one file), a Docker schema 2 manifest. */
function dirImage(dir: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  const t = tarOf('file.txt', `${text}\n`);
  const layer = gzipSync(t);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-03-04T05:06:07.5Z',
      config: { Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256(t)] },
    }),
  );
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
  });
  writeFileSync(join(dir, sha256(layer).slice(7)), layer);
  writeFileSync(join(dir, sha256(config).slice(7)), config);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
}

/** entry reads one file of a tar archive. */
const entry = async (archive: string, name: string) => (await must(exec('tar', ['-xOf', archive, name]), `tar -xOf ${archive} ${name}`)).stdout;

beforeAll(async () => {
  if (!ready) return;
  dirImage(at('app'), 'app');
  dirImage(at('other'), 'other');
}, 60_000);

describe.skipIf(!ready)('list-tags docker-archive:FILE, as skopeo 1.9.3', () => {
  const MULTI = at('multi.tar');
  beforeAll(async () => {
    // skopeo writes one image; three items of manifest.json make a multi-image archive: names spelled
    // two ways (the second prints as the first, as containers/image's ManifestTagsForReference
    // gives it), an unnamed image (@1), and a name the first image holds as well.
    await must(sk(['copy', 'dir:' + at('app'), `docker-archive:${at('one.tar')}:app:1`]), 'skopeo copy');
    mkdirSync(at('multi'));
    await must(exec('tar', ['-C', at('multi'), '-xf', at('one.tar')]), 'untar');
    const [item] = JSON.parse(readFileSync(at('multi', 'manifest.json'), 'utf8'));
    const items = [
      { ...item, RepoTags: ['busybox:latest', 'docker.io/library/busybox:latest', 'example.com/x/y:1'] },
      { ...item, RepoTags: [] },
      { ...item, RepoTags: ['docker.io/library/busybox:latest', 'other:2'] },
    ];
    writeFileSync(at('multi', 'manifest.json'), JSON.stringify(items));
    await must(sh(`cd ${at('multi')} && tar -cf ${MULTI} * && for c in gzip bzip2 xz zstd; do $c -c ${MULTI} > ${MULTI}.$c; done`), 'tar');
  }, 60_000);

  it('prints what skopeo prints, byte for byte, for a plain and a compressed archive (stdout and exit status)', async () => {
    const want = await sk(['list-tags', `docker-archive:${MULTI}`]);
    expect(want.status, want.stderr).toBe(0);
    expect(JSON.parse(want.stdout).Tags).toEqual(['busybox:latest', 'busybox:latest', 'example.com/x/y:1', '@1', 'busybox:latest', 'other:2']);
    for (const file of [MULTI, `${MULTI}.bzip2`, `${MULTI}.xz`, `${MULTI}.zstd`]) {
      const [o, t] = await Promise.all([ip(['list-tags', `docker-archive:${file}`]), sk(['list-tags', `docker-archive:${file}`])]);
      expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }, file).toEqual({ status: t.status, stdout: t.stdout, stderr: '' });
    }
    // skopeo 1.9.3 fails on a gzip'd archive ("loading tar component manifest.json: unexpected EOF",
    // fixed since); containers/image reads gzip as it reads xz, and so does imgpipe.
    const gz = await ip(['list-tags', `docker-archive:${MULTI}.gzip`]);
    expect({ status: gz.status, stdout: gz.stdout }).toEqual({ status: 0, stdout: want.stdout });
    // the reference's own name or @N does not narrow skopeo's listing
    for (const ref of [`docker-archive:${MULTI}:other:2`, `docker-archive:${MULTI}:@1`]) {
      const [o, t] = await Promise.all([ip(['list-tags', ref]), sk(['list-tags', ref])]);
      expect(o.stdout, ref).toBe(t.stdout);
    }
  });

  it('skopeo systemtest testdata: an xz archive of two images (list-tags: from a docker-archive file)', async () => {
    const file = at('two.tar.xz');
    // two images named as in skopeo's testdata/docker-two-images.tar.xz, xz-compressed as it is
    await must(sk(['copy', 'dir:' + at('other'), `docker-archive:${at('two-b.tar')}:example.com/empty/but:different`]), 'skopeo copy');
    mkdirSync(at('two'));
    await must(exec('tar', ['-C', at('two'), '-xf', at('one.tar')]), 'untar');
    await must(exec('tar', ['-C', at('two'), '-xf', at('two-b.tar'), '--exclude', 'manifest.json', '--exclude', 'repositories']), 'untar');
    const a = JSON.parse(readFileSync(at('multi', 'manifest.json'), 'utf8'))[0];
    const b = JSON.parse((await entry(at('two-b.tar'), 'manifest.json')) || '[]')[0];
    writeFileSync(at('two', 'manifest.json'), JSON.stringify([{ ...a, RepoTags: ['example.com/empty:latest'] }, b]));
    await must(sh(`cd ${at('two')} && tar -cf - * | xz > ${file}`), 'tar');
    const [o, t] = await Promise.all([ip(['list-tags', `docker-archive:${file}`]), sk(['list-tags', `docker-archive:${file}`])]);
    expect(o.stdout).toBe('{\n    "Tags": [\n        "example.com/empty:latest",\n        "example.com/empty/but:different"\n    ]\n}\n');
    expect(o.stdout).toBe(t.stdout);
    // img-tags --json prints the same; plain img-tags one record per name, which img-manifest get reads
    const json = await box.img('img-tags', ['--json', `docker-archive:${file}`]);
    expect(json.stdout).toBe(t.stdout);
    const plain = await box.img('img-tags', [`docker-archive:${file}`]);
    expect(records(plain.stdout)).toEqual([
      { ref: `docker-archive:${file}:example.com/empty:latest` },
      { ref: `docker-archive:${file}:example.com/empty/but:different` },
    ]);
    const got = await sh(`${BIN}/img-tags docker-archive:${file} | ${BIN}/img-manifest get`);
    expect(got.status, got.stderr).toBe(0);
    const digests = records(got.stdout).map((r) => r.digest);
    for (const [i, name] of ['example.com/empty:latest', 'example.com/empty/but:different'].entries()) {
      const raw = await sk(['inspect', '--raw', `docker-archive:${file}:${name}`]);
      expect(digests[i], name).toBe(sha256(raw.stdoutBytes));
    }
  });

  it('plain img-tags lists each name as a record, @N for an unnamed image, tag filters on the tag of each name', async () => {
    const r = await box.img('img-tags', [`docker-archive:${MULTI}`]);
    expect(r.status, r.stderr).toBe(0);
    const refs = records(r.stdout).map((x) => x.ref);
    const docker = (n: string) => `docker-archive:${MULTI}:${n}`;
    expect(refs).toEqual([
      docker('docker.io/library/busybox:latest'),
      docker('docker.io/library/busybox:latest'),
      docker('example.com/x/y:1'),
      `docker-archive:${MULTI}:@1`,
      docker('docker.io/library/busybox:latest'),
      docker('docker.io/library/other:2'),
    ]);
    const filtered = await box.img('img-tags', [`docker-archive:${MULTI}`, '--regex', '^[0-9]+$']);
    // (as for oci:, the images without a tag come after those the filters kept)
    expect(records(filtered.stdout).map((x) => x.ref)).toEqual([
      docker('example.com/x/y:1'),
      docker('docker.io/library/other:2'),
      `docker-archive:${MULTI}:@1`,
    ]);
    const json = await box.img('img-tags', ['--json', `docker-archive:${MULTI}`, '--regex', '^[0-9]+$']);
    expect(JSON.parse(json.stdout)).toEqual({ Tags: ['example.com/x/y:1', '@1', 'other:2'] });
    // a reference that names one image lists that one
    const one = await box.img('img-tags', [docker('other:2')]);
    expect(records(one.stdout)).toEqual([{ ref: docker('docker.io/library/other:2') }]);
  });

  it('an xz or bzip2 archive where the command is missing is refused naming its Debian package, nothing left behind', async () => {
    // a PATH that has node and nothing else
    const only = at('only-node');
    mkdirSync(only, { recursive: true });
    symlinkSync(process.execPath, join(only, 'node'));
    const tmp = at('xz-tmp');
    mkdirSync(tmp, { recursive: true });
    for (const [ext, cmd, pkg] of [
      ['xz', 'xz', 'xz-utils'],
      ['bzip2', 'bzip2', 'bzip2'],
    ]) {
      const r = await exec(join(BIN, 'img-tags'), ['--json', `docker-archive:${MULTI}.${ext}`], undefined, { ...box.env, PATH: only, TMPDIR: tmp });
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: '' });
      expect(r.stderr).toBe(`img-tags: archive ${MULTI}.${ext} is ${ext}-compressed: reading it needs the ${cmd} command (Debian's ${pkg} package)\n`);
    }
    expect(readdirSync(tmp)).toEqual([]);
    // and with the command, a corrupt one is refused as such
    const bad = at('corrupt.tar.xz');
    writeFileSync(bad, Buffer.concat([readFileSync(`${MULTI}.xz`).subarray(0, 64), Buffer.alloc(64, 1)]));
    const r = await exec(join(BIN, 'img-tags'), ['--json', `docker-archive:${bad}`], undefined, { ...box.env, TMPDIR: tmp });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^img-tags: archive ${bad} is not valid xz: .+\n$`));
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('failures in skopeo words: a transport without tags, a missing file, a file that is no archive (exit 1)', async () => {
    const cases = [`oci:${at('nolayout')}`, `docker-archive:${at('missing.tar')}`, `docker-archive:${at('app', 'manifest.json')}`];
    for (const ref of cases) {
      const [o, t] = await Promise.all([ip(['list-tags', ref]), sk(['list-tags', ref])]);
      expect(o.status, ref).toBe(t.status);
      expect(o.stdout).toBe('');
      expect(logs(o)).toMatch(/^level=fatal msg=".+"\n$/);
    }
    const o = await ip(['list-tags', `oci:${at('nolayout')}`]);
    expect(logs(o)).toBe(logs(await sk(['list-tags', `oci:${at('nolayout')}`])));
    expect(logs(await ip(['list-tags', `docker-archive:${at('missing.tar')}`]))).toBe(`level=fatal msg="archive ${at('missing.tar')} does not exist"\n`);
    const bad = await box.img('img-tags', ['--json', `docker-archive:${at('app', 'manifest.json')}`]);
    expect({ status: bad.status, stderr: bad.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(/^img-tags: archive .*manifest\.json: truncated/) });
  });
});

describe.skipIf(!ready)('copy --additional-tag into a docker-archive:, as skopeo 1.9.3', () => {
  it('writes the manifest.json and repositories skopeo writes, byte for byte, and the same files', async () => {
    const tags = ['--additional-tag', 'busybox:mine', '--additional-tag', 'example.com/x/y:2,other:3', '--additional-tag', 'busybox:latest'];
    const [mine, theirs] = [at('at-ip.tar'), at('at-sk.tar')];
    const [o, t] = await Promise.all([
      ip(['copy', ...tags, `dir:${at('app')}`, `docker-archive:${mine}:busybox:latest`]),
      sk(['copy', ...tags, `dir:${at('app')}`, `docker-archive:${theirs}:busybox:latest`]),
    ]);
    // (1.9.3 prints "Storing signatures" where there are none; current skopeo, and imgpipe, do not)
    expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }).toEqual({
      status: t.status,
      stdout: t.stdout.replace('Storing signatures\n', ''),
      stderr: '',
    });
    expect(o.stdout).toMatch(/^Copying blob sha256:/m);
    const names = (await must(exec('tar', ['-tf', theirs]), 'tar -t')).stdout.split('\n').filter((n) => n !== '');
    expect((await must(exec('tar', ['-tf', mine]), 'tar -t')).stdout.split('\n').filter((n) => n !== '')).toEqual(names);
    for (const n of names.filter((x) => !x.endsWith('layer.tar'))) expect(await entry(mine, n), n).toBe(await entry(theirs, n));
    expect(JSON.parse(await entry(mine, 'manifest.json'))[0].RepoTags).toEqual([
      'docker.io/library/busybox:latest',
      'docker.io/library/busybox:mine',
      'example.com/x/y:2',
      'docker.io/library/other:3',
    ]);
    expect(Object.keys(JSON.parse(await entry(mine, 'repositories')))).toEqual(['docker.io/library/busybox', 'docker.io/library/other', 'example.com/x/y']);
    // each name reads the image back, with our reader and with skopeo, at the same digest
    for (const name of ['busybox:mine', 'example.com/x/y:2', 'other:3', 'busybox']) {
      const want = await must(sk(['inspect', '--raw', `docker-archive:${theirs}:${name}`]), `skopeo inspect ${name}`);
      const skOfMine = await must(sk(['inspect', '--raw', `docker-archive:${mine}:${name}`]), `skopeo inspect ours ${name}`);
      const got = await box.img('img-manifest', ['get', `docker-archive:${mine}:${name}`]);
      expect(got.status, got.stderr).toBe(0);
      expect(records(got.stdout)[0]!.digest, name).toBe(sha256(want.stdoutBytes));
      expect(skOfMine.stdout).toBe(want.stdout);
    }
  });

  it('refuses what skopeo refuses, in its words; and, where skopeo ignores the names, refuses them too before anything is written', async () => {
    for (const tag of ['busybox', 'BAD:x']) {
      const [o, t] = await Promise.all([
        ip(['copy', '--additional-tag', tag, `dir:${at('app')}`, `docker-archive:${at('never.tar')}`]),
        sk(['copy', '--additional-tag', tag, `dir:${at('app')}`, `docker-archive:${at('never.tar')}`]),
      ]);
      expect(o.status, tag).toBe(t.status);
      expect(o.stdout).toBe('');
      expect(logs(o)).toMatch(tag === 'busybox' ? logs(t) : /^level=fatal msg="error parsing additional-tag 'BAD:x': .*lowercase.*"\n$/);
    }
    // skopeo copies to oci: and says nothing of the names; imgpipe refuses, and writes nothing
    const layout = at('at-oci');
    const t = await sk(['copy', '-q', '--additional-tag', 'a:1', `dir:${at('app')}`, `oci:${at('at-oci-sk')}:x`]);
    expect(t.status).toBe(0);
    const o = await ip(['copy', '-q', '--additional-tag', 'a:1', `dir:${at('app')}`, `oci:${layout}:x`]);
    expect({ status: o.status, stderr: logs(o) }).toEqual({
      status: 1,
      stderr: `level=fatal msg="--additional-tag: oci:${layout}:x keeps no names of its own (additional tags are for docker-archive: destinations)"\n`,
    });
    expect((await exec('ls', [layout])).status).not.toBe(0);
    // a digest in a name is refused (skopeo drops it silently)
    const d = await ip(['copy', '--additional-tag', `a:1@${sha256('x')}`, `dir:${at('app')}`, `docker-archive:${at('never.tar')}`]);
    expect(logs(d)).toMatch(/holds a digest/);
    // the names are of one image: a second image into the same archive under them is refused, and no archive is left
    const two = at('two-images.tar');
    const r = await sh(
      `(${BIN}/img-manifest get dir:${at('app')}; ${BIN}/img-manifest get dir:${at('other')}) | ${BIN}/img-manifest put --additional-tag extra:1 docker-archive:${two}`,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--additional-tag names one image/);
    expect((await exec('ls', [two])).status).not.toBe(0);
  });
});

describe.skipIf(!ready)('delete oci:DIR:REF, as current skopeo (1.9.3 cannot)', () => {
  it('removes the name and the blobs no other image uses; skopeo reads what is left', async () => {
    const L = at('del-layout');
    for (const [src, name] of [
      ['app', 'a1'],
      ['app', 'a2'],
      ['other', 'b'],
    ] as const)
      await must(sk(['copy', '-q', `dir:${at(src)}`, `oci:${L}:${name}`]), `skopeo copy ${name}`);
    // skopeo 1.9.3 says it cannot; imgpipe does as current skopeo: nothing on stdout, exit 0
    expect(logs(await sk(['delete', `oci:${L}:a1`]))).toMatch(/Deleting images not implemented for oci: images/);
    const files = () => readdirSync(join(L, 'blobs', 'sha256')).sort();
    const before = files();
    const o = await ip(['delete', `oci:${L}:a1`]);
    expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(files()).toEqual(before); // a2 is the same image
    const r = await box.img('img-manifest', ['delete', `oci:${L}:a2`]);
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ ref: `oci:${L}:a2`, status: 'deleted' });
    const left = files();
    expect(left).toHaveLength(3); // b's manifest, config and layer
    expect(left).not.toContain(String(rec!.digest).slice(7));
    const index = JSON.parse(readFileSync(join(L, 'index.json'), 'utf8'));
    expect(index.manifests.map((d: any) => d.annotations['org.opencontainers.image.ref.name'])).toEqual(['b']);
    await must(sk(['inspect', `oci:${L}:b`]), 'skopeo inspect b');
    await must(sk(['copy', '-q', `oci:${L}:b`, `dir:${at('del-b')}`]), 'skopeo copy b');
    expect(readdirSync(L).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it("failures in current skopeo's words: a name not there exits 2; @N past the end, no name among several, no layout exit 1", async () => {
    const L = at('del-fail');
    for (const name of ['x', 'y']) await must(sk(['copy', '-q', `dir:${at('app')}`, `oci:${L}:${name}`]), `skopeo copy ${name}`);
    const cases: [string, number, string][] = [
      [`oci:${L}:nope`, 2, 'no descriptor found for reference \\"nope\\"'],
      [`oci:${L}:@7`, 1, 'index 7 is too large, only 2 entries available'],
      [`oci:${L}`, 1, 'more than one image in oci, choose an image'],
      [`oci:${at('del-none')}:x`, 1, `${at('del-none')} is not an OCI image layout (no oci-layout file)`],
    ];
    const before = readFileSync(join(L, 'index.json'), 'utf8');
    for (const [ref, status, msg] of cases) {
      const o = await ip(['delete', ref]);
      expect({ status: o.status, stdout: o.stdout }, ref).toEqual({ status, stdout: '' });
      expect(logs(o), ref).toContain(`level=fatal msg="`);
      expect(logs(o), ref).toContain(msg);
    }
    expect(readFileSync(join(L, 'index.json'), 'utf8')).toBe(before);
    // img-manifest delete: an error record naming the image, exit 1
    const r = await box.img('img-manifest', ['delete', `oci:${L}:nope`]);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error).toMatchObject({ code: 'MANIFEST_UNKNOWN', message: expect.stringContaining('no image named "nope"') });
  });
});
