/**
 * RateGuard holds a transfer to a minimum rate: `minRate` bytes per second, measured over windows
 * of `windowMs` of time spent waiting on the other end. Only waiting counts: while the consumer of a
 * download (or the source of an upload) is the slow one, the clock stops, so back-pressure from a
 * slow disk or a slow destination never fails a healthy source.
 *
 * Call wait() when the transfer starts waiting on the other end and got(n) when n bytes have moved
 * (which also ends the wait). When a window of waiting has gone by with fewer than
 * minRate × windowMs / 1000 bytes, `onSlow` is called once with an error (code ETIMEDOUT), also
 * while a wait is still going on (a timer checks). stop() ends the watch.
 */
export class RateGuard {
  private waited = 0;
  private bytes = 0;
  private since?: number;
  private timer?: NodeJS.Timeout;
  private done = false;

  constructor(
    private readonly minRate: number,
    private readonly windowMs: number,
    private readonly onSlow: (err: Error) => void,
  ) {}

  /** The bytes a window must carry. */
  get threshold(): number {
    return Math.ceil((this.minRate * this.windowMs) / 1000);
  }

  private get active(): boolean {
    return !this.done && this.minRate > 0 && this.windowMs > 0;
  }

  wait(): void {
    if (!this.active || this.since !== undefined) return;
    this.since = Date.now();
    // Not a timer per chunk: one left running between waits, which counts only the time spent waiting.
    if (this.timer === undefined) this.arm();
  }

  got(n: number): void {
    if (!this.active) return;
    this.settle();
    this.bytes += n;
    if (this.waited >= this.windowMs) this.check();
  }

  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        // Not waiting now: the next wait arms it again with what is left of the window.
        if (!this.active || this.since === undefined) return;
        this.settle();
        this.since = Date.now();
        if (this.waited >= this.windowMs && !this.check()) return;
        this.arm();
      },
      Math.max(1, this.windowMs - this.waited),
    );
    this.timer.unref();
  }

  /** settle adds the wait so far to the window. */
  private settle(): void {
    if (this.since !== undefined) this.waited += Date.now() - this.since;
    this.since = undefined;
  }

  /** check closes the window; false (and onSlow) when it carried too few bytes. */
  private check(): boolean {
    if (this.bytes < this.threshold) {
      this.stop();
      const secs = Math.round(this.windowMs / 100) / 10;
      this.onSlow(
        Object.assign(
          new Error(
            `fewer than ${this.threshold} bytes in ${secs} s, below the minimum rate of ${this.minRate} bytes/s (IMGPIPE_MIN_RATE, IMGPIPE_RATE_WINDOW_MS)`,
          ),
          { code: 'ETIMEDOUT', hint: '' },
        ),
      );
      return false;
    }
    this.waited = 0;
    this.bytes = 0;
    return true;
  }
}
