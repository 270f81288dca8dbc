import { cachedPromise } from '../../util/memo.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ImgError } from '../../errors.js';
import { parseStoreSpec, type StoreSpec } from '../../ref/index.js';
import { forgetAtExit, removeAtExit, runAtExit } from '../../util/fs.js';
import { EngineClient, type EngineLabel } from '../engine/client.js';

/**
 * The Podman service that owns a store (containers/storage keeps its files under fcntl locks that
 * Node cannot take, so imgpipe never writes them: it asks podman). For the default store, a service
 * already running is used when its socket answers: $CONTAINER_HOST (unix:// only), else the socket
 * of this user's own store ($XDG_RUNTIME_DIR/podman/podman.sock for a user, /run/podman/podman.sock
 * for root). Otherwise, and always for a reference with a store specifier, imgpipe starts
 *
 *   podman [--root R --runroot RR --storage-driver D --storage-opt O…] --events-backend none \
 *     system service --time=0 unix://PRIVATE/podman.sock
 *
 * with TMPDIR in the same private directory, through a small `sh` watchdog that reads a pipe from
 * this process: when the pipe closes (this process ended, however: even SIGKILL, where no exit handler
 * runs), it sends podman SIGTERM, waits up to 10 s (then SIGKILL) and removes the private directory.
 * At a normal end the pipe is closed and the watchdog's work awaited (beforeExit); on SIGINT, SIGTERM,
 * SIGHUP and exit podman gets SIGTERM at once. See docs/decisions.md ("containers-storage: through
 * the Podman service") for why a watchdog and not `--time=SECONDS` with keep-alive pings.
 */

/** The libpod API version imgpipe asks for: podman 4's (podman serves older and newer paths alike). */
const LIBPOD_PREFIX = '/v4.0.0/libpod';
const PING_TIMEOUT_MS = 2_000;
/** How long a service imgpipe starts may take to answer (a store locked by another process holds it up). */
const START_TIMEOUT_MS = Number(process.env.IMGPIPE_PODMAN_START_TIMEOUT_MS) || 60_000;
/** A unix socket path must fit in sockaddr_un (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

export interface PodmanService {
  client: EngineClient;
  /** the store, for messages: `[vfs@/r+/rr]`, `the default store`, `the store of the Podman service at unix://…` */
  store: string;
  /** the podman command that lists the store's images, for messages */
  list: string;
  /** whether imgpipe started this service (and so stops it) */
  own: boolean;
}

const services = new Map<string, Promise<PodmanService>>();

/** serviceFor is this process's service for a store specifier (undefined: the default store), found or started once. */
export function serviceFor(spec: string | undefined): Promise<PodmanService> {
  return cachedPromise(services, spec ?? '', () => (spec === undefined ? defaultService() : ownService(spec)));
}

function label(at: string, start: string): EngineLabel {
  return {
    at,
    start,
    running: 'is the podman service running?',
    listening: 'is the podman service listening there?',
    denied: 'run as the user whose podman socket it is, or unset $CONTAINER_HOST so that imgpipe starts a service of its own',
    notSocket: 'set $CONTAINER_HOST to unix:///PATH of a podman socket, or unset it',
    checkHost: 'check $CONTAINER_HOST',
    hostWhat: 'the Podman service host',
    tlsHint: 'use a unix:// socket',
  };
}

const libpod = (socketPath: string, lbl: EngineLabel) =>
  new EngineClient({ host: `unix://${socketPath}`, socketPath }, lbl, { prefix: async () => LIBPOD_PREFIX });

/** ping says whether GET /_ping on the socket answers OK (quickly: a missing or dead socket fails at once). */
export function ping(socketPath: string, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  return new Promise((res) => {
    const req = http.get({ socketPath, path: '/_ping', host: 'd', timeout: timeoutMs, agent: false }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => res(false));
  });
}

/** defaultService finds a running service of the default store, else starts one. */
async function defaultService(): Promise<PodmanService> {
  const env = process.env.CONTAINER_HOST;
  if (env !== undefined && env !== '') {
    const m = /^unix:\/\/(\/.*)$/.exec(env);
    if (!m) {
      throw new ImgError(
        'USAGE',
        `$CONTAINER_HOST is ${JSON.stringify(env)}: containers-storage: speaks to a podman service over a unix socket only (unix:///PATH); for ssh://, forward the socket (ssh -L /tmp/podman.sock:/run/podman/podman.sock HOST) or unset $CONTAINER_HOST`,
      );
    }
    const socket = m[1]!;
    const lbl = label(
      `the Podman service at ${env} ($CONTAINER_HOST)`,
      'start it (systemctl start podman.socket), or unset $CONTAINER_HOST so that imgpipe starts a service of its own',
    );
    if (!(await ping(socket))) {
      // Let the request say why (no socket, refused, permission): one line from connectError.
      await libpod(socket, lbl)
        .get('/_ping', 'GET /_ping', undefined, PING_TIMEOUT_MS)
        .then((r) => r.resume());
      throw new ImgError('UNREACHABLE', `${lbl.at} does not answer GET /_ping; ${lbl.start}`);
    }
    return { client: libpod(socket, lbl), store: `the store of the Podman service at ${env}`, list: 'podman --remote images', own: false };
  }
  const xdg = process.env.XDG_RUNTIME_DIR;
  const socket = process.getuid?.() === 0 ? '/run/podman/podman.sock' : xdg ? join(xdg, 'podman', 'podman.sock') : undefined;
  if (socket !== undefined && (await ping(socket))) {
    return {
      client: libpod(socket, label(`the Podman service at unix://${socket}`, 'check that the service runs (systemctl status podman.socket)')),
      store: 'the default store',
      list: 'podman images',
      own: false,
    };
  }
  return ownService(undefined);
}

/** storeFlags are podman's global flags for a store specifier. */
export function storeFlags(spec: StoreSpec): string[] {
  const flags: string[] = [];
  if (spec.graphRoot !== undefined) flags.push('--root', spec.graphRoot);
  if (spec.runRoot !== undefined) flags.push('--runroot', spec.runRoot);
  if (spec.driver !== undefined) flags.push('--storage-driver', spec.driver);
  for (const o of spec.options ?? []) flags.push('--storage-opt', o);
  return flags;
}

/** findPodman is the podman binary in $PATH, or a one-line error saying what to install. */
function findPodman(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const p = join(dir, 'podman');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new ImgError(
    'UNSUPPORTED',
    'containers-storage: needs podman, which is not in $PATH: install it (Debian package podman), or put its directory in $PATH',
  );
}

/**
 * The watchdog: starts podman in the background (stdin /dev/null, output to its log), prints its
 * pid, then reads our pipe until it closes; then SIGTERM, up to 10 s for podman to exit (state Z
 * or gone in /proc), SIGKILL, and the private directory removed. It ignores INT, TERM and HUP, so
 * that a signal to our process group does not stop it before it has cleaned up.
 */
const WATCHDOG = [
  'dir=$1; log=$2; shift 2',
  '"$@" >"$log" 2>&1 </dev/null &',
  'p=$!',
  'echo "$p"',
  "trap '' INT TERM HUP",
  'while read -r _; do :; done',
  'kill -TERM "$p" 2>/dev/null',
  'i=0',
  'while [ $i -lt 100 ]; do',
  '  s=$(sed "s/.*) //" "/proc/$p/stat" 2>/dev/null | cut -c1)',
  '  if [ -z "$s" ] || [ "$s" = Z ]; then break; fi',
  '  sleep 0.1; i=$((i+1))',
  'done',
  'kill -KILL "$p" 2>/dev/null',
  'wait "$p" 2>/dev/null',
  'rm -rf "$dir"',
].join('\n');

interface Running {
  /** the key of `services` this service is under */
  key: string;
  pid?: number;
  dog: ChildProcess;
  dir: string;
  exited: Promise<void>;
}

const running = new Set<Running>();
let hooked = false;

/** stopNow is the synchronous stop of exit and signal handlers: SIGTERM to podman and the pipe closed; the watchdog waits and cleans up. */
function stopNow(r: Running): void {
  if (r.pid !== undefined) {
    try {
      process.kill(r.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }
  r.dog.stdin?.destroy();
}

/** stop closes the watchdog's pipe and waits for it to have stopped podman and removed the directory. */
async function stop(r: Running): Promise<void> {
  running.delete(r);
  services.delete(r.key);
  // Referenced again, so that the process waits for the watchdog to finish (it was unreferenced so as not to keep the process alive).
  r.dog.ref();
  r.dog.stdin?.end();
  await r.exited;
  forgetAtExit(r.dir);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  runAtExit(() => {
    for (const r of running) stopNow(r);
  });
  // A normal end (the event loop ran dry): stop every service and wait for it, then let the process end.
  process.on('beforeExit', () => {
    if (running.size === 0) return;
    void Promise.all([...running].map(stop));
  });
}

/** privateDir makes the service's directory (socket, TMPDIR, log): under $TMPDIR or /var/tmp, where podman keeps its big temp files; the socket under /tmp when that path is too long. */
function privateDir(): { dir: string; socket: string; extra?: string } {
  const base = process.env.TMPDIR || '/var/tmp';
  const dir = mkdtempSync(join(base, 'imgpipe-podman-'));
  removeAtExit(dir);
  mkdirSync(join(dir, 'tmp'), { mode: 0o700 });
  let socket = join(dir, 'podman.sock');
  if (socket.length > MAX_SOCKET_PATH) {
    const short = mkdtempSync('/tmp/imgpipe-podman-');
    removeAtExit(short);
    socket = join(short, 'podman.sock');
    return { dir, socket, extra: short };
  }
  return { dir, socket };
}

/** ownService starts `podman system service` for a store (undefined: the default store) and waits for it to answer. */
async function ownService(spec: string | undefined): Promise<PodmanService> {
  const store = spec === undefined ? 'the default store' : `[${spec}]`;
  const flags = spec === undefined ? [] : storeFlags(parseStoreSpec(spec));
  const podman = findPodman();
  hook();
  const { dir, socket, extra } = privateDir();
  const log = join(dir, 'podman.log');
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: join(dir, 'tmp') };
  // With either set, podman would act as a client of another service instead of serving.
  delete env.CONTAINER_HOST;
  delete env.CONTAINER_CONNECTION;
  // The watchdog removes the socket's own directory too when it is not inside dir.
  const script = WATCHDOG.replace('rm -rf "$dir"', extra ? 'rm -rf "$dir" "$extra"' : 'rm -rf "$dir"').replace(
    'dir=$1; log=$2; shift 2',
    extra ? 'dir=$1; extra=$2; log=$3; shift 3' : 'dir=$1; log=$2; shift 2',
  );
  const args = [
    '-c',
    script,
    'imgpipe-podman',
    dir,
    ...(extra ? [extra] : []),
    log,
    podman,
    ...flags,
    '--events-backend',
    'none',
    'system',
    'service',
    '--time=0',
    `unix://${socket}`,
  ];
  // A session of its own: a signal to our process group (kill -9 of a whole pipeline, Ctrl-C) does not stop the watchdog before it has cleaned up.
  const dog = spawn('sh', args, { stdio: ['pipe', 'pipe', 'ignore'], env, detached: true });
  const r: Running = {
    key: spec ?? '',
    dog,
    dir,
    exited: new Promise<void>((res) => {
      dog.on('exit', () => res());
      dog.on('error', () => res());
    }),
  };
  running.add(r);
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  dog.stdin?.on('error', () => undefined);
  r.pid = await new Promise<number | undefined>((res) => {
    let out = '';
    dog.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) res(Number(line[1]));
    });
    dog.stdout!.on('close', () => res(undefined));
    dog.on('error', () => res(undefined));
  });
  (dog.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  const at = `the podman service imgpipe started for ${store}`;
  const lbl = label(at, `see ${log} while it runs, or run podman${flags.length ? ` ${flags.join(' ')}` : ''} images to check the store`);
  const fail = async (why: string): Promise<never> => {
    const said = lastLines(log);
    await stop(r);
    throw new ImgError('UNREACHABLE', `${at}: ${why}${said ? `: ${said}` : ''}`);
  };
  if (r.pid === undefined) return fail('the watchdog shell could not start podman');
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await ping(socket)) break;
    if (!alive(r.pid)) return fail('podman exited before it answered');
    if (Date.now() > deadline)
      return fail(`no answer on ${socket} within ${START_TIMEOUT_MS / 1000} s (is the store locked by another process for that long?)`);
    await new Promise((res) => setTimeout(res, 50));
  }
  return { client: libpod(socket, lbl), store, list: `podman${flags.length ? ` ${flags.join(' ')}` : ''} images`, own: true };
}

/** alive says whether a process exists and is not a zombie (podman is the watchdog's child, reaped only when it waits). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** lastLines is the end of podman's log in one line (its error), without the time stamps of logrus lines. */
function lastLines(log: string): string {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return '';
  }
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^time="[^"]*" /, '').trim())
    .filter((l) => l !== '');
  const errors = lines.filter((l) => l.startsWith('Error'));
  const logged = lines.filter((l) => /^level=(error|fatal)/.test(l));
  const pick = errors.at(-1) ?? logged.at(-1) ?? lines.slice(-2).join(' ');
  return pick.length > 400 ? `${pick.slice(0, 400)}…` : pick;
}

/** stopAll stops every service this process started and waits for them (for tests and long-lived callers). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop));
}
