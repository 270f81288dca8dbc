// make bench, first part: wall time of `img-manifest get` on a small image in a local registry, against
// `node -e 0` and `skopeo inspect --raw`, medians of interleaved runs. Not a test: it prints figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startRegistry } from '../test/helpers/registry.js';
import { writeDirImage } from '../test/helpers/fixtures.js';
import { BIN, compare, table } from './lib.js';

const runs = Number(process.env.RUNS ?? 30);
const work = mkdtempSync(join(tmpdir(), 'imgpipe-bench-'));
const registry = await startRegistry();
try {
  writeDirImage(join(work, 'src'));
  const ref = `docker://${registry.host}/bench/small:1`;
  const push = spawnSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `img-manifest get dir:${work}/src | jq -c '.dest = "${ref}"' | img-blob-put --tls-verify=false | img-manifest put --tls-verify=false`,
    ],
    {
      env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` },
      encoding: 'utf8',
    },
  );
  if (push.status !== 0) throw new Error(`pushing the fixture failed: ${push.stderr}`);
  const medians = await compare(
    {
      'node -e 0': ['node', ['-e', '0']],
      'img-manifest get': [join(BIN, 'img-manifest'), ['get', '--tls-verify=false', ref]],
      'img-manifest get --raw': [join(BIN, 'img-manifest'), ['get', '--raw', '--tls-verify=false', ref]],
      'skopeo inspect --raw': ['skopeo', ['inspect', '--raw', '--tls-verify=false', ref]],
    },
    runs,
  );
  const base = medians['node -e 0']!;
  const rows: (string | number)[][] = [['command', 'median ms', '÷ node -e 0', '÷ skopeo']];
  for (const [name, ms] of Object.entries(medians))
    rows.push([name, ms.toFixed(1), (ms / base).toFixed(2), (ms / medians['skopeo inspect --raw']!).toFixed(2)]);
  process.stdout.write(`start-up: ${runs} interleaved runs each, a ${registry.host} registry on loopback (plain http)\n${table(rows)}\n`);
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
