// Installs a built imgpipe, or removes it (make install, make uninstall):
//   node scripts/install.mjs install|uninstall [--destdir D] [--prefix P] [--bindir B] [--libdir L]
//     [--mandir M] [--docdir X] [--bashcompdir C] [--man-src DIR] [--completion-src FILE]
// LIBDIR (PREFIX/lib/imgpipe) gets a runnable copy: package.json, bin/, dist/ (all of it but the
// man/ and completion/ build dirs) and node_modules/ with the packages the bundles load at run
// time (their bare imports, with the dependencies of those); BINDIR links to LIBDIR/bin/*.
// Man pages go to MANDIR/man1, the completion script to BASHCOMPDIR/<command> for each command,
// README.md and docs/ to DOCDIR. LIBDIR/installed-files lists what was put outside LIBDIR and
// DOCDIR, for uninstall. DESTDIR is prepended to every path written, never to link targets.
import { builtinModules } from 'node:module';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// dist/ entries that are build output for the install itself, not for the commands.
const BUILD_DIRS = new Set(['man', 'completion']);
const MANIFEST = 'installed-files';

/** dirsOf resolves the install directories from the options, as GNU make's conventions name them. */
export function dirsOf(o) {
  const prefix = o.prefix ?? '/usr/local';
  return {
    destdir: o.destdir ?? '',
    bindir: o.bindir || join(prefix, 'bin'),
    libdir: o.libdir || join(prefix, 'lib/imgpipe'),
    mandir: o.mandir || join(prefix, 'share/man'),
    docdir: o.docdir || join(prefix, 'share/doc/imgpipe'),
    bashcompdir: o.bashcompdir || join(prefix, 'share/bash-completion/completions'),
  };
}

const BUILTINS = new Set(builtinModules);

/** runtimeImports lists the packages the files below `dir` import by bare name (node: and built-in modules left out). */
export function runtimeImports(dir) {
  const names = new Set();
  const patterns = [
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
    /^\s*(?:import|export)\s[^;'"]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
  ];
  for (const file of walk(dir).filter((f) => /\.(m|c)?js$/.test(f))) {
    const text = readFileSync(file, 'utf8');
    for (const re of patterns)
      for (const m of text.matchAll(re)) {
        const spec = m[1];
        if (/^(\.|\/|node:|data:|file:)/.test(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!BUILTINS.has(name) && !BUILTINS.has(spec)) names.add(name);
      }
  }
  return [...names].sort();
}

/** walk lists the files below `dir`. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** resolvePackage finds package `name` as Node would from `from`: in node_modules of `from` and each directory above it, up to `root`. */
function resolvePackage(name, from, root) {
  for (let d = from; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === root || d === dirname(d)) return undefined;
  }
}

/**
 * packageClosure is the set of package directories (below root/node_modules) that `names` need:
 * each package and its dependencies and optional dependencies, found as Node finds them. Names not
 * installed are returned apart (a bare name in a bundle may be text, not an import).
 */
export function packageClosure(names, root) {
  const dirs = new Set();
  const missing = [];
  const visit = (name, from) => {
    const dir = resolvePackage(name, from, root);
    if (dir === undefined) {
      if (from === root) missing.push(name);
      return;
    }
    if (dirs.has(dir)) return;
    dirs.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, dir);
  };
  for (const n of names) visit(n, root);
  return { dirs: [...dirs].sort(), missing };
}

/** commandsOf lists the commands: the files of bin/. */
const commandsOf = () =>
  readdirSync(join(ROOT, 'bin'))
    .filter((f) => statSync(join(ROOT, 'bin', f)).isFile())
    .sort();

/** removeListed removes the files and links `manifest` (under destdir) lists, then the directories left empty within `own`; returns the files. */
function removeListed(manifest, destdir, own) {
  if (!existsSync(manifest)) return [];
  const files = readFileSync(manifest, 'utf8').split('\n').filter(Boolean);
  for (const f of files) {
    try {
      if (!lstatSync(destdir + f).isDirectory()) rmSync(destdir + f);
    } catch {}
  }
  const inOwn = (dir) => own.some((o) => dir === o || dir.startsWith(`${o}/`));
  // Deepest first, so that a directory emptied by its children goes too.
  for (const dir of [...new Set(files.map((f) => dirname(f)))].sort((x, y) => y.length - x.length)) {
    for (let p = dir; inOwn(p); p = dirname(p)) {
      try {
        rmdirSync(destdir + p);
      } catch {
        break;
      }
    }
  }
  return files;
}

/**
 * install copies the built tree into the directories of `o` and returns every path it wrote
 * (without DESTDIR), which LIBDIR/installed-files lists. What an earlier install listed there
 * is removed first, so that no file of it stays.
 */
export function install(o) {
  const d = dirsOf(o);
  const at = (p) => d.destdir + p;
  const manSrc = o['man-src'] ?? join(ROOT, 'dist/man');
  const completionSrc = o['completion-src'] ?? join(ROOT, 'dist/completion/imgpipe.bash');
  const commands = commandsOf();
  const dist = join(ROOT, 'dist');
  const bundles = existsSync(dist) ? readdirSync(dist).filter((f) => !BUILD_DIRS.has(f) && !f.startsWith('.')) : [];
  if (bundles.length === 0) throw new Error('dist/ holds no bundles: run make build first');
  for (const p of [manSrc, completionSrc]) if (!existsSync(p)) throw new Error(`${relative(ROOT, p)} is missing: run make build first`);
  removeListed(join(at(d.libdir), MANIFEST), d.destdir, [d.libdir, d.docdir]);

  const written = [];
  /** copy copies a file or a tree to dest (a path without DESTDIR), noting each file. */
  const copy = (src, dest, mode) => {
    mkdirSync(dirname(at(dest)), { recursive: true });
    rmSync(at(dest), { recursive: true, force: true });
    cpSync(src, at(dest), { recursive: true, dereference: true, preserveTimestamps: true });
    if (mode !== undefined) chmodSync(at(dest), mode);
    if (statSync(at(dest)).isDirectory()) for (const f of walk(at(dest))) written.push(f.slice(d.destdir.length));
    else written.push(dest);
  };
  // LIBDIR: a runnable copy of the tree: bin/ finds ../dist, the bundles find node_modules/.
  copy(join(ROOT, 'package.json'), join(d.libdir, 'package.json'), 0o644);
  for (const c of commands) copy(join(ROOT, 'bin', c), join(d.libdir, 'bin', c), 0o755);
  for (const f of bundles) copy(join(dist, f), join(d.libdir, 'dist', f));
  const { dirs, missing } = packageClosure(runtimeImports(join(at(d.libdir), 'dist')), ROOT);
  for (const name of missing) process.stderr.write(`install: the bundles name package ${name}, which node_modules does not hold: not installed\n`);
  for (const dir of dirs) copy(dir, join(d.libdir, 'node_modules', relative(join(ROOT, 'node_modules'), dir)));

  for (const c of commands) {
    const link = join(d.bindir, c);
    mkdirSync(at(d.bindir), { recursive: true });
    rmSync(at(link), { force: true });
    symlinkSync(relative(d.bindir, join(d.libdir, 'bin', c)), at(link));
    written.push(link);
  }
  for (const page of readdirSync(manSrc).filter((f) => f.endsWith('.1'))) copy(join(manSrc, page), join(d.mandir, 'man1', page), 0o644);
  for (const c of commands) copy(completionSrc, join(d.bashcompdir, c), 0o644);
  copy(join(ROOT, 'README.md'), join(d.docdir, 'README.md'), 0o644);
  for (const f of walk(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))) copy(f, join(d.docdir, relative(ROOT, f)), 0o644);

  written.push(join(d.libdir, MANIFEST));
  writeFileSync(join(at(d.libdir), MANIFEST), `${written.join('\n')}\n`);
  return written;
}

/** uninstall removes what install put (the files LIBDIR/installed-files lists, and the directories left empty); returns them. */
export function uninstall(o) {
  const d = dirsOf(o);
  const manifest = join(d.destdir + d.libdir, MANIFEST);
  if (!existsSync(manifest)) throw new Error(`${manifest} is missing: nothing to uninstall there`);
  return removeListed(manifest, d.destdir, [d.libdir, d.docdir]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [action, ...args] = process.argv.slice(2);
  const o = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) {
      process.stderr.write(`install: unexpected argument ${args[i]}\n`);
      process.exit(2);
    }
    o[m[1]] = m[2] ?? args[++i];
  }
  for (const k of ['prefix', 'bindir', 'libdir', 'mandir', 'docdir', 'bashcompdir']) if (o[k] !== undefined && o[k] !== '') o[k] = resolve(o[k]);
  try {
    if (action === 'install') {
      const files = install(o);
      process.stderr.write(`installed ${files.length} files (listed in ${join(dirsOf(o).libdir, MANIFEST)})\n`);
    } else if (action === 'uninstall') {
      const files = uninstall(o);
      process.stderr.write(`removed ${files.length} files\n`);
    } else {
      process.stderr.write('usage: node scripts/install.mjs install|uninstall [--destdir D] [--prefix P] ...\n');
      process.exit(2);
    }
  } catch (e) {
    process.stderr.write(`install: ${e.message}\n`);
    process.exit(1);
  }
}
