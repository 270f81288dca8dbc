import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownerLine, withLock } from '../../lib/util/lock.js';
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
    await expect(withLock(path, async () => undefined, 100)).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringContaining(`locked by process ${process.ppid}`),
    });
  });

  // Issue 15: a stale lock naming a live, unrelated process used to make every writer wait 60 s.
  describe('a lock naming a live process that did not take it', () => {
    const sleeper = async () => {
      const c = spawn('sleep', ['60'], { stdio: 'ignore' });
      await new Promise((r) => c.once('spawn', r));
      return c;
    };
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

    it('the lock records the owner: pid, start time and boot id', async () => {
      const path = join(work, 'form.lock');
      let seen = '';
      await withLock(path, async () => {
        seen = readFileSync(path, 'utf8');
      });
      expect(seen).toBe(ownerLine(process.pid));
      expect(seen).toMatch(new RegExp(`^${process.pid} \\d+ ${boot}$`));
    });

    it('another start time under the same pid (the pid was reused) is taken over at once', async () => {
      const c = await sleeper();
      try {
        const path = join(work, 'reused.lock');
        const [pid, start] = ownerLine(c.pid!).split(' ');
        writeFileSync(path, `${pid} ${Number(start) - 5} ${boot}`);
        const t0 = Date.now();
        expect(await contend(path, 4)).toBe(0);
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        c.kill('SIGKILL');
      }
    });

    it('a lock from another boot is taken over at once', async () => {
      const c = await sleeper();
      try {
        const path = join(work, 'boot.lock');
        const [pid, start] = ownerLine(c.pid!).split(' ');
        writeFileSync(path, `${pid} ${start} 00000000-0000-4000-8000-000000000000`);
        expect(await contend(path, 4)).toBe(0);
      } finally {
        c.kill('SIGKILL');
      }
    });

    it('the older form (the pid alone), written before that process started, is taken over at once', async () => {
      const c = await sleeper();
      try {
        const path = join(work, 'older.lock');
        writeFileSync(path, String(c.pid));
        const before = new Date(Date.now() - 60_000);
        utimesSync(path, before, before);
        const t0 = Date.now();
        expect(await contend(path, 4)).toBe(0);
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        c.kill('SIGKILL');
      }
    });

    it('its real owner is still waited for, in either form', async () => {
      const c = await sleeper();
      try {
        for (const [name, text] of [
          ['owner-new.lock', ownerLine(c.pid!)],
          ['owner-old.lock', String(c.pid)],
        ] as const) {
          const path = join(work, name);
          writeFileSync(path, text);
          await expect(withLock(path, async () => undefined, 150)).rejects.toMatchObject({
            code: 'LOCKED',
            message: expect.stringContaining(`locked by process ${c.pid}`),
          });
          expect(readFileSync(path, 'utf8')).toBe(text);
        }
      } finally {
        c.kill('SIGKILL');
      }
    });
  });
});
