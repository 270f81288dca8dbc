import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { umociImage, skopeo, must } from '../helpers/images.js';
import { exec, img, records, sh, tempDir } from '../helpers/run.js';

const work = tempDir();
const L = join(work, 'umoci-layout');
const sk = (args: string[]) => must(skopeo(args, work), `skopeo ${args.join(' ')}`);
const skDigest = async (ref: string) => JSON.parse((await sk(['inspect', ref])).stdout).Digest as string;
const skRaw = async (ref: string) => (await sk(['inspect', '--raw', ref])).stdoutBytes;

beforeAll(async () => {
  await umociImage(work, L, 'base');
  await sk(['copy', `oci:${L}:base`, `dir:${join(work, 'sk-dir-oci')}`]);
  await sk(['copy', '--format', 'v2s2', `oci:${L}:base`, `dir:${join(work, 'sk-dir-v2s2')}`]);
  await sk(['copy', `oci:${L}:base`, `oci:${join(work, 'sk-oci')}:copied`]);
  await sk(['copy', '--format', 'v2s2', `oci:${L}:base`, `oci:${join(work, 'sk-oci')}:v2s2`]);
});

describe('what skopeo and umoci write, imgpipe reads with the digest skopeo reports', () => {
  for (const [name, ref] of [
    ['umoci oci:', () => `oci:${L}:base`],
    ['skopeo dir: (OCI)', () => `dir:${join(work, 'sk-dir-oci')}`],
    ['skopeo dir: (Docker v2s2)', () => `dir:${join(work, 'sk-dir-v2s2')}`],
    ['skopeo oci:', () => `oci:${join(work, 'sk-oci')}:copied`],
  ] as const) {
    it(name, async () => {
      const r = await img('img-manifest', ['get', ref()]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [rec] = records(r.stdout);
      expect(rec!.digest).toBe(await skDigest(ref()));
      expect(Buffer.from(rec!.raw, 'utf8').equals(await skRaw(ref()))).toBe(true);
      expect(rec!.size).toBe(Buffer.byteLength(rec!.raw));
      const raw = await img('img-manifest', ['get', '--raw', ref()]);
      expect(raw.stdoutBytes.equals(await skRaw(ref()))).toBe(true);
    });
  }

  it('skopeo oci: (Docker v2s2), which skopeo 1.9 writes but cannot read back', async () => {
    // skopeo's oci: reader only looks at OCI-typed index entries, so index.json is the oracle here.
    const index = JSON.parse(readFileSync(join(work, 'sk-oci', 'index.json'), 'utf8'));
    const entry = index.manifests.find((m: any) => m.annotations['org.opencontainers.image.ref.name'] === 'v2s2');
    expect(entry.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const r = await img('img-manifest', ['get', `oci:${join(work, 'sk-oci')}:v2s2`]);
    expect(r.status).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec!.digest).toBe(entry.digest);
    expect(rec!.mediaType).toBe(entry.mediaType);
    expect(rec!.digest).toBe((await sk(['manifest-digest', join(work, 'sk-oci', 'blobs', 'sha256', entry.digest.slice(7))])).stdout.trim());
  });

  it('img-digest prints what skopeo manifest-digest prints', async () => {
    for (const d of ['sk-dir-oci', 'sk-dir-v2s2']) {
      const file = join(work, d, 'manifest.json');
      const ours = await img('img-digest', [file]);
      const theirs = await sk(['manifest-digest', file]);
      expect(ours.status).toBe(0);
      expect(ours.stdout).toBe(theirs.stdout);
    }
  });

  it('img-blob-get streams a layer skopeo wrote, verified', async () => {
    const m = JSON.parse(readFileSync(join(work, 'sk-dir-v2s2', 'manifest.json'), 'utf8'));
    const layer = m.layers[0];
    const r = await img('img-blob-get', [`dir:${join(work, 'sk-dir-v2s2')}@${layer.digest}`]);
    expect(r.status).toBe(0);
    expect(r.stdoutBytes.equals(readFileSync(join(work, 'sk-dir-v2s2', layer.digest.slice(7))))).toBe(true);
  });
});

describe('what imgpipe writes, skopeo and umoci read with identical bytes', () => {
  const copy = (from: string, to: string) => sh(`img-manifest get '${from}' | img-ref --to '${to}' | img-blob-put | img-manifest put`);

  it('oci: → dir: (OCI and Docker v2s2) → skopeo inspect --raw', async () => {
    for (const [src, name] of [
      [`oci:${L}:base`, 'base'],
      [`dir:${join(work, 'sk-dir-v2s2')}`, 'sk-dir-v2s2'],
    ] as const) {
      const r = await copy(src, `dir:${join(work, 'ours-dir')}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [rec] = records(r.stdout);
      expect(rec!.dest).toBe(`dir:${join(work, 'ours-dir', name)}`);
      expect(rec!.status).toBe('copied');
      const dest = `dir:${join(work, 'ours-dir', name)}`;
      expect((await skRaw(dest)).equals(await skRaw(src))).toBe(true);
      expect(await skDigest(dest)).toBe(await skDigest(src));
      expect(readFileSync(join(work, 'ours-dir', name, 'version'), 'utf8')).toBe(readFileSync(join(work, 'sk-dir-oci', 'version'), 'utf8'));
      // skopeo can copy it on: every blob is where skopeo looks for it.
      await sk(['copy', dest, `dir:${join(work, `sk-again-${name}`)}`]);
    }
  });

  it('dir: → oci: → skopeo inspect --raw and umoci unpack', async () => {
    const layout = join(work, 'ours-oci');
    const r = await copy(`dir:${join(work, 'sk-dir-oci')}`, `oci:${layout}`);
    expect(r.status).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec!.dest).toBe(`oci:${layout}:sk-dir-oci`);
    expect((await skRaw(rec!.dest)).equals(await skRaw(`dir:${join(work, 'sk-dir-oci')}`))).toBe(true);
    const ls = await must(exec('umoci', ['ls', '--layout', layout]), 'umoci ls');
    expect(ls.stdout.trim()).toBe('sk-dir-oci');
    const bundle = join(work, 'bundle');
    await must(exec('umoci', ['unpack', '--rootless', '--image', `${layout}:sk-dir-oci`, bundle]), 'umoci unpack');
    expect(readFileSync(join(bundle, 'rootfs', 'etc', 'greeting'), 'utf8')).toBe('hello from base\n');
    expect(readFileSync(join(bundle, 'rootfs', 'f2'), 'utf8')).toBe('second layer of base\n');
    // umoci's own layout check passes, and no temp or lock file is left behind.
    expect(readdirSync(layout).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(existsSync(join(layout, 'blobs', 'sha256'))).toBe(true);
  });

  it('a re-run moves nothing and reports exists', async () => {
    const layout = join(work, 'ours-oci');
    const r = await copy(`dir:${join(work, 'sk-dir-oci')}`, `oci:${layout}`);
    expect(r.status).toBe(0);
    expect(records(r.stdout)[0]!.status).toBe('exists');
  });
});
