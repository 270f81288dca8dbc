import type { RegistryOptions } from '../transport/index.js';
import { ImgError } from '../errors.js';
import { parseDuration } from './deadline.js';

/**
 * The flags every command that may talk to a registry takes, as skopeo names them. --tls-verify has
 * no default: given (true or false) it wins over registries.conf's `insecure`, as skopeo's does.
 */
export const REGISTRY_FLAGS = {
  string: ['creds', 'username', 'password', 'registry-token', 'authfile', 'cert-dir', 'retry-times', 'retry-delay', 'registries-conf', 'rate'],
  boolean: ['tls-verify', 'no-creds', 'debug'],
  default: {} as Record<string, unknown>,
};

export const REGISTRY_HELP = `registry flags:
  --creds USER[:PASS]     credentials (else --username/--password, else auth.json as skopeo finds it)
  --no-creds              access the registry anonymously
  --registry-token TOKEN  a bearer token to use as it is
  --authfile FILE         auth.json to use (default: $REGISTRY_AUTH_FILE, then the containers tools' search)
  --cert-dir DIR          CA (*.crt) and client certificate (X.cert + X.key) for the registry
  --tls-verify=false      allow plain http and unverified certificates (=true: require https and verified
                          certificates even where registries.conf says insecure)
  --registries-conf FILE  registries.conf to use: mirrors and locations for reading images, insecure and
                          blocked registries (default: $CONTAINERS_REGISTRIES_CONF, else
                          ~/.config/containers/registries.conf if it exists, else
                          /etc/containers/registries.conf; with the registries.conf.d drop-ins; see
                          docs/registries-conf.md)
  --retry-times N         retries for 408, 429, 5xx, resets and timeouts (default 3)
  --retry-delay DURATION  wait DURATION before each retry (Go syntax: 500ms, 2s, 1m30s), instead of the
                          exponential backoff; a longer Retry-After still wins (default: backoff)
  --rate N                at most N requests a second to each host, for the whole process: they go at least
                          1/N s apart (N may be 0.5); a 429 or 503 with Retry-After holds every request to
                          that host until then, with or without --rate (docs/scale.md)
  --debug                 log requests to stderr (never credentials)
environment (time bounds, see docs/protocol.md):
  IMGPIPE_TIMEOUT_MS          idle time allowed while waiting on a registry (default 60000)
  IMGPIPE_REQUEST_TIMEOUT_MS  time for an answer's headers, and its whole body unless it is a blob (default 60000)
  IMGPIPE_RETRY_BUDGET_MS     time for a request with all its retries (default 120000)
  IMGPIPE_MIN_RATE            bytes/s a blob must move at (default 1024; 0: no minimum), measured over
  IMGPIPE_RATE_WINDOW_MS      windows of this much time waiting on the registry (default 60000)
  IMGPIPE_UNKNOWN_SIZE_CAP    the most bytes read of a blob whose size nobody gives (default 17179869184)
  IMGPIPE_RETRY_DELAY_MS      backoff base (default 500)
  IMGPIPE_USER_AGENT_PREFIX   put in front of the User-Agent of registry requests (imgpipe --user-agent-prefix)
  IMGPIPE_TLS_DETAILS         a containers-tls-details.yaml(5) file for every TLS connection (imgpipe --tls-details)`;

/** envNumber reads a whole number from the environment variable `name`: unset or empty is undefined; 0 only where `zero`. */
function envNumber(name: string, unit: string, zero = false, digits = 9): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!new RegExp(`^\\d{1,${digits}}$`).test(v) || (!zero && Number(v) === 0))
    throw new ImgError('USAGE', `invalid ${name} ${JSON.stringify(v)}: expected ${unit}`);
  return Number(v);
}

/** The longest --retry-delay: what one timer can wait (about 24.8 days). */
const MAX_RETRY_DELAY_MS = 2 ** 31 - 1;

/**
 * retryDelayProblem says what is wrong with a --retry-delay of `ms` milliseconds, if anything: a
 * negative one (which makes skopeo panic at its first retry), or one no timer can wait.
 */
export function retryDelayProblem(ms: number): string | undefined {
  if (ms < 0) return 'a duration of 0 or more';
  if (ms > MAX_RETRY_DELAY_MS) return `at most ${MAX_RETRY_DELAY_MS}ms (24.8 days)`;
  return undefined;
}

/** parseRetryDelay reads --retry-delay, a Go duration as skopeo's, in milliseconds; 0 is the exponential backoff (skopeo's default). */
export function parseRetryDelay(text: string): number {
  const ms = parseDuration(text, '--retry-delay');
  const problem = retryDelayProblem(ms);
  if (problem !== undefined) throw new ImgError('USAGE', `invalid --retry-delay ${JSON.stringify(text)}: ${problem}`);
  return ms;
}

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
  else if (flags['tls-verify'] === true) opts.tlsVerify = true;
  const conf = str('registries-conf');
  if (conf !== undefined) {
    if (conf === '') throw new ImgError('USAGE', '--registries-conf needs a file');
    opts.registriesConf = conf;
  }
  const retries = str('retry-times');
  if (retries !== undefined) {
    if (!/^\d{1,3}$/.test(retries)) throw new ImgError('USAGE', `invalid --retry-times ${JSON.stringify(retries)}: expected a number`);
    opts.retryTimes = Number(retries);
  }
  const delay = str('retry-delay');
  if (delay !== undefined) {
    const ms = parseRetryDelay(delay);
    if (ms > 0) opts.fixedRetryDelayMs = ms;
  }
  const perSecond = str('rate');
  if (perSecond !== undefined) {
    if (!/^(?:\d{1,6}(?:\.\d*)?|\.\d+)$/.test(perSecond) || !(Number(perSecond) > 0))
      throw new ImgError('USAGE', `invalid --rate ${JSON.stringify(perSecond)}: expected requests a second, a number above 0`);
    opts.rate = Number(perSecond);
  }
  if (process.env.IMGPIPE_RETRY_DELAY_MS) opts.retryDelayMs = Number(process.env.IMGPIPE_RETRY_DELAY_MS);
  const timeout = envNumber('IMGPIPE_TIMEOUT_MS', 'milliseconds');
  if (timeout !== undefined) opts.timeoutMs = timeout;
  const request = envNumber('IMGPIPE_REQUEST_TIMEOUT_MS', 'milliseconds');
  if (request !== undefined) opts.requestTimeoutMs = request;
  const budget = envNumber('IMGPIPE_RETRY_BUDGET_MS', 'milliseconds');
  if (budget !== undefined) opts.retryBudgetMs = budget;
  const rate = envNumber('IMGPIPE_MIN_RATE', 'bytes per second (0: no minimum)', true);
  if (rate !== undefined) opts.minRate = rate;
  const window = envNumber('IMGPIPE_RATE_WINDOW_MS', 'milliseconds');
  if (window !== undefined) opts.rateWindowMs = window;
  const cap = envNumber('IMGPIPE_UNKNOWN_SIZE_CAP', 'bytes', false, 15);
  if (cap !== undefined) opts.unknownSizeCap = cap;
  // imgpipe's --user-agent-prefix (skopeo's global flag) reaches every stage through the environment
  const agent = process.env.IMGPIPE_USER_AGENT_PREFIX;
  if (agent) opts.userAgentPrefix = agent;
  if (flags.debug === true) opts.debug = (line) => process.stderr.write(`debug: ${line}\n`);
  return opts;
}
