// Sharded img-sync (issue 16, docs/scale.md): node scripts/run-ts.mjs bench/shard.ts, after make build.
// A source registry of BENCH_REPOS repositories × BENCH_TAGS tags of tiny images (written straight
// into its storage), synced whole (--catalog) into an empty destination registry by 1, 2 and 4
// `img-sync --shard K/N` run at once, then again (nothing to copy). Prints records per second,
// requests per image to each registry (counted from --debug, one line per request) and CPU per
// image. Not a test: it prints figures.
//   BENCH_REPOS=1000 BENCH_TAGS=3 BENCH_SHARDS=1,2,4
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../test/helpers/registry.js';
import { seedRegistry } from '../test/helpers/seed.js';
import { BIN, table } from './lib.js';

const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive whole number`);
  return v;
};
const repos = num('BENCH_REPOS', 1000);
const tags = num('BENCH_TAGS', 3);
const shardCounts = (process.env.BENCH_SHARDS ?? '1,2,4').split(',').map(Number);
const images = repos * tags;

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Shard is what one `img-sync --shard K/N` did: its records and requests, and its CPU time. */
interface Shard {
  records: number;
  failed: number;
  src: number;
  dst: number;
  cpuMs: number;
}

/** runShard runs one img-sync under bash, which prints its CPU time (`times`) after it exits. */
function runShard(k: number, n: number, src: Registry, dst: Registry): Promise<Shard> {
  const args = ['--src', 'docker', '--catalog', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', '--keep-going', '--debug'];
  args.push('--shard', `${k}/${n}`, src.host, `${dst.host}/mirror`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', '"$@"; s=$?; echo --cpu-- >&2; times >&2; exit $s', 'bash', join(BIN, 'img-sync'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { records: 0, failed: 0, src: 0, dst: 0, cpuMs: 0 };
    let rest = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      const text = rest + b.toString();
      const lines = text.split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        out.records++;
        if (l.includes('"error":')) out.failed++;
      }
    });
    let partial = '';
    child.stderr.on('data', (b: Buffer) => {
      const text = partial + b.toString();
      const lines = text.split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const m = /^debug: (?:GET|HEAD|PUT|POST|PATCH|DELETE) https?:\/\/([^/]+)\//.exec(l);
        if (m?.[1] === src.host) out.src++;
        else if (m?.[1] === dst.host) out.dst++;
        else if (!l.startsWith('debug: ')) err += `${l}\n`;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /--cpu--\n[^\n]*\n\s*(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(err);
      if (m) out.cpuMs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
      if (code !== 0) reject(new Error(`img-sync --shard ${k}/${n} exited ${code}: ${err.slice(0, 2000)}`));
      else resolve(out);
    });
  });
}

/** runShards runs N shards at once and sums them up, with the wall time from the first start to the last end. */
async function runShards(n: number, src: Registry, dst: Registry): Promise<Shard & { ms: number }> {
  const t0 = process.hrtime.bigint();
  const shards = await Promise.all(Array.from({ length: n }, (_, k) => runShard(k, n, src, dst)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const sum = (f: keyof Shard) => shards.reduce((a, s) => a + s[f], 0);
  return { ms, records: sum('records'), failed: sum('failed'), src: sum('src'), dst: sum('dst'), cpuMs: sum('cpuMs') };
}

const work = mkdtempSync(join(tmpdir(), 'imgpipe-bench-shard-'));
process.env.TMPDIR = work;
const registries: Registry[] = [];
try {
  const src = await startRegistry();
  registries.push(src);
  const t0 = Date.now();
  seedRegistry(
    src.storage,
    Array.from({ length: repos }, (_, i) => `vendor/r${String(i).padStart(4, '0')}`),
    Array.from({ length: tags }, (_, i) => `v1.${i}`),
  );
  log(`source: ${repos} repositories × ${tags} tags written into ${src.host} in ${Date.now() - t0} ms`);
  const rows: (string | number)[][] = [['shards at once', 'pass', 'wall s', 'records/s', 'source req/image', 'dest req/image', 'CPU ms/image']];
  for (const n of shardCounts) {
    const dst = await startRegistry();
    registries.push(dst);
    for (const pass of ['cold', 'again'] as const) {
      log(`${n} shard(s), ${pass}`);
      const r = await runShards(n, src, dst);
      if (r.records !== images || r.failed > 0) throw new Error(`${n} shards, ${pass}: ${r.records} records, ${r.failed} failed; expected ${images}`);
      rows.push([
        n,
        pass,
        (r.ms / 1000).toFixed(1),
        (images / (r.ms / 1000)).toFixed(1),
        (r.src / images).toFixed(2),
        (r.dst / images).toFixed(2),
        (r.cpuMs / images).toFixed(1),
      ]);
    }
    await dst.stop();
  }
  process.stdout.write(`${repos} repositories × ${tags} tags (${images} images), ${process.env.BENCH_NOTE ?? ''}\n${table(rows)}\n`);
} finally {
  for (const r of registries) await r.stop();
  rmSync(work, { recursive: true, force: true });
}
