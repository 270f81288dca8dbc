import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ImgError } from '../errors.js';

/** TLS material for one registry host, from a certs.d directory. */
export interface TlsMaterial {
  /** Trusted CAs: the system's plus the directory's *.crt, or undefined to use the system's alone. */
  ca?: string[];
  cert?: Buffer;
  key?: Buffer;
  /** The directory the material came from, for messages. */
  dir?: string;
}

/**
 * certDirFor finds the certs.d directory for host[:port] as the containers tools do: --cert-dir
 * when given, else the first existing of ~/.config/containers/certs.d/HOST, /etc/containers/certs.d/HOST
 * and /etc/docker/certs.d/HOST.
 */
export async function certDirFor(host: string, certDir?: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (certDir) return certDir;
  const home = env.HOME || homedir();
  const roots = [join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'];
  for (const root of roots) {
    const dir = join(root, host);
    try {
      if ((await fsp.stat(dir)).isDirectory()) return dir;
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}

/** loadTlsMaterial reads *.crt as CAs and X.cert + X.key as a client certificate from a certs.d directory. */
export async function loadTlsMaterial(dir: string | undefined): Promise<TlsMaterial> {
  if (!dir) return {};
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (e) {
    throw new ImgError('USAGE', `certificate directory ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message}`);
  }
  const out: TlsMaterial = { dir };
  const cas = names.filter((n) => n.endsWith('.crt'));
  if (cas.length) out.ca = [...rootCertificates, ...(await Promise.all(cas.map((n) => fsp.readFile(join(dir, n), 'utf8'))))];
  for (const n of names.filter((x) => x.endsWith('.cert'))) {
    const keyName = `${n.slice(0, -5)}.key`;
    if (!names.includes(keyName)) throw new ImgError('USAGE', `certificate directory ${dir}: client certificate ${n} has no ${keyName}`);
    out.cert = await fsp.readFile(join(dir, n));
    out.key = await fsp.readFile(join(dir, keyName));
  }
  for (const n of names.filter((x) => x.endsWith('.key'))) {
    if (!names.includes(`${n.slice(0, -4)}.cert`)) throw new ImgError('USAGE', `certificate directory ${dir}: key ${n} has no ${n.slice(0, -4)}.cert`);
  }
  return out;
}
