import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../../lib/cli/command-flags.js';
import type { FlagSpec } from '../../lib/cli/flags.js';
import { TRANSPORTS } from '../../lib/ref/index.js';
import { completionScript, SUBCOMMANDS } from '../../scripts/completion.mjs';
import { have, ROOT, tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-completion-');

/** writeScript writes the completion script generated from `commandFlags` and returns its path. */
function writeScript(name: string, commandFlags: Record<string, FlagSpec> = COMMAND_FLAGS): string {
  const file = join(work, name);
  writeFileSync(file, completionScript({ commandFlags, transports: [...TRANSPORTS] }));
  return file;
}
const SCRIPT = writeScript('imgpipe.bash');

/** bashWords splits a command line as bash does for COMP_WORDS: at blanks, and runs of : = @ as words of their own. */
function bashWords(line: string): string[] {
  const words = line
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((w) => w.match(/[:=@]+|[^:=@]+/g)!);
  if (line === '' || /\s$/.test(line)) words.push('');
  return words;
}

/** complete runs the completion function in bash for `line`, the cursor at its end, and returns COMPREPLY. */
function complete(line: string, opts: { script?: string; cwd?: string } = {}): string[] {
  const body =
    'source "$1"; COMP_LINE=$2; COMP_POINT=${#2}; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _imgpipe_complete; printf "%s\\n" "${COMPREPLY[@]}"';
  const r = spawnSync('bash', ['-c', body, 'bash', opts.script ?? SCRIPT, line, ...bashWords(line)], { cwd: opts.cwd ?? work, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

type Spec = FlagSpec & { only?: Record<string, readonly string[]> };

/** expectedFlags: the long and short flags COMMAND_FLAGS gives CMD with subcommand SUB ('' before one: all of them), worked out here on their own. */
function expectedFlags(cmd: string, sub: string): { long: string[]; short: string[] } {
  const entries = Object.entries(COMMAND_FLAGS as Record<string, Spec>).filter(([k]) => k === cmd || k.startsWith(`${cmd} `));
  const subs = subcommands(cmd);
  const long = new Set(['--help']);
  const short = new Set(['-h']);
  for (const [key, spec] of entries) {
    const own = key.slice(cmd.length + 1);
    const forSub = own !== '' && subs.includes(own) ? own : undefined;
    if (forSub !== undefined && sub !== '' && forSub !== sub) continue;
    const applies = (f: string) => sub === '' || forSub !== undefined || spec.only?.[f] === undefined || spec.only[f]!.includes(sub);
    for (const f of [...(spec.string ?? []), ...(spec.list ?? []), ...(spec.boolean ?? [])]) if (applies(f)) long.add(`--${f}`);
    for (const [a, f] of Object.entries(spec.alias ?? {})) if (applies(f)) short.add(`-${a}`);
  }
  return { long: [...long].sort(), short: [...short].sort() };
}

/** subcommands: SUBCOMMANDS', every subcommand an `only` list of CMD's specs names, and X of a "CMD X" spec without `only`. */
function subcommands(cmd: string): string[] {
  const subs = new Set<string>((SUBCOMMANDS as Record<string, string[]>)[cmd] ?? []);
  for (const [k, spec] of Object.entries(COMMAND_FLAGS as Record<string, Spec>)) {
    if (k.startsWith(`${cmd} `) && spec.only === undefined) subs.add(k.slice(cmd.length + 1));
    if (k === cmd || k.startsWith(`${cmd} `)) for (const list of Object.values(spec.only ?? {})) for (const s of list) subs.add(s);
  }
  return [...subs].sort();
}

const COMMANDS = [...new Set(Object.keys(COMMAND_FLAGS).map((k) => k.split(' ')[0]!))].sort();

describe.skipIf(!have('bash'))('bash completion', () => {
  it('is the script scripts/completion.mjs writes from the TypeScript sources, and bash reads it', () => {
    const out = join(work, 'cli.bash');
    const r = spawnSync('node', [join(ROOT, 'scripts/completion.mjs'), '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(SCRIPT, 'utf8'));
    expect(spawnSync('bash', ['-n', SCRIPT]).status).toBe(0);
    const registered = spawnSync('bash', ['-c', 'source "$1"; complete -p', 'bash', SCRIPT], { encoding: 'utf8' }).stdout;
    for (const c of COMMANDS) expect(registered).toContain(`complete -F _imgpipe_complete ${c}\n`);
  });

  // Every flag of every spec in COMMAND_FLAGS, for each subcommand it applies to, and none that does not apply.
  const cases = COMMANDS.flatMap((cmd) => ['', ...subcommands(cmd)].map((sub) => [cmd, sub] as const));
  it.each(cases)('%s %s: offers exactly the flags COMMAND_FLAGS declares for it', (cmd, sub) => {
    const line = sub === '' ? `${cmd} ` : `${cmd} ${sub} `;
    const { long, short } = expectedFlags(cmd, sub);
    expect(complete(`${line}--`).sort()).toEqual(long);
    expect(complete(`${line}-`).sort()).toEqual([...long, ...short].sort());
  });

  it('offers the subcommands of img-manifest and img-sign', () => {
    expect(complete('img-manifest ')).toEqual(['delete', 'get', 'put']);
    expect(complete('img-manifest g')).toEqual(['get']);
    expect(complete('img-sign ')).toEqual(['check', 'copy', 'keygen', 'sign', 'verify']);
    expect(complete('img-sign --jobs 2 c')).toEqual(['check', 'copy']);
  });

  it('completes the values of enum-like flags, after a blank and after =', () => {
    expect(complete('img-copy --format ')).toEqual(['oci', 'v2s2']);
    expect(complete('img-copy --format=v')).toEqual(['v2s2']);
    expect(complete('img-copy --multi-arch ')).toEqual(['system', 'all', 'index-only']);
    expect(complete('img-sync --multi-arch=i')).toEqual(['index-only']);
    expect(complete('img-blob-put --progress ')).toEqual(['tty', 'ndjson', 'none']);
    expect(complete('img-copy --progress=n')).toEqual(['ndjson', 'none']);
    expect(complete('img-copy --dest-compress-format ')).toEqual(['gzip', 'zstd']);
    expect(complete('img-sync --src ')).toEqual(['docker', 'dir', 'oci', 'yaml']);
    expect(complete('img-sync -s d')).toEqual(['docker', 'dir']);
    expect(complete('img-sync --dest ')).toEqual(['docker', 'dir', 'oci', 'containers-storage']);
    expect(complete('img-sync -d c')).toEqual(['containers-storage']);
    expect(complete('img-digest --algorithm ')).toEqual(['sha256', 'sha512']);
    expect(complete('img-manifest put --format ')).toEqual(['oci', 'v2s2']);
    expect(complete('img-manifest put -f ')).toEqual(['oci', 'v2s2']);
    expect(complete('img-manifest get --format ')).toEqual([]);
    expect(complete('img-copy --src-tls-verify=f')).toEqual(['false']);
  });

  it('completes transports for references, then paths after dir:, oci: and the archives, and oci: image names', () => {
    const dir = join(work, 'refs');
    mkdirSync(join(dir, 'layout'), { recursive: true });
    mkdirSync(join(dir, 'images'), { recursive: true });
    writeFileSync(join(dir, 'app.tar'), '');
    writeFileSync(
      join(dir, 'layout/index.json'),
      JSON.stringify({
        manifests: [{ annotations: { 'org.opencontainers.image.ref.name': 'demo' } }, { annotations: { 'org.opencontainers.image.ref.name': 'app:v3' } }],
      }),
    );
    const all = TRANSPORTS.map((t) => (t === 'docker' ? 'docker://' : `${t}:`));
    for (const t of ['docker://', 'dir:', 'oci:', 'oci-archive:', 'docker-archive:', 'docker-daemon:', 'containers-storage:']) expect(all).toContain(t);
    expect(complete('img-copy ', { cwd: dir })).toEqual(all);
    expect(complete('img-copy d', { cwd: dir })).toEqual(all.filter((t) => t.startsWith('d')));
    expect(complete('img-ref --to ', { cwd: dir })).toEqual(all);
    // Bash replaces the part of the word after its last colon: the completions are that part.
    expect(complete('img-copy docker:', { cwd: dir })).toEqual(['//']);
    expect(complete('img-copy docker://busy', { cwd: dir })).toEqual([]);
    expect(complete('img-copy oci:', { cwd: dir }).sort()).toEqual(['images', 'layout']);
    expect(complete('img-copy dir:la', { cwd: dir })).toEqual(['layout']);
    expect(complete('img-copy oci-archive:ap', { cwd: dir })).toEqual(['app.tar']);
    expect(complete('img-copy dir:x docker-archive:a', { cwd: dir })).toEqual(['app.tar']);
    expect(complete('img-copy oci:layout:', { cwd: dir })).toEqual(['demo', 'app:v3']);
    expect(complete('img-copy oci:layout:a', { cwd: dir })).toEqual(['app:v3']);
    expect(complete('img-ref --to=oci:la', { cwd: dir })).toEqual(['layout']);
    expect(complete('img-manifest get oci:layout:demo oci:l', { cwd: dir })).toEqual(['layout']);
    expect(complete('img-copy dir:a dir:b ', { cwd: dir })).toEqual([]);
  });

  it('completes files and directories where a flag or an argument names one', () => {
    const dir = join(work, 'files');
    mkdirSync(join(dir, 'certs'), { recursive: true });
    writeFileSync(join(dir, 'auth.json'), '{}');
    expect(complete('img-copy --authfile a', { cwd: dir })).toEqual(['auth.json']);
    expect(complete('img-copy --src-authfile=a', { cwd: dir })).toEqual(['auth.json']);
    expect(complete('img-copy --cert-dir ', { cwd: dir })).toEqual(['certs']);
    expect(complete('img-copy --dest-shared-blob-dir ', { cwd: dir })).toEqual(['certs']);
    expect(complete('imgpipe inspect --shared-blob-dir=c', { cwd: dir })).toEqual(['certs']);
    expect(complete('img-blob-get -o a', { cwd: dir })).toEqual(['auth.json']);
    expect(complete('img-digest a', { cwd: dir })).toEqual(['auth.json']);
    expect(complete('img-sync --src yaml --dest dir a', { cwd: dir })).toEqual(['auth.json']);
    expect(complete('img-sync -s dir -d oci ', { cwd: dir })).toEqual(['certs']);
    expect(complete('img-sync -s yaml -d oci auth.json c', { cwd: dir })).toEqual(['certs']);
    expect(complete('img-sync -s docker -d dir ', { cwd: dir })).toEqual([]);
  });

  it('follows new flags, commands and subcommands of the table without an edit', () => {
    // the real imgpipe's specs left out: this table makes one of its own
    const flags = {
      ...Object.fromEntries(Object.entries(COMMAND_FLAGS).filter(([k]) => !k.startsWith('imgpipe'))),
      'img-copy': { ...COMMAND_FLAGS['img-copy'], string: [...COMMAND_FLAGS['img-copy'].string, 'brand-new'] },
      imgpipe: { string: ['policy'], boolean: ['debug', 'all'], alias: { a: 'all' }, only: { all: ['copy', 'sync'] } },
      'imgpipe inspect': { boolean: ['raw'] },
    } as Record<string, FlagSpec>;
    const script = writeScript('changed.bash', flags);
    expect(complete('img-copy --brand', { script })).toEqual(['--brand-new']);
    expect(complete('imgpipe ', { script })).toEqual(['copy', 'inspect', 'sync']);
    expect(complete('imgpipe copy --', { script }).sort()).toEqual(['--all', '--debug', '--help', '--policy']);
    expect(complete('imgpipe inspect --', { script }).sort()).toEqual(['--debug', '--help', '--policy', '--raw']);
    expect(complete('imgpipe --debug i', { script })).toEqual(['inspect']);
  });
});

describe.skipIf(!have('bash') || !have('python3'))('bash completion at a real prompt', () => {
  /** typed types each line and a double Tab into an interactive bash (readline, in a pseudo-terminal) and returns each line as it stood then, with Z at the cursor. */
  function typed(lines: string[], cwd: string): string[] {
    const driver = `
import os, pty, re, select, sys, time
script, lines = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp('bash', ['bash', '--norc', '--noprofile', '-i'])
out = ''
def until(pattern, seconds=20):
    global out
    end = time.time() + seconds
    while time.time() < end:
        m = re.search(pattern, out)
        if m: return m
        if select.select([fd], [], [], 0.05)[0]:
            try: out += os.read(fd, 65536).decode(errors='replace')
            except OSError: break
    return None
os.write(fd, ("PS1='$ '; bind 'set bell-style none'; source '%s'\\n" % script).encode())
for i, line in enumerate(lines):
    # Readline takes the keys in order: the line, two Tabs, a Z at the cursor (to show a blank
    # inserted or not), then Ctrl-A and echo to print the line.
    os.write(fd, line.encode() + b'\\t\\tZ\\x01echo LINE%d:\\r' % i)
    m = until(r'(?<!echo )LINE%d:([^\\r\\n]*)\\r\\n' % i)
    print(m.group(1) if m else '?')
os.write(fd, b'exit\\n')
`;
    const r = spawnSync('python3', ['-c', driver, SCRIPT, ...lines], { cwd, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').slice(0, lines.length);
  }

  it('completes a path after oci:, the rest of docker://, a value after =, a subcommand, as readline inserts them', () => {
    const dir = join(work, 'prompt');
    mkdirSync(join(dir, 'layout/blobs'), { recursive: true });
    const shown = typed(['img-copy oci:lay', 'img-copy docker:', 'img-copy --multi-arch=in', 'img-manifest g', 'img-copy --dest-compress-f'], dir);
    expect(shown).toEqual([
      'img-copy oci:layout/blobs/Z',
      'img-copy docker://Z',
      'img-copy --multi-arch=index-only Z',
      'img-manifest get Z',
      'img-copy --dest-compress-format Z',
    ]);
  });
});
