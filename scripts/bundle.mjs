// Bundles each command (cmds/*.ts) into one file, dist/<command>.mjs: one file to load keeps
// start-up close to `node -e 0` (see docs/performance.md).
import { build } from 'esbuild';
import { readdirSync, renameSync, rmSync } from 'node:fs';

const commands = readdirSync('cmds')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
await Promise.all(
  commands.map((name) =>
    build({
      entryPoints: [`cmds/${name}.ts`],
      outfile: `dist/.next/${name}.mjs`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      legalComments: 'none',
      logLevel: 'warning',
      // zstd (WebAssembly, some 700 KB) is loaded from node_modules when a zstd layer is met, not at start-up.
      external: ['zstd-codec'],
      // CommonJS dependencies bundled into ESM may require() node built-ins.
      banner: { js: "import { createRequire as __imgpipeRequire } from 'node:module'; const require = __imgpipeRequire(import.meta.url);" },
    }),
  ),
);
// Swap each bundle into place with a rename, so commands running during a rebuild never see a missing file.
for (const name of commands) renameSync(`dist/.next/${name}.mjs`, `dist/${name}.mjs`);
rmSync('dist/.next', { recursive: true, force: true });
