import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { readLines, RecordWriter, type Line } from '../../lib/stream/ndjson.js';
import { spoolDigested } from '../../lib/stream/spool.js';
import { DigestingStream, readCapped } from '../../lib/stream/verify.js';
import { streamToOutput } from '../../lib/util/fs.js';

async function collect(chunks: (string | Buffer)[], maxLine?: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of readLines(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), 'stdin', maxLine)) out.push(l);
  return out;
}

/** simplify turns entries into comparable values: records as they are, errors as "CODE: message". */
const simplify = (ls: Line[]) => ls.map((l) => ('error' in l ? { lineNo: l.lineNo, error: `${l.error.code}: ${l.error.message}` } : l));

describe('readLines', () => {
  it('reads objects and bare references, skipping blank lines, numbering lines from 1', async () => {
    const lines = await collect(['{"ref":"docker://a","x":1}\n\n   \ndocker://busybox\n  dir:/tmp/x  \n{"ref":"oci:/l"}\n']);
    expect(lines).toEqual([
      { lineNo: 1, record: { ref: 'docker://a', x: 1 } },
      { lineNo: 4, record: { ref: 'docker://busybox' } },
      { lineNo: 5, record: { ref: 'dir:/tmp/x' } },
      { lineNo: 6, record: { ref: 'oci:/l' } },
    ]);
  });

  it('gives an error entry naming the line for malformed JSON and reads on', async () => {
    const lines = simplify(await collect(['docker://a\n{"ref": \n{"ref":"docker://b"}\n']));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({ lineNo: 1, record: { ref: 'docker://a' } });
    expect(lines[1]).toMatchObject({ lineNo: 2 });
    expect((lines[1] as { error: string }).error).toMatch(/^RECORD_INVALID: stdin line 2 is not valid JSON: /);
    expect(lines[2]).toEqual({ lineNo: 3, record: { ref: 'docker://b' } });
  });

  it('refuses a JSON array or string line as an error entry, not a reference', async () => {
    const lines = simplify(await collect(['["docker://a"]\n"docker://b"\ndocker://c\n']));
    expect(lines).toEqual([
      { lineNo: 1, error: 'RECORD_INVALID: stdin line 1 is JSON an array, not an object (a record)' },
      { lineNo: 2, error: 'RECORD_INVALID: stdin line 2 is JSON a string, not an object (a record)' },
      { lineNo: 3, record: { ref: 'docker://c' } },
    ]);
  });

  it('reads a last line without a newline', async () => {
    expect(await collect(['docker://a\n{"ref":"docker://b"}'])).toEqual([
      { lineNo: 1, record: { ref: 'docker://a' } },
      { lineNo: 2, record: { ref: 'docker://b' } },
    ]);
    expect(await collect(['docker://only'])).toEqual([{ lineNo: 1, record: { ref: 'docker://only' } }]);
    expect(await collect([])).toEqual([]);
  });

  it('handles CRLF line ends', async () => {
    expect(await collect(['{"ref":"docker://a"}\r\ndocker://b\r\n\r\n'])).toEqual([
      { lineNo: 1, record: { ref: 'docker://a' } },
      { lineNo: 2, record: { ref: 'docker://b' } },
    ]);
  });

  it('joins lines split across chunks, multi-byte characters included', async () => {
    const text = '{"ref":"docker://a","note":"é✓"}\ndocker://b\n';
    const bytes = Buffer.from(text);
    // one byte per chunk splits every UTF-8 sequence and every line
    const lines = await collect([...bytes].map((b) => Buffer.from([b])));
    expect(lines).toEqual([
      { lineNo: 1, record: { ref: 'docker://a', note: 'é✓' } },
      { lineNo: 2, record: { ref: 'docker://b' } },
    ]);
    // a chunk holding the end of one line and several others
    expect(await collect(['{"ref":"docker', '://a"}\ndocker://b\ndocker://c\ndock', 'er://d'])).toEqual([
      { lineNo: 1, record: { ref: 'docker://a' } },
      { lineNo: 2, record: { ref: 'docker://b' } },
      { lineNo: 3, record: { ref: 'docker://c' } },
      { lineNo: 4, record: { ref: 'docker://d' } },
    ]);
  });

  it('reads a stream in string mode', async () => {
    const out: Line[] = [];
    for await (const l of readLines(Readable.from(['docker://a\n10\n', 'docker://b']), 'stdin')) out.push(l);
    expect(out).toEqual([
      { lineNo: 1, record: { ref: 'docker://a' } },
      { lineNo: 2, record: { ref: '10' } },
      { lineNo: 3, record: { ref: 'docker://b' } },
    ]);
  });

  it('throws on a line over maxLine, naming the line', async () => {
    await expect(collect(['docker://a\n' + 'x'.repeat(20) + '\n'], 10)).rejects.toMatchObject({
      code: 'RECORD_INVALID',
      message: 'stdin line 2 is longer than 10 bytes',
    });
    // held across chunks without a newline
    await expect(collect(['xxxxxx', 'xxxxxx'], 10)).rejects.toMatchObject({ message: 'stdin line 1 is longer than 10 bytes' });
    // held, then ended by a newline
    await expect(collect(['xxxxxx', 'xxxxx\n'], 10)).rejects.toMatchObject({ message: 'stdin line 1 is longer than 10 bytes' });
    // exactly maxLine is fine
    expect(await collect(['xxxxxxxxxx\n'], 10)).toEqual([{ lineNo: 1, record: { ref: 'xxxxxxxxxx' } }]);
    expect(await collect(['xxxxx', 'xxxxx'], 10)).toEqual([{ lineNo: 1, record: { ref: 'xxxxxxxxxx' } }]);
  });

  it('yields entries before a later failure', async () => {
    const got: Line[] = [];
    await expect(
      (async () => {
        for await (const l of readLines(Readable.from([Buffer.from('docker://a\n' + 'y'.repeat(50))]), 'input.ndjson', 12)) got.push(l);
      })(),
    ).rejects.toThrow('input.ndjson line 2 is longer than 12 bytes');
    expect(got).toEqual([{ lineNo: 1, record: { ref: 'docker://a' } }]);
  });
});

describe('RecordWriter', () => {
  it('writes one JSON object per line', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const w = new RecordWriter(sink);
    await w.write({ ref: 'docker://a', n: 1 });
    await w.write({ s: 'line\nbreak' });
    sink.end();
    await new Promise((r) => sink.on('end', r));
    expect(Buffer.concat(chunks).toString()).toBe('{"ref":"docker://a","n":1}\n{"s":"line\\nbreak"}\n');
  });

  it('waits for drain when the pipe is full', async () => {
    const written: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        release = cb;
      },
    });
    const w = new RecordWriter(slow);
    let done = false;
    const p = w.write({ a: 'xxxxxxxx' }).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual(['{"a":"xxxxxxxx"}\n']);
    expect(done).toBe(false);
    release!();
    await p;
    expect(done).toBe(true);
  });

  it('stops quietly when the reader goes away (EPIPE)', async () => {
    const written: string[] = [];
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }));
      },
    });
    const w = new RecordWriter(sink);
    await w.write({ n: 1 }); // resolves on close
    await new Promise((r) => setImmediate(r));
    expect(w.closed).toBe(true);
    await w.write({ n: 2 });
    expect(written).toEqual(['{"n":1}\n']);
  });
});

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function runThrough(data: Buffer[], expected: { digest?: string; size?: number }, algorithm?: 'sha256' | 'sha512') {
  const s = new DigestingStream(expected, 'blob B', algorithm);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
  });
  let error: unknown;
  try {
    await pipeline(Readable.from(data), s, sink);
  } catch (e) {
    error = e;
  }
  return { s, out: Buffer.concat(out), error: error as ImgError | undefined };
}

describe('DigestingStream', () => {
  const data = [Buffer.from('hello '), Buffer.from('world')];
  const all = Buffer.concat(data);

  it('passes the bytes through and ends cleanly when digest and size match', async () => {
    const r = await runThrough(data, { digest: sha256(all), size: all.length });
    expect(r.error).toBeUndefined();
    expect(r.out.equals(all)).toBe(true);
    expect(r.s.digest).toBe(sha256(all));
    expect(r.s.size).toBe(11);
  });

  it('fails at EOF with DIGEST_MISMATCH on a wrong digest, after passing the bytes', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const r = await runThrough(data, { digest: wrong });
    expect(r.error).toBeInstanceOf(ImgError);
    expect(r.error!.code).toBe('DIGEST_MISMATCH');
    expect(r.error!.message).toBe(`blob B: content has digest ${sha256(all)}, expected ${wrong}`);
    expect(r.out.equals(all)).toBe(true);
  });

  it('fails with SIZE_MISMATCH as soon as the size is exceeded, passing no more bytes', async () => {
    const chunks = [Buffer.from('12345'), Buffer.from('67890'), Buffer.from('abc')];
    const r = await runThrough(chunks, { digest: sha256(Buffer.from('1234567')), size: 7 });
    expect(r.error!.code).toBe('SIZE_MISMATCH');
    expect(r.error!.message).toBe('blob B: more than the expected 7 bytes');
    expect(r.out.toString()).toBe('12345');
  });

  it('fails with SIZE_MISMATCH at EOF when short', async () => {
    const r = await runThrough(data, { digest: sha256(all), size: 12 });
    expect(r.error!.code).toBe('SIZE_MISMATCH');
    expect(r.error!.message).toBe('blob B: got 11 bytes, expected 12');
  });

  it('computes digest and size when none is expected', async () => {
    const r = await runThrough(data, {});
    expect(r.error).toBeUndefined();
    expect(r.s.digest).toBe(sha256(all));
    expect(r.s.size).toBe(11);
    const empty = await runThrough([], {});
    expect(empty.s.digest).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(empty.s.size).toBe(0);
  });

  it('uses sha512 when the expected digest is sha512, or when asked', async () => {
    const want = `sha512:${createHash('sha512').update(all).digest('hex')}`;
    const r = await runThrough(data, { digest: want, size: 11 });
    expect(r.error).toBeUndefined();
    expect(r.s.digest).toBe(want);
    const bad = await runThrough([Buffer.from('x')], { digest: want });
    expect(bad.error!.code).toBe('DIGEST_MISMATCH');
    expect(bad.error!.message).toContain(`expected ${want}`);
    const asked = await runThrough(data, {}, 'sha512');
    expect(asked.s.digest).toBe(want);
  });

  it('keeps a failure that comes before anyone reads for the reader, never uncaught, and streamToOutput leaves no file', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const early = () => Readable.from(data).pipe(new DigestingStream({ digest: wrong }, 'blob B'));
    const first = early();
    await new Promise((r) => setTimeout(r, 20));
    expect((first.errored as ImgError | null)?.code).toBe('DIGEST_MISMATCH');
    const read = await (async () => {
      for await (const _ of first);
    })().catch((e: unknown) => e);
    expect((read as ImgError).code).toBe('DIGEST_MISMATCH');
    // img-blob-get -o: the blob is opened, then the output, and the check may fail in between.
    const dir = mkdtempSync(join(tmpdir(), 'imgpipe-early-'));
    const second = early();
    await new Promise((r) => setTimeout(r, 20));
    const written = await streamToOutput(second, join(dir, 'out')).catch((e: unknown) => e);
    expect((written as ImgError).code).toBe('DIGEST_MISMATCH');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an invalid expected digest at construction', () => {
    expect(() => new DigestingStream({ digest: 'sha256:abc' }, 'blob B')).toThrow(/invalid digest of blob B "sha256:abc"/);
    try {
      new DigestingStream({ digest: 'md5:' + 'a'.repeat(32) }, 'blob B');
    } catch (e) {
      expect((e as ImgError).code).toBe('DIGEST_INVALID');
    }
  });
});

describe('readCapped', () => {
  it('reads a whole stream up to the cap', async () => {
    expect((await readCapped(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4, 'body')).toString()).toBe('abcd');
    expect((await readCapped(Readable.from([]), 0, 'body')).length).toBe(0);
  });
  it('refuses more than the cap with TOO_LARGE', async () => {
    await expect(readCapped(Readable.from([Buffer.from('ab'), Buffer.from('cde')]), 4, 'manifest M')).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: 'manifest M is over the 4-byte limit',
    });
  });
});

describe('spoolDigested (--dest-precompute-digests)', () => {
  const collectAll = async (r: Readable) => {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  it('digests what it spools, reads it back as often as asked from an unlinked temp file, and leaves no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgpipe-spool-'));
    const data = Buffer.alloc(300_000, 7);
    const s = await spoolDigested(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), 'a blob', dir);
    expect([s.digest, s.size]).toEqual([`sha256:${createHash('sha256').update(data).digest('hex')}`, data.length]);
    expect(readdirSync(dir)).toEqual([]);
    expect((await collectAll(s.read())).equals(data)).toBe(true);
    expect((await collectAll(s.read())).equals(data)).toBe(true);
    await s.close();
    await s.close();
  });
  it("fails with its input's error (a digest check), and leaves no file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgpipe-spool-'));
    const checked = Readable.from([Buffer.from('not what was expected')]).pipe(new DigestingStream({ digest: `sha256:${'0'.repeat(64)}` }, 'layer x'));
    const e = await spoolDigested(checked, 'layer x compressed', dir).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ImgError);
    expect((e as ImgError).code).toBe('DIGEST_MISMATCH');
    expect(readdirSync(dir)).toEqual([]);
  });
});
