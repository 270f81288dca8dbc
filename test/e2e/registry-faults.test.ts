// Registry faults end to end: the fault proxy sits in front of a real plain-http registry and the
// img-* commands run as real processes (--tls-verify=false, IMGPIPE_RETRY_DELAY_MS=10). What the
// proxy received is checked, not just the exit code.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../helpers/faultproxy.js';
import { umociImage } from '../helpers/images.js';
import { certDir, makePki, type Pki } from '../helpers/pki.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, img, records, sh, tempDir, type Result } from '../helpers/run.js';
import { startTokenServer, type TokenServer } from '../helpers/tokenserver.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const ok = have('docker-registry') && have('umoci') && have('openssl') && have('htpasswd') && have('jq');
const work = tempDir('imgpipe-faults-');
const L = join(work, 'layout');
const USER = 'bob';
const PASS = 'pw-faults-Hq2-77x';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const BLOB = randomBytes(300_000);
const BLOB_DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;
const env: NodeJS.ProcessEnv = isolatedEnv(work, { IMGPIPE_RETRY_DELAY_MS: '10' });
const outputs: string[] = [];
const cleanup: Array<() => Promise<void>> = [];
let pki: Pki;
let reg: Registry;
let proxy: FaultProxy;
/** arrival time of each request the proxy saw, by index in proxy.seen */
const arrivals = new Map<SeenRequest, number>();

async function started<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const x = await p;
  cleanup.push(() => x.stop());
  return x;
}
/** timed records when each request reached a proxy (the helper keeps no times) */
function timed(p: FaultProxy): FaultProxy {
  const push = p.seen.push.bind(p.seen);
  p.seen.push = (...items: SeenRequest[]) => {
    for (const i of items) arrivals.set(i, Date.now());
    return push(...items);
  };
  return p;
}
async function run(cmd: string, args: string[], input?: string | Buffer, extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  const r = await img(cmd, args, input, { ...env, ...extra });
  outputs.push(r.stdout, r.stderr);
  return r;
}
function expectOneLine(r: Result, re: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  for (const rec of records(r.stdout)) expect(rec.error?.message).toMatch(re);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(re);
}
const since = (p: FaultProxy, n: number, re: RegExp) => p.seen.slice(n).filter((s) => re.test(s.url));
const T = ['--tls-verify=false'];

beforeAll(async () => {
  if (!ok) return;
  mkdirSync(env.HOME!, { recursive: true });
  await umociImage(work, L, 'base');
  pki = makePki(join(work, 'pki'));
  reg = await started(startRegistry());
  proxy = timed(await started(startFaultProxy(reg.host)));
  const p = await sh(
    `img-manifest get oci:'${L}':base | jq -c '.dest="docker://${reg.host}/team/app:1"' | img-blob-put --tls-verify=false | img-manifest put --tls-verify=false`,
    env,
  );
  if (p.status !== 0) throw new Error(`push failed: ${p.stderr}`);
  const b = await run('img-blob-put', [...T, `docker://${reg.host}/team/app`], BLOB);
  if (b.status !== 0 || records(b.stdout)[0]!.digest !== BLOB_DIGEST) throw new Error(`blob push failed: ${b.stderr}`);
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe.skipIf(!ok)('registry faults', () => {
  const manifestRef = () => `docker://${proxy.host}/team/app:1`;
  const blobRef = () => `docker://${proxy.host}/team/app@${BLOB_DIGEST}`;

  it('429 with Retry-After in seconds on the manifest GET: retried after the delay', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/1$/, status: 429, retryAfter: 1 }]);
    const n = proxy.seen.length;
    const r = await run('img-manifest', ['get', ...T, manifestRef()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const gets = since(proxy, n, /\/manifests\/1$/);
    expect(gets.map((s) => s.status)).toEqual([429, 200]);
    expect(arrivals.get(gets[1]!)! - arrivals.get(gets[0]!)!).toBeGreaterThanOrEqual(950);
  });

  it('429 with Retry-After as an HTTP date: retried after that time', async () => {
    const when = new Date(Date.now() + 2500);
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/1$/, status: 429, retryAfter: when }]);
    const n = proxy.seen.length;
    const r = await run('img-manifest', ['get', ...T, manifestRef()]);
    expect(r.status, r.stderr).toBe(0);
    const gets = since(proxy, n, /\/manifests\/1$/);
    expect(gets.map((s) => s.status)).toEqual([429, 200]);
    // the date has whole seconds: the retry comes at it, not before
    expect(arrivals.get(gets[1]!)!).toBeGreaterThanOrEqual(Math.floor(when.getTime() / 1000) * 1000 - 50);
  });

  it('503 twice then success (backoff without Retry-After is IMGPIPE_RETRY_DELAY_MS-short)', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/1$/, status: 503, times: 2 }]);
    const n = proxy.seen.length;
    const t0 = Date.now();
    const r = await run('img-manifest', ['get', ...T, manifestRef()]);
    expect(r.status, r.stderr).toBe(0);
    expect(records(r.stdout)[0]!.ref).toBe(manifestRef());
    expect(since(proxy, n, /\/manifests\/1$/).map((s) => s.status)).toEqual([503, 503, 200]);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a registry that always answers 500: one error after --retry-times 2 retries (3 requests)', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/1$/, status: 500, times: Infinity, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' }]);
    const n = proxy.seen.length;
    const r = await run('img-manifest', ['get', ...T, '--retry-times', '2', manifestRef()]);
    expectOneLine(r, new RegExp(`${proxy.host}.*(HTTP 500|boom)`));
    expect(since(proxy, n, /\/manifests\/1$/)).toHaveLength(3);
    proxy.setFaults([]);
  });

  it('a blob download cut mid-body is resumed with Range; the bytes are identical', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, truncateAfter: 100_000 }]);
    const n = proxy.seen.length;
    const r = await run('img-blob-get', [...T, blobRef()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdoutBytes.equals(BLOB)).toBe(true);
    const gets = since(proxy, n, /\/blobs\/sha256:/);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.fault).toBe('truncate 100000');
    expect(gets[0]!.headers.range).toBeUndefined();
    expect(gets[1]!.headers.range).toBe('bytes=100000-');
    expect(gets[1]!.status).toBe(206);
  });

  it('corrupted blob bytes are refused with a digest mismatch; -o FILE leaves no file', async () => {
    const out = join(work, 'out');
    mkdirSync(out, { recursive: true });
    proxy.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, corruptAt: 1234 }]);
    const r = await run('img-blob-get', [...T, '-o', join(out, 'blob'), blobRef()]);
    expectOneLine(r, new RegExp(`content has digest sha256:[0-9a-f]{64}, expected ${BLOB_DIGEST}`));
    expect(existsSync(join(out, 'blob'))).toBe(false);
    expect(readdirSync(out)).toEqual([]);
    proxy.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, corruptAt: 1234 }]);
    const toStdout = await run('img-blob-get', [...T, blobRef()]);
    expect(toStdout.status).toBe(1);
    expect(toStdout.stderr).toMatch(/content has digest/);
  });

  it('a stall longer than the timeout fails with one timeout line; each retry is one more request', async () => {
    proxy.setFaults([{ method: 'GET', path: /\/manifests\/1$/, stallMs: 5000, times: Infinity }]);
    const n = proxy.seen.length;
    const t0 = Date.now();
    const r = await run('img-manifest', ['get', ...T, '--retry-times', '1', manifestRef()], undefined, { IMGPIPE_TIMEOUT_MS: '400' });
    expectOneLine(r, new RegExp(`timed out talking to ${proxy.host}: no answer within 400 ms`));
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(since(proxy, n, /\/manifests\/1$/)).toHaveLength(2);
    proxy.setFaults([]);
    const bad = await run('img-manifest', ['get', ...T, manifestRef()], undefined, { IMGPIPE_TIMEOUT_MS: 'soon' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/IMGPIPE_TIMEOUT_MS/);
  });

  it('an https registry redirecting to http is refused', async () => {
    const server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
      res.writeHead(307, { location: `${proxy.url}${req.url}`, 'content-length': '0' });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const n = proxy.seen.length;
    const r = await run('img-blob-get', ['--cert-dir', certDir(pki, join(work, 'certs')), `docker://${host}/team/app@${BLOB_DIGEST}`]);
    expectOneLine(r, /refusing a redirect from https to http/);
    expect(proxy.seen.length).toBe(n);
    server.closeAllConnections();
  });

  describe('a blob GET redirected to another host gets no Authorization there', () => {
    let other: FaultProxy;
    beforeAll(async () => {
      if (!ok) return;
      other = await started(startFaultProxy(reg.host)); // serves the same blob, without auth
    });

    it('htpasswd registry: Basic credentials go to the registry only', async () => {
      const hreg = await started(startRegistry({ auth: 'htpasswd', users: { [USER]: PASS } }));
      const hp = await started(startFaultProxy(hreg.host));
      expect((await run('img-blob-put', [...T, '--creds', `${USER}:${PASS}`, `docker://${hreg.host}/team/app`], BLOB)).status).toBe(0);
      hp.setFaults([
        { method: 'GET', path: /\/blobs\/sha256:/, stallMs: 1 }, // the anonymous first try passes (401)
        { method: 'GET', path: /\/blobs\/sha256:/, redirect: other.url },
      ]);
      const o = other.seen.length;
      const r = await run('img-blob-get', [...T, '--creds', `${USER}:${PASS}`, `docker://${hp.host}/team/app@${BLOB_DIGEST}`]);
      expect(r.stderr).toBe('');
      expect(r.stdoutBytes.equals(BLOB)).toBe(true);
      const redirected = hp.seen.find((s) => s.fault?.startsWith('redirect'));
      expect(redirected?.headers.authorization).toBe(BASIC);
      const there = other.seen.slice(o);
      expect(there.map((s) => [s.url, s.status])).toEqual([[`/v2/team/app/blobs/${BLOB_DIGEST}`, 200]]);
      expect(there[0]!.headers.authorization).toBeUndefined();
      expect(outputs.join('\n')).not.toContain(PASS);

      // the other host answers 401 with its own Bearer challenge: not answered, no credentials sent to its realm.
      // img-manifest get --config learns the registry's challenge on the manifest, then fetches the config blob
      // with credentials — the case where answering the foreign challenge would leak them.
      const pushed = await sh(
        `img-manifest get oci:'${L}':base | jq -c '.dest="docker://${hreg.host}/team/app:1"' | img-blob-put --tls-verify=false --creds '${USER}:${PASS}' | img-manifest put --tls-verify=false --creds '${USER}:${PASS}'`,
        env,
      );
      expect(pushed.status, pushed.stderr).toBe(0);
      hp.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, redirect: other.url }]);
      other.setFaults([{ method: 'GET', path: /\/blobs\//, status: 401, headers: { 'www-authenticate': `Bearer realm="${other.url}/token",service="evil"` } }]);
      const o2 = other.seen.length;
      const r2 = await run('img-manifest', ['get', '--config', ...T, '--creds', `${USER}:${PASS}`, `docker://${hp.host}/team/app:1`]);
      expectOneLine(r2, /HTTP 401|authentication/);
      expect(r2.stderr).not.toMatch(/invalid username or password/);
      expect(hp.seen.some((s) => s.fault?.startsWith('redirect') && s.headers.authorization === BASIC)).toBe(true);
      const there2 = other.seen.slice(o2);
      expect(there2.map((s) => s.url)).toEqual([expect.stringMatching(/^\/v2\/team\/app\/blobs\/sha256:/)]);
      expect(there2.every((s) => s.headers.authorization === undefined)).toBe(true);
      other.setFaults([]);
    });

    it('token registry: the bearer token goes to the registry only', async () => {
      const ts: TokenServer = await started(startTokenServer({ signingKey: pki.tokenKey, signingCert: pki.tokenCert, users: { [USER]: PASS } }));
      const treg = await started(startRegistry({ auth: 'token', realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: pki.tokenCert }));
      const tp = await started(startFaultProxy(treg.host));
      expect((await run('img-blob-put', [...T, '--creds', `${USER}:${PASS}`, `docker://${treg.host}/team/app`], BLOB)).status).toBe(0);
      tp.setFaults([
        { method: 'GET', path: /\/blobs\/sha256:/, stallMs: 1 },
        { method: 'GET', path: /\/blobs\/sha256:/, redirect: other.url },
      ]);
      const o = other.seen.length;
      const r = await run('img-blob-get', [...T, '--debug', `docker://${tp.host}/team/app@${BLOB_DIGEST}`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdoutBytes.equals(BLOB)).toBe(true);
      const redirected = tp.seen.find((s) => s.fault?.startsWith('redirect'));
      expect(redirected?.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(ts.issued.map((t) => t.token)).toContain(redirected!.headers.authorization!.slice(7));
      const there = other.seen.slice(o);
      expect(there).toHaveLength(1);
      expect(there[0]!.headers.authorization).toBeUndefined();
      // the token is in no output, not even --debug
      const all = outputs.join('\n');
      for (const t of ts.issued) expect(all).not.toContain(t.token);
      expect(all).not.toContain(PASS);
    });
  });
});
