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

let extra: Promise<string[]> | undefined;

/**
 * extraCAs are the certificates of NODE_EXTRA_CA_CERTS (read once), which node adds to its own
 * trusted CAs but not to a list given as `ca`. bin/* pass the variable on as
 * IMGPIPE_DEFERRED_CA_CERTS instead, so that node does not parse the file as it starts (about 50 ms
 * for Debian's bundle); it is read here when a TLS connection needs it (docs/decisions.md 28).
 * A file that cannot be read is ignored, as node ignores it, with node's warning.
 */
function extraCAs(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const file = env.IMGPIPE_DEFERRED_CA_CERTS || env.NODE_EXTRA_CA_CERTS;
  extra ??= !file
    ? Promise.resolve([])
    : fsp.readFile(file, 'utf8').then(
        (pem) => [pem],
        (e: Error) => {
          process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${e.message}`);
          return [];
        },
      );
  return extra;
}

/**
 * systemCAs is the `ca` list that trusts what node would trust by default, when bin/* deferred
 * NODE_EXTRA_CA_CERTS (node's own default no longer holds them); undefined when node's default does.
 */
export async function systemCAs(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  if (!env.IMGPIPE_DEFERRED_CA_CERTS) return undefined;
  return [...rootCertificates, ...(await extraCAs(env))];
}

/**
 * loadTlsMaterial reads *.crt as CAs (trusted beside node's own and NODE_EXTRA_CA_CERTS's) and
 * X.cert + X.key as a client certificate from a certs.d directory.
 */
export async function loadTlsMaterial(dir: string | undefined): Promise<TlsMaterial> {
  if (!dir) {
    const ca = await systemCAs();
    return ca ? { ca } : {};
  }
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (e) {
    throw new ImgError('USAGE', `certificate directory ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message}`);
  }
  const out: TlsMaterial = { dir };
  const cas = names.filter((n) => n.endsWith('.crt'));
  if (cas.length) out.ca = [...rootCertificates, ...(await extraCAs()), ...(await Promise.all(cas.map((n) => fsp.readFile(join(dir, n), 'utf8'))))];
  else {
    const ca = await systemCAs();
    if (ca) out.ca = ca;
  }
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
