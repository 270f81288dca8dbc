// A conversion writes only what the written manifest references: a Docker v2s2 image copied into
// oci: (converted to OCI there, config rewritten, as skopeo does) or with --format oci/v2s2 leaves
// no blob nothing points at. Checked exhaustively where a destination can be listed (an oci:
// layout's blobs/, a dir:, an oci-archive's entries, a registry repository's layer links in the
// real registry's storage), with skopeo and umoci reading what was written.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/fixtures.js';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-convert-blobs-e2e-');
const L = join(work, 'layout');
const box = sandbox(work);
const { img, sh, sk } = box;
const NO_TLS = '--tls-verify=false';
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const copy = (...args: string[]) => img('img-copy', [NO_TLS, ...args]);
const skCopy = (...args: string[]) => sk(['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', ...args]);

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

let reg: Registry;
let H: string;
/** The same image as Docker v2s2 and as OCI, in the registry. */
let V2: string;
let OCI: string;
let v2Manifest: any;

beforeAll(async () => {
  mkdirSync(join(work, 'readback'));
  reg = await startRegistry();
  H = reg.host;
  await umociImage(work, L, 'base');
  V2 = `docker://${H}/src/v2:1`;
  OCI = `docker://${H}/src/oci:1`;
  await skCopy('--format', 'v2s2', `oci:${L}:base`, V2);
  await skCopy(`oci:${L}:base`, OCI);
  v2Manifest = JSON.parse((await sk(['inspect', '--raw', NO_TLS, V2])).stdout);
  expect(v2Manifest.config.mediaType).toBe(DOCKER_CONFIG);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
});

const hex = (d: string) => d.slice('sha256:'.length);

/** referencedIn is every digest a manifest stored under `read` references: itself, its config and layers, and its children's, recursively. */
function referencedIn(read: (digest: string) => Buffer, digest: string, into = new Set<string>()): Set<string> {
  into.add(digest);
  const m = JSON.parse(read(digest).toString('utf8'));
  if (Array.isArray(m.manifests)) for (const c of m.manifests) referencedIn(read, c.digest, into);
  else for (const d of [m.config, ...m.layers]) into.add(d.digest);
  return into;
}

/** layoutOrphans lists the blobs of an oci: layout that no manifest of index.json references (walks index.json → manifests → config + layers). */
function layoutOrphans(layout: string): string[] {
  const read = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', hex(d)));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const used = new Set<string>();
  for (const m of index.manifests) referencedIn(read, m.digest, used);
  const stored = readdirSync(join(layout, 'blobs', 'sha256')).map((h) => `sha256:${h}`);
  for (const d of used) expect(stored, `${d} is referenced but missing`).toContain(d);
  return stored.filter((d) => !used.has(d));
}

/** dirOrphans lists the blob files of a dir: image that its manifest.json does not reference. */
function dirOrphans(dir: string): string[] {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const used = new Set<string>([m.config.digest, ...m.layers.map((l: any) => l.digest)].map(hex));
  const files = readdirSync(dir).filter((f) => !['manifest.json', 'version'].includes(f));
  for (const h of used) expect(files, `${h} is referenced but missing`).toContain(h);
  return files.filter((f) => !used.has(f));
}

/** repoOrphans lists the blobs linked into a repository of the test registry (its _layers links) that the manifest at `tag` does not reference. */
function repoOrphans(repo: string, digest: string): string[] {
  const root = join(reg.storage, 'docker', 'registry', 'v2');
  const read = (d: string) => readFileSync(join(root, 'blobs', 'sha256', hex(d).slice(0, 2), hex(d), 'data'));
  const used = referencedIn(read, digest);
  used.delete(digest);
  const linked = readdirSync(join(root, 'repositories', repo, '_layers', 'sha256')).map((h) => `sha256:${h}`);
  for (const d of used) expect(linked, `${d} is referenced but not in ${repo}`).toContain(d);
  return linked.filter((d) => !used.has(d));
}

/** readable checks that umoci and skopeo read an image of a layout, and that skopeo can copy it on. */
async function readable(layout: string, name: string): Promise<void> {
  const ls = await must(exec('umoci', ['ls', '--layout', layout]), 'umoci ls');
  expect(ls.stdout.split('\n')).toContain(name);
  await must(exec('umoci', ['stat', '--image', `${layout}:${name}`]), 'umoci stat');
  await sk(['inspect', `oci:${layout}:${name}`]);
  await sk(['copy', '-q', `oci:${layout}:${name}`, `dir:${join(work, 'readback', `${layout.replace(/\W/g, '_')}-${name}`)}`]);
}

describe('a Docker v2s2 image into oci: is converted with nothing left over', () => {
  it('img-copy: only the converted config and the layers are in the layout, as skopeo writes it', async () => {
    const ours = join(work, 'copy.layout');
    const theirs = join(work, 'copy-sk.layout');
    const r = ok(await copy(V2, `oci:${ours}:app`));
    await skCopy(V2, `oci:${theirs}:app`);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', status: 'copied' });
    expect(rec!.manifest.config.mediaType).toBe(OCI_CONFIG);
    expect(layoutOrphans(ours)).toEqual([]);
    expect(existsSync(join(ours, 'blobs', 'sha256', hex(v2Manifest.config.digest)))).toBe(false);
    // The same blobs skopeo's copy holds.
    expect(readdirSync(join(ours, 'blobs', 'sha256')).sort()).toEqual(readdirSync(join(theirs, 'blobs', 'sha256')).sort());
    await readable(ours, 'app');
    // A second tag of the same image adds nothing.
    const again = ok(await copy(V2, `oci:${ours}:app2`));
    expect(records(again.stdout)[0]).toMatchObject({ digest: rec!.digest, blobs: { copied: 0 } });
    expect(layoutOrphans(ours)).toEqual([]);
  });

  it('img-sync: a repository into a layout, then again (a re-run that finds it converted there)', async () => {
    const layout = join(work, 'sync.layout');
    const sync = () => img('img-sync', ['--src', 'docker', '--dest', 'oci', '--src-tls-verify=false', `${H}/src/v2`, layout]);
    const first = ok(await sync());
    expect(records(first.stdout)).toMatchObject([{ status: 'copied' }]);
    expect(layoutOrphans(layout)).toEqual([]);
    await readable(layout, 'v2:1');
    const before = readdirSync(join(layout, 'blobs', 'sha256')).sort();
    const again = ok(await sync());
    expect(records(again.stdout)).toMatchObject([{ digest: records(first.stdout)[0]!.digest, status: 'exists' }]);
    expect(readdirSync(join(layout, 'blobs', 'sha256')).sort()).toEqual(before);
    expect(layoutOrphans(layout)).toEqual([]);
    const plan = ok(await img('img-sync', ['--dry-run', '--src', 'docker', '--dest', 'oci', '--src-tls-verify=false', `${H}/src/v2`, layout]));
    expect(records(plan.stdout)).toMatchObject([{ status: 'planned', blobs: { copied: 0, existed: 1 + v2Manifest.layers.length, planned: [] } }]);
  });

  it('--preserve-digests keeps the Docker manifest, and with it the Docker config', async () => {
    const layout = join(work, 'preserve.layout');
    const r = ok(await copy('--preserve-digests', V2, `oci:${layout}:app`));
    expect(records(r.stdout)[0]!.digest).toBe(sha256(JSON.stringify(v2Manifest)));
    expect(layoutOrphans(layout)).toEqual([]);
    expect(existsSync(join(layout, 'blobs', 'sha256', hex(v2Manifest.config.digest)))).toBe(true);
  });

  it('into oci-archive: every entry under blobs/ is referenced', async () => {
    const tar = join(work, 'conv.oci.tar');
    ok(await copy(V2, `oci-archive:${tar}:app`));
    const x = join(work, 'conv-x');
    mkdirSync(x);
    await must(exec('tar', ['-xf', tar, '-C', x]), 'tar -x');
    expect(layoutOrphans(x)).toEqual([]);
    await readable(x, 'app');
  });
});

describe('--format leaves no blob the written manifest does not reference', () => {
  it('--format oci registry → registry: the new repository links only the converted config and the layers', async () => {
    const dest = `docker://${H}/conv/oci:1`;
    const r = ok(await copy('--format', 'oci', V2, dest));
    const digest = records(r.stdout)[0]!.digest;
    expect(repoOrphans('conv/oci', digest)).toEqual([]);
    await sk(['copy', '-q', '--src-tls-verify=false', dest, `dir:${join(work, 'readback', 'conv-oci')}`]);
  });

  it('--format oci and --format v2s2 into dir:, with the digests skopeo gives', async () => {
    for (const [from, format] of [
      [V2, 'oci'],
      [OCI, 'v2s2'],
    ] as const) {
      const ours = join(work, `fmt-${format}.dir`);
      const theirs = join(work, `fmt-${format}-sk.dir`);
      const r = ok(await copy('--format', format, from, `dir:${ours}`));
      await skCopy('--format', format, from, `dir:${theirs}`);
      expect(records(r.stdout)[0]!.digest).toBe(sha256(readFileSync(join(theirs, 'manifest.json'))));
      expect(dirOrphans(ours), format).toEqual([]);
      expect(readdirSync(ours).sort()).toEqual(readdirSync(theirs).sort());
    }
  });

  it('the bare pipeline: img-blob-put --format oci leaves the Docker config for img-manifest put --format oci to write as OCI', async () => {
    const dest = `docker://${H}/bare/oci:1`;
    const r = ok(
      await sh(`img-manifest get ${NO_TLS} ${V2} | img-ref --dest ${dest} | img-blob-put ${NO_TLS} --format oci | img-manifest put ${NO_TLS} --format oci`),
    );
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ mediaType: 'application/vnd.oci.image.manifest.v1+json', status: 'copied' });
    // The layers only (mounted from the source's repository on the same registry); put wrote the config.
    expect(rec!.blobs.copied + rec!.blobs.mounted).toBe(v2Manifest.layers.length);
    expect(repoOrphans('bare/oci', rec!.digest)).toEqual([]);
    const bad = await img('img-blob-put', ['--format', 'oci1'], '');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('invalid --format "oci1": oci or v2s2');
  });
});

describe('--dry-run plans the blobs the copy writes', () => {
  it('into oci: the converted config, not the Docker one; nothing once the layout has the image', async () => {
    const layout = join(work, 'dry.layout');
    const plan = records(ok(await copy('--dry-run', V2, `oci:${layout}:app`)).stdout);
    expect(plan).toHaveLength(1);
    const planned = plan[0]!.blobs.planned as { digest: string; size: number; mediaType: string }[];
    expect(planned.map((b) => b.digest)).not.toContain(v2Manifest.config.digest);
    expect(planned.map((b) => b.mediaType)).toContain(OCI_CONFIG);
    expect(plan[0]!.blobs).toMatchObject({ copied: planned.length, bytes: planned.reduce((n, b) => n + b.size, 0) });
    expect(existsSync(layout)).toBe(false);
    // The copy writes exactly what was planned.
    const r = ok(await copy(V2, `oci:${layout}:app`));
    const written = records(r.stdout)[0]!.manifest;
    expect(planned.map((b) => b.digest).sort()).toEqual([written.config.digest, ...written.layers.map((l: any) => l.digest)].sort());
    expect(planned.find((b) => b.mediaType === OCI_CONFIG)).toEqual({ digest: written.config.digest, size: written.config.size, mediaType: OCI_CONFIG });
    const again = records(ok(await copy('--dry-run', V2, `oci:${layout}:other`)).stdout);
    expect(again[0]!.blobs).toMatchObject({ copied: 0, existed: planned.length, planned: [] });
  });

  it('with --format oci into dir:, and into an oci-archive', async () => {
    for (const [args, dest] of [
      [['--format', 'oci'], `dir:${join(work, 'dry.dir')}`],
      [[], `oci-archive:${join(work, 'dry.oci.tar')}`],
    ] as const) {
      const plan = records(ok(await copy('--dry-run', ...args, V2, dest)).stdout);
      const planned = plan[0]!.blobs.planned as { digest: string; mediaType: string }[];
      expect(
        planned.map((b) => b.digest),
        dest,
      ).not.toContain(v2Manifest.config.digest);
      expect(
        planned.filter((b) => b.mediaType === OCI_CONFIG),
        dest,
      ).toHaveLength(1);
      expect(planned).toHaveLength(1 + v2Manifest.layers.length);
    }
  });
});
