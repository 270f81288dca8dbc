// Issue 15's bounds, unit by unit: the Go duration of --command-timeout, the nesting measure of
// JSON documents and records, the minimum rate, the cap of a blob of unknown size, and the record
// writer's one shared wait for 'drain'.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { goDurationError, parseDuration } from '../../lib/cli/deadline.js';
import { parseRetryDelay } from '../../lib/cli/registry-flags.js';
import { jsonDepth, MAX_DOCUMENT_DEPTH, MAX_RECORD_DEPTH, tooDeep } from '../../lib/oci/json-depth.js';
import { parseManifest } from '../../lib/oci/manifest.js';
import { readLines, RecordWriter } from '../../lib/stream/ndjson.js';
import { RateGuard } from '../../lib/stream/rate.js';
import { DigestingStream } from '../../lib/stream/verify.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('parseDuration (Go time.ParseDuration)', () => {
  it('reads what Go reads', () => {
    const cases: [string, number][] = [
      ['10s', 10_000],
      ['1m30s', 90_000],
      ['1.5h', 5_400_000],
      ['2h45m', 9_900_000],
      ['500ms', 500],
      ['250us', 0.25],
      ['250µs', 0.25],
      ['1000000ns', 1],
      ['.5s', 500],
      ['5.s', 5000],
      ['0', 0],
      ['+3s', 3000],
      ['-3s', -3000],
      ['1h0m0.5s', 3_600_500],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), text).toBeCloseTo(ms, 6);
  });

  it('refuses what Go refuses, as a usage error naming the flag', () => {
    for (const text of ['', '10', '1.5', 's', '.s', '10 s', '10sec', '1d', 'abc', '1m-3s', '3s ']) {
      expect(() => parseDuration(text), text).toThrowError(expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('--command-timeout') }));
    }
  });
});

describe("goDurationError: Go's words for what it refuses (pflag passes them on)", () => {
  it('says nothing of what Go reads, and gives its three reasons for the rest', () => {
    for (const text of ['10s', '1h0m0.5s', '.5s', '5.s', '0', '-3s']) expect(goDurationError(text), text).toBeUndefined();
    const cases: [string, string][] = [
      ['', 'time: invalid duration ""'],
      ['s', 'time: invalid duration "s"'],
      ['.s', 'time: invalid duration ".s"'],
      ['abc', 'time: invalid duration "abc"'],
      ['-', 'time: invalid duration "-"'],
      ['10', 'time: missing unit in duration "10"'],
      ['1.5', 'time: missing unit in duration "1.5"'],
      ['1s2', 'time: missing unit in duration "1s2"'],
      ['1.2.3s', 'time: missing unit in duration "1.2.3s"'],
      ['10sec', 'time: unknown unit "sec" in duration "10sec"'],
      ['1d', 'time: unknown unit "d" in duration "1d"'],
      ['10 s', 'time: unknown unit " s" in duration "10 s"'],
      ['1m-3s', 'time: unknown unit "m-" in duration "1m-3s"'],
      ['3s ', 'time: unknown unit "s " in duration "3s "'],
      ['1e3s', 'time: unknown unit "e" in duration "1e3s"'],
    ];
    for (const [text, why] of cases) expect(goDurationError(text), text).toBe(why);
  });
});

describe('parseRetryDelay (--retry-delay)', () => {
  it('reads a Go duration; refuses a negative one and one past what a timer can wait', () => {
    expect(parseRetryDelay('1m30s')).toBe(90_000);
    expect(parseRetryDelay('0')).toBe(0);
    expect(parseRetryDelay('596h31m23.647s')).toBe(2 ** 31 - 1);
    for (const [text, why] of [
      ['-1s', 'a duration of 0 or more'],
      ['596h31m23.648s', 'at most 2147483647ms'],
      ['5', 'a duration such as'],
    ]) {
      expect(() => parseRetryDelay(text!), text).toThrowError(
        expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(new RegExp(`^invalid --retry-delay "${text}": ${why}`)) }),
      );
    }
  });
});

describe('jsonDepth', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[[{{{{","b":"\\"[[["}')).toBe(1);
    expect(jsonDepth(Buffer.from('[[["\\\\"],[]]]'))).toBe(3);
    expect(jsonDepth('"just a string"')).toBe(0);
  });

  it('stops counting past the limit asked', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(jsonDepth(deep, 10)).toBe(11);
    expect(tooDeep(deep, MAX_RECORD_DEPTH)).toBe(true);
    expect(tooDeep('[[1]]', 2)).toBe(false);
  });

  it('a manifest nested past the limit is refused before it is parsed, naming it', () => {
    const deep = `{"schemaVersion":2,"x":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    expect(() => parseManifest(Buffer.from(deep), 'docker://r/deep:1')).toThrowError(
      expect.objectContaining({
        code: 'MANIFEST_INVALID',
        message: `manifest docker://r/deep:1 nests arrays and objects deeper than ${MAX_DOCUMENT_DEPTH} levels, the limit for a manifest`,
      }),
    );
  });

  it('a record line nested past the limit is an error entry naming the line, and reading goes on', async () => {
    const deep = `{"ref":"oci:x:y","x":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const out = [];
    for await (const l of readLines(Readable.from([Buffer.from(`${deep}\n{"ref":"oci:a:b"}\n`)]))) out.push(l);
    expect(out).toHaveLength(2);
    expect('error' in out[0]! && out[0].error.message).toBe(
      `stdin line 1 nests arrays and objects deeper than ${MAX_RECORD_DEPTH} levels, the limit for a record`,
    );
    expect(out[1]).toEqual({ lineNo: 2, record: { ref: 'oci:a:b' } });
  });
});

describe('RateGuard', () => {
  it('fails a transfer that moves too few bytes over a window of waiting, also in the middle of a wait', async () => {
    const errors: Error[] = [];
    const g = new RateGuard(1000, 200, (e) => errors.push(e)); // 200 bytes per 200 ms
    g.wait();
    await sleep(50);
    g.got(10);
    g.wait(); // and no more bytes: the timer fires at the end of the window
    await sleep(300);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^fewer than 200 bytes in 0\.2 s, below the minimum rate of 1000 bytes\/s/);
    expect((errors[0] as { code?: string }).code).toBe('ETIMEDOUT');
  });

  it('time the consumer holds the transfer does not count', async () => {
    const errors: Error[] = [];
    const g = new RateGuard(1000, 100, (e) => errors.push(e));
    for (let i = 0; i < 5; i++) {
      g.wait();
      await sleep(5);
      g.got(100); // fast on the wire
      await sleep(60); // a slow consumer: not waiting
    }
    g.stop();
    expect(errors).toEqual([]);
  });

  it('a rate of 0 checks nothing', async () => {
    const errors: Error[] = [];
    const g = new RateGuard(0, 50, (e) => errors.push(e));
    g.wait();
    await sleep(120);
    g.got(0);
    expect(errors).toEqual([]);
  });
});

describe('DigestingStream cap', () => {
  it('a stream of unknown size fails at the first byte over the cap, saying why', async () => {
    const d = new DigestingStream({}, 'blob X', undefined, { max: 10, why: 'no size was given' });
    const seen: Buffer[] = [];
    await expect(
      pipeline(
        Readable.from([Buffer.alloc(6), Buffer.alloc(6)]),
        d,
        new Writable({
          write(c, _e, cb) {
            seen.push(c);
            cb();
          },
        }),
      ),
    ).rejects.toMatchObject({ code: 'TOO_LARGE', message: 'blob X is over 10 bytes: no size was given' });
    expect(Buffer.concat(seen).length).toBeLessThanOrEqual(10);
  });
});

describe('RecordWriter', () => {
  it('writers waiting on a full pipe share one drain and one close listener (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let drains = 0;
    let closes = 0;
    const out: Writable = new Writable({
      highWaterMark: 16,
      write(_c, _e, cb) {
        drains = Math.max(drains, out.listenerCount('drain'));
        closes = Math.max(closes, out.listenerCount('close') - baseClose);
        setTimeout(cb, 1);
      },
    });
    const baseClose = out.listenerCount('close');
    const w = new RecordWriter(out);
    // 200 records at once, as processRecordsConcurrently writes them
    await Promise.all(Array.from({ length: 200 }, (_, i) => w.write({ ref: `oci:x:${i}`, pad: 'x'.repeat(64) })));
    await sleep(20);
    process.off('warning', onWarning);
    expect({ drains, closes }).toEqual({ drains: 1, closes: 1 });
    expect(out.listenerCount('drain')).toBe(0);
    expect(warnings.filter((x) => x.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
