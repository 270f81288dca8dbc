import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ImgError } from '../../errors.js';
import { USER_AGENT } from '../registry/client.js';
import { tlsFiles, type Endpoint } from './host.js';

/**
 * The newest Engine API version imgpipe speaks (Docker 20.10's). The version used is the lower of
 * this and the engine's own (the API-Version header of GET /_ping), as the docker CLI negotiates.
 * Every call imgpipe makes (/images/{name}/get, /images/load, /images/{name}/json) is in API 1.24.
 */
export const MAX_API_VERSION = '1.41';
const MIN_API_VERSION = '1.24';
const PING_TIMEOUT_MS = 30_000;
const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON = 16 * 1024 * 1024;

/** compareVersions compares "1.41"-style versions numerically. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** negotiate picks the API version to use from the engine's API-Version header. */
export function negotiate(server: string | undefined): string {
  if (server === undefined || !/^\d+\.\d+$/.test(server)) return MIN_API_VERSION;
  return compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
}

const START = 'start dockerd, or name the engine with --daemon-host (or $DOCKER_HOST)';

/** connectError says in one line why the engine could not be reached, and what to do. */
export function connectError(e: unknown, ep: Endpoint): ImgError {
  if (e instanceof ImgError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  const at = `the Docker engine at ${ep.host}`;
  if ('socketPath' in ep) {
    if (code === 'ENOENT') return new ImgError('UNREACHABLE', `cannot connect to ${at}: there is no socket ${ep.socketPath} (is dockerd running?); ${START}`, { cause: e });
    if (code === 'ECONNREFUSED') return new ImgError('UNREACHABLE', `cannot connect to ${at}: nothing listens on ${ep.socketPath} (is dockerd running?); ${START}`, { cause: e });
    if (code === 'EACCES' || code === 'EPERM') {
      return new ImgError('DENIED', `cannot connect to ${at}: permission denied on ${ep.socketPath}; run as root or as a member of the socket's group (usually docker), or name another engine with --daemon-host`, { cause: e });
    }
    if (code === 'ENOTSOCK' || code === 'ENOTDIR') return new ImgError('UNREACHABLE', `cannot connect to ${at}: ${ep.socketPath} is not a socket; name the engine's socket with --daemon-host unix:///PATH`, { cause: e });
  } else {
    if (code === 'ECONNREFUSED') return new ImgError('UNREACHABLE', `cannot connect to ${at}: connection refused (is dockerd listening there?); ${START}`, { cause: e });
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ImgError('UNREACHABLE', `cannot resolve the Docker engine host in ${ep.host}; check --daemon-host`, { cause: e });
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') || /ssl|tls|certificate/i.test(err.message ?? '')) {
      return new ImgError('TLS', `TLS with ${at} failed: ${oneLine(err.message ?? code)}; put its ca.pem (and cert.pem, key.pem) in --cert-dir, use --tls-verify=false, or http:// for an engine without TLS`, { cause: e });
    }
  }
  if (code === 'ETIMEDOUT' || code === 'TIMEOUT') return new ImgError('TIMEOUT', `${at} did not answer (${err.message}); ${START}`, { cause: e });
  if (code === 'ECONNRESET' || code === 'EPIPE') return new ImgError('UNREACHABLE', `${at} closed the connection (${code})`, { cause: e });
  return new ImgError('UNREACHABLE', `cannot talk to ${at}: ${oneLine(err.message ?? String(e))}`, { cause: e });
}

function oneLine(s: string): string {
  const line = s.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** engineError turns an engine's error answer ({"message": …}) into one line naming the engine and what was asked. */
export async function engineError(res: IncomingMessage, ep: Endpoint, what: string): Promise<ImgError> {
  const status = res.statusCode ?? 0;
  const message = await engineMessage(res);
  const code = status === 404 ? 'MANIFEST_UNKNOWN' : status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'HTTP';
  return new ImgError(code, `the Docker engine at ${ep.host} refused ${what}: ${message} (HTTP ${status})`, { status });
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

/**
 * Engine speaks the Docker Engine API to one engine over node:http (a unix socket, or TCP with or
 * without TLS). The API version is negotiated once per engine and process (GET /_ping).
 */
export class Engine {
  private version?: Promise<string>;
  private tls?: Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }>;

  constructor(readonly ep: Endpoint) {}

  /** apiVersion pings the engine (once) and gives the version to use. */
  apiVersion(): Promise<string> {
    this.version ??= (async () => {
      const { response } = await this.send('GET', '/_ping', {}, PING_TIMEOUT_MS);
      const res = await response;
      if (res.statusCode !== 200) throw await engineError(res, this.ep, 'GET /_ping');
      res.resume();
      const v = res.headers['api-version'];
      return negotiate(Array.isArray(v) ? v[0] : v);
    })();
    this.version.catch(() => (this.version = undefined));
    return this.version;
  }

  /**
   * get sends GET /vX.Y{path} and resolves with the answer once it is a 200, else rejects with the
   * engine's error (`notFound` makes the error for a 404 from the engine's message).
   */
  async get(path: string, what: string, notFound?: (message: string) => ImgError): Promise<IncomingMessage> {
    const { response } = await this.send('GET', `/v${await this.apiVersion()}${path}`, {});
    const res = await response;
    if (res.statusCode === 404 && notFound) throw notFound(await engineMessage(res));
    if (res.statusCode !== 200) throw await engineError(res, this.ep, what);
    return res;
  }

  /** getJSON is get for a small JSON answer (at most 16 MiB), parsed. */
  async getJSON(path: string, what: string, notFound?: (message: string) => ImgError): Promise<unknown> {
    const res = await this.get(path, what, notFound);
    let body = '';
    for await (const chunk of res) {
      body += (chunk as Buffer).toString('utf8');
      if (body.length > MAX_JSON) throw new ImgError('TOO_LARGE', `the Docker engine at ${this.ep.host} answered ${what} with over ${MAX_JSON} bytes`);
    }
    try {
      return JSON.parse(body);
    } catch {
      throw new ImgError('HTTP', `the Docker engine at ${this.ep.host} answered ${what} with text that is not JSON: ${JSON.stringify(body.slice(0, 200))}`);
    }
  }

  /**
   * post starts POST /vX.Y{path} with a streamed body: the caller writes `req` and ends it (or
   * destroys it, which the engine sees as a cut connection); `response` resolves when the engine answers.
   */
  async post(path: string, headers: Record<string, string>): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    return this.send('POST', `/v${await this.apiVersion()}${path}`, headers, undefined, true);
  }

  private async send(method: string, path: string, headers: Record<string, string>, timeoutMs?: number, body = false): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
    const ep = this.ep;
    const common = { method, path, headers: { 'user-agent': USER_AGENT, ...headers }, agent: false as const };
    let req: ClientRequest;
    if ('socketPath' in ep) {
      req = http.request({ ...common, socketPath: ep.socketPath, host: 'docker' });
    } else if (!ep.tls) {
      req = http.request({ ...common, host: ep.hostname, port: ep.port });
    } else {
      this.tls ??= tlsFiles(ep);
      const files = await this.tls;
      req = https.request({ ...common, host: ep.hostname, port: ep.port, rejectUnauthorized: ep.verify, ...files });
    }
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', (e) => reject(connectError(e, ep)));
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

const engines = new Map<string, Engine>();

/** engineAt is the one Engine of this process for an endpoint (so the version is negotiated once). */
export function engineAt(ep: Endpoint): Engine {
  const key = JSON.stringify(ep);
  let e = engines.get(key);
  if (!e) {
    e = new Engine(ep);
    engines.set(key, e);
  }
  return e;
}
