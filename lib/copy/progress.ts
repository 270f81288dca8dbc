import type { BlobEvent } from './mover.js';

/** What the bars draw on: a terminal write stream (process.stderr on a TTY). */
export interface Terminal {
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean;
  columns?: number;
  rows?: number;
}

interface Bar {
  short: string;
  size: number;
  bytes: number;
  started: number;
}

/**
 * ProgressBars draws img-blob-put's per-blob progress on a terminal from the mover's events: one
 * live line per blob in flight (short digest, bar, bytes done / total, rate), redrawn in place at
 * most every `interval` ms and never more lines than the terminal has, and one final line per blob
 * done, skipped, mounted or failed, printed above the live lines. While started it wraps the write
 * of `term` (and of `alsoHook`, e.g. stdout on the same terminal) so that other output, such as an
 * error line, lands above the bars instead of inside them. stop restores them.
 */
export class ProgressBars {
  private readonly live = new Map<string, Bar>();
  private finals: string[] = [];
  private drawn = 0;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private readonly unhook: (() => void)[] = [];
  private readonly out: (s: string) => void;

  constructor(
    private readonly term: Terminal,
    private readonly opts: { interval?: number; alsoHook?: Terminal[]; now?: () => number } = {},
  ) {
    const write = term.write.bind(term);
    this.out = (s) => void write(s);
  }

  /** onEvent takes one mover event (bound, so it can be passed as MoverOptions.onEvent). */
  readonly onEvent = (e: BlobEvent): void => {
    const key = `${e.dest}|${e.digest}`;
    const short = e.digest.replace(/^[a-z0-9]+:/, '').slice(0, 12);
    const bar = this.live.get(key);
    switch (e.event) {
      case 'start':
        this.live.set(key, { short, size: e.size, bytes: 0, started: this.now() });
        break;
      case 'progress':
        if (bar) bar.bytes = e.bytes ?? bar.bytes;
        break;
      case 'done': {
        const secs = bar ? (this.now() - bar.started) / 1000 : 0;
        this.finish(key, `Copying blob ${short} done (${formatBytes(e.size)}${secs >= 0.5 ? `, ${formatBytes(e.size / secs)}/s` : ''})`);
        break;
      }
      case 'skip':
        this.finish(key, `Copying blob ${short} skipped: already exists`);
        break;
      case 'mount':
        this.finish(key, `Copying blob ${short} mounted${e.from ? ` from ${e.from}` : ''}`);
        break;
      case 'plan':
        this.finish(key, `Copying blob ${short} planned (${formatBytes(e.size)})`);
        break;
      case 'error':
        // A retried transfer starts again with a new 'start'; the full message of a final failure
        // is the record's error line, which the command prints itself.
        this.finish(key, /; retrying$/.test(e.message ?? '') ? `Copying blob ${short} failed, retrying` : `Copying blob ${short} failed`);
        break;
    }
    this.dirty = true;
    // With nothing left in flight, clear the bars now: the record that follows may be printed by
    // another process on this terminal (img-copy's stdout), below lines a later redraw would erase.
    if (this.live.size === 0 && this.drawn > 0) this.draw();
  };

  /** start hooks the writes and starts redrawing. */
  start(): this {
    for (const s of [this.term, ...(this.opts.alsoHook ?? [])]) {
      const orig = s.write;
      s.write = (...args: Parameters<Terminal['write']>) => {
        // Lines of blobs already finished go first: the error line of a failed blob follows its own.
        this.erase();
        if (this.finals.length > 0)
          this.out(
            this.finals
              .splice(0)
              .map((l) => `${l}\n`)
              .join(''),
          );
        this.dirty = true;
        return orig.apply(s, args);
      };
      this.unhook.push(() => (s.write = orig));
    }
    this.timer = setInterval(() => this.draw(), this.opts.interval ?? 100);
    this.timer.unref();
    return this;
  }

  /** stop draws what is left (final lines only) and restores the hooked writes. */
  stop(): void {
    clearInterval(this.timer);
    this.live.clear();
    this.dirty = true;
    this.draw();
    for (const u of this.unhook.splice(0)) u();
  }

  private finish(key: string, line: string): void {
    this.live.delete(key);
    this.finals.push(line);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** erase takes the live lines off the screen: the cursor sits at the start of the line below them. */
  private erase(): void {
    if (this.drawn > 0) this.out(`\r\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const cols = this.term.columns || 80;
    const rows = this.term.rows || 24;
    const bars = [...this.live.values()];
    // Leave a line for the cursor; with more blobs in flight than fit, say how many are hidden.
    const room = Math.max(1, rows - 1);
    const shown = bars.length > room ? bars.slice(0, room - 1) : bars;
    const lines = this.lines(shown, cols);
    if (shown.length < bars.length) lines.push(`… and ${bars.length - shown.length} more blobs in flight`.slice(0, cols - 1));
    const text = [...this.finals, ...lines].map((l) => `${l}\n`).join('');
    this.finals = [];
    const erase = this.drawn > 0 ? `\r\x1b[${this.drawn}A\x1b[J` : '';
    this.drawn = lines.length;
    if (erase || text) this.out(erase + text);
  }

  /** lines are the blobs in flight, bars aligned, each cut to the terminal's width so that it never wraps. */
  private lines(bars: Bar[], cols: number): string[] {
    const now = this.now();
    const tails = bars.map((b) => {
      const secs = (now - b.started) / 1000;
      const rate = secs >= 0.2 ? `${formatBytes(b.bytes / secs)}/s` : '';
      return ` ${formatBytes(b.bytes).padStart(formatBytes(b.size).length)} / ${formatBytes(b.size)}  ${rate.padStart(12)}`;
    });
    const tailWidth = Math.max(0, ...tails.map((t) => t.length));
    return bars.map((b, i) => {
      const head = `Copying blob ${b.short} `;
      const tail = tails[i]!.padEnd(tailWidth);
      const width = Math.min(40, cols - 1 - head.length - tailWidth - 2);
      if (width < 5) return (head + tail.trimStart()).trimEnd().slice(0, cols - 1);
      const filled = b.size > 0 ? Math.min(width, Math.floor((width * b.bytes) / b.size)) : 0;
      const bar = `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}]`;
      return (head + bar + tail).trimEnd();
    });
  }
}

/** formatBytes writes a byte count (or rate) with binary units: 512 B, 3.2 KiB, 8.0 MiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toFixed(1)} ${units[i]}`;
}
