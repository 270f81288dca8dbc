'use strict';
// The commands' launcher: scripts/bundle.mjs copies it to dist/launch.cjs, and bin/<command> and
// dist/<command>.mjs call it. CommonJS, so that no ES module loader starts. Why and what it saves:
// docs/performance.md (start-up) and docs/decisions.md 27.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// The CommonJS loader's Module class; require('node:module') would load the ES module loader too.
const Module = module.constructor;

/** The last line of a bundle: `//# imgpipe-build=<16 hex digits of its sha256>` (scripts/bundle.mjs). */
const BUILD_ID = /\/\/# imgpipe-build=([0-9a-f]{16})\s*$/;
const HEADER_SIZE = 64;

/**
 * header is the first HEADER_SIZE bytes of a cache file: the bundle it was made from (build id,
 * size, mtime in ms) and how: 'help' (a --help run, at build) or 'run' (after a run that did work).
 * A multiple of 8 bytes, so the V8 data after it stays aligned.
 */
function header(id, stat, kind) {
  return `imgpipe-v8 ${id} ${stat.size} ${Math.floor(stat.mtimeMs)} ${kind}`.padEnd(HEADER_SIZE - 1, ' ') + '\n';
}

/**
 * launch runs dist/<name>.cjs as a CommonJS module, compiled with the V8 code cache in
 * dist/<name>.cjs.v8 when that cache was made from this very bundle (build id, size and mtime
 * match; V8 itself checks its version and flags). When there is no usable cache, or it comes from
 * a --help run, and this run ends with status 0 without flags of node's own, the cache is written
 * for the next runs, with every function the run compiled (atomically; silently not when dist/ is
 * read-only). IMGPIPE_CODE_CACHE=0 neither reads nor writes a cache; =help writes one whatever the
 * run's status, marked as made by --help (scripts/bundle.mjs, after a build).
 */
module.exports = function launch(name) {
  // bin/<command> deferred NODE_EXTRA_CA_CERTS (lib/auth/certs.ts reads it): programs this one starts get it back.
  const deferred = process.env.IMGPIPE_DEFERRED_CA_CERTS;
  if (deferred && process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = deferred;
  const dir = __dirname;
  const file = path.join(dir, `${name}.cjs`);
  const cacheFile = `${file}.v8`;
  const mode = process.env.IMGPIPE_CODE_CACHE;
  // ASCII (scripts/bundle.mjs checks): latin1 is the cheapest read, and gives V8 a one-byte string.
  const source = fs.readFileSync(file, 'latin1');
  const id = BUILD_ID.exec(source.slice(-64))?.[1];
  let stat;
  let cached;
  if (id !== undefined && mode !== '0') {
    stat = fs.statSync(file);
    if (mode !== 'help') cached = readCache(cacheFile, id, stat);
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: cached?.data });
  const fn = script.runInThisContext();
  const mod = new Module(file, null);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dir);
  if (stat !== undefined && (mode === 'help' || cached === undefined || cached.kind === 'help' || script.cachedDataRejected)) {
    process.once('exit', (code) => {
      if (mode === 'help') writeCache(cacheFile, header(id, stat, 'help'), script);
      else if (code === 0 && plainNode() && !process.argv.includes('--help') && !process.argv.includes('-h'))
        writeCache(cacheFile, header(id, stat, 'run'), script);
    });
  }
  fn.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dir);
};

/** plainNode says whether node runs without flags of its own (bin/<command>'s -e aside): a cache made under other V8 flags would be rejected by plain runs. */
function plainNode() {
  const flags = process.execArgv.filter((a, i, all) => a !== '-e' && all[i - 1] !== '-e');
  return flags.length === 0 && !process.env.NODE_OPTIONS;
}

/** readCache gives the V8 data of cacheFile and how it was made, when its header names this bundle; else undefined. */
function readCache(cacheFile, id, stat) {
  try {
    const buf = fs.readFileSync(cacheFile);
    const head = buf.toString('latin1', 0, HEADER_SIZE);
    const kind = head.trimEnd().split(' ').pop();
    if (head !== header(id, stat, kind)) return undefined;
    return { data: buf.subarray(HEADER_SIZE), kind };
  } catch {
    return undefined;
  }
}

/** writeCache writes the script's code cache (every function compiled so far) after `head`, atomically, or nothing. */
function writeCache(cacheFile, head, script) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(head, 'latin1'), script.createCachedData()]));
    fs.renameSync(tmp, cacheFile);
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing to remove */
    }
  }
}
