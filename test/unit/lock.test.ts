import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../lib/util/lock.js';
import { tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-lock-');

/** deadPid is the pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

/** contend runs `n` lock holders at once; each fails if another holds the lock at the same time. */
async function contend(path: string, n: number): Promise<number> {
  let inside = 0;
  let overlaps = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      withLock(
        path,
        async () => {
          if (++inside > 1) overlaps++;
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        },
        10_000,
      ),
    ),
  );
  return overlaps;
}

describe('withLock', () => {
  it('a lock of a dead process is taken over by exactly one of many takers at a time', async () => {
    for (let round = 0; round < 10; round++) {
      const path = join(work, `dead-${round}.lock`);
      writeFileSync(path, String(deadPid()));
      expect(await contend(path, 8)).toBe(0);
      expect(existsSync(path)).toBe(false);
    }
    // No reap markers are left behind.
    expect(readdirSync(work).filter((f) => f.includes('.reap-'))).toEqual([]);
  });

  it('a lock left empty (its owner killed between creating and writing it) is taken over once it is old', async () => {
    const path = join(work, 'empty.lock');
    writeFileSync(path, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    expect(await contend(path, 4)).toBe(0);
  });

  it('a live lock is waited for, then LOCKED names its owner', async () => {
    const path = join(work, 'live.lock');
    writeFileSync(path, String(process.ppid));
    await expect(withLock(path, async () => undefined, 100)).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining(`locked by process ${process.ppid}`) });
  });
});
