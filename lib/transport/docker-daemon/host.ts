import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { systemCAs } from '../../auth/certs.js';
import { ImgError } from '../../errors.js';
import type { Endpoint, TlsFiles } from '../engine/client.js';

/** Where the engine is found when neither --daemon-host nor $DOCKER_HOST names one (as docker and containers/image). */
export const DEFAULT_DAEMON_HOST = 'unix:///var/run/docker.sock';

/** How to reach one Docker engine: a unix socket, or TCP with or without TLS (the shared engine client's Endpoint). */
export type { Endpoint } from '../engine/client.js';

export interface DaemonHostOptions {
  /** --daemon-host (--src-daemon-host, --dest-daemon-host). */
  host?: string;
  /** --cert-dir: ca.pem, cert.pem and key.pem for a tcp:// engine. */
  certDir?: string;
  /** --tls-verify=false: a tcp:// engine's certificate is not checked. */
  tlsVerify?: boolean;
}

/**
 * endpointOf reads the engine's address as containers/image does: `unix:///PATH`, `tcp://HOST:PORT`
 * (TLS, with ca.pem, cert.pem and key.pem from --cert-dir when given, else the system's CAs; not
 * verified with --tls-verify=false) and `http://HOST:PORT` (plain HTTP). The host is --daemon-host,
 * else $DOCKER_HOST (as the docker CLI; containers/image reads only its flag), else
 * unix:///var/run/docker.sock. A port left out is 2376 for tcp:// and 2375 for http://.
 */
export function endpointOf(opts: DaemonHostOptions = {}): Endpoint {
  const host = opts.host || process.env.DOCKER_HOST || DEFAULT_DAEMON_HOST;
  const bad = (why: string) =>
    new ImgError(
      'USAGE',
      `invalid Docker engine host ${JSON.stringify(host)}${opts.host ? '' : process.env.DOCKER_HOST ? ' (from $DOCKER_HOST)' : ''}: ${why}`,
    );
  const m = /^([a-z]+):\/\/(.*)$/.exec(host);
  if (!m) throw bad('expected unix:///PATH, tcp://HOST:PORT or http://HOST:PORT');
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw bad('a unix socket path must be absolute (unix:///PATH)');
    return { host, socketPath: rest };
  }
  if (scheme === 'tcp' || scheme === 'http') {
    const hp = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(rest);
    if (!hp) throw bad('expected HOST or HOST:PORT after the scheme, and nothing else');
    const hostname = hp[1]!.replace(/^\[(.*)\]$/, '$1');
    const port = hp[2] !== undefined ? Number(hp[2]) : scheme === 'tcp' ? 2376 : 2375;
    if (port < 1 || port > 65535) throw bad(`port ${port} is out of range`);
    if (scheme === 'http') return { host, hostname, port, tls: false };
    return { host, hostname, port, tls: true, ...(opts.certDir !== undefined ? { certDir: opts.certDir } : {}), verify: opts.tlsVerify !== false };
  }
  if (scheme === 'ssh' || scheme === 'npipe' || scheme === 'fd')
    throw bad(
      `${scheme}:// engines are not supported (use unix://, tcp:// or http://; for ssh, forward the socket: ssh -L /tmp/d.sock:/var/run/docker.sock HOST)`,
    );
  throw bad(`unknown scheme ${scheme}:// (use unix://, tcp:// or http://)`);
}

/** tlsFiles reads the client TLS material of a tcp:// engine from its cert dir, as containers/image's tlsconfig does: each file used when present. */
export async function tlsFiles(ep: Extract<Endpoint, { tls: true }>): Promise<TlsFiles> {
  if (ep.certDir === undefined) {
    const ca = await systemCAs();
    return ca ? { ca } : {};
  }
  const read = async (name: string) => {
    try {
      return await fsp.readFile(join(ep.certDir!, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ImgError('TLS', `reading ${join(ep.certDir!, name)} for the Docker engine at ${ep.host}: ${(e as Error).message}`);
    }
  };
  const [ca, cert, key] = await Promise.all([read('ca.pem'), read('cert.pem'), read('key.pem')]);
  if ((cert === undefined) !== (key === undefined)) {
    throw new ImgError(
      'TLS',
      `--cert-dir ${ep.certDir} has ${cert ? 'cert.pem but no key.pem' : 'key.pem but no cert.pem'}: a client certificate for the Docker engine at ${ep.host} needs both`,
    );
  }
  const system = ca ? undefined : await systemCAs();
  return { ...(ca ? { ca } : system ? { ca: system } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}
