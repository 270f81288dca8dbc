import type { Readable, Writable } from 'node:stream';
import { ImgError } from '../errors.js';
import { MAX_RECORD_DEPTH, tooDeep } from '../oci/json-depth.js';

/** The longest stdin line accepted: two copies of a 4 MiB manifest (raw and parsed), escaped, and room. */
export const MAX_LINE = 32 * 1024 * 1024;

export type Line = { lineNo: number; record: Record<string, unknown> } | { lineNo: number; error: ImgError };

/**
 * readLines yields one entry per non-empty line of input: a JSON object as it is, any other line
 * as a bare reference `{ref: line}`. A malformed line, or a JSON value that is not an object,
 * yields an error entry (naming the line) and reading goes on; a line over `maxLine` bytes ends the
 * reading with an error.
 */
export async function* readLines(input: Readable, what = 'stdin', maxLine = MAX_LINE): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let held = 0;
  let lineNo = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    // A stream in string mode (setEncoding, Readable.from(strings)) yields strings, whose
    // indexOf(10) would look for the text "10": work on bytes whatever comes.
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl === -1) {
        held += buf.length;
        if (held > maxLine) throw new ImgError('RECORD_INVALID', `${what} line ${lineNo + 1} is longer than ${maxLine} bytes`);
        parts.push(buf);
        break;
      }
      if (held + nl > maxLine) throw new ImgError('RECORD_INVALID', `${what} line ${lineNo + 1} is longer than ${maxLine} bytes`);
      parts.push(buf.subarray(0, nl));
      lineNo++;
      const entry = parseLine(Buffer.concat(parts).toString('utf8'), lineNo, what);
      if (entry) yield entry;
      parts = [];
      held = 0;
      buf = buf.subarray(nl + 1);
    }
  }
  if (held > 0) {
    const entry = parseLine(Buffer.concat(parts).toString('utf8'), lineNo + 1, what);
    if (entry) yield entry;
  }
}

/**
 * parseLine reads one line. A line opening with "{", "[" or '"' is JSON (no reference starts so:
 * transports are letters): an object is a record, a malformed line or any other JSON value (an
 * array, a string) is an error entry. Any other line is a bare reference.
 */
function parseLine(text: string, lineNo: number, what: string): Line | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  if (!/^[{["]/.test(line)) return { lineNo, record: { ref: line } };
  if (tooDeep(line, MAX_RECORD_DEPTH))
    return {
      lineNo,
      error: new ImgError('RECORD_INVALID', `${what} line ${lineNo} nests arrays and objects deeper than ${MAX_RECORD_DEPTH} levels, the limit for a record`),
    };
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { lineNo, error: new ImgError('RECORD_INVALID', `${what} line ${lineNo} is not valid JSON: ${(e as Error).message}`) };
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return { lineNo, record: v as Record<string, unknown> };
  const kind = Array.isArray(v) ? 'an array' : `a ${typeof v}`;
  return { lineNo, error: new ImgError('RECORD_INVALID', `${what} line ${lineNo} is JSON ${kind}, not an object (a record)`) };
}

/**
 * RecordWriter writes one JSON object per line and waits for the pipe to drain. A reader that
 * went away (EPIPE: `| head`) ends writing quietly: `closed` turns true and writes are dropped.
 */
export class RecordWriter {
  closed = false;
  /** The one wait for 'drain' that every write made meanwhile shares (one listener each for drain and close, however many writers wait). */
  private draining?: Promise<void>;
  constructor(private readonly out: Writable) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  async write(record: object): Promise<void> {
    if (this.closed) return;
    if (!this.out.write(`${JSON.stringify(record)}\n`)) await this.drained();
  }

  private drained(): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.draining = undefined;
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
    return this.draining;
  }
}
