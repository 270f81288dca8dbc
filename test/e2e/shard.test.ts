// Sharded sync (issue 16), as docs/scale.md runs it: GNU parallel starts `img-sync --shard K/4` for
// K = 0…3 at once over a real registry of 20 repositories × 10 tags, into a registry behind a fault
// proxy. The result must be exactly what one img-sync gives (same tags, same digests), each
// repository must be written by one shard only (the proxy sees which: each shard sends its own
// --dest-registry-token, which the open registry ignores), the one the documented hash names, and
// the merged report (jq over the shards' records, their digest files) must list every image once.
// A shard run again moves nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';
import { seedRegistry, type SeededImage } from '../helpers/seed.js';

const ready = ['docker-registry', 'parallel', 'jq'].every(have);
const work = tempDir('imgpipe-shard-');
const box = sandbox(work);
const REPOS = Array.from({ length: 20 }, (_, i) => `team/r${String(i).padStart(2, '0')}`);
const TAGS = Array.from({ length: 10 }, (_, i) => `t${i}`);
const N = 4;
const TLS = '--src-tls-verify=false --dest-tls-verify=false';
const WRITES = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

let src: Registry;
let one: Registry; // what a single img-sync writes
let many: Registry; // what the shards write, through px
let px: FaultProxy;
let seeded: SeededImage[] = [];

const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const sh = async (script: string) => ok(await box.sh(`cd ${work} && ${script}`));
/** shellShard is the shard of a repository by docs/scale.md's one-liner. */
const shellShard = (key: string) =>
  Number(execFileSync('bash', ['-c', 'echo $(( 0x$(printf %s "$1" | sha256sum | cut -c1-8) % $2 ))', '_', key, String(N)]).toString());
/** contents lists "REPOSITORY:TAG DIGEST" of every tag a registry holds, sorted, read from its storage. */
function contents(reg: Registry): string[] {
  const repos = join(reg.storage, 'docker/registry/v2/repositories');
  const out: string[] = [];
  const walk = (dir: string, name: string[]) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name !== '_manifests') {
        if (!e.name.startsWith('_')) walk(join(dir, e.name), [...name, e.name]);
        continue;
      }
      const tags = join(dir, '_manifests/tags');
      for (const t of existsSync(tags) ? readdirSync(tags) : []) out.push(`${name.join('/')}:${t} ${readFileSync(join(tags, t, 'current/link'), 'utf8')}`);
    }
  };
  walk(repos, []);
  return out.sort();
}
const repoOf = (url: string) => /^\/v2\/(.+?)\/(?:blobs|manifests)\//.exec(url)?.[1];

beforeAll(async () => {
  if (!ready) return;
  [src, one, many] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  px = await startFaultProxy(many.host);
  seeded = seedRegistry(src.storage, REPOS, TAGS);
}, 60_000);

afterAll(async () => {
  await px?.stop();
  await Promise.all([src?.stop(), one?.stop(), many?.stop()]);
});

describe.skipIf(!ready)('img-sync --shard K/N under GNU parallel', () => {
  it('4 shards at once give what one img-sync gives, each repository written by its one shard', async () => {
    // one img-sync
    await sh(`img-sync --src docker --catalog --dest docker ${TLS} --digestfile single.txt ${src.host} ${one.host}/mirror > single.ndjson`);
    const expected = seeded.map((s) => `mirror/${s.repo.split('/')[1]}:${s.tag} ${s.digest}`).sort();
    expect(contents(one)).toEqual(expected);

    // the recipe of docs/scale.md, with a label per shard for the proxy
    px.seen.length = 0;
    await sh(
      `parallel -j ${N} --halt now,fail=1 'img-sync --src docker --catalog --dest docker ${TLS} --dest-registry-token=shard-{} --shard {}/${N} --digestfile digests-{}.txt ${src.host} ${px.host}/mirror > records-{}.ndjson' ::: $(seq 0 ${N - 1})`,
    );
    expect(contents(many)).toEqual(expected);

    // every write to a repository came from one shard: the one the documented hash names
    const writers = new Map<string, Set<string>>();
    for (const s of px.seen) {
      const repo = repoOf(s.url);
      if (!WRITES.has(s.method) || repo === undefined) continue;
      if (!writers.has(repo)) writers.set(repo, new Set());
      writers.get(repo)!.add(String(s.headers.authorization));
    }
    expect([...writers.keys()].sort()).toEqual(REPOS.map((r) => `mirror/${r.split('/')[1]}`));
    const used = new Set<string>();
    for (const [repo, by] of writers) {
      expect([...by], repo).toEqual([`Bearer shard-${shellShard(`${px.host}/${repo}`)}`]);
      used.add([...by][0]!);
    }
    expect(used.size).toBeGreaterThan(1);
    // and no shard so much as looked at another's repositories at the destination
    for (const s of px.seen) {
      const repo = repoOf(s.url);
      if (repo !== undefined) expect(String(s.headers.authorization), `${s.method} ${s.url}`).toBe(`Bearer shard-${shellShard(`${px.host}/${repo}`)}`);
    }

    // the merged report lists every image once
    const merged = JSON.parse(
      (
        await sh(
          `jq -s -c '{images: length, dests: (map(.dest) | unique | length), copied: map(select(.status == "copied")) | length, failed: map(select(.error)) | length}' records-*.ndjson`,
        )
      ).stdout,
    );
    expect(merged).toEqual({ images: 200, dests: 200, copied: 200, failed: 0 });
    for (let k = 0; k < N; k++) {
      for (const r of records(readFileSync(join(work, `records-${k}.ndjson`), 'utf8'))) {
        expect(shellShard(r.dest.replace(/^docker:\/\//, '').replace(/:[^:/]+$/, '')), r.dest).toBe(k);
      }
    }
    const digests = (await sh('sort -k2 digests-*.txt')).stdout.replaceAll(px.host, 'HOST');
    expect(digests).toBe((await sh('sort -k2 single.txt')).stdout.replaceAll(one.host, 'HOST'));
    expect(digests.trim().split('\n')).toHaveLength(200);
    expect((await sh('cat digests-*.txt | cut -d" " -f2 | sort | uniq -d')).stdout).toBe('');
  }, 300_000);

  it('one shard run again (a failed index re-run) finds its images there and writes nothing', async () => {
    px.seen.length = 0;
    const r = await sh(`img-sync --src docker --catalog --dest docker ${TLS} --shard 2/${N} ${src.host} ${px.host}/mirror`);
    const again = records(r.stdout);
    const before = records(readFileSync(join(work, 'records-2.ndjson'), 'utf8'));
    expect(again.map((x) => x.dest).sort()).toEqual(before.map((x) => x.dest).sort());
    expect(new Set(again.map((x) => x.status))).toEqual(new Set(['exists']));
    expect(px.seen.filter((s) => WRITES.has(s.method))).toEqual([]);
  }, 120_000);
});
