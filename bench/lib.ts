import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname ?? '.', '..');
export const BIN = join(process.cwd(), 'bin');

/** timeRun runs a command to completion and returns its wall time in ms; it fails on a non-zero exit. */
export function timeRun(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', rej);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      else res(ms);
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** compare runs each named command `runs` times, interleaved, and returns the median wall times. */
export async function compare(cases: Record<string, [string, string[]]>, runs: number): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const [name, [cmd, args]] of Object.entries(cases)) await timeRun(cmd, args).catch((e) => Promise.reject(new Error(`${name}: ${e.message}`)));
  for (let i = 0; i < runs; i++) {
    for (const [name, [cmd, args]] of Object.entries(cases)) times[name]!.push(await timeRun(cmd, args));
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ')).join('\n');
}
