// The docker:// transport against a real registry (CNCF distribution), with real skopeo as the
// oracle: what skopeo pushed we inspect as skopeo does, what we push skopeo reads byte for byte.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeDirImage } from '../helpers/fixtures.js';
import { must, umociImage } from '../helpers/images.js';
import { freePort, startRegistry, type Registry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/faultproxy.js';
import { exec, img as imgRaw, records, sh as shRaw, tempDir, type Result } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-registry-e2e-');
const L = join(work, 'layout');
const NO_TLS = '--tls-verify=false';

/** Credentials isolated in the temp dir: nothing from the user's own auth.json or docker config. */
const env: NodeJS.ProcessEnv = isolatedEnv(work);
const img = (cmd: string, args: string[], input?: string | Buffer) => imgRaw(cmd, args, input, env);
const sh = (script: string) => shRaw(script, env);
const skopeo = (args: string[]) => {
  const [sub, ...rest] = args;
  return exec('skopeo', ['--policy', join(work, 'policy.json'), sub!, ...rest], undefined, env);
};
const sk = (args: string[]) => must(skopeo(args), `skopeo ${args.join(' ')}`);
/** ok asserts a command succeeded, showing its stderr otherwise. */
const ok = (r: Result) => {
  expect(r.stderr, `stderr of a command that should succeed`).not.toMatch(/\n.*\n/);
  expect(r.status, r.stderr).toBe(0);
  return r;
};
/** oneLine asserts the shape of a failure: exit status, one stderr line naming `name`, no stack. */
const failsWith = (r: Result, status: number, name: string, code?: RegExp) => {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(name);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
  if (code) expect(lines[0]).toMatch(code);
  return lines[0]!;
};

let reg: Registry;
let H: string;
/** the platform this machine is, as skopeo names it (only amd64 and arm64 children exist) */
const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';

beforeAll(async () => {
  for (const d of ['home', 'run', 'config', 'docker']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}\n');
  writeFileSync(join(work, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  reg = await startRegistry();
  H = reg.host;

  // An OCI image made by umoci, with labels (one with HTML characters Go escapes) and env.
  await umociImage(work, L, 'base');
  await must(
    exec('umoci', [
      'config',
      '--image',
      `${L}:base`,
      '--config.label',
      'org.example.team=web',
      '--config.label',
      'org.example.html=<b>&amp;</b>',
      '--config.env',
      'PATH=/usr/bin:/bin',
    ]),
    'umoci config',
  );
  // Children of a multi-arch index: one image per architecture, the config saying so.
  for (const arch of ['amd64', 'arm64']) {
    await umociImage(work, L, arch);
    await must(exec('umoci', ['config', '--image', `${L}:${arch}`, '--architecture', arch, '--os', 'linux', '--config.label', `arch=${arch}`]), 'umoci config');
  }
  const index = JSON.parse(readFileSync(join(L, 'index.json'), 'utf8'));
  const entry = (name: string) => index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: ['amd64', 'arm64'].map((arch) => ({
      mediaType: entry(arch).mediaType,
      digest: entry(arch).digest,
      size: entry(arch).size,
      platform: { architecture: arch, os: 'linux', ...(arch === 'arm64' ? { variant: 'v8' } : {}) },
    })),
  };
  ok(await img('img-manifest', ['put', `oci:${L}:multi`], JSON.stringify({ raw: JSON.stringify(doc, null, 2) })));

  // skopeo pushes: the OCI image under three tags, the same as Docker schema 2, the index with --all.
  for (const tag of ['1', '1.0', 'latest']) await sk(['copy', `--dest-tls-verify=false`, `oci:${L}:base`, `docker://${H}/app:${tag}`]);
  await sk(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${L}:base`, `docker://${H}/app-v2s2:1`]);
  await sk(['copy', '--dest-tls-verify=false', '--all', `oci:${L}:multi`, `docker://${H}/multi:1`]);
});

afterAll(async () => {
  await reg?.stop();
});

/** text without our LayersData block, which skopeo 1.9 does not print */
const withoutLayersData = (s: string) => {
  const out = s.replace(/\n {4}"LayersData": (\[\]|\[\n[\s\S]*?\n {4}\]),/, '');
  expect(out, 'a LayersData block').not.toBe(s);
  return out;
};

describe('img-manifest get --inspect prints what skopeo inspect prints', () => {
  for (const [what, repo] of [
    ['OCI image with labels, env and three tags', 'app:1'],
    ['Docker schema 2 image', 'app-v2s2:1'],
    ['multi-arch index (the child for this machine)', 'multi:1'],
  ] as const) {
    it(what, async () => {
      const ref = `docker://${H}/${repo}`;
      const theirs = await sk(['inspect', NO_TLS, ref]);
      const ours = ok(await img('img-manifest', ['get', '--inspect', NO_TLS, ref]));
      expect(ours.stderr).toBe('');
      const t = JSON.parse(theirs.stdout);
      const o = JSON.parse(ours.stdout);
      for (const k of Object.keys(t)) expect(o[k], `key ${k}`).toEqual(t[k]);
      // key order and formatting (4-space indent, Go's escaping of <, > and &): identical but for LayersData
      expect(Object.keys(o).filter((k) => k !== 'LayersData')).toEqual(Object.keys(t));
      expect(withoutLayersData(ours.stdout)).toBe(theirs.stdout);
      // the values that prove the image's identity, asserted on their own as well
      expect(o.Name).toBe(`${H}/${repo.split(':')[0]}`);
      expect(o.Digest).toBe(sha256((await sk(['inspect', NO_TLS, '--raw', ref])).stdoutBytes));
      if (repo.startsWith('app')) {
        expect(o.Labels).toEqual({ 'org.example.team': 'web', 'org.example.html': '<b>&amp;</b>' });
        expect(o.Env).toContain('FOO=bar');
        expect(ours.stdout).toContain('\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e');
      } else {
        expect(o.Labels).toEqual({ arch: hostArch });
        expect(o.Architecture).toBe(hostArch);
      }
      // in the registry's order (distribution answers newest first), as skopeo prints them
      expect([...o.RepoTags].sort()).toEqual(repo === 'app:1' ? ['1', '1.0', 'latest'] : ['1']);
      // LayersData agrees with the image manifest (the host's child for an index)
      let manifest = JSON.parse((await sk(['inspect', NO_TLS, '--raw', ref])).stdout);
      if (manifest.manifests) {
        const child = manifest.manifests.find((m: any) => m.platform.architecture === hostArch);
        manifest = JSON.parse((await sk(['inspect', NO_TLS, '--raw', `docker://${H}/${repo.split(':')[0]}@${child.digest}`])).stdout);
      }
      expect(manifest.layers).toHaveLength(2);
      expect(o.LayersData).toEqual(
        manifest.layers.map((l: any) => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ?? null })),
      );
      expect(o.Layers).toEqual(manifest.layers.map((l: any) => l.digest));
    });
  }

  it('--no-tags, as skopeo inspect --no-tags', async () => {
    const ref = `docker://${H}/app:1`;
    const theirs = await sk(['inspect', NO_TLS, '--no-tags', ref]);
    const ours = ok(await img('img-manifest', ['get', '--inspect', '--no-tags', NO_TLS, ref]));
    const t = JSON.parse(theirs.stdout);
    const o = JSON.parse(ours.stdout);
    for (const k of Object.keys(t)) expect(o[k], `key ${k}`).toEqual(t[k]);
    expect(withoutLayersData(ours.stdout)).toBe(theirs.stdout);
  });

  it('--platform picks another child, as skopeo --override-arch does', async () => {
    const ref = `docker://${H}/multi:1`;
    const other = hostArch === 'amd64' ? 'arm64' : 'amd64';
    const over = ['--override-arch', other, ...(other === 'arm64' ? ['--override-variant', 'v8'] : []), '--override-os', 'linux'];
    const skOver = (args: string[]) =>
      must(exec('skopeo', ['--policy', join(work, 'policy.json'), ...over, ...args], undefined, env), `skopeo ${args.join(' ')}`);
    const platform = `linux/${other}${other === 'arm64' ? '/v8' : ''}`;
    const theirs = await skOver(['inspect', NO_TLS, ref]);
    const ours = ok(await img('img-manifest', ['get', '--inspect', '--platform', platform, NO_TLS, ref]));
    expect(withoutLayersData(ours.stdout)).toBe(theirs.stdout);
    expect(JSON.parse(ours.stdout)).toMatchObject({ Architecture: other, Labels: { arch: other } });
    const cfg = ok(await img('img-manifest', ['get', '--config', '--raw', '--platform', platform, NO_TLS, ref]));
    expect(cfg.stdoutBytes.equals((await skOver(['inspect', '--config', '--raw', NO_TLS, ref])).stdoutBytes)).toBe(true);
    expect(JSON.parse(cfg.stdout).architecture).toBe(other);
  });

  for (const repo of ['app:1', 'app-v2s2:1', 'multi:1']) {
    it(`--raw and --config --raw are byte-identical to skopeo's (${repo})`, async () => {
      const ref = `docker://${H}/${repo}`;
      const raw = ok(await img('img-manifest', ['get', '--raw', NO_TLS, ref]));
      expect(raw.stdoutBytes.equals((await sk(['inspect', NO_TLS, '--raw', ref])).stdoutBytes)).toBe(true);
      const cfg = ok(await img('img-manifest', ['get', '--config', '--raw', NO_TLS, ref]));
      const theirs = (await sk(['inspect', NO_TLS, '--config', '--raw', ref])).stdoutBytes;
      expect(cfg.stdoutBytes.length).toBeGreaterThan(0);
      expect(cfg.stdoutBytes.equals(theirs)).toBe(true);
    });
  }
});

describe('img-tags', () => {
  it('--json equals skopeo list-tags, parsed and as text', async () => {
    const theirs = await sk(['list-tags', NO_TLS, `docker://${H}/app`]);
    const ours = ok(await img('img-tags', ['--json', NO_TLS, `docker://${H}/app`]));
    const o = JSON.parse(ours.stdout);
    expect(Object.keys(o)).toEqual(['Repository', 'Tags']);
    expect(o.Repository).toBe(`${H}/app`);
    expect([...o.Tags].sort()).toEqual(['1', '1.0', 'latest']);
    expect(o).toEqual(JSON.parse(theirs.stdout));
    expect(ours.stdout).toBe(theirs.stdout);
  });

  it('prints one record per tag by default', async () => {
    const ours = ok(await img('img-tags', [NO_TLS, `docker://${H}/app`]));
    const tags: string[] = JSON.parse((await sk(['list-tags', NO_TLS, `docker://${H}/app`])).stdout).Tags;
    expect([...tags].sort()).toEqual(['1', '1.0', 'latest']);
    expect(ours.stdout).toBe(tags.map((t) => `${JSON.stringify({ ref: `docker://${H}/app:${t}` })}\n`).join(''));
  });

  it('--catalog lists the repositories', async () => {
    const ours = ok(await img('img-tags', ['--catalog', NO_TLS, `docker://${H}`]));
    const refs = records(ours.stdout).map((r) => r.ref);
    for (const repo of ['app', 'app-v2s2', 'multi']) expect(refs).toContain(`docker://${H}/${repo}`);
    expect(refs).toEqual([...refs].sort());
    const json = ok(await img('img-tags', ['--catalog', '--json', NO_TLS, `docker://${H}`]));
    expect(JSON.parse(json.stdout)).toEqual({ Registry: H, Repositories: refs.map((r) => r.slice(`docker://${H}/`.length)) });
  });

  it('a repository that does not exist: one clear line, exit 1', async () => {
    const r = await img('img-tags', [NO_TLS, `docker://${H}/no/such/repo`]);
    const line = failsWith(r, 1, `docker://${H}/no/such/repo`);
    expect(line).toMatch(/^img-tags: listing tags of docker:\/\/127\.0\.0\.1:\d+\/no\/such\/repo: repository name not known to registry \(HTTP 404\)$/);
    // stdout carries it on as an error record, as every record stage does.
    expect(records(r.stdout)).toMatchObject([{ ref: `docker://${H}/no/such/repo`, error: { code: 'NAME_UNKNOWN', stage: 'img-tags' } }]);
  });

  it('a reference with a tag: that image alone as a record (as skopeo sync), refused with --json (as skopeo list-tags)', async () => {
    expect(records(ok(await img('img-tags', [NO_TLS, `docker://${H}/app:1`])).stdout)).toEqual([{ ref: `docker://${H}/app:1` }]);
    const r = await img('img-tags', ['--json', NO_TLS, `docker://${H}/app:1`]);
    failsWith(r, 2, `docker://${H}/app:1`);
    expect(r.stdout).toBe('');
  });
});

describe('copies through the pipeline into the registry and back', () => {
  const pipe = (get: string, prefix: string, extra = '') =>
    sh(`img-manifest get ${extra} ${NO_TLS} ${get} | img-ref --to ${prefix} | img-blob-put ${NO_TLS} | img-manifest put ${NO_TLS}`);

  it('oci: → docker:// gives the digest skopeo reports, and a re-run reports exists', async () => {
    const r = ok(await pipe(`oci:${L}:base`, `docker://${H}/pipe`));
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ dest: `docker://${H}/pipe/base:latest`, status: 'copied' });
    const src = (await sk(['inspect', '--raw', `oci:${L}:base`])).stdoutBytes;
    const dst = (await sk(['inspect', NO_TLS, '--raw', `docker://${H}/pipe/base:latest`])).stdoutBytes;
    expect(dst.equals(src)).toBe(true);
    expect(rec!.digest).toBe(sha256(src));
    expect(JSON.parse((await sk(['inspect', NO_TLS, `docker://${H}/pipe/base:latest`])).stdout).Digest).toBe(rec!.digest);
    // skopeo can pull every blob of it
    await sk(['copy', '--src-tls-verify=false', `docker://${H}/pipe/base:latest`, `dir:${join(work, 'sk-pulled')}`]);
    const again = ok(await pipe(`oci:${L}:base`, `docker://${H}/pipe`));
    expect(records(again.stdout).map((x) => x.status)).toEqual(['exists']);
  });

  it('dir: → docker://', async () => {
    const image = writeDirImage(join(work, 'dirsrc', 'plain'), { seed: 'dir' });
    const r = ok(await pipe(`dir:${join(work, 'dirsrc', 'plain')}`, `docker://${H}/pipe`));
    expect(records(r.stdout)).toMatchObject([{ dest: `docker://${H}/pipe/plain:latest`, status: 'copied', digest: image.digest }]);
    const dst = (await sk(['inspect', NO_TLS, '--raw', `docker://${H}/pipe/plain:latest`])).stdoutBytes;
    expect(dst.equals(image.manifest)).toBe(true);
    const layer = ok(await img('img-blob-get', [NO_TLS, `docker://${H}/pipe/plain@${sha256(image.layer)}`]));
    expect(layer.stdoutBytes.equals(image.layer)).toBe(true);
    const again = ok(await pipe(`dir:${join(work, 'dirsrc', 'plain')}`, `docker://${H}/pipe`));
    expect(records(again.stdout).map((x) => x.status)).toEqual(['exists']);
  });

  it('a multi-arch index with --all: the index and both children, digests preserved', async () => {
    const r = ok(await pipe(`oci:${L}:multi`, `docker://${H}/pipe`, '--all'));
    const recs = records(r.stdout);
    const src = (await sk(['inspect', '--raw', `oci:${L}:multi`])).stdoutBytes;
    const srcIndex = JSON.parse(src.toString());
    // children first (img-blob-put passes them on as their blobs arrive, in either order), the index last
    expect(
      recs
        .slice(0, 2)
        .map((x) => x.digest)
        .sort(),
    ).toEqual(srcIndex.manifests.map((m: any) => m.digest).sort());
    expect(recs.map((x) => x.digest)[2]).toBe(sha256(src));
    expect(recs.slice(0, 2).every((x) => x.parent === sha256(src))).toBe(true);
    expect(recs.map((x) => x.status)).toEqual(['copied', 'copied', 'copied']);
    const dst = (await sk(['inspect', NO_TLS, '--raw', `docker://${H}/pipe/multi:latest`])).stdoutBytes;
    expect(dst.equals(src)).toBe(true);
    for (const m of srcIndex.manifests) {
      const child = (await sk(['inspect', NO_TLS, '--raw', `docker://${H}/pipe/multi@${m.digest}`])).stdoutBytes;
      expect(sha256(child)).toBe(m.digest);
    }
    // skopeo copies the whole thing out again
    await sk(['copy', '--all', '--src-tls-verify=false', `docker://${H}/pipe/multi:latest`, `oci:${join(work, 'sk-multi')}:x`]);
    const again = ok(await pipe(`oci:${L}:multi`, `docker://${H}/pipe`, '--all'));
    expect(records(again.stdout).at(-1)!.status).toBe('exists');
  });

  it('docker:// → dir: and oci:, byte for byte what skopeo reads from the registry', async () => {
    for (const [src, to, dest] of [
      [`docker://${H}/app:1`, `dir:${join(work, 'back-dir')}`, `dir:${join(work, 'back-dir', 'app:1')}`],
      [`docker://${H}/app-v2s2:1`, `oci:${join(work, 'back-oci')}`, `oci:${join(work, 'back-oci')}:app-v2s2:1`],
      [`docker://${H}/multi:1`, `oci:${join(work, 'back-oci')}`, `oci:${join(work, 'back-oci')}:multi:1`],
    ] as const) {
      const r = ok(await pipe(src, to, '--all'));
      const recs = records(r.stdout);
      expect(recs.at(-1)!.dest).toBe(dest);
      expect(recs.every((x) => x.status === 'copied')).toBe(true);
      const back = ok(await img('img-manifest', ['get', '--raw', dest]));
      if (src.includes('v2s2')) {
        // A Docker manifest becomes OCI in an oci: layout, as skopeo copy converts it: same bytes as skopeo's copy.
        const skDest = `oci:${join(work, 'sk-back-oci')}:v2s2`;
        await sk(['copy', '--src-tls-verify=false', src, skDest]);
        expect(back.stdoutBytes.equals((await sk(['inspect', '--raw', skDest])).stdoutBytes)).toBe(true);
      } else {
        const theirs = (await sk(['inspect', NO_TLS, '--raw', src])).stdoutBytes;
        expect(back.stdoutBytes.equals(theirs)).toBe(true);
        expect((await sk(['inspect', '--raw', dest])).stdoutBytes.equals(theirs)).toBe(true);
      }
      const again = ok(await pipe(src, to, '--all'));
      expect(records(again.stdout).at(-1)!.status).toBe('exists');
    }
  });
});

describe('img-manifest get --missing-at-dest against the registry', () => {
  it('a re-run finds the image at the destination with HEADs alone and moves nothing', async () => {
    const proxy = await startFaultProxy(H);
    try {
      const run = () =>
        sh(
          `img-ref --dest docker://${H}/mad/app:1 docker://${proxy.host}/app:1 | img-manifest get --missing-at-dest --multi-arch system ${NO_TLS} | img-blob-put ${NO_TLS} | img-manifest put ${NO_TLS}`,
        );
      expect(records(ok(await run()).stdout).map((x) => x.status)).toEqual(['copied']);
      proxy.seen.length = 0;
      const again = records(ok(await run()).stdout);
      expect(again).toMatchObject([{ status: 'exists', dest: `docker://${H}/mad/app:1` }]);
      expect(proxy.seen.map((q) => `${q.method} ${q.url}`).filter((l) => !l.endsWith('/v2/'))).toEqual(['HEAD /v2/app/manifests/1']);
    } finally {
      await proxy.stop();
    }
  });

  it('--multi-arch system from an index: the image for this machine, found again on a re-run', async () => {
    const run = () =>
      sh(
        `img-ref --dest docker://${H}/mad/multi:sys docker://${H}/multi:1 | img-manifest get --missing-at-dest --multi-arch system ${NO_TLS} | img-blob-put ${NO_TLS} | img-manifest put ${NO_TLS}`,
      );
    const [first] = records(ok(await run()).stdout);
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    expect(first).toMatchObject({ status: 'copied', platform: { architecture: arch } });
    const theirs = JSON.parse((await sk(['inspect', NO_TLS, `docker://${H}/mad/multi:sys`])).stdout);
    expect(theirs.Digest).toBe(first!.digest);
    expect(theirs.Architecture).toBe(arch);
    expect(records(ok(await run()).stdout)).toMatchObject([{ status: 'exists', digest: first!.digest }]);
  });
});

describe('img-blob-get and img-blob-put, raw mode', () => {
  const repo = () => `docker://${H}/blobs`;
  const absent = async (digest: string) => {
    const r = await img('img-blob-get', [NO_TLS, `${repo()}@${digest}`]);
    failsWith(r, 1, digest, /: blob unknown to registry \(HTTP 404\)$/);
    expect(r.stdout).toBe('');
  };

  it('a small blob, with and without --digest', async () => {
    const data = Buffer.from(`small blob ${randomBytes(8).toString('hex')}\n`);
    const put = ok(await img('img-blob-put', [NO_TLS, repo()], data));
    expect(records(put.stdout)).toEqual([{ ref: `${repo()}:latest`, digest: sha256(data), size: data.length }]);
    const get = ok(await img('img-blob-get', [NO_TLS, `${repo()}@${sha256(data)}`]));
    expect(get.stdoutBytes.equals(data)).toBe(true);
    const data2 = Buffer.from(`another small blob ${randomBytes(8).toString('hex')}\n`);
    const put2 = ok(await img('img-blob-put', [NO_TLS, '--digest', sha256(data2), '--size', String(data2.length), repo()], data2));
    expect(records(put2.stdout)).toMatchObject([{ digest: sha256(data2), size: data2.length }]);
    expect(ok(await img('img-blob-get', [NO_TLS, `${repo()}@${sha256(data2)}`])).stdoutBytes.equals(data2)).toBe(true);
  });

  it('a few MiB from /dev/urandom (streamed PATCH), with and without --digest', async () => {
    const file = join(work, 'big');
    await must(exec('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=5']), 'dd');
    const data = readFileSync(file);
    const put = ok(await img('img-blob-put', [NO_TLS, repo()], data));
    expect(records(put.stdout)).toEqual([{ ref: `${repo()}:latest`, digest: sha256(data), size: data.length }]);
    const get = ok(await img('img-blob-get', [NO_TLS, `${repo()}@${sha256(data)}`]));
    expect(sha256(get.stdoutBytes)).toBe(sha256(data));
    const data2 = randomBytes(3 * 1024 * 1024 + 7);
    const put2 = ok(await img('img-blob-put', [NO_TLS, '--digest', sha256(data2), repo()], data2));
    expect(records(put2.stdout)).toMatchObject([{ digest: sha256(data2), size: data2.length }]);
    const get2 = ok(await img('img-blob-get', [NO_TLS, `${repo()}@${sha256(data2)}`]));
    expect(get2.stdoutBytes.equals(data2)).toBe(true);
  });

  it('a small blob with --digest and --size goes in one PUT; a large one is streamed with PATCH', async () => {
    const methods = (stderr: string) => [...stderr.matchAll(/^debug: ([A-Z]+) /gm)].map((m) => m[1]);
    const small = Buffer.from(`one put ${randomBytes(8).toString('hex')}`);
    const r1 = await img('img-blob-put', [NO_TLS, '--debug', '--digest', sha256(small), '--size', String(small.length), repo()], small);
    expect(r1.status, r1.stderr).toBe(0);
    expect(methods(r1.stderr)).toEqual(['HEAD', 'POST', 'PUT']);
    const big = randomBytes(4 * 1024 * 1024);
    const r2 = await img('img-blob-put', [NO_TLS, '--debug', repo()], big);
    expect(r2.status, r2.stderr).toBe(0);
    expect(methods(r2.stderr)).toEqual(['POST', 'PATCH', 'PUT']);
    expect(records(r2.stdout)).toMatchObject([{ digest: sha256(big), size: big.length }]);
    // a blob that is there already is not uploaded again
    const r3 = await img('img-blob-put', [NO_TLS, '--debug', '--digest', sha256(big), repo()], big);
    expect(r3.status, r3.stderr).toBe(0);
    expect(methods(r3.stderr).filter((m) => m !== 'HEAD')).toEqual([]);
  });

  for (const [what, data] of [
    ['small', () => Buffer.from(`wrong digest ${randomBytes(8).toString('hex')}`)],
    ['streamed', () => randomBytes(2 * 1024 * 1024)],
  ] as const) {
    it(`a wrong --digest is refused and nothing is stored (${what})`, async () => {
      const bytes = data();
      const wrong = sha256(Buffer.concat([bytes, Buffer.from('x')]));
      const args = [NO_TLS, '--digest', wrong, ...(what === 'small' ? ['--size', String(bytes.length)] : []), repo()];
      const r = await img('img-blob-put', args, bytes);
      failsWith(r, 1, repo(), /digest|mismatch/i);
      expect(r.stdout).toBe('');
      await absent(wrong);
      await absent(sha256(bytes));
    });
  }
});

describe('img-manifest delete', () => {
  it('deletes by digest; skopeo then finds no manifest; deleting again is one clear error', async () => {
    const ref = `docker://${H}/todelete:1`;
    await sk(['copy', '--dest-tls-verify=false', `oci:${L}:amd64`, ref]);
    const digest = sha256((await sk(['inspect', NO_TLS, '--raw', ref])).stdoutBytes);
    const r = ok(await img('img-manifest', ['delete', NO_TLS, ref]));
    expect(records(r.stdout)).toEqual([{ ref, digest, status: 'deleted' }]);
    const gone = await skopeo(['inspect', NO_TLS, ref]);
    expect(gone.status).not.toBe(0);
    expect(gone.stderr).toMatch(/manifest unknown/);
    const byDigest = await skopeo(['inspect', NO_TLS, '--raw', `docker://${H}/todelete@${digest}`]);
    expect(byDigest.status).not.toBe(0);
    const again = await img('img-manifest', ['delete', NO_TLS, ref]);
    const line = failsWith(again, 1, ref);
    expect(line).toBe(`img-manifest delete: deleting manifest ${ref}: manifest unknown: no manifest tagged "1" in ${H}/todelete`);
    expect(records(again.stdout)).toMatchObject([{ ref, error: { code: 'MANIFEST_UNKNOWN', stage: 'img-manifest delete' } }]);
  });
});

describe('error messages: one line naming the reference, exit 1, no stack', () => {
  it('a missing tag', async () => {
    const ref = `docker://${H}/app:nope`;
    for (const args of [['get'], ['get', '--inspect'], ['get', '--raw']]) {
      const r = await img('img-manifest', [...args, NO_TLS, ref]);
      const line = failsWith(r, 1, ref);
      expect(line.endsWith(`${ref}: manifest unknown (HTTP 404)`), line).toBe(true);
    }
  });

  it('a missing repository', async () => {
    const ref = `docker://${H}/missing/repo:1`;
    for (const args of [['get'], ['get', '--inspect'], ['get', '--raw']]) {
      const r = await img('img-manifest', [...args, NO_TLS, ref]);
      // distribution 2.8 answers MANIFEST_UNKNOWN for a manifest of an unknown repository (skopeo says the same)
      failsWith(r, 1, ref, /manifest unknown \(HTTP 404\)$/);
    }
  });

  it('a registry that is not running', async () => {
    const port = await freePort();
    const ref = `docker://127.0.0.1:${port}/app:1`;
    for (const [cmd, args] of [
      ['img-manifest', ['get', NO_TLS, ref]],
      ['img-manifest', ['get', '--inspect', NO_TLS, ref]],
      ['img-tags', [NO_TLS, `docker://127.0.0.1:${port}/app`]],
      ['img-manifest', ['delete', NO_TLS, ref]],
      ['img-blob-get', [NO_TLS, `docker://127.0.0.1:${port}/app@${sha256('x')}`]],
      ['img-blob-put', [NO_TLS, ref]],
    ] as const) {
      const r = await img(cmd, [...args]);
      failsWith(r, 1, `127.0.0.1:${port}/app`, /connection refused/);
    }
  });
});
