import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { exec, have, type Result } from './run.js';

/**
 * startDockerd runs a private Docker engine (Debian's docker.io, dockerd 20.10) as root: its own
 * unix socket, data root, exec root, pid file and config file (so /etc/docker/daemon.json is not
 * read), vfs storage, no iptables and no bridge, and containerd namespaces of its own, all in a
 * short temp dir under /tmp (a unix socket path must stay under 108 bytes). It is stopped with
 * SIGTERM to its pid and waited for: SIGKILL would leave its mounts and a containerd child behind.
 */
export interface Dockerd {
  /** unix:///…/d.sock */
  host: string;
  /** with the tls option: tcp://127.0.0.1:PORT, where the engine wants TLS and a client certificate its CA signed */
  tcpHost?: string;
  socket: string;
  dir: string;
  /** env for the docker CLI and for tests: DOCKER_HOST=host */
  env: NodeJS.ProcessEnv;
  /** the docker CLI against this engine */
  docker(args: string[]): Promise<Result>;
  /** SIGTERM, wait for the exit (SIGKILL after 20 s), remove the dir; safe to call twice */
  stop(): Promise<void>;
  logs(): string;
}

/** dockerdUnavailable says why daemon tests cannot run here (not root, no dockerd), or undefined when they can. */
export function dockerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: dockerd needs root (these docker-daemon: cases are skipped)';
  if (!have('dockerd') || !have('docker')) return 'dockerd or docker not installed (Debian package docker.io; make test installs it)';
  return undefined;
}

interface Live {
  pid: number;
  dir: string;
}
const live = new Set<Live>();
let hooked = false;

/** stopSync stops a dockerd from an exit hook, where nothing asynchronous runs: SIGTERM, wait, then SIGKILL, unmount what is left and remove the dir. */
function stopSync(l: Live): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  spawnSync(
    'sh',
    [
      '-c',
      `kill -TERM ${l.pid} 2>/dev/null; i=0; while kill -0 ${l.pid} 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL ${l.pid} 2>/dev/null; umount -R ${q(join(l.dir, 'data'))} 2>/dev/null; rm -rf ${q(l.dir)}`,
    ],
    { stdio: 'ignore' },
  );
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const l of live) stopSync(l);
  });
}

/** watchdog: when this process dies in any way (even SIGKILL) the pipe closes and sh stops the engine as stopSync does. */
function watchdog(l: Live): ChildProcess {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const w = spawn(
    'sh',
    [
      '-c',
      `while read -r _; do :; done; kill -TERM ${l.pid} 2>/dev/null; i=0; while kill -0 ${l.pid} 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL ${l.pid} 2>/dev/null; umount -R ${q(join(l.dir, 'data'))} 2>/dev/null; rm -rf ${q(l.dir)}`,
    ],
    { stdio: ['pipe', 'ignore', 'ignore'], detached: true },
  );
  w.unref();
  (w.stdin as unknown as { unref?: () => void })?.unref?.();
  w.on('error', () => undefined);
  return w;
}

/** ping answers true once GET /_ping on the socket says OK. */
function ping(socket: string): Promise<boolean> {
  return new Promise((res) => {
    const req = http.get({ socketPath: socket, path: '/_ping', timeout: 1000, agent: false }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => res(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DockerdOptions {
  /** how long to wait for /_ping (default 60 s) */
  timeoutMs?: number;
  /** also listen on tcp://127.0.0.1:port with TLS (dockerd --tlsverify: a client certificate signed by ca is required) */
  tls?: { port: number; ca: string; cert: string; key: string };
}

export async function startDockerd(opts: DockerdOptions = {}): Promise<Dockerd> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const why = dockerdUnavailable();
  if (why) throw new Error(`startDockerd: ${why}`);
  hook();
  const dir = mkdtempSync('/tmp/imgd-');
  const socket = join(dir, 'd.sock');
  const ns = `imgpipe-${process.pid}-${randomBytes(3).toString('hex')}`;
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const logFile = join(dir, 'dockerd.log');
  const out = openSync(logFile, 'a');
  const args = [
    '--host',
    `unix://${socket}`,
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'x'),
    '--pidfile',
    join(dir, 'dockerd.pid'),
    '--config-file',
    join(dir, 'daemon.json'),
    '--storage-driver',
    'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--containerd-namespace',
    ns,
    '--containerd-plugins-namespace',
    `${ns}-plugins`,
  ];
  if (opts.tls) {
    args.push('--host', `tcp://127.0.0.1:${opts.tls.port}`, '--tlsverify', '--tlscacert', opts.tls.ca, '--tlscert', opts.tls.cert, '--tlskey', opts.tls.key);
  }
  const child = spawn('dockerd', args, { stdio: ['ignore', out, out] });
  closeSync(out);
  const logs = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('startDockerd: cannot run dockerd');
  }
  const entry: Live = { pid: child.pid, dir };
  live.add(entry);
  const dog = watchdog(entry);
  let exited = false;
  const exitP = new Promise<void>((r) =>
    child.on('close', () => {
      exited = true;
      r();
    }),
  );
  child.on('error', () => undefined);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exitP;
      clearTimeout(t);
    }
    dog.kill('SIGKILL');
    live.delete(entry);
    spawnSync('umount', ['-R', join(dir, 'data')], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!exited && Date.now() < deadline) {
    if (await ping(socket)) {
      const host = `unix://${socket}`;
      const env = { DOCKER_HOST: host };
      const tcpHost = opts.tls ? { tcpHost: `tcp://127.0.0.1:${opts.tls.port}` } : {};
      return { host, ...tcpHost, socket, dir, env, docker: (a) => exec('docker', a, undefined, env), stop, logs };
    }
    await sleep(100);
  }
  const log = logs();
  await stop();
  throw new Error(`startDockerd: ${exited ? 'dockerd exited' : `no answer on ${socket} within ${timeoutMs} ms`}; log:\n${log.slice(-4000)}`);
}
