import type { RegistryOptions } from '../transport/index.js';
import { ImgError } from '../errors.js';

/** The flags every command that may talk to a registry takes, as skopeo names them. */
export const REGISTRY_FLAGS = {
  string: ['creds', 'username', 'password', 'registry-token', 'authfile', 'cert-dir', 'retry-times'],
  boolean: ['tls-verify', 'no-creds', 'debug'],
  default: { 'tls-verify': true } as Record<string, unknown>,
};

export const REGISTRY_HELP = `registry flags:
  --creds USER[:PASS]     credentials (else --username/--password, else auth.json as skopeo finds it)
  --no-creds              access the registry anonymously
  --registry-token TOKEN  a bearer token to use as it is
  --authfile FILE         auth.json to use (default: $REGISTRY_AUTH_FILE, then the containers tools' search)
  --cert-dir DIR          CA (*.crt) and client certificate (X.cert + X.key) for the registry
  --tls-verify=false      allow plain http and unverified certificates
  --retry-times N         retries for 408, 429, 5xx, resets and timeouts (default 3)
  --debug                 log requests to stderr (never credentials)
environment: IMGPIPE_TIMEOUT_MS (idle time allowed per request, default 60000), IMGPIPE_RETRY_DELAY_MS (backoff base, default 500)`;

/** registryOptions turns parsed flags into options for the registry transport. */
export function registryOptions(flags: Record<string, unknown>): RegistryOptions {
  const str = (k: string) => (flags[k] === undefined ? undefined : String(flags[k]));
  const opts: RegistryOptions = { credentials: {} };
  const c = opts.credentials!;
  if (str('creds') !== undefined) c.creds = str('creds')!;
  if (str('username') !== undefined) c.username = str('username')!;
  if (str('password') !== undefined) c.password = str('password')!;
  if (str('registry-token') !== undefined) c.registryToken = str('registry-token')!;
  if (str('authfile') !== undefined) c.authfile = str('authfile')!;
  if (flags['no-creds'] === true) c.noCreds = true;
  const exclusive = [c.creds !== undefined, c.username !== undefined, c.registryToken !== undefined, c.noCreds === true].filter(Boolean).length;
  if (exclusive > 1) throw new ImgError('USAGE', '--creds, --username, --registry-token and --no-creds exclude each other');
  if (c.password !== undefined && c.username === undefined) throw new ImgError('USAGE', '--password needs --username');
  if (str('cert-dir') !== undefined) opts.certDir = str('cert-dir')!;
  if (flags['tls-verify'] === false) opts.tlsVerify = false;
  const retries = str('retry-times');
  if (retries !== undefined) {
    if (!/^\d{1,3}$/.test(retries)) throw new ImgError('USAGE', `invalid --retry-times ${JSON.stringify(retries)}: expected a number`);
    opts.retryTimes = Number(retries);
  }
  if (process.env.IMGPIPE_RETRY_DELAY_MS) opts.retryDelayMs = Number(process.env.IMGPIPE_RETRY_DELAY_MS);
  const timeout = process.env.IMGPIPE_TIMEOUT_MS;
  if (timeout) {
    if (!/^\d{1,9}$/.test(timeout) || Number(timeout) === 0) throw new ImgError('USAGE', `invalid IMGPIPE_TIMEOUT_MS ${JSON.stringify(timeout)}: expected milliseconds`);
    opts.timeoutMs = Number(timeout);
  }
  if (flags.debug === true) opts.debug = (line) => process.stderr.write(`debug: ${line}\n`);
  return opts;
}
