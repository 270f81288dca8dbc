// --retry-delay (skopeo's, containers/common's retry.Options.Delay): a fixed wait before each retry
// instead of the exponential backoff. A real registry behind the fault proxy answers the first
// requests of one kind with 503; the arrivals at the proxy show that the retries happened and how
// far apart they were. The backoff is made short (IMGPIPE_RETRY_DELAY_MS=10), so a run without the
// flag retries within milliseconds and one with it cannot be mistaken for it. Only lower bounds
// on the waits are asserted (the machine is shared): an upper one only where the flag is absent.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../helpers/faultproxy.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { BIN, exec, have, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';
import { seedRegistry } from '../helpers/seed.js';

const ready = have('docker-registry');
const work = tempDir('imgpipe-retry-delay-');
const box = sandbox(work);
const ENV = { ...box.env, IMGPIPE_RETRY_DELAY_MS: '10' };
let reg: Registry;
let px: FaultProxy;
let n = 0;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const ip = (args: string[], env: NodeJS.ProcessEnv = {}) => exec(join(BIN, 'imgpipe'), args, undefined, { ...ENV, ...env });
const img = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => exec(join(BIN, cmd), args, undefined, { ...ENV, ...env });

/** faulted runs `run` with the first `times` requests matching `rule` answered 503, and gives the arrivals of the requests that match it. */
async function faulted(rule: Omit<FaultRule, 'status'>, times: number, run: () => Promise<Result>): Promise<{ r: Result; at: number[] }> {
  const re = typeof rule.path === 'string' ? new RegExp(rule.path) : rule.path;
  const from = px.seen.length;
  px.setFaults([{ ...rule, status: 503, times }]);
  const r = await run();
  const at = px.seen
    .slice(from)
    .filter((s) => (!rule.method || s.method === rule.method) && re.test(s.url))
    .map((s) => s.at);
  return { r, at };
}
const gaps = (at: number[]) => at.slice(1).map((a, i) => a - at[i]!);
const ok = (r: Result) => expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);

beforeAll(async () => {
  if (!ready) return;
  reg = await startRegistry();
  seedRegistry(reg.storage, ['app', ...Array.from({ length: 6 }, (_, i) => `del${i}`)], ['1']);
  px = await startFaultProxy(reg.host);
}, 60_000);

afterAll(async () => {
  await px?.stop();
  await reg?.stop();
});

describe.skipIf(!ready)('--retry-delay: a fixed wait between retries', () => {
  const app = () => `docker://${px.host}/app:1`;
  const manifest = { method: 'GET', path: /\/v2\/app\/manifests\/1$/ };

  it('inspect: two 503s, each retried after the delay; without it, at once (the backoff)', async () => {
    const slow = await faulted(manifest, 2, () => ip(['inspect', '--tls-verify=false', '--retry-delay', '1s', app()]));
    ok(slow.r);
    expect(JSON.parse(slow.r.stdout).Name).toBe(`${px.host}/app`);
    expect(slow.at.length).toBeGreaterThanOrEqual(3);
    for (const g of gaps(slow.at.slice(0, 3))) expect(g).toBeGreaterThanOrEqual(950);
    const fast = await faulted(manifest, 2, () => ip(['inspect', '--tls-verify=false', app()]));
    ok(fast.r);
    for (const g of gaps(fast.at.slice(0, 3))) expect(g).toBeLessThan(500);
  });

  it('list-tags and delete: the same', async () => {
    const tags = await faulted({ method: 'GET', path: /\/v2\/app\/tags\/list/ }, 2, () =>
      ip(['list-tags', '--tls-verify=false', '--retry-delay=800ms', `docker://${px.host}/app`]),
    );
    ok(tags.r);
    expect(JSON.parse(tags.r.stdout).Tags).toEqual(['1']);
    expect(tags.at).toHaveLength(3);
    for (const g of gaps(tags.at)) expect(g).toBeGreaterThanOrEqual(750);
    const del = await faulted({ method: 'DELETE', path: /\/manifests\// }, 2, () =>
      ip(['delete', '--tls-verify=false', '--retry-delay=800ms', `docker://${px.host}/del${n++}:1`]),
    );
    ok(del.r);
    expect(del.at).toHaveLength(3);
    for (const g of gaps(del.at)) expect(g).toBeGreaterThanOrEqual(750);
  });

  it('copy and sync pass it to every stage: a 503 on the manifest and one on a blob each wait', async () => {
    for (const [sub, args] of [
      ['copy', ['copy', '--src-tls-verify=false', '--retry-delay', '700ms', app(), `dir:${join(work, 'copy')}`]],
      ['sync', ['sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', '--retry-delay', '700ms', `${px.host}/app:1`, join(work, 'sync')]],
    ] as const) {
      const from = px.seen.length;
      px.setFaults([
        { ...manifest, status: 503 },
        { method: 'GET', path: /\/blobs\/sha256:/, status: 503 },
      ]);
      const r = await ip([...args]);
      ok(r);
      expect(px.pending(), sub).toEqual([]);
      const seen = px.seen.slice(from);
      for (const re of [manifest.path, /\/blobs\/sha256:/]) {
        const i = seen.findIndex((s) => s.status === 503 && re.test(s.url));
        const retry = seen.slice(i + 1).find((s) => s.url === seen[i]!.url && s.method === 'GET');
        expect(retry, `${sub}: the retry of ${seen[i]?.url}`).toBeDefined();
        expect(retry!.at - seen[i]!.at, `${sub}: ${seen[i]!.url}`).toBeGreaterThanOrEqual(650);
      }
    }
  });

  it('an upload cut in the middle is sent again whole after the delay too', async () => {
    // a layer over 1 MiB is streamed (PATCH): its body cannot be replayed by the request's own
    // retries, so the copy reads the blob again and sends it again, after the delay
    const dir = join(work, 'big');
    const layer = randomBytes(2 * 1024 * 1024);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
    writeFileSync(join(dir, sha256(layer).slice(7)), layer);
    writeFileSync(join(dir, sha256(config).slice(7)), config);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const [flags, far] of [
      [['--retry-delay', '700ms'], true],
      [[], false],
    ] as const) {
      const from = px.seen.length;
      px.setFaults([{ method: 'PATCH', path: /\/blobs\/uploads\//, reset: true }]);
      const r = await ip(['--insecure-policy', 'copy', '--dest-tls-verify=false', ...flags, `dir:${dir}`, `docker://${px.host}/again${n++}:1`]);
      ok(r);
      expect(px.pending()).toEqual([]);
      const patches = px.seen.slice(from).filter((s) => s.method === 'PATCH');
      expect(patches.length, 'the blob sent again').toBeGreaterThanOrEqual(2);
      expect(patches[0]!.fault).toBe('reset');
      if (far) expect(patches[1]!.at - patches[0]!.at).toBeGreaterThanOrEqual(650);
      else expect(patches[1]!.at - patches[0]!.at).toBeLessThan(650);
    }
  });

  it('--retry-times still counts: one retry, then the 503 is the failure', async () => {
    const { r, at } = await faulted(manifest, 2, () => ip(['inspect', '--tls-verify=false', '--retry-times', '1', '--retry-delay', '500ms', app()]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/level=fatal msg=.*(503|unavailable)/i);
    expect(at).toHaveLength(2);
    expect(gaps(at)[0]).toBeGreaterThanOrEqual(450);
  });

  it("a longer Retry-After wins; the delay's waits come on top of the retry budget", async () => {
    const after = await faulted({ ...manifest, retryAfter: 2 }, 1, () => ip(['inspect', '--tls-verify=false', '--retry-delay', '100ms', app()]));
    ok(after.r);
    expect(gaps(after.at)[0]).toBeGreaterThanOrEqual(1950);
    // a budget of 300 ms would allow no wait of 1 s: the delay the user asked for is allowed for
    const budget = await faulted(manifest, 2, () => ip(['inspect', '--tls-verify=false', '--retry-delay', '1s', app()], { IMGPIPE_RETRY_BUDGET_MS: '300' }));
    ok(budget.r);
    for (const g of gaps(budget.at.slice(0, 3))) expect(g).toBeGreaterThanOrEqual(950);
    const backoff = await faulted({ ...manifest, retryAfter: 1 }, 1, () => ip(['inspect', '--tls-verify=false', app()], { IMGPIPE_RETRY_BUDGET_MS: '300' }));
    expect(backoff.r.status).toBe(1);
    expect(backoff.r.stderr).toMatch(/retry budget/);
  });

  it('the img-* commands take it too (img-tags, img-copy)', async () => {
    const tags = await faulted({ method: 'GET', path: /\/v2\/app\/tags\/list/ }, 1, () =>
      img('img-tags', ['--tls-verify=false', '--retry-delay', '700ms', `docker://${px.host}/app`]),
    );
    ok(tags.r);
    expect(gaps(tags.at)[0]).toBeGreaterThanOrEqual(650);
    const copy = await faulted(manifest, 1, () =>
      img('img-copy', ['--src-tls-verify=false', '--insecure-policy', '--retry-delay', '700ms', app(), `dir:${join(work, 'img-copy')}`]),
    );
    ok(copy.r);
    expect(gaps(copy.at)[0]).toBeGreaterThanOrEqual(650);
    expect((await img('img-copy', ['--explain', '--retry-delay', '700ms', app(), `dir:${join(work, 'never')}`])).stderr).toMatch(
      /^img-manifest get \S+ .*--retry-delay=700ms/m,
    );
  });

  it('a refused connection is retried when --retry-times is given (a registry coming back), and fails at once without it', async () => {
    // a port nothing listens on: a proxy started and stopped
    const gone = await startFaultProxy(reg.host);
    await gone.stop();
    const at = `docker://${gone.host}/app:1`;
    const quick = await ip(['inspect', '--tls-verify=false', at]);
    expect(quick.status).toBe(1);
    expect(quick.stderr).toMatch(/connection refused/);
    // the registry comes back on that port while the retries wait
    const waiting = ip(['inspect', '--tls-verify=false', '--retry-times', '5', '--retry-delay', '1s', at]);
    await new Promise((r) => setTimeout(r, 1500));
    const back = await startFaultProxy(reg.host, { port: gone.port });
    try {
      const r = await waiting;
      ok(r);
      expect(JSON.parse(r.stdout).Name).toBe(`${gone.host}/app`);
      expect(back.seen.some((s) => /\/manifests\/1$/.test(s.url))).toBe(true);
    } finally {
      await back.stop();
    }
    const tags = img('img-tags', ['--tls-verify=false', '--retry-times', '3', '--retry-delay', '1s', `docker://${gone.host}/app`]);
    await new Promise((r) => setTimeout(r, 1500));
    const again = await startFaultProxy(reg.host, { port: gone.port });
    try {
      ok(await tags);
    } finally {
      await again.stop();
    }
  });

  it('a delay that is no Go duration, or negative, is refused naming the flag; 0 is the backoff', async () => {
    for (const [given, why] of [
      ['x', 'time: invalid duration \\"x\\"'],
      ['5', 'time: missing unit in duration \\"5\\"'],
      ['2d', 'time: unknown unit \\"d\\" in duration \\"2d\\"'],
      ['-1s', 'a duration of 0 or more'],
    ]) {
      const r = await ip(['inspect', '--tls-verify=false', `--retry-delay=${given}`, app()]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`level=fatal msg="invalid argument \\"${given}\\" for \\"--retry-delay\\" flag: ${why}"`);
      const s = await img('img-tags', [`--retry-delay=${given}`, `docker://${px.host}/app`]);
      expect(s.status).toBe(2);
      expect(s.stderr).toMatch(new RegExp(`^img-tags: invalid --retry-delay "${given}": `));
    }
    const zero = await faulted(manifest, 1, () => ip(['inspect', '--tls-verify=false', '--retry-delay', '0', app()]));
    ok(zero.r);
    expect(gaps(zero.at)[0]).toBeLessThan(500);
  });
});
