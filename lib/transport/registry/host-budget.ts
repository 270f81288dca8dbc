/**
 * HostBudget paces what this process sends to one host, whichever client sends it: a token bucket
 * of `rate` requests a second (--rate) that holds one token, so requests go at least 1/rate s
 * apart and never in a burst (N processes at once send at most N × rate a second, from their first
 * request on), and a pause that an answer's Retry-After sets for every request to the host, not only
 * the one that got it. Waiters go in the order they came.
 */
export class HostBudget {
  private rate: number | undefined;
  private tokens = 0;
  private stamp = 0;
  private pausedUntil = 0;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly now: () => number = Date.now) {}

  /** limit sets the rate, in requests a second; a rate above the one set already is ignored (the lowest wins). */
  limit(rate: number | undefined): void {
    if (rate === undefined || !(rate > 0) || (this.rate !== undefined && rate >= this.rate)) return;
    this.rate = rate;
    this.tokens = 1;
    this.stamp = this.now();
  }

  /** pause holds every request to the host until `ms` from now (a later end of a pause already set wins). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** until is the end of the pause, in ms since the epoch (0 or past: none). */
  get until(): number {
    return this.pausedUntil;
  }

  /** take resolves when a request may be sent: after any pause, and with a rate, once a token is free. It gives the ms waited. */
  async take(): Promise<number> {
    const start = this.now();
    if (this.rate === undefined) {
      if (start >= this.pausedUntil) return 0;
      await this.unpaused();
      return this.now() - start;
    }
    const mine = this.turn.then(() => this.token());
    this.turn = mine;
    await mine;
    return this.now() - start;
  }

  private async unpaused(): Promise<void> {
    for (let t = this.now(); t < this.pausedUntil; t = this.now()) await sleep(this.pausedUntil - t);
  }

  private async token(): Promise<void> {
    const rate = this.rate!;
    for (;;) {
      await this.unpaused();
      const t = this.now();
      this.tokens = Math.min(1, this.tokens + ((t - this.stamp) / 1000) * rate);
      this.stamp = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / rate) * 1000));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(1, ms)));

const budgets = new Map<string, HostBudget>();

/** hostBudget is the one HostBudget of `host` (HOST[:PORT], as in a URL) in this process, its rate lowered to `rate` when given. */
export function hostBudget(host: string, rate?: number): HostBudget {
  let b = budgets.get(host);
  if (!b) {
    b = new HostBudget();
    budgets.set(host, b);
  }
  b.limit(rate);
  return b;
}
