import type { ImageRecord } from '../../oci/record.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import type { RecordSink, StageIO } from '../stage-io.js';
import { flagArgs } from '../transfer-flags.js';
import { log } from './log.js';

/** Ctx is one imgpipe run: the program name (skopeo or imgpipe), the global flags, the subcommand's flags and arguments. */
export interface Ctx {
  prog: string;
  global: ParsedFlags;
  flags: ParsedFlags;
  args: string[];
}

/** Subcommand: one of skopeo's subcommands; run resolves with the exit status (failures are thrown). */
export interface Subcommand {
  usage: string;
  short: string;
  help: string;
  run(ctx: Ctx): Promise<number>;
}

/** TRANSFER_GLOBALS: skopeo's global flags that img-copy and img-sync take under the same name. */
export const TRANSFER_GLOBALS = [
  'policy',
  'insecure-policy',
  'require-signed',
  'registries.d',
  'override-os',
  'override-arch',
  'override-variant',
  'debug',
  'registries-conf',
  'command-timeout',
];

/**
 * transferFlags maps the flags of skopeo copy or sync to those of img-copy or img-sync: `same` and
 * the `globals` as they are (skopeo's --insecure-policy wins over --policy), --screds/--dcreds as
 * --src-creds/--dest-creds, and the subcommand's --tls-verify, else the deprecated global one.
 */
export function transferFlags(ctx: Ctx, same: readonly string[], globals: readonly string[]): ParsedFlags {
  const { flags, global } = ctx;
  const out: ParsedFlags = { _: ctx.args };
  for (const f of same) if (flags[f] !== undefined) out[f] = flags[f];
  for (const f of globals) if (global[f] !== undefined) out[f] = global[f];
  if (global['insecure-policy'] === true) delete out.policy;
  if (flags.screds !== undefined && flags['src-creds'] === undefined) out['src-creds'] = flags.screds;
  if (flags.dcreds !== undefined && flags['dest-creds'] === undefined) out['dest-creds'] = flags.dcreds;
  const tls = flags['tls-verify'] ?? global['tls-verify'];
  if (tls !== undefined) out['tls-verify'] = tls;
  return out;
}

/** specOf is the flag spec of `imgpipe SUB`. */
export function specOf(sub: string): FlagSpec {
  return (COMMAND_FLAGS as Record<string, FlagSpec>)[`imgpipe ${sub}`] ?? {};
}

/** passOn writes the flags `names` as given (under `as`, if renamed) as arguments for an img-* stage. */
export function passOn(flags: ParsedFlags, names: readonly string[], as: Record<string, string> = {}): string[] {
  return names.flatMap((n) => flagArgs(as[n] ?? n, flags[n]));
}

/**
 * globalArgs are the arguments the global flags give a stage that talks to registries: --debug and
 * --registries-conf; the deprecated global --tls-verify where the subcommand's own is not given.
 */
export function globalArgs(ctx: Ctx, tlsFlags: readonly string[] = ['tls-verify']): string[] {
  const out = passOn(ctx.global, ['debug', 'registries-conf']);
  if (ctx.global['tls-verify'] !== undefined) {
    for (const f of tlsFlags) if (ctx.flags[f] === undefined) out.push(...flagArgs(f, ctx.global['tls-verify']));
  }
  return out;
}

/** warnTlsVerify prints skopeo's warning for the deprecated global --tls-verify. */
export function warnGlobalTlsVerify(ctx: Ctx): void {
  if (ctx.global['tls-verify'] !== undefined) log('warning', "'--tls-verify' is deprecated, please set this on the specific subcommand");
}

/** collect is a StageIO with no input whose records are kept in `records`. */
export function collect(): { io: StageIO; records: ImageRecord[] } {
  const records: ImageRecord[] = [];
  const out: RecordSink = {
    closed: false,
    write: async (r: object) => {
      records.push(JSON.parse(JSON.stringify(r)) as ImageRecord);
    },
  };
  return { io: { input: async function* () {}, interactive: false, out }, records };
}
