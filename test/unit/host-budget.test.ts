// The per-host pacing of the registry client (issue 16): the token bucket of --rate, and the pause a
// Retry-After sets for every request to the host. On fake timers: the times are exact.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostBudget, hostBudget } from '../../lib/transport/registry/host-budget.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** when starts `n` takes at once and gives the time each one was let through, relative to now, in the order they resolved. */
async function when(b: HostBudget, n: number, runFor: number): Promise<number[]> {
  const t0 = Date.now();
  const out: number[] = [];
  for (let i = 0; i < n; i++) void b.take().then(() => out.push(Date.now() - t0));
  await vi.advanceTimersByTimeAsync(runFor);
  return out;
}

describe('HostBudget', () => {
  it('lets everything through at once without a rate or a pause', async () => {
    expect(await when(new HostBudget(() => Date.now()), 50, 0)).toEqual(new Array(50).fill(0));
  });

  it('--rate N: one request every 1/N s, no burst', async () => {
    const b = new HostBudget(() => Date.now());
    b.limit(4);
    expect(await when(b, 6, 5000)).toEqual([0, 250, 500, 750, 1000, 1250]);
    // idle time refills the bucket, up to one token
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await when(b, 3, 5000)).toEqual([0, 250, 500]);
    // a request after a gap shorter than 1/N waits out the rest
    const t0 = Date.now();
    const at: number[] = [];
    void b.take().then(() => at.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(100);
    void b.take().then(() => at.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(1000);
    expect(at).toEqual([0, 250]);
  });

  it('a rate below 1: one request every 1/N s', async () => {
    const b = new HostBudget(() => Date.now());
    b.limit(0.5);
    expect(await when(b, 3, 10_000)).toEqual([0, 2000, 4000]);
  });

  it('the lowest rate asked for wins', async () => {
    const b = new HostBudget(() => Date.now());
    b.limit(1);
    b.limit(10);
    b.limit(undefined);
    expect(await when(b, 3, 5000)).toEqual([0, 1000, 2000]);
  });

  it('a pause holds every request to the host until its end, whenever it was asked', async () => {
    const b = new HostBudget(() => Date.now());
    const t0 = Date.now();
    const at: number[] = [];
    b.pause(3000);
    void b.take().then(() => at.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(1000);
    void b.take().then(() => at.push(Date.now() - t0));
    // a shorter pause asked meanwhile does not end it sooner
    b.pause(500);
    await vi.advanceTimersByTimeAsync(1999);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([3000, 3000]);
    expect(await b.take()).toBe(0);
  });

  it('a pause with a rate: the tokens resume after it', async () => {
    const b = new HostBudget(() => Date.now());
    b.limit(1);
    b.pause(2000);
    expect(await when(b, 3, 10_000)).toEqual([2000, 3000, 4000]);
  });

  it('take gives the time waited', async () => {
    const b = new HostBudget(() => Date.now());
    b.pause(1500);
    const p = b.take();
    await vi.advanceTimersByTimeAsync(1500);
    expect(await p).toBe(1500);
  });
});

describe('hostBudget', () => {
  it('is one per host in the process', () => {
    const a = hostBudget('h1.example:5000');
    expect(hostBudget('h1.example:5000', 3)).toBe(a);
    expect(hostBudget('h2.example:5000')).not.toBe(a);
  });
});
