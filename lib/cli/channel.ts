import type { ImageRecord } from '../oci/record.js';
import type { RecordSink } from './stage-io.js';

/**
 * RecordChannel carries records from one stage of an in-process pipeline to the next, as a pipe
 * would: each record is written as its JSON text (what the reader gets is what the writer wrote,
 * whatever the writer does to its object afterwards) and read back as a fresh object. A writer waits
 * while more than `limit` records wait to be read (back-pressure: a slow stage stops the one before
 * it). Once the reader is gone (cancel, or a reader that stops iterating), `closed` is true and
 * writes are dropped, as EPIPE ends a RecordWriter.
 */
export class RecordChannel implements RecordSink, AsyncIterable<ImageRecord> {
  private readonly queue: string[] = [];
  private ended = false;
  private cancelled = false;
  private wakeReader?: () => void;
  private wakeWriters: (() => void)[] = [];

  constructor(private readonly limit = 16) {}

  get closed(): boolean {
    return this.cancelled;
  }

  async write(record: object): Promise<void> {
    if (this.cancelled) return;
    this.queue.push(JSON.stringify(record));
    this.notifyReader();
    while (this.queue.length > this.limit && !this.cancelled) await new Promise<void>((resolve) => this.wakeWriters.push(resolve));
  }

  /** end is the writer's end of input: the reader gets what is queued, then stops. */
  end(): void {
    this.ended = true;
    this.notifyReader();
  }

  /** cancel is the reader going away: what is queued is dropped, waiting writers and readers go on. */
  cancel(): void {
    this.cancelled = true;
    this.queue.length = 0;
    this.notifyWriters();
    this.notifyReader();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ImageRecord> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next !== undefined) {
          if (this.queue.length <= this.limit) this.notifyWriters();
          yield JSON.parse(next) as ImageRecord;
          continue;
        }
        if (this.ended || this.cancelled) return;
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
      }
    } finally {
      this.cancel();
    }
  }

  private notifyReader(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  private notifyWriters(): void {
    const waiting = this.wakeWriters;
    this.wakeWriters = [];
    for (const w of waiting) w();
  }
}
