// Registry authentication end to end, with real processes: plain http, htpasswd (basic), TLS with a
// test CA (--cert-dir and certs.d) and client certificates, Docker token auth through the token
// server; img-login / img-logout against real skopeo. Every process runs with HOME, XDG_* and
// DOCKER_CONFIG inside a temp dir, so nothing reads or writes ~/.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { umociImage } from '../helpers/images.js';
import { certDir, makePki, type Pki } from '../helpers/pki.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, have, img, records, sh, tempDir, type Result } from '../helpers/run.js';
import { startTokenServer, type TokenServer } from '../helpers/tokenserver.js';

const ok = have('docker-registry') && have('skopeo') && have('umoci') && have('openssl') && have('htpasswd') && have('jq');
const work = tempDir('imgpipe-auth-');
const L = join(work, 'layout');
const USER = 'alice';
const PASS = 'pw-Zq7vX-s3cret-9d';
const WRONG = 'wrong-Kp4-nope-77';
const BASIC = Buffer.from(`${USER}:${PASS}`).toString('base64');
const WRONG_BASIC = Buffer.from(`${USER}:${WRONG}`).toString('base64');
let pki: Pki;
let caOnly: string;
let withClient: string;
let srcDigest: string;
const cleanup: Array<() => Promise<void>> = [];
/** every stdout+stderr any command printed, checked for secrets at the end */
const outputs: string[] = [];
/** token values the token servers issued */
const tokens: () => string[] = () => servers.flatMap((s) => s.issued.flatMap((t) => [t.token, t.refreshToken ?? ''])).filter(Boolean);
const servers: TokenServer[] = [];

/** an environment that keeps every process away from ~/ ; `extra` may override */
function isolated(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const root = join(work, 'env', name);
  mkdirSync(root, { recursive: true });
  return {
    HOME: join(root, 'home'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    XDG_CONFIG_HOME: join(root, 'config'),
    DOCKER_CONFIG: join(root, 'docker'),
    REGISTRY_AUTH_FILE: join(root, 'auth.json'),
    IMGPIPE_RETRY_DELAY_MS: '10',
    ...extra,
  };
}
let envN = 0;
const freshEnv = (extra: NodeJS.ProcessEnv = {}) => isolated(`e${++envN}`, extra);

function keep(r: Result): Result {
  outputs.push(r.stdout, r.stderr);
  return r;
}
const run = async (cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string) => keep(await img(cmd, args, input, env));
const shell = async (script: string, env: NodeJS.ProcessEnv) => keep(await sh(script, env));
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** push copies the umoci image to DEST with img-manifest get | jq | img-blob-put | img-manifest put, `flags` on the registry side */
async function push(dest: string, flags: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const f = flags.map(q).join(' ');
  return shell(`img-manifest get oci:${q(L)}:base | jq -c --arg d ${q(dest)} '.dest=$d' | img-blob-put ${f} | img-manifest put ${f}`, env);
}
async function get(ref: string, flags: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return run('img-manifest', ['get', ...flags, ref], env);
}
function expectOk(r: Result): void {
  expect(r.stderr, r.stderr).toBe('');
  expect(r.status).toBe(0);
}
/** a failure: exit 1, exactly one line on stderr; stdout holds nothing but (for record commands) the failed record */
function expectOneLine(r: Result, re: RegExp): void {
  expect(r.status, r.stderr).toBe(1);
  for (const rec of records(r.stdout)) expect(rec.error?.message).toMatch(re);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(re);
}
async function started<T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const x = await p;
  cleanup.push(() => x.stop());
  return x;
}
function skopeo(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const policy = join(work, 'policy.json');
  writeFileSync(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  return exec('skopeo', ['--policy', policy, ...args], undefined, env).then(keep);
}

beforeAll(async () => {
  if (!ok) return;
  await umociImage(work, L, 'base');
  const r = await img('img-manifest', ['get', `oci:${L}:base`]);
  srcDigest = records(r.stdout)[0]!.digest;
  pki = makePki(join(work, 'pki'));
  caOnly = certDir(pki, join(work, 'certs-ca'));
  withClient = certDir(pki, join(work, 'certs-client'), { client: true });
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe.skipIf(!ok)('registry authentication', () => {
  it('plain http with --tls-verify=false: push and get; without it, one line saying the registry does not speak TLS', async () => {
    const reg = await started(startRegistry());
    const env = freshEnv();
    expectOk(await push(`docker://${reg.host}/team/app:1`, ['--tls-verify=false'], env));
    const g = await get(`docker://${reg.host}/team/app:1`, ['--tls-verify=false'], env);
    expectOk(g);
    expect(records(g.stdout)[0]!.digest).toBe(srcDigest);
    const strict = await get(`docker://${reg.host}/team/app:1`, [], env);
    expectOneLine(strict, /does not speak TLS.*--tls-verify=false/);
  });

  describe('htpasswd (basic auth)', () => {
    let reg: Registry;
    let proxy: FaultProxy;
    const ref = () => `docker://${reg.host}/team/app:1`;
    beforeAll(async () => {
      if (!ok) return;
      reg = await started(startRegistry({ auth: 'htpasswd', users: { [USER]: PASS } }));
      proxy = await started(startFaultProxy(reg.host));
    });

    it('--creds pushes, --username/--password gets, the registry got Basic credentials', async () => {
      const env = freshEnv();
      expectOk(await push(ref(), ['--tls-verify=false', '--creds', `${USER}:${PASS}`], env));
      const g = await get(`docker://${proxy.host}/team/app:1`, ['--tls-verify=false', '--username', USER, '--password', PASS], env);
      expectOk(g);
      expect(records(g.stdout)[0]!.digest).toBe(srcDigest);
      expect(proxy.seen.some((s) => s.headers.authorization === `Basic ${BASIC}` && s.status === 200)).toBe(true);
    });

    it('anonymous access is refused with one line naming the registry and what to do', async () => {
      const r = await get(ref(), ['--tls-verify=false'], freshEnv());
      expectOneLine(r, new RegExp(`registry ${reg.host.replace(/\./g, '\\.')} requires credentials \\(use --creds or img-login\\)`));
    });

    it('img-login writes auth.json (0600, directory created) after checking; img-manifest get uses it; skopeo reads it', async () => {
      const env = freshEnv();
      const file = join(work, 'login1', 'sub', 'auth.json');
      const before = proxy.seen.length;
      const l = await run('img-login', ['--tls-verify=false', '--authfile', file, '-u', USER, '-p', PASS, proxy.host], env);
      expect(l.status, l.stderr).toBe(0);
      expect(l.stderr).toMatch(/Login Succeeded/);
      expect(proxy.seen.slice(before).some((s) => s.url === '/v2/' && s.headers.authorization === `Basic ${BASIC}` && s.status === 200)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8')).auths[proxy.host].auth).toBe(BASIC);
      expectOk(await get(`docker://${proxy.host}/team/app:1`, ['--tls-verify=false', '--authfile', file], env));
      const sk = await skopeo(['inspect', '--tls-verify=false', '--authfile', file, `docker://${proxy.host}/team/app:1`], env);
      expect(sk.status, sk.stderr).toBe(0);
      expect(JSON.parse(sk.stdout).Digest).toBe(srcDigest);
    });

    it('img-login with --password-stdin writes $REGISTRY_AUTH_FILE; without it, $DOCKER_CONFIG/config.json, else $XDG_RUNTIME_DIR/containers/auth.json', async () => {
      const env = freshEnv();
      const l = await run('img-login', ['--tls-verify=false', '-u', USER, '--password-stdin', reg.host], env, `${PASS}\n`);
      expect(l.status, l.stderr).toBe(0);
      expect(JSON.parse(readFileSync(env.REGISTRY_AUTH_FILE!, 'utf8')).auths[reg.host].auth).toBe(BASIC);
      expect(statSync(env.REGISTRY_AUTH_FILE!).mode & 0o777).toBe(0o600);
      expectOk(await get(ref(), ['--tls-verify=false'], env));
      // as containers/common picks the file: $DOCKER_CONFIG's config.json (Docker's), else the runtime auth.json
      const env2 = freshEnv({ REGISTRY_AUTH_FILE: '' });
      const env3 = freshEnv({ REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: '' });
      for (const [e, file] of [
        [env2, join(env2.DOCKER_CONFIG!, 'config.json')],
        [env3, join(env3.XDG_RUNTIME_DIR!, 'containers', 'auth.json')],
      ] as const) {
        expect(existsSync(file)).toBe(false);
        const l2 = await run('img-login', ['--tls-verify=false', '-u', USER, '-p', PASS, reg.host], e);
        expect(l2.status, l2.stderr).toBe(0);
        expect(l2.stderr).toContain(`stored in ${file}`);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expectOk(await get(ref(), ['--tls-verify=false'], e));
        // skopeo finds the same file by the same search
        const sk = await skopeo(['inspect', '--tls-verify=false', ref()], e);
        expect(sk.status, sk.stderr).toBe(0);
      }
    });

    it('img-login with a wrong password fails in one line and writes nothing', async () => {
      const env = freshEnv();
      const file = join(work, 'login-wrong', 'auth.json');
      const r = await run('img-login', ['--tls-verify=false', '--authfile', file, '-u', USER, '-p', WRONG, reg.host], env);
      expectOneLine(r, new RegExp(`${reg.host.replace(/\./g, '\\.')}.*(invalid username or password|authentication)`));
      expect(existsSync(file)).toBe(false);
      expect(r.stderr).not.toContain(WRONG);
    });

    it('a wrong password: exit 1, one line naming the registry, at most 2 401s, no secret printed, also with --debug', async () => {
      for (const debug of [false, true]) {
        const before = proxy.seen.length;
        const r = await get(
          `docker://${proxy.host}/team/app:1`,
          ['--tls-verify=false', '--creds', `${USER}:${WRONG}`, ...(debug ? ['--debug'] : [])],
          freshEnv(),
        );
        expect(r.status).toBe(1);
        for (const rec of records(r.stdout)) expect(rec.error.code).toBe('UNAUTHORIZED');
        const lines = r.stderr
          .trimEnd()
          .split('\n')
          .filter((l) => !l.startsWith('debug: '));
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`authentication to ${proxy.host.replace(/\./g, '\\.')} failed`));
        if (debug) expect(r.stderr).toMatch(/^debug: GET /m);
        const got = proxy.seen.slice(before);
        expect(got.filter((s) => s.status === 401).length).toBeLessThanOrEqual(2);
        expect(got.length).toBeLessThanOrEqual(2);
        expect(got.some((s) => s.headers.authorization === `Basic ${WRONG_BASIC}`)).toBe(true);
        for (const secret of [WRONG, WRONG_BASIC]) expect(r.stdout + r.stderr).not.toContain(secret);
      }
    });

    it('a file written by skopeo login is used by img-manifest get; img-logout removes the entry, then fails in one line', async () => {
      const env = freshEnv();
      const file = env.REGISTRY_AUTH_FILE!;
      const sl = await skopeo(['login', '--tls-verify=false', '-u', USER, '-p', PASS, reg.host], env);
      expect(sl.status, sl.stderr).toBe(0);
      expectOk(await get(ref(), ['--tls-verify=false'], env));
      const out = await run('img-logout', [reg.host], env);
      expect(out.status, out.stderr).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8')).auths?.[reg.host]).toBeUndefined();
      expectOneLine(await get(ref(), ['--tls-verify=false'], env), /requires credentials/);
      const again = await run('img-logout', [reg.host], env);
      expectOneLine(again, new RegExp(`not logged into ${reg.host.replace(/\./g, '\\.')}`));
      // skopeo agrees the entry is gone
      expect((await skopeo(['inspect', '--tls-verify=false', ref()], env)).status).not.toBe(0);
    });

    it('img-logout --all empties the file; skopeo logout of an img-login entry works', async () => {
      const env = freshEnv();
      const file = env.REGISTRY_AUTH_FILE!;
      expect((await run('img-login', ['--tls-verify=false', '-u', USER, '-p', PASS, reg.host], env)).status).toBe(0);
      expect((await run('img-login', ['--tls-verify=false', '-u', USER, '-p', PASS, `${reg.host}/team`], env)).status).toBe(0);
      expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths).sort()).toEqual([reg.host, `${reg.host}/team`].sort());
      const sl = await skopeo(['logout', `${reg.host}/team`], env);
      expect(sl.status, sl.stderr).toBe(0);
      expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths)).toEqual([reg.host]);
      const all = await run('img-logout', ['--all'], env);
      expect(all.status, all.stderr).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8')).auths).toEqual({});
      expectOneLine(await run('img-logout', [reg.host], env), /not logged into/);
    });

    it('a credential helper named in credHelpers is asked (with the host on stdin)', async () => {
      const env = freshEnv();
      const bin = join(work, 'helper-bin');
      mkdirSync(bin, { recursive: true });
      const log = join(work, 'helper.log');
      writeFileSync(
        join(bin, 'docker-credential-testhelper'),
        `#!/bin/sh\nread host\necho "$1 $host" >> ${q(log)}\nif [ "$host" = ${q(reg.host)} ]; then printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASS}"}' "$host"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
      );
      chmodSync(join(bin, 'docker-credential-testhelper'), 0o755);
      writeFileSync(env.REGISTRY_AUTH_FILE!, JSON.stringify({ auths: {}, credHelpers: { [reg.host]: 'testhelper' } }));
      const r = await get(ref(), ['--tls-verify=false'], { ...env, PATH: `${bin}:${process.env.PATH}` });
      expectOk(r);
      expect(readFileSync(log, 'utf8')).toBe(`get ${reg.host}\n`);
    });

    it('$DOCKER_CONFIG/config.json is the last fallback', async () => {
      const env = freshEnv({ REGISTRY_AUTH_FILE: '' });
      mkdirSync(env.DOCKER_CONFIG!, { recursive: true });
      writeFileSync(join(env.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: BASIC } } }));
      expectOk(await get(ref(), ['--tls-verify=false'], env));
      // an entry for the host in $XDG_CONFIG_HOME/containers/auth.json comes first, even when wrong
      mkdirSync(join(env.XDG_CONFIG_HOME!, 'containers'), { recursive: true });
      writeFileSync(join(env.XDG_CONFIG_HOME!, 'containers', 'auth.json'), JSON.stringify({ auths: { [reg.host]: { auth: WRONG_BASIC } } }));
      expectOneLine(await get(ref(), ['--tls-verify=false'], env), /authentication to .* failed/);
    });
  });

  describe('TLS with a test CA', () => {
    let reg: Registry;
    beforeAll(async () => {
      if (!ok) return;
      reg = await started(startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey } }));
    });

    it('--cert-dir: push and get', async () => {
      const env = freshEnv();
      expectOk(await push(`docker://${reg.host}/team/app:1`, ['--cert-dir', caOnly], env));
      const g = await get(`docker://${reg.host}/team/app:1`, ['--cert-dir', caOnly], env);
      expectOk(g);
      expect(records(g.stdout)[0]!.digest).toBe(srcDigest);
    });

    it('$XDG_CONFIG_HOME/containers/certs.d/HOST:PORT/ca.crt is found without flags', async () => {
      const env = freshEnv();
      certDir(pki, join(env.XDG_CONFIG_HOME!, 'containers', 'certs.d', reg.host));
      expectOk(await push(`docker://${reg.host}/team/other:1`, [], env));
      expectOk(await get(`docker://${reg.host}/team/other:1`, [], env));
      // and $HOME/.config when XDG_CONFIG_HOME is empty, as the containers tools do
      const env2 = freshEnv({ XDG_CONFIG_HOME: '' });
      certDir(pki, join(env2.HOME!, '.config', 'containers', 'certs.d', reg.host));
      const r = await get(`docker://${reg.host}/team/other:1`, [], env2);
      expectOk(r);
    });

    it('without the CA: one line saying the certificate is not trusted, suggesting --cert-dir', async () => {
      const r = await get(`docker://${reg.host}/team/app:1`, [], freshEnv());
      expectOneLine(r, /certificate is not trusted.*--cert-dir/);
    });

    it('a required client certificate: X.cert + X.key in --cert-dir work; without them, one line asking for one', async () => {
      const mtls = await started(startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey, clientCAs: [pki.caCert] } }));
      const env = freshEnv();
      expectOk(await push(`docker://${mtls.host}/team/app:1`, ['--cert-dir', withClient], env));
      const g = await get(`docker://${mtls.host}/team/app:1`, ['--cert-dir', withClient], env);
      expectOk(g);
      expect(records(g.stdout)[0]!.digest).toBe(srcDigest);
      const r = await get(`docker://${mtls.host}/team/app:1`, ['--cert-dir', caOnly], env);
      expectOneLine(r, /client certificate/);
    });
  });

  describe('token auth', () => {
    let ts: TokenServer;
    let reg: Registry;
    const ref = (repo = 'team/app:1') => `docker://${reg.host}/${repo}`;
    beforeAll(async () => {
      if (!ok) return;
      ts = await started(
        startTokenServer({ signingKey: pki.tokenKey, signingCert: pki.tokenCert, tls: { cert: pki.serverCert, key: pki.serverKey }, users: { [USER]: PASS } }),
      );
      servers.push(ts);
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

    it('push with credentials: one token request per scope (tokens cached), sent with Basic credentials', async () => {
      const env = freshEnv();
      const before = ts.requests.length;
      const r = await run('img-blob-put', ['--cert-dir', caOnly, '--creds', `${USER}:${PASS}`, ref('team/app')], env, 'a raw blob\n');
      expectOk(r);
      const mine = ts.requests.slice(before);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      // several registry requests (HEAD? POST, PUT) in one process, each scope asked once
      const scopes = mine.map((m) => m.scopes.join(' '));
      expect(new Set(scopes).size).toBe(scopes.length);
      expect(mine.every((m) => m.authorization === `Basic ${BASIC}` && m.user === USER && m.status === 200)).toBe(true);

      const before2 = ts.requests.length;
      expectOk(await push(ref(), ['--cert-dir', caOnly, '--creds', `${USER}:${PASS}`], env));
      const push2 = ts.requests.slice(before2);
      // two processes, each asking once per scope: img-blob-put (HEAD blobs, then uploads) and
      // img-manifest put (PUT only: blobs were just copied, so it does not look the manifest up first)
      expect(push2.map((m) => m.scopes.join(' ')).sort()).toEqual([
        'repository:team/app:pull',
        'repository:team/app:pull,push',
        'repository:team/app:pull,push',
      ]);
    });

    it('anonymous pull is allowed; anonymous push is refused in one line', async () => {
      const env = freshEnv();
      const before = ts.requests.length;
      const g = await get(ref(), ['--cert-dir', caOnly], env);
      expectOk(g);
      expect(records(g.stdout)[0]!.digest).toBe(srcDigest);
      const mine = ts.requests.slice(before);
      expect(mine.map((m) => [m.scopes.join(' '), m.authorization, m.status])).toEqual([['repository:team/app:pull', undefined, 200]]);
      const p = await run('img-blob-put', ['--cert-dir', caOnly, ref('team/anon')], env, 'anonymous blob\n');
      expectOneLine(p, new RegExp(`${reg.host.replace(/\./g, '\\.')}`));
      expect(p.stderr).toMatch(/denied|authentication|unauthorized|credentials/i);
    });

    it('credentials from img-login are used for the token flow', async () => {
      const env = freshEnv();
      const l = await run('img-login', ['--cert-dir', caOnly, '-u', USER, '-p', PASS, reg.host], env);
      expect(l.status, l.stderr).toBe(0);
      const before = ts.requests.length;
      expectOk(await run('img-blob-put', ['--cert-dir', caOnly, ref('team/login')], env, 'blob via login\n'));
      expect(ts.requests.slice(before).every((m) => m.authorization === `Basic ${BASIC}` && m.status === 200)).toBe(true);
    });

    it('a wrong password: exit 1, one line, at most 2 token requests, no secret printed, also with --debug', async () => {
      for (const debug of [false, true]) {
        const before = ts.requests.length;
        const r = await get(ref(), ['--cert-dir', caOnly, '--creds', `${USER}:${WRONG}`, ...(debug ? ['--debug'] : [])], freshEnv());
        expect(r.status).toBe(1);
        const lines = r.stderr
          .trimEnd()
          .split('\n')
          .filter((l) => !l.startsWith('debug: '));
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`authentication to ${reg.host.replace(/\./g, '\\.')} failed: invalid username or password`));
        const mine = ts.requests.slice(before);
        expect(mine.length).toBeGreaterThanOrEqual(1);
        expect(mine.length).toBeLessThanOrEqual(2);
        expect(mine.every((m) => m.status === 401)).toBe(true);
        for (const secret of [WRONG, WRONG_BASIC]) expect(r.stdout + r.stderr).not.toContain(secret);
      }
    });
  });

  describe('token auth over plain http, behind the fault proxy', () => {
    let ts: TokenServer;
    let reg: Registry;
    let proxy: FaultProxy;
    beforeAll(async () => {
      if (!ok) return;
      ts = await started(startTokenServer({ signingKey: pki.tokenKey, signingCert: pki.tokenCert, users: { [USER]: PASS } }));
      servers.push(ts);
      reg = await started(startRegistry({ auth: 'token', realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: pki.tokenCert }));
      proxy = await started(startFaultProxy(reg.host));
      expectOk(await push(`docker://${reg.host}/team/app:1`, ['--tls-verify=false', '--creds', `${USER}:${PASS}`], freshEnv()));
    });

    it('insufficient_scope is answered once with a token for the wider scope', async () => {
      const wider = 'repository:team/app:pull repository:team/extra:pull';
      const challenge = `Bearer realm="${ts.realm}",service="${ts.service}",scope="${wider}",error="insufficient_scope"`;
      // the first 401 comes from the registry (no token yet), the second is the injected insufficient_scope
      proxy.setFaults([
        { method: 'GET', path: /\/manifests\/1$/, times: 1, stallMs: 1 },
        { method: 'GET', path: /\/manifests\/1$/, status: 401, times: 1, headers: { 'www-authenticate': challenge } },
      ]);
      const before = ts.requests.length;
      const r = await get(`docker://${proxy.host}/team/app:1`, ['--tls-verify=false', '--creds', `${USER}:${PASS}`], freshEnv());
      expectOk(r);
      expect(ts.requests.slice(before).map((m) => m.scopes.slice().sort().join(' '))).toEqual([
        'repository:team/app:pull',
        'repository:team/app:pull repository:team/extra:pull',
      ]);
      const gets = proxy.seen.filter((s) => /\/manifests\/1$/.test(s.url));
      expect(gets.map((s) => s.status)).toEqual([401, 401, 200]);
    });

    it('one token per scope per run, shared by every stage of img-copy and img-sync', async () => {
      const before = ts.requests.length;
      const creds = ['--tls-verify=false', '--creds', `${USER}:${PASS}`];
      expectOk(await img('img-copy', [...creds, `docker://${reg.host}/team/app:1`, `docker://${reg.host}/team/copied:1`], undefined, freshEnv()));
      const copy = ts.requests.slice(before).map((m) => m.scopes.slice().sort().join(' '));
      expect(copy.length, copy.join('\n')).toBe(new Set(copy).size);
      const mid = ts.requests.length;
      const sync = await img(
        'img-sync',
        [...creds, '--src', 'docker', '--dest', 'docker', `${reg.host}/team/app`, `${reg.host}/mirror`],
        undefined,
        freshEnv(),
      );
      expectOk(sync);
      const scopes = ts.requests.slice(mid).map((m) => m.scopes.slice().sort().join(' '));
      expect(scopes.length, scopes.join('\n')).toBe(new Set(scopes).size);
    });

    it('insufficient_scope every time: retried once, then one error line', async () => {
      const challenge = `Bearer realm="${ts.realm}",service="${ts.service}",scope="repository:team/app:pull,push",error="insufficient_scope"`;
      proxy.setFaults([{ method: 'GET', path: /\/manifests\/2$/, status: 401, times: Infinity, headers: { 'www-authenticate': challenge } }]);
      const before = proxy.seen.length;
      const r = await get(`docker://${proxy.host}/team/app:2`, ['--tls-verify=false', '--creds', `${USER}:${PASS}`], freshEnv());
      expectOneLine(r, /authentication to .* failed|access denied/);
      expect(proxy.seen.slice(before).filter((s) => /\/manifests\/2$/.test(s.url)).length).toBeLessThanOrEqual(3);
    });
  });

  it('no password, Basic string or issued token appears in any output', () => {
    expect(outputs.length).toBeGreaterThan(20);
    const all = outputs.join('\n');
    for (const secret of [PASS, BASIC, WRONG, WRONG_BASIC, ...tokens()]) expect(all.includes(secret), `secret leaked: ${secret.slice(0, 12)}…`).toBe(false);
    expect(tokens().length).toBeGreaterThan(3);
  });
});
