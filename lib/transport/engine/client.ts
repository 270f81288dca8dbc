import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { processTlsDetails } from '../../util/tls-details.js';
import { ImgError } from '../../errors.js';
import { USER_AGENT } from '../registry/client.js';

/**
 * The engine-API client that docker-daemon: (the Docker Engine API) and containers-storage: (Podman's
 * libpod API) share: HTTP/1.1 over a unix socket (or TCP, with or without TLS), one connection per
 * request (no agent, so nothing keeps the process alive), errors as one line that names the engine.
 */

/** How to reach one engine: a unix socket, or TCP with or without TLS. */
export type Endpoint =
  | { host: string; socketPath: string }
  | { host: string; hostname: string; port: number; tls: false }
  | { host: string; hostname: string; port: number; tls: true; certDir?: string; verify: boolean };

/** Client TLS material for a TLS endpoint. */
export interface TlsFiles {
  ca?: Buffer | string[];
  cert?: Buffer;
  key?: Buffer;
}

/** How messages name an engine and say what to do, so that each engine's errors read as its own. */
export interface EngineLabel {
  /** the engine, for messages: `the Docker engine at unix:///var/run/docker.sock` */
  at: string;
  /** what to do when nothing answers */
  start: string;
  /** the question after a missing or silent socket: `is dockerd running?` */
  running: string;
  /** the question after a refused TCP connection */
  listening: string;
  /** what to do after EACCES on the socket */
  denied: string;
  /** what to do when the socket path is not a socket */
  notSocket: string;
  /** what to check when a TCP host does not resolve */
  checkHost: string;
  /** the engine host, in `cannot resolve … in HOST` */
  hostWhat: string;
  /** what to do after a TLS failure */
  tlsHint: string;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON = 16 * 1024 * 1024;

export function oneLine(s: string): string {
  const line = s.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** connectError says in one line why the engine could not be reached, and what to do. */
export function connectError(e: unknown, ep: Endpoint, label: EngineLabel): ImgError {
  if (e instanceof ImgError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  const at = label.at;
  if ('socketPath' in ep) {
    if (code === 'ENOENT')
      return new ImgError('UNREACHABLE', `cannot connect to ${at}: there is no socket ${ep.socketPath} (${label.running}); ${label.start}`, { cause: e });
    if (code === 'ECONNREFUSED')
      return new ImgError('UNREACHABLE', `cannot connect to ${at}: nothing listens on ${ep.socketPath} (${label.running}); ${label.start}`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM')
      return new ImgError('DENIED', `cannot connect to ${at}: permission denied on ${ep.socketPath}; ${label.denied}`, { cause: e });
    if (code === 'ENOTSOCK' || code === 'ENOTDIR')
      return new ImgError('UNREACHABLE', `cannot connect to ${at}: ${ep.socketPath} is not a socket; ${label.notSocket}`, { cause: e });
  } else {
    if (code === 'ECONNREFUSED')
      return new ImgError('UNREACHABLE', `cannot connect to ${at}: connection refused (${label.listening}); ${label.start}`, { cause: e });
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return new ImgError('UNREACHABLE', `cannot resolve ${label.hostWhat} in ${ep.host}; ${label.checkHost}`, { cause: e });
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') || /ssl|tls|certificate/i.test(err.message ?? '')) {
      return new ImgError('TLS', `TLS with ${at} failed: ${oneLine(err.message ?? code)}; ${label.tlsHint}`, { cause: e });
    }
  }
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT') return new ImgError('TIMEOUT', `${at} did not answer (${err.message}); ${label.start}`, { cause: e });
  if (code === 'ECONNRESET' || code === 'EPIPE') return new ImgError('UNREACHABLE', `${at} closed the connection (${code})`, { cause: e });
  return new ImgError('UNREACHABLE', `cannot talk to ${at}: ${oneLine(err.message ?? String(e))}`, { cause: e });
}

/** engineMessage reads an error answer's message ({"message": …}, else its text, else its status). */
export async function engineMessage(res: IncomingMessage): Promise<string> {
  let body = '';
  try {
    for await (const chunk of res) {
      body += (chunk as Buffer).toString('utf8');
      if (body.length > MAX_ERROR_BODY) break;
    }
  } catch {
    /* the status says enough */
  }
  res.destroy();
  let message = oneLine(body) || `HTTP ${res.statusCode ?? 0}`;
  try {
    const doc = JSON.parse(body) as { message?: unknown };
    if (typeof doc.message === 'string' && doc.message !== '') message = oneLine(doc.message);
  } catch {
    /* not JSON: the text as it is */
  }
  return message;
}

/** engineError turns an engine's error answer into one line naming the engine and what was asked. */
export async function engineError(res: IncomingMessage, label: EngineLabel, what: string): Promise<ImgError> {
  const status = res.statusCode ?? 0;
  const message = await engineMessage(res);
  const code = status === 404 ? 'MANIFEST_UNKNOWN' : status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'HTTP';
  return new ImgError(code, `${label.at} refused ${what}: ${message} (HTTP ${status})`, { status });
}

export interface EngineClientOptions {
  /** the path prefix of every call but the ping (`/v1.41`, `/v4.0.0/libpod`), found once */
  prefix?: () => Promise<string>;
  /** the client TLS material of a TLS endpoint */
  tls?: () => Promise<TlsFiles>;
}

/**
 * EngineClient speaks one engine's REST API over node:http. `send` is the raw request; get, getJSON
 * and post put the engine's path prefix in front and turn error answers into one-line errors.
 */
export class EngineClient {
  private tlsP?: Promise<TlsFiles>;

  constructor(
    readonly ep: Endpoint,
    readonly label: EngineLabel,
    private readonly opts: EngineClientOptions = {},
  ) {}

  private async path(path: string): Promise<string> {
    return `${this.opts.prefix ? await this.opts.prefix() : ''}${path}`;
  }

  /**
   * get sends GET {prefix}{path} and resolves with the answer once it is a 200, else rejects with the
   * engine's error (`notFound` makes the error for a 404 from the engine's message).
   */
  async get(path: string, what: string, notFound?: (message: string) => ImgError, timeoutMs?: number): Promise<IncomingMessage> {
    const { response } = await this.send('GET', await this.path(path), {}, timeoutMs);
    const res = await response;
    if (res.statusCode === 404 && notFound) throw notFound(await engineMessage(res));
    if (res.statusCode !== 200) throw await engineError(res, this.label, what);
    return res;
  }

  /** getJSON is get for a small JSON answer (at most 16 MiB), parsed. */
  async getJSON(path: string, what: string, notFound?: (message: string) => ImgError, timeoutMs?: number): Promise<unknown> {
    return readJSON(await this.get(path, what, notFound, timeoutMs), this.label, what);
  }

  /**
   * post starts POST {prefix}{path} with a streamed body: the caller writes `req` and ends it (or
   * destroys it, which the engine sees as a cut connection); `response` resolves when the engine answers.
   */
  async post(path: string, headers: Record<string, string>): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    return this.send('POST', await this.path(path), headers, undefined, true);
  }

  /** call sends a request without a body and resolves with the answer when its status is one of `ok`, else rejects with the engine's error. */
  async call(method: string, path: string, what: string, ok: number[], timeoutMs?: number): Promise<IncomingMessage> {
    const { response } = await this.send(method, await this.path(path), {}, timeoutMs);
    const res = await response;
    if (!ok.includes(res.statusCode ?? 0)) throw await engineError(res, this.label, what);
    return res;
  }

  /** send is one request: the answer, or a connection error as connectError words it; with `timeoutMs`, no answer within it is ETIMEDOUT. */
  async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    timeoutMs?: number,
    body = false,
  ): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    const ep = this.ep;
    const common = { method, path, headers: { 'user-agent': USER_AGENT, ...headers }, agent: false as const };
    let req: ClientRequest;
    if ('socketPath' in ep) {
      req = http.request({ ...common, socketPath: ep.socketPath, host: 'docker' });
    } else if (!ep.tls) {
      req = http.request({ ...common, host: ep.hostname, port: ep.port });
    } else {
      this.tlsP ??= this.opts.tls ? this.opts.tls() : Promise.resolve({});
      const files = await this.tlsP;
      req = https.request({ ...common, host: ep.hostname, port: ep.port, rejectUnauthorized: ep.verify, ...processTlsDetails(), ...files });
    }
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', (e) => reject(connectError(e, ep, this.label)));
    });
    // The caller may never await the answer (an aborted load): its rejection is reported elsewhere.
    response.catch(() => undefined);
    if (timeoutMs !== undefined) {
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    }
    if (!body) req.end();
    return { req, response };
  }
}

/** readJSON reads a small JSON answer (at most 16 MiB) and parses it. */
export async function readJSON(res: IncomingMessage, label: EngineLabel, what: string): Promise<unknown> {
  let body = '';
  for await (const chunk of res) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > MAX_JSON) {
      res.destroy();
      throw new ImgError('TOO_LARGE', `${label.at} answered ${what} with over ${MAX_JSON} bytes`);
    }
  }
  try {
    return JSON.parse(body);
  } catch {
    throw new ImgError('HTTP', `${label.at} answered ${what} with text that is not JSON: ${JSON.stringify(body.slice(0, 200))}`);
  }
}
