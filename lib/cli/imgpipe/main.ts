/** imgpipe: skopeo's command line over the img-* stages. */
import { basename, resolve } from 'node:path';
import { loadTlsDetails } from '../../util/tls-details.js';
import { ImgError } from '../../errors.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { goDurationError, parseDuration } from '../deadline.js';
import { specFlags, type FlagSpec, type ParsedFlags } from '../flags.js';
import { retryDelayProblem } from '../registry-flags.js';
import { parseFlags } from '../run.js';
import { specOf, warnGlobalTlsVerify, type Ctx, type Subcommand } from './context.js';
import { SkopeoError } from './errors.js';
import { log } from './log.js';
import { Refused, refuseFlags } from './refused.js';

/** The imgpipe version; `--version` prints it as skopeo prints its own. */
export const VERSION = '0.1.0';

const GLOBAL: FlagSpec = COMMAND_FLAGS.imgpipe;

/** progName is the name imgpipe was run as: "skopeo" through a link or wrapper of that name, else "imgpipe". */
export function progName(argv1 = process.argv[1] ?? ''): string {
  return basename(argv1) === 'skopeo' ? 'skopeo' : 'imgpipe';
}

/** splitGlobal cuts argv at the subcommand: the global flags before it, the subcommand, the rest. */
function splitGlobal(argv: string[]): { before: string[]; sub?: string; rest: string[] } {
  const strings = new Set(GLOBAL.string ?? []);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { before: argv.slice(0, i), sub: argv[i + 1], rest: argv.slice(i + 2) };
    if (!a.startsWith('-') || a === '-') return { before: argv.slice(0, i), sub: a, rest: argv.slice(i + 1) };
    if (a.startsWith('--') && !a.includes('=') && strings.has(a.slice(2))) i++;
  }
  return { before: argv, rest: [] };
}

/** persistent is the spec of a subcommand with skopeo's persistent global flags added (all but --tls-verify and --version). */
function persistent(spec: FlagSpec): FlagSpec {
  const own = new Set(specFlags(spec));
  const keep = (names: readonly string[] | undefined) => (names ?? []).filter((f) => f !== 'tls-verify' && f !== 'version' && !own.has(f));
  return { ...spec, string: [...(spec.string ?? []), ...keep(GLOBAL.string)], boolean: [...(spec.boolean ?? []), ...keep(GLOBAL.boolean)] };
}

/** cobraWords words a parser error as cobra does ("unknown flag: --x"). */
function cobraWords(e: unknown): unknown {
  if (!(e instanceof ImgError) || e.code !== 'USAGE') return e;
  const m = /^unknown flag (-(-?)(.*))$/.exec(e.message);
  if (m) return new SkopeoError(m[2] ? `unknown flag: ${m[1]}` : `unknown shorthand flag: '${m[3]}' in ${m[1]}`);
  return new SkopeoError(e.message);
}

/** helpText is one subcommand's help. */
function helpText(prog: string, sub: Subcommand): string {
  return `${sub.help}\n\nUsage:\n  ${prog} ${sub.usage}\n`;
}

/** help writes the usage of imgpipe or of one subcommand to stdout. */
function help(prog: string, subs: Record<string, Subcommand>, sub?: Subcommand): void {
  if (sub) {
    process.stdout.write(helpText(prog, sub));
    return;
  }
  const names = Object.keys(subs).sort();
  process.stdout.write(`Various operations with container images and container image registries: skopeo's command
line, each subcommand run as the img-* pipeline it is (copy --explain and sync --explain print it).

Usage:
  ${prog} [flags]
  ${prog} [command]

Available Commands:
${names.map((n) => `  ${n.padEnd(23)}${subs[n]!.short}`).join('\n')}
  help                   Help about any command

Flags:
      --command-timeout duration   timeout for the command execution
      --debug                      enable debug output
  -h, --help                       help for ${prog}
      --insecure-policy            run the tool without any policy check
      --override-arch ARCH         use ARCH instead of the architecture of the machine for choosing images
      --override-os OS             use OS instead of the running OS for choosing images
      --override-variant VARIANT   use VARIANT instead of the running architecture variant for choosing images
      --policy string              Path to a trust policy file
      --registries-conf string     path to the registries.conf file
      --registries.d DIR           use registry configuration files in DIR (e.g. for container signature storage)
      --require-signed             require any pulled image to be signed
      --tls-details string         path to a containers-tls-details.yaml(5) file (minVersion, cipherSuites,
                                   namedGroups), for every TLS connection
      --tmpdir string              directory used to store temporary files
      --user-agent-prefix string   prefix to add to the user agent string
  -v, --version                    Version for ${prog}
Image encryption (copy --encryption-key, --decryption-key, --encrypt-layer) is out of scope.

Use "${prog} [command] --help" for more information about a command.
`);
}

/**
 * imgpipeMain runs skopeo's command line `argv` with the subcommands `subs`: global flags before
 * the subcommand (and, but for --tls-verify, after it), skopeo's flags refused by name where
 * imgpipe cannot honour them, failures as skopeo's fatal log line. Resolves with the exit status:
 * skopeo's (1, or 2 for an image that is not there), and 2 for a refused flag.
 */
export async function imgpipeMain(argv: string[], subs: Record<string, Subcommand>): Promise<number> {
  const prog = progName();
  try {
    const { before, sub, rest } = splitGlobal(argv);
    refuseFlags(undefined, before);
    if (before.includes('--help') || before.includes('-h') || sub === 'help') {
      const target = sub === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
      if (target !== undefined && subs[target] === undefined) throw new SkopeoError(`Unknown help topic [${JSON.stringify(target)}]`);
      help(prog, subs, target === undefined ? undefined : subs[target]);
      return 0;
    }
    let global: ParsedFlags;
    try {
      global = parseFlags(before, GLOBAL);
    } catch (e) {
      throw cobraWords(e);
    }
    if (global.version) {
      process.stdout.write(prog === 'skopeo' ? `skopeo version ${VERSION} (imgpipe)\n` : `imgpipe version ${VERSION}\n`);
      return 0;
    }
    if (sub === undefined) throw new SkopeoError(`Missing command '${prog} COMMAND'\nTry '${prog} --help' for more information`);
    const command = subs[sub];
    if (command === undefined) {
      const near = suggestions(sub, [...Object.keys(subs), 'help']);
      const didYouMean = near.length > 0 ? `\n\nDid you mean this?\n\t${near.join('\n\t')}\n` : '';
      throw new SkopeoError(`Unrecognized command \`${prog} ${sub}\`${didYouMean}\nTry '${prog} --help' for more information`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      help(prog, subs, command);
      return 0;
    }
    refuseFlags(sub, rest);
    let flags: ParsedFlags;
    try {
      flags = parseFlags(rest, persistent(specOf(sub)));
    } catch (e) {
      throw cobraWords(e);
    }
    // Persistent flags given after the subcommand count as given before it.
    const merged: ParsedFlags = { ...global };
    for (const f of specFlags(GLOBAL)) if (flags[f] !== undefined && !specFlags(specOf(sub)).includes(f)) merged[f] = flags[f];
    if (merged.tmpdir !== undefined) process.env.TMPDIR = String(merged.tmpdir);
    if (merged['user-agent-prefix'] !== undefined) process.env.IMGPIPE_USER_AGENT_PREFIX = String(merged['user-agent-prefix']);
    // --tls-details is read (strictly) before anything else, and reaches every stage's TLS connections through the environment
    if (merged['tls-details'] !== undefined && String(merged['tls-details']) !== '') {
      const file = resolve(String(merged['tls-details']));
      try {
        loadTlsDetails(file);
      } catch (e) {
        throw new SkopeoError((e as Error).message.replace(file, String(merged['tls-details'])));
      }
      process.env.IMGPIPE_TLS_DETAILS = file;
    }
    if (flags['retry-delay'] !== undefined) checkRetryDelay(String(flags['retry-delay']));
    if (merged['insecure-policy'] === true && merged['require-signed'] === true)
      throw new SkopeoError('--insecure-policy and --require-signed are mutually exclusive');
    const ctx: Ctx = { prog, global: merged, flags, args: flags._.map(String) };
    warnGlobalTlsVerify(ctx);
    try {
      return await command.run(ctx);
    } catch (err) {
      // as skopeo's errorShouldDisplayUsage: the subcommand's help first, on stderr
      if (err instanceof SkopeoError && err.showUsage) process.stderr.write(helpText(prog, command));
      throw err;
    }
  } catch (err) {
    return fatal(err);
  }
}

/** checkRetryDelay refuses a --retry-delay that is no Go duration in pflag's words, and one imgpipe cannot wait (negative, or past a timer's reach). */
function checkRetryDelay(text: string): void {
  const problem = goDurationError(text) ?? retryDelayProblem(parseDuration(text));
  if (problem !== undefined) throw new SkopeoError(`invalid argument ${JSON.stringify(text)} for "--retry-delay" flag: ${problem}`);
}

/** suggestions are the names cobra suggests for a mistyped subcommand: within 2 edits, or starting with it. */
function suggestions(typed: string, names: string[]): string[] {
  const t = typed.toLowerCase();
  return names.filter((n) => levenshtein(t, n.toLowerCase()) <= 2 || n.toLowerCase().startsWith(t)).sort();
}

/** levenshtein is the edit distance between a and b. */
function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** fatal prints a failure as skopeo's fatal log line and gives its exit status. */
export function fatal(err: unknown): number {
  if (err instanceof SkopeoError) {
    log('fatal', err.message);
    return err.exitStatus;
  }
  if (err instanceof Refused) {
    log('fatal', err.message);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  log('fatal', message.replace(/\s*\n\s*/g, ' '));
  if (process.env.IMGPIPE_DEBUG === '1' && !(err instanceof ImgError) && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 1;
}
