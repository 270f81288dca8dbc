// Runs a TypeScript script (bench/*.ts) by bundling it with esbuild into .bench/, then importing it.
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run-ts.mjs FILE.ts [ARGS...]\n');
  process.exit(2);
}
const outfile = resolve('.bench', `${entry.replace(/[^A-Za-z0-9]+/g, '_')}.mjs`);
await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
