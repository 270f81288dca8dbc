import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Result } from './run.js';

/**
 * A registry that misbehaves on purpose, on 127.0.0.1, plain http: `handle` answers every request
 * but GET /v2/ (a 200 with {} unless `handle` says otherwise by returning true for it). Sockets are
 * tracked so that stop() ends trickles and endless bodies at once.
 */
export interface Hostile {
  host: string;
  url: string;
  seen: { method: string; url: string }[];
  stop(): Promise<void>;
}

export async function startHostile(handle: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | void): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const seen: { method: string; url: string }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? 'GET', url: req.url ?? '/' });
    if (handle(req, res) === true) return;
    if (req.url === '/v2/' && !res.headersSent) {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** trickle writes `text` to `res` one byte every `everyMs` (after flushing the headers), until it is written or the client goes. */
export function trickle(res: http.ServerResponse, text: string | Buffer, everyMs: number): void {
  const bytes = Buffer.from(text);
  let i = 0;
  res.flushHeaders();
  const t = setInterval(() => {
    if (res.destroyed || i >= bytes.length) {
      clearInterval(t);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(bytes.subarray(i, ++i));
  }, everyMs);
  t.unref();
  res.on('close', () => clearInterval(t));
}

/** trickleRaw writes a whole HTTP answer (status line and headers too) to the socket one byte every `everyMs`. */
export function trickleRaw(res: http.ServerResponse, answer: string, everyMs: number): void {
  const sock = res.socket!;
  let i = 0;
  const t = setInterval(() => {
    if (sock.destroyed || i >= answer.length) return clearInterval(t);
    sock.write(answer[i++]!);
  }, everyMs);
  t.unref();
  sock.on('close', () => clearInterval(t));
}

/** endless writes `chunk` to `res` for as long as the client reads. */
export function endless(res: http.ServerResponse, chunk: Buffer): void {
  res.flushHeaders();
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

export interface Measured extends Result {
  /** wall time, ms */
  ms: number;
  /** the process's peak resident set (VmHWM of /proc/PID/status, polled), KiB */
  peakKiB: number;
}

/** measure runs a program (an img-* launcher execs node, keeping its pid) and follows its peak RSS and its time. */
export function measure(file: string, args: string[], env: NodeJS.ProcessEnv = {}, input: string | Buffer = ''): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let peakKiB = 0;
    const poll = setInterval(() => {
      try {
        const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        /* gone */
      }
    }, 20);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        status: code ?? (signal ? 128 : -1),
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
        ms: Date.now() - t0,
        peakKiB,
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
