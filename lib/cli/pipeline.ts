import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImgError } from '../errors.js';
import { forgetAtExit, removeAtExit } from '../util/fs.js';
import { readLines } from '../stream/ndjson.js';
import type { ImageRecord } from '../oci/record.js';
import { COMMAND_TIMEOUT_FLAG, commandTimeoutGiven, onCommandTimeout, remainingMs } from './deadline.js';

/** One stage of a pipeline: an img-* command and its arguments. */
export interface Stage {
  command: string;
  args: string[];
}

/** describe writes a pipeline as the shell line it is, for --explain and logs; values that hold secrets are masked. */
export function describe(stages: Stage[]): string {
  const secret = /^--(?:src-|dest-)?(?:creds|password|registry-token)(?:=|$)/;
  // Each stage of the shell pipeline starts when it does, so each gets the whole --command-timeout.
  const given = commandTimeoutGiven();
  return stages
    .map((s) => {
      const out: string[] = [s.command];
      const args = given === undefined ? s.args : [...s.args, `--${COMMAND_TIMEOUT_FLAG}=${given}`];
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (secret.test(a)) out.push(a.includes('=') ? `${a.split('=')[0]}=***` : a, ...(a.includes('=') ? [] : ['***']));
        else out.push(/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
        if (secret.test(a) && !a.includes('=')) i++;
      }
      return out.join(' ');
    })
    .join(' \\\n  | ');
}

/**
 * runPipeline runs the stages as real processes, stdout to stdin, as the shell would; stderr is
 * shared. `onRecord` sees each record the last stage writes (which also go to our stdout unless
 * `quiet`; held until the end when both stdout and stderr are a terminal); returning false stops the pipeline (kills every stage). With `stdin: 'inherit'` the first
 * stage reads our stdin; with `stdout: 'inherit'` the last stage writes straight to our stdout (raw
 * bytes, e.g. an archive to /dev/stdout) and `onRecord` sees nothing. Resolves with the exit
 * status: the first non-zero status of any stage, as with pipefail.
 *
 * The stages share a temp directory, IMGPIPE_SPOOL_DIR, removed when they are done (and at exit):
 * a stage that has to spool what it reads (a Docker engine's image save) leaves it there under a
 * name of its content, and the next stage reading the same thing reads that copy.
 */
export async function runPipeline(
  stages: Stage[],
  opts: { onRecord?: (r: ImageRecord) => boolean | void; quiet?: boolean; stdin?: 'inherit' | 'ignore'; stdout?: 'records' | 'inherit' } = {},
): Promise<number> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const spool = mkdtempSync(join(tmpdir(), 'imgpipe-spool-'));
  removeAtExit(spool);
  try {
    return await run(stages, opts, here, spool);
  } finally {
    rmSync(spool, { recursive: true, force: true });
    forgetAtExit(spool);
  }
}

async function run(
  stages: Stage[],
  opts: { onRecord?: (r: ImageRecord) => boolean | void; quiet?: boolean; stdin?: 'inherit' | 'ignore'; stdout?: 'records' | 'inherit' },
  here: string,
  spool: string,
): Promise<number> {
  const children: ChildProcess[] = [];
  const env = { ...process.env, IMGPIPE_SPOOL_DIR: spool };
  // With --command-timeout, each stage gets what is left of it, and ends with this command.
  const left = remainingMs();
  const bound = left === undefined ? [] : [`--${COMMAND_TIMEOUT_FLAG}=${left}ms`];
  const unhook = onCommandTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  });
  try {
    return await runStages(stages, opts, here, env, bound, children);
  } finally {
    unhook();
  }
}

async function runStages(
  stages: Stage[],
  opts: { onRecord?: (r: ImageRecord) => boolean | void; quiet?: boolean; stdin?: 'inherit' | 'ignore'; stdout?: 'records' | 'inherit' },
  here: string,
  env: NodeJS.ProcessEnv,
  bound: string[],
  children: ChildProcess[],
): Promise<number> {
  for (const [i, s] of stages.entries()) {
    const child = spawn(process.execPath, [`${here}${s.command}.mjs`, ...s.args, ...bound], {
      env,
      stdio: [i === 0 ? (opts.stdin ?? 'ignore') : 'pipe', i === stages.length - 1 && opts.stdout === 'inherit' ? 'inherit' : 'pipe', 'inherit'],
    });
    if (i > 0) {
      const prev = children[i - 1]!;
      prev.stdout!.pipe(child.stdin!);
      child.stdin!.on('error', () => undefined);
    }
    children.push(child);
  }
  const statuses = children.map((c) => new Promise<number>((res) => c.on('close', (code, signal) => res(code ?? (signal ? 128 : 1)))));
  const last = children[children.length - 1]!;
  let stopped = false;
  if (opts.stdout === 'inherit') return (await Promise.all(statuses)).find((c) => c !== 0) ?? 0;
  // On a terminal that also shows img-blob-put's progress bars, a record printed mid-run would be
  // drawn over by the next redraw: hold the records until the stages are done.
  const held: string[] | undefined = process.stdout.isTTY && process.stderr.isTTY ? [] : undefined;
  for await (const line of readLines(last.stdout!, 'the last stage')) {
    if ('error' in line) throw new ImgError('IO', line.error.message);
    const text = `${JSON.stringify(line.record)}\n`;
    if (!opts.quiet) {
      if (held) held.push(text);
      else process.stdout.write(text);
    }
    if (opts.onRecord?.(line.record as ImageRecord) === false) {
      stopped = true;
      for (const c of children) c.kill('SIGTERM');
      break;
    }
  }
  const codes = await Promise.all(statuses);
  if (held) process.stdout.write(held.join(''));
  if (stopped) return 1;
  return codes.find((c) => c !== 0) ?? 0;
}
