// Issue 15, item 3: a blob is read to its size and no further. A registry of the test's own sends
// endless blob bodies (chunked, so nothing in HTTP ends them): img-blob-get without --size learns the
// size from a HEAD and fails at the first byte past it; with no size anywhere the body is capped and
// the message says so. And SIGTERM, SIGINT or SIGHUP in the middle of a write leaves no temp file,
// for img-blob-get -o and for a blob written into a dir: image.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endless, measure, startHostile, type Hostile } from '../helpers/hostile.js';
import { BIN, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-bounds-blob-');
const box = sandbox(work);
const DIGEST = `sha256:${'ef'.repeat(32)}`;
const T = ['--tls-verify=false'];
let sized: Hostile; // HEAD: Content-Length 1000 (or 10 GiB under /big/); GET: an endless chunked body
let sizeless: Hostile; // no size on HEAD either
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sized = await startHostile((req, res) => {
    if (req.url === '/v2/') return;
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': req.url!.startsWith('/v2/big/') ? String(10 * 1024 ** 3) : '1000' });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    endless(res, Buffer.alloc(64 * 1024, 0x61));
  });
  sizeless = await startHostile((req, res) => {
    if (req.url === '/v2/') return;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
    if (req.method === 'HEAD') return void res.end();
    endless(res, Buffer.alloc(64 * 1024, 0x62));
  });
});
afterAll(async () => {
  await sized?.stop();
  await sizeless?.stop();
});

const blobGet = (args: string[], env: NodeJS.ProcessEnv = {}) => measure(join(BIN, 'img-blob-get'), [...T, ...args], { ...box.env, ...env });

describe('an endless blob body', () => {
  it('is refused at its size + 1 byte: the size comes from a HEAD when --size is not given', async () => {
    const n = sized.seen.length;
    const r = await blobGet([`docker://${sized.host}/app@${DIGEST}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`img-blob-get: blob ${DIGEST}: more than the expected 1000 bytes`);
    expect(r.stdoutBytes.length).toBeLessThanOrEqual(1000);
    expect(sized.seen.slice(n).map((s) => s.method)).toEqual(['GET', 'HEAD']);
    // into a file: nothing is left, no temp file either
    const out = join(work, 'sized');
    mkdirSync(out);
    const o = await blobGet(['-o', join(out, 'blob'), `docker://${sized.host}/app@${DIGEST}`]);
    expect(o.status).toBe(1);
    expect(readdirSync(out)).toEqual([]);
  });

  it('with no size anywhere (no --size, no Content-Length, none on HEAD) is capped, and says so', async () => {
    const r = await blobGet([`docker://${sizeless.host}/app@${DIGEST}`], { IMGPIPE_UNKNOWN_SIZE_CAP: '100000' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `img-blob-get: blob ${DIGEST} is over 100000 bytes: ${sizeless.host} gave no size for it (no Content-Length, none on HEAD) and none was given (--size); the cap for a blob of unknown size is IMGPIPE_UNKNOWN_SIZE_CAP`,
    );
    expect(r.stdoutBytes.length).toBeLessThanOrEqual(100000);
    // --size is a size: the body is refused at it
    const given = await blobGet(['--size', '5000', `docker://${sizeless.host}/app@${DIGEST}`]);
    expect(given.stderr.trim()).toBe(`img-blob-get: blob ${DIGEST}: more than the expected 5000 bytes`);
  });
});

describe('a signal in the middle of a write leaves no temp file', () => {
  /** start runs a command, waits until a temp file of it shows in `dir`, sends `signal` and awaits its end. */
  async function interrupted(
    cmd: string,
    args: string[],
    dir: string,
    signal: NodeJS.Signals,
    feed?: Buffer,
  ): Promise<{ signal: string | null; during: string[] }> {
    const child = spawn(join(BIN, cmd), args, { env: { ...process.env, ...box.env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let feeding = feed !== undefined;
    if (feed) {
      const pump = () => {
        while (feeding && child.stdin.write(feed));
        if (feeding) child.stdin.once('drain', pump);
      };
      child.stdin.on('error', () => undefined);
      pump();
    } else child.stdin.end();
    const ended = new Promise<string | null>((r) => child.on('close', (_c, s) => r(s)));
    let during: string[] = [];
    for (let i = 0; i < 300 && during.length === 0; i++) {
      await sleep(50);
      during = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.imgpipe-tmp-')) : [];
    }
    await sleep(300); // well into the write
    child.kill(signal);
    const s = await ended;
    feeding = false;
    return { signal: s, during };
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`img-blob-get -o FILE, ${signal}`, async () => {
      const out = join(work, `o-${signal}`);
      mkdirSync(out);
      const r = await interrupted('img-blob-get', [...T, '-o', join(out, 'blob'), `docker://${sized.host}/big@${DIGEST}`], out, signal);
      expect(r.during).toHaveLength(1);
      expect(r.signal).toBe(signal);
      expect(readdirSync(out)).toEqual([]);
    });
  }

  it('a blob written into a dir: image, SIGTERM', async () => {
    const dir = join(work, 'dir-image');
    const r = await interrupted('img-blob-put', [`dir:${dir}`], dir, 'SIGTERM', Buffer.alloc(256 * 1024, 0x63));
    expect(r.during).toHaveLength(1);
    expect(r.signal).toBe('SIGTERM');
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.imgpipe-tmp-')) : []).toEqual([]);
  });
});
