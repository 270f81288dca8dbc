// Host-wide back-off (issue 16): a 429 or 503 with Retry-After on one request holds every request
// of the process to that host until the time asked for, not only the one that got it.
//
// img-blob-put copies the 28 blobs of 24 images (4 repositories × 6 tags) from a real registry
// behind a fault proxy, many at a time. The first blob GET gets, after 1 s, a 429 (or 503) with
// Retry-After: 2; every other blob GET is held 1.5 s and then served, so when the first ones are
// answered (about 0.5 s after the 429) the mover wants to send the rest at once. None may reach the
// host before the 429 was answered + 2 s. Nothing at all is answered before the 429, so no request
// was on its way when the client read it: what arrives after the 429 went out was sent after it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { img as imgRaw, records, tempDir } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';
import { seedRegistry } from '../helpers/seed.js';

const work = tempDir('imgpipe-backoff-');
const env = isolatedEnv(work, { TMPDIR: join(work, 'tmp'), IMGPIPE_RETRY_DELAY_MS: '10' });
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, env);
const REPOS = ['bo/a', 'bo/b', 'bo/c', 'bo/d'];
const TAGS = ['t1', 't2', 't3', 't4', 't5', 't6'];
const BLOB_GET = /\/blobs\/sha256:/;

let reg: Registry;
let px: FaultProxy;
let got: Record<string, any>[] = [];
/** input is the records, read through the proxy, to a layout of their own. */
const input = (layout: string) =>
  got.map((r) => JSON.stringify({ ...r, ref: r.ref.replace(reg.host, px.host), dest: `oci:${layout}:${r.ref.split('/').pop()}` })).join('\n');

beforeAll(async () => {
  for (const d of ['home', 'run', 'config', 'docker', 'tmp']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}\n');
  reg = await startRegistry();
  px = await startFaultProxy(reg.host);
  seedRegistry(reg.storage, REPOS, TAGS);
  // The records are read from the registry itself; img-blob-put reads the blobs through the proxy.
  const refs = REPOS.flatMap((r) => TAGS.map((t) => `docker://${reg.host}/${r}:${t}`));
  const r = await img('img-manifest', ['get', '--tls-verify=false', ...refs]);
  expect(r.status, r.stderr).toBe(0);
  got = records(r.stdout);
}, 60_000);

afterAll(async () => {
  await px?.stop();
  await reg?.stop();
});

describe('a Retry-After pauses the whole host', () => {
  for (const status of [429, 503]) {
    it(`${status}: no request reaches the host before the time it asked for`, async () => {
      px.seen.length = 0;
      px.setFaults([
        { method: 'GET', path: BLOB_GET, stallMs: 1000, status, retryAfter: 2 },
        { method: 'GET', path: BLOB_GET, stallMs: 1500, times: Infinity },
      ]);
      const r = await img('img-blob-put', ['--src-tls-verify=false', '--jobs', '6'], input(join(work, `layout-${status}`)));
      expect(r.status, r.stderr).toBe(0);
      expect(records(r.stdout)).toHaveLength(REPOS.length * TAGS.length);
      expect(px.seen.filter((s) => s.fault?.includes(`status ${status}`))).toHaveLength(1);

      const paused = px.seen.find((s) => s.fault?.includes(`status ${status}`))!;
      const answered = paused.at + 1000;
      const after = px.seen.filter((s) => s.at > answered);
      // the retry, and blobs the mover sent as the first answers came in (else it would have sent them then)
      expect(after.filter((s) => BLOB_GET.test(s.url)).length).toBeGreaterThanOrEqual(5);
      for (const s of after) expect(s.at, `${s.method} ${s.url}`).toBeGreaterThanOrEqual(answered + 2000 - 5);
    }, 60_000);
  }
});
