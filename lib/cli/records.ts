import { toImgError } from '../errors.js';
import type { ImageRecord } from '../oci/record.js';
import { usage } from './run.js';
import type { RecordSink, StageIO } from './stage-io.js';

export type { RecordSink, StageIO } from './stage-io.js';

/**
 * records yields what a command works on: one record per argument (a bare reference), or, with no
 * arguments, the records of `io` (a malformed line of stdin is an error record of `stage`).
 */
export async function* records(args: string[], stage: string, io: StageIO): AsyncGenerator<ImageRecord> {
  if (args.length > 0) {
    for (const ref of args) yield { ref };
    return;
  }
  if (io.interactive) throw usage('give a reference as an argument, or records on stdin');
  yield* io.input(stage);
}

/** failedRecord reports a stage's failure on a record: one line on stderr, and the record with its `error` to pass on. */
export function failedRecord(command: string, rec: ImageRecord, err: unknown): ImageRecord {
  const e = toImgError(err);
  const message = e.message.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`${command}: ${message}\n`);
  return { ...rec, error: { code: e.code, message, stage: command } };
}

/**
 * processRecords is the loop of a record stage: each input record goes to `stage`, whose records
 * are written to `out`. A record that already carries an error is passed on untouched; a stage
 * failure turns the record into an error record (and one line on stderr). Returns the exit status:
 * 1 if any record made or passed an error.
 */
export async function processRecords(
  command: string,
  input: AsyncIterable<ImageRecord>,
  stage: (r: ImageRecord, emit: (r: ImageRecord) => Promise<void>) => Promise<void>,
  out: RecordSink,
): Promise<number> {
  const emit = (r: ImageRecord) => out.write(r);
  let failed = false;
  for await (const rec of input) {
    if (rec.error !== undefined) {
      failed = true;
      await emit(rec);
      continue;
    }
    try {
      await stage(rec, emit);
    } catch (err) {
      failed = true;
      await emit(failedRecord(command, rec, err));
    }
    if (out.closed) break;
  }
  return failed ? 1 : 0;
}

/**
 * processRecordsConcurrently is processRecords for stages that wait on I/O: up to `maxPending`
 * records are worked on at once and each is written as soon as it is done, except that an index
 * (a record whose digest is some earlier records' `parent`) is written only after its children, so
 * that the next stage can store children first. Returns the exit status as processRecords does.
 */
export async function processRecordsConcurrently(
  command: string,
  input: AsyncIterable<ImageRecord>,
  stage: (r: ImageRecord) => Promise<ImageRecord>,
  out: RecordSink,
  maxPending = 64,
): Promise<number> {
  let failed = false;
  const childrenOf = new Map<string, Promise<void>[]>();
  const pending = new Set<Promise<void>>();
  for await (const rec of input) {
    while (pending.size >= maxPending) await Promise.race(pending);
    const children = typeof rec.digest === 'string' ? (childrenOf.get(rec.digest) ?? []) : [];
    const work = (async () => {
      let result: ImageRecord = rec;
      if (rec.error !== undefined) failed = true;
      else {
        try {
          result = await stage(rec);
        } catch (err) {
          failed = true;
          result = failedRecord(command, rec, err);
        }
      }
      await Promise.all(children);
      await out.write(result);
    })();
    if (typeof rec.parent === 'string') {
      const list = childrenOf.get(rec.parent) ?? [];
      list.push(work);
      childrenOf.set(rec.parent, list);
    }
    pending.add(work);
    void work.finally(() => pending.delete(work));
    if (out.closed) break;
  }
  await Promise.all(pending);
  return failed ? 1 : 0;
}

/**
 * processRecordsInOrder is processRecords for a stage that waits on the network and turns each
 * record into a few: up to `concurrency` records are worked on at once, and their results are
 * written in input order (children before their index stay so). Errors and the exit status are
 * as processRecords has them.
 */
export async function processRecordsInOrder(
  command: string,
  input: AsyncIterable<ImageRecord>,
  stage: (r: ImageRecord) => Promise<ImageRecord[]>,
  out: RecordSink,
  concurrency = 8,
): Promise<number> {
  let failed = false;
  const queue: Promise<ImageRecord[]>[] = [];
  const settle = async (rec: ImageRecord): Promise<ImageRecord[]> => {
    if (rec.error !== undefined) {
      failed = true;
      return [rec];
    }
    try {
      return await stage(rec);
    } catch (err) {
      failed = true;
      return [failedRecord(command, rec, err)];
    }
  };
  const flush = async (): Promise<void> => {
    for (const r of await queue.shift()!) await out.write(r);
  };
  for await (const rec of input) {
    queue.push(settle(rec));
    while (queue.length >= concurrency) await flush();
    if (out.closed) break;
  }
  while (queue.length > 0 && !out.closed) await flush();
  return failed ? 1 : 0;
}
