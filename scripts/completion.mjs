// Makes the bash completion of the imgpipe commands, at build time:
//   node scripts/completion.mjs [--out FILE]        (FILE defaults to dist/completion/imgpipe.bash)
// The flags come from lib/cli/command-flags.ts (COMMAND_FLAGS) and the transports from
// lib/ref/index.ts (TRANSPORTS), loaded through esbuild, so a new flag, command or transport needs
// no edit here. The tables below add what those do not say: subcommands, what the arguments are,
// how a flag's value is completed.
//
// A COMMAND_FLAGS key "CMD" is a command; "CMD SUB" is the spec of CMD's subcommand SUB when SUB
// is one of CMD's subcommands or the spec has no `only` lists, else a further spec of CMD whose
// flags apply as its `only` lists say (as "img-sign sigstore"). A command's subcommands are
// SUBCOMMANDS[CMD], every subcommand an `only` list names and every SUB of such a key. So
// `imgpipe` needs only its specs in COMMAND_FLAGS ("imgpipe" for the global flags, "imgpipe copy"
// and so on), and ARGUMENTS for its subcommands.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** SUBCOMMANDS: the subcommands of each command, beyond those its `only` lists name. */
export const SUBCOMMANDS = {
  'img-manifest': ['get', 'put', 'delete'],
  'img-sign': ['sign', 'verify', 'check', 'copy', 'keygen'],
};

/**
 * ARGUMENTS: what the arguments of "CMD" or "CMD SUB" are, in order ('...' after the last one:
 * any number of it): 'ref' (TRANSPORT:REFERENCE), 'file', 'dir', 'none', or 'by:FLAG' (what
 * FLAG's value names, through VALUE_ARGUMENTS). A command not listed takes files.
 */
export const ARGUMENTS = {
  'img-ref': ['ref...'],
  'img-tags': ['ref...'],
  'img-manifest': ['ref...'],
  'img-blob-get': ['ref'],
  'img-blob-put': ['ref'],
  'img-digest': ['file...'],
  'img-login': ['none'],
  'img-logout': ['none'],
  'img-copy': ['ref', 'ref'],
  'img-sync': ['by:src', 'by:dest'],
  'img-sign sign': ['file', 'none', 'none'],
  'img-sign verify': ['file', 'none', 'none', 'file'],
  'img-sign keygen': [],
  'img-sign check': [],
  'img-sign copy': [],
  'imgpipe inspect': ['ref'],
  'imgpipe copy': ['ref', 'ref'],
  'imgpipe sync': ['by:src', 'by:dest'],
  'imgpipe delete': ['ref'],
  'imgpipe list-tags': ['ref'],
  'imgpipe login': ['none'],
  'imgpipe logout': ['none'],
  'imgpipe manifest-digest': ['file'],
  'imgpipe standalone-sign': ['file', 'none', 'none'],
  'imgpipe standalone-verify': ['file', 'none', 'none', 'file'],
  'imgpipe generate-sigstore-key': [],
};

/** VALUE_ARGUMENTS: what an argument is when a flag's value names its kind (img-sync --src dir: a directory). */
export const VALUE_ARGUMENTS = { docker: 'none', dir: 'dir', oci: 'dir', yaml: 'file', 'containers-storage': 'none' };

/**
 * FLAG_VALUES: how a flag's value is completed: a list of words, 'file', 'dir' or 'ref'. Keyed by
 * the long name; "CMD NAME" and "CMD SUB NAME" override it for a command or a subcommand. A
 * --src-X or --dest-X flag not listed takes X's. Flags not listed take any text.
 */
export const FLAG_VALUES = {
  format: ['oci', 'v2s2'],
  'img-manifest get format': 'none',
  'multi-arch': ['system', 'all', 'index-only'],
  progress: ['tty', 'ndjson', 'none'],
  'dest-compress-format': ['gzip', 'zstd'],
  algorithm: ['sha256', 'sha512'],
  platform: ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'windows/amd64'],
  authfile: 'file',
  'cert-dir': 'dir',
  output: 'file',
  'output-prefix': 'file',
  digestfile: 'file',
  policy: 'file',
  'registries.d': 'dir',
  'shared-blob-dir': 'dir',
  'registries-conf': 'file',
  'passphrase-file': 'file',
  'sign-passphrase-file': 'file',
  'public-key-file': 'file',
  'sign-by-sigstore-private-key': 'file',
  'sigstore-private-key': 'file',
  'sigstore-public-key': 'file',
  yaml: 'file',
  to: 'ref',
  'img-ref dest': 'ref',
  'img-sync src': ['docker', 'dir', 'oci', 'yaml'],
  'imgpipe sync src': ['docker', 'dir', 'yaml'],
  'imgpipe sync dest': ['docker', 'dir'],
  'img-sync dest': ['docker', 'dir', 'oci', 'containers-storage'],
};

/** TRANSPORT_PATHS: what follows TRANSPORT: in a reference, for the transports that name a path. */
export const TRANSPORT_PATHS = { dir: 'dir', oci: 'dir', 'oci-archive': 'file', 'docker-archive': 'file', sif: 'file' };

// lib/cli/run.ts's parseFlags adds --help and -h to every command.
const HELP = { boolean: ['help'], alias: { h: 'help' } };

/**
 * commandModel turns COMMAND_FLAGS into {CMD: {subs, specs: {SUB: {flags, args}}}}: for each
 * command, its subcommands, and for each subcommand ('' before one is given, or for a command
 * without subcommands) its flags as words (--name, or --name=KIND for a flag that takes a value;
 * KIND a|b|c, @file, @dir, @ref or empty) and its arguments.
 */
export function commandModel(commandFlags) {
  const byCommand = new Map();
  for (const [key, spec] of Object.entries(commandFlags)) {
    const [cmd, ...rest] = key.split(' ');
    if (!byCommand.has(cmd)) byCommand.set(cmd, []);
    byCommand.get(cmd).push({ sub: rest.join(' '), spec });
  }
  const model = {};
  for (const [cmd, entries] of byCommand) {
    const subs = new Set(SUBCOMMANDS[cmd] ?? []);
    for (const { spec } of entries) for (const list of Object.values(spec.only ?? {})) for (const s of list) subs.add(s);
    // A "CMD SUB" spec is the subcommand SUB's when SUB is a subcommand or the spec has no `only`
    // lists; else it is a further spec of CMD, whose flags apply as its `only` lists say.
    const subSpec = (e) => e.sub !== '' && (subs.has(e.sub) || e.spec.only === undefined);
    for (const e of entries) if (subSpec(e)) subs.add(e.sub);
    const flagsFor = (sub) => {
      const words = new Map();
      for (const e of [...entries, { sub: '', spec: HELP }]) {
        if (subSpec(e) && sub !== '' && e.sub !== sub) continue;
        const { spec } = e;
        const applies = (f) => sub === '' || subSpec(e) || spec.only?.[f] === undefined || spec.only[f].includes(sub);
        const valued = new Set([...(spec.string ?? []), ...(spec.list ?? [])]);
        for (const f of [...valued, ...(spec.boolean ?? [])]) {
          if (!applies(f)) continue;
          words.set(`--${f}`, valued.has(f) ? `--${f}=${valueKind(cmd, subSpec(e) ? e.sub : sub, f)}` : `--${f}`);
        }
        for (const [a, f] of Object.entries(spec.alias ?? {})) {
          if (!applies(f) || !words.has(`--${f}`)) continue;
          const long = words.get(`--${f}`);
          words.set(`-${a}`, long.includes('=') ? `-${a}=${long.slice(long.indexOf('=') + 1)}` : `-${a}`);
        }
      }
      return [...words.values()].sort();
    };
    // by:FLAG arguments name every spelling of FLAG: by:--src,-s.
    const spellings = (f) => [
      `--${f}`,
      ...entries.flatMap((e) =>
        Object.entries(e.spec.alias ?? {})
          .filter(([, long]) => long === f)
          .map(([a]) => `-${a}`),
      ),
    ];
    const args = (list) => list.map((a) => (a.startsWith('by:') ? `by:${[...new Set(spellings(a.slice(3)))].join(',')}` : a));
    const specs = { '': { flags: flagsFor(''), args: args(ARGUMENTS[cmd] ?? (subs.size > 0 ? ['none'] : ['file...'])) } };
    for (const s of [...subs].sort()) specs[s] = { flags: flagsFor(s), args: args(ARGUMENTS[`${cmd} ${s}`] ?? ARGUMENTS[cmd] ?? ['file...']) };
    model[cmd] = { subs: [...subs].sort(), specs };
  }
  return model;
}

/** valueKind is how the value of flag `f` of CMD [SUB] is completed, as a flag word's KIND. */
function valueKind(cmd, sub, f) {
  const side = f.replace(/^(src|dest)-/, '');
  const v = [`${cmd} ${sub} ${f}`, `${cmd} ${f}`, f, side].map((k) => FLAG_VALUES[k]).find((x) => x !== undefined);
  if (v === undefined || v === 'none') return '';
  return Array.isArray(v) ? v.join(',') : `@${v}`;
}

const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;

/** completionScript is the bash completion script for the commands of `commandFlags`. */
export function completionScript({ commandFlags, transports }) {
  const model = commandModel(commandFlags);
  const cmds = Object.keys(model).sort();
  const subArms = cmds.filter((c) => model[c].subs.length > 0).map((c) => `    ${quote(c)}) _imgpipe_w=${quote(model[c].subs.join(' '))} ;;`);
  const specArms = cmds.flatMap((c) =>
    Object.entries(model[c].specs).map(
      ([s, { flags, args }]) => `    ${quote(`${c}/${s}`)}) _imgpipe_w=${quote(flags.join(' '))} _imgpipe_a=${quote(args.join(' '))} ;;`,
    ),
  );
  const refs = transports.map((t) => (t === 'docker' ? 'docker://' : `${t}:`));
  const pathArms = Object.entries(TRANSPORT_PATHS)
    .filter(([t]) => transports.includes(t))
    .map(([t, k]) => `    ${quote(t)}) _imgpipe_w=@${k} ;;`);
  const valueArms = Object.entries(VALUE_ARGUMENTS).map(([v, k]) => `    ${quote(v)}) _imgpipe_w=@${k} ;;`);
  const engine = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'completion.bash'), 'utf8').replace(/^(#.*\n)+\n/, '');
  return `# bash completion for the imgpipe commands: ${cmds.join(', ')}.
# Generated by scripts/completion.mjs from lib/cli/command-flags.ts: edit that, not this file.
# Source it, or install it as bash-completion/completions/COMMAND for each command.

# _imgpipe_subcommands CMD sets _imgpipe_w to CMD's subcommands (empty: none).
_imgpipe_subcommands() {
  _imgpipe_w=''
  case $1 in
${subArms.join('\n')}
  esac
}

# _imgpipe_spec CMD SUB sets _imgpipe_w to the flags of CMD SUB (SUB empty: any), each --name or
# -n, or --name=KIND for a flag that takes a value (KIND: a,b,c, @file, @dir, @ref or empty), and
# _imgpipe_a to what its arguments are (@KIND each, '...' after the last one: any number).
_imgpipe_spec() {
  _imgpipe_w='' _imgpipe_a='file...'
  case "$1/$2" in
${specArms.join('\n')}
  esac
}

# _imgpipe_transport_path TRANSPORT sets _imgpipe_w to what follows TRANSPORT: (@dir, @file, or empty).
_imgpipe_transport_path() {
  _imgpipe_w=''
  case $1 in
${pathArms.join('\n')}
  esac
}

# _imgpipe_value_argument VALUE sets _imgpipe_w to the argument kind a flag value names (img-sync --src dir: @dir).
_imgpipe_value_argument() {
  _imgpipe_w=''
  case $1 in
${valueArms.join('\n')}
  esac
}

_imgpipe_transports=${quote(refs.join(' '))}

${engine}
complete -F _imgpipe_complete ${cmds.join(' ')}
`;
}

/** loadSources loads COMMAND_FLAGS and TRANSPORTS from the TypeScript sources, bundled by esbuild in memory. */
export async function loadSources(root) {
  const { build } = await import('esbuild');
  const result = await build({
    stdin: {
      contents: "export { COMMAND_FLAGS } from './lib/cli/command-flags.ts'; export { TRANSPORTS } from './lib/ref/index.ts';",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const mod = await import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString('base64')}`);
  return { commandFlags: mod.COMMAND_FLAGS, transports: [...mod.TRANSPORTS] };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const k = args.indexOf('--out');
  const out = k < 0 ? join(root, 'dist/completion/imgpipe.bash') : args[k + 1];
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, completionScript(await loadSources(root)));
  process.stderr.write(`bash completion: ${out}\n`);
}
