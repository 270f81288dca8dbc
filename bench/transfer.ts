// make bench: copy and sync, imgpipe against skopeo, on local registries (docker-registry on
// loopback, plain http). Prints each figure and its ratio imgpipe ÷ skopeo. Not a test: it prints
// figures. Sizes from the environment (defaults are the copy/sync issue's):
//   BENCH_COPY_MIB=1024 BENCH_COPY_LAYERS=8   the image of the cold copy
//   BENCH_TAGS=100 BENCH_BASE_MIB=64 BENCH_UNIQUE_KIB=256   the sync fixture: tags sharing two
//                                             base layers of BENCH_BASE_MIB/2 each, one unique layer each
//   RUNS=3                                    timed runs of each tool, interleaved; medians reported
//   BENCH_ONLY=copy|sync                      run one half
// Storage (fixtures, registries, sync targets) goes under $TMPDIR (default /tmp).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../test/helpers/registry.js';
import { Layout, type Blob } from './fixtures.js';
import { BIN, ROOT, median, table, timeRun } from './lib.js';
import { cpuMsOf, peaksByLabel, runSampled } from './procs.js';

const MIB = 1 << 20;
const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const copyMiB = num('BENCH_COPY_MIB', 1024);
const copyLayers = num('BENCH_COPY_LAYERS', 8);
const tags = num('BENCH_TAGS', 100);
const baseMiB = num('BENCH_BASE_MIB', 64);
const uniqueKiB = num('BENCH_UNIQUE_KIB', 256);
const runs = num('RUNS', 3);
const only = process.env.BENCH_ONLY ?? '';
const TLS = ['--src-tls-verify=false', '--dest-tls-verify=false'];
// skopeo gzips uncompressed layers on their way to a registry unless told to keep the bytes;
// imgpipe copies byte for byte, so skopeo is asked to do the same work.
const SKOPEO = ['--preserve-digests', ...TLS];
const haveSync = existsSync(join(ROOT, 'dist', 'img-sync.mjs'));

/**
 * sh runs a command and resolves with its stdout. Never spawnSync here: a blocked event loop stops
 * draining the registries' log pipes, and a registry blocked on a full pipe stops answering.
 */
function sh(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((res, rej) =>
    execFile(cmd, args, { encoding: 'buffer', maxBuffer: 64 * MIB }, (e, stdout, stderr) =>
      e ? rej(new Error(`${cmd} ${args.join(' ')}: ${e.message} ${stderr.toString()}`)) : res(stdout),
    ),
  );
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** manifestDigest asks skopeo for the manifest at `ref` and digests its bytes (the check that a copy landed). */
async function manifestDigest(ref: string): Promise<string> {
  const raw = await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', ref]);
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

async function diskBytes(path: string): Promise<{ allocated: number; apparent: number }> {
  const allocated = Number((await sh('du', ['-sB1', path])).toString().split('\t')[0]);
  const apparent = Number((await sh('du', ['-sb', path])).toString().split('\t')[0]);
  return { allocated, apparent };
}

const work = mkdtempSync(join(tmpdir(), 'imgpipe-bench-'));
const registries = new Set<Registry>();
async function registry(): Promise<Registry> {
  const r = await startRegistry();
  registries.add(r);
  return r;
}
async function stop(r: Registry): Promise<void> {
  registries.delete(r);
  await r.stop();
}
const cleanup = () => rmSync(work, { recursive: true, force: true });
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)
  process.on(signal, () => {
    cleanup();
    process.exit(code);
  });

// Room: the copy fixture lives in its layout (removed after the push), the source registry and one
// destination at a time; skopeo's dir: sync stores every tag's base layers again.
const need = (only !== 'sync' ? 3 * copyMiB * MIB : 0) + (only !== 'copy' ? (tags + 4) * (baseMiB * MIB + uniqueKiB * 1024) : 0);
const fs = statfsSync(work);
if (fs.bavail * fs.bsize < need * 1.1)
  throw new Error(
    `${work}: ${Math.round((fs.bavail * fs.bsize) / MIB)} MiB free, the bench needs about ${Math.round(need / MIB)} MiB (set TMPDIR to a larger disk)`,
  );

const fmt = (ms: number) => (ms / 1000).toFixed(2);
const mib = (kib: number) => (kib / 1024).toFixed(1);
const rows: (string | number)[][] = [['figure', 'imgpipe', 'skopeo', 'imgpipe ÷ skopeo', 'goal', 'met']];
const details: string[] = [];
const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');

/** alternate runs `tools` `runs` times, the order flipped every run, so neither always goes first. */
async function alternate<T>(tools: Record<'imgpipe' | 'skopeo', () => Promise<T>>): Promise<Record<'imgpipe' | 'skopeo', T[]>> {
  const out = { imgpipe: [] as T[], skopeo: [] as T[] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? (['imgpipe', 'skopeo'] as const) : (['skopeo', 'imgpipe'] as const);
    for (const t of order) {
      log(`run ${i + 1}/${runs}: ${t}`);
      out[t].push(await tools[t]());
    }
  }
  return out;
}

async function benchCopy(): Promise<void> {
  const layerBytes = Math.floor((copyMiB * MIB) / copyLayers);
  log(`writing a ${copyMiB} MiB image of ${copyLayers} random layers`);
  const layout = new Layout(join(work, 'copy-layout'));
  const layers: Blob[] = [];
  for (let i = 0; i < copyLayers; i++) layers.push(layout.randomLayer(`layer-${i}.bin`, layerBytes));
  const digest = layout.image('1', layers).digest;
  const src = await registry();
  const srcRef = `docker://${src.host}/bench/big:1`;
  log(`pushing it to ${src.host} with skopeo`);
  await sh('skopeo', ['copy', '-q', ...SKOPEO, `oci:${layout.dir}:1`, srcRef]);
  rmSync(layout.dir, { recursive: true, force: true });

  // Each run copies into a registry of its own with empty storage: nothing to skip, nothing to mount.
  const cold = (cmd: string, args: (dest: string) => string[]) => async () => {
    const dst = await registry();
    try {
      const destRef = `docker://${dst.host}/bench/copy:1`;
      const before = cpuMsOf(src.pid) + cpuMsOf(dst.pid);
      const run = { ...(await runSampled(cmd, args(destRef))), registryCpuMs: 0 };
      run.registryCpuMs = cpuMsOf(src.pid) + cpuMsOf(dst.pid) - before;
      if ((await manifestDigest(destRef)) !== digest) throw new Error(`${cmd}: the copy at ${destRef} has another manifest digest`);
      return run;
    } finally {
      await stop(dst);
    }
  };
  const res = await alternate({
    imgpipe: cold(join(BIN, 'img-copy'), (d) => [...TLS, srcRef, d]),
    skopeo: cold('skopeo', (d) => ['copy', '-q', ...SKOPEO, srcRef, d]),
  });
  await stop(src);

  const t = { imgpipe: median(res.imgpipe.map((r) => r.ms)), skopeo: median(res.skopeo.map((r) => r.ms)) };
  rows.push([
    `cold copy, ${copyMiB} MiB in ${copyLayers} layers (s, median)`,
    fmt(t.imgpipe),
    fmt(t.skopeo),
    (t.imgpipe / t.skopeo).toFixed(2),
    '≤ 0.9',
    verdict(t.imgpipe <= 0.9 * t.skopeo),
  ]);
  const cpu = { imgpipe: median(res.imgpipe.map((r) => r.cpuMs)), skopeo: median(res.skopeo.map((r) => r.cpuMs)) };
  rows.push([
    '  CPU time of that copy, user + sys (s, median)',
    fmt(cpu.imgpipe),
    fmt(cpu.skopeo),
    (cpu.imgpipe / cpu.skopeo).toFixed(2),
    '≤ 1.0',
    verdict(cpu.imgpipe <= cpu.skopeo),
  ]);
  const reg = { imgpipe: median(res.imgpipe.map((r) => r.registryCpuMs)), skopeo: median(res.skopeo.map((r) => r.registryCpuMs)) };
  rows.push(['  CPU time of the two registries meanwhile (s, median)', fmt(reg.imgpipe), fmt(reg.skopeo), (reg.imgpipe / reg.skopeo).toFixed(2), '', '']);
  // All the processes of one run together: the sum of each one's peak (an upper bound of the peak of the sum).
  const together = (runs: { peaks: { hwmKiB: number }[] }[]) => Math.max(...runs.map((r) => r.peaks.reduce((a, p) => a + p.hwmKiB, 0)));
  const whole = { imgpipe: together(res.imgpipe), skopeo: together(res.skopeo) };
  rows.push([
    'peak memory of the whole copy, all its processes together (MiB, worst run)',
    mib(whole.imgpipe),
    mib(whole.skopeo),
    (whole.imgpipe / whole.skopeo).toFixed(2),
    '≤ 150 MiB',
    verdict(whole.imgpipe <= 150 * 1024),
  ]);
  const peaks = { imgpipe: peaksByLabel(res.imgpipe.flatMap((r) => r.peaks)), skopeo: peaksByLabel(res.skopeo.flatMap((r) => r.peaks)) };
  const top = (m: Map<string, number>) => Math.max(...m.values());
  rows.push([
    'peak RSS of any process in the copy (MiB)',
    mib(top(peaks.imgpipe)),
    mib(top(peaks.skopeo)),
    (top(peaks.imgpipe) / top(peaks.skopeo)).toFixed(2),
    '≤ 120 MiB',
    verdict(top(peaks.imgpipe) <= 120 * 1024),
  ]);
  details.push(`cold copy runs (s): imgpipe ${res.imgpipe.map((r) => fmt(r.ms)).join(', ')}; skopeo ${res.skopeo.map((r) => fmt(r.ms)).join(', ')}`);
  details.push(
    `copy throughput (median): imgpipe ${(copyMiB / (t.imgpipe / 1000)).toFixed(0)} MiB/s, skopeo ${(copyMiB / (t.skopeo / 1000)).toFixed(0)} MiB/s`,
  );
  const perProc = (tool: string, m: Map<string, number>) => `${tool}: ${[...m].map(([l, k]) => `${l} ${mib(k)}`).join(', ')}`;
  details.push(`peak RSS per process over all runs (MiB): ${perProc('imgpipe', peaks.imgpipe)}; ${perProc('skopeo', peaks.skopeo)}`);
}

async function benchSync(): Promise<void> {
  if (!haveSync) {
    rows.push(['sync rows', 'not run: dist/img-sync.mjs is missing (img-sync not built yet)', '', '', '', '']);
    return;
  }
  const baseBytes = Math.floor((baseMiB * MIB) / 2);
  log(`writing ${tags} tags on two ${mib(baseBytes / 1024)} MiB base layers`);
  const layout = new Layout(join(work, 'sync-layout'));
  const bases = [layout.randomLayer('base-0.bin', baseBytes), layout.randomLayer('base-1.bin', baseBytes)];
  const names: string[] = [];
  for (let i = 0; i < tags; i++) {
    const tag = `t${String(i).padStart(3, '0')}`;
    layout.image(tag, [...bases, layout.randomLayer(`unique-${tag}.bin`, uniqueKiB * 1024)]);
    names.push(tag);
  }
  const src = await registry();
  const srcRepo = `${src.host}/bench/app`;
  log(`pushing them to ${src.host} with skopeo`);
  for (const tag of names) await sh('skopeo', ['copy', '-q', ...SKOPEO, `oci:${layout.dir}:${tag}`, `docker://${srcRepo}:${tag}`]);
  rmSync(layout.dir, { recursive: true, force: true });

  const tagCount = async (repo: string) =>
    (JSON.parse((await sh('skopeo', ['list-tags', '--tls-verify=false', `docker://${repo}`])).toString()).Tags as string[]).length;
  // Each run syncs into a registry of its own with empty storage, then syncs again with nothing changed.
  // The registries' CPU during a run (user + sys of both docker-registry processes): what the tool's requests cost them.
  const withRegistries = async (dst: Registry, cmd: string, a: string[]) => {
    const before = cpuMsOf(src.pid) + cpuMsOf(dst.pid);
    const run = await runSampled(cmd, a);
    return { ...run, registryCpuMs: cpuMsOf(src.pid) + cpuMsOf(dst.pid) - before };
  };
  const twice = (cmd: string, args: (dest: string) => string[]) => async () => {
    const dst = await registry();
    try {
      const a = args(`${dst.host}/bench`);
      const first = await withRegistries(dst, cmd, a);
      const again = await withRegistries(dst, cmd, a);
      const n = await tagCount(`${dst.host}/bench/app`);
      if (n !== tags) throw new Error(`${cmd}: ${n} tags at ${dst.host}/bench/app, expected ${tags}`);
      return { first, again };
    } finally {
      await stop(dst);
    }
  };
  const res = await alternate({
    imgpipe: twice(join(BIN, 'img-sync'), (d) => ['--src', 'docker', '--dest', 'docker', ...TLS, srcRepo, d]),
    skopeo: twice('skopeo', (d) => ['sync', '--src', 'docker', '--dest', 'docker', ...SKOPEO, srcRepo, d]),
  });
  for (const k of ['first', 'again'] as const) {
    const ip = median(res.imgpipe.map((r) => r[k].ms));
    const sk = median(res.skopeo.map((r) => r[k].ms));
    const [label, goal] =
      k === 'first' ? [`sync of ${tags} tags, registry → registry (s, median)`, 0.3] : ['the same sync again, nothing changed (s, median)', 0.5];
    rows.push([label, fmt(ip), fmt(sk), (ip / sk).toFixed(2), `≤ ${goal}`, verdict(ip / sk <= goal)]);
    const ipCpu = median(res.imgpipe.map((r) => r[k].cpuMs));
    const skCpu = median(res.skopeo.map((r) => r[k].cpuMs));
    rows.push(['  CPU time of that sync, user + sys (s, median)', fmt(ipCpu), fmt(skCpu), (ipCpu / skCpu).toFixed(2), '', '']);
    const ipReg = median(res.imgpipe.map((r) => r[k].registryCpuMs));
    const skReg = median(res.skopeo.map((r) => r[k].registryCpuMs));
    rows.push(['  CPU time of the two registries meanwhile (s, median)', fmt(ipReg), fmt(skReg), (ipReg / skReg).toFixed(2), '', '']);
    details.push(
      `${k === 'first' ? 'sync' : 'sync re-run'} runs (s): imgpipe ${res.imgpipe.map((r) => fmt(r[k].ms)).join(', ')}; skopeo ${res.skopeo.map((r) => fmt(r[k].ms)).join(', ')}`,
    );
  }

  // Disk: one sync of the same tags each, imgpipe into one oci: layout, skopeo into dir: directories.
  const ociDir = join(work, 'sync-oci');
  const dirDir = join(work, 'sync-dir');
  log('syncing into an oci: layout (imgpipe) and dir: directories (skopeo)');
  const ociMs = await timeRun(join(BIN, 'img-sync'), ['--src', 'docker', '--dest', 'oci', ...TLS, srcRepo, ociDir]);
  const oci = await diskBytes(ociDir);
  rmSync(ociDir, { recursive: true, force: true });
  const dirMs = await timeRun('skopeo', ['sync', '--src', 'docker', '--dest', 'dir', ...SKOPEO, srcRepo, dirDir]);
  const dir = await diskBytes(dirDir);
  rmSync(dirDir, { recursive: true, force: true });
  await stop(src);
  rows.push([
    `disk of ${tags} synced tags: oci: layout vs skopeo dir: (MiB)`,
    mib(oci.allocated / 1024),
    mib(dir.allocated / 1024),
    (oci.allocated / dir.allocated).toFixed(3),
    '≤ 0.1',
    verdict(oci.allocated / dir.allocated <= 0.1),
  ]);
  details.push(
    `disk, apparent sizes (MiB): oci: ${mib(oci.apparent / 1024)}, dir: ${mib(dir.apparent / 1024)}; those syncs took imgpipe ${fmt(ociMs)} s, skopeo ${fmt(dirMs)} s (one run each)`,
  );
}

try {
  if (only !== 'sync') await benchCopy();
  if (only !== 'copy') await benchSync();
  const skopeoVersion = (await sh('skopeo', ['--version'])).toString().trim();
  process.stdout.write(
    `\ncopy and sync: ${runs} interleaved run(s) of each tool, local docker-registry instances on loopback (plain http); ${skopeoVersion}, node ${process.version}; skopeo ${SKOPEO.join(' ')}\n` +
      `${table(rows)}\n${details.map((d) => `  ${d}`).join('\n')}\n`,
  );
} finally {
  for (const r of [...registries]) await stop(r);
  cleanup();
}
