import { ImgError, isUsageCode, toImgError } from '../errors.js';
import { parseArgs, type FlagSpec, type ParsedFlags } from './flags.js';
import { armCommandTimeout, COMMAND_TIMEOUT_FLAG, COMMAND_TIMEOUT_HELP, exitsWhenMainEnds } from './deadline.js';
import { stdio, type StageIO } from './stage-io.js';

export type { FlagSpec, ParsedFlags } from './flags.js';

/** The command run() runs, for the --command-timeout message. */
let running = 'imgpipe';

/**
 * parseFlags parses argv by `spec` (see parseArgs); --help and -h are known to every command. A
 * --command-timeout (every command's spec has it) starts its clock here: counted from the process's start.
 */
export function parseFlags(argv: string[], spec: FlagSpec): ParsedFlags {
  const flags = parseArgs(argv, { ...spec, boolean: [...(spec.boolean ?? []), 'help'], alias: { h: 'help', ...(spec.alias ?? {}) } });
  if (flags[COMMAND_TIMEOUT_FLAG] !== undefined) armCommandTimeout(running, String(flags[COMMAND_TIMEOUT_FLAG]));
  return flags;
}

/** usage makes the error for a wrong command line. */
export function usage(message: string): ImgError {
  return new ImgError('USAGE', message);
}

/** A command's work: its arguments and records in (io), records out; resolves with its exit status. */
export type CommandMain = (argv: string[], io: StageIO) => Promise<number | void>;

/**
 * reportFailure prints a command's failure as one line on stderr (a stack only with
 * IMGPIPE_DEBUG=1, and only for faults that are not the user's) and gives its exit status: 2 for
 * usage errors, 1 for failed operations.
 */
export function reportFailure(command: string, err: unknown): number {
  const e = toImgError(err);
  process.stderr.write(`${command}: ${e.message.replace(/\s*\n\s*/g, ' ')}${e.code === 'USAGE' ? ` (see ${command} --help)` : ''}\n`);
  if (process.env.IMGPIPE_DEBUG === '1' && !(err instanceof ImgError) && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return isUsageCode(e.code) ? 2 : 1;
}

/**
 * run is every command's entry point: it runs main over stdin and stdout, prints any failure
 * (reportFailure) and exits with main's status.
 */
export function run(command: string, help: string, main: CommandMain): void {
  running = command;
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    const text = `${help.replace(/\n+$/, '')}\n\n${COMMAND_TIMEOUT_HELP}\n`;
    process.stdout.write(text);
    return;
  }
  main(argv, stdio()).then(
    (status) => {
      process.exitCode = status ?? 0;
      // Stages a stopped pipeline left behind would keep working: end them with the process.
      if (exitsWhenMainEnds()) process.exit();
    },
    (err: unknown) => {
      process.exitCode = reportFailure(command, err);
      if (exitsWhenMainEnds()) process.exit();
    },
  );
}
