import { spawn } from 'node:child_process';
import { ImgError } from '../errors.js';

/** The flag every command takes: an overall bound on its run, as skopeo's global --command-timeout. */
export const COMMAND_TIMEOUT_FLAG = 'command-timeout';

export const COMMAND_TIMEOUT_HELP = `every command:
  --command-timeout DURATION   end the command (exit 1) if it has not finished after DURATION, counted
                               from its start (Go syntax: 90s, 1m30s, 500ms; 0: no bound). The stages
                               of img-copy and img-sync get what is left of it`;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * parseDuration reads a duration as Go's time.ParseDuration does (skopeo's flags are Go durations):
 * an optional sign, then one or more decimal numbers each with a unit (ns, us, µs, ms, s, m, h), as
 * in "300ms", "1.5h" or "2h45m"; "0" alone needs no unit. Returns milliseconds.
 */
export function parseDuration(text: string, flag = `--${COMMAND_TIMEOUT_FLAG}`): number {
  const bad = () => new ImgError('USAGE', `invalid ${flag} ${JSON.stringify(text)}: a duration such as 90s, 1m30s or 500ms`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw bad();
    total += Number(`${m[1] || '0'}.${m[2] ?? ''}0`) * UNITS[m[3]!]!;
    s = s.slice(m[0].length);
  }
  if (!Number.isFinite(total) || total > 2 ** 63 / 1e6) throw bad();
  return sign * total;
}

/**
 * goDurationError is what Go's time.ParseDuration says of `text` when it is no duration, as pflag
 * passes it on ("time: missing unit in duration \"1\""); undefined when Go reads it.
 */
export function goDurationError(text: string): string | undefined {
  const q = JSON.stringify(text);
  try {
    parseDuration(text);
    return undefined;
  } catch {
    // Go's two specific reasons: a number without a unit, and a unit it does not know.
    const m = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))*(?:\d+\.?\d*|\.\d+)([^\d.]*)/.exec(text);
    if (m && m[1] === '') return `time: missing unit in duration ${q}`;
    if (m && !/^(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)$/.test(m[1]!)) return `time: unknown unit ${JSON.stringify(m[1])} in duration ${q}`;
    return `time: invalid duration ${q}`;
  }
}

let state: { command: string; given: string; ms: number; at: number; timer: NodeJS.Timeout } | undefined;
const hooks = new Set<() => void>();

/**
 * armCommandTimeout bounds the whole run of `command`: `given` (a Go duration) after the process
 * started, it prints one line naming the bound, runs the onCommandTimeout hooks (a pipeline ends
 * its stages) and exits 1; exit handlers still run (temp files go). Zero or less is no bound.
 */
export function armCommandTimeout(command: string, given: string): void {
  const ms = parseDuration(given);
  if (state) clearTimeout(state.timer);
  state = undefined;
  if (ms <= 0) return;
  // Counted from the process's start, not from when its flags were read.
  const at = Date.now() - process.uptime() * 1000 + ms;
  const fire = () => {
    // setTimeout takes at most 2^31-1 ms (24.8 days): a longer bound is waited for in steps.
    if (Date.now() < at - 5) return schedule();
    process.stderr.write(`${command}: timed out: the command did not finish within --${COMMAND_TIMEOUT_FLAG} ${given}\n`);
    for (const h of hooks) {
      try {
        h();
      } catch {
        /* the others still run */
      }
    }
    lastResort();
    process.exit(1);
  };
  const schedule = (): void => {
    const timer = setTimeout(fire, Math.min(2 ** 31 - 1, Math.max(0, at - Date.now())));
    // Nothing to wait for once the work is done.
    timer.unref();
    state = { command, given, ms, at, timer };
  };
  schedule();
}

/**
 * lastResort makes sure the process is gone half a second after its time is up. process.exit waits
 * for node's thread pool, and a thread stuck in a system call that nothing interrupts (opening a FIFO
 * no one writes to, a hung network file system) would hold the exit forever. A shell reads a pipe
 * from this process: end of file within the half second means it exited; else it kills it (status 137).
 */
function lastResort(): void {
  try {
    const dog = spawn('/bin/sh', ['-c', `timeout 0.5 cat >/dev/null || kill -9 ${process.pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    dog.on('error', () => undefined);
    dog.unref();
  } catch {
    /* no shell: process.exit alone */
  }
}

/** remainingMs is what is left of the command's --command-timeout (at least 1), or undefined without one. */
export function remainingMs(): number | undefined {
  return state === undefined ? undefined : Math.max(1, Math.floor(state.at - Date.now()));
}

/** commandTimeoutGiven is the --command-timeout as the user gave it, or undefined. */
export function commandTimeoutGiven(): string | undefined {
  return state?.given;
}

/** onCommandTimeout runs `f` (synchronously) when the command's time is up, before it exits. */
export function onCommandTimeout(f: () => void): () => void {
  hooks.add(f);
  return () => hooks.delete(f);
}

let exitAfterMain = false;

/** exitWhenMainEnds makes run() exit the process as soon as the command's main is done, whatever work is left behind (the stages of a stopped pipeline). */
export function exitWhenMainEnds(): void {
  exitAfterMain = true;
}

/** exitsWhenMainEnds tells whether exitWhenMainEnds was called. */
export function exitsWhenMainEnds(): boolean {
  return exitAfterMain;
}
