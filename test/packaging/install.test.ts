import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { have, records, ROOT, tempDir } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const COMMANDS = readdirSync(join(ROOT, 'bin')).sort();
const PAGES = readdirSync(join(ROOT, 'docs/commands'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => f.replace(/\.md$/, ''));

/** make runs the Makefile's targets with `vars`, taking the bundles as built (make test builds first) and npm packages as installed. */
function make(targets: string[], vars: Record<string, string>): void {
  const r = spawnSync(
    'make',
    ['-C', ROOT, '--no-print-directory', '-o', 'build', '-o', 'deps', ...targets, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
}

/** files lists the files and links below dir, relative to it. */
function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)]))
    .sort();
}

describe.skipIf(!have('make') || !have('man'))('make install into a prefix', () => {
  const work = tempDir('imgpipe-install-');
  const prefix = join(work, 'prefix');
  // The installed commands run with nothing of the source tree: no PATH to it, no NODE_PATH, another cwd.
  const env = { ...isolatedEnv(work), PATH: `${prefix}/bin:${dirname(process.execPath)}:/usr/bin:/bin`, LANG: 'C.UTF-8' };
  const run = (command: string, args: string[], extra: Record<string, string> = {}) =>
    spawnSync(command, args, { cwd: work, env: { ...env, ...extra }, encoding: 'utf8' });

  beforeAll(() => {
    make(['man', 'completion', 'install'], { PREFIX: prefix });
  }, 120_000);

  it('puts the commands in PREFIX/bin as links into PREFIX/lib/imgpipe, which holds the bundles and their runtime packages', () => {
    for (const c of COMMANDS) {
      expect(readlinkSync(join(prefix, 'bin', c))).toBe(`../lib/imgpipe/bin/${c}`);
      expect(lstatSync(join(prefix, 'lib/imgpipe/bin', c)).mode & 0o111).not.toBe(0);
    }
    const built = readdirSync(join(ROOT, 'dist')).filter((f) => !['man', 'completion'].includes(f) && !f.startsWith('.'));
    expect(readdirSync(join(prefix, 'lib/imgpipe/dist')).sort()).toEqual(built.sort());
    expect(existsSync(join(prefix, 'lib/imgpipe/node_modules/zstd-codec/package.json'))).toBe(true);
    // Nothing above the install holds node_modules: what the commands load, they load from it.
    for (let d = dirname(join(prefix, 'lib/imgpipe')); d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules')), d).toBe(false);
  });

  it('runs the installed commands from anywhere', () => {
    const r = run('img-ref', ['docker://busybox']);
    expect(r.stderr).toBe('');
    expect(records(r.stdout)).toEqual([{ ref: 'docker://docker.io/library/busybox:latest' }]);
    expect(run(join(prefix, 'bin/img-copy'), ['--help']).stdout).toMatch(/img-copy/);
  });

  it('copies a dir: image to oci: with the installed img-copy, zstd included (a package loaded at run time)', () => {
    const image = writeDirImage(join(work, 'img'), { seed: 'install' });
    const r = run('img-copy', ['--insecure-policy', '--dest-compress-format', 'zstd', 'dir:img', 'oci:out:x']);
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ ref: 'dir:img', dest: 'oci:out:x', status: 'copied' });
    expect(Object.values(rec!.layerUpdates as Record<string, { compression: string }>)[0]!.compression).toBe('zstd');
    // the layer kept uncompressed (oci: compresses it otherwise, as skopeo's): the source's manifest, byte for byte
    const plain = run('img-copy', ['--insecure-policy', '--dest-oci-accept-uncompressed-layers', 'dir:img', 'oci:out:plain']);
    expect(plain.status, plain.stderr).toBe(0);
    const got = run('img-manifest', ['get', '--raw', 'oci:out:plain']);
    expect(got.stdout).toBe(image.manifest.toString());
  });

  it('installs a man page for each docs/commands page, which man finds and renders without warnings', () => {
    const man1 = join(prefix, 'share/man/man1');
    for (const name of [...PAGES, 'img-logout']) {
      expect(existsSync(join(man1, `${name}.1`)), name).toBe(true);
      const r = run('man', ['--warnings', name], { MANPATH: join(prefix, 'share/man'), MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' });
      expect(r.stderr, name).toBe('');
      expect(r.stdout.replace(/.\x08/g, '')).toMatch(new RegExp(`^NAME\\n {7}[a-z, -]*\\b${name}\\b`, 'm'));
    }
    expect(readFileSync(join(man1, 'img-copy.1'), 'utf8')).toContain(
      `The imgpipe documentation in ${join(prefix, 'share/doc/imgpipe').replaceAll('-', '\\-')}:`,
    );
    expect(existsSync(join(prefix, 'share/doc/imgpipe/docs/transports.md'))).toBe(true);
  });

  it('installs the completion as share/bash-completion/completions/COMMAND for each command', () => {
    for (const c of COMMANDS) expect(readFileSync(join(prefix, 'share/bash-completion/completions', c), 'utf8')).toContain('_imgpipe_complete');
  });

  const loader = '/usr/share/bash-completion/bash_completion';
  it.skipIf(!existsSync(loader))('is loaded by bash-completion when a command is completed', () => {
    // bash-completion loads completions/COMMAND from each $XDG_DATA_DIRS/bash-completion (/usr/local/share first by default).
    const r = run('bash', ['-c', `source ${loader}; __load_completion img-sync && complete -p img-sync img-copy`], { XDG_DATA_DIRS: join(prefix, 'share') });
    expect(r.stdout).toBe('complete -F _imgpipe_complete img-sync\ncomplete -F _imgpipe_complete img-copy\n');
  });

  it('leaves no file of an earlier install, and make uninstall removes every file it put', () => {
    const lib = join(prefix, 'lib/imgpipe');
    writeFileSync(join(lib, 'dist/stale.mjs'), '');
    appendFileSync(join(lib, 'installed-files'), `${join(lib, 'dist/stale.mjs')}\n`);
    make(['install'], { PREFIX: prefix });
    expect(existsSync(join(lib, 'dist/stale.mjs'))).toBe(false);
    const listed = readFileSync(join(lib, 'installed-files'), 'utf8').split('\n').filter(Boolean).sort();
    expect(listed).toEqual(files(prefix).map((f) => join(prefix, f)));
    make(['uninstall'], { PREFIX: prefix });
    expect(files(prefix)).toEqual([]);
    expect(existsSync(lib)).toBe(false);
  });
});

describe.skipIf(!have('make'))('make install DESTDIR=… (a staged install, as packages are built)', () => {
  const work = tempDir('imgpipe-stage-');
  const stage = join(work, 'stage');

  it('writes below DESTDIR, names the final paths, and runs from the stage', () => {
    make(['man', 'completion', 'install'], { DESTDIR: stage, PREFIX: '/opt/imgpipe' });
    expect(readlinkSync(join(stage, 'opt/imgpipe/bin/img-ref'))).toBe('../lib/imgpipe/bin/img-ref');
    const listed = readFileSync(join(stage, 'opt/imgpipe/lib/imgpipe/installed-files'), 'utf8').split('\n').filter(Boolean);
    expect(listed.every((p) => p.startsWith('/opt/imgpipe/'))).toBe(true);
    expect(listed.length).toBe(files(stage).length);
    const r = spawnSync(join(stage, 'opt/imgpipe/bin/img-ref'), ['oci:layout:demo'], { cwd: work, encoding: 'utf8' });
    expect(r.stdout).toBe('{"ref":"oci:layout:demo"}\n');
    make(['uninstall'], { DESTDIR: stage, PREFIX: '/opt/imgpipe' });
    expect(files(stage)).toEqual([]);
  });
});
