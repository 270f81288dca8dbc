// How many requests a no-op re-sync of 100 tags sends, counted by proxies in front of both
// registries, against what skopeo sync sends for the same work (a figure, not a time).
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../helpers/faultproxy.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-requests-');
const box = sandbox(work);
const NO_TLS = '--tls-verify=false';
const TAGS = 100;
let src: Registry;
let dst: Registry;
let spx: FaultProxy;
let dpx: FaultProxy;

const ok = (r: Result, what: string) => {
  expect(r.status, `${what}: ${r.stderr}`).toBe(0);
  return r;
};

/** summary counts requests by method and kind of path, e.g. "HEAD manifests": 100. */
function summary(seen: SeenRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of seen) {
    const kind = /\/manifests\//.test(r.url)
      ? 'manifests'
      : /\/blobs\/uploads/.test(r.url)
        ? 'uploads'
        : /\/blobs\//.test(r.url)
          ? 'blobs'
          : r.url.split('?')[0]!;
    const key = `${r.method} ${kind}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** counted runs `f` and gives the requests it sent to both registries. */
async function counted(f: () => Promise<unknown>): Promise<{ total: number; src: Record<string, number>; dest: Record<string, number> }> {
  const [s0, d0] = [spx.seen.length, dpx.seen.length];
  await f();
  const s = spx.seen.slice(s0);
  const d = dpx.seen.slice(d0);
  return { total: s.length + d.length, src: summary(s), dest: summary(d) };
}

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  [spx, dpx] = await Promise.all([startFaultProxy(src.host), startFaultProxy(dst.host)]);
  // Five images under 100 tags, pushed in one pipeline.
  const seeds = ['a', 'b', 'c', 'd', 'e'];
  for (const s of seeds) writeDirImage(join(work, `img-${s}`), { seed: s });
  const gets = seeds.map((s) => `dir:${join(work, `img-${s}`)}`).join(' ');
  ok(
    await box.sh(
      `img-manifest get ${gets} | jq -c --argjson n ${TAGS} '. as $r | input_line_number as $i | range(0; $n / 5) | $r + {dest: "docker://${src.host}/team/app:t\\(. * 5 + $i - 1)"}' | img-blob-put ${NO_TLS} | img-manifest put ${NO_TLS} >/dev/null`,
    ),
    'pushing the source',
  );
  // The first sync, through the proxies, fills the destination.
  ok(await box.img('img-sync', ['--src', 'docker', '--dest', 'docker', NO_TLS, `${spx.host}/team/app`, `${dpx.host}/mirror`]), 'the first sync');
}, 180_000);

afterAll(async () => {
  await Promise.all([spx?.stop(), dpx?.stop()]);
  await Promise.all([src?.stop(), dst?.stop()]);
});

it(`a no-op re-sync of ${TAGS} tags sends no more requests than skopeo sync sends for it`, async () => {
  let out: Result | undefined;
  const ours = await counted(async () => {
    out = ok(await box.img('img-sync', ['--src', 'docker', '--dest', 'docker', NO_TLS, `${spx.host}/team/app`, `${dpx.host}/mirror`]), 'the re-sync');
  });
  expect(records(out!.stdout).map((r) => r.status)).toEqual(Array(TAGS).fill('exists'));
  const theirs = await counted(async () =>
    ok(
      await box.skopeo([
        'sync',
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `${spx.host}/team/app`,
        `${dpx.host}/mirror`,
      ]),
      'skopeo sync',
    ),
  );
  process.stderr.write(`requests of a no-op re-sync of ${TAGS} tags: imgpipe ${JSON.stringify(ours)}\n  skopeo ${JSON.stringify(theirs)}\n`);
  expect(ours.total).toBeLessThanOrEqual(theirs.total);
  // A manifest HEAD at each end per tag, and the tag list: nothing is read whole that a HEAD answers.
  expect(ours.total).toBeLessThanOrEqual(2 * TAGS + 6);
  expect(ours.dest['GET manifests'] ?? 0).toBe(0);
});
