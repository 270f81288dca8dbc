import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { records, sh, tempDir } from '../helpers/run.js';

const work = tempDir();

describe('img-blob-put batch mode', () => {
  it('moves each distinct blob once per destination, however many records need it, and keeps children before their index', async () => {
    // Ten images that share one config and layer (same seed), and two more of their own.
    for (let i = 0; i < 10; i++) writeDirImage(join(work, `same-${i}`), { seed: 'shared' });
    writeDirImage(join(work, 'other-a'), { seed: 'a' });
    writeDirImage(join(work, 'other-b'), { seed: 'b' });
    const layout = join(work, 'dest');
    const srcs = [...Array.from({ length: 10 }, (_, i) => `dir:${join(work, `same-${i}`)}`), `dir:${join(work, 'other-a')}`, `dir:${join(work, 'other-b')}`];
    const r = await sh(
      `img-manifest get ${srcs.join(' ')} | img-ref --to oci:${layout} | img-blob-put --jobs 4 --progress=ndjson 2>${work}/events | img-manifest put`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = records(r.stdout);
    expect(out).toHaveLength(12);
    const events = records(readFileSync(join(work, 'events'), 'utf8'));
    const started = events.filter((e) => e.event === 'start').map((e) => e.digest);
    // 3 distinct configs+layers pairs = 6 blobs, each started exactly once.
    expect(started).toHaveLength(6);
    expect(new Set(started).size).toBe(6);
    expect(events.filter((e) => e.event === 'done')).toHaveLength(6);
    expect(readdirSync(join(layout, 'blobs', 'sha256'))).toHaveLength(6 + 3);
    // A re-run moves nothing.
    const again = await sh(`img-manifest get ${srcs.join(' ')} | img-ref --to oci:${layout} | img-blob-put --progress=ndjson 2>${work}/events2`);
    expect(records(again.stdout).map((x) => x.status)).toEqual(Array(12).fill('ready'));
    expect(records(readFileSync(join(work, 'events2'), 'utf8')).filter((e) => e.event === 'start')).toEqual([]);
  });
});
