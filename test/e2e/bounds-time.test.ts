// Issue 15, item 1: slow servers end. Hostile registries of the test's own (plain http, 127.0.0.1)
// trickle one byte every 5 s: into the status line and headers, into a manifest body, into a token
// answer, into a blob, or take an upload's bytes not at all. Each command fails within the bound
// docs/protocol.md documents ("Time bounds"), set small here by its variables; and
// --command-timeout 10s ends every command within 10 s plus a second, stages of img-copy included.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure, startHostile, trickle, trickleRaw, type Hostile } from '../helpers/hostile.js';
import { BIN, records, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-bounds-time-');
const box = sandbox(work);
const ENV = { ...box.env, IMGPIPE_RETRY_DELAY_MS: '10' };
const T = ['--tls-verify=false'];
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: DIGEST, size: 2 },
  layers: [],
});
/** every request but /v2/ gets an answer one byte every 5 s, its status line first */
const SLOW_ANSWER = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;
const servers: Hostile[] = [];
let hang: Hostile; // trickles every answer, /v2/ included
let slowBody: Hostile; // headers at once, then the manifest one byte every 5 s
let slowToken: Hostile; // a Bearer challenge whose token server trickles
let slowBlob: Hostile; // blob bodies one byte every 5 s
let deaf: Hostile; // takes no byte of an upload
const img = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input: string | Buffer = '') => measure(join(BIN, cmd), args, { ...ENV, ...env }, input);
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  const started = async (h: Promise<Hostile>) => {
    const x = await h;
    servers.push(x);
    return x;
  };
  hang = await started(
    startHostile((_req, res) => {
      trickleRaw(res, SLOW_ANSWER, 5000);
      return true;
    }),
  );
  slowBody = await started(
    startHostile((req, res) => {
      if (req.url === '/v2/') return;
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(MANIFEST.length) });
      trickle(res, MANIFEST, 5000);
    }),
  );
  slowToken = await started(
    startHostile((req, res) => {
      if (req.url!.startsWith('/token')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        trickle(res, '{"token":"t"}', 5000);
        return;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${slowToken.url}/token",service="slow"`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}');
    }),
  );
  slowBlob = await started(
    startHostile((req, res) => {
      if (req.url === '/v2/') return;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
      if (req.method === 'HEAD') return void res.end();
      trickle(res, Buffer.alloc(1000, 1), 5000);
    }),
  );
  deaf = await started(
    startHostile((req, res) => {
      if (req.url === '/v2/') return;
      if (req.method === 'POST') {
        res.writeHead(202, { location: '/v2/x/blobs/uploads/u1', 'content-length': '0' });
        return void res.end();
      }
      if (req.method === 'HEAD') {
        res.writeHead(404, { 'content-length': '0' });
        return void res.end();
      }
      req.pause(); // a PATCH: never read
    }),
  );
  mkdirSync(join(work, 'out'), { recursive: true });
  writeFileSync(join(work, 'pass'), 'pw\n');
  execFileSync(join(BIN, 'img-sign'), ['keygen', '--output-prefix', join(work, 'k'), '--passphrase-file', join(work, 'pass')], {
    env: { ...process.env, ...ENV },
  });
});

afterAll(async () => {
  for (const s of servers) await s.stop();
});

/** failedWithin: exit 1, one line on stderr matching `re`, in less than `ms` */
function failedWithin(r: { status: number; stderr: string; stdout: string; ms: number }, ms: number, re: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(re);
  for (const rec of records(r.stdout)) expect(rec.error?.message).toMatch(re);
  expect(r.ms, r.stderr).toBeLessThan(ms);
}

describe('a registry that trickles one byte every 5 s fails the command within the documented bound', () => {
  // The bounds, small: an answer has 3 s, a request with its retries 8 s, a blob moves 1000 bytes/s over 3 s.
  const SMALL = { IMGPIPE_REQUEST_TIMEOUT_MS: '3000', IMGPIPE_RETRY_BUDGET_MS: '8000', IMGPIPE_MIN_RATE: '1000', IMGPIPE_RATE_WINDOW_MS: '3000' };

  it('headers: each attempt ends at IMGPIPE_REQUEST_TIMEOUT_MS, the retries at IMGPIPE_RETRY_BUDGET_MS', async () => {
    const n = hang.seen.length;
    const r = await img('img-manifest', ['get', ...T, `docker://${hang.host}/x:1`], SMALL);
    failedWithin(r, 8000 + 2000, new RegExp(`timed out talking to ${hang.host}: .*retry budget.*IMGPIPE_RETRY_BUDGET_MS`));
    expect(r.ms).toBeGreaterThanOrEqual(7500);
    // three attempts of 3 s fit in 8 s (the last cut to what is left), not the four --retry-times allows
    expect(hang.seen.slice(n).filter((s) => s.url === '/v2/x/manifests/1')).toHaveLength(3);
  });

  it('a small body (a manifest) must be whole within IMGPIPE_REQUEST_TIMEOUT_MS', async () => {
    const r = await img('img-manifest', ['get', ...T, `docker://${slowBody.host}/x:1`], SMALL);
    failedWithin(r, 3000 + 2000, new RegExp(`timed out talking to ${slowBody.host}: no complete answer within 3000 ms \\(IMGPIPE_REQUEST_TIMEOUT_MS\\)`));
  });

  it('a token server that trickles is timed out too, and named', async () => {
    const r = await img('img-manifest', ['get', ...T, '--retry-times', '0', `docker://${slowToken.host}/x:1`], SMALL);
    failedWithin(r, 3000 + 2000, /timed out talking to .*no complete answer within 3000 ms/);
  });

  it('a blob must move at IMGPIPE_MIN_RATE over IMGPIPE_RATE_WINDOW_MS', async () => {
    const r = await img('img-blob-get', [...T, '--retry-times', '0', `docker://${slowBlob.host}/x@${DIGEST}`], SMALL);
    failedWithin(r, 3000 + 2000, new RegExp(`timed out talking to ${slowBlob.host}: fewer than 3000 bytes in 3 s, below the minimum rate of 1000 bytes/s`));
    // each resume is one more window: --retry-times 1 ends within two
    const again = await img('img-blob-get', [...T, '--retry-times', '1', `docker://${slowBlob.host}/x@${DIGEST}`], SMALL);
    expect(again.status).toBe(1);
    expect(again.ms).toBeLessThan(2 * 3000 + 2000);
  });

  it('an upload the registry does not take fails at the minimum rate too, within two windows of its stop', async () => {
    const data = Buffer.alloc(16 * 1024 * 1024, 7); // more than the socket buffers hold
    // the bytes that went before the stop count in the window it falls into: two windows at most
    const r = await img('img-blob-put', [...T, '--retry-times', '0', `docker://${deaf.host}/x`], { ...SMALL, IMGPIPE_RATE_WINDOW_MS: '2000' }, data);
    failedWithin(r, 2 * 2000 + 5000, new RegExp(`timed out talking to ${deaf.host}: fewer than 2000 bytes in 2 s`));
  });

  it('with the defaults the bounds are documented, and a bad value is a usage error', async () => {
    const doc = readFileSync(join(__dirname, '../../docs/protocol.md'), 'utf8');
    for (const v of [
      'IMGPIPE_TIMEOUT_MS',
      'IMGPIPE_REQUEST_TIMEOUT_MS',
      'IMGPIPE_RETRY_BUDGET_MS',
      'IMGPIPE_MIN_RATE',
      'IMGPIPE_RATE_WINDOW_MS',
      'IMGPIPE_UNKNOWN_SIZE_CAP',
    ])
      expect(doc).toContain(v);
    const r = await img('img-manifest', ['get', ...T, `docker://${hang.host}/x:1`], { IMGPIPE_RETRY_BUDGET_MS: 'later' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/invalid IMGPIPE_RETRY_BUDGET_MS "later"/);
  });
});

describe('--command-timeout 10s ends any command within 10 s plus a second', () => {
  /** the processes whose command line names `marker` (img-copy's stages name the registry) */
  const alive = (marker: string) =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });

  it('every command, each against something that never finishes', async () => {
    const fifo = join(work, 'authfile.fifo');
    execFileSync('mkfifo', [fifo]);
    const R = `docker://${hang.host}`;
    const CT = ['--command-timeout', '10s'];
    const runs: [string, string[], string?][] = [
      ['img-tags', [`${R}/tags-x`, ...T, ...CT]],
      ['img-manifest', ['get', `${R}/manifest-x:1`, ...T, ...CT]],
      ['img-blob-get', [`${R}/blob-x@${DIGEST}`, ...T, ...CT]],
      ['img-blob-put', [`${R}/put-x`, ...T, ...CT], 'some bytes'],
      ['img-copy', [`${R}/copy-x:1`, `dir:${join(work, 'out', 'copy')}`, ...T, ...CT]],
      ['img-sync', ['--src', 'docker', '--dest', 'dir', `${R}/sync-x`, join(work, 'out', 'sync'), ...T, ...CT]],
      ['img-login', [hang.host, '-u', 'u', '-p', 'p', ...T, ...CT]],
      [
        'img-sign',
        ['copy', ...T, ...CT],
        `${JSON.stringify({ ref: `${R}/sign-x:1`, dest: `dir:${join(work, 'out', 'sign')}`, digest: `sha256:${'cd'.repeat(32)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', raw: MANIFEST })}\n`,
      ],
      ['img-sign', ['verify', '--sigstore-public-key', join(work, 'k.pub'), `${R}/verify-x:1`, ...T, ...CT]],
      ['img-logout', ['--authfile', fifo, hang.host, ...CT]],
    ];
    const results = await Promise.all(runs.map(([cmd, args, input]) => img(cmd, args, {}, input)));
    // stdin held open: img-ref and img-digest wait for input that does not come
    const { spawn } = await import('node:child_process');
    const held = await Promise.all(
      (['img-ref', 'img-digest'] as const).map(
        (cmd) =>
          new Promise<{ cmd: string; status: number; stderr: string; ms: number }>((resolve) => {
            const t0 = Date.now();
            const c = spawn(join(BIN, cmd), [...(cmd === 'img-ref' ? ['--to', 'dir:/tmp/x'] : []), ...CT], {
              env: { ...process.env, ...ENV },
              stdio: ['pipe', 'ignore', 'pipe'],
            });
            let stderr = '';
            c.stderr.on('data', (b) => (stderr += b));
            c.on('close', (code) => {
              c.stdin.destroy();
              resolve({ cmd, status: code ?? 128, stderr, ms: Date.now() - t0 });
            });
          }),
      ),
    );
    for (const [i, r] of results.entries()) {
      const [cmd] = runs[i]!;
      const last = lines(r.stderr).pop() ?? '';
      expect(last, `${cmd}: ${r.stderr}`).toBe(`${cmd}: timed out: the command did not finish within --command-timeout 10s`);
      // img-logout is stuck opening the FIFO, a system call node's exit waits for: it is killed half a second later
      expect(cmd === 'img-logout' ? [1, 128] : [1], `${cmd}: ${r.stderr}`).toContain(r.status);
      expect(r.ms, cmd).toBeLessThan(11_000);
      expect(r.ms, cmd).toBeGreaterThanOrEqual(9_500);
    }
    for (const r of held) {
      expect(r.stderr.trim(), r.cmd).toBe(`${r.cmd}: timed out: the command did not finish within --command-timeout 10s`);
      expect(r.status, r.cmd).toBe(1);
      expect(r.ms, r.cmd).toBeLessThan(11_000);
    }
    // img-copy's and img-sync's stages ended with them (they got the time left, and were stopped)
    await new Promise((r) => setTimeout(r, 1000));
    expect(alive(`${hang.host}/copy-x`)).toEqual([]);
    expect(alive(`${hang.host}/sync-x`)).toEqual([]);
  }, 60_000);

  it('img-copy gives its stages what is left of it; --explain shows the bound on each stage; a bad duration is a usage error', async () => {
    const r = await img('img-copy', ['--explain', '--command-timeout', '1m30s', `docker://${hang.host}/x:1`, `dir:${join(work, 'out', 'e')}`, ...T]);
    expect(r.status, r.stderr).toBe(0);
    const stages = r.stderr.split('|');
    expect(stages.length).toBeGreaterThanOrEqual(4);
    for (const s of stages) expect(s).toContain('--command-timeout=1m30s');
    const bad = await img('img-manifest', ['get', '--command-timeout', '10', `docker://${hang.host}/x:1`, ...T]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/invalid --command-timeout "10": a duration such as 90s, 1m30s or 500ms/);
    // 0 is no bound, as in skopeo
    const none = await img('img-ref', ['--command-timeout', '0', 'oci:/l:x']);
    expect(none.status, none.stderr).toBe(0);
  });
});
