// Issue 15, item 4: documents nested too deep are refused as they are read, as an error record that
// names them, and the rest of the run goes on. A real registry holds a good image under two tags and,
// next to them, a 12 KB manifest with 6,000 nested arrays in an unknown field (distribution takes
// it: Go's decoder allows 10,000), and an image whose config nests as deep.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, img as imgRaw, records, sh as shRaw, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ok = have('docker-registry') && have('umoci') && have('jq');
const work = tempDir('imgpipe-bounds-deep-');
const box = sandbox(work);
const L = join(work, 'layout');
const T = ['--tls-verify=false'];
const DEEP = `${'['.repeat(6000)}${']'.repeat(6000)}`;
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, box.env);
let reg: Registry;
let good: Record<string, any>;

async function putManifest(repo: string, tag: string, raw: string, mediaType: string): Promise<void> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: raw });
  if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${tag}: ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  if (!ok) return;
  await umociImage(work, L, 'base');
  reg = await startRegistry();
  good = records((await must(img('img-manifest', ['get', `oci:${L}:base`]), 'get')).stdout)[0]!;
  const push = await shRaw(
    `img-manifest get oci:'${L}':base | jq -c '. as $r | ("1","2") | $r + {dest: "docker://${reg.host}/team/app:\\(.)"}' | img-blob-put --tls-verify=false | img-manifest put --tls-verify=false`,
    box.env,
  );
  if (push.status !== 0) throw new Error(`push: ${push.stderr}`);
  // the same image, with 6,000 nested arrays in a field nobody reads: 12 KB
  const raw = `${(good.raw as string).trimEnd().slice(0, -1)},"x":${DEEP}}`;
  await putManifest('team/app', 'deep', raw, good.mediaType);
  // an image whose config nests 6,000 deep
  const config = `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"x":${DEEP}}`;
  await must(img('img-blob-put', [...T, `docker://${reg.host}/team/cfg`], config), 'config blob');
  const m = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [],
  });
  await putManifest('team/cfg', '1', m, 'application/vnd.oci.image.manifest.v1+json');
}, 120_000);
afterAll(() => reg?.stop());

describe.skipIf(!ok)('a document nested deeper than the limit', () => {
  it('a manifest: an error record naming it, one line on stderr, no crash', async () => {
    const ref = `docker://${reg.host}/team/app:deep`;
    const r = await img('img-manifest', ['get', ...T, ref, `docker://${reg.host}/team/app:1`]);
    expect(r.status).toBe(1);
    const [bad, fine] = records(r.stdout);
    expect(bad!.ref).toBe(ref);
    expect(bad!.error).toEqual({
      code: 'MANIFEST_INVALID',
      message: `fetching manifest ${ref}: manifest deep nests arrays and objects deeper than 128 levels, the limit for a manifest`,
      stage: 'img-manifest get',
    });
    expect(fine!.digest).toBe(good.digest);
    expect(r.stderr.trim().split('\n')).toEqual([`img-manifest get: ${bad!.error.message}`]);
    expect(r.stderr).not.toMatch(/Maximum call stack/);
  });

  it('a config read with --config: the same, naming the config', async () => {
    const r = await img('img-manifest', ['get', '--config', ...T, `docker://${reg.host}/team/cfg:1`]);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error.message).toMatch(/config sha256:[0-9a-f]{64} nests arrays and objects deeper than 128 levels, the limit for a config$/);
  });

  it('a record on stdin: an error record naming the line, and the next line goes on', async () => {
    const deep = `{"ref":"oci:${L}:base","x":${DEEP}}`;
    const r = await img('img-ref', ['--to', `dir:${join(work, 'refs')}`], `${deep}\n{"ref":"oci:${L}:base"}\n`);
    expect(r.status).toBe(1);
    const [bad, fine] = records(r.stdout);
    expect(bad!.error).toMatchObject({
      code: 'RECORD_INVALID',
      message: 'stdin line 1 nests arrays and objects deeper than 256 levels, the limit for a record',
    });
    expect(fine!.dest).toMatch(/^dir:/);
  });

  it('img-sync --keep-going lands the good images next to it', async () => {
    const out = join(work, 'synced');
    const r = await img('img-sync', ['--src', 'docker', '--dest', 'oci', '--keep-going', ...T, `docker://${reg.host}/team/app`, out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nests arrays and objects deeper than 128 levels/);
    expect(r.stderr).toMatch(/sync failed for one or more images/);
    expect(r.stderr).not.toMatch(/Maximum call stack/);
    const names = (JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests as any[])
      .map((m) => m.annotations['org.opencontainers.image.ref.name'])
      .sort();
    expect(names).toEqual(['app:1', 'app:2']);
    expect(records(r.stdout).find((x) => x.ref?.endsWith(':deep'))?.error?.code).toBe('MANIFEST_INVALID');
  });
});
