// Issue 15, item 5: img-manifest get --all over a large index fetches each distinct child once, and
// several at a time. A real registry holds an index of 15,000 entries that all name one image (pushed
// as it is: distribution checks each entry), and an index of 8 distinct images. What img-manifest
// sends is counted through a fault proxy, not timed: timing belongs in benchmarks.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { writeDirImage } from '../helpers/fixtures.js';
import { must } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, img as imgRaw, records, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ok = have('docker-registry');
const work = tempDir('imgpipe-bounds-index-');
const box = sandbox(work);
const T = ['--tls-verify=false'];
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, box.env);
let reg: Registry;
let proxy: FaultProxy;
const children: { digest: string; mediaType: string; size: number }[] = [];

async function putIndex(tag: string, entries: object[]): Promise<string> {
  const raw = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
  const res = await fetch(`${reg.url}/v2/big/index/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': OCI_INDEX }, body: raw });
  if (res.status !== 201) throw new Error(`PUT index: ${res.status} ${await res.text()}`);
  return sha256(raw);
}

beforeAll(async () => {
  if (!ok) return;
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  for (let i = 0; i < 8; i++) {
    writeDirImage(join(work, `img${i}`), { seed: `child ${i}` });
    const r = await must(img('img-copy', ['--dest-tls-verify=false', `dir:${join(work, `img${i}`)}`, `docker://${reg.host}/big/index:c${i}`]), 'child');
    const rec = records(r.stdout)[0]!;
    children.push({ digest: rec.digest, mediaType: rec.mediaType, size: rec.size });
  }
}, 180_000);
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

const platform = (i: number) => ({ architecture: `arch${i}`, os: 'linux' });
const manifestGets = (from: number) => proxy.seen.slice(from).filter((s) => s.method === 'GET' && /\/manifests\//.test(s.url));

describe.skipIf(!ok)('img-manifest get --all over a large index', () => {
  it('15,000 entries of one image: the image is fetched once, and is one record', async () => {
    const entries = Array.from({ length: 15_000 }, (_, i) => ({ ...children[0]!, platform: platform(i) }));
    const index = await putIndex('many', entries);
    const n = proxy.seen.length;
    const r = await img('img-manifest', ['get', '--all', ...T, `docker://${proxy.host}/big/index:many`]);
    expect(r.status, r.stderr).toBe(0);
    const recs = records(r.stdout);
    expect(recs.map((x) => x.digest)).toEqual([children[0]!.digest, index]);
    // the first entry's platform and the index as its parent
    expect(recs[0]).toMatchObject({ parent: index, platform: platform(0) });
    expect(manifestGets(n).map((s) => s.url)).toEqual([`/v2/big/index/manifests/many`, `/v2/big/index/manifests/${children[0]!.digest}`]);
  });

  it('distinct children are fetched several at a time, each once, and come in the index order', async () => {
    // the 8 images, each listed three times
    const entries = [0, 1, 2].flatMap(() => children.map((c, i) => ({ ...c, platform: platform(i) })));
    const index = await putIndex('eight', entries);
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/sha256:/, stallMs: 400, times: Infinity }]);
    const n = proxy.seen.length;
    let most = 0;
    let done = false;
    const poll = (async () => {
      while (!done) {
        most = Math.max(most, proxy.seen.slice(n).filter((s) => /\/manifests\/sha256:/.test(s.url) && s.status === undefined).length);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const r = await img('img-manifest', ['get', '--all', ...T, `docker://${proxy.host}/big/index:eight`]);
    done = true;
    await poll;
    proxy.setFaults([]);
    expect(r.status, r.stderr).toBe(0);
    expect(records(r.stdout).map((x) => x.digest)).toEqual([...children.map((c) => c.digest), index]);
    const gets = manifestGets(n).map((s) => s.url.split('/').pop());
    expect(gets.slice(1).sort()).toEqual(children.map((c) => c.digest).sort());
    expect(most).toBeGreaterThan(1);
  });
});
