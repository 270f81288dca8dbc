// Bundles each command (cmds/*.ts) into one CommonJS file, dist/<command>.cjs, which dist/launch.cjs
// (a copy of scripts/launch.cjs) runs through a V8 code cache, dist/<command>.cjs.v8, made here by a
// --help run. bin/<command> and dist/<command>.mjs start the launcher. Why: docs/performance.md
// (start-up) and docs/decisions.md 27.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';

/** Packages left out of the bundles, loaded from node_modules when first used: zstd (WebAssembly, some 700 KB). */
const EXTERNAL = ['zstd-codec'];

/** Built-ins that take milliseconds to load and that many runs never use: each loads when a run first reads one of its exports. */
const LAZY_BUILTINS = ['child_process', 'crypto', 'dgram', 'fs/promises', 'http', 'https', 'net', 'readline', 'stream', 'stream/promises', 'tls', 'zlib'];

const isBuiltin = (p) => p.startsWith('node:') || builtinModules.includes(p);

/**
 * lazyRequire turns a dynamic import() of a built-in or an external package into a require() when
 * it is awaited: a script compiled by vm.Script (the launcher) has no loader for import().
 */
const lazyRequire = {
  name: 'lazy-require',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (a.kind !== 'dynamic-import') return undefined;
      return isBuiltin(a.path) || EXTERNAL.some((p) => a.path === p || a.path.startsWith(`${p}/`)) ? { path: a.path, namespace: 'lazy-require' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-require' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};

/**
 * lazyBuiltins stands a module of getters in for each of LAZY_BUILTINS: esbuild reads an imported
 * binding where it is used (`import_node_tls.connect`), so the require() waits until then. Code
 * that lists a built-in's keys (Object.keys) would see none; none does.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const req = createRequire(import.meta.url);
    b.onResolve({ filter: /.*/ }, (a) => {
      if (a.namespace === 'lazy-builtin' || a.kind === 'dynamic-import') return undefined;
      const name = a.path.replace(/^node:/, '');
      return LAZY_BUILTINS.includes(name) ? { path: name, namespace: 'lazy-builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => {
      const getters = Object.getOwnPropertyNames(req(`node:${a.path}`)).map(
        (k) => `${JSON.stringify(k)}: { get: () => load()[${JSON.stringify(k)}], enumerable: true }`,
      );
      return {
        // The getters sit on the prototype: esbuild's __toESM copies own properties only, once per importing module.
        contents: `let m;\nconst load = () => (m ??= require("node:${a.path}"));\nmodule.exports = Object.create(Object.defineProperties({}, { ${getters.join(', ')} }));\n`,
        loader: 'js',
      };
    });
  },
};

const commands = readdirSync('cmds')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
rmSync('dist/.next', { recursive: true, force: true });
mkdirSync('dist/.next', { recursive: true });
await Promise.all(
  commands.map((name) =>
    build({
      entryPoints: [`cmds/${name}.ts`],
      outfile: `dist/.next/${name}.cjs`,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      charset: 'ascii',
      // Names stay, so that stack traces (IMGPIPE_DEBUG=1) can be read; comments and spaces go.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'warning',
      external: EXTERNAL,
      plugins: [lazyRequire, lazyBuiltins],
    }),
  ),
);
for (const name of commands) {
  const code = readFileSync(`dist/.next/${name}.cjs`, 'utf8');
  // The launcher reads a bundle as latin1: esbuild's charset: 'ascii' escapes all but regex literals and String.raw.
  const wide = /[^\x00-\x7f]/.exec(code);
  if (wide)
    throw new Error(
      `dist/${name}.cjs: ${JSON.stringify(wide[0])} is not ASCII: write it as \\u${wide[0].charCodeAt(0).toString(16).padStart(4, '0')} in the source`,
    );
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  writeFileSync(`dist/.next/${name}.cjs`, `${code}//# imgpipe-build=${id}\n`);
  writeFileSync(
    `dist/.next/${name}.mjs`,
    `// Runs dist/${name}.cjs as bin/${name} does.\nimport { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('./launch.cjs')('${name}');\n`,
  );
}
copyFileSync('scripts/launch.cjs', 'dist/.next/launch.cjs');
// Swap each file into place with a rename, so commands running during a rebuild never see a missing file.
for (const f of readdirSync('dist/.next')) renameSync(`dist/.next/${f}`, `dist/${f}`);
rmSync('dist/.next', { recursive: true, force: true });

// The code caches: a --help run of each command compiles what its start-up runs, and the launcher writes what V8 compiled.
await Promise.all(
  commands.map(
    (name) =>
      new Promise((resolve, reject) => {
        const child = spawn(`bin/${name}`, ['--help'], { stdio: 'ignore', env: { ...process.env, IMGPIPE_CODE_CACHE: 'help' } });
        child.on('error', reject);
        child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`bin/${name} --help exited ${status}`))));
      }),
  ),
);
