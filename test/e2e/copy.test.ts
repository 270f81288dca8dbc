// img-copy and img-manifest put against a real registry, with real skopeo as the oracle: every copy
// is made by both, and the digests skopeo reads back must agree.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/fixtures.js';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-copy-e2e-');
const L = join(work, 'layout');
/** Credentials isolated in the work dir; TMPDIR too, so that spool files left behind would show. */
const box = sandbox(work);
const TMP = box.env.TMPDIR!;
const { img, sh, sk } = box;
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
/** copy runs img-copy against the plain-http test registry. */
const copy = (...args: string[]) => img('img-copy', ['--tls-verify=false', ...args]);
/** skCopy is skopeo copy of the same. */
const skCopy = (...args: string[]) => sk(['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', ...args]);
/** readBack is the digest of the manifest skopeo reads at ref. */
const readBack = async (ref: string) =>
  sha256((await sk(['inspect', '--raw', ...(ref.startsWith('docker://') ? ['--tls-verify=false'] : []), ref])).stdoutBytes);
/** oneLine asserts a failure that prints exactly one line on stderr, without a stack. */
const oneLine = (r: Result, text: string) => {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(text);
  expect(r.stderr).not.toMatch(/\n\s+at |node:internal/);
};
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.imgpipe-tmp'));

let reg: Registry;
let H: string;
const src: Record<string, string> = {};
const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';

beforeAll(async () => {
  for (const d of ['out', 'sk']) mkdirSync(join(work, d), { recursive: true });
  reg = await startRegistry();
  H = reg.host;
  // Two single-platform images made by umoci, and an index over both made with img-manifest put.
  for (const arch of ['amd64', 'arm64']) {
    await umociImage(work, L, arch);
    await must(exec('umoci', ['config', '--image', `${L}:${arch}`, '--architecture', arch, '--os', 'linux']), 'umoci config');
  }
  const r = await sh(`img-manifest get oci:${L}:amd64 oci:${L}:arm64 | jq -c '{mediaType, digest, size}' \\
    | jq -sc '{manifest: {schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [.[0] + {platform: {architecture: "amd64", os: "linux"}}, .[1] + {platform: {architecture: "arm64", os: "linux"}}]}}' \\
    | img-manifest put oci:${L}:multi`);
  ok(r);
  src.oci = `docker://${H}/src/app:1`;
  src.v2s2 = `docker://${H}/src/v2:1`;
  src.multi = `docker://${H}/src/multi:1`;
  await skCopy(`oci:${L}:${hostArch}`, src.oci);
  await skCopy('--format', 'v2s2', `oci:${L}:${hostArch}`, src.v2s2);
  await skCopy('--all', `oci:${L}:multi`, src.multi);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
});

const out = (name: string) => join(work, 'out', name);
const theirs = (name: string) => join(work, 'sk', name);

describe('img-copy gives the digests skopeo copy gives', () => {
  const kinds: Record<string, (base: string, name: string) => string> = {
    registry: (base, name) => (base === 'out' ? `docker://${H}/ours/${name}:1` : `docker://${H}/theirs/${name}:1`),
    dir: (base, name) => `dir:${join(work, base, `${name}.dir`)}`,
    oci: (base, name) => `oci:${join(work, base, `${name}.layout`)}:x`,
    'oci-archive': (base, name) => `oci-archive:${join(work, base, `${name}.oci.tar`)}:x`,
    'docker-archive': (base, name) => `docker-archive:${join(work, base, `${name}.docker.tar`)}:app:1`,
  };
  for (const format of ['oci', 'v2s2']) {
    it(`a ${format} image from the registry to each kind of destination`, async () => {
      await Promise.all(
        Object.entries(kinds).map(async ([kind, at]) => {
          const name = `${format}-${kind}`;
          const [r] = await Promise.all([copy('--digestfile', out(`${name}.digest`), src[format]!, at('out', name)), skCopy(src[format]!, at('sk', name))]);
          ok(r);
          const want = await readBack(at('sk', name));
          expect(await readBack(at('out', name)), `${kind}`).toBe(want);
          const recs = records(r.stdout);
          expect(recs, kind).toHaveLength(1);
          expect(recs[0]).toMatchObject({ ref: src[format], digest: want, status: 'copied' });
          expect(readFileSync(out(`${name}.digest`), 'utf8'), kind).toBe(want);
        }),
      );
    });
  }

  it('back to a registry from the archives: oci-archive as it was, docker-archive as it reads', async () => {
    const r = ok(await copy(kinds['oci-archive']!('out', 'oci-oci-archive'), `docker://${H}/back/oci:1`));
    expect(await readBack(`docker://${H}/back/oci:1`)).toBe(await readBack(src.oci!));
    expect(records(r.stdout)[0]!.ref).toBe(kinds['oci-archive']!('out', 'oci-oci-archive'));
    // A docker-archive serves uncompressed layers; skopeo and imgpipe gzip them on the way to a
    // registry (each with its own gzip bytes: test/e2e/layer-compression.test.ts compares them
    // decompressed): the image skopeo reads back has the same config and layer types.
    const archive = kinds['docker-archive']!('out', 'oci-docker-archive');
    const pushed = records(ok(await copy(archive, `docker://${H}/back/docker:1`)).stdout)[0]!;
    expect(pushed.digest).toBe(await readBack(`docker://${H}/back/docker:1`));
    expect(pushed.digest).not.toBe(await readBack(archive));
    await skCopy(archive, `docker://${H}/back/docker-sk:1`);
    const layerTypes = async (ref: string) =>
      JSON.parse((await sk(['inspect', '--raw', '--tls-verify=false', ref])).stdout).layers.map((l: { mediaType: string }) => l.mediaType);
    expect(await layerTypes(`docker://${H}/back/docker:1`)).toEqual(await layerTypes(`docker://${H}/back/docker-sk:1`));
    const config = async (ref: string) => (await sk(['inspect', '--config', '--raw', '--tls-verify=false', ref])).stdout;
    expect(await config(`docker://${H}/back/docker:1`)).toBe(await config(`docker://${H}/back/docker-sk:1`));
  });
});

describe('docker-archive interop', () => {
  it('a docker-archive skopeo wrote is read by img-copy, and one imgpipe wrote (two tags) by skopeo', async () => {
    const theirsTar = theirs('interop.tar');
    await skCopy(src.v2s2!, `docker-archive:${theirsTar}:app:1`);
    const r = ok(await copy(`docker-archive:${theirsTar}`, `dir:${out('from-sk.dir')}`));
    expect(records(r.stdout)[0]!.digest).toBe(await readBack(`docker-archive:${theirsTar}`));
    expect(await readBack(`dir:${out('from-sk.dir')}`)).toBe(await readBack(`docker-archive:${theirsTar}`));

    // Several records into one archive: two images, three tags.
    const ours = out('multi.docker.tar');
    ok(
      await sh(`img-manifest get --tls-verify=false ${src.oci} ${src.v2s2} docker://${H}/src/multi:1 --platform linux/arm64 \\
        | jq -c 'if .ref | test("app") then .dest = "docker-archive:${ours}:app:1" elif .ref | test("v2") then .dest = "docker-archive:${ours}:v2:1" else .dest = "docker-archive:${ours}:quay.io/team/multi:2" end' \\
        | img-blob-put | img-manifest put --tls-verify=false`),
    );
    for (const tag of ['app:1', 'v2:1', 'quay.io/team/multi:2']) {
      await sk(['copy', '-q', `docker-archive:${ours}:${tag}`, `dir:${out(`sk-read-${tag.replace(/\W/g, '-')}`)}`]);
    }
    const manifest = JSON.parse((await exec('tar', ['-xOf', ours, 'manifest.json'])).stdout);
    expect(manifest.flatMap((m: { RepoTags: string[] }) => m.RepoTags).sort()).toEqual([
      'docker.io/library/app:1',
      'docker.io/library/v2:1',
      'quay.io/team/multi:2',
    ]);
    // app:1 and v2:1 are one image (a conversion to v2s2 keeps the config): one item, two tags.
    expect(manifest.map((m: { RepoTags: string[] }) => m.RepoTags.length).sort()).toEqual([1, 2]);
  });
});

describe('multi-arch', () => {
  it('--all copies the index and every image; the default and --override-arch copy one image, as skopeo does', async () => {
    ok(await copy('--all', src.multi!, `docker://${H}/ours/multi:all`));
    await skCopy('--multi-arch', 'all', src.multi!, `docker://${H}/theirs/multi:all`);
    expect(await readBack(`docker://${H}/ours/multi:all`)).toBe(await readBack(`docker://${H}/theirs/multi:all`));
    const all = ok(await copy('--all', src.multi!, `oci:${out('multi.layout')}:all`));
    expect(records(all.stdout)).toHaveLength(3);
    await skCopy('--all', src.multi!, `oci:${theirs('multi.layout')}:all`);
    expect(await readBack(`oci:${out('multi.layout')}:all`)).toBe(await readBack(`oci:${theirs('multi.layout')}:all`));

    for (const [name, flags] of [
      ['system', []],
      ['arm64', ['--override-arch', 'arm64', '--override-os', 'linux']],
    ] as const) {
      const r = ok(await copy(...flags, src.multi!, `dir:${out(`one-${name}`)}`));
      await skCopy(...flags, src.multi!, `dir:${theirs(`one-${name}`)}`);
      const want = await readBack(`dir:${theirs(`one-${name}`)}`);
      expect(records(r.stdout).map((x) => x.digest)).toEqual([want]);
      expect(await readBack(`dir:${out(`one-${name}`)}`)).toBe(want);
    }
    // One image of an index into a docker-archive (which holds single images).
    ok(await copy(src.multi!, `docker-archive:${out('one.docker.tar')}`));
    await skCopy(src.multi!, `docker-archive:${theirs('one.docker.tar')}`);
    expect(await readBack(`docker-archive:${out('one.docker.tar')}`)).toBe(await readBack(`docker-archive:${theirs('one.docker.tar')}`));
  });
});

describe('--format and --preserve-digests', () => {
  it('conversions give the digests skopeo gives: images both ways, an index with its children', async () => {
    for (const [from, format] of [
      ['oci', 'v2s2'],
      ['v2s2', 'oci'],
    ] as const) {
      const r = ok(await copy('--format', format, src[from]!, `dir:${out(`fmt-${format}`)}`));
      await skCopy('--format', format, src[from]!, `dir:${theirs(`fmt-${format}`)}`);
      const want = await readBack(`dir:${theirs(`fmt-${format}`)}`);
      expect(await readBack(`dir:${out(`fmt-${format}`)}`), format).toBe(want);
      expect(records(r.stdout)[0]!.digest).toBe(want);
      // The converted manifest is in the record, for jq.
      expect(sha256(records(r.stdout)[0]!.raw)).toBe(want);
    }
    ok(await copy('--all', '--format', 'v2s2', src.multi!, `docker://${H}/ours/multi:v2s2`));
    await skCopy('--all', '--format', 'v2s2', src.multi!, `docker://${H}/theirs/multi:v2s2`);
    const ours = (await img('img-manifest', ['get', '--all', '--tls-verify=false', `docker://${H}/ours/multi:v2s2`])).stdout;
    const them = (await img('img-manifest', ['get', '--all', '--tls-verify=false', `docker://${H}/theirs/multi:v2s2`])).stdout;
    expect(records(ours).map((x) => x.digest)).toEqual(records(them).map((x) => x.digest));
    expect(records(ours)[2]!.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('a Docker config with fields OCI lacks is rewritten byte for byte as skopeo rewrites it', async () => {
    const dir = out('rich.dir');
    mkdirSync(dir);
    const layer = Buffer.from('rich layer\n'.repeat(50));
    const config = Buffer.from(
      JSON.stringify({
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
        'os.version': '10.0',
        'os.features': ['f'],
        docker_version: '20.10',
        id: 'x',
        container_config: { Cmd: ['x'] },
        created: '2020-01-02T03:04:05.120000000+01:00',
        author: 'a<b>&c',
        config: {
          Labels: { z: '1', a: '2' },
          Cmd: ['/bin/sh'],
          Env: ['A=1'],
          ArgsEscaped: true,
          ExposedPorts: { '80/tcp': {} },
          Hostname: 'h',
          User: 'u',
          OnBuild: null,
          WorkingDir: '/w',
          StopSignal: 'TERM',
          Volumes: { '/v': {} },
          Entrypoint: ['e'],
        },
        rootfs: { diff_ids: [sha256(layer)], type: 'layers' },
        history: [{ empty_layer: false, created_by: 'x', created: '2020-01-01T00:00:00+00:00', comment: 'c', author: 'me' }, { empty_layer: true }],
      }),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: layer.length, digest: sha256(layer) }],
    };
    writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
    writeFileSync(join(dir, sha256(layer).slice(7)), layer);
    writeFileSync(join(dir, sha256(config).slice(7)), config);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const [r] = await Promise.all([
      copy('--format', 'oci', `dir:${dir}`, `dir:${out('rich-oci')}`),
      skCopy('--format', 'oci', `dir:${dir}`, `dir:${theirs('rich-oci')}`),
    ]);
    ok(r);
    const configOf = (d: string) => readFileSync(join(d, JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')).config.digest.slice(7)), 'utf8');
    expect(configOf(out('rich-oci'))).toBe(configOf(theirs('rich-oci')));
    expect(await readBack(`dir:${out('rich-oci')}`)).toBe(await readBack(`dir:${theirs('rich-oci')}`));
  });

  it('--preserve-digests with a conversion is a one-line error naming the image', async () => {
    const r = await copy('--preserve-digests', '--format', 'v2s2', src.oci!, `dir:${out('preserve')}`);
    oneLine(r, src.oci!);
    expect(r.stderr).toContain('--preserve-digests');
    expect(existsSync(join(out('preserve'), 'manifest.json'))).toBe(false);
    // Nothing to convert: the digest is kept and the copy works.
    ok(await copy('--preserve-digests', '--format', 'oci', src.oci!, `dir:${out('preserve-ok')}`));
  });
});

describe('archives on pipes', () => {
  it('img-copy … oci-archive:/dev/stdout | img-copy oci-archive:/dev/stdin … moves an image across an air gap', async () => {
    for (const kind of ['oci-archive', 'docker-archive']) {
      const dest = `docker://${H}/air/${kind}:1`;
      const r = ok(await sh(`img-copy --tls-verify=false ${src.oci} ${kind}:/dev/stdout | img-copy --tls-verify=false ${kind}:/dev/stdin ${dest}`));
      const recs = records(r.stdout);
      expect(recs).toHaveLength(1);
      expect(recs[0]!.ref).toBe(`${kind}:/dev/stdin`);
      expect(await readBack(dest)).toBe(recs[0]!.digest);
      // oci-archive keeps the image as it was; a docker-archive holds it with uncompressed layers.
      if (kind === 'oci-archive') expect(recs[0]!.digest).toBe(await readBack(src.oci!));
      const config = async (ref: string) => (await sk(['inspect', '--config', '--raw', '--tls-verify=false', ref])).stdout;
      expect(await config(dest)).toBe(await config(src.oci!));
    }
    expect(readdirSync(TMP)).toEqual([]);
  });

  it('an archive to /dev/stdout is all that stdout gets, and tar reads it', async () => {
    const r = ok(await sh(`img-copy --tls-verify=false ${src.oci} oci-archive:/dev/stdout | tar -t`));
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['oci-layout', 'index.json']));
  });
});

describe('failures leave nothing at PATH', () => {
  it('a corrupt source blob, or an error record in the stream, aborts the archive', async () => {
    const dir = out('corrupt.dir');
    ok(await copy(src.oci!, `dir:${dir}`));
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const layer = join(dir, m.layers[0].digest.slice(7));
    const bytes = readFileSync(layer);
    bytes[20] ^= 1;
    writeFileSync(layer, bytes);
    for (const kind of ['oci-archive', 'docker-archive']) {
      const path = out(`corrupt.${kind}.tar`);
      const r = await copy(`dir:${dir}`, `${kind}:${path}`);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(m.layers[0].digest);
      expect(existsSync(path)).toBe(false);
      expect(leftovers(out(''))).toEqual([]);
    }
    const path = out('partial.tar');
    const r = await sh(
      `img-manifest get --tls-verify=false dir:${out('nope')} ${src.oci} | img-ref --dest oci-archive:${path} | img-blob-put | img-manifest put oci-archive:${path}`,
    );
    expect(r.status).toBe(1);
    expect(existsSync(path)).toBe(false);
    expect(leftovers(out(''))).toEqual([]);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const path = out('dry.tar');
    const r = ok(await copy('--dry-run', src.oci!, `oci-archive:${path}`));
    const plan = records(r.stdout);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ status: 'planned', blobs: { copied: 3 } });
    expect(plan[0]!.blobs.bytes).toBeGreaterThan(0);
    // Which blobs would move: the image's config and layers, their sizes adding up to the bytes.
    const m = plan[0]!.manifest;
    expect(plan[0]!.blobs.planned.map((b: { digest: string }) => b.digest).sort()).toEqual(
      [m.config.digest, ...m.layers.map((l: { digest: string }) => l.digest)].sort(),
    );
    expect(plan[0]!.blobs.planned.reduce((n: number, b: { size: number }) => n + b.size, 0)).toBe(plan[0]!.blobs.bytes);
    expect(existsSync(path)).toBe(false);
  });

  it('--dry-run into a layout that has the blobs already plans none of them', async () => {
    const dest = `oci:${out('dry-partial')}:x`;
    ok(await copy(src.oci!, dest));
    const r = ok(await copy('--dry-run', '--all', src.oci!, `oci:${out('dry-partial')}:y`));
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ status: 'planned', blobs: { copied: 0, existed: 3, bytes: 0, planned: [] } });
  });
});
