import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * startRegistry runs a real CNCF distribution registry (Debian's docker-registry, 2.8) on
 * 127.0.0.1 with filesystem storage in a fresh temp dir.
 */
export interface RegistryOptions {
  /** 'htpasswd': basic auth against `users` (bcrypt); 'token': Docker token auth (realm, service, issuer, rootCertBundle) */
  auth?: 'htpasswd' | 'token';
  /** htpasswd users: name → password */
  users?: Record<string, string>;
  /** token auth: the token server's URL, e.g. startTokenServer().realm */
  realm?: string;
  /** token auth: the `aud` the registry accepts */
  service?: string;
  /** token auth: the `iss` the registry accepts */
  issuer?: string;
  /** token auth: PEM file of certificates whose keys may sign tokens (x5c chains must end in one of them) */
  rootCertBundle?: string;
  /** serve https; with clientCAs the registry requires a client certificate signed by one of them */
  tls?: { cert: string; key: string; clientCAs?: string[] };
  /** last-minute edits of the generated config (an object written as JSON, which the registry's YAML parser reads) */
  configure?: (config: Record<string, any>) => void;
  /** how long to wait for GET /v2/ to answer (default 15 s) */
  timeoutMs?: number;
}

export interface Registry {
  /** '127.0.0.1:PORT' */
  host: string;
  port: number;
  /** 'http://127.0.0.1:PORT' or 'https://127.0.0.1:PORT' */
  url: string;
  /** the temp dir: config.yml, htpasswd, storage/ */
  dir: string;
  /** the registry's storage root (docker/registry/v2/... lives below it) */
  storage: string;
  /** the docker-registry process (for the benchmarks' CPU figures) */
  pid: number;
  /** kill the process, await its exit, remove the temp dir; safe to call twice */
  stop(): Promise<void>;
  /** what the registry wrote to stdout/stderr so far (log level warn, access log off) */
  logs(): string;
}

interface Live {
  child: ChildProcess;
  dir: string;
}
const live = new Set<Live>();
let exitHookInstalled = false;

/** on process exit, kill what is still running and remove its dirs (a test file that forgot stop()) */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of live) {
      try {
        l.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
      try {
        rmSync(l.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/**
 * watchdog starts `sh` reading a pipe from this process: when this process dies in any way
 * (even SIGKILL, where no 'exit' handler runs) the pipe closes, and sh kills `pid` and removes `dir`.
 */
export function watchdog(pid: number, dir?: string): ChildProcess {
  const rm = dir ? `; rm -rf '${dir.replace(/'/g, `'\\''`)}'` : '';
  const w = spawn('sh', ['-c', `while read -r _; do :; done; kill -9 ${pid} 2>/dev/null${rm}`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  w.unref();
  (w.stdin as any)?.unref?.();
  w.on('error', () => undefined);
  return w;
}

/** freePort asks the kernel for a free port on 127.0.0.1 (bind port 0, close). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

/** htpasswdLine makes a bcrypt htpasswd line with `htpasswd -B` (Debian package apache2-utils). */
export function htpasswdLine(user: string, password: string): string {
  try {
    return execFileSync('htpasswd', ['-nbB', '-C', '4', user, password], { stdio: ['ignore', 'pipe', 'pipe'] })
      .toString()
      .trim();
  } catch (e: any) {
    if (e.code === 'ENOENT') throw new Error('htpasswd not found: install the Debian package apache2-utils (it makes the bcrypt hashes the registry needs)');
    throw new Error(`htpasswd failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

/** the registry reads REGISTRY_* variables as config overrides (REGISTRY_AUTH_FILE would become auth.file): drop them */
function registryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  return env;
}

function buildConfig(opts: RegistryOptions, dir: string, port: number): Record<string, any> {
  const config: Record<string, any> = {
    version: 0.1,
    log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'storage') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex'), headers: { 'X-Content-Type-Options': ['nosniff'] } },
    health: { storagedriver: { enabled: false } },
  };
  if (opts.tls) {
    config.http.tls = { certificate: opts.tls.cert, key: opts.tls.key };
    if (opts.tls.clientCAs?.length) config.http.tls.clientcas = opts.tls.clientCAs;
  }
  if (opts.auth === 'htpasswd') {
    const users = opts.users ?? {};
    if (Object.keys(users).length === 0) throw new Error('startRegistry: auth htpasswd needs users');
    const file = join(dir, 'htpasswd');
    writeFileSync(
      file,
      Object.entries(users)
        .map(([u, p]) => htpasswdLine(u, p))
        .join('\n') + '\n',
    );
    config.auth = { htpasswd: { realm: 'imgpipe-test', path: file } };
  } else if (opts.auth === 'token') {
    for (const k of ['realm', 'service', 'issuer', 'rootCertBundle'] as const) if (!opts[k]) throw new Error(`startRegistry: auth token needs ${k}`);
    config.auth = { token: { realm: opts.realm, service: opts.service, issuer: opts.issuer, rootcertbundle: opts.rootCertBundle, autoredirect: false } };
  } else if (opts.auth) {
    throw new Error(`startRegistry: unknown auth ${String(opts.auth)}`);
  }
  opts.configure?.(config);
  return config;
}

/** probe answers true once GET /v2/ gets any HTTP answer (or, with required client certs, a TLS alert from the server). */
function probe(url: string, tls: boolean): Promise<boolean> {
  return new Promise((res) => {
    const mod = tls ? https : http;
    const req = mod.get(`${url}/v2/`, { timeout: 1000, rejectUnauthorized: false, agent: false } as any, (r) => {
      r.resume();
      res(true);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: any) => {
      const m = `${e.code ?? ''} ${e.message ?? ''}`;
      // the TLS stack answered (e.g. "certificate required" alert): the server is up
      res(tls && /SSL|alert|certificate|EPROTO/i.test(m) && !/ECONNREFUSED/.test(m));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  installExitHook();
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const dir = mkdtempSync(join(tmpdir(), 'imgpipe-registry-'));
  mkdirSync(join(dir, 'storage'));
  let lastLogs = '';
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = buildConfig(opts, dir, port);
      const cfgFile = join(dir, 'config.yml');
      writeFileSync(cfgFile, JSON.stringify(config, null, 2) + '\n');
      const child = spawn('docker-registry', ['serve', cfgFile], { env: registryEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const entry: Live = { child, dir };
      live.add(entry);
      let buf = '';
      const onData = (b: Buffer) => {
        buf += b.toString('utf8');
        if (buf.length > 4_000_000) buf = buf.slice(-2_000_000);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      let exited: { code: number | null; signal: string | null } | undefined;
      let spawnError: Error | undefined;
      const exitP = new Promise<void>((r) =>
        child.on('close', (code, signal) => {
          exited = { code, signal };
          live.delete(entry);
          r();
        }),
      );
      child.on('error', (e) => {
        spawnError = e;
      });
      const dog = child.pid ? watchdog(child.pid, dir) : undefined;
      const scheme = opts.tls ? 'https' : 'http';
      const url = `${scheme}://127.0.0.1:${port}`;
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        dog?.kill('SIGKILL');
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exitP;
          clearTimeout(t);
        }
        live.delete(entry);
        rmSync(dir, { recursive: true, force: true });
      };
      // wait for GET /v2/
      let ready = false;
      while (!exited && !spawnError && Date.now() < deadline) {
        if ((ready = await probe(url, !!opts.tls))) break;
        await sleep(50);
      }
      if (spawnError) {
        await stop();
        throw new Error(`startRegistry: cannot run docker-registry (${spawnError.message}); install the Debian package docker-registry`);
      }
      if (ready && !exited) {
        return { host: `127.0.0.1:${port}`, port, url, dir, storage: join(dir, 'storage'), pid: child.pid!, stop, logs: () => buf };
      }
      if (exited) {
        await exitP;
        lastLogs = buf;
        dog?.kill('SIGKILL');
        if (/address already in use/i.test(buf) && attempt < 5 && Date.now() < deadline) continue;
        throw new Error(
          `startRegistry: docker-registry exited (code ${exited.code}, signal ${exited.signal}) before answering; config ${JSON.stringify(config)}; log:\n${buf}`,
        );
      }
      lastLogs = buf;
      dog?.kill('SIGKILL');
      child.kill('SIGKILL');
      await exitP;
      throw new Error(`startRegistry: GET ${url}/v2/ got no answer within ${timeoutMs} ms; log:\n${lastLogs}`);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
