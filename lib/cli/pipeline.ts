import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageRecord } from '../oci/record.js';
import { RecordWriter } from '../stream/ndjson.js';
import { forgetAtExit, removeAtExit } from '../util/fs.js';
import { RecordChannel } from './channel.js';
import { STAGE_COMMANDS } from './commands/index.js';
import { COMMAND_TIMEOUT_FLAG, commandTimeoutGiven, exitWhenMainEnds } from './deadline.js';
import { reportFailure } from './run.js';
import type { RecordSink, Stage, StageIO } from './stage-io.js';

export type { Stage } from './stage-io.js';

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

/** PipelineOptions: what runPipeline does with the records of the last stage. */
export interface PipelineOptions {
  /** onRecord sees each record the last stage writes; returning false stops the pipeline. */
  onRecord?: (r: ImageRecord) => boolean | void;
  /** quiet: the records do not go to stdout (onRecord prints what it wants). */
  quiet?: boolean;
  /** stdout 'inherit': the last stage writes its own stdout (an archive to /dev/stdout); onRecord sees nothing. */
  stdout?: 'records' | 'inherit';
}

/**
 * runPipeline runs the stages in this process, each the same work as its command (STAGE_COMMANDS)
 * with the same arguments, connected by RecordChannels as the shell connects the commands by pipes:
 * `describe(stages)` is the equivalent shell pipeline. stderr is shared; a stage's failure is one
 * line there, as its command prints it. The records of the last stage go to stdout (unless
 * `quiet`; held until the end when both stdout and stderr are a terminal, so that progress bars do
 * not draw over them). Resolves with the exit status: the first non-zero status of any stage, as
 * with pipefail. When onRecord stops the pipeline, it resolves 1 at once, and the process exits
 * when the command's main is done, abandoning the stages' work in flight (as killing them would).
 *
 * The stages share a temp directory, IMGPIPE_SPOOL_DIR, removed when they are done (and at exit):
 * a stage that has to spool what it reads (a Docker engine's image save) leaves it there under a
 * name of its content, and the next stage reading the same thing reads that copy.
 */
export async function runPipeline(stages: Stage[], opts: PipelineOptions = {}): Promise<number> {
  const spool = mkdtempSync(join(tmpdir(), 'imgpipe-spool-'));
  removeAtExit(spool);
  const before = process.env.IMGPIPE_SPOOL_DIR;
  process.env.IMGPIPE_SPOOL_DIR = spool;
  try {
    return await runStages(stages, opts);
  } finally {
    if (before === undefined) delete process.env.IMGPIPE_SPOOL_DIR;
    else process.env.IMGPIPE_SPOOL_DIR = before;
    rmSync(spool, { recursive: true, force: true });
    forgetAtExit(spool);
  }
}

async function runStages(stages: Stage[], opts: PipelineOptions): Promise<number> {
  const channels = stages.slice(1).map(() => new RecordChannel());
  let stop: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    stop = () => resolve('stopped');
  });
  // On a terminal that also shows img-blob-put's progress bars, a record printed mid-run would be
  // drawn over by the next redraw: hold the records until the stages are done.
  const held: string[] | undefined = process.stdout.isTTY && process.stderr.isTTY ? [] : undefined;
  let last: RecordSink;
  if (opts.stdout === 'inherit') last = new RecordWriter(process.stdout);
  else {
    const sink = { closed: false, write: async (_: object) => undefined };
    sink.write = async (record: object) => {
      if (sink.closed) return;
      const text = JSON.stringify(record);
      if (!opts.quiet) {
        if (held) held.push(`${text}\n`);
        else process.stdout.write(`${text}\n`);
      }
      if (opts.onRecord?.(JSON.parse(text) as ImageRecord) === false) {
        sink.closed = true;
        stop?.();
      }
    };
    last = sink;
  }
  const noInput: AsyncIterable<ImageRecord> = (async function* () {})();
  const runs = stages.map(async (s, i) => {
    const input = i === 0 ? undefined : channels[i - 1]!;
    const output = i === stages.length - 1 ? undefined : channels[i]!;
    const io: StageIO = { input: () => input ?? noInput, interactive: false, out: output ?? last };
    try {
      const main = STAGE_COMMANDS[s.command];
      if (main === undefined) throw new Error(`${s.command} is not a stage`);
      return (await main(s.args, io)) ?? 0;
    } catch (err) {
      return reportFailure(s.command, err);
    } finally {
      // As a process's end closes both its pipes: the stage before stops writing, the one after reads to the end.
      input?.cancel();
      output?.end();
    }
  });
  const result = await Promise.race([Promise.all(runs), stopped]);
  if (held) process.stdout.write(held.join(''));
  if (result !== 'stopped') return result.find((c) => c !== 0) ?? 0;
  for (const c of channels) c.cancel();
  exitWhenMainEnds();
  return 1;
}
