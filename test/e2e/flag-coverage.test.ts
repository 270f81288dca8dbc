// Every flag a command declares (lib/cli/command-flags.ts) does something: a table of scenarios,
// one per (command, flag), each running the real command with the flag and asserting an effect that
// does not happen without it (or, for a flag in a combination it cannot serve, a usage error). The
// first test fails for a declared flag without a scenario and for a scenario whose flag is gone, so a
// new flag cannot slip in unused (issue 9, decision 12).
//
// Registries: S needs htpasswd basic auth and TLS with a test CA, T is Docker token auth (plain
// http), P and Q are open plain-http registries; fault proxies in front of P inject 503s and stalls;
// a private dockerd (when root) serves --daemon-host. The registry flags are tested by families: for
// each command a probe invocation (Probe) with S (or T) on one end, P on the other; --X, --src-X and
// --dest-X each get a scenario. A flag with an `only` list is also run with one subcommand outside
// it, which must be a usage error naming it (outside()).
//
// A new flag: add `scenario('img-x --flag', ...)` below (or extend a family), asserting what the flag
// changes against a run without it; the first test names every flag that has none.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../../lib/cli/command-flags.js';
import { specFlags, type FlagSpec } from '../../lib/cli/flags.js';
import { dockerdUnavailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { must, umociImage } from '../helpers/images.js';
import { certDir, makePki } from '../helpers/pki.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, have, img as imgRaw, records, sh as shRaw, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';
import { startTokenServer, type TokenServer } from '../helpers/tokenserver.js';

const ready = ['docker-registry', 'umoci', 'openssl', 'htpasswd', 'jq', 'gpg', 'curl'].every(have);
const work = tempDir('imgpipe-flags-');
const box = sandbox(work);
const path = (...p: string[]) => join(work, ...p);
// $DOCKER_HOST names no engine: only --daemon-host flags lead to one
const ENV: NodeJS.ProcessEnv = { ...box.env, IMGPIPE_RETRY_DELAY_MS: '10', GNUPGHOME: path('gnupg'), DOCKER_HOST: `unix://${path('no-engine.sock')}` };
const L = path('layout');
const USER = 'alice';
const PASS = 'pw-Flag-Q7x-s3cret';
const WRONG = 'wrong-Kp4-nope-77';
const BASIC = Buffer.from(`${USER}:${PASS}`).toString('base64');
const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** every output of every command, checked for secrets at the end */
const outputs: string[] = [];
const keep = (r: Result) => {
  outputs.push(r.stdout, r.stderr);
  return r;
};
const img = async (cmd: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = ENV) => keep(await imgRaw(cmd, args, input, env));
const sh = async (script: string, env: NodeJS.ProcessEnv = ENV) => keep(await shRaw(script, env));
let counter = 0;
const uniq = () => `u${++counter}`;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------
let S: Registry; // htpasswd + TLS
let T: Registry; // token auth, plain http
let P: Registry; // open, plain http
let Q: Registry; // open, plain http, two repositories only (catalogs)
let ts: TokenServer;
let CA = ''; // a --cert-dir with the test CA
let TOKEN = ''; // a bearer token for T's repositories
let AUTHFILE = ''; // auth.json with S's credentials
let CRED_ENV: NodeJS.ProcessEnv = {}; // ENV whose default auth.json has S's credentials
let REC: Record<string, any> = {}; // img-manifest get of the test image (oci:L:x)
let D = ''; // its digest
let CONFIG = Buffer.alloc(0); // its config blob
let V2 = ''; // digest of its v2s2 form on P and S
const multi: Record<string, string> = {}; // child digests of P/multi:1 by platform, and "index"
let BIG: string[] = []; // the large layers of P/big:1
const noDaemon = dockerdUnavailable(); // why docker-daemon: cannot be tested here, if it cannot
let dd: Dockerd | undefined; // a private Docker engine holding flags/x:1
let DREC: Record<string, any> = {}; // img-manifest get of docker-daemon:flags/x:1
const RD = path('registries.d'); // lookaside + sigstore attachments everywhere
const LOOKASIDE = path('lookaside');
const K = { priv: path('k.private'), pub: path('k.pub'), other: path('other.pub'), pass: path('k.pass') };
const GPG = { plain: '', locked: '', pass: path('gpg.pass'), wrong: path('gpg.wrong'), plainPub: path('plain.pub'), lockedPub: path('locked.pub') };
const POLICY = { reject: path('reject.json'), sigstore: path('sigstore.json') };
const cleanup: Array<() => Promise<void>> = [];

/** pushTo copies SRC to every DEST with img-manifest get | img-blob-put | img-manifest put. */
async function pushTo(src: string, dests: string[], flags: string[] = [], srcFlags: string[] = []): Promise<void> {
  const f = flags.map(q).join(' ');
  const d = dests.map(q).join(' ');
  await must(
    sh(
      `img-manifest get ${srcFlags.map(q).join(' ')} ${q(src)} | jq -c '. as $r | $ARGS.positional[] | $r + {dest: .}' --args ${d} | img-blob-put ${f} | img-manifest put ${f}`,
    ),
    `push ${src}`,
  );
}

/** platformImage writes a dir: image whose config names `platform` (distinct bytes per platform). */
function platformImage(dir: string, platform: { os: string; architecture: string; variant?: string }): void {
  mkdirSync(dir, { recursive: true });
  const layer = Buffer.from(`layer of ${JSON.stringify(platform)}\n`.repeat(50));
  const config = Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  writeFileSync(join(dir, sha256(layer).slice(7)), layer);
  writeFileSync(join(dir, sha256(config).slice(7)), config);
  writeFileSync(join(dir, 'manifest.json'), manifest);
}

/** bigImage writes a dir: image with three layers over 1 MiB (img-blob-put's --jobs counts those). */
function bigImage(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const layers = [1, 2, 3].map((i) => Buffer.alloc(1_200_000 + i, i));
  const config = Buffer.from(JSON.stringify({ architecture: hostArch, os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }));
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  for (const b of [config, ...layers]) writeFileSync(join(dir, sha256(b).slice(7)), b);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    }),
  );
  return layers.map((l) => sha256(l));
}

async function started<X extends { stop(): Promise<void> }>(p: Promise<X>): Promise<X> {
  const x = await p;
  cleanup.push(() => x.stop());
  return x;
}

beforeAll(async () => {
  if (!ready) return;
  const pki = makePki(path('pki'));
  CA = certDir(pki, path('certs'));
  ts = await started(startTokenServer({ signingKey: pki.tokenKey, signingCert: pki.tokenCert, users: { [USER]: PASS }, anonymous: false, expiresIn: 3600 }));
  [S, T, P, Q] = await Promise.all([
    started(startRegistry({ auth: 'htpasswd', users: { [USER]: PASS }, tls: { cert: pki.serverCert, key: pki.serverKey } })),
    started(startRegistry({ auth: 'token', realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: pki.tokenCert })),
    started(startRegistry()),
    started(startRegistry()),
  ]);
  AUTHFILE = path('s-auth.json');
  writeFileSync(AUTHFILE, JSON.stringify({ auths: { [S.host]: { auth: BASIC } } }));
  CRED_ENV = { ...ENV, REGISTRY_AUTH_FILE: AUTHFILE };
  const scopes = ['tok/app', 'tok/in', 'tok/in/app'].map((r) => `repository:${r}:pull,push`).concat('registry:catalog:*');
  const tr = await exec('curl', [
    '-sf',
    '-u',
    `${USER}:${PASS}`,
    `${ts.realm}?service=${ts.service}&${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&')}`,
  ]);
  TOKEN = JSON.parse(tr.stdout).token;
  expect(TOKEN).toMatch(/^ey/);

  // gpg keys (one without and one with a passphrase; the agent caches nothing) and a sigstore key pair
  mkdirSync(ENV.GNUPGHOME!, { recursive: true, mode: 0o700 });
  writeFileSync(GPG.pass, 'gpg passphrase 1\n');
  writeFileSync(GPG.wrong, 'not the passphrase\n');
  const genKey = async (params: string) => {
    const r = await must(exec('gpg', ['--batch', '--pinentry-mode', 'loopback', '--status-fd', '1', '--gen-key'], params, ENV), 'gpg --gen-key');
    return /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(r.stdout)![1]!;
  };
  GPG.plain = await genKey('%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: flags plain\nExpire-Date: 0\n%commit\n');
  GPG.locked = await genKey(
    'Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: flags locked\nPassphrase: gpg passphrase 1\nExpire-Date: 0\n%commit\n',
  );
  writeFileSync(GPG.plainPub, (await must(exec('gpg', ['--batch', '--export', GPG.plain], undefined, ENV), 'export')).stdoutBytes);
  writeFileSync(GPG.lockedPub, (await must(exec('gpg', ['--batch', '--export', GPG.locked], undefined, ENV), 'export')).stdoutBytes);
  // from now on the agent caches no passphrase: a wrong --passphrase-file must fail after a right one
  writeFileSync(join(ENV.GNUPGHOME!, 'gpg-agent.conf'), 'default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n');
  await exec('gpgconf', ['--kill', 'gpg-agent'], undefined, ENV);
  writeFileSync(K.pass, 'sigstore pass\n');
  await must(img('img-sign', ['keygen', '--output-prefix', path('k'), '--passphrase-file', K.pass]), 'keygen');
  await must(img('img-sign', ['keygen', '--output-prefix', path('other'), '--passphrase-file', K.pass]), 'keygen');
  mkdirSync(RD);
  writeFileSync(join(RD, 'default.yaml'), `default-docker:\n  lookaside: file://${LOOKASIDE}\n  use-sigstore-attachments: true\n`);
  writeFileSync(POLICY.reject, '{"default":[{"type":"reject"}]}');
  writeFileSync(
    POLICY.sigstore,
    JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { '': [{ type: 'sigstoreSigned', keyPath: K.pub }] } } }),
  );

  // the test image, everywhere; app:1 is read only, "in" takes writes (its blobs are there)
  await umociImage(work, L, 'x');
  REC = records((await must(img('img-manifest', ['get', `oci:${L}:x`]), 'get')).stdout)[0]!;
  D = REC.digest;
  CONFIG = readFileSync(join(L, 'blobs', 'sha256', REC.manifest.config.digest.slice(7)));
  const sAccess = ['--cert-dir', CA, '--creds', `${USER}:${PASS}`];
  const tAccess = ['--tls-verify=false', '--creds', `${USER}:${PASS}`];
  await Promise.all([
    pushTo(`oci:${L}:x`, [`docker://${S.host}/app:1`, `docker://${S.host}/in:base`], sAccess),
    pushTo(`oci:${L}:x`, [`docker://${T.host}/tok/app:1`, `docker://${T.host}/tok/in:base`], tAccess),
    pushTo(
      `oci:${L}:x`,
      ['app:1', 'in:base', 'tags:1.0.0', 'tags:1.2.0', 'tags:2.0.0', 'tags:latest'].map((r) => `docker://${P.host}/${r}`),
      ['--tls-verify=false'],
    ),
    pushTo(`oci:${L}:x`, [`docker://${Q.host}/a/x:1`, `docker://${Q.host}/b/y:1`], ['--tls-verify=false']),
  ]);
  const v2 = async (reg: Registry, access: readonly string[]) => {
    const r = await must(
      img('img-copy', ['--format', 'v2s2', ...access.map((a) => a.replace(/^--/, '--dest-')), `oci:${L}:x`, `docker://${reg.host}/v2:1`]),
      'v2s2 copy',
    );
    V2 = records(r.stdout)[0]!.digest;
  };
  // sigstore signatures of every app:1
  const sign = (ref: string, access: readonly string[]) =>
    must(img('img-sign', ['sign', '--sigstore-private-key', K.priv, '--passphrase-file', K.pass, ...access, `docker://${ref}`]), `sign ${ref}`);
  await Promise.all([
    v2(S, sAccess),
    v2(P, ['--tls-verify=false']),
    sign(`${S.host}/app:1`, sAccess),
    sign(`${T.host}/tok/app:1`, tAccess),
    sign(`${P.host}/app:1`, ['--tls-verify=false']),
  ]);

  // P/multi:1, an index of five platforms; P/big:1, large layers
  const platforms = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'freebsd', architecture: hostArch },
  ];
  // One at a time: concurrent pushes into one repository can race in the registry (sync.test.ts).
  const entries = [];
  for (const p of platforms) {
    const name = [p.os, p.architecture, p.variant].filter(Boolean).join('-');
    platformImage(path('platforms', name), p);
    const r = await must(img('img-copy', ['--dest-tls-verify=false', `dir:${path('platforms', name)}`, `docker://${P.host}/multi:${name}`]), 'child');
    const rec = records(r.stdout)[0]!;
    multi[[p.os, p.architecture, p.variant].filter(Boolean).join('/')] = rec.digest;
    entries.push({ mediaType: rec.mediaType, digest: rec.digest, size: rec.size, platform: p });
  }
  const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
  multi.index = sha256(index);
  await must(img('img-manifest', ['put', '--tls-verify=false', `docker://${P.host}/multi:1`], JSON.stringify({ raw: index })), 'index put');
  BIG = bigImage(path('big'));
  mkdirSync(path('out'));
  const daemon = async () => {
    if (noDaemon !== undefined) return;
    dd = await started(startDockerd());
    await box.sk(['copy', '--dest-daemon-host', dd.host, `oci:${L}:x`, 'docker-daemon:flags/x:1']);
    DREC = records((await must(img('img-manifest', ['get', '--daemon-host', dd.host, 'docker-daemon:flags/x:1']), 'daemon get')).stdout)[0]!;
  };
  await Promise.all([must(img('img-copy', ['--dest-tls-verify=false', `dir:${path('big')}`, `docker://${P.host}/big:1`]), 'big'), daemon()]);
}, 240_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await exec('gpgconf', ['--kill', 'gpg-agent'], undefined, ENV);
  if (!ready) return;
  const all = outputs.join('\n');
  for (const secret of [PASS, BASIC, TOKEN]) expect(all.includes(secret), `a secret was printed: ${secret.slice(0, 8)}…`).toBe(false);
});

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------
const out = (name: string) => path('out', name);
const lines = (s: string) => s.split('\n').filter((l) => l !== '');
/** succeeded: exit 0, no error record, stderr clean (debug lines aside) */
function succeeded(r: Result): Record<string, any>[] {
  expect(r.status, r.stderr).toBe(0);
  expect(
    lines(r.stderr).filter((l) => !l.startsWith('debug: ')),
    r.stderr,
  ).toEqual([]);
  let recs: Record<string, any>[] = [];
  try {
    recs = records(r.stdout);
  } catch {
    /* not NDJSON */
  }
  for (const x of recs) expect(x.error, JSON.stringify(x.error)).toBeUndefined();
  return recs;
}
/** failed: exit 1 with `re` in stderr */
function failed(r: Result, re: RegExp): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
  expect(r.stderr).toMatch(re);
}
/** refused: a usage error, exit 2, one line on stderr naming `flag`, nothing on stdout */
function refused(r: Result, flag: string | RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(lines(r.stderr), r.stderr).toHaveLength(1);
  if (typeof flag === 'string') expect(r.stderr).toContain(flag);
  else expect(r.stderr).toMatch(flag);
}
const UNAUTHORIZED = /requires credentials|authentication to \S+ failed/;
const UNTRUSTED = /certificate is not trusted/;
const tagOf = (ref: string) => ref.slice(ref.lastIndexOf(':') + 1);

/** manifestAt reads a manifest from P or Q (open registries) by tag or digest; undefined when absent. */
async function manifestAt(reg: Registry, repo: string, ref: string): Promise<Buffer | undefined> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { headers: { accept: `${OCI_MANIFEST}, ${V2S2}, ${OCI_INDEX}` } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}
const attachmentAt = (reg: Registry, repo: string, digest: string) => manifestAt(reg, repo, `${digest.replace(':', '-')}.sig`);

/**
 * maxInFlight runs `fn` while polling `proxy` for requests whose URL matches `re` and that have
 * not been answered yet (the proxy stalls them): the most seen at once.
 */
async function maxInFlight<X>(proxy: FaultProxy, re: RegExp, fn: () => Promise<X>): Promise<{ result: X; max: number }> {
  let max = 0;
  let done = false;
  const poll = (async () => {
    while (!done) {
      max = Math.max(max, proxy.seen.filter((s) => re.test(s.url) && s.method === 'GET' && s.status === undefined).length);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await fn();
  done = true;
  await poll;
  return { result, max };
}
async function stalling(path: RegExp, ms = 600): Promise<FaultProxy> {
  const px = await started(startFaultProxy(P.host));
  px.setFaults([{ method: 'GET', path, stallMs: ms, times: Infinity }]);
  return px;
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------
type Scenario = (ctx: { skip: (note?: string) => void }) => Promise<void>;
const scenarios = new Map<string, Scenario>();
function scenario(key: string, fn: Scenario): void {
  if (scenarios.has(key)) throw new Error(`two scenarios for ${key}`);
  scenarios.set(key, fn);
}
/** memo shares identical runs (the "without" baselines) among scenarios. */
const memo = new Map<string, Promise<Result>>();
function once(key: unknown[], fn: () => Promise<Result>): Promise<Result> {
  const k = JSON.stringify(key);
  if (!memo.has(k)) memo.set(k, fn());
  return memo.get(k)!;
}

// ---- registry flag families ------------------------------------------------------------------
type Side = 'src' | 'dest';
type Kind = 'S' | 'T' | 'P';
interface Target {
  host: string;
  kind: Kind;
}
interface Probe {
  /** the key prefix: the command (and "img-sign sigstore") */
  cmd: string;
  /** takes --src-X and --dest-X */
  transfer: boolean;
  /** the side the registry under test is on for the plain --X flags */
  plainSide: Side;
  /** the side a fault proxy goes for --retry-times */
  retrySide?: Side;
  /** run the command with the registry under test `t` on `side` (the other end, if any, is P) */
  run(t: Target, side: Side, flags: string[], env: NodeJS.ProcessEnv): Promise<Result>;
  /** assert the success of run */
  ok(r: Result, t: Target, side: Side): void;
  /** --retry-times: the request that gets a 503 (default: the first GET below /v2/) */
  fault?: { method: string; path: RegExp };
  /** --retry-times: a run through a proxy in front of P when `run` cannot be it */
  retry?: { run(host: string, flags: string[]): Promise<Result>; ok(r: Result): void };
}
const tS = (): Target => ({ host: S.host, kind: 'S' });
const tT = (): Target => ({ host: T.host, kind: 'T' });
const tP = (): Target => ({ host: P.host, kind: 'P' });
const repo = (t: Target, name: 'app' | 'in') => (t.kind === 'T' ? `tok/${name}` : name);
const app = (t: Target) => `docker://${t.host}/${repo(t, 'app')}:1`;
const inRef = (t: Target) => `docker://${t.host}/${repo(t, 'in')}:${uniq()}`;
const NO_SIGN = ['--insecure-policy', '--remove-signatures'];
const recFor = (fields: Record<string, unknown>) => `${JSON.stringify({ ...REC, ...fields })}\n`;

const probes: Probe[] = [
  {
    cmd: 'img-tags',
    transfer: false,
    plainSide: 'src',
    run: (t, _s, flags, env) => img('img-tags', [`docker://${t.host}/${repo(t, 'app')}`, ...flags], undefined, env),
    ok: (r, t) => expect(succeeded(r).map((x) => x.ref)).toContain(app(t)),
  },
  {
    cmd: 'img-manifest',
    transfer: true,
    plainSide: 'src',
    run: (t, side, flags, env) =>
      side === 'src' ? img('img-manifest', ['get', app(t), ...flags], undefined, env) : img('img-manifest', ['put', inRef(t), ...flags], recFor({}), env),
    ok: (r) => expect(succeeded(r).map((x) => x.digest)).toEqual([D]),
  },
  {
    cmd: 'img-blob-get',
    transfer: false,
    plainSide: 'src',
    run: (t, _s, flags, env) => img('img-blob-get', [`docker://${t.host}/${repo(t, 'app')}@${REC.manifest.config.digest}`, ...flags], undefined, env),
    ok: (r) => {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdoutBytes.equals(CONFIG)).toBe(true);
    },
  },
  {
    // single REF mode for the destination, batch mode (records from the registry under test) for the source
    cmd: 'img-blob-put',
    transfer: true,
    plainSide: 'dest',
    fault: { method: 'POST', path: /\/blobs\/uploads\/$/ },
    run: (t, side, flags, env) =>
      side === 'dest'
        ? img('img-blob-put', [`docker://${t.host}/${repo(t, 'in')}`, ...flags], 'a blob for the flags test\n', env)
        : img('img-blob-put', ['--dest-tls-verify=false', ...flags], recFor({ ref: app(t), dest: `docker://${P.host}/bp-${uniq()}:1` }), env),
    ok: (r, _t, side) => {
      const [x] = succeeded(r);
      if (side === 'dest') expect(x!.digest).toBe(sha256('a blob for the flags test\n'));
      else expect(x!.blobs.copied + x!.blobs.mounted).toBe(REC.manifest.layers.length + 1);
    },
  },
  {
    // check reads the source's sigstore attachment; sign --sign-by-sigstore-private-key writes the destination's
    cmd: 'img-sign',
    transfer: true,
    plainSide: 'src',
    retrySide: 'dest',
    run: (t, side, flags, env) =>
      side === 'src'
        ? img('img-sign', ['check', `--policy=${POLICY.sigstore}`, `--registries.d=${RD}`, ...flags], recFor({ ref: app(t) }), env)
        : img(
            'img-sign',
            ['sign', `--sign-by-sigstore-private-key=${K.priv}`, `--passphrase-file=${K.pass}`, `--registries.d=${RD}`, ...flags],
            recFor({ dest: inRef(t) }),
            env,
          ),
    ok: (r) => expect(succeeded(r)).toHaveLength(1),
  },
  {
    cmd: 'img-sign sigstore',
    transfer: false,
    plainSide: 'src',
    run: (t, _s, flags, env) => img('img-sign', ['verify', `--sigstore-public-key=${K.pub}`, app(t), ...flags], undefined, env),
    ok: (r) => {
      succeeded(r);
      expect(r.stdout).toMatch(/^Signature verified using sigstore public key /);
    },
    // verify checks the identity signed, which names P, not the proxy: sign through the proxy instead
    retry: {
      run: (host, flags) => img('img-sign', ['sign', `--sigstore-private-key=${K.priv}`, `--passphrase-file=${K.pass}`, `docker://${host}/in:base`, ...flags]),
      ok: (r) => succeeded(r),
    },
  },
  {
    // without the img-sign stages (their registry flags are img-sign's scenarios): get, blob-put and put talk to the registries
    cmd: 'img-copy',
    transfer: true,
    plainSide: 'src',
    run: (t, side, flags, env) =>
      side === 'src'
        ? img('img-copy', [...NO_SIGN, '--dest-tls-verify=false', ...flags, app(t), inRef(tP())], undefined, env)
        : img('img-copy', [...NO_SIGN, '--src-tls-verify=false', ...flags, app(tP()), inRef(t)], undefined, env),
    ok: (r) => expect(succeeded(r).map((x) => x.digest)).toEqual([D]),
  },
  {
    cmd: 'img-sync',
    transfer: true,
    plainSide: 'src',
    run: (t, side, flags, env) =>
      side === 'src'
        ? img(
            'img-sync',
            [...NO_SIGN, '--src', 'docker', '--dest', 'docker', '--dest-tls-verify=false', ...flags, `${t.host}/${repo(t, 'app')}:1`, `${P.host}/s-${uniq()}`],
            undefined,
            env,
          )
        : img(
            'img-sync',
            [
              ...NO_SIGN,
              '--src',
              'docker',
              '--dest',
              'docker',
              '--src-tls-verify=false',
              ...flags,
              `${P.host}/app:1`,
              t.kind === 'T' ? `${t.host}/tok/in` : `${t.host}/s-${uniq()}`,
            ],
            undefined,
            env,
          ),
    ok: (r) => expect(succeeded(r).map((x) => x.digest)).toEqual([D]),
  },
];

/** insecureS is a registries.conf whose only entry makes S insecure (TLS not verified), written once. */
function insecureS(): string {
  const f = path('insecure-s.conf');
  if (!existsSync(f)) writeFileSync(f, `[[registry]]\nlocation = "${S.host}"\ninsecure = true\n`);
  return f;
}

function registryFamily(p: Probe): void {
  const R = (t: Target, side: Side, flags: string[], envName: 'plain' | 'creds' = 'plain') =>
    once([p.cmd, t.host, side, flags, envName], () => p.run(t, side, flags, envName === 'creds' ? CRED_ENV : ENV));
  const prefixes = p.transfer ? ['', 'src-', 'dest-'] : [''];
  for (const pre of prefixes) {
    const side: Side = pre === 'src-' ? 'src' : pre === 'dest-' ? 'dest' : p.plainSide;
    const creds = (pw = PASS, user = USER) => [`--${pre}creds`, `${user}:${pw}`];
    const ca = () => [`--${pre}cert-dir`, CA];
    const key = (flag: string) => `${p.cmd} --${pre}${flag}`;
    const ok = async (flags: string[], envName: 'plain' | 'creds' = 'plain') => p.ok(await R(tS(), side, flags, envName), tS(), side);

    scenario(key('creds'), async () => {
      await ok([...creds(), ...ca()]);
      failed(await R(tS(), side, [...creds(WRONG), ...ca()]), /authentication to \S+ failed: invalid username or password/);
    });
    scenario(key('username'), async () => {
      await ok([`--${pre}username`, USER, `--${pre}password`, PASS, ...ca()]);
      failed(await R(tS(), side, [`--${pre}username`, 'mallory', `--${pre}password`, PASS, ...ca()]), /invalid username or password/);
    });
    scenario(key('password'), async () => {
      await ok([`--${pre}username`, USER, `--${pre}password`, PASS, ...ca()]);
      failed(await R(tS(), side, [`--${pre}username`, USER, `--${pre}password`, WRONG, ...ca()]), /invalid username or password/);
    });
    scenario(key('registry-token'), async () => {
      const r = await R(tT(), side, [`--${pre}tls-verify=false`, `--${pre}registry-token`, TOKEN]);
      p.ok(r, tT(), side);
      failed(await R(tT(), side, [`--${pre}tls-verify=false`, `--${pre}registry-token`, 'not-a-token']), UNAUTHORIZED);
    });
    scenario(key('authfile'), async () => {
      await ok([`--${pre}authfile`, AUTHFILE, ...ca()]);
      failed(await R(tS(), side, ca()), /requires credentials/);
    });
    scenario(key('cert-dir'), async () => {
      await ok([...creds(), ...ca()]);
      failed(await R(tS(), side, creds()), UNTRUSTED);
    });
    scenario(key('tls-verify'), async () => {
      await ok([...creds(), `--${pre}tls-verify=false`]);
      failed(await R(tS(), side, creds()), UNTRUSTED);
    });
    scenario(key('no-creds'), async () => {
      // the default auth.json has S's credentials: used without the flag, left alone with it
      await ok(ca(), 'creds');
      failed(await R(tS(), side, [...ca(), `--${pre}no-creds`], 'creds'), /requires credentials/);
      // and anonymous access to an open registry works
      p.ok(await R(tP(), side, [`--${pre}tls-verify=false`, `--${pre}no-creds`]), tP(), side);
    });
  }

  /** throughP runs the command with P behind a fault proxy on the side retries are shown on; `once` makes the first request (or p.fault's) get a 503 and asserts success. */
  const throughP = async () => {
    const px = await started(startFaultProxy(P.host));
    const side = p.retrySide ?? p.plainSide;
    const t: Target = { host: px.host, kind: 'P' };
    const go = (flags: string[]) => (p.retry ? p.retry.run(px.host, ['--tls-verify=false', ...flags]) : p.run(t, side, ['--tls-verify=false', ...flags], ENV));
    const fault = { ...(p.fault ?? { method: 'GET', path: /^\/v2\// }), status: 503 };
    const once = async (flags: string[]) => {
      px.setFaults([fault]);
      const from = px.seen.length;
      const r = await go(flags);
      if (p.retry) p.retry.ok(r);
      else p.ok(r, t, side);
      expect(px.pending()).toEqual([]);
      return px.seen.slice(from);
    };
    return { px, go, fault, once };
  };
  scenario(`${p.cmd} --retry-times`, async () => {
    const { px, go, fault, once } = await throughP();
    // one request gets a 503: retried by default, fatal with --retry-times 0
    px.setFaults([fault]);
    failed(await go(['--retry-times', '0']), /503|unavailable/i);
    expect(px.pending()).toEqual([]);
    await once([]);
    refused(await go(['--retry-times', 'x']), '--retry-times');
  });
  scenario(`${p.cmd} --retry-delay`, async () => {
    // a 503 on the first request: retried 600 ms later with the flag, within milliseconds without it (the backoff, 10 ms here)
    const { go, once } = await throughP();
    const retriedAfter = async (flags: string[]) => {
      const seen = await once(flags);
      const i = seen.findIndex((s) => s.status === 503);
      const retry = seen.slice(i + 1).find((s) => s.method === seen[i]!.method && s.url.split('?')[0] === seen[i]!.url.split('?')[0]);
      return retry!.at - seen[i]!.at;
    };
    expect(await retriedAfter(['--retry-delay', '600ms'])).toBeGreaterThanOrEqual(550);
    expect(await retriedAfter([])).toBeLessThan(350);
    refused(await go(['--retry-delay', '5']), '--retry-delay');
    refused(await go(['--retry-delay', '-1s']), '--retry-delay');
  });
  scenario(`${p.cmd} --rate`, async () => {
    // --rate 2: the requests to a host go 500 ms apart from the first on (the bucket holds one
    // token); a 503 on the first request makes sure of a second one (the retry), 10 ms later without it
    const { go, once } = await throughP();
    const arrivals = async (flags: string[]) => {
      const start = Date.now();
      return { start, at: (await once(flags)).map((s) => s.at) };
    };
    const gaps = (at: number[]) => at.slice(1).map((a, i) => a - at[i]!);
    const paced = await arrivals(['--rate', '2']);
    // the k-th request cannot leave before k intervals: a bound that no delay on the way can break
    for (const [k, a] of paced.at.entries()) expect(a - paced.start).toBeGreaterThanOrEqual(k * 500);
    for (const g of gaps(paced.at)) expect(g).toBeGreaterThanOrEqual(350);
    expect(Math.min(...gaps((await arrivals([])).at))).toBeLessThan(350);
    refused(await go(['--rate', '0']), '--rate');
    refused(await go(['--rate', 'fast']), '--rate');
  });
  scenario(`${p.cmd} --registries-conf`, async () => {
    // a registries.conf that makes S insecure: no --cert-dir or --tls-verify=false needed
    const side = p.plainSide;
    const access = ['--creds', `${USER}:${PASS}`];
    p.ok(await R(tS(), side, [...access, '--registries-conf', insecureS()]), tS(), side);
    failed(await R(tS(), side, access), UNTRUSTED);
  });
  scenario(`${p.cmd} --debug`, async () => {
    const side = p.plainSide;
    const access = [`--creds`, `${USER}:${PASS}`, '--cert-dir', CA];
    const r = await R(tS(), side, [...access, '--debug']);
    p.ok(r, tS(), side);
    expect(r.stderr).toMatch(/^debug: (GET|HEAD|PUT|POST) https:\/\/127\.0\.0\.1:\d+\/v2\//m);
    for (const secret of [PASS, BASIC]) expect(r.stderr).not.toContain(secret);
    const quiet = await R(tS(), side, access);
    p.ok(quiet, tS(), side);
    expect(quiet.stderr).not.toContain('debug:');
  });
}
for (const p of probes) registryFamily(p);

// ---- img-login --------------------------------------------------------------------------------
{
  const login = (flags: string[], input?: string, env: NodeJS.ProcessEnv = ENV) => img('img-login', [...flags, S.host], input, env);
  const file = () => out(`login-${uniq()}.json`);
  const loggedIn = (r: Result, f: string) => {
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^Login Succeeded/m);
    expect(JSON.parse(readFileSync(f, 'utf8')).auths[S.host].auth).toBe(BASIC);
  };
  const loginOk = async (flags: string[], input?: string) => {
    const f = file();
    loggedIn(await login([...flags, '--authfile', f], input), f);
  };
  const loginFails = async (flags: string[], re: RegExp, input?: string) => {
    const f = file();
    failed(await login([...flags, '--authfile', f], input), re);
    expect(existsSync(f)).toBe(false);
  };
  scenario('img-login --username', async () => {
    await loginOk(['--cert-dir', CA, '--username', USER, '--password', PASS]);
    await loginFails(['--cert-dir', CA, '--username', 'mallory', '--password', PASS], /invalid username or password/);
  });
  scenario('img-login --password', async () => {
    await loginOk(['--cert-dir', CA, '-u', USER, '-p', PASS]);
    await loginFails(['--cert-dir', CA, '-u', USER, '-p', WRONG], /invalid username or password/);
  });
  scenario('img-login --password-stdin', async () => {
    await loginOk(['--cert-dir', CA, '-u', USER, '--password-stdin'], `${PASS}\n`);
    await loginFails(['--cert-dir', CA, '-u', USER, '--password-stdin'], /invalid username or password/, `${WRONG}\n`);
  });
  scenario('img-login --authfile', async () => {
    const env = { ...ENV, REGISTRY_AUTH_FILE: out(`login-default-${uniq()}.json`) };
    const f = file();
    loggedIn(await login(['--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', f], undefined, env), f);
    expect(existsSync(env.REGISTRY_AUTH_FILE)).toBe(false);
    loggedIn(await login(['--cert-dir', CA, '-u', USER, '-p', PASS], undefined, env), env.REGISTRY_AUTH_FILE);
  });
  scenario('img-login --cert-dir', async () => {
    await loginOk(['--cert-dir', CA, '-u', USER, '-p', PASS]);
    await loginFails(['-u', USER, '-p', PASS], UNTRUSTED);
  });
  scenario('img-login --tls-verify', async () => {
    await loginOk(['--tls-verify=false', '-u', USER, '-p', PASS]);
    await loginFails(['-u', USER, '-p', PASS], UNTRUSTED);
  });
  scenario('img-login --registries-conf', async () => {
    await loginOk(['-u', USER, '-p', PASS, '--registries-conf', insecureS()]);
    await loginFails(['-u', USER, '-p', PASS], UNTRUSTED);
  });
  scenario('img-login --retry-times', async () => {
    const px = await started(startFaultProxy(P.host));
    const f = file();
    px.setFaults([{ method: 'GET', path: /^\/v2\//, status: 503 }]);
    failed(await img('img-login', ['--tls-verify=false', '-u', 'x', '-p', 'y', '--authfile', f, '--retry-times', '0', px.host]), /503|unavailable/i);
    px.setFaults([{ method: 'GET', path: /^\/v2\//, status: 503 }]);
    const r = await img('img-login', ['--tls-verify=false', '-u', 'x', '-p', 'y', '--authfile', f, px.host]);
    expect(r.status, r.stderr).toBe(0);
    expect(px.pending()).toEqual([]);
  });
  scenario('img-login --retry-delay', async () => {
    const px = await started(startFaultProxy(P.host));
    const f = file();
    const arrivals = async (flags: string[]) => {
      px.setFaults([{ method: 'GET', path: /^\/v2\//, status: 503 }]);
      const from = px.seen.length;
      const r = await img('img-login', ['--tls-verify=false', '-u', 'x', '-p', 'y', '--authfile', f, ...flags, px.host]);
      expect(r.status, r.stderr).toBe(0);
      expect(px.pending()).toEqual([]);
      const [a, b] = px.seen.slice(from).map((s) => s.at);
      return b! - a!;
    };
    expect(await arrivals(['--retry-delay', '600ms'])).toBeGreaterThanOrEqual(550);
    expect(await arrivals([])).toBeLessThan(350);
    refused(await img('img-login', ['--tls-verify=false', '-u', 'x', '-p', 'y', '--authfile', f, '--retry-delay', 'soon', px.host]), '--retry-delay');
  });
  scenario('img-login --get-login', async () => {
    // the stored user on stdout, nothing asked and nothing checked; none stored: exit 1
    const f = file();
    writeFileSync(f, JSON.stringify({ auths: { [S.host]: { auth: BASIC } } }));
    const r = await img('img-login', ['--get-login', '--authfile', f, S.host]);
    expect([r.status, r.stdout], r.stderr).toEqual([0, `${USER}\n`]);
    const none = await img('img-login', ['--get-login', '--authfile', f, 'other.example']);
    expect([none.status, none.stdout]).toEqual([1, '']);
    expect(none.stderr).toMatch(/not logged into other\.example/);
    // without it, the stored credentials are checked with the registry
    const again = await login(['--cert-dir', CA, '--authfile', f]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^Existing credentials are valid\. Already logged in to /m);
  });
  scenario('img-login --compat-auth-file', async () => {
    const f = file();
    writeFileSync(f, JSON.stringify({ auths: {}, psFormat: 'table' }));
    const r = await login(['--cert-dir', CA, '-u', USER, '-p', PASS, '--compat-auth-file', f]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ auths: { [S.host]: { auth: BASIC } }, psFormat: 'table' });
    // Docker's config.json has no namespaces; and it is one file or the other
    refused(await img('img-login', ['--cert-dir', CA, '-u', USER, '-p', PASS, '--compat-auth-file', f, `${S.host}/team`]), /namespaced key/);
    refused(await img('img-login', ['-u', USER, '-p', PASS, '--compat-auth-file', f, '--authfile', file(), S.host]), /can not be set simultaneously/);
  });
  scenario('img-login --debug', async () => {
    const f = file();
    const r = await login(['--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', f, '--debug']);
    loggedIn(r, f);
    expect(r.stderr).toMatch(/^debug: GET https:\/\/.*\/v2\/ → 200$/m);
    for (const secret of [PASS, BASIC]) expect(r.stderr).not.toContain(secret);
    const g = file();
    const quiet = await login(['--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', g]);
    loggedIn(quiet, g);
    expect(quiet.stderr).not.toContain('debug:');
  });
}

// ---- img-logout, img-digest, img-ref ---------------------------------------------------------
scenario('img-logout --authfile', async () => {
  const entries = JSON.stringify({ auths: { [S.host]: { auth: BASIC }, 'other.example': { auth: BASIC } } });
  const f = out(`logout-${uniq()}.json`);
  const def = out(`logout-default-${uniq()}.json`);
  writeFileSync(f, entries);
  writeFileSync(def, entries);
  const env = { ...ENV, REGISTRY_AUTH_FILE: def };
  expect((await img('img-logout', ['--authfile', f, S.host], undefined, env)).status).toBe(0);
  expect(Object.keys(JSON.parse(readFileSync(f, 'utf8')).auths)).toEqual(['other.example']);
  expect(Object.keys(JSON.parse(readFileSync(def, 'utf8')).auths)).toEqual([S.host, 'other.example']);
  expect((await img('img-logout', [S.host], undefined, env)).status).toBe(0);
  expect(Object.keys(JSON.parse(readFileSync(def, 'utf8')).auths)).toEqual(['other.example']);
});
scenario('img-logout --compat-auth-file', async () => {
  const f = out(`logout-${uniq()}.json`);
  const def = out(`logout-default-${uniq()}.json`);
  const docker = { auths: { 'https://index.docker.io/v1/': { auth: BASIC }, [S.host]: { auth: BASIC } }, psFormat: 'table' };
  writeFileSync(f, JSON.stringify(docker));
  writeFileSync(def, JSON.stringify(docker));
  const env = { ...ENV, REGISTRY_AUTH_FILE: def };
  expect((await img('img-logout', ['--compat-auth-file', f, 'docker.io'], undefined, env)).status).toBe(0);
  expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ auths: { [S.host]: { auth: BASIC } }, psFormat: 'table' });
  expect(JSON.parse(readFileSync(def, 'utf8'))).toEqual(docker);
  refused(await img('img-logout', ['--compat-auth-file', f, `${S.host}/team`], undefined, env), /namespaced key/);
});
scenario('img-logout --all', async () => {
  const f = out(`logout-${uniq()}.json`);
  writeFileSync(f, JSON.stringify({ auths: { [S.host]: { auth: BASIC }, 'other.example': { auth: BASIC } } }));
  refused(await img('img-logout', ['--authfile', f]), /expected one REGISTRY, or --all/);
  const r = await img('img-logout', ['--all', '--authfile', f]);
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(readFileSync(f, 'utf8')).auths).toEqual({});
  refused(await img('img-logout', ['-a', '--authfile', f, S.host]), '--all');
});
scenario('img-digest --check', async () => {
  const f = out('digest-input');
  writeFileSync(f, 'some bytes\n');
  const good = await img('img-digest', ['--check', sha256('some bytes\n'), f]);
  expect(good.status, good.stderr).toBe(0);
  expect(good.stdout).toBe(`${sha256('some bytes\n')}\n`);
  const bad = await img('img-digest', ['--check', sha256('other'), f]);
  failed(bad, new RegExp(`has digest ${sha256('some bytes\n')}, not ${sha256('other')}`));
  refused(await img('img-digest', ['--check', 'sha256:nope', f]), '--check');
});
scenario('img-digest --algorithm', async () => {
  const r = await img('img-digest', ['--algorithm', 'sha512'], 'some bytes\n');
  expect(r.stdout).toBe(`sha512:${createHash('sha512').update('some bytes\n').digest('hex')}\n`);
  expect((await img('img-digest', [], 'some bytes\n')).stdout).toBe(`${sha256('some bytes\n')}\n`);
  refused(await img('img-digest', ['--algorithm', 'md5'], 'x'), '--algorithm');
  // --check names its algorithm; another --algorithm contradicts it
  refused(await img('img-digest', ['--algorithm', 'sha512', '--check', sha256('x')], 'x'), '--algorithm');
});
scenario('img-ref --to', async () => {
  const r = records((await img('img-ref', ['docker://h.example/team/app:1', '--to', 'docker://m.example/mirror'])).stdout);
  expect(r).toEqual([{ ref: 'docker://h.example/team/app:1', dest: 'docker://m.example/mirror/app:1' }]);
  expect(records((await img('img-ref', ['docker://h.example/team/app:1'])).stdout)).toEqual([{ ref: 'docker://h.example/team/app:1' }]);
});
scenario('img-ref --dest', async () => {
  const r = records((await img('img-ref', ['docker://h.example/team/app:1', 'dir:/x', '--dest', 'oci:/tmp/l:y'])).stdout);
  expect(r.map((x) => x.dest)).toEqual(['oci:/tmp/l:y', 'oci:/tmp/l:y']);
  refused(await img('img-ref', ['docker://h.example/a:1', '--dest', 'oci:/tmp/l:y', '--to', 'dir:/x']), /--dest and --to/);
});
scenario('img-ref --scoped', async () => {
  const r = records((await img('img-ref', ['docker://h.example/team/app:1', '--to', 'docker://m.example/mirror', '--scoped'])).stdout);
  expect(r[0]!.dest).toBe('docker://m.example/mirror/h.example/team/app:1');
  refused(await img('img-ref', ['docker://h.example/a:1', '--scoped']), '--scoped');
});
scenario('img-ref --shard', async () => {
  // 12 tags of 6 repositories in 3 shards: each tag in one shard, the tags of a repository together
  const refs = Array.from({ length: 12 }, (_, i) => `docker://h.example/team/app${i % 6}:${i}`);
  const to = ['--to', 'docker://m.example/mirror'];
  const all = records((await img('img-ref', [...refs, ...to])).stdout).map((x) => x.dest);
  const parts = [];
  for (let k = 0; k < 3; k++) parts.push(succeeded(await img('img-ref', [...refs, ...to, '--shard', `${k}/3`])).map((x) => x.dest as string));
  expect(parts.flat().sort()).toEqual([...all].sort());
  const repos = parts.map((part) => new Set(part.map((d) => d.replace(/:[^:/]+$/, ''))));
  expect(repos.reduce((n, r) => n + r.size, 0)).toBe(6);
  expect(parts.filter((part) => part.length > 0).length).toBeGreaterThan(1);
  // records on stdin are sharded by their dest
  const piped = succeeded(await img('img-ref', ['--shard', '0/3'], all.map((dest, i) => JSON.stringify({ ref: refs[i], dest })).join('\n')));
  expect(piped.map((x) => x.dest)).toEqual(parts[0]);
  refused(await img('img-ref', [...refs, ...to, '--shard', '3/3']), '--shard');
  refused(await img('img-ref', [...refs, '--shard', '0/3']), '--shard');
});
scenario('img-ref --append-suffix', async () => {
  const r = records((await img('img-ref', ['docker://h.example/team/app:1', '--to', 'docker://m.example/mirror', '--append-suffix', '-mirror'])).stdout);
  expect(r[0]!.dest).toBe('docker://m.example/mirror/app:1-mirror');
  refused(await img('img-ref', ['docker://h.example/a:1', '--append-suffix', '-x']), '--append-suffix');
});

// ---- img-tags --------------------------------------------------------------------------------
{
  const tags = async (flags: string[], src = `docker://${P.host}/tags`) =>
    succeeded(await once(['tags', flags, src], () => img('img-tags', ['--tls-verify=false', src, ...flags])))
      .map((x) => tagOf(x.ref))
      .sort();
  const ALL = ['1.0.0', '1.2.0', '2.0.0', 'latest'];
  scenario('img-tags --regex', async () => {
    expect(await tags(['--regex', '^1\\.'])).toEqual(['1.0.0', '1.2.0']);
    expect(await tags([])).toEqual(ALL);
    // a filter on tags where no tags are listed is refused
    refused(await img('img-tags', ['--tls-verify=false', '--catalog', `docker://${Q.host}`, '--regex', 'x']), '--regex');
  });
  scenario('img-tags --exclude', async () => {
    expect(await tags(['--exclude', '^1\\.'])).toEqual(['2.0.0', 'latest']);
    expect(await tags([])).toEqual(ALL);
    refused(await img('img-tags', ['--tls-verify=false', '--catalog', '--json', `docker://${Q.host}`, '--exclude', 'x']), '--exclude');
  });
  scenario('img-tags --semver', async () => {
    expect(await tags(['--semver', '>= 1.1'])).toEqual(['1.2.0', '2.0.0']);
    expect(await tags([])).toEqual(ALL);
  });
  scenario('img-tags --newest', async () => {
    expect(await tags(['--newest', '1'])).toEqual(['2.0.0']);
    expect(await tags([])).toEqual(ALL);
    refused(await img('img-tags', ['--tls-verify=false', `docker://${P.host}/tags`, '--newest', 'x']), '--newest');
  });
  scenario('img-tags --json', async () => {
    const r = await img('img-tags', ['--tls-verify=false', '--json', `docker://${P.host}/tags`, '--regex', '^1']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ Repository: `${P.host}/tags`, Tags: ['1.0.0', '1.2.0'] });
  });
  scenario('img-tags --catalog', async () => {
    const r = succeeded(await img('img-tags', ['--tls-verify=false', '--catalog', `docker://${Q.host}`]));
    expect(r.map((x) => x.ref)).toEqual([`docker://${Q.host}/a/x`, `docker://${Q.host}/b/y`]);
    const json = await img('img-tags', ['--tls-verify=false', '--catalog', '--json', `docker://${Q.host}`]);
    expect(JSON.parse(json.stdout)).toEqual({ Registry: Q.host, Repositories: ['a/x', 'b/y'] });
  });
  scenario('img-tags --tags', async () => {
    const r = succeeded(await img('img-tags', ['--tls-verify=false', '--catalog', '--tags', `docker://${Q.host}`]));
    expect(r.map((x) => x.ref)).toEqual([`docker://${Q.host}/a/x:1`, `docker://${Q.host}/b/y:1`]);
    refused(await img('img-tags', ['--tls-verify=false', '--tags', `docker://${Q.host}/a/x`]), '--tags');
  });
  const yaml = () => {
    const f = out(`sync-${uniq()}.yaml`);
    writeFileSync(f, `${P.host}:\n  tls-verify: false\n  images:\n    tags: ['1.0.0']\n${Q.host}:\n  tls-verify: false\n  images:\n    a/x: []\n`);
    return f;
  };
  scenario('img-tags --yaml', async () => {
    const r = succeeded(await img('img-tags', ['--yaml', yaml()]));
    expect(r.map((x) => x.ref)).toEqual([`docker://${P.host}/tags:1.0.0`, `docker://${Q.host}/a/x:1`]);
  });
  scenario('img-tags --registry', async () => {
    const r = succeeded(await img('img-tags', ['--yaml', yaml(), '--registry', Q.host]));
    expect(r.map((x) => x.ref)).toEqual([`docker://${Q.host}/a/x:1`]);
    refused(await img('img-tags', ['--registry', Q.host, `docker://${Q.host}/a/x`]), '--registry');
  });
}

// ---- img-blob-get ----------------------------------------------------------------------------
{
  const ref = () => `docker://${P.host}/app@${REC.manifest.config.digest}`;
  scenario('img-blob-get --output', async () => {
    const f = out(`blob-${uniq()}`);
    const r = await img('img-blob-get', ['--tls-verify=false', ref(), '-o', f]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(f).equals(CONFIG)).toBe(true);
  });
  scenario('img-blob-get --size', async () => {
    const good = await img('img-blob-get', ['--tls-verify=false', ref(), '--size', String(CONFIG.length)]);
    expect(good.status, good.stderr).toBe(0);
    failed(await img('img-blob-get', ['--tls-verify=false', ref(), '--size', String(CONFIG.length - 1)]), new RegExp(`expected ${CONFIG.length - 1}\\b`));
    failed(await img('img-blob-get', ['--tls-verify=false', ref(), '--size', String(CONFIG.length + 1)]), new RegExp(`expected ${CONFIG.length + 1}\\b`));
  });
}

// ---- img-blob-put ----------------------------------------------------------------------------
{
  const DATA = 'blob-put flags\n';
  const single = (flags: string[]) => img('img-blob-put', ['--tls-verify=false', `docker://${P.host}/in`, ...flags], DATA);
  /** batch copies the image at `src` (default P/app:1) to a new repository of P or to `dest` */
  const batch = (flags: string[], src = `docker://${P.host}/app:1`, dest = `docker://${P.host}/bp-${uniq()}:1`) =>
    sh(`img-manifest get --tls-verify=false ${q(src)} | jq -c --arg d ${q(dest)} '.dest = $d' | img-blob-put --tls-verify=false ${flags.map(q).join(' ')}`);
  const batchOk = async (flags: string[], src?: string, dest?: string) => succeeded(await batch(flags, src, dest))[0]!;
  scenario('img-blob-put --digest', async () => {
    expect(succeeded(await single(['--digest', sha256(DATA)]))[0]!.digest).toBe(sha256(DATA));
    failed(await single(['--digest', sha256('other')]), /content has digest/);
    refused(await img('img-blob-put', ['--digest', sha256(DATA)], recFor({ dest: `oci:${out('x')}:x` })), '--digest');
  });
  scenario('img-blob-put --size', async () => {
    succeeded(await single(['--size', String(DATA.length)]));
    failed(await single(['--size', String(DATA.length - 1)]), /more than the expected/);
    refused(await img('img-blob-put', ['--size', '3'], recFor({ dest: `oci:${out('x')}:x` })), '--size');
  });
  scenario('img-blob-put --media-type', async () => {
    expect(succeeded(await single(['--media-type', 'application/x-flags']))[0]).toMatchObject({ mediaType: 'application/x-flags', digest: sha256(DATA) });
    expect(succeeded(await single([]))[0]).not.toHaveProperty('mediaType');
    refused(await img('img-blob-put', ['--media-type', 'a/b'], recFor({ dest: `oci:${out('x')}:x` })), '--media-type');
  });
  scenario('img-blob-put --jobs', async () => {
    const px = await stalling(/\/blobs\/sha256:/);
    const big = (jobs: string) =>
      maxInFlight(px, new RegExp(BIG.map((d) => d.slice(7)).join('|')), () =>
        batch([`--jobs=${jobs}`], `docker://${px.host}/big:1`, `oci:${out(`jobs-${uniq()}`)}:x`),
      );
    const one = await big('1');
    succeeded(one.result);
    expect(one.max).toBe(1);
    const three = await big('3');
    succeeded(three.result);
    expect(three.max).toBeGreaterThan(1);
    for (const bad of ['0', 'x']) refused(await img('img-blob-put', [`--jobs=${bad}`], recFor({ dest: `oci:${out('x')}:x` })), '--jobs');
    refused(await single(['--jobs', '2']), '--jobs');
  });
  scenario('img-blob-put --progress', async () => {
    const r = await batch(['--progress=ndjson'], undefined, `oci:${out(`progress-${uniq()}`)}:x`);
    expect(r.status, r.stderr).toBe(0);
    const events = lines(r.stderr).map((l) => JSON.parse(l));
    expect(
      events
        .filter((e) => e.event === 'done')
        .map((e) => e.digest)
        .sort(),
    ).toEqual([REC.manifest.config.digest, ...REC.manifest.layers.map((l: any) => l.digest)].sort());
    const quiet = await batch([], undefined, `oci:${out(`progress-${uniq()}`)}:x`);
    expect(quiet.stderr).toBe('');
    refused(await img('img-blob-put', ['--progress=fancy'], recFor({ dest: `oci:${out('x')}:x` })), '--progress');
    refused(await single(['--progress=ndjson']), '--progress');
  });
  scenario('img-blob-put --quiet', async () => {
    refused(await img('img-blob-put', ['-q', '--progress=ndjson'], recFor({ dest: `oci:${out('x')}:x` })), /--quiet and --progress=ndjson/);
    refused(await single(['--quiet']), '--quiet');
    if (!have('script')) return;
    // on a terminal the bars show, unless --quiet
    const onTty = async (flags: string) => {
      const recs = out(`quiet-${uniq()}.json`);
      writeFileSync(recs, recFor({ ref: `docker://${P.host}/app:1`, dest: `oci:${out(`q-${uniq()}`)}:x` }));
      return sh(`script -qec ${q(`img-blob-put --tls-verify=false ${flags} < ${recs} > /dev/null`)} /dev/null < /dev/null`);
    };
    const bars = await onTty('');
    expect(bars.status, bars.stdout).toBe(0);
    expect(bars.stdout).toMatch(/[0-9a-f]{12}/);
    const q2 = await onTty('--quiet');
    expect(q2.status, q2.stdout).toBe(0);
    expect(q2.stdout.trim()).toBe('');
  });
  scenario('img-blob-put --dry-run', async () => {
    const dest = `docker://${P.host}/dry-${uniq()}:1`;
    const x = await batchOk(['--dry-run'], undefined, dest);
    expect(x.status).toBe('planned');
    expect(x.blobs.planned.map((b: any) => b.digest).sort()).toEqual([REC.manifest.config.digest, ...REC.manifest.layers.map((l: any) => l.digest)].sort());
    expect(await fetch(`${P.url}/v2/${dest.split('/').slice(3).join('/').split(':')[0]}/blobs/${REC.manifest.config.digest}`).then((r) => r.status)).toBe(404);
    refused(await single(['--dry-run']), '--dry-run');
  });
  scenario('img-blob-put --format', async () => {
    // a Docker config the conversion to OCI rewrites is left for img-manifest put to write
    const n = REC.manifest.layers.length + 1;
    const without = await batchOk([], `docker://${P.host}/v2:1`);
    expect(without.blobs.copied + without.blobs.mounted).toBe(n);
    const withFormat = await batchOk(['--format', 'oci'], `docker://${P.host}/v2:1`);
    expect(withFormat.blobs.copied + withFormat.blobs.mounted).toBe(n - 1);
    refused(await img('img-blob-put', ['--format', 'v3'], recFor({ dest: `oci:${out('x')}:x` })), '--format');
    refused(await single(['--format', 'oci']), '--format');
  });
  scenario('img-blob-put --preserve-digests', async () => {
    // oci: holds only OCI, so put converts a v2s2 image there (leaving its config to put) unless digests are preserved
    const n = REC.manifest.layers.length + 1;
    const plain = await batchOk([], `docker://${P.host}/v2:1`, `oci:${out(`pd-${uniq()}`)}:x`);
    expect(plain.blobs.copied).toBe(n - 1);
    const kept = await batchOk(['--preserve-digests'], `docker://${P.host}/v2:1`, `oci:${out(`pd-${uniq()}`)}:x`);
    expect(kept.blobs.copied).toBe(n);
    refused(await single(['--preserve-digests']), '--preserve-digests');
  });
}

// ---- img-manifest ----------------------------------------------------------------------------
{
  const get = (flags: string[], refs = [`docker://${P.host}/app:1`]) =>
    once(['get', flags, refs], () => img('img-manifest', ['get', '--tls-verify=false', ...flags, ...refs]));
  const multiRef = () => `docker://${P.host}/multi:1`;
  const digests = async (flags: string[], refs?: string[]) => succeeded(await get(flags, refs)).map((x) => x.digest);
  scenario('img-manifest --all', async () => {
    const all = await digests(['--all'], [multiRef()]);
    expect(all).toHaveLength(6);
    expect(all.slice(-1)).toEqual([multi.index]);
    expect(new Set(all)).toEqual(new Set(Object.values(multi)));
    expect(await digests([], [multiRef()])).toEqual([multi.index]);
  });
  scenario('img-manifest --multi-arch', async () => {
    expect(await digests(['--multi-arch', 'system'], [multiRef()])).toEqual([multi[`linux/${hostArch}`]]);
    expect(await digests(['--multi-arch', 'all'], [multiRef()])).toHaveLength(6);
    expect(await digests(['--multi-arch', 'index-only'], [multiRef()])).toEqual([multi.index]);
    refused(await get(['--multi-arch', 'some'], [multiRef()]), '--multi-arch');
  });
  scenario('img-manifest --platform', async () => {
    expect(await digests(['--platform', 'linux/arm/v6'], [multiRef()])).toEqual([multi['linux/arm/v6']]);
    const two = succeeded(await get(['--platform', 'linux/arm64', '--platform', 'freebsd/' + hostArch], [multiRef()]));
    expect(two.slice(0, 2).map((x) => x.digest)).toEqual([multi['linux/arm64'], multi[`freebsd/${hostArch}`]]);
    expect(two[2]!.manifest.manifests.map((m: any) => m.digest)).toEqual([multi['linux/arm64'], multi[`freebsd/${hostArch}`]]);
    // --raw --config: the config of the image for the platform
    const raw = await img('img-manifest', ['get', '--tls-verify=false', '--raw', '--config', '--platform', 'linux/arm/v7', multiRef()]);
    expect(JSON.parse(raw.stdout)).toMatchObject({ architecture: 'arm', variant: 'v7' });
  });
  // skopeo's names for one --platform, the rest from this machine
  scenario('img-manifest --override-arch', async () => {
    expect(await digests(['--override-arch', 'arm64'], [multiRef()])).toEqual([multi['linux/arm64']]);
    expect(await digests([], [multiRef()])).toEqual([multi.index]);
    refused(await get(['--override-arch', 'arm64', '--platform', 'linux/arm64'], [multiRef()]), /--platform and --override-arch exclude each other/);
    // with --all nothing is chosen: every image, as without it
    expect(await digests(['--all', '--override-arch', 'arm64'], [multiRef()])).toEqual(await digests(['--all'], [multiRef()]));
  });
  scenario('img-manifest --override-os', async () => {
    expect(await digests(['--override-os', 'freebsd'], [multiRef()])).toEqual([multi[`freebsd/${hostArch}`]]);
    // --raw --config: the config of the image picked
    const raw = await img('img-manifest', ['get', '--tls-verify=false', '--raw', '--config', '--override-os', 'freebsd', multiRef()]);
    expect(JSON.parse(raw.stdout)).toMatchObject({ os: 'freebsd', architecture: hostArch });
  });
  scenario('img-manifest --override-variant', async () => {
    expect(await digests(['--override-arch', 'arm', '--override-variant', 'v6'], [multiRef()])).toEqual([multi['linux/arm/v6']]);
    expect(await digests(['--override-arch', 'arm', '--override-variant', 'v7'], [multiRef()])).toEqual([multi['linux/arm/v7']]);
  });
  scenario('img-manifest --raw', async () => {
    const r = await img('img-manifest', ['get', '--tls-verify=false', '--raw', `docker://${P.host}/app:1`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(REC.raw);
    expect(records((await get([])).stdout)[0]!.raw).toBe(REC.raw);
    refused(await img('img-manifest', ['get', '--tls-verify=false', '--raw', '--all', multiRef()]), '--all');
  });
  scenario('img-manifest --config', async () => {
    const [x] = succeeded(await get(['--config']));
    expect(x!.config).toEqual(JSON.parse(CONFIG.toString()));
    expect(records((await get([])).stdout)[0]).not.toHaveProperty('config');
    const raw = await img('img-manifest', ['get', '--tls-verify=false', '--raw', '--config', `docker://${P.host}/app:1`]);
    expect(raw.stdoutBytes.equals(CONFIG)).toBe(true);
  });
  scenario('img-manifest --inspect', async () => {
    const r = await img('img-manifest', ['get', '--tls-verify=false', '--inspect', `docker://${P.host}/tags:1.0.0`]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ Name: `${P.host}/tags`, Digest: D });
    expect(doc.RepoTags.sort()).toEqual(['1.0.0', '1.2.0', '2.0.0', 'latest']);
  });
  scenario('img-manifest --no-tags', async () => {
    const r = await img('img-manifest', ['get', '--tls-verify=false', '--inspect', '--no-tags', `docker://${P.host}/tags:1.0.0`]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ Digest: D, RepoTags: [] });
    refused(await img('img-manifest', ['get', '--tls-verify=false', '--no-tags', `docker://${P.host}/tags:1.0.0`]), '--no-tags');
  });
  scenario('img-manifest --manifest-digest', async () => {
    const inspect = (flags: string[]) =>
      img('img-manifest', ['get', '--tls-verify=false', '--inspect', '--no-tags', ...flags, `docker://${P.host}/tags:1.0.0`]);
    const d512 = JSON.parse((await inspect(['--manifest-digest', 'sha512'])).stdout).Digest as string;
    expect(d512).toMatch(/^sha512:[0-9a-f]{128}$/);
    expect(JSON.parse((await inspect(['--manifest-digest='])).stdout).Digest).toBe(D);
    refused(await inspect(['--manifest-digest', 'md5']), '--manifest-digest');
    refused(await img('img-manifest', ['get', '--tls-verify=false', '--manifest-digest', 'sha512', `docker://${P.host}/tags:1.0.0`]), '--manifest-digest');
  });
  scenario('img-manifest --format', async () => {
    // put converts
    const put = async (flags: string[]) =>
      succeeded(await img('img-manifest', ['put', '--tls-verify=false', ...flags, `docker://${P.host}/in:${uniq()}`], recFor({})))[0]!;
    expect((await put(['--format', 'v2s2'])).mediaType).toBe(V2S2);
    expect((await put([])).mediaType).toBe(OCI_MANIFEST);
    refused(await img('img-manifest', ['put', '--format', 'v3', `oci:${out('x')}:x`], recFor({})), '--format');
    // get: a Go template for --inspect, as skopeo inspect --format; without --inspect refused
    const t = await img('img-manifest', ['get', '--tls-verify=false', '--inspect', '--format', '{{.Digest}}', `docker://${P.host}/app:1`]);
    expect(t.stdout, t.stderr).toBe(`${D}\n`);
    refused(await img('img-manifest', ['get', '--tls-verify=false', '--format', 'oci', `docker://${P.host}/app:1`]), '--format');
  });
  scenario('img-manifest --preserve-digests', async () => {
    const r = await img('img-manifest', ['put', '--tls-verify=false', '--format', 'v2s2', '--preserve-digests', `docker://${P.host}/in:${uniq()}`], recFor({}));
    failed(r, /digest/);
    expect(
      succeeded(await img('img-manifest', ['put', '--tls-verify=false', '--preserve-digests', `docker://${P.host}/in:${uniq()}`], recFor({})))[0]!.digest,
    ).toBe(D);
  });
  scenario('img-manifest --additional-tag', async () => {
    // a docker-archive: DEST names the image so too, after its own name; any other DEST refuses it
    const tarPath = out(`at-${uniq()}.tar`);
    succeeded(
      await img('img-manifest', ['put', '--additional-tag', 'extra:2', '--additional-tag=example.com/a/b:3', `docker-archive:${tarPath}:app:1`], recFor({})),
    );
    const listed = await img('img-tags', ['--json', `docker-archive:${tarPath}`]);
    expect(JSON.parse(listed.stdout).Tags).toEqual(['docker.io/library/app:1', 'docker.io/library/extra:2', 'example.com/a/b:3']);
    const plain = out(`at-${uniq()}.tar`);
    succeeded(await img('img-manifest', ['put', `docker-archive:${plain}:app:1`], recFor({})));
    expect(JSON.parse((await img('img-tags', ['--json', `docker-archive:${plain}`])).stdout).Tags).toEqual(['docker.io/library/app:1']);
    failed(
      await img('img-manifest', ['put', '--additional-tag', 'extra:2', `oci:${out(`at-${uniq()}`)}:x`], recFor({})),
      /--additional-tag: oci:.* keeps no names of its own/,
    );
    refused(
      await img('img-manifest', ['put', '--additional-tag', 'extra', `docker-archive:${out('x.tar')}`], recFor({})),
      /additional-tag 'extra' must be a tagged reference/,
    );
  });
  scenario('img-manifest --missing-at-dest', async () => {
    const input = recFor({ ref: `docker://${P.host}/app:1`, dest: `docker://${P.host}/in:base` });
    const r = succeeded(await img('img-manifest', ['get', '--tls-verify=false', '--missing-at-dest'], input));
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ status: 'exists', digest: D });
    const plain = succeeded(await img('img-manifest', ['get', '--tls-verify=false'], input));
    expect(plain[0]).not.toHaveProperty('status');
    // the --dest-X flags are for that check: refused without it
    refused(await img('img-manifest', ['get', '--tls-verify=false', '--dest-creds', 'a:b'], input), '--dest-creds');
  });
  scenario('img-manifest --jobs', async () => {
    const px = await stalling(/\/manifests\//, 500);
    const refs = ['app:1', 'tags:1.0.0', 'tags:1.2.0', 'v2:1'].map((r) => `docker://${px.host}/${r}`);
    const run = (jobs: string) => maxInFlight(px, /\/manifests\//, () => img('img-manifest', ['get', '--tls-verify=false', `--jobs=${jobs}`, ...refs]));
    const one = await run('1');
    expect(succeeded(one.result)).toHaveLength(4);
    expect(one.max).toBe(1);
    const four = await run('4');
    expect(succeeded(four.result).map((x) => x.ref)).toEqual(refs);
    expect(four.max).toBeGreaterThan(1);
    for (const bad of ['0', 'x']) refused(await img('img-manifest', ['get', `--jobs=${bad}`, `oci:${L}:x`]), '--jobs');
  });
}

// ---- img-sign (record stages and simple signing) ----------------------------------------------
{
  const manifestFile = out('sign-manifest.json');
  const REF = 'registry.example/team/app:1';
  const standalone = (flags: string[], key: string) => {
    writeFileSync(manifestFile, REC.raw);
    return img('img-sign', ['sign', ...flags, manifestFile, REF, key]);
  };
  scenario('img-sign --output', async () => {
    const sig = out(`sig-${uniq()}`);
    const r = await standalone(['--output', sig], GPG.plain);
    expect(r.status, r.stderr).toBe(0);
    const v = await img('img-sign', ['verify', manifestFile, REF, GPG.plain, sig]);
    expect(v.stdout).toBe(`Signature verified using fingerprint ${GPG.plain}, digest ${D}\n`);
    refused(await standalone([], GPG.plain), '--output');
    // a registry flag is no use to the standalone signer
    refused(await standalone(['-o', sig, '--creds', 'a:b'], GPG.plain), '--creds');
  });
  scenario('img-sign --passphrase-file', async () => {
    const sig = out(`sig-${uniq()}`);
    expect((await standalone(['-o', sig, '--passphrase-file', GPG.pass], GPG.locked)).status).toBe(0);
    failed(await standalone(['-o', out(`sig-${uniq()}`), '--passphrase-file', GPG.wrong], GPG.locked), /bad passphrase/);
    expect((await img('img-sign', ['verify', manifestFile, REF, GPG.locked, sig])).status).toBe(0);
  });
  scenario('img-sign --public-key-file', async () => {
    const sig = out(`sig-${uniq()}`);
    expect((await standalone(['-o', sig], GPG.plain)).status).toBe(0);
    const v = await img('img-sign', ['verify', '--public-key-file', GPG.plainPub, manifestFile, REF, 'any', sig], undefined, {
      ...ENV,
      GNUPGHOME: out(`empty-gnupg-${uniq()}`),
    });
    expect(v.stdout, v.stderr).toBe(`Signature verified using fingerprint ${GPG.plain}, digest ${D}\n`);
    const other = await img('img-sign', ['verify', '--public-key-file', GPG.lockedPub, manifestFile, REF, 'any', sig]);
    expect(other.status).toBe(1);
  });
  scenario('img-sign --sign-by', async () => {
    const dest = `docker://${P.host}/sb-${uniq()}:1`;
    const r = await img('img-sign', ['sign', '--sign-by', GPG.plain, `--registries.d=${RD}`, '--tls-verify=false'], recFor({ dest }));
    succeeded(r);
    const repoName = dest.split('/')[3]!.split(':')[0]!;
    expect(readdirSync(join(LOOKASIDE, `${repoName}@${D.replace(':', '=')}`))).toEqual(['signature-1']);
  });
  scenario('img-sign --sign-identity', async () => {
    const dest = `docker://${P.host}/sid-${uniq()}:1`;
    const ID = 'registry.example/team/app:1';
    succeeded(await img('img-sign', ['sign', '--sign-by', GPG.plain, '--sign-identity', ID, `--registries.d=${RD}`, '--tls-verify=false'], recFor({ dest })));
    const repoName = dest.split('/')[3]!.split(':')[0]!;
    const sig = join(LOOKASIDE, `${repoName}@${D.replace(':', '=')}`, 'signature-1');
    writeFileSync(manifestFile, REC.raw);
    expect((await img('img-sign', ['verify', manifestFile, ID, GPG.plain, sig])).status).toBe(0);
    expect((await img('img-sign', ['verify', manifestFile, dest.slice('docker://'.length), GPG.plain, sig])).status).toBe(1);
    // a sigstore signature into a dir: destination, named by --sign-identity
    const dir = out(`sid-${uniq()}`);
    await must(img('img-copy', ['--insecure-policy', `oci:${L}:x`, `dir:${dir}`]), 'copy to dir:');
    succeeded(
      await img(
        'img-sign',
        ['sign', `--sign-by-sigstore-private-key=${K.priv}`, `--passphrase-file=${K.pass}`, '--sign-identity', ID],
        recFor({ dest: `dir:${dir}` }),
      ),
    );
    // containers/image's stored form: "\0sigstore-json\n", then the JSON; its payload names ID
    const stored = readFileSync(join(dir, 'signature-1'));
    expect(stored.subarray(0, 15).toString('latin1')).toBe('\0sigstore-json\n');
    const payload = JSON.parse(Buffer.from(JSON.parse(stored.subarray(15).toString()).payload, 'base64').toString());
    expect(payload.critical.identity['docker-reference']).toBe(ID);
    refused(await img('img-sign', ['sign', '--sign-by', GPG.plain, '--sign-identity', 'team/app:1'], recFor({ dest })), /must be canonical/);
    // the plain signer signs a MANIFEST for its DOCKER-REFERENCE
    refused(await standalone(['-o', out(`sig-${uniq()}`), '--sign-identity', ID], GPG.plain), '--sign-identity');
  });
  scenario('img-sign --sign-by-sigstore-private-key', async () => {
    const dest = `docker://${P.host}/ss-${uniq()}:1`;
    succeeded(
      await img(
        'img-sign',
        ['sign', `--sign-by-sigstore-private-key=${K.priv}`, `--passphrase-file=${K.pass}`, `--registries.d=${RD}`, '--tls-verify=false'],
        recFor({ dest }),
      ),
    );
    expect(await attachmentAt(P, dest.split('/')[3]!.split(':')[0]!, D)).toBeDefined();
  });
  scenario('img-sign --policy', async () => {
    const input = recFor({ ref: `docker://${P.host}/app:1` });
    succeeded(await img('img-sign', ['check', '--tls-verify=false'], input));
    const r = await img('img-sign', ['check', '--tls-verify=false', '--policy', POLICY.reject], input);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error.code).toBe('POLICY_DENIED');
  });
  scenario('img-sign --require-signed', async () => {
    const input = recFor({ ref: `docker://${P.host}/app:1` });
    succeeded(await img('img-sign', ['check', '--tls-verify=false'], input));
    const r = await img('img-sign', ['check', '--tls-verify=false', '--require-signed'], input);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error.code).toBe('POLICY_DENIED');
    expect(records(r.stdout)[0]!.error.message).toMatch(/No signature verification policy found for image/);
    succeeded(await img('img-sign', ['check', '--tls-verify=false', '--require-signed', '--policy', POLICY.sigstore, '--registries.d', RD], input));
  });
  scenario('img-sign --registries.d', async () => {
    const input = recFor({ ref: `docker://${P.host}/app:1` });
    succeeded(await img('img-sign', ['check', '--tls-verify=false', '--policy', POLICY.sigstore, '--registries.d', RD], input));
    const r = await img('img-sign', ['check', '--tls-verify=false', '--policy', POLICY.sigstore], input);
    expect(records(r.stdout)[0]!.error.code).toBe('POLICY_DENIED');
    expect(r.stderr).toMatch(/does not set use-sigstore-attachments/);
  });
  scenario('img-sign --jobs', async () => {
    // img-sign copy reads each record's source attachment through a proxy that stalls manifests
    const px = await stalling(/\/manifests\/sha256-[0-9a-f]+\.sig$/, 500);
    const input = (n: number) => [1, 2, 3, 4].map(() => recFor({ ref: `docker://${px.host}/app:1`, dest: `docker://${P.host}/sj-${n}-${uniq()}:1` })).join('');
    const run = (jobs: string, n: number) =>
      maxInFlight(px, /\.sig$/, () => img('img-sign', ['copy', '--tls-verify=false', `--registries.d=${RD}`, `--jobs=${jobs}`], input(n)));
    const one = await run('1', 1);
    expect(succeeded(one.result)).toHaveLength(4);
    expect(one.max).toBe(1);
    const four = await run('4', 4);
    expect(succeeded(four.result)).toHaveLength(4);
    expect(four.max).toBeGreaterThan(1);
    for (const bad of ['0', 'x']) refused(await img('img-sign', ['copy', `--jobs=${bad}`], input(0)), '--jobs');
  });
}

// ---- img-sign keygen / sign / verify (sigstore) ---------------------------------------------
{
  scenario('img-sign sigstore --output-prefix', async () => {
    const prefix = out(`key-${uniq()}`);
    const r = await img('img-sign', ['keygen', '--output-prefix', prefix, '--passphrase-file', K.pass]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(`${prefix}.pub`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(readFileSync(`${prefix}.private`, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/);
    refused(await img('img-sign', ['keygen', '--passphrase-file', K.pass]), '--output-prefix');
  });
  scenario('img-sign sigstore --passphrase-file', async () => {
    // keygen without it asks on the terminal: there is none here
    refused(await img('img-sign', ['keygen', '--output-prefix', out(`key-${uniq()}`)]), /passphrase/);
    const wrong = out('wrong-sigstore-pass');
    writeFileSync(wrong, 'nope\n');
    const sign = (pf: string) =>
      img('img-sign', ['sign', '--tls-verify=false', '--sigstore-private-key', K.priv, '--passphrase-file', pf, `docker://${P.host}/in:base`]);
    expect((await sign(K.pass)).status).toBe(0);
    failed(await sign(wrong), /private key|passphrase|decrypt/i);
  });
  scenario('img-sign sigstore --sigstore-private-key', async () => {
    const dest = `${P.host}/sp-${uniq()}`;
    await pushTo(`oci:${L}:x`, [`docker://${dest}:1`], ['--tls-verify=false']);
    const verify = () => img('img-sign', ['verify', '--tls-verify=false', '--sigstore-public-key', K.pub, `docker://${dest}:1`]);
    expect((await verify()).status).toBe(1);
    succeeded(await img('img-sign', ['sign', '--tls-verify=false', '--sigstore-private-key', K.priv, '--passphrase-file', K.pass, `docker://${dest}:1`]));
    const v = await verify();
    succeeded(v);
    expect(v.stdout).toMatch(/^Signature verified/);
  });
  scenario('img-sign sigstore --sigstore-public-key', async () => {
    const v = (key: string) => img('img-sign', ['verify', '--tls-verify=false', '--sigstore-public-key', key, `docker://${P.host}/app:1`]);
    expect((await v(K.pub)).stdout).toBe(`Signature verified using sigstore public key ${K.pub}, digest ${D}\n`);
    expect((await v(K.other)).status).toBe(1);
    expect((await v(`${K.other},${K.pub}`)).status).toBe(0);
  });
  scenario('img-sign sigstore --sign-identity', async () => {
    const dest = `${P.host}/si-${uniq()}`;
    await pushTo(`oci:${L}:x`, [`docker://${dest}:1`], ['--tls-verify=false']);
    succeeded(
      await img('img-sign', [
        'sign',
        '--tls-verify=false',
        '--sigstore-private-key',
        K.priv,
        '--passphrase-file',
        K.pass,
        '--sign-identity',
        `${dest}:other`,
        `docker://${dest}:1`,
      ]),
    );
    // the signature names :other, so it does not verify for :1
    failed(await img('img-sign', ['verify', '--tls-verify=false', '--sigstore-public-key', K.pub, `docker://${dest}:1`]), /identity|reference|does not match/i);
  });
}

// ---- img-copy and img-sync: what they share ---------------------------------------------------
interface Mover {
  cmd: 'img-copy' | 'img-sync';
  /** copy SRC (a docker:// or local image) to a fresh local or registry destination */
  run(src: string, flags: string[], opts?: { dest?: string; env?: NodeJS.ProcessEnv }): Promise<Result>;
}
const copier: Mover = {
  cmd: 'img-copy',
  run: (src, flags, opts = {}) =>
    img('img-copy', ['--tls-verify=false', ...flags, src, opts.dest ?? `oci:${out(`c-${uniq()}`)}:x`], undefined, opts.env ?? ENV),
};
const syncer: Mover = {
  cmd: 'img-sync',
  run: (src, flags, opts = {}) => {
    const [kind, rest] = src.startsWith('docker://') ? ['docker', src.slice(9)] : src.startsWith('dir:') ? ['dir', src.slice(4)] : ['oci', src.slice(4)];
    const dest = opts.dest ?? `oci:${out(`s-${uniq()}`)}`;
    const [dkind, drest] = dest.startsWith('docker://') ? ['docker', dest.slice(9)] : dest.startsWith('dir:') ? ['dir', dest.slice(4)] : ['oci', dest.slice(4)];
    return img('img-sync', ['--tls-verify=false', '--src', kind!, '--dest', dkind!, ...flags, rest!, drest!], undefined, opts.env ?? ENV);
  },
};
/** landed is the repository and tag in P where a mover's copy of `src` (docker://P/REPO:TAG) to docker:// `dest` is. */
function landed(m: Mover, src: string, dest: string): { repo: string; tag: string } {
  const path = dest.slice('docker://'.length).split('/').slice(1).join('/');
  if (m.cmd === 'img-copy') return { repo: path.split(':')[0]!, tag: path.split(':')[1]! };
  const [srcRepo, tag] = src.slice('docker://'.length).split('/').slice(1).join('/').split(':');
  return { repo: `${path}/${srcRepo!.split('/').pop()}`, tag: tag! };
}
const moverDest = (m: Mover) => (m.cmd === 'img-copy' ? `docker://${P.host}/m-${uniq()}:1` : `docker://${P.host}/m-${uniq()}`);

for (const m of [copier, syncer]) {
  const key = (flag: string) => `${m.cmd} --${flag}`;
  const pApp = () => `docker://${P.host}/app:1`;
  const top = (r: Result) => succeeded(r).filter((x) => x.parent === undefined);
  const multiRef = () => `docker://${P.host}/multi:1`;
  // (P/multi's layers are uncompressed: kept so in the oci: destination, the copies have the source's digests)
  const picks = async (flags: string[]) =>
    succeeded(await once([m.cmd, 'picks', flags], () => m.run(multiRef(), [...flags, '--dest-oci-accept-uncompressed-layers']))).map((x) => x.digest);
  /** baseline: P/app:1 copied to a fresh oci: layout with no flags, shared */
  const baseline = () => once([m.cmd, 'baseline'], () => m.run(pApp(), []));

  scenario(key('all'), async () => {
    const all = await picks(['--all']);
    expect(new Set(all)).toEqual(new Set(Object.values(multi)));
    expect(await picks([])).toEqual([multi[`linux/${hostArch}`]]);
  });
  scenario(key('multi-arch'), async () => {
    expect(new Set(await picks(['--multi-arch', 'all']))).toEqual(new Set(Object.values(multi)));
    expect(await picks(['--multi-arch', 'system'])).toEqual([multi[`linux/${hostArch}`]]);
    refused(await m.run(multiRef(), ['--multi-arch', 'most']), '--multi-arch');
    refused(await m.run(multiRef(), ['--all', '--multi-arch', 'system']), /--all and --multi-arch/);
  });
  scenario(key('platform'), async () => {
    expect(await picks(['--platform', 'linux/arm64'])).toEqual([multi['linux/arm64']]);
    // repeated: those children and an index of them
    const two = await picks(['--platform', 'linux/arm64', '--platform', 'linux/arm/v7']);
    expect(two).toHaveLength(3);
    expect(new Set(two.slice(0, 2))).toEqual(new Set([multi['linux/arm64'], multi['linux/arm/v7']]));
  });
  scenario(key('format'), async () => {
    const conv = top(await m.run(pApp(), ['--format', 'v2s2'], { dest: moverDest(m) }));
    expect(conv.map((x) => x.mediaType)).toEqual([V2S2]);
    expect(top(await baseline()).map((x) => x.mediaType)).toEqual([OCI_MANIFEST]);
    if (m.cmd === 'img-sync') {
      // from a TLS source whose certificate is not verified, the conversion reads the source's config too
      const r = await img('img-sync', [
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--src-creds',
        `${USER}:${PASS}`,
        '--dest-tls-verify=false',
        '--format',
        'oci',
        `${S.host}/v2:1`,
        `${P.host}/fmt-${uniq()}`,
      ]);
      expect(succeeded(r).map((x) => x.mediaType)).toEqual([OCI_MANIFEST]);
    }
    refused(await m.run(pApp(), ['--format', 'v3']), '--format');
  });
  scenario(key('preserve-digests'), async () => {
    const r = await m.run(pApp(), ['--format', 'v2s2', '--preserve-digests'], { dest: moverDest(m) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/digest/);
    // a Docker manifest copied into oci: is converted to OCI, unless digests are preserved
    const kept = top(await m.run(`docker://${P.host}/v2:1`, ['--preserve-digests']));
    expect(kept.map((x) => [x.mediaType, x.digest])).toEqual([[V2S2, V2]]);
    const converted = top(await m.run(`docker://${P.host}/v2:1`, []));
    expect(converted.map((x) => x.mediaType)).toEqual([OCI_MANIFEST]);
    expect(converted[0]!.digest).not.toBe(V2);
  });
  scenario(key('digestfile'), async () => {
    const f = out(`digest-${uniq()}`);
    const dest = moverDest(m);
    succeeded(await m.run(pApp(), ['--digestfile', f], { dest }));
    expect(readFileSync(f, 'utf8')).toBe(m.cmd === 'img-copy' ? D : `${D} ${dest}/app:1\n`);
    // a dry run copies nothing: there is no digest to write
    refused(await m.run(pApp(), ['--digestfile', out(`digest-${uniq()}`), '--dry-run']), /--digestfile/);
  });
  scenario(key('dry-run'), async () => {
    const dest = moverDest(m);
    const r = succeeded(await m.run(pApp(), ['--dry-run'], { dest }));
    expect(r.map((x) => x.status)).toEqual(['planned']);
    const { repo: dryRepo } = landed(m, pApp(), dest);
    expect(await manifestAt(P, dryRepo, '1')).toBeUndefined();
    const real = succeeded(await m.run(pApp(), [], { dest }));
    expect(real.map((x) => x.status)).not.toContain('planned');
    expect(await manifestAt(P, dryRepo, '1')).toBeDefined();
  });
  scenario(key('jobs'), async () => {
    const px = await stalling(/\/blobs\/sha256:/);
    const big = (jobs: string) =>
      maxInFlight(px, new RegExp(BIG.map((d) => d.slice(7)).join('|')), () => m.run(`docker://${px.host}/big:1`, [`--jobs=${jobs}`]));
    const one = await big('1');
    succeeded(one.result);
    expect(one.max).toBe(1);
    const three = await big('3');
    succeeded(three.result);
    expect(three.max).toBeGreaterThan(1);
    refused(await m.run(pApp(), ['--jobs=0']), '--jobs');
  });
  scenario(key('progress'), async () => {
    const r = await m.run(pApp(), ['--progress=ndjson']);
    expect(r.status, r.stderr).toBe(0);
    const events = lines(r.stderr).map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toContain('done');
    expect((await baseline()).stderr).toBe('');
    refused(await m.run(pApp(), ['--progress=loud']), '--progress');
  });
  scenario(key('explain'), async () => {
    const dest = out(`explain-${uniq()}`);
    const r = await m.run(pApp(), ['--explain', '--creds', `${USER}:${PASS}`], { dest: `oci:${dest}${m.cmd === 'img-copy' ? ':x' : ''}` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^img-(tags|manifest) /);
    expect(r.stderr).toContain('| img-blob-put');
    expect(r.stderr).toContain('--creds=***');
    expect(existsSync(dest)).toBe(false);
  });

  // signatures and policy
  scenario(key('policy'), async () => {
    const r = await m.run(pApp(), ['--policy', POLICY.reject]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/rejected by .*reject\.json/);
    succeeded(await baseline());
  });
  scenario(key('insecure-policy'), async () => {
    // a HOME whose policy.json rejects everything
    const home = out(`home-${uniq()}`);
    mkdirSync(join(home, '.config/containers'), { recursive: true });
    writeFileSync(join(home, '.config/containers/policy.json'), readFileSync(POLICY.reject));
    const env = { ...ENV, HOME: home };
    expect((await m.run(pApp(), [], { env })).status).toBe(1);
    succeeded(await m.run(pApp(), ['--insecure-policy'], { env }));
    refused(await m.run(pApp(), ['--insecure-policy', '--policy', POLICY.reject]), /--policy and --insecure-policy/);
  });
  scenario(key('require-signed'), async () => {
    // the sandbox's policy accepts anything: no signature is verified
    const r = await m.run(pApp(), ['--require-signed']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/No signature verification policy found for image/);
    succeeded(await m.run(pApp(), ['--require-signed', '--policy', POLICY.sigstore, `--registries.d=${RD}`, '--remove-signatures']));
    refused(await m.run(pApp(), ['--require-signed', '--insecure-policy']), /--insecure-policy and --require-signed are mutually exclusive/);
  });
  scenario(key('remove-signatures'), async () => {
    // P/app:1 has a sigstore signature; an oci: destination keeps none
    const r = await m.run(pApp(), [`--registries.d=${RD}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/signature/);
    succeeded(await m.run(pApp(), [`--registries.d=${RD}`, '--remove-signatures']));
  });
  scenario(key('registries.d'), async () => {
    const dest = moverDest(m);
    succeeded(await m.run(pApp(), [`--registries.d=${RD}`], { dest }));
    expect(await attachmentAt(P, landed(m, pApp(), dest).repo, D)).toBeDefined();
    const plain = moverDest(m);
    succeeded(await m.run(pApp(), [], { dest: plain }));
    expect(await attachmentAt(P, landed(m, pApp(), plain).repo, D)).toBeUndefined();
  });
  scenario(key('sign-by'), async () => {
    const dest = moverDest(m);
    succeeded(await m.run(pApp(), [`--registries.d=${RD}`, '--sign-by', GPG.plain], { dest }));
    expect(readdirSync(join(LOOKASIDE, `${landed(m, pApp(), dest).repo}@${D.replace(':', '=')}`))).toEqual(['signature-1']);
    refused(await m.run(pApp(), ['--sign-by', GPG.plain]), /--sign-by needs a docker:\/\/ destination/);
  });
  scenario(key('sign-by-sigstore-private-key'), async () => {
    const dest = moverDest(m);
    // P/tags:1.0.0 has no signature of its own
    const src = `docker://${P.host}/tags:1.0.0`;
    const at = landed(m, src, dest);
    const verify = () => img('img-sign', ['verify', '--tls-verify=false', '--sigstore-public-key', K.pub, `docker://${P.host}/${at.repo}:${at.tag}`]);
    succeeded(await m.run(src, [`--registries.d=${RD}`], { dest }));
    expect((await verify()).status).toBe(1);
    succeeded(await m.run(src, [`--registries.d=${RD}`, '--sign-by-sigstore-private-key', K.priv, '--sign-passphrase-file', K.pass], { dest }));
    const v = await verify();
    expect(v.stdout, v.stderr).toMatch(/^Signature verified/);
  });
  scenario(key('sign-passphrase-file'), async () => {
    const go = (pf: string) => m.run(pApp(), [`--registries.d=${RD}`, '--sign-by', GPG.locked, '--sign-passphrase-file', pf], { dest: moverDest(m) });
    succeeded(await go(GPG.pass));
    const bad = await go(GPG.wrong);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad passphrase/);
    refused(await m.run(pApp(), ['--sign-passphrase-file', GPG.pass], { dest: moverDest(m) }), '--sign-passphrase-file');
  });
}

// ---- img-copy only ---------------------------------------------------------------------------
{
  const multiRef = () => `docker://${P.host}/multi:1`;
  const pick = async (flags: string[]) =>
    succeeded(await once(['img-copy', 'picks', flags], () => copier.run(multiRef(), [...flags, '--dest-oci-accept-uncompressed-layers']))).map((x) => x.digest);
  scenario('img-copy --additional-tag', async () => {
    // into a docker-archive: the names after DEST's own; refused before anything moves for any other DEST
    const dest = `docker-archive:${out(`cat-${uniq()}.tar`)}:app:1`;
    succeeded(await img('img-copy', ['--additional-tag', 'extra:2', `oci:${L}:x`, dest]));
    expect(JSON.parse((await img('img-tags', ['--json', dest])).stdout).Tags).toEqual(['docker.io/library/app:1', 'docker.io/library/extra:2']);
    const dir = out(`cat-${uniq()}`);
    refused(await img('img-copy', ['--additional-tag', 'extra:2', `oci:${L}:x`, `dir:${dir}`]), /--additional-tag: dir:.* keeps no names of its own/);
    expect(existsSync(dir)).toBe(false);
  });
  scenario('img-copy --override-os', async () => {
    expect(await pick(['--override-os', 'freebsd'])).toEqual([multi[`freebsd/${hostArch}`]]);
    expect(await pick([])).toEqual([multi[`linux/${hostArch}`]]);
  });
  scenario('img-copy --override-arch', async () => {
    expect(await pick(['--override-arch', 'arm64'])).toEqual([multi['linux/arm64']]);
    expect(await pick([])).toEqual([multi[`linux/${hostArch}`]]);
    // with --all nothing is picked (skopeo copies every image): the same copy as without it
    expect((await pick(['--all', '--override-arch', 'arm64'])).sort()).toEqual((await pick(['--all'])).sort());
    refused(await copier.run(multiRef(), ['--platform', 'linux/arm64', '--override-arch', 'arm64']), /--platform and --override-arch exclude each other/);
  });
  scenario('img-copy --override-variant', async () => {
    expect(await pick(['--override-arch', 'arm', '--override-variant', 'v6'])).toEqual([multi['linux/arm/v6']]);
    expect(await pick(['--override-arch', 'arm', '--override-variant', 'v7'])).toEqual([multi['linux/arm/v7']]);
  });
  scenario('img-copy --sign-identity', async () => {
    // the signature names the identity, not DEST: a dir: DEST (no docker reference) can be signed
    const ID = 'registry.example/signed/as:7';
    const dest = out(`si-${uniq()}`);
    succeeded(await copier.run(`oci:${L}:x`, ['--sign-by', GPG.plain, '--sign-identity', ID], { dest: `dir:${dest}` }));
    const verify = (ref: string) => img('img-sign', ['verify', join(dest, 'manifest.json'), ref, GPG.plain, join(dest, 'signature-1')]);
    expect((await verify(ID)).stdout).toMatch(/^Signature verified using fingerprint/);
    expect((await verify('registry.example/signed/as:8')).status).toBe(1);
    refused(await copier.run(`oci:${L}:x`, ['--sign-by', GPG.plain], { dest: `dir:${out(`si-${uniq()}`)}` }), /--sign-by needs a docker:\/\/ destination/);
    // skopeo's words; and refused before anything is copied
    const none = out(`si-${uniq()}`);
    refused(
      await copier.run(`oci:${L}:x`, ['--sign-by', GPG.plain, '--sign-identity', 'registry.example/signed/as'], { dest: `dir:${none}` }),
      /Sign identity must be a fully specified reference registry\.example\/signed\/as/,
    );
    refused(
      await copier.run(`oci:${L}:x`, ['--sign-by', GPG.plain, '--sign-identity', 'busybox:1'], { dest: `dir:${none}` }),
      /Could not parse --sign-identity: repository name must be canonical/,
    );
    refused(await copier.run(`oci:${L}:x`, ['--sign-identity', ID], { dest: `dir:${none}` }), /--sign-identity goes with --sign-by/);
    expect(existsSync(none)).toBe(false);
  });
}

// ---- img-sync only ---------------------------------------------------------------------------
{
  // skopeo sync without --all copies the image of an index for the --override-* platform
  const multiRef = () => `docker://${P.host}/multi:1`;
  const spick = async (flags: string[]) =>
    succeeded(await once(['img-sync', 'picks', flags], () => syncer.run(multiRef(), [...flags, '--dest-oci-accept-uncompressed-layers']))).map((x) => x.digest);
  scenario('img-sync --override-os', async () => {
    expect(await spick(['--override-os', 'freebsd'])).toEqual([multi[`freebsd/${hostArch}`]]);
    expect(await spick([])).toEqual([multi[`linux/${hostArch}`]]);
  });
  scenario('img-sync --override-arch', async () => {
    expect(await spick(['--override-arch', 'arm64'])).toEqual([multi['linux/arm64']]);
    expect((await spick(['--all', '--override-arch', 'arm64'])).sort()).toEqual((await spick(['--all'])).sort());
  });
  scenario('img-sync --override-variant', async () => {
    expect(await spick(['--override-arch', 'arm', '--override-variant', 'v6'])).toEqual([multi['linux/arm/v6']]);
    expect(await spick(['--override-arch', 'arm', '--override-variant', 'v7'])).toEqual([multi['linux/arm/v7']]);
  });
  const sync = (args: string[], env: NodeJS.ProcessEnv = ENV) => img('img-sync', ['--tls-verify=false', ...args], undefined, env);
  const names = (layout: string) =>
    JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
      .manifests.map((m: any) => m.annotations['org.opencontainers.image.ref.name'])
      .sort();
  scenario('img-sync --src', async () => {
    const dest = out(`src-${uniq()}`);
    succeeded(await sync(['--src', 'oci', '--dest', 'oci', L, dest]));
    expect(names(dest)).toEqual(['x']);
    const asDir = await sync(['--src', 'dir', '--dest', 'oci', L, out(`src-${uniq()}`)]);
    expect(asDir.status).toBe(1);
    refused(await sync(['--src', 'ftp', '--dest', 'oci', L, dest]), '--src');
  });
  scenario('img-sync --dest', async () => {
    const asOci = out(`dest-${uniq()}`);
    succeeded(await sync(['--src', 'docker', '--dest', 'oci', `${P.host}/app:1`, asOci]));
    expect(names(asOci)).toEqual(['app:1']);
    const asDir = out(`dest-${uniq()}`);
    succeeded(await sync(['--src', 'docker', '--dest', 'dir', `${P.host}/app:1`, asDir]));
    expect(existsSync(join(asDir, 'app:1', 'manifest.json'))).toBe(true);
    refused(await sync(['--src', 'docker', '--dest', 'yaml', `${P.host}/app:1`, asDir]), '--dest');
  });
  scenario('img-sync --scoped', async () => {
    const dest = out(`scoped-${uniq()}`);
    succeeded(await sync(['--src', 'docker', '--dest', 'oci', '--scoped', `${P.host}/app:1`, dest]));
    expect(names(dest)).toEqual([`${P.host}/app:1`]);
  });
  scenario('img-sync --append-suffix', async () => {
    const dest = out(`suffix-${uniq()}`);
    succeeded(await sync(['--src', 'docker', '--dest', 'oci', '--append-suffix', '-mirror', `${P.host}/app:1`, dest]));
    expect(names(dest)).toEqual(['app:1-mirror']);
  });
  const planned = async (flags: string[]) =>
    succeeded(
      await once(['sync-filter', flags], () => sync(['--src', 'docker', '--dest', 'oci', '--dry-run', ...flags, `${P.host}/tags`, out(`filter-${uniq()}`)])),
    )
      .map((x) => tagOf(x.dest))
      .sort();
  const ALL = ['1.0.0', '1.2.0', '2.0.0', 'latest'];
  scenario('img-sync --regex', async () => {
    expect(await planned(['--regex', '^1\\.'])).toEqual(['1.0.0', '1.2.0']);
    expect(await planned([])).toEqual(ALL);
  });
  scenario('img-sync --exclude', async () => {
    expect(await planned(['--exclude', '^1\\.'])).toEqual(['2.0.0', 'latest']);
    expect(await planned([])).toEqual(ALL);
  });
  scenario('img-sync --semver', async () => {
    expect(await planned(['--semver', '>= 1.1'])).toEqual(['1.2.0', '2.0.0']);
    expect(await planned([])).toEqual(ALL);
  });
  scenario('img-sync --newest', async () => {
    expect(await planned(['--newest', '2'])).toEqual(['1.2.0', '2.0.0']);
    expect(await planned([])).toEqual(ALL);
  });
  scenario('img-sync --catalog', async () => {
    const dest = out(`catalog-${uniq()}`);
    succeeded(await sync(['--src', 'docker', '--dest', 'oci', '--catalog', Q.host, dest]));
    expect(names(dest)).toEqual(['x:1', 'y:1']);
    expect((await sync(['--src', 'docker', '--dest', 'oci', Q.host, out(`catalog-${uniq()}`)])).status).not.toBe(0);
  });
  scenario('img-sync --shard', async () => {
    // two shards into one layout: each image in one of them, none in both; a shard with none is no failure
    const dest = out(`shard-${uniq()}`);
    const shard = async (k: number) =>
      succeeded(await sync(['--src', 'docker', '--dest', 'oci', '--catalog', '--shard', `${k}/2`, Q.host, dest]))
        .map((x) => x.dest)
        .sort();
    const [a, b] = [await shard(0), await shard(1)];
    expect([...a, ...b].sort()).toEqual([`oci:${dest}:x:1`, `oci:${dest}:y:1`]);
    expect(names(dest)).toEqual(['x:1', 'y:1']);
    const explain = await sync(['--src', 'docker', '--dest', 'oci', '--catalog', '--shard', '1/2', '--explain', Q.host, dest]);
    expect(explain.stderr).toMatch(/\| img-ref --to oci:\S+ --shard=1\/2 \\\n/);
    refused(await sync(['--src', 'docker', '--dest', 'oci', '--shard', '2/2', Q.host, dest]), '--shard');
  });
  scenario('img-sync --keep-going', async () => {
    // two registry keys, the first naming a tag that does not exist: without --keep-going the second never runs
    const y = out(`keep-${uniq()}.yaml`);
    writeFileSync(y, `${P.host}:\n  tls-verify: false\n  images:\n    app: [no-such-tag]\n${Q.host}:\n  tls-verify: false\n  images:\n    a/x: ['1']\n`);
    const stop = out(`keep-${uniq()}`);
    const r1 = await sync(['--src', 'yaml', '--dest', 'oci', y, stop]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(/no-such-tag/);
    expect(existsSync(join(stop, 'index.json')) ? names(stop) : []).toEqual([]);
    const go = out(`keep-${uniq()}`);
    const r2 = await sync(['--src', 'yaml', '--dest', 'oci', '--keep-going', y, go]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/sync failed for one or more images/);
    expect(names(go)).toEqual(['x:1']);
  });
}

// ---- --daemon-host: a private Docker engine ---------------------------------------------------
{
  const engine = (ctx: { skip: (note?: string) => void }) => {
    if (dd === undefined) ctx.skip(`no Docker engine: ${noDaemon}`);
    return dd!.host;
  };
  const NO_ENGINE = /cannot connect to the Docker engine/;
  // One at a time: dockerd 20.10 resets a second image load while one is under way (ECONNRESET).
  let queue: Promise<unknown> = Promise.resolve();
  const scenarioD = (key: string, fn: Scenario) =>
    scenario(key, (ctx) => {
      const next = queue.then(() => fn(ctx));
      queue = next.catch(() => undefined);
      return next;
    });
  const DIMG = 'docker-daemon:flags/x:1';
  for (const flag of ['daemon-host', 'src-daemon-host']) {
    scenarioD(`img-manifest --${flag}`, async (ctx) => {
      const host = engine(ctx);
      expect(succeeded(await img('img-manifest', ['get', `--${flag}`, host, DIMG])).map((x) => x.digest)).toEqual([DREC.digest]);
      failed(await img('img-manifest', ['get', DIMG]), NO_ENGINE);
    });
    scenarioD(`img-blob-put --${flag}`, async (ctx) => {
      const host = engine(ctx);
      const input = () => `${JSON.stringify({ ...DREC, dest: `docker://${P.host}/dp-${uniq()}:1` })}\n`;
      expect(succeeded(await img('img-blob-put', ['--dest-tls-verify=false', `--${flag}`, host], input()))[0]!.blobs.copied).toBe(
        DREC.manifest.layers.length + 1,
      );
      const r = await img('img-blob-put', ['--dest-tls-verify=false'], input());
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(NO_ENGINE);
    });
    scenarioD(`img-copy --${flag}`, async (ctx) => {
      const host = engine(ctx);
      // (the engine's uncompressed layers are compressed on their way into the registry: a new digest)
      expect(succeeded(await img('img-copy', ['--dest-tls-verify=false', `--${flag}`, host, DIMG, `docker://${P.host}/dc-${uniq()}:1`]))).toHaveLength(1);
      expect((await img('img-copy', ['--dest-tls-verify=false', DIMG, `docker://${P.host}/dc-${uniq()}:1`])).status).toBe(1);
    });
  }
  scenarioD('img-manifest --dest-daemon-host', async (ctx) => {
    const host = engine(ctx);
    const dest = `docker-daemon:flags/put-${uniq()}:1`;
    expect(succeeded(await img('img-manifest', ['put', '--dest-daemon-host', host, dest], recFor({})))[0]!.status).toBe('copied');
    succeeded(await img('img-manifest', ['get', '--daemon-host', host, dest]));
    failed(await img('img-manifest', ['put', `docker-daemon:flags/put-${uniq()}:1`], recFor({})), NO_ENGINE);
    // get --missing-at-dest never looks in an engine (an image is loaded whole): refused there
    refused(
      await img(
        'img-manifest',
        ['get', '--missing-at-dest', '--src-daemon-host', host, '--dest-daemon-host', host],
        `${JSON.stringify({ ref: DIMG, dest: DIMG })}\n`,
      ),
      '--dest-daemon-host',
    );
  });
  scenarioD('img-blob-get --daemon-host', async (ctx) => {
    const host = engine(ctx);
    const config = DREC.manifest.config.digest;
    const r = await img('img-blob-get', ['--daemon-host', host, `${DIMG}@${config}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(sha256(r.stdoutBytes)).toBe(config);
    failed(await img('img-blob-get', [`${DIMG}@${config}`]), NO_ENGINE);
  });
  scenarioD('img-copy --dest-daemon-host', async (ctx) => {
    const host = engine(ctx);
    const dest = `docker-daemon:flags/copy-${uniq()}:1`;
    succeeded(await img('img-copy', ['--dest-daemon-host', host, `oci:${L}:x`, dest]));
    succeeded(await img('img-manifest', ['get', '--daemon-host', host, dest]));
    expect((await img('img-copy', [`oci:${L}:x`, `docker-daemon:flags/copy-${uniq()}:1`])).status).toBe(1);
  });
}

// ---- --shared-blob-dir: an oci: layout whose blobs are in a shared directory -------------------
{
  // SL: the test image copied by skopeo with --dest-shared-blob-dir SH: SL/blobs is empty, every
  // blob (and the manifest) is in SH/sha256. Made once, by skopeo, so that it owes nothing to imgpipe.
  const SH = path('shared-blobs');
  const SL = path('shared-layout');
  let made: Promise<unknown> | undefined;
  const fixture = async () => {
    made ??= box.sk(['copy', '--dest-shared-blob-dir', SH, `oci:${L}:x`, `oci:${SL}:x`]);
    await made;
    expect(readdirSync(join(SL, 'blobs'))).toEqual([]);
    return `oci:${SL}:x`;
  };
  const EMPTY = /blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir/;
  /** blobs lists the files of a blob directory (DIR/sha256/HEX) as digests, sorted; [] where there is none. */
  const blobsIn = (dir: string) =>
    existsSync(join(dir, 'sha256'))
      ? readdirSync(join(dir, 'sha256'))
          .map((h) => `sha256:${h}`)
          .sort()
      : [];
  const ALL = () => [D, REC.manifest.config.digest, ...REC.manifest.layers.map((l: { digest: string }) => l.digest)].sort();
  const fresh = () => ({ dir: out(`sb-${uniq()}`), layout: out(`sbl-${uniq()}`) });

  for (const flag of ['shared-blob-dir', 'src-shared-blob-dir']) {
    scenario(`img-manifest --${flag}`, async () => {
      const ref = await fixture();
      expect(succeeded(await img('img-manifest', ['get', `--${flag}`, SH, ref])).map((x) => x.digest)).toEqual([D]);
      failed(await img('img-manifest', ['get', ref]), EMPTY);
    });
  }
  scenario('img-copy --src-shared-blob-dir', async () => {
    const ref = await fixture();
    const dest = out(`sbc-${uniq()}`);
    succeeded(await img('img-copy', ['--src-shared-blob-dir', SH, ref, `dir:${dest}`]));
    expect(readFileSync(join(dest, 'manifest.json'), 'utf8')).toBe(REC.raw);
    failed(await img('img-copy', [ref, `dir:${out(`sbc-${uniq()}`)}`]), EMPTY);
  });
  scenario('img-manifest --dest-shared-blob-dir', async () => {
    const { dir, layout } = fresh();
    const dest = `oci:${layout}:x`;
    // blobs into the shared directory, then the manifest: put finds them there, and only there
    await must(img('img-blob-put', ['--dest-shared-blob-dir', dir], recFor({ dest })), 'blobs');
    failed(await img('img-manifest', ['put'], recFor({ dest })), /references blobs? not stored there/);
    expect(succeeded(await img('img-manifest', ['put', '--dest-shared-blob-dir', dir], recFor({ dest })))[0]!.status).toBe('copied');
    expect(blobsIn(dir)).toEqual(ALL());
    expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
    // get --missing-at-dest looks there too
    const [x] = succeeded(
      await img('img-manifest', ['get', '--missing-at-dest', '--dest-shared-blob-dir', dir], `${JSON.stringify({ ref: `oci:${L}:x`, dest })}\n`),
    );
    expect(x!.status).toBe('exists');
    const [y] = succeeded(await img('img-manifest', ['get', '--missing-at-dest'], `${JSON.stringify({ ref: `oci:${L}:x`, dest })}\n`));
    expect(y!.status).toBeUndefined();
  });
  scenario('img-blob-get --shared-blob-dir', async () => {
    const ref = await fixture();
    const config = REC.manifest.config.digest;
    const r = await img('img-blob-get', ['--shared-blob-dir', SH, `${ref}@${config}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdoutBytes.equals(CONFIG)).toBe(true);
    failed(await img('img-blob-get', [`${ref}@${config}`]), /not found/);
  });
  for (const flag of ['shared-blob-dir', 'dest-shared-blob-dir']) {
    scenario(`img-blob-put --${flag}`, async () => {
      const data = `a blob for --${flag}\n`;
      const { dir, layout } = fresh();
      expect(succeeded(await img('img-blob-put', [`--${flag}`, dir, `oci:${layout}`], data))[0]!.digest).toBe(sha256(data));
      expect(blobsIn(dir)).toEqual([sha256(data)]);
      expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
      const plain = out(`sbl-${uniq()}`);
      succeeded(await img('img-blob-put', [`oci:${plain}`], data));
      expect(blobsIn(join(plain, 'blobs'))).toEqual([sha256(data)]);
    });
  }
  scenario('img-blob-put --src-shared-blob-dir', async () => {
    const ref = await fixture();
    const input = () => recFor({ ref, dest: `oci:${out(`sbl-${uniq()}`)}:x` });
    expect(succeeded(await img('img-blob-put', ['--src-shared-blob-dir', SH], input()))[0]!.blobs.copied).toBe(REC.manifest.layers.length + 1);
    failed(await img('img-blob-put', [], input()), /not found/);
  });
  scenario('img-copy --dest-shared-blob-dir', async () => {
    const { dir, layout } = fresh();
    succeeded(await img('img-copy', ['--dest-shared-blob-dir', dir, `oci:${L}:x`, `oci:${layout}:x`]));
    expect(blobsIn(dir)).toEqual(ALL());
    expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
    const plain = out(`sbl-${uniq()}`);
    succeeded(await img('img-copy', [`oci:${L}:x`, `oci:${plain}:x`]));
    expect(blobsIn(join(plain, 'blobs'))).toEqual(ALL());
  });
  // img-sync: an oci: source (the layout's named images) into an oci: layout
  const syncOci = (flags: string[], src: string, dest: string) => img('img-sync', ['--src', 'oci', '--dest', 'oci', ...flags, src, dest]);
  scenario('img-sync --src-shared-blob-dir', async () => {
    await fixture();
    const dest = out(`sbs-${uniq()}`);
    expect(succeeded(await syncOci(['--src-shared-blob-dir', SH], SL, dest)).map((x) => x.digest)).toEqual([D]);
    expect(blobsIn(join(dest, 'blobs'))).toEqual(ALL());
    failed(await syncOci([], SL, out(`sbs-${uniq()}`)), EMPTY);
  });
  scenario('img-sync --dest-shared-blob-dir', async () => {
    const { dir, layout } = fresh();
    expect(succeeded(await syncOci(['--dest-shared-blob-dir', dir], L, layout)).map((x) => x.digest)).toContain(D);
    expect(blobsIn(dir)).toEqual(expect.arrayContaining(ALL()));
    expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
  });
  scenario('img-sync --shared-blob-dir', async () => {
    // both ends: the source's blobs are read there, and the destination's are found there already
    await fixture();
    const layout = out(`sbs-${uniq()}`);
    const [x] = succeeded(await syncOci(['--shared-blob-dir', SH], SL, layout));
    expect(x!.blobs).toMatchObject({ copied: 0, existed: REC.manifest.layers.length + 1 });
    expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests.map((m: { digest: string }) => m.digest)).toEqual([D]);
  });
  scenario('img-copy --shared-blob-dir', async () => {
    const ref = await fixture();
    const layout = out(`sbc-${uniq()}`);
    const [x] = succeeded(await img('img-copy', ['--shared-blob-dir', SH, ref, `oci:${layout}:y`]));
    expect(x!.blobs).toMatchObject({ copied: 0, existed: REC.manifest.layers.length + 1 });
    expect(readdirSync(join(layout, 'blobs'))).toEqual([]);
  });
}

// ---- --command-timeout: every command -------------------------------------------------------
{
  // Each command is kept waiting 6 s (on stdin, a FIFO or a stalled registry): with --command-timeout
  // 300ms it ends at once, exit 1, one line naming the bound; without, it is still there at 6 s.
  // (6 s, so that a loaded CI machine's process start-up stays well inside the bound.)
  const WAIT = 6000;
  const stdinWaits = `< <(exec sleep ${WAIT / 1000} 2>/dev/null)`;
  /** fifo makes a FIFO that a background writer fills with `data` after WAIT (given up 2 s later) */
  const fifo = (data: string) => {
    const f = out(`fifo-${uniq()}`);
    return { f, setup: `mkfifo ${q(f)}; (sleep ${WAIT / 1000}; timeout 2 sh -c 'printf "%s" "$0" > "$1"' ${q(data)} ${q(f)}) >/dev/null 2>&1 &` };
  };
  const cases: Record<string, () => Promise<{ script: (flag: string) => string; bad: string[] }>> = {
    'img-ref': async () => ({ script: (f) => `img-ref ${f} ${stdinWaits}`, bad: ['img-ref'] }),
    'img-digest': async () => ({ script: (f) => `img-digest ${f} ${stdinWaits}`, bad: ['img-digest'] }),
    'img-tags': async () => ({ script: (f) => `img-tags ${f} ${stdinWaits}`, bad: ['img-tags'] }),
    'img-manifest': async () => ({ script: (f) => `img-manifest get ${f} ${stdinWaits}`, bad: ['img-manifest', 'get'] }),
    'img-blob-put': async () => ({
      script: (f) => `img-blob-put ${f} oci:${q(out(`ct-${uniq()}`))}:x ${stdinWaits}`,
      bad: ['img-blob-put', `oci:${out('ct')}:x`],
    }),
    'img-login': async () => ({ script: (f) => `img-login ${f} --tls-verify=false -u x --password-stdin ${P.host} ${stdinWaits}`, bad: ['img-login', P.host] }),
    'img-sign': async () => ({ script: (f) => `img-sign check ${f} ${stdinWaits}`, bad: ['img-sign', 'check'] }),
    'img-copy': async () => ({
      script: (f) => `img-copy ${f} oci-archive:/dev/stdin oci:${q(out(`ct-${uniq()}`))}:x ${stdinWaits}`,
      bad: ['img-copy', `oci:${L}:x`, `oci:${out('ct')}:x`],
    }),
    'img-sync': async () => ({
      script: (f) => `img-sync --src yaml --dest oci ${f} /dev/stdin ${q(out(`ct-${uniq()}`))} ${stdinWaits}`,
      bad: ['img-sync', '--src', 'yaml', '--dest', 'oci', '/dev/null', out('ct')],
    }),
    'img-logout': async () => ({
      script: (f) => {
        const { f: file, setup } = fifo('{"auths":{}}');
        return `${setup} timeout ${WAIT / 1000 + 4} img-logout ${f} --all --authfile ${q(file)}`;
      },
      bad: ['img-logout', '--all'],
    }),
    'img-blob-get': async () => {
      const px = await stalling(/\/blobs\//, WAIT);
      return {
        script: (f) => `img-blob-get ${f} --tls-verify=false docker://${px.host}/app@${REC.manifest.config.digest} > /dev/null`,
        bad: ['img-blob-get', `oci:${L}:x@${REC.manifest.config.digest}`],
      };
    },
    'img-sign sigstore': async () => {
      const px = await stalling(/\/manifests\//, WAIT);
      return {
        script: (f) => `img-sign sign ${f} --tls-verify=false --sigstore-private-key ${q(K.priv)} --passphrase-file ${q(K.pass)} docker://${px.host}/in:base`,
        bad: ['img-sign', 'keygen', '--output-prefix', out('ct')],
      };
    },
  };
  for (const [cmd, make] of Object.entries(cases)) {
    scenario(`${cmd} --command-timeout`, async () => {
      const { script, bad } = await make();
      const timed = async (flag: string) => {
        const t = Date.now();
        const r = await sh(script(flag));
        return { r, ms: Date.now() - t };
      };
      const [bounded, unbounded] = await Promise.all([timed('--command-timeout=300ms'), timed('')]);
      const bin = cmd.split(' ')[0]!;
      // img-logout is stuck opening the FIFO, and img-copy and img-sync may be stuck in a read of
      // /dev/stdin (the archive to spool, the YAML file), system calls node's exit waits for: then it
      // is killed half a second later (137)
      if (cmd === 'img-logout' || cmd === 'img-copy' || cmd === 'img-sync') expect([1, 137], bounded.r.stderr).toContain(bounded.r.status);
      else expect(bounded.r.status, bounded.r.stderr).toBe(1);
      // (bash reports the kill of img-logout's `timeout` with a line of its own)
      expect(lines(bounded.r.stderr).filter((l) => !/^\/bin\/bash: line \d+: +\d+ Killed /.test(l))).toEqual([
        `${bin}: timed out: the command did not finish within --command-timeout 300ms`,
      ]);
      expect(bounded.ms).toBeLessThan(WAIT - 1500);
      expect(unbounded.r.stderr).not.toContain('timed out');
      expect(unbounded.ms).toBeGreaterThanOrEqual(WAIT - 100);
      const [b, ...args] = bad;
      refused(await img(b!, [...args, '--command-timeout=soon']), '--command-timeout');
    });
  }
}

// ---- layer compression: --dest-compress, --dest-decompress, --dest-compress-format, --dest-compress-level,
// --dest-oci-accept-uncompressed-layers
{
  const plainDir = () => `dir:${path('platforms', 'linux-amd64')}`; // uncompressed layers
  const gzipped = () => `docker://${P.host}/app:1`; // gzip layers (umoci)
  /** layersAt: the layers of the image at an oci: or dir: reference */
  const layersAt = async (ref: string) => succeeded(await img('img-manifest', ['get', '--tls-verify=false', ref]))[0]!.manifest.layers as any[];
  const kindOf = (t: string) => (t.endsWith('+zstd') ? 'zstd' : t.endsWith('gzip') ? 'gzip' : 'none');
  const kind = (layers: any[]) => [...new Set(layers.map((l) => kindOf(l.mediaType)))];
  /** stored: how img-blob-put stored each layer of its record ("layerUpdates", else as the manifest names it) */
  const stored = (rec: any) => rec.manifest.layers.map((l: any) => rec.layerUpdates?.[l.digest]?.compression ?? kindOf(l.mediaType));
  /**
   * cases: flags, source, destination kind, the compression the layers get with them and without;
   * `level`: the same compression both ways, in other bytes. oci: compresses an uncompressed layer
   * anyway (as skopeo's), so --dest-compress shows at dir:, which keeps layers as they come.
   * Without: "refused", a compression asked where nothing would be compressed.
   */
  const NOTHING = /--dest-compress-format does nothing at dir:/;
  type Case = { flags: string[]; src: () => string; dest: 'oci' | 'dir'; with: string; without: string; level?: boolean; base?: string[] };
  const cases: Record<string, Case> = {
    'dest-compress': { flags: ['--dest-compress'], src: plainDir, dest: 'dir', with: 'gzip', without: 'none' },
    'dest-decompress': { flags: ['--dest-decompress'], src: gzipped, dest: 'oci', with: 'none', without: 'gzip' },
    'dest-compress-format': { flags: ['--dest-compress-format', 'zstd'], src: gzipped, dest: 'oci', with: 'zstd', without: 'gzip' },
    'dest-compress-level': { flags: ['--dest-compress-level', '1'], src: plainDir, dest: 'oci', with: 'gzip', without: 'gzip', level: true },
    'dest-oci-accept-uncompressed-layers': { flags: ['--dest-oci-accept-uncompressed-layers'], src: plainDir, dest: 'oci', with: 'none', without: 'gzip' },
    // dir: keeps layers as they come: --dest-compress-format alone would do nothing there and is refused; forced, every layer is in that format
    'dest-force-compress-format': {
      flags: ['--dest-force-compress-format'],
      base: ['--dest-compress-format', 'zstd'],
      src: gzipped,
      dest: 'dir',
      with: 'zstd',
      without: 'refused',
    },
  };
  const destRef = (c: Case, dir: string) => (c.dest === 'oci' ? `oci:${dir}:x` : `dir:${dir}`);
  /** differ: a level gives other bytes of the same compression */
  const differ = (c: Case, a: any[], b: any[]) => {
    if (c.level) expect(a.map((l) => l.digest)).not.toEqual(b.map((l) => l.digest));
  };
  for (const [flag, c] of Object.entries(cases)) {
    // img-copy and img-sync: the layers at DEST
    scenario(`img-copy --${flag}`, async () => {
      const a = destRef(c, out(`lc-${uniq()}`));
      succeeded(await img('img-copy', ['--tls-verify=false', ...(c.base ?? []), ...c.flags, c.src(), a]));
      const withFlag = await layersAt(a);
      expect(kind(withFlag)).toEqual([c.with]);
      // without: a copy of the same source, shared
      const b = destRef(c, out(`lc-${c.dest}-${c.src().startsWith('dir:') ? 'dir' : 'reg'}${(c.base ?? []).join('')}`));
      const plain = await once(['img-copy', 'layers', b], () => img('img-copy', ['--tls-verify=false', ...(c.base ?? []), c.src(), b]));
      if (c.without === 'refused') return refused(plain, NOTHING);
      succeeded(plain);
      const without = await layersAt(b);
      expect(kind(without)).toEqual([c.without]);
      differ(c, withFlag, without);
    });
    scenario(`img-sync --${flag}`, async () => {
      const sync = (flags: string[], dest: string) =>
        c.src().startsWith('dir:')
          ? img('img-sync', ['--src', 'dir', '--dest', c.dest, ...flags, c.src().slice(4), dest])
          : img('img-sync', ['--tls-verify=false', '--src', 'docker', '--dest', c.dest, ...flags, c.src().slice(9), dest]);
      /** synced: the reference of the one image a sync wrote below `dir` */
      const synced = (dir: string) =>
        c.dest === 'oci'
          ? `oci:${dir}:${JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name']}`
          : `dir:${join(dir, readdirSync(dir)[0]!)}`;
      const a = out(`ls-${uniq()}`);
      const recs = succeeded(await sync([...(c.base ?? []), ...c.flags], a));
      expect(recs).toHaveLength(1);
      const withFlag = await layersAt(synced(a));
      expect(kind(withFlag)).toEqual([c.with]);
      const b = out(`ls-${uniq()}`);
      const plain = await sync(c.base ?? [], b);
      if (c.without === 'refused') {
        expect(plain.status).toBe(1);
        return expect(plain.stderr).toMatch(NOTHING);
      }
      succeeded(plain);
      const without = await layersAt(synced(b));
      expect(kind(without)).toEqual([c.without]);
      differ(c, withFlag, without);
    });
    // img-blob-put stores the layers so and says so in "layerUpdates"
    scenario(`img-blob-put --${flag}`, async () => {
      const batch = (flags: string[]) =>
        sh(
          `img-manifest get --tls-verify=false ${q(c.src())} | jq -c --arg d ${q(destRef(c, out(`lb-${uniq()}`)))} '.dest = $d' | img-blob-put --tls-verify=false ${flags.map(q).join(' ')}`,
        );
      const [x] = succeeded(await batch([...(c.base ?? []), ...c.flags]));
      expect(stored(x)).toEqual(x!.manifest.layers.map(() => c.with));
      const plain = await batch(c.base ?? []);
      if (c.without === 'refused') expect(records(plain.stdout)[0]!.error.message).toMatch(NOTHING);
      const [y] = c.without === 'refused' ? [x] : succeeded(plain);
      if (c.without !== 'refused') expect(stored(y)).toEqual(y!.manifest.layers.map(() => c.without));
      if (c.level) expect(x!.layerUpdates).not.toEqual(y!.layerUpdates);
      // each changes digests, which --preserve-digests forbids; but the last, which keeps layers as they are
      const preserved = await img('img-blob-put', [...c.flags, '--preserve-digests'], recFor({ dest: `oci:${out('x')}:x` }));
      if (flag === 'dest-oci-accept-uncompressed-layers') expect(preserved.status, preserved.stderr).toBe(0);
      else refused(preserved, c.base ? /--dest-force-compress-format needs --dest-compress-format/ : `--${flag}`);
      if (c.base)
        refused(await img('img-blob-put', [...c.base, ...c.flags, '--preserve-digests'], recFor({ dest: `oci:${out('x')}:x` })), '--dest-compress-format');
    });
    // img-manifest put takes none of these flags: it names the layers img-blob-put stored from the
    // record's "layerUpdates" (zstd ones make a Docker manifest OCI), so it needs none to agree.
  }
}

// ---- --dest-precompute-digests: a layer compressed on the way is digested first, and not written where DEST has it
{
  const src = () => `dir:${path('platforms', 'linux-amd64')}`; // an uncompressed layer, which oci: gzips
  /** fresh: a layer cache of its own, empty, so that only the flag can find what the layer became */
  const fresh = () => ({ ...ENV, IMGPIPE_CACHE_DIR: out(`pc-cache-${uniq()}`) });
  const events = (r: Result) => {
    expect(r.status, r.stderr).toBe(0);
    return lines(r.stderr)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string });
  };
  const runs: Record<string, (layout: string, flags: string[]) => Promise<Result>> = {
    'img-copy': (layout, flags) => img('img-copy', ['--progress=ndjson', ...flags, src(), `oci:${layout}:x`], undefined, fresh()),
    'img-sync': (layout, flags) =>
      img('img-sync', ['--progress=ndjson', '--src', 'dir', '--dest', 'oci', ...flags, src().slice(4), layout], undefined, fresh()),
    'img-blob-put': (layout, flags) =>
      sh(
        `img-manifest get ${q(src())} | jq -c --arg d ${q(`oci:${layout}:x`)} '.dest = $d' | img-blob-put --progress=ndjson ${flags.map(q).join(' ')}`,
        fresh(),
      ),
  };
  for (const [cmd, run] of Object.entries(runs)) {
    scenario(`${cmd} --dest-precompute-digests`, async () => {
      const layout = out(`pc-${uniq()}`);
      events(await run(layout, []));
      // again: without the flag the layer is compressed and written again; with it, found there
      expect(events(await run(layout, [])).filter((e) => e.event === 'done')).toHaveLength(1);
      const pre = events(await run(layout, ['--dest-precompute-digests']));
      expect(pre.filter((e) => e.event === 'done')).toEqual([]);
      expect(pre.filter((e) => e.event === 'skip')).toHaveLength(2);
    });
  }
}

// ---- imgpipe: skopeo's command line ------------------------------------------------------------
// Flags imgpipe hands on to img-copy are shown by --explain: the pipeline is the one img-copy
// builds for the same flag (whose effect img-copy's scenario shows), and another one without it.
// The rest run for real. Failures are skopeo's fatal log line, exit 1.
{
  const ip = (args: string[], input?: string, env: NodeJS.ProcessEnv = ENV) => img('imgpipe', args, input, env);
  const ipOk = (r: Result): Result => {
    expect(r.status, r.stderr).toBe(0);
    return r;
  };
  const ipFailed = (r: Result, re: RegExp) => {
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toMatch(/level=fatal msg=/);
    expect(r.stderr).toMatch(re);
  };
  const sCreds = (pw = PASS) => ['--creds', `${USER}:${pw}`];

  // -- inspect, delete, list-tags: the image flags, against S (htpasswd + TLS) and T (token)
  type Sub = 'inspect' | 'delete' | 'list-tags';
  /** target gives the reference a run of `sub` works on: delete gets an image of its own (a repository of its own on S and P). */
  const target = async (sub: Sub, t: Target): Promise<string> => {
    if (sub === 'list-tags') return `docker://${t.host}/${repo(t, 'app')}`;
    if (sub === 'inspect') return app(t);
    const ref = t.kind === 'T' ? `docker://${t.host}/tok/in:del-${uniq()}` : `docker://${t.host}/del-${uniq()}:1`;
    const access = t.kind === 'S' ? ['--dest-cert-dir', CA, '--dest-creds', `${USER}:${PASS}`] : ['--dest-tls-verify=false', '--dest-creds', `${USER}:${PASS}`];
    await must(img('img-copy', ['--format', 'v2s2', ...access, `oci:${L}:x`, ref]), 'push for delete');
    return ref;
  };
  const tokenFor = async (scope: string) => {
    const r = await must(exec('curl', ['-sf', '-u', `${USER}:${PASS}`, `${ts.realm}?service=${ts.service}&scope=${encodeURIComponent(scope)}`]), 'token');
    return JSON.parse(r.stdout).token as string;
  };
  const okFor = (sub: Sub) => (r: Result) => {
    ipOk(r);
    if (sub === 'inspect') expect(JSON.parse(r.stdout).Digest).toBe(D);
    if (sub === 'list-tags') expect(JSON.parse(r.stdout).Tags).toContain('1');
    if (sub === 'delete') expect(r.stdout).toBe('');
  };
  for (const sub of ['inspect', 'delete', 'list-tags'] as const) {
    const key = (f: string) => `imgpipe ${sub} --${f}`;
    const run = async (t: Target, flags: string[], env: NodeJS.ProcessEnv = ENV) => ip([sub, ...flags, await target(sub, t)], undefined, env);
    const ok = okFor(sub);
    scenario(key('creds'), async () => {
      ok(await run(tS(), [...sCreds(), '--cert-dir', CA]));
      ipFailed(await run(tS(), [...sCreds(WRONG), '--cert-dir', CA]), /authentication required: .*invalid username or password/);
    });
    scenario(key('username'), async () => {
      ok(await run(tS(), ['--username', USER, '--password', PASS, '--cert-dir', CA]));
      ipFailed(await run(tS(), ['--username', 'mallory', '--password', PASS, '--cert-dir', CA]), /invalid username or password/);
    });
    scenario(key('password'), async () => {
      ok(await run(tS(), ['--username', USER, '--password', PASS, '--cert-dir', CA]));
      ipFailed(await run(tS(), ['--username', USER, '--password', WRONG, '--cert-dir', CA]), /invalid username or password/);
    });
    scenario(key('registry-token'), async () => {
      // deleting needs a token with the delete action
      const token = sub === 'delete' ? await tokenFor('repository:tok/in:*') : TOKEN;
      ok(await run(tT(), ['--tls-verify=false', '--registry-token', token]));
      ipFailed(await run(tT(), ['--tls-verify=false', '--registry-token', 'not-a-token']), UNAUTHORIZED);
    });
    scenario(key('authfile'), async () => {
      ok(await run(tS(), ['--authfile', AUTHFILE, '--cert-dir', CA]));
      ipFailed(await run(tS(), ['--cert-dir', CA]), /authentication required/);
    });
    scenario(key('cert-dir'), async () => {
      ok(await run(tS(), [...sCreds(), '--cert-dir', CA]));
      ipFailed(await run(tS(), sCreds()), UNTRUSTED);
    });
    scenario(key('tls-verify'), async () => {
      ok(await run(tS(), [...sCreds(), '--tls-verify=false']));
      ipFailed(await run(tS(), sCreds()), UNTRUSTED);
    });
    scenario(key('no-creds'), async () => {
      ok(await run(tS(), ['--cert-dir', CA], CRED_ENV));
      ipFailed(await run(tS(), ['--cert-dir', CA, '--no-creds'], CRED_ENV), /requires credentials/);
      ok(await run(tP(), ['--tls-verify=false', '--no-creds']));
    });
    scenario(key('retry-times'), async () => {
      const px = await started(startFaultProxy(P.host));
      const t: Target = { host: px.host, kind: 'P' };
      const fault = { method: sub === 'delete' ? 'DELETE' : 'GET', path: sub === 'delete' ? /\/manifests\// : /^\/v2\/.+/, status: 503 };
      const once = async (flags: string[]) => {
        const ref = await target(sub, t);
        px.setFaults([fault]);
        return ip([sub, '--tls-verify=false', ...flags, ref]);
      };
      ipFailed(await once(['--retry-times', '0']), /503|unavailable/i);
      ok(await once([]));
      expect(px.pending()).toEqual([]);
    });
    scenario(key('retry-delay'), async () => {
      const px = await started(startFaultProxy(P.host));
      const t: Target = { host: px.host, kind: 'P' };
      const fault = { method: sub === 'delete' ? 'DELETE' : 'GET', path: sub === 'delete' ? /\/manifests\// : /^\/v2\/.+/, status: 503 };
      const retriedAfter = async (flags: string[]) => {
        const ref = await target(sub, t);
        px.setFaults([fault]);
        const from = px.seen.length;
        ok(await ip([sub, '--tls-verify=false', ...flags, ref]));
        expect(px.pending()).toEqual([]);
        const seen = px.seen.slice(from);
        const i = seen.findIndex((s) => s.status === 503);
        return seen.slice(i + 1).find((s) => s.method === seen[i]!.method && s.url === seen[i]!.url)!.at - seen[i]!.at;
      };
      expect(await retriedAfter(['--retry-delay', '600ms'])).toBeGreaterThanOrEqual(550);
      expect(await retriedAfter([])).toBeLessThan(350);
      ipFailed(
        await ip([sub, '--tls-verify=false', '--retry-delay', '5', await target(sub, t)]),
        /invalid argument \\"5\\" for \\"--retry-delay\\" flag: time: missing unit/,
      );
    });
  }
  scenario('imgpipe inspect --daemon-host', async (ctx) => {
    if (dd === undefined) ctx.skip(`no Docker engine: ${noDaemon}`);
    expect(JSON.parse(ipOk(await ip(['inspect', '--daemon-host', dd!.host, 'docker-daemon:flags/x:1'])).stdout).Digest).toBe(DREC.digest);
    ipFailed(await ip(['inspect', 'docker-daemon:flags/x:1']), /cannot connect to the Docker engine/);
  });
  scenario('imgpipe inspect --shared-blob-dir', async () => {
    // a layout whose blobs skopeo wrote to a shared directory: read there, and not without it
    const [dir, layout] = [out(`ipsb-${uniq()}`), out(`ipsbl-${uniq()}`)];
    await box.sk(['copy', '--dest-shared-blob-dir', dir, `oci:${L}:x`, `oci:${layout}:x`]);
    expect(JSON.parse(ipOk(await ip(['inspect', '--shared-blob-dir', dir, `oci:${layout}:x`])).stdout).Digest).toBe(D);
    ipFailed(await ip(['inspect', `oci:${layout}:x`]), /blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir/);
  });
  scenario('imgpipe delete --shared-blob-dir', async () => {
    // a layout whose blobs skopeo wrote to a shared directory: the image's entry goes, the shared blobs stay; refused without it
    const [dir, layout] = [out(`ipsb-${uniq()}`), out(`ipsbl-${uniq()}`)];
    await box.sk(['copy', '--dest-shared-blob-dir', dir, `oci:${L}:x`, `oci:${layout}:x`]);
    const held = readdirSync(join(dir, 'sha256')).sort();
    ipFailed(await ip(['delete', `oci:${layout}:x`]), /blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir/);
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests).toHaveLength(1);
    ipOk(await ip(['delete', '--shared-blob-dir', dir, `oci:${layout}:x`]));
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests).toEqual([]);
    expect(readdirSync(join(dir, 'sha256')).sort()).toEqual(held);
  });
  const onP = (flags: string[], ref = app(tP())) => ip(['inspect', '--tls-verify=false', ...flags, ref]);
  scenario('imgpipe inspect --raw', async () => {
    expect(ipOk(await onP(['--raw'])).stdout).toBe(REC.raw);
    expect(JSON.parse(ipOk(await onP([])).stdout).Digest).toBe(D);
  });
  scenario('imgpipe inspect --config', async () => {
    expect(JSON.parse(ipOk(await onP(['--config'])).stdout).rootfs.type).toBe('layers');
    expect(JSON.parse(ipOk(await onP(['--config', '--raw'])).stdout)).toEqual(JSON.parse(CONFIG.toString()));
  });
  scenario('imgpipe inspect --format', async () => {
    expect(ipOk(await onP(['--format', '{{.Digest}}'])).stdout).toBe(`${D}\n`);
    expect(ipOk(await onP(['-f', '{{.Name}}'])).stdout).toBe(`${P.host}/app\n`);
  });
  scenario('imgpipe inspect --manifest-digest', async () => {
    const sha512 = `sha512:${createHash('sha512').update(REC.raw).digest('hex')}`;
    expect(JSON.parse(ipOk(await onP(['--manifest-digest=sha512'])).stdout).Digest).toBe(sha512);
    expect(ipOk(await onP(['--manifest-digest', 'sha256', '-f', '{{.Digest}}'])).stdout).toBe(`${D}\n`);
    ipFailed(await onP(['--manifest-digest=md5']), /digest algorithm \\"md5\\" is not available/);
  });
  scenario('imgpipe inspect --no-tags', async () => {
    expect(JSON.parse(ipOk(await onP(['--no-tags'])).stdout).RepoTags).toEqual([]);
    expect(JSON.parse(ipOk(await onP(['-n'])).stdout).RepoTags).toEqual([]);
    expect(JSON.parse(ipOk(await onP([])).stdout).RepoTags).toContain('1');
  });

  // -- copy: the flags img-copy takes, shown by --explain against img-copy's own pipeline
  const SRC = `oci:${L}:x`;
  const explained = async (args: string[]) => {
    const a = ipOk(await ip(['copy', '--explain', ...args, SRC, `docker://${P.host}/never:1`]));
    return a.stderr;
  };
  const asImgCopy = async (args: string[], progress = 'ndjson') => {
    const r = await img('img-copy', ['--explain', `--progress=${progress}`, ...args, SRC, `docker://${P.host}/never:1`]);
    expect(r.status, r.stderr).toBe(0);
    return r.stderr;
  };
  const VALUES: Record<string, string[]> = {
    creds: ['a:b'],
    username: ['--username=u', '--password=p'],
    password: ['--username=u', '--password=p'],
    'registry-token': ['tok'],
    authfile: [out('auth.json')],
    'cert-dir': [CA],
    'daemon-host': ['unix:///nowhere.sock'],
    'shared-blob-dir': [out('shared-nowhere')],
    'tls-verify': ['false'],
    'no-creds': ['true'],
  };
  /** copyArgs gives the arguments of one flag of skopeo copy, as the user gives it and as img-copy takes it. */
  const copyArgs = (flag: string): { given: string[]; asImg: string[] } => {
    const base = flag.replace(/^(src|dest)-/, '');
    const v = VALUES[base];
    if (v !== undefined) {
      const side = flag.startsWith('src-') ? 'src-' : flag.startsWith('dest-') ? 'dest-' : '';
      const args = v.length > 1 ? v.map((x) => x.replace('--', `--${side}`)) : [`--${flag}=${v[0]}`];
      return { given: args, asImg: args };
    }
    const same = (value?: string) => {
      const a = [value === undefined ? `--${flag}` : `--${flag}=${value}`];
      return { given: a, asImg: a };
    };
    switch (flag) {
      case 'screds':
        return { given: ['--screds=a:b'], asImg: ['--src-creds=a:b'] };
      case 'dcreds':
        return { given: ['--dcreds=a:b'], asImg: ['--dest-creds=a:b'] };
      case 'image-parallel-copies':
        return { given: ['--image-parallel-copies=2'], asImg: ['--jobs=2'] };
      case 'retry-times':
        return same('2');
      case 'retry-delay':
        return same('1s');
      case 'format':
        return same('v2s2');
      case 'multi-arch':
        return same('all');
      case 'dest-compress-format':
        return same('zstd');
      case 'dest-compress-level':
        return { given: ['--dest-compress-format=zstd', '--dest-compress-level=3'], asImg: ['--dest-compress-format=zstd', '--dest-compress-level=3'] };
      case 'dest-force-compress-format':
        return {
          given: ['--dest-compress-format=zstd', '--dest-force-compress-format'],
          asImg: ['--dest-compress-format=zstd', '--dest-force-compress-format'],
        };
      case 'sign-by':
        return same(GPG.plain);
      case 'sign-by-sigstore-private-key':
        return {
          given: [`--sign-by-sigstore-private-key=${K.priv}`, `--sign-passphrase-file=${K.pass}`],
          asImg: [`--sign-by-sigstore-private-key=${K.priv}`, `--sign-passphrase-file=${K.pass}`],
        };
      case 'sign-passphrase-file':
        return {
          given: [`--sign-by=${GPG.locked}`, `--sign-passphrase-file=${GPG.pass}`],
          asImg: [`--sign-by=${GPG.locked}`, `--sign-passphrase-file=${GPG.pass}`],
        };
      case 'sign-identity':
        return {
          given: [`--sign-by=${GPG.plain}`, '--sign-identity=registry.example/team/app:1'],
          asImg: [`--sign-by=${GPG.plain}`, '--sign-identity=registry.example/team/app:1'],
        };
      case 'dest-compress':
      case 'dest-decompress':
      case 'dest-oci-accept-uncompressed-layers':
      case 'dest-precompute-digests':
      case 'remove-signatures':
      case 'preserve-digests':
      case 'all':
      case 'tls-verify':
        return same();
      default:
        throw new Error(`no arguments for imgpipe copy --${flag}`);
    }
  };
  const REAL = new Set(['digestfile', 'quiet', 'explain', 'additional-tag']);
  for (const flag of specFlags(COMMAND_FLAGS['imgpipe copy']).filter((f) => !REAL.has(f))) {
    scenario(`imgpipe copy --${flag}`, async () => {
      const { given, asImg } = copyArgs(flag);
      const mine = await explained(given);
      expect(mine.replace(/^time=.*level=warning.*\n/m, '')).toBe(await asImgCopy(asImg));
      expect(mine).not.toBe(await explained([]));
      // the deprecated --tls-verify of copy says so, as skopeo does
      if (flag === 'tls-verify') expect(mine).toMatch(/level=warning msg="'--tls-verify' is deprecated, instead use: --src-tls-verify, --dest-tls-verify"/);
    });
  }
  scenario('imgpipe copy --additional-tag', async () => {
    // repeated and comma-separated (skopeo's string slice), put's flag in img-copy's pipeline
    const dest = `docker-archive:${out(`ipat-${uniq()}.tar`)}:app:1`;
    const mine = ipOk(await ip(['copy', '--explain', '--additional-tag', 'a:2,b:3', '--additional-tag=c:4', SRC, dest])).stderr;
    expect(mine).toMatch(
      /img-manifest put --additional-tag=docker\.io\/library\/a:2 --additional-tag=docker\.io\/library\/b:3 --additional-tag=docker\.io\/library\/c:4$/m,
    );
    ipOk(await ip(['copy', '-q', '--additional-tag', 'a:2,b:3', SRC, dest]));
    expect(JSON.parse((await img('img-tags', ['--json', dest])).stdout).Tags).toEqual([
      'docker.io/library/app:1',
      'docker.io/library/a:2',
      'docker.io/library/b:3',
    ]);
    const r = await ip(['copy', '--additional-tag', 'a:2', SRC, `dir:${out(`ipat-${uniq()}`)}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--additional-tag: dir:.* keeps no names of its own/);
  });
  scenario('imgpipe copy --explain', async () => {
    const dest = out(`ipx-${uniq()}`);
    const r = ipOk(await ip(['copy', '--explain', SRC, `dir:${dest}`]));
    expect(r.stderr).toMatch(/^img-manifest get oci:.* \\\n {2}\| img-sign check .*\n {2}\| img-ref --dest dir:/);
    expect(existsSync(dest)).toBe(false);
    ipOk(await ip(['--insecure-policy', 'copy', SRC, `dir:${dest}`]));
    expect(existsSync(join(dest, 'manifest.json'))).toBe(true);
  });
  scenario('imgpipe copy --quiet', async () => {
    const loud = ipOk(await ip(['--insecure-policy', 'copy', SRC, `dir:${out(`ipq-${uniq()}`)}`]));
    expect(lines(loud.stdout)).toEqual([
      'Getting image source signatures',
      ...REC.manifest.layers.map((l: { digest: string }) => `Copying blob ${l.digest}`),
      `Copying config ${REC.manifest.config.digest}`,
      'Writing manifest to image destination',
    ]);
    expect(ipOk(await ip(['--insecure-policy', 'copy', '--quiet', SRC, `dir:${out(`ipq-${uniq()}`)}`])).stdout).toBe('');
    expect(ipOk(await ip(['--insecure-policy', 'copy', '-q', SRC, `dir:${out(`ipq-${uniq()}`)}`])).stdout).toBe('');
  });
  scenario('imgpipe copy --digestfile', async () => {
    const f = out(`ipd-${uniq()}`);
    ipOk(await ip(['--insecure-policy', 'copy', '--digestfile', f, SRC, `dir:${out(`ipd-${uniq()}`)}`]));
    expect(readFileSync(f, 'utf8')).toBe(D);
  });

  // -- sync: the flags img-sync takes, shown by --explain against img-sync's own pipeline
  const syncExplain = async (cmd: 'imgpipe' | 'img-sync', args: string[]) => {
    const base = ['--src', 'docker', '--dest', 'docker', ...args, `${P.host}/app:1`, `${P.host}/ipmirror`];
    const r = cmd === 'imgpipe' ? await ip(['sync', '--explain', ...base]) : await img('img-sync', ['--explain', '--progress=ndjson', ...base]);
    expect(r.status, r.stderr).toBe(0);
    return r.stderr;
  };
  const SYNC_REAL = new Set(['src', 'dest', 'digestfile', 'keep-going', 'explain', 'dry-run']);
  for (const flag of specFlags(COMMAND_FLAGS['imgpipe sync']).filter((f) => !SYNC_REAL.has(f))) {
    scenario(`imgpipe sync --${flag}`, async () => {
      const { given, asImg } =
        flag === 'append-suffix'
          ? { given: ['--append-suffix=-x'], asImg: ['--append-suffix=-x'] }
          : flag === 'scoped'
            ? { given: ['--scoped'], asImg: ['--scoped'] }
            : copyArgs(flag);
      const mine = await syncExplain('imgpipe', given);
      expect(mine.replace(/^time=.*level=warning.*\n/m, '')).toBe(await syncExplain('img-sync', asImg));
      expect(mine).not.toBe(await syncExplain('imgpipe', []));
    });
  }
  const syncTo = (flags: string[], dir = out(`ips-${uniq()}`)) =>
    ip(['--insecure-policy', 'sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...flags, `${P.host}/app:1`, dir]);
  scenario('imgpipe sync --src', async () => {
    const dir = out(`ips-${uniq()}`);
    const r = ipOk(await syncTo([], dir));
    expect(r.stderr).toMatch(/level=info msg="Tag presence check" imagename="127\.0\.0\.1:\d+\/app:1" tagged=true/);
    expect(r.stderr).toMatch(/level=info msg="Synced 1 images from 1 sources"/);
    expect(existsSync(join(dir, 'app:1', 'manifest.json'))).toBe(true);
    ipFailed(await ip(['sync', '--src', 'oci', '--dest', 'dir', 'a', 'b']), /\\"oci\\" is not a valid source transport/);
    ipFailed(await ip(['sync', '--dest', 'dir', 'a', 'b']), /A source transport must be specified/);
  });
  scenario('imgpipe sync --dest', async () => {
    ipFailed(await ip(['sync', '--src', 'docker', '--dest', 'oci', 'a', 'b']), /\\"oci\\" is not a valid destination transport/);
    ipFailed(await ip(['sync', '--src', 'docker', 'a', 'b']), /A destination transport must be specified/);
    const r = ipOk(
      await ip([
        '--insecure-policy',
        'sync',
        '-s',
        'docker',
        '-d',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `${P.host}/app:1`,
        `${P.host}/ips-${uniq()}`,
      ]),
    );
    expect(lines(r.stdout)).toContain('Writing manifest to image destination');
  });
  scenario('imgpipe sync --dry-run', async () => {
    const dir = out(`ips-${uniq()}`);
    const r = ipOk(await syncTo(['--dry-run'], dir));
    expect(r.stderr).toMatch(/level=warning msg="Running in dry-run mode"/);
    expect(r.stderr).toMatch(/level=info msg="Would have copied image ref 1\/1" from="docker:\/\/127\.0\.0\.1:\d+\/app:1" to="dir:.*\/app:1"/);
    expect(r.stderr).toMatch(/level=info msg="Would have synced 1 images from 1 sources"/);
    expect(r.stdout).toBe('');
    // as skopeo, the image's directory is made, and nothing is written in it
    expect(readdirSync(join(dir, 'app:1'))).toEqual([]);
  });
  scenario('imgpipe sync --digestfile', async () => {
    const f = out(`ipsd-${uniq()}`);
    const dir = out(`ips-${uniq()}`);
    ipOk(await syncTo(['--digestfile', f], dir));
    expect(readFileSync(f, 'utf8')).toBe(`${D} dir:${dir}/app:1\n`);
  });
  scenario('imgpipe sync --keep-going', async () => {
    // a repository with a good tag and a bad one (another image, whose config blob then goes):
    // --keep-going syncs the good one, reports the bad one and fails at the end
    const name = `ipkg-${uniq()}`;
    await must(img('img-copy', ['--dest-tls-verify=false', SRC, `docker://${P.host}/${name}:good`]), 'push');
    await must(img('img-copy', ['--dest-tls-verify=false', `dir:${path('platforms', 'linux-arm64')}`, `docker://${P.host}/${name}:bad`]), 'push');
    const m = JSON.parse((await must(img('imgpipe', ['inspect', '--raw', '--tls-verify=false', `docker://${P.host}/${name}:bad`]), 'raw')).stdout);
    expect((await fetch(`${P.url}/v2/${name}/blobs/${m.config.digest}`, { method: 'DELETE' })).status).toBe(202);
    const run = (flags: string[]) =>
      ip(['--insecure-policy', 'sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...flags, `${P.host}/${name}`, out(`ips-${uniq()}`)]);
    const going = await run(['--keep-going']);
    expect(going.status).toBe(1);
    expect(going.stderr).toMatch(/level=error msg="Error copying ref /);
    expect(going.stderr).toMatch(/level=fatal msg="Sync failed due to previous reported error\(s\) for one or more images"/);
    expect(going.stdout).toContain('Writing manifest to image destination');
    const stops = await run([]);
    ipFailed(stops, /Error copying ref /);
    expect(stops.stderr).not.toMatch(/level=error/);
  });
  scenario('imgpipe sync --explain', async () => {
    const dir = out(`ips-${uniq()}`);
    const r = ipOk(await ip(['sync', '--explain', '--src', 'docker', '--dest', 'dir', `${P.host}/app:1`, dir]));
    expect(r.stderr).toMatch(/^img-tags docker:\/\/.* \\\n {2}\| img-ref --to dir:/);
    expect(existsSync(dir)).toBe(false);
  });

  // -- the global flags
  scenario('imgpipe --policy', async () => {
    ipFailed(
      await ip(['--policy', POLICY.reject, 'copy', SRC, `dir:${out(`ipp-${uniq()}`)}`]),
      /Source image rejected: Running image oci:.* is rejected by policy\./,
    );
    // after the subcommand too, as skopeo's persistent flags
    ipFailed(await ip(['copy', '--policy', POLICY.reject, SRC, `dir:${out(`ipp-${uniq()}`)}`]), /Source image rejected/);
  });
  scenario('imgpipe --insecure-policy', async () => {
    ipOk(await ip(['--policy', POLICY.reject, '--insecure-policy', 'copy', SRC, `dir:${out(`ipi-${uniq()}`)}`]));
    ipFailed(await ip(['--policy', POLICY.reject, 'copy', SRC, `dir:${out(`ipi-${uniq()}`)}`]), /rejected by policy/);
  });
  scenario('imgpipe --require-signed', async () => {
    const src = `docker://${P.host}/app:1`;
    ipFailed(
      await ip(['--require-signed', 'copy', '--src-tls-verify=false', src, `dir:${out(`iprs-${uniq()}`)}`]),
      /No signature verification policy found for image/,
    );
    ipOk(
      await ip(['--require-signed', '--policy', POLICY.sigstore, '--registries.d', RD, 'copy', '--src-tls-verify=false', src, `dir:${out(`iprs-${uniq()}`)}`]),
    );
    ipFailed(await ip(['--require-signed', '--insecure-policy', 'inspect', src]), /--insecure-policy and --require-signed are mutually exclusive/);
  });
  scenario('imgpipe --registries.d', async () => {
    const mine = await explained([]);
    const withD = ipOk(await ip(['--registries.d', RD, 'copy', '--explain', SRC, `docker://${P.host}/never:1`])).stderr;
    expect(withD).toBe(await asImgCopy([`--registries.d=${RD}`]));
    expect(withD).not.toBe(mine);
  });
  const onMulti = async (flags: string[], format: string) =>
    ipOk(await ip([...flags, 'inspect', '--tls-verify=false', '--format', format, `docker://${P.host}/multi:1`])).stdout.trim();
  scenario('imgpipe --override-arch', async () => {
    expect(await onMulti(['--override-arch', 'arm64'], '{{.Os}}/{{.Architecture}}')).toBe('linux/arm64');
    expect(await onMulti([], '{{.Os}}/{{.Architecture}}')).toBe(`linux/${hostArch}`);
    // sync copies the image of that platform (dir: keeps it byte for byte), as skopeo sync without --all
    const synced = async (flags: string[]) => {
      const d = out(`ipov-${uniq()}`);
      ipOk(await ip([...flags, '--insecure-policy', 'sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', `${P.host}/multi:1`, d]));
      return sha256(readFileSync(join(d, 'multi:1', 'manifest.json')));
    };
    expect(await synced(['--override-arch', 'arm64'])).toBe(multi['linux/arm64']);
    expect(await synced([])).toBe(multi[`linux/${hostArch}`]);
  });
  scenario('imgpipe --override-os', async () => {
    expect(await onMulti(['--override-os', 'freebsd'], '{{.Os}}/{{.Architecture}}')).toBe(`freebsd/${hostArch}`);
  });
  scenario('imgpipe --override-variant', async () => {
    const v7 = await onMulti(['--override-arch', 'arm', '--override-variant', 'v7'], '{{.Architecture}} {{.Layers}}');
    const v6 = await onMulti(['--override-arch', 'arm', '--override-variant', 'v6'], '{{.Architecture}} {{.Layers}}');
    expect(v7.startsWith('arm ')).toBe(true);
    expect(v7).not.toBe(v6);
  });
  scenario('imgpipe --registries-conf', async () => {
    ok0(await ip(['--registries-conf', insecureS(), 'inspect', ...sCreds(), app(tS())]));
    ipFailed(await ip(['inspect', ...sCreds(), app(tS())]), UNTRUSTED);
  });
  const ok0 = (r: Result) => expect(JSON.parse(ipOk(r).stdout).Digest).toBe(D);
  scenario('imgpipe --tls-verify', async () => {
    const r = await ip(['--tls-verify=false', 'inspect', ...sCreds(), app(tS())]);
    ok0(r);
    expect(r.stderr).toMatch(/level=warning msg="'--tls-verify' is deprecated, please set this on the specific subcommand"/);
    ipFailed(await ip(['inspect', ...sCreds(), app(tS())]), UNTRUSTED);
  });
  scenario('imgpipe --debug', async () => {
    const r = await ip(['--debug', 'inspect', ...sCreds(), '--cert-dir', CA, app(tS())]);
    ok0(r);
    expect(r.stderr).toMatch(/^debug: (GET|HEAD) https:\/\/127\.0\.0\.1:\d+\/v2\//m);
    for (const secret of [PASS, BASIC]) expect(r.stderr).not.toContain(secret);
    expect((await ip(['inspect', ...sCreds(), '--cert-dir', CA, app(tS())])).stderr).not.toContain('debug:');
  });
  scenario('imgpipe --tmpdir', async () => {
    // the pipeline's spool directory is made there: one that does not exist fails the copy
    ipFailed(await ip(['--insecure-policy', '--tmpdir', out('no-such-dir'), 'copy', SRC, `dir:${out(`ipt-${uniq()}`)}`]), /no-such-dir/);
    mkdirSync(out('tmp-here'), { recursive: true });
    ipOk(await ip(['--insecure-policy', '--tmpdir', out('tmp-here'), 'copy', SRC, `dir:${out(`ipt-${uniq()}`)}`]));
  });
  scenario('imgpipe --tls-details', async () => {
    // S speaks TLS 1.2 and 1.3: a 1.3 minimum works; the file is read strictly, before any connection
    // (what the client offers is shown against openssl s_server in imgpipe-main-flags.test.ts)
    const f = out(`tls-${uniq()}.yaml`);
    writeFileSync(f, 'minVersion: "1.3"\ncipherSuites: [TLS_AES_128_GCM_SHA256]\n');
    expect(ipOk(await ip(['--tls-details', f, 'inspect', '--cert-dir', CA, ...sCreds(), '--format', '{{.Digest}}', app(tS())])).stdout).toMatch(
      /^sha256:[0-9a-f]{64}\n$/,
    );
    writeFileSync(f, 'minVersion: "1.3"\nmaxVersion: "1.3"\n');
    ipFailed(await ip(['inspect', '--tls-details', f, '--cert-dir', CA, ...sCreds(), app(tS())]), /--tls-details .*: unknown key \\"maxVersion\\"/);
  });
  scenario('imgpipe --user-agent-prefix', async () => {
    // every registry request says it, in front of imgpipe's own; without the flag, only imgpipe's
    const px = await started(startFaultProxy(P.host));
    const agents = async (flags: string[]) => {
      const from = px.seen.length;
      ipOk(await ip([...flags, 'inspect', '--tls-verify=false', `docker://${px.host}/app:1`]));
      return [...new Set(px.seen.slice(from).map((s) => s.headers['user-agent']))];
    };
    expect(await agents(['--user-agent-prefix', 'ci-mirror/2'])).toEqual([expect.stringMatching(/^ci-mirror\/2 imgpipe\//)]);
    expect(await agents([])).toEqual([expect.stringMatching(/^imgpipe\//)]);
  });
  scenario('imgpipe --command-timeout', async () => {
    const px = await stalling(/\/manifests\//, 20_000);
    const start = Date.now();
    const r = await ip(['--command-timeout', '2s', 'inspect', '--tls-verify=false', `docker://${px.host}/app:1`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--command-timeout 2s/);
    expect(Date.now() - start).toBeLessThan(15_000);
  });
  scenario('imgpipe --version', async () => {
    expect(ipOk(await ip(['--version'])).stdout).toMatch(/^imgpipe version \d+\.\d+\.\d+\n$/);
    expect(ipOk(await ip(['-v'])).stdout).toMatch(/^imgpipe version /);
    expect((await ip([])).status).toBe(1);
  });

  // -- login, logout
  const loginTo = (flags: string[], input?: string) => {
    const f = out(`iplogin-${uniq()}.json`);
    return { f, run: ip(['login', ...flags, '--authfile', f, S.host], input) };
  };
  const loggedIn = async (flags: string[], input?: string) => {
    const { f, run } = loginTo(flags, input);
    const r = ipOk(await run);
    expect(r.stdout).toBe('Login Succeeded!\n');
    expect(JSON.parse(readFileSync(f, 'utf8')).auths[S.host].auth).toBe(BASIC);
  };
  const notLoggedIn = async (flags: string[], re: RegExp, input?: string) => {
    const { f, run } = loginTo(flags, input);
    ipFailed(await run, re);
    expect(existsSync(f)).toBe(false);
  };
  scenario('imgpipe login --username', async () => {
    await loggedIn(['--cert-dir', CA, '--username', USER, '-p', PASS]);
    await notLoggedIn(['--cert-dir', CA, '-u', 'mallory', '-p', PASS], /logging into .*: invalid username\/password/);
  });
  scenario('imgpipe login --password', async () => {
    await loggedIn(['--cert-dir', CA, '-u', USER, '--password', PASS]);
    await notLoggedIn(['--cert-dir', CA, '-u', USER, '--password', WRONG], /invalid username\/password/);
  });
  scenario('imgpipe login --password-stdin', async () => {
    await loggedIn(['--cert-dir', CA, '-u', USER, '--password-stdin'], `${PASS}\n`);
    await notLoggedIn(['--cert-dir', CA, '--password-stdin'], /must provide --username with --password-stdin/, `${PASS}\n`);
  });
  scenario('imgpipe login --authfile', async () => {
    await loggedIn(['--cert-dir', CA, '-u', USER, '-p', PASS]);
  });
  scenario('imgpipe login --cert-dir', async () => {
    await loggedIn(['--cert-dir', CA, '-u', USER, '-p', PASS]);
    await notLoggedIn(['-u', USER, '-p', PASS], UNTRUSTED);
  });
  scenario('imgpipe login --tls-verify', async () => {
    await loggedIn(['--tls-verify=false', '-u', USER, '-p', PASS]);
    await notLoggedIn(['-u', USER, '-p', PASS], UNTRUSTED);
  });
  scenario('imgpipe logout --authfile', async () => {
    const f = out(`iplogout-${uniq()}.json`);
    writeFileSync(f, JSON.stringify({ auths: { [S.host]: { auth: BASIC }, 'other.example': { auth: BASIC } } }));
    expect(ipOk(await ip(['logout', '--authfile', f, S.host])).stdout).toBe(`Removed login credentials for ${S.host}\n`);
    expect(Object.keys(JSON.parse(readFileSync(f, 'utf8')).auths)).toEqual(['other.example']);
    ipFailed(await ip(['logout', '--authfile', f, S.host]), new RegExp(`not logged into ${S.host}`));
  });
  scenario('imgpipe login --get-login', async () => {
    const f = out(`iplogin-${uniq()}.json`);
    writeFileSync(f, JSON.stringify({ auths: { [S.host]: { auth: BASIC } } }));
    expect(ipOk(await ip(['login', '--get-login', '--authfile', f, S.host])).stdout).toBe(`${USER}\n`);
    expect(ipOk(await ip(['login', '--get-login', '--authfile', f, `${S.host}/team`])).stdout).toBe(`${USER}\n`);
    ipFailed(await ip(['login', '--get-login', '--authfile', f, 'other.example']), /not logged into other\.example/);
    // without it: the stored credentials checked again
    expect(ipOk(await ip(['login', '--cert-dir', CA, '--authfile', f, S.host])).stdout).toBe(
      `Authenticating with existing credentials for ${S.host}\nExisting credentials are valid. Already logged in to ${S.host}\n`,
    );
  });
  scenario('imgpipe login --verbose', async () => {
    const f = out(`iplogin-${uniq()}.json`);
    expect(ipOk(await ip(['login', '--verbose', '--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', f, S.host])).stdout).toBe(
      `Used:  ${f}\nLogin Succeeded!\n`,
    );
    expect(ipOk(await ip(['login', '-v', '--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', f, S.host])).stdout).toBe(`Used:  ${f}\nLogin Succeeded!\n`);
    expect(ipOk(await ip(['login', '--cert-dir', CA, '-u', USER, '-p', PASS, '--authfile', f, S.host])).stdout).toBe('Login Succeeded!\n');
  });
  scenario('imgpipe login --compat-auth-file', async () => {
    const f = out(`iplogin-${uniq()}.json`);
    writeFileSync(f, JSON.stringify({ auths: {}, psFormat: 'table' }));
    expect(ipOk(await ip(['login', '-v', '--cert-dir', CA, '-u', USER, '-p', PASS, '--compat-auth-file', f, S.host])).stdout).toBe(
      `Used:  ${f}\nLogin Succeeded!\n`,
    );
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ auths: { [S.host]: { auth: BASIC } }, psFormat: 'table' });
    ipFailed(await ip(['login', '--cert-dir', CA, '-u', USER, '-p', PASS, '--compat-auth-file', f, `${S.host}/team`]), /namespaced key/);
    ipFailed(await ip(['login', '-u', USER, '-p', PASS, '--compat-auth-file', f, '--authfile', f, S.host]), /can not be set simultaneously/);
  });
  scenario('imgpipe logout --compat-auth-file', async () => {
    const f = out(`iplogout-${uniq()}.json`);
    writeFileSync(f, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: BASIC }, [S.host]: { auth: BASIC } }, psFormat: 'table' }));
    expect(ipOk(await ip(['logout', '--compat-auth-file', f, 'docker.io'])).stdout).toBe('Removed login credentials for docker.io\n');
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ auths: { [S.host]: { auth: BASIC } }, psFormat: 'table' });
    ipFailed(await ip(['logout', '--compat-auth-file', out('no-such-config.json'), S.host]), /credential file is not accessible: faccessat /);
  });
  scenario('imgpipe logout --tls-verify', async () => {
    // skopeo accepts it; logout contacts no registry, so an untrusted one is logged out of either way.
    const f = out(`iplogout-${uniq()}.json`);
    const both = { auths: { [S.host]: { auth: BASIC }, 'other.example': { auth: BASIC } } };
    for (const flag of ['--tls-verify', '--tls-verify=false']) {
      writeFileSync(f, JSON.stringify(both));
      expect(ipOk(await ip(['logout', flag, '--authfile', f, S.host])).stdout).toBe(`Removed login credentials for ${S.host}\n`);
      expect(Object.keys(JSON.parse(readFileSync(f, 'utf8')).auths)).toEqual(['other.example']);
    }
  });
  scenario('imgpipe logout --all', async () => {
    const f = out(`iplogout-${uniq()}.json`);
    writeFileSync(f, JSON.stringify({ auths: { [S.host]: { auth: BASIC }, 'other.example': { auth: BASIC } } }));
    expect(ipOk(await ip(['logout', '--all', '--authfile', f])).stdout).toBe('Removed login credentials for all registries\n');
    expect(JSON.parse(readFileSync(f, 'utf8')).auths).toEqual({});
    ipFailed(await ip(['logout', '-a', '--authfile', f, S.host]), /--all takes no arguments/);
  });

  // -- the standalone signing subcommands
  /** manifestFile writes the test image's manifest to a file of its own (the scenarios run at once). */
  const manifestFile = () => {
    const f = out(`ip-manifest-${uniq()}.json`);
    writeFileSync(f, REC.raw);
    return f;
  };
  const REF = 'registry.example/team/app:1';
  scenario('imgpipe standalone-sign --output', async () => {
    const mf = manifestFile();
    const sig = out(`ipsig-${uniq()}`);
    ipOk(await ip(['standalone-sign', mf, REF, GPG.plain, '--output', sig]));
    expect(ipOk(await ip(['standalone-verify', mf, REF, GPG.plain, sig])).stdout).toBe(`Signature verified using fingerprint ${GPG.plain}, digest ${D}\n`);
    ipFailed(await ip(['standalone-sign', mf, REF, GPG.plain]), /Usage: imgpipe standalone-sign/);
  });
  scenario('imgpipe standalone-sign --passphrase-file', async () => {
    const mf = manifestFile();
    ipOk(await ip(['standalone-sign', '-o', out(`ipsig-${uniq()}`), '--passphrase-file', GPG.pass, mf, REF, GPG.locked]));
    ipFailed(await ip(['standalone-sign', '-o', out(`ipsig-${uniq()}`), '--passphrase-file', GPG.wrong, mf, REF, GPG.locked]), /Bad passphrase/);
  });
  scenario('imgpipe standalone-verify --public-key-file', async () => {
    const mf = manifestFile();
    const sig = out(`ipsig-${uniq()}`);
    ipOk(await ip(['standalone-sign', '-o', sig, mf, REF, GPG.plain]));
    expect(ipOk(await ip(['standalone-verify', '--public-key-file', GPG.plainPub, mf, REF, 'any', sig])).stdout).toMatch(
      /^Signature verified using fingerprint /,
    );
    ipFailed(await ip(['standalone-verify', '--public-key-file', GPG.lockedPub, mf, REF, 'any', sig]), /./);
    ipFailed(await ip(['standalone-verify', mf, REF, 'any', sig]), /Cannot use any fingerprint without a public key file/);
  });
  scenario('imgpipe generate-sigstore-key --output-prefix', async () => {
    const prefix = out(`ipkey-${uniq()}`);
    expect(ipOk(await ip(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', K.pass])).stdout).toBe(
      `Key written to ${JSON.stringify(`${prefix}.private`)} and ${JSON.stringify(`${prefix}.pub`)}\n`,
    );
    ipFailed(await ip(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', K.pass]), /Refusing to overwrite/);
    ipFailed(await ip(['generate-sigstore-key']), /Usage: generate-sigstore-key --output-prefix PREFIX/);
  });
  scenario('imgpipe generate-sigstore-key --passphrase-file', async () => {
    const prefix = out(`ipkey-${uniq()}`);
    ipOk(await ip(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', K.pass]));
    // the key opens with that passphrase, and with no other
    const ref = `docker://${P.host}/ipkey-${uniq()}:1`;
    await must(img('img-copy', ['--dest-tls-verify=false', SRC, ref]), 'push to sign');
    const sign = (pass: string) =>
      img('img-sign', ['sign', '--sigstore-private-key', `${prefix}.private`, '--passphrase-file', pass, '--tls-verify=false', ref]);
    expect((await sign(K.pass)).status).toBe(0);
    expect((await sign(GPG.wrong)).status).toBe(1);
  });
}

// ---------------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------------
const COMMANDS = COMMAND_FLAGS as Record<string, FlagSpec>;
const SUBCOMMANDS: Record<string, string[]> = {
  'img-manifest': ['get', 'put', 'delete'],
  'img-sign': ['sign', 'verify', 'check', 'copy'],
  'img-sign sigstore': ['keygen', 'sign', 'verify'],
};
const declared = Object.entries(COMMANDS).flatMap(([cmd, spec]) => specFlags(spec).map((f) => `${cmd} --${f}`));

/** outside runs `flag` with one subcommand outside its `only` list: a usage error naming it. */
async function outside(key: string): Promise<void> {
  const [, cmd, flag] = /^(.*) --(.*)$/.exec(key)!;
  const spec = COMMANDS[cmd!]!;
  const subs = spec.only?.[flag!];
  if (subs === undefined) return;
  const sub = SUBCOMMANDS[cmd!]!.find((s) => !subs.includes(s))!;
  expect(sub, `${key}: a subcommand outside ${subs.join(', ')}`).toBeDefined();
  const arg = spec.boolean?.includes(flag!) ? `--${flag}` : `--${flag}=x`;
  // the sigstore subcommands are told apart by their key flags
  const trigger =
    cmd === 'img-sign sigstore' && sub !== 'keygen' && !/^sigstore-(private|public)-key$/.test(flag!)
      ? [sub === 'sign' ? '--sigstore-private-key=k' : '--sigstore-public-key=k']
      : [];
  const r = await img(cmd!.split(' ')[0]!, [sub, ...trigger, arg]);
  refused(r, new RegExp(`--${flag!.replace(/\./g, '\\.')} is not for the ${sub} subcommand`));
}

describe.skipIf(!ready)('every declared flag is used', () => {
  it('has a scenario for every (command, flag) declared, and none for a flag no longer declared', () => {
    const missing = declared.filter((k) => !scenarios.has(k));
    const stale = [...scenarios.keys()].filter((k) => !declared.includes(k));
    expect({ missing, stale }).toEqual({ missing: [], stale: [] });
  });

  describe.concurrent('scenarios', () => {
    for (const [key, fn] of scenarios) {
      it(key, async (ctx) => {
        await outside(key);
        await fn({ skip: (note) => ctx.skip(note) });
      }, 240_000);
    }
  });
});
