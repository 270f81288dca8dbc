import { ImgError, isUsageCode, toImgError } from '../errors.js';
import { parseArgs, type FlagSpec, type ParsedFlags } from './flags.js';
import { armCommandTimeout, COMMAND_TIMEOUT_FLAG, COMMAND_TIMEOUT_HELP } from './deadline.js';

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

/**
 * run is every command's entry point: it runs main, prints any failure as one line on stderr
 * (a stack only with IMGPIPE_DEBUG=1, and only for faults that are not the user's) and exits 2 for
 * usage errors, 1 for failed operations, or main's own status.
 */
export function run(command: string, help: string, main: (argv: string[]) => Promise<number | void>): void {
  running = command;
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    const text = `${help.replace(/\n+$/, '')}\n\n${COMMAND_TIMEOUT_HELP}\n`;
    process.stdout.write(text);
    return;
  }
  main(argv).then(
    (status) => {
      process.exitCode = status ?? 0;
    },
    (err: unknown) => {
      const e = toImgError(err);
      process.stderr.write(`${command}: ${e.message.replace(/\s*\n\s*/g, ' ')}${e.code === 'USAGE' ? ` (see ${command} --help)` : ''}\n`);
      if (process.env.IMGPIPE_DEBUG === '1' && !(err instanceof ImgError) && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exitCode = isUsageCode(e.code) ? 2 : 1;
    },
  );
}
