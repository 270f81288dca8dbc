// Proves the registry fixtures (real docker-registry, token server, fault proxy, PKI) work, with
// real skopeo as the client — not imgpipe — so a failure here is the fixture's, not the transport's.
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../helpers/faultproxy.js';
import { certDir, makePki, type Pki } from '../helpers/pki.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, have, tempDir, type Result } from '../helpers/run.js';
import { makeJwt, startTokenServer, type TokenServer } from '../helpers/tokenserver.js';

const ok = have('docker-registry') && have('skopeo') && have('umoci') && have('openssl');
const work = tempDir('imgpipe-fixtures-');
const L = join(work, 'layout');
const policy = join(work, 'policy.json');
const authfile = join(work, 'auth.json');
let pki: Pki;
let caOnly: string; // cert dir with ca.crt
let withClient: string; // cert dir with ca.crt + client.cert/client.key
const cleanup: Array<() => Promise<void>> = [];

/** skopeo with a permissive policy, a temp auth file and HOME, so nothing touches ~/ */
function skopeo(args: string[]): Promise<Result> {
  return exec('skopeo', ['--policy', policy, ...args], undefined, {
    REGISTRY_AUTH_FILE: authfile,
    HOME: work,
    XDG_RUNTIME_DIR: work,
    XDG_CONFIG_HOME: join(work, 'config'),
    DOCKER_CONFIG: join(work, 'docker'),
  });
}
async function must(args: string[]): Promise<Result> {
  const r = await skopeo(args);
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}
async function started<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const x = await p;
  cleanup.push(() => x.stop());
  return x;
}
/** GET/POST over https trusting the test CA */
function httpsReq(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: any }> {
  return new Promise((res, rej) => {
    const r = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: readFileSync(pki.caCert), agent: false }, (resp) => {
      const parts: Buffer[] = [];
      resp.on('data', (b) => parts.push(b));
      resp.on('end', () => res({ status: resp.statusCode!, body: Buffer.concat(parts).toString(), headers: resp.headers }));
    });
    r.on('error', rej);
    r.end(opts.body);
  });
}

let srcRaw: Buffer;
beforeAll(async () => {
  if (!ok) return;
  writeFileSync(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  writeFileSync(join(work, 'somefile'), 'hello from the fixture test\n'.repeat(200));
  for (const args of [
    ['init', '--layout', L],
    ['new', '--image', `${L}:x`],
    ['insert', '--image', `${L}:x`, join(work, 'somefile'), '/f'],
  ]) {
    const r = await exec('umoci', args);
    if (r.status !== 0) throw new Error(`umoci ${args.join(' ')}: ${r.stderr}`);
  }
  srcRaw = (await must(['inspect', '--raw', `oci:${L}:x`])).stdoutBytes;
  pki = makePki(join(work, 'pki'));
  caOnly = certDir(pki, join(work, 'certs-ca'));
  withClient = certDir(pki, join(work, 'certs-client'), { client: true });
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe.skipIf(!ok)('registry fixtures, checked with real skopeo', () => {
  it('plain http registry: copy then inspect', async () => {
    const reg = await started(startRegistry());
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    await must(['copy', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${reg.host}/x:1`]);
    const raw = await must(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/x:1`]);
    expect(raw.stdoutBytes.equals(srcRaw)).toBe(true);
    const info = JSON.parse((await must(['inspect', '--tls-verify=false', `docker://${reg.host}/x:1`])).stdout);
    expect(info.RepoTags).toEqual(['1']);
    // delete is enabled
    await must(['delete', '--tls-verify=false', `docker://${reg.host}/x@${info.Digest}`]);
    expect((await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/x:1`])).status).not.toBe(0);
    await reg.stop();
    await reg.stop();
    expect((await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/x:1`])).status).not.toBe(0);
  });

  it.skipIf(!have('htpasswd'))('htpasswd (apache2-utils makes the bcrypt hashes): --creds works, none or wrong fails', async () => {
    const reg = await started(startRegistry({ auth: 'htpasswd', users: { alice: 's3cret' } }));
    await must(['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${L}:x`, `docker://${reg.host}/a/x:1`]);
    await must(['inspect', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${reg.host}/a/x:1`]);
    const none = await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/a/x:1`]);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/unauthorized|authentication required/i);
    const wrong = await skopeo(['inspect', '--tls-verify=false', '--creds', 'alice:nope', `docker://${reg.host}/a/x:1`]);
    expect(wrong.status).not.toBe(0);
  });

  it('TLS: --cert-dir with the CA works, without it fails', async () => {
    const reg = await started(startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey } }));
    expect(reg.url).toBe(`https://${reg.host}`);
    await must(['copy', '--dest-cert-dir', caOnly, `oci:${L}:x`, `docker://${reg.host}/x:1`]);
    await must(['inspect', '--cert-dir', caOnly, `docker://${reg.host}/x:1`]);
    const untrusted = await skopeo(['inspect', `docker://${reg.host}/x:1`]);
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/x509|certificate/i);
  });

  it('TLS with required client certificates', async () => {
    const reg = await started(startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey, clientCAs: [pki.caCert] } }));
    await must(['copy', '--dest-cert-dir', withClient, `oci:${L}:x`, `docker://${reg.host}/x:1`]);
    await must(['inspect', '--cert-dir', withClient, `docker://${reg.host}/x:1`]);
    const noClient = await skopeo(['inspect', '--cert-dir', caOnly, `docker://${reg.host}/x:1`]);
    expect(noClient.status).not.toBe(0);
  });

  describe('token auth', () => {
    let ts: TokenServer;
    let reg: Registry;
    beforeAll(async () => {
      if (!ok) return;
      ts = await started(
        startTokenServer({
          signingKey: pki.tokenKey,
          signingCert: pki.tokenCert,
          tls: { cert: pki.serverCert, key: pki.serverKey },
          users: { alice: 's3cret' },
        }),
      );
      reg = await started(
        startRegistry({
          auth: 'token',
          realm: ts.realm,
          service: ts.service,
          issuer: ts.issuer,
          rootCertBundle: pki.tokenCert,
          tls: { cert: pki.serverCert, key: pki.serverKey },
        }),
      );
    });

    it('skopeo login, copy and inspect go through the token server', async () => {
      await must(['login', '--authfile', authfile, '--cert-dir', caOnly, '-u', 'alice', '-p', 's3cret', reg.host]);
      expect(JSON.parse(readFileSync(authfile, 'utf8')).auths[reg.host]).toBeTruthy();
      await must(['copy', '--dest-cert-dir', caOnly, `oci:${L}:x`, `docker://${reg.host}/team/x:1`]);
      await must(['inspect', '--cert-dir', caOnly, '--creds', 'alice:s3cret', `docker://${reg.host}/team/x:1`]);
      const basic = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
      const push = ts.requests.find((r) => r.scopes.some((s) => s === 'repository:team/x:pull,push'));
      expect(push?.authorization).toBe(basic);
      expect(push?.query.service).toBe(ts.service);
      expect(push?.status).toBe(200);
      expect(ts.issued.some((t) => t.user === 'alice' && t.access.some((a) => a.name === 'team/x' && a.actions.includes('push')))).toBe(true);
      await must(['logout', '--authfile', authfile, reg.host]);
    });

    it('anonymous gets pull only; wrong password is refused by the token server', async () => {
      await must(['inspect', '--cert-dir', caOnly, '--no-creds', `docker://${reg.host}/team/x:1`]);
      const push = await skopeo(['copy', '--dest-cert-dir', caOnly, '--dest-no-creds', `oci:${L}:x`, `docker://${reg.host}/team/y:1`]);
      expect(push.status).not.toBe(0);
      const wrong = await skopeo(['inspect', '--cert-dir', caOnly, '--creds', 'alice:nope', `docker://${reg.host}/team/x:1`]);
      expect(wrong.status).not.toBe(0);
      expect(ts.requests.some((r) => r.status === 401)).toBe(true);
    });

    it('OAuth2 POST: password grant with refresh token, then refresh_token grant; the token works at the registry', async () => {
      const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
      const h = { 'content-type': 'application/x-www-form-urlencoded' };
      const a = await httpsReq(ts.realm, {
        method: 'POST',
        headers: h,
        body: form({
          grant_type: 'password',
          username: 'alice',
          password: 's3cret',
          service: ts.service,
          client_id: 'test',
          access_type: 'offline',
          scope: 'repository:team/x:pull',
        }),
      });
      expect(a.status).toBe(200);
      const aj = JSON.parse(a.body);
      expect(aj.access_token).toBeTruthy();
      expect(aj.refresh_token).toBeTruthy();
      const b = await httpsReq(ts.realm, {
        method: 'POST',
        headers: h,
        body: form({ grant_type: 'refresh_token', refresh_token: aj.refresh_token, service: ts.service, client_id: 'test', scope: 'repository:team/x:pull' }),
      });
      expect(b.status).toBe(200);
      const tok = JSON.parse(b.body).access_token;
      const m = await httpsReq(`${reg.url}/v2/team/x/manifests/1`, {
        headers: { authorization: `Bearer ${tok}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(m.status).toBe(200);
      const bad = await httpsReq(ts.realm, {
        method: 'POST',
        headers: h,
        body: form({ grant_type: 'password', username: 'alice', password: 'x', service: ts.service }),
      });
      expect(bad.status).toBe(401);
      const noTok = await httpsReq(`${reg.url}/v2/team/x/manifests/1`);
      expect(noTok.status).toBe(401);
      expect(noTok.headers['www-authenticate']).toContain(`realm="${ts.realm}"`);
    });

    it('the registry rejects tokens it should: untrusted signer, wrong audience, expired, missing scope', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: ts.issuer,
        sub: 'alice',
        aud: ts.service,
        exp: now + 60,
        nbf: now,
        iat: now,
        jti: 'j',
        access: [{ type: 'repository', name: 'team/x', actions: ['pull'] }],
      };
      const get = (tok: string) =>
        httpsReq(`${reg.url}/v2/team/x/manifests/1`, { headers: { authorization: `Bearer ${tok}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
      const good = { signingKey: pki.tokenKey, signingCert: pki.tokenCert };
      expect((await get(makeJwt(good, claims))).status).toBe(200);
      expect((await get(makeJwt({ signingKey: pki.caKey, signingCert: pki.caCert }, claims))).status).toBe(401);
      expect((await get(makeJwt(good, { ...claims, aud: 'other' }))).status).toBe(401);
      expect((await get(makeJwt(good, { ...claims, iss: 'other' }))).status).toBe(401);
      expect((await get(makeJwt(good, { ...claims, exp: now - 120 }))).status).toBe(401);
      expect((await get(makeJwt(good, { ...claims, access: [{ type: 'repository', name: 'team/other', actions: ['pull'] }] }))).status).toBe(401);
    });

    it('a token naming its key by kid (libtrust fingerprint) is accepted too', async () => {
      const ts2 = await started(
        startTokenServer({ signingKey: pki.tokenKey, signingCert: pki.tokenCert, keyHeader: 'kid', issuer: ts.issuer, service: ts.service }),
      );
      expect(ts2.realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
      const t = (await (await fetch(`${ts2.realm}?service=${ts.service}&scope=repository:team/x:pull`)).json()).token as string;
      expect(JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
      const m = await httpsReq(`${reg.url}/v2/team/x/manifests/1`, {
        headers: { authorization: `Bearer ${t}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(m.status).toBe(200);
    });
  });

  it('a registry that cannot start fails fast with its log', async () => {
    const t0 = Date.now();
    await expect(startRegistry({ configure: (c) => (c.storage = { nosuchdriver: {} }) })).rejects.toThrow(/exited.*log:\n.*nosuchdriver/s);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  describe('fault proxy', () => {
    let reg: Registry;
    beforeAll(async () => {
      if (!ok) return;
      reg = await started(startRegistry());
      await must(['copy', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${reg.host}/x:1`]);
    });

    it('1× 503 on GET /v2/ is seen, then requests pass through to the registry', async () => {
      const p = await started(startFaultProxy(reg.host));
      p.setFaults([{ method: 'GET', path: /^\/v2\/$/, times: 1, status: 503 }]);
      const first = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${p.host}/x:1`]);
      // skopeo 1.9 does not retry its ping: the one 503 fails this call
      expect(first.status).not.toBe(0);
      expect(first.stderr).toMatch(/503/);
      expect(p.seen.some((s) => s.method === 'GET' && s.url === '/v2/' && s.fault === 'status 503' && s.status === 503)).toBe(true);
      expect(p.pending()).toEqual([]);
      const second = await must(['inspect', '--raw', '--tls-verify=false', `docker://${p.host}/x:1`]);
      expect(second.stdoutBytes.equals(srcRaw)).toBe(true);
      expect(p.seen.some((s) => /\/v2\/x\/manifests\/1/.test(s.url) && s.status === 200)).toBe(true);
    });

    it('skopeo copy through the proxy (uploads come back through it)', async () => {
      const p = await started(startFaultProxy(reg.host));
      await must(['copy', '--dest-tls-verify=false', `oci:${L}:x`, `docker://${p.host}/y:1`]);
      expect(p.seen.some((s) => s.method === 'PUT' && /\/v2\/y\/blobs\/uploads\//.test(s.url))).toBe(true);
      expect(p.seen.some((s) => s.method === 'PUT' && s.url === '/v2/y/manifests/1' && s.status === 201)).toBe(true);
    });

    it('retry-after, reset, truncate, corrupt, stall, range, redirect to another host', async () => {
      const m = JSON.parse(srcRaw.toString());
      const layer = m.layers[0];
      const blobPath = `/v2/x/blobs/${layer.digest}`;
      const p = await started(startFaultProxy(reg.host));
      const other = await started(startFaultProxy(reg.host));
      const full = Buffer.from(await (await fetch(`${p.url}${blobPath}`)).arrayBuffer());
      expect(full.length).toBe(layer.size);
      const when = new Date(Date.now() + 2000);
      p.setFaults([
        { method: 'GET', path: '^/v2/$', status: 429, retryAfter: 3, times: 1 },
        { method: 'GET', path: '^/v2/$', status: 503, retryAfter: when, times: 1 },
        { path: /\/blobs\//, reset: true },
        { path: /\/blobs\//, truncateAfter: 10 },
        { path: /\/blobs\//, corruptAt: 5 },
        { path: /\/blobs\//, stallMs: 300 },
        { path: /\/blobs\//, redirect: other.url },
      ]);
      const r429 = await fetch(`${p.url}/v2/`);
      expect([r429.status, r429.headers.get('retry-after')]).toEqual([429, '3']);
      const r503 = await fetch(`${p.url}/v2/`);
      expect([r503.status, r503.headers.get('retry-after')]).toEqual([503, when.toUTCString()]);
      expect((await fetch(`${p.url}/v2/`)).status).toBe(200);
      await expect(fetch(`${p.url}${blobPath}`)).rejects.toThrow();
      const trunc = await fetch(`${p.url}${blobPath}`);
      expect(trunc.status).toBe(200);
      await expect(trunc.arrayBuffer()).rejects.toThrow();
      const corrupt = Buffer.from(await (await fetch(`${p.url}${blobPath}`)).arrayBuffer());
      expect(corrupt.length).toBe(full.length);
      expect(corrupt[5]).toBe(full[5]! ^ 0xff);
      expect(Buffer.compare(corrupt.subarray(6), full.subarray(6))).toBe(0);
      const t0 = Date.now();
      expect((await fetch(`${p.url}${blobPath}`)).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      const redir = await fetch(`${p.url}${blobPath}`, { redirect: 'manual', headers: { authorization: 'Bearer secret-for-host-a' } });
      expect(redir.status).toBe(307);
      expect(redir.headers.get('location')).toBe(`${other.url}${blobPath}`);
      // a client that (wrongly) forwards the credential to the other host: the other proxy records it
      const there = await fetch(redir.headers.get('location')!, { headers: { authorization: 'Bearer secret-for-host-a', range: 'bytes=10-19' } });
      expect(there.status).toBe(206);
      expect(Buffer.from(await there.arrayBuffer()).equals(full.subarray(10, 20))).toBe(true);
      expect(other.seen[0]?.headers.authorization).toBe('Bearer secret-for-host-a');
      expect(other.seen[0]?.headers.range).toBe('bytes=10-19');
      expect(p.seen.map((s) => s.fault).filter(Boolean)).toEqual([
        'status 429',
        `status 503`,
        'reset',
        'truncate 10',
        'corrupt 5',
        'stall 300',
        `redirect ${other.url}${blobPath}`,
      ]);
    });
  });
});
