// Runs a command and samples the peak resident memory (VmHWM) of every process of its tree.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** Peak is one process's high-water resident set, as /proc/PID/status VmHWM last read it. */
export interface Peak {
  pid: number;
  label: string;
  hwmKiB: number;
}

export interface SampledRun {
  ms: number;
  /** CPU time (user + system) of the command and every process below it */
  cpuMs: number;
  peaks: Peak[];
}

/** The command runs under bash, which prints its children's CPU times (`times`) once the command has exited. */
const WRAP = '"$@"; s=$?; echo --cpu-- >&2; times >&2; exit $s';

/** cpuOf reads the children line of bash's `times` ("0m1.234s 0m0.567s") after the marker. */
function cpuOf(stderr: string): number {
  const tail = stderr.slice(stderr.lastIndexOf('--cpu--'));
  const lines = tail.trim().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[2]?.trim() ?? '');
  if (!m) throw new Error(`no CPU times in: ${tail}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // gone between listing and reading
  }
}

/** descendants lists `root` and every process below it, from /proc/PID/stat parent links. */
function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    // fields after "pid (comm)": state ppid …; comm may hold spaces and parentheses
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = kids.get(ppid) ?? [];
    list.push(Number(name));
    kids.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** label names a process by what it runs: "skopeo", "img-copy", "img-manifest get", "img-blob-put". */
function label(pid: number): string | undefined {
  const argv = read(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean);
  if (!argv?.length) return undefined;
  const exe = basename(argv[0]!);
  if (exe !== 'node' || argv.length < 2) return exe;
  // bin/<command> runs `node -e "…launch.cjs')('<command>')" bin/<command> ARGS…`
  const launched = argv[1] === '-e' ? /\('([a-z-]+)'\)$/.exec(argv[2] ?? '')?.[1] : undefined;
  const rest = launched ? argv.slice(4) : argv.slice(2);
  const script = launched ?? basename(argv[1]!).replace(/\.m?js$/, '');
  const sub = rest[0] && /^(get|put|delete)$/.test(rest[0]) ? ` ${rest[0]}` : '';
  return `${script}${sub}`;
}

/**
 * runSampled runs a command to completion (failing on a non-zero exit) under bash, reading VmHWM
 * of every process below bash every `everyMs`, and bash's `times` for the CPU the tree used.
 * VmHWM only grows, so a process's last reading is its peak but for what it gained in its last
 * interval before exiting.
 */
export function runSampled(cmd: string, args: string[], everyMs = 50): Promise<SampledRun> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('bash', ['-c', WRAP, 'bench', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const peaks = new Map<number, Peak>();
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.length > 100_000) err = err.slice(-50_000);
    });
    const sample = () => {
      if (child.pid === undefined) return;
      for (const pid of descendants(child.pid)) {
        const m = /VmHWM:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
        if (!m || pid === child.pid) continue; // a zombie has no memory lines; the root is our bash
        // Until exec a child is a fork of its parent: a new program under the same pid starts afresh.
        const name = label(pid) ?? '?';
        const p = peaks.get(pid);
        if (p && p.label === name) p.hwmKiB = Math.max(p.hwmKiB, Number(m[1]));
        else peaks.set(pid, { pid, label: name, hwmKiB: Number(m[1]) });
      }
    };
    const timer = setInterval(sample, everyMs);
    sample();
    child.on('error', (e) => {
      clearInterval(timer);
      rej(e);
    });
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
      else res({ ms, cpuMs: cpuOf(err), peaks: [...peaks.values()] });
    });
  });
}

/** peaksByLabel keeps the highest peak of each label (several runs, or two processes of one name). */
export function peaksByLabel(peaks: Peak[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of peaks) out.set(p.label, Math.max(out.get(p.label) ?? 0, p.hwmKiB));
  return out;
}

/** cpuMsOf is the CPU time (user + sys, ms) a live process has used so far, from /proc/PID/stat (clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  const fields = (read(`/proc/${pid}/stat`) ?? '').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}
