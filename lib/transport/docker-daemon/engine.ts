import type { IncomingMessage } from 'node:http';
import type { ImgError } from '../../errors.js';
import { connectError as connectErrorOf, engineError as engineErrorOf, EngineClient, type EngineLabel } from '../engine/client.js';
import { tlsFiles, type Endpoint } from './host.js';

export { engineMessage } from '../engine/client.js';

/**
 * The newest Engine API version imgpipe speaks (Docker 20.10's). The version used is the lower of
 * this and the engine's own (the API-Version header of GET /_ping), as the docker CLI negotiates.
 * Every call imgpipe makes (/images/{name}/get, /images/load, /images/{name}/json) is in API 1.24.
 */
export const MAX_API_VERSION = '1.41';
const MIN_API_VERSION = '1.24';
const PING_TIMEOUT_MS = 30_000;

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

/** dockerLabel is how messages name a Docker engine and what they tell the user to do. */
function dockerLabel(ep: Endpoint): EngineLabel {
  return {
    at: `the Docker engine at ${ep.host}`,
    start: START,
    running: 'is dockerd running?',
    listening: 'is dockerd listening there?',
    denied: "run as root or as a member of the socket's group (usually docker), or name another engine with --daemon-host",
    notSocket: "name the engine's socket with --daemon-host unix:///PATH",
    checkHost: 'check --daemon-host',
    hostWhat: 'the Docker engine host',
    tlsHint: 'put its ca.pem (and cert.pem, key.pem) in --cert-dir, use --tls-verify=false, or http:// for an engine without TLS',
  };
}

/** connectError says in one line why the engine could not be reached, and what to do. */
export function connectError(e: unknown, ep: Endpoint): ImgError {
  return connectErrorOf(e, ep, dockerLabel(ep));
}

/** engineError turns an engine's error answer ({"message": …}) into one line naming the engine and what was asked. */
export function engineError(res: IncomingMessage, ep: Endpoint, what: string): Promise<ImgError> {
  return engineErrorOf(res, dockerLabel(ep), what);
}

/**
 * Engine speaks the Docker Engine API to one engine (the shared EngineClient, lib/transport/engine/):
 * a unix socket, or TCP with or without TLS. The API version is negotiated once per engine and
 * process (GET /_ping), and every other path is sent under /vX.Y.
 */
export class Engine extends EngineClient {
  private version?: Promise<string>;

  constructor(ep: Endpoint) {
    super(ep, dockerLabel(ep), {
      prefix: async () => `/v${await this.apiVersion()}`,
      ...('tls' in ep && ep.tls ? { tls: () => tlsFiles(ep) } : {}),
    });
  }

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
