// make bench, first part: start-up of the commands against `node -e 0` (issue 13: `img-manifest get` of a
// small image in a local registry ÷ `node -e 0` ≤ 1.25). Wall time of interleaved runs (medians, and the
// median of the per-round ratios), and CPU time (user + sys, from bash's `time`) in a second set of runs.
// Not a test: it prints figures. docs/performance.md, start-up, says what they were and why.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../test/helpers/registry.js';
import { writeDirImage } from '../test/helpers/fixtures.js';
import { BIN, median, table, timeRun } from './lib.js';

const runs = Number(process.env.RUNS ?? 30);
const GOAL = 1.25;
const work = mkdtempSync(join(tmpdir(), 'imgpipe-bench-'));
const registry = await startRegistry();

/** cpuRun runs a command under bash's `time` and returns its user + sys CPU time in ms. */
function cpuRun(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((res, rej) => {
    const child = spawn('bash', ['-c', `TIMEFORMAT='%3U %3S'; { time ${quoted} >/dev/null 2>/dev/null; } 2>&1`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', rej);
    child.on('close', () => {
      const [user, sys] = out.trim().split(/\s+/).map(Number);
      if (user === undefined || sys === undefined || Number.isNaN(user + sys)) rej(new Error(`${cmd}: no time from bash: ${out}`));
      else res((user + sys) * 1000);
    });
  });
}

try {
  writeDirImage(join(work, 'src'));
  const ref = `docker://${registry.host}/bench/small:1`;
  const push = spawnSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `img-manifest get dir:${work}/src | jq -c '.dest = "${ref}"' | img-blob-put --tls-verify=false | img-manifest put --tls-verify=false`,
    ],
    { env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` }, encoding: 'utf8' },
  );
  if (push.status !== 0) throw new Error(`pushing the fixture failed: ${push.stderr}`);
  // What any node program pays for the same work: one GET of the manifest over node:http, its sha256, a line out.
  const floor = join(work, 'floor.cjs');
  writeFileSync(
    floor,
    `const http = require('node:http'), { createHash } = require('node:crypto');
http.get('http://${registry.host}/v2/bench/small/manifests/1', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } }, (res) => {
  const parts = []; res.on('data', (b) => parts.push(b));
  res.on('end', () => { const raw = Buffer.concat(parts); process.stdout.write(JSON.stringify({ digest: 'sha256:' + createHash('sha256').update(raw).digest('hex'), raw: raw.toString() }) + '\\n'); });
});
`,
  );
  const get = [join(BIN, 'img-manifest'), ['get', '--tls-verify=false', ref]] as const;
  const cases: Record<string, { cmd: string; args: string[]; env?: NodeJS.ProcessEnv }> = {
    'node -e 0': { cmd: 'node', args: ['-e', '0'] },
    'node: one GET + sha256 (floor)': { cmd: 'node', args: [floor] },
    'img-manifest get': { cmd: get[0], args: [...get[1]] },
    'img-manifest get --raw': { cmd: get[0], args: ['get', '--raw', '--tls-verify=false', ref] },
    'img-manifest get, no code cache': { cmd: get[0], args: [...get[1]], env: { IMGPIPE_CODE_CACHE: '0' } },
    'img-ref docker://busybox': { cmd: join(BIN, 'img-ref'), args: ['docker://busybox'] },
    'skopeo inspect --raw': { cmd: 'skopeo', args: ['inspect', '--raw', '--tls-verify=false', ref] },
  };
  // bin/* defer NODE_EXTRA_CA_CERTS (docs/decisions.md 28), node -e 0 cannot: both without it too.
  const unset = { NODE_EXTRA_CA_CERTS: undefined };
  if (process.env.NODE_EXTRA_CA_CERTS) {
    cases['node -e 0, no NODE_EXTRA_CA_CERTS'] = { cmd: 'node', args: ['-e', '0'], env: unset };
    cases['img-manifest get, no NODE_EXTRA_CA_CERTS'] = { cmd: get[0], args: [...get[1]], env: unset };
  }
  const names = Object.keys(cases);
  const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const time = (n: string) => timeRun(cases[n]!.cmd, cases[n]!.args, cases[n]!.env).catch((e) => Promise.reject(new Error(`${n}: ${e.message}`)));
  for (const n of names) await time(n);
  for (let i = 0; i < runs; i++) {
    // Interleaved, the order reversed every other round, so that a drift of the machine's speed reaches every case alike.
    for (const n of i % 2 ? [...names].reverse() : names) wall[n]!.push(await time(n));
    for (const n of i % 2 ? [...names].reverse() : names) cpu[n]!.push(await cpuRun(cases[n]!.cmd, cases[n]!.args, cases[n]!.env));
  }
  const base = 'node -e 0';
  const paired = (n: string) => median(wall[n]!.map((w, i) => w / wall[base]![i]!));
  const rows: (string | number)[][] = [['command', 'wall ms', '÷ node -e 0', 'per-round ÷', 'CPU ms', 'CPU ÷ node -e 0']];
  for (const n of names) {
    const w = median(wall[n]!);
    const c = median(cpu[n]!);
    rows.push([n, w.toFixed(1), (w / median(wall[base]!)).toFixed(2), paired(n).toFixed(2), c.toFixed(1), (c / median(cpu[base]!)).toFixed(2)]);
  }
  const ratio = paired('img-manifest get');
  const bare = 'node -e 0, no NODE_EXTRA_CA_CERTS';
  const extraCa = process.env.NODE_EXTRA_CA_CERTS
    ? `\nNODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}: node -e 0 parses those certificates as it starts; bin/* defer them to the first TLS connection.` +
      `\nboth without NODE_EXTRA_CA_CERTS, img-manifest get ÷ node -e 0 (median of per-round ratios): ${median(wall['img-manifest get, no NODE_EXTRA_CA_CERTS']!.map((w, i) => w / wall[bare]![i]!)).toFixed(2)}`
    : '';
  process.stdout.write(
    `start-up: ${runs} interleaved runs each, a ${registry.host} registry on loopback (plain http), load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)} at the end\n${table(rows)}\n` +
      `img-manifest get ÷ node -e 0 (median of per-round ratios): ${ratio.toFixed(2)}, goal ≤ ${GOAL}: ${ratio <= GOAL ? 'met' : 'NOT met'}${extraCa}\n`,
  );
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
