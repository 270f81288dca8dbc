// Ambiguous manifests (CVE-2021-41190), manifests without mediaType and index entries with a
// partial platform, through the real commands: dir: images written by hand, a real registry
// (CNCF distribution) for docker://, and skopeo as the oracle for what containers/image refuses.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeDirImage } from '../helpers/fixtures.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, img as imgRaw, records, tempDir, type Result } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-ambiguity-e2e-');
const env: NodeJS.ProcessEnv = isolatedEnv(work);
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, env);
const skopeo = (args: string[]) => exec('skopeo', ['--policy', join(work, 'policy.json'), ...args], undefined, env);
const path = (name: string) => join(work, name);

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';

/** failsNaming asserts a refusal: exit status 1, one stderr line with the document and the reason, no stack. */
function failsNaming(r: Result, ...parts: string[]): string {
  expect(r.status, r.stderr).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
  return lines[0]!;
}

beforeAll(() => {
  for (const d of ['home', 'run', 'config', 'docker']) mkdirSync(path(d), { recursive: true });
  writeFileSync(path('auth.json'), '{"auths":{}}\n');
  writeFileSync(path('policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
});

describe('dir: an ambiguous manifest is refused by img-manifest get and img-copy', () => {
  const cases: [string, (m: any) => any, string][] = [
    ['schema 1 fsLayers', (m) => ({ ...m, fsLayers: [{ blobSum: m.layers[0].digest }] }), 'is ambiguous: schemaVersion 2 with schema 1 field "fsLayers"'],
    ['schema 1 history', (m) => ({ ...m, history: [{ v1Compatibility: '{}' }] }), 'is ambiguous: schemaVersion 2 with schema 1 field "history"'],
    ['manifests in a manifest', (m) => ({ ...m, manifests: [] }), 'is ambiguous: it has image manifest fields "config", "layers" and index field "manifests"'],
    [
      'layers in an index',
      (m) => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: m.layers }),
      'is ambiguous: it has image manifest field "layers" and index field "manifests"',
    ],
    [
      'config in an index',
      (m) => ({ schemaVersion: 2, mediaType: OCI_INDEX, config: m.config }),
      `is ambiguous: an index (${OCI_INDEX}) with image manifest field "config"`,
    ],
    ['a case variant of fsLayers', (m) => ({ ...m, FSLayers: [] }), 'is ambiguous: schemaVersion 2 with schema 1 field "FSLayers"'],
  ];

  it.each(cases)('%s', async (name, edit, why) => {
    const dir = path(`amb-${name.replace(/\W+/g, '-')}`);
    writeDirImage(dir, { manifest: edit });
    const file = join(dir, 'manifest.json');

    const get = await img('img-manifest', ['get', `dir:${dir}`]);
    const line = failsNaming(get, `dir:${dir}`, `manifest ${file} ${why}`);
    expect(line).toMatch(/^img-manifest get: /);
    const [rec] = records(get.stdout);
    expect(rec!.error).toMatchObject({ code: 'MANIFEST_INVALID' });
    expect(rec!.error.message).toContain(why);

    const dest = `${dir}-copy`;
    const copy = await img('img-copy', ['--insecure-policy', `dir:${dir}`, `dir:${dest}`]);
    failsNaming(copy, `dir:${dir}`, why);
    expect(existsSync(join(dest, 'manifest.json'))).toBe(false);

    // containers/image refuses it too
    const sk = await skopeo(['copy', `dir:${dir}`, `dir:${dest}-skopeo`]);
    expect(sk.status).not.toBe(0);
    if (name !== 'config in an index') expect(sk.stderr).toContain('rejecting ambiguous manifest');
  });
});

describe('dir: a manifest without mediaType is typed from its config', () => {
  const dockerNoMime = (m: any) => {
    const { mediaType: _drop, ...rest } = m;
    return { ...rest, config: { ...m.config, mediaType: DOCKER_CONFIG }, layers: m.layers.map((l: any) => ({ ...l, mediaType: DOCKER_LAYER })) };
  };

  it('a Docker config: Docker schema 2 in the record, and in the copy', async () => {
    const dir = path('nomime-docker');
    const written = writeDirImage(dir, { manifest: dockerNoMime });
    const get = await img('img-manifest', ['get', `dir:${dir}`]);
    expect(get.status, get.stderr).toBe(0);
    const [rec] = records(get.stdout);
    expect(rec).toMatchObject({ ref: `dir:${dir}`, digest: written.digest, mediaType: DOCKER_MANIFEST, size: written.manifest.length });
    expect(rec!.manifest.mediaType).toBeUndefined();

    const copy = await img('img-copy', ['--insecure-policy', `dir:${dir}`, `dir:${dir}-copy`]);
    expect(copy.status, copy.stderr).toBe(0);
    expect(readFileSync(join(`${dir}-copy`, 'manifest.json'))).toEqual(written.manifest);
    const again = records((await img('img-manifest', ['get', `dir:${dir}-copy`])).stdout)[0]!;
    expect(again).toMatchObject({ digest: written.digest, mediaType: DOCKER_MANIFEST });

    // containers/image guesses the same type (and then refuses a Docker schema 2 manifest without mediaType)
    const sk = await skopeo(['inspect', '--raw', `dir:${dir}`]);
    expect(sk.status, sk.stderr).toBe(0);
    expect((await skopeo(['copy', `dir:${dir}`, `dir:${dir}-skopeo`])).stderr).toContain('unsupported docker v2s2 media type');
  });

  it('an OCI config: OCI manifest', async () => {
    const dir = path('nomime-oci');
    writeDirImage(dir, { manifest: ({ mediaType: _drop, ...m }: any) => m });
    const [rec] = records((await img('img-manifest', ['get', `dir:${dir}`])).stdout);
    expect(rec).toMatchObject({ mediaType: OCI_MANIFEST });
  });
});

describe('dir: an index entry whose platform lacks os or architecture', () => {
  it('is refused, naming the index and the entry', async () => {
    const dir = path('platform');
    const child = writeDirImage(dir);
    writeFileSync(join(dir, `${child.digest.slice(7)}.manifest.json`), child.manifest);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length, platform: { architecture: 'amd64' } }],
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(index));
    const file = join(dir, 'manifest.json');
    for (const multi of ['all', 'index-only', 'system']) {
      const r = await img('img-manifest', ['get', `dir:${dir}`, `--multi-arch=${multi}`]);
      failsNaming(r, `dir:${dir}`, `descriptor ${file} manifests[0] has a platform without "os"`);
    }
    const copy = await img('img-copy', ['--insecure-policy', '--all', `dir:${dir}`, `dir:${dir}-copy`]);
    failsNaming(copy, `descriptor ${file} manifests[0] has a platform without "os"`);

    // with the platform whole, the same index is read
    index.manifests[0]!.platform = { architecture: 'amd64', os: 'linux' } as any;
    writeFileSync(file, JSON.stringify(index));
    const ok = await img('img-manifest', ['get', `dir:${dir}`, '--multi-arch=index-only']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(records(ok.stdout)[0]).toMatchObject({ mediaType: OCI_INDEX });
  });
});

describe('docker://: ambiguous manifests the registry takes are refused when read', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  /** pushBlob uploads bytes as a blob with a POST and a monolithic PUT. */
  async function pushBlob(repo: string, bytes: Buffer): Promise<void> {
    const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const loc = new URL(start.headers.get('location')!, reg.url);
    loc.searchParams.set('digest', sha256(bytes));
    const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status, await put.text()).toBe(201);
  }

  it.each([
    [
      'fsLayers in an OCI manifest',
      OCI_MANIFEST,
      (m: any) => ({ ...m, fsLayers: [{ blobSum: m.layers[0].digest }] }),
      'is ambiguous: schemaVersion 2 with schema 1 field "fsLayers"',
    ],
    ['history in an OCI manifest', OCI_MANIFEST, (m: any) => ({ ...m, history: [] }), 'is ambiguous: schemaVersion 2 with schema 1 field "history"'],
    ['a second layers key in an OCI manifest', OCI_MANIFEST, (m: any) => ({ ...m, Layers: [] }), 'is ambiguous: key "Layers" is the field "layers"'],
  ])('%s', async (name, type, edit, why) => {
    const repo = `amb/${name.replace(/\W+/g, '-').toLowerCase()}`;
    const dir = path(`reg-${repo.replace('/', '-')}`);
    const im = writeDirImage(dir, { manifest: edit });
    await pushBlob(repo, im.config);
    await pushBlob(repo, im.layer);
    const put = await fetch(`${reg.url}/v2/${repo}/manifests/t`, { method: 'PUT', body: im.manifest, headers: { 'content-type': type } });
    const answer = await put.text();
    // distribution 2.8 stores all of these as they are
    expect(put.status, answer).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(im.digest);
    const ref = `docker://${reg.host}/${repo}:t`;
    const get = await img('img-manifest', ['get', ref, '--tls-verify=false']);
    // the registry transport names a manifest by the tag or digest it asked for, after the reference
    failsNaming(get, `fetching manifest ${ref}: manifest t ${why}`);
    expect(records(get.stdout)[0]!.error.code).toBe('MANIFEST_INVALID');
    const copy = await img('img-copy', ['--insecure-policy', '--src-tls-verify=false', ref, `dir:${dir}-copy`]);
    failsNaming(copy, ref, why);
    expect(existsSync(join(`${dir}-copy`, 'manifest.json'))).toBe(false);
  });
});
