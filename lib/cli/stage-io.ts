import type { ImageRecord } from '../oci/record.js';
import { readLines, RecordWriter } from '../stream/ndjson.js';

/** One stage of a pipeline: an img-* command and its arguments. */
export interface Stage {
  command: string;
  args: string[];
}

/** RecordSink is where a stage writes records: NDJSON on stdout (RecordWriter), or the next stage of an in-process pipeline. Once its reader is gone, `closed` is true and writes are dropped. */
export interface RecordSink {
  write(record: object): Promise<void>;
  readonly closed: boolean;
}

/**
 * StageIO is what a command's work reads and writes: records in, records out. A command run from a
 * shell gets stdio(); img-copy and img-sync give each stage the records of the stage before it.
 */
export interface StageIO {
  /** input gives the records a command reads when it is given no references; a malformed line of stdin is an error record of `stage`. */
  input(stage: string): AsyncIterable<ImageRecord>;
  /** interactive: no records can come (stdin is a terminal). */
  interactive: boolean;
  out: RecordSink;
}

/**
 * stdio is the StageIO of a command run on its own: records from stdin, NDJSON to stdout. The
 * record writer is made on first use, so that a command writing raw bytes to stdout never has one.
 */
export function stdio(): StageIO {
  let out: RecordWriter | undefined;
  return {
    input: async function* (stage: string) {
      for await (const line of readLines(process.stdin, 'stdin')) {
        if ('error' in line) yield { error: { code: line.error.code, message: line.error.message, stage } };
        else yield line.record as ImageRecord;
      }
    },
    // Asked only when needed: touching process.stdin makes its stream (and loads fs streams for a file).
    get interactive() {
      return process.stdin.isTTY === true;
    },
    get out() {
      out ??= new RecordWriter(process.stdout);
      return out;
    },
  };
}
