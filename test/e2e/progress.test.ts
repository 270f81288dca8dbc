// img-blob-put's progress on stderr: bars on a terminal (the real pipeline run under a
// pseudo-terminal made by util-linux script, stdout redirected to a file), nothing when stderr is
// not a terminal, and --progress=ndjson events. A fault proxy stalls the registry's upload so that a
// blob is seen part way.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { sha256, writeDirImage } from '../helpers/fixtures.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, records, sh as shRaw, tempDir, type Result } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-progress-');
const env: NodeJS.ProcessEnv = isolatedEnv(work);
const sh = (script: string): Promise<Result> => shRaw(script, env);
const MiB = 1024 * 1024;
const short = (digest: string) => digest.slice(7, 19);

/** image writes a dir: image with extra random layers of the given sizes; returns its blob digests and sizes. */
function image(name: string, layerSizes: number[]): { src: string; blobs: { digest: string; size: number }[] } {
  const dir = join(work, name);
  const layers = layerSizes.map((n) => randomBytes(n));
  const extra = layers.map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(b), size: b.length }));
  let descs: { digest: string; size: number }[] = [];
  writeDirImage(dir, {
    seed: name,
    manifest: (m) => {
      descs = [m.config, ...m.layers, ...extra];
      return { ...m, layers: [...m.layers, ...extra] };
    },
  });
  for (const b of layers) writeFileSync(join(dir, sha256(b).slice(7)), b);
  return { src: `dir:${dir}`, blobs: descs.map((d) => ({ digest: d.digest, size: d.size })) };
}

/**
 * tty runs a pipeline whose stderr is a pseudo-terminal of `rows`×`cols` (script -qec); the
 * pipeline redirects its own stdout. Returns what the terminal got (`screen`, CRLF as LF) and its
 * lines without the redraw sequences (`text`).
 */
async function tty(pipeline: string, size = { rows: 24, cols: 80 }): Promise<{ status: number; screen: string; text: string }> {
  const inner = `stty rows ${size.rows} cols ${size.cols}; ${pipeline}`;
  const r = await sh(`script -qec ${JSON.stringify(inner)} /dev/null < /dev/null`);
  const screen = r.stdout.replace(/\r\n/g, '\n');
  return { status: r.status, screen, text: screen.replace(/\r?\x1b\[\d+A\x1b\[J/g, '') };
}

/** erasedLines lists, for each redraw (cursor up N lines, clear to the end), its N: the live lines drawn before. */
function erasedLines(screen: string): number[] {
  return [...screen.matchAll(/\x1b\[(\d+)A\x1b\[J/g)].map((m) => Number(m[1]));
}

/** stdoutRecords asserts a file holds NDJSON records only, and parses them. */
function stdoutRecords(file: string): Record<string, any>[] {
  const text = readFileSync(file, 'utf8');
  expect(text).not.toMatch(/\x1b|Copying blob/);
  return records(text);
}

const canTty = have('script') && have('stty');
const canRegistry = have('docker-registry');
let reg: Registry;
let proxy: FaultProxy;

beforeAll(async () => {
  for (const d of ['home', 'run', 'config', 'docker']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}\n');
  if (!canRegistry) return;
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
}, 30_000);
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
});

describe.skipIf(!canTty)('img-blob-put progress on a terminal', () => {
  it('shows one final line per blob, only on stderr, and nothing with --progress=none or --quiet', async () => {
    const { src, blobs } = image('local', [4 * MiB]);
    const out = join(work, 'local.out');
    const r = await tty(`img-manifest get ${src} | img-ref --to oci:${work}/local-dest | img-blob-put > ${out}`);
    expect(r.status, r.screen).toBe(0);
    expect(stdoutRecords(out).map((x) => x.status)).toEqual(['copied']);
    for (const b of blobs) expect(r.text).toMatch(new RegExp(`^Copying blob ${short(b.digest)} done \\(`, 'm'));
    expect(r.screen).toContain('done (4.0 MiB');
    expect(r.screen).not.toContain('"ref"');

    const again = await tty(`img-manifest get ${src} | img-ref --to oci:${work}/local-dest | img-blob-put > ${out}`);
    expect(again.status, again.screen).toBe(0);
    for (const b of blobs) expect(again.screen).toContain(`Copying blob ${short(b.digest)} skipped: already exists`);

    for (const flag of ['--progress=none', '--quiet', '-q']) {
      const quiet = await tty(`img-manifest get ${src} | img-ref --to oci:${work}/quiet${flag.length} | img-blob-put ${flag} > ${out}`);
      expect(quiet.status, quiet.screen).toBe(0);
      expect(quiet.screen, flag).toBe('');
      expect(stdoutRecords(out).map((x) => x.status)).toEqual(['copied']);
    }
  });

  it('prints nothing when stderr is not a terminal, even with --progress=tty', async () => {
    const { src } = image('notty', [2 * MiB]);
    for (const flag of ['', '--progress=tty', '--progress=bars']) {
      const r = await sh(`img-manifest get ${src} | img-ref --to oci:${work}/notty-dest${flag.length} | img-blob-put ${flag} 2>${work}/notty.err`);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(work, 'notty.err'), 'utf8'), flag).toBe('');
      expect(records(r.stdout).map((x) => x.status)).toEqual(['copied']);
    }
  });

  it('refuses an unknown --progress and --quiet with --progress=ndjson', async () => {
    const bad = await sh(`echo '{}' | img-blob-put --progress=fancy`);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^img-blob-put: invalid --progress "fancy": tty, ndjson or none/);
    const both = await sh(`echo '{}' | img-blob-put --quiet --progress=ndjson`);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('contradict');
  });
});

describe.skipIf(!canTty || !canRegistry)('img-blob-put progress against a registry', () => {
  it('draws a bar with bytes and rate while a blob uploads, redrawn in place, then its final line', async () => {
    const { src, blobs } = image('big', [32 * MiB]);
    const big = blobs.find((b) => b.size === 32 * MiB)!;
    proxy.setFaults([{ method: 'PATCH', path: /\/blobs\/uploads\//, stallMs: 1500 }]);
    const out = join(work, 'big.out');
    const r = await tty(`img-manifest get ${src} | img-ref --dest docker://${proxy.host}/progress/big | img-blob-put --tls-verify=false > ${out}`);
    expect(r.status, r.screen).toBe(0);
    expect(proxy.pending()).toEqual([]);
    expect(stdoutRecords(out).map((x) => x.status)).toEqual(['copied']);
    // A live line part way: short digest, bar, bytes done of the total, and (after 0.2 s) the rate.
    const live = [
      ...r.text.matchAll(
        new RegExp(`^Copying blob ${short(big.digest)} \\[[=> ]+\\] +(\\d+(?:\\.\\d)?) (B|KiB|MiB) / 32\\.0 MiB(?: +([\\d.]+ [KMG]?i?B/s))?$`, 'gm'),
      ),
    ];
    expect(live.length, r.screen).toBeGreaterThan(2);
    const partial = live.filter((m) => !(m[1] === '32.0' && m[2] === 'MiB'));
    expect(partial.length, r.screen).toBeGreaterThan(0);
    expect(
      live.some((m) => m[3] !== undefined),
      r.screen,
    ).toBe(true);
    // Redrawn in place: the erased lines are the live lines drawn before, never more than fit.
    const erased = erasedLines(r.screen);
    expect(erased.length).toBeGreaterThan(2);
    for (const n of erased) expect(n).toBeLessThanOrEqual(23);
    for (const b of blobs) expect(r.text).toMatch(new RegExp(`^Copying blob ${short(b.digest)} done`, 'm'));
    for (const line of r.text.split('\n')) expect(line.length, line).toBeLessThan(80);
  });

  it('never draws more live lines than the terminal has, nor wider ones', async () => {
    const { src, blobs } = image('many', Array(10).fill(2 * MiB));
    proxy.setFaults([{ method: 'PATCH', path: /\/blobs\/uploads\//, stallMs: 1000, times: Infinity }]);
    const out = join(work, 'many.out');
    const r = await tty(`img-manifest get ${src} | img-ref --dest docker://${proxy.host}/progress/many | img-blob-put --tls-verify=false --jobs 12 > ${out}`, {
      rows: 6,
      cols: 70,
    });
    proxy.setFaults([]);
    expect(r.status, r.screen).toBe(0);
    expect(stdoutRecords(out).map((x) => x.status)).toEqual(['copied']);
    const erased = erasedLines(r.screen);
    expect(Math.max(...erased), r.screen).toBe(5);
    expect(r.text).toMatch(/^… and \d+ more blobs in flight$/m);
    for (const line of r.text.split('\n')) if (line.includes('[')) expect(line.length, line).toBeLessThan(70);
    for (const b of blobs) expect(r.text).toMatch(new RegExp(`^Copying blob ${short(b.digest)} done`, 'm'));
  });

  it('says where a blob was mounted from', async () => {
    const { src, blobs } = image('mount', []);
    const recs = join(work, 'mount.in');
    const two = await sh(
      `img-manifest get ${src} | jq -c '(.dest = "docker://${reg.host}/progress/one"), (.dest = "docker://${reg.host}/progress/two")' > ${recs}`,
    );
    expect(two.status, two.stderr).toBe(0);
    const r = await tty(`img-blob-put --tls-verify=false --jobs 1 < ${recs} > ${work}/mount.out`);
    expect(r.status, r.screen).toBe(0);
    expect(stdoutRecords(join(work, 'mount.out')).map((x) => x.status)).toEqual(['copied', 'mounted']);
    for (const b of blobs) {
      expect(r.text).toMatch(new RegExp(`^Copying blob ${short(b.digest)} done`, 'm'));
      expect(r.screen).toContain(`Copying blob ${short(b.digest)} mounted from progress/one`);
    }
  });
});

describe.skipIf(!canRegistry)('img-blob-put --progress=ndjson', () => {
  it('emits JSON events with the documented fields, byte progress at most every 500 ms per blob', async () => {
    const { src, blobs } = image('events', [32 * MiB]);
    const big = blobs.find((b) => b.size === 32 * MiB)!;
    proxy.setFaults([{ method: 'PATCH', path: /\/blobs\/uploads\//, stallMs: 1500 }]);
    const t0 = Date.now();
    const r = await sh(
      `img-manifest get ${src} | img-ref --dest docker://${proxy.host}/progress/events | img-blob-put --tls-verify=false --progress=ndjson 2>${work}/events.err`,
    );
    const elapsed = Date.now() - t0;
    expect(r.status, r.stderr).toBe(0);
    expect(records(r.stdout).map((x) => x.status)).toEqual(['copied']);
    const lines = readFileSync(join(work, 'events.err'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l));
    for (const e of events) {
      expect(['start', 'progress', 'skip', 'mount', 'done', 'error', 'plan']).toContain(e.event);
      expect(e.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(typeof e.size).toBe('number');
      expect(e.dest).toMatch(new RegExp(`^docker://${proxy.host}/progress/events(:latest)?$`));
    }
    for (const b of blobs) {
      const mine = events.filter((e) => e.digest === b.digest).map((e) => e.event);
      expect(mine[0]).toBe('start');
      expect(mine.at(-1)).toBe('done');
    }
    expect(events.filter((e) => e.event === 'start').every((e) => e.ref === src)).toBe(true);
    expect(events.filter((e) => e.event === 'done').every((e) => e.bytes === e.size)).toBe(true);
    const progress = events.filter((e) => e.event === 'progress' && e.digest === big.digest).map((e) => e.bytes as number);
    expect(progress.length, lines.join('\n')).toBeGreaterThan(0);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / 500));
    expect(progress.some((n) => n > 0 && n < big.size)).toBe(true);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    // Skipped blobs on a re-run; no byte events.
    const again = await sh(
      `img-manifest get ${src} | img-ref --dest docker://${proxy.host}/progress/events | img-blob-put --tls-verify=false --progress=ndjson 2>${work}/events2.err`,
    );
    expect(again.status, again.stderr).toBe(0);
    expect(records(readFileSync(join(work, 'events2.err'), 'utf8')).map((e) => e.event)).toEqual(blobs.map(() => 'skip'));
  });
});
