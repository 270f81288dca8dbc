import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { lookupCredentials, type CredentialOptions, type Credentials } from '../../auth/credentials.js';
import { certDirFor, loadTlsMaterial } from '../../auth/certs.js';
import { readCapped } from '../../stream/verify.js';
import { RateGuard } from '../../stream/rate.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { hostBudget } from './host-budget.js';
import { speaksHttp } from './scheme-probe.js';
import { processTlsDetails } from '../../util/tls-details.js';
import { registryError, networkError } from './errors.js';

/** Caps on bodies read whole: tokens and error bodies; manifests have their own cap. */
export const MAX_SMALL_BODY = 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 60_000;

/** The defaults of the time bounds (docs/protocol.md, "Time bounds"); each is settable by its variable. */
export const DEFAULT_BOUNDS = {
  /** IMGPIPE_TIMEOUT_MS: idle time allowed while waiting for headers or between body chunks. */
  idleMs: 60_000,
  /** IMGPIPE_REQUEST_TIMEOUT_MS: one attempt's answer must be in by then: its headers, and the whole body unless it is a blob. */
  requestMs: 60_000,
  /** IMGPIPE_RETRY_BUDGET_MS: a request with all its retries and waits ends within this. */
  retryBudgetMs: 120_000,
  /** IMGPIPE_MIN_RATE: bytes per second a blob must move at, measured over IMGPIPE_RATE_WINDOW_MS of waiting on the other end. */
  minRate: 1024,
  rateWindowMs: 60_000,
};

export interface RegistryOptions {
  /** Verify TLS (true), or not and allow plain http too (false); unset, registries.conf decides (insecure = true), else verify. */
  tlsVerify?: boolean;
  /** --registries-conf: the registries.conf to read (else $CONTAINERS_REGISTRIES_CONF, else the containers tools' search). */
  registriesConf?: string;
  /** The image is opened to be read (an image source): its reads go to registries.conf's mirrors and location, not only to the reference as written. */
  pull?: boolean;
  certDir?: string;
  credentials?: CredentialOptions;
  /** How many times a failed request is retried (408, 429, 5xx, resets, timeouts). */
  retryTimes?: number;
  /** --rate: requests a second to each host, for the whole process (host-budget.ts). */
  rate?: number;
  /** Base delay for backoff in ms (tests shorten it). */
  retryDelayMs?: number;
  /**
   * --retry-delay: every retry waits this long (plus up to a tenth, as containers/common's jitter)
   * instead of the exponential backoff, or longer where Retry-After asks for more. These waits
   * come on top of the retry budget.
   */
  fixedRetryDelayMs?: number;
  /** Idle time allowed while waiting for headers or between body chunks. */
  timeoutMs?: number;
  /** Time one attempt has for its answer's headers, and for the whole body unless it is a blob (Req.stream). */
  requestTimeoutMs?: number;
  /** Time a request has with all its retries and waits between them. */
  retryBudgetMs?: number;
  /** Bytes per second a blob body (down or up) must move at, over windows of rateWindowMs spent waiting on the registry; 0 turns the check off. */
  minRate?: number;
  rateWindowMs?: number;
  /** The most bytes read of a blob whose size is known nowhere (default 16 GiB). */
  unknownSizeCap?: number;
  debug?: (line: string) => void;
  /** Put in front of the User-Agent, as skopeo's --user-agent-prefix ("PREFIX imgpipe/…"). */
  userAgentPrefix?: string;
}

export interface Req {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path below the registry root (/v2/...), or an absolute URL the registry gave (Location). */
  path: string;
  headers?: Record<string, string>;
  /** A replayable body (Buffer) or a stream (sent once; never retried). */
  body?: Buffer | Readable;
  /** Token scopes the request needs: "repository:NAME:pull,push". */
  scopes: string[];
  /** Statuses that are success for this request; anything else becomes an error. */
  ok: number[];
  /** What is being done, for messages: "fetching manifest docker://…". */
  what: string;
  /**
   * The response body is a blob, read as it streams: the request's deadline covers the headers
   * only, and the body is held to the minimum rate instead. Otherwise the whole body must be in by
   * the deadline too (manifests, tokens, tag pages, error bodies).
   */
  stream?: boolean;
}

/** How long one send may take: `deadline` (ms since the epoch) and what set it, for the message. */
interface SendLimits {
  deadline: number;
  why: string;
  stream?: boolean;
  /** The end of the retry budget, to set the deadline again after a wait for the host's turn. */
  end?: number;
}

/** A response: status, headers and the body stream, which MUST be read, dumped or destroyed. */
export interface Res {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage & { dump(): Promise<void> };
  /** The URL that gave this answer (after redirects: another host's). */
  url: string;
}

/** endpointOf maps a registry name to the host serving its API: docker.io is registry-1.docker.io. */
export function endpointOf(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

interface Token {
  value: string;
  expires: number;
}

/** What one attempt sent and where it ended: the auth scheme, and the host that answered (another one after a redirect). */
interface Sent {
  scheme?: string;
  foreign?: boolean;
  host?: string;
}

/**
 * RegistryClient speaks the Registry HTTP API v2 to one registry host over node:http(s) (see
 * docs/decisions.md for why not undici): it finds the scheme, answers
 * Bearer and Basic challenges (tokens cached per scope until they expire), follows redirects
 * without ever sending Authorization to another host, and retries 408, 429, 5xx, resets and
 * timeouts with backoff, honouring Retry-After. Callers MUST consume or dump every response body.
 */
export class RegistryClient {
  readonly domain: string;
  private readonly host: string;
  private readonly opts: RegistryOptions;
  private base?: Promise<string>;
  private httpAgent?: Promise<HttpAgent>;
  private httpsAgent?: Promise<HttpsAgent>;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<Token>>();
  private creds?: Promise<Credentials | undefined>;

  constructor(domain: string, opts: RegistryOptions = {}) {
    this.domain = domain;
    this.host = endpointOf(domain);
    this.opts = opts;
  }

  /** credentialsFor resolves credentials once, for the first repository asked about. */
  private credentials(repository: string): Promise<Credentials | undefined> {
    if (!this.creds) {
      this.creds = lookupCredentials(this.domain, repository, this.opts.credentials ?? {});
    }
    return this.creds;
  }

  /** agent gives the host's keep-alive agent for a scheme; node:https and the host's certs.d material load only for https. */
  private agent(secure: boolean): Promise<HttpAgent | HttpsAgent> {
    if (!secure) {
      this.httpAgent ??= import('node:http').then(({ Agent }) => new Agent({ keepAlive: true, maxSockets: 32 }));
      return this.httpAgent;
    }
    this.httpsAgent ??= (async () => {
      const [{ Agent }, { createSecureContext }, tls] = await Promise.all([
        import('node:https'),
        import('node:tls'),
        certDirFor(this.host, this.opts.certDir).then(loadTlsMaterial),
      ]);
      // One context for every connection: given a `ca` list, node would parse it again per connection.
      // The --tls-details settings go into it: node takes a secureContext's own, not the agent's.
      const details = processTlsDetails();
      const own = tls.ca !== undefined || tls.cert !== undefined || Object.keys(details).length > 0;
      return new Agent({
        keepAlive: true,
        maxSockets: 32,
        rejectUnauthorized: this.opts.tlsVerify !== false,
        ...(own
          ? { secureContext: createSecureContext({ ...details, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) }) }
          : {}),
      });
    })();
    return this.httpsAgent;
  }

  /**
   * baseUrl finds https://HOST, or with tls-verify off falls back to http://HOST when https cannot
   * be spoken, as the containers tools do. With tls-verify off and a port in the name, a port that
   * answers a TLS hello in plain HTTP (speaksHttp) is taken as http at once: https could not be
   * spoken there either, and node:tls is not loaded (docs/decisions.md 27).
   */
  private baseUrl(): Promise<string> {
    this.base ??= (async () => {
      const https = `https://${this.host}`;
      if (this.opts.tlsVerify !== false) return https;
      if (hasPort(this.host) && (await speaksHttp(this.host, this.limits(undefined).deadline))) {
        this.debug(`${this.host} answers a TLS hello in plain HTTP: http`);
        return `http://${this.host}`;
      }
      try {
        const res = await this.send('GET', `${https}/v2/`, {}, undefined, this.limits(undefined));
        await res.body.dump();
        return https;
      } catch (e) {
        this.debug(`https to ${this.host} failed (${(e as Error).message}); trying http`);
        return `http://${this.host}`;
      }
    })();
    return this.base;
  }

  private debug(line: string): void {
    // One line each: OpenSSL messages end in a newline.
    this.opts.debug?.(line.replace(/\s*\n\s*/g, ' ').trim());
  }

  private bound<K extends keyof typeof DEFAULT_BOUNDS>(k: K, opt: number | undefined): number {
    return opt ?? DEFAULT_BOUNDS[k];
  }

  /** limits gives one attempt its deadline: the request timeout, or what is left of `end` (the retry budget) if that comes first. */
  private limits(end: number | undefined, stream?: boolean): SendLimits {
    const request = this.bound('requestMs', this.opts.requestTimeoutMs);
    const now = Date.now();
    const out: SendLimits =
      end !== undefined && end < now + request
        ? { deadline: end, why: 'no complete answer before the retry budget ran out' }
        : { deadline: now + request, why: `no complete answer within ${request} ms (IMGPIPE_REQUEST_TIMEOUT_MS)` };
    if (stream) out.stream = true;
    if (end !== undefined) out.end = end;
    return out;
  }

  /**
   * send makes one HTTP exchange. Three clocks bound it: the idle timeout (no byte for timeoutMs),
   * the deadline of `limits` (the headers, and the whole body unless it streams; for a streamed
   * request body, counted from its last byte) and, for a streaming body either way, the minimum rate.
   */
  private async send(method: string, url: string, headers: Record<string, string>, body: Buffer | Readable | undefined, limits: SendLimits): Promise<Res> {
    const u = new URL(url);
    // The host's turn (its --rate, a Retry-After it sent) comes first; the answer's clock starts after.
    const budget = hostBudget(u.host, this.opts.rate);
    const waited = await budget.take();
    if (waited > 0) limits = this.limits(limits.end, limits.stream);
    const secure = u.protocol === 'https:';
    const agent = await this.agent(secure);
    const { request } = secure ? await import('node:https') : await import('node:http');
    const timeout = this.bound('idleMs', this.opts.timeoutMs);
    const minRate = this.bound('minRate', this.opts.minRate);
    const windowMs = this.bound('rateWindowMs', this.opts.rateWindowMs);
    const timedOut = (message: string, hint?: string) =>
      Object.assign(new Error(message), { code: 'ETIMEDOUT', host: u.host, ...(hint !== undefined ? { hint } : {}) });
    let deadline: NodeJS.Timeout | undefined;
    let upload: NodeJS.Timeout | undefined;
    const clear = () => {
      clearTimeout(deadline);
      clearInterval(upload);
    };
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const h: Record<string, string> = { ...headers };
      if (Buffer.isBuffer(body)) h['content-length'] = String(body.length);
      else if (body === undefined && (method === 'PUT' || method === 'POST' || method === 'PATCH')) h['content-length'] = '0';
      const req = request(u, { method, headers: h, agent });
      let answer: IncomingMessage | undefined;
      const armDeadline = () => {
        deadline = setTimeout(
          () => {
            const e = timedOut(limits.why, '');
            if (answer) answer.destroy(e);
            else req.destroy(e);
          },
          Math.max(1, limits.deadline - Date.now()),
        );
      };
      req.setTimeout(timeout, () => req.destroy(timedOut(`no answer within ${timeout} ms`)));
      req.on('response', (r) => {
        answer = r;
        clearInterval(upload);
        r.setTimeout(timeout, () => r.destroy(timedOut(`the body stalled for ${timeout} ms`)));
        if (limits.stream) clearTimeout(deadline);
        else r.once('close', clear);
        resolve(r);
      });
      req.on('error', (e) => {
        clear();
        reject(e);
      });
      if (body === undefined || Buffer.isBuffer(body)) {
        armDeadline();
        req.end(body);
      } else {
        // A streamed upload: the deadline starts when its last byte is sent; meanwhile the registry
        // must take the bytes at the minimum rate whenever it is the one holding them up.
        req.once('finish', () => {
          clearInterval(upload);
          armDeadline();
        });
        const guard = new RateGuard(minRate, windowMs, (e) => req.destroy(Object.assign(e, { host: u.host })));
        let sent = 0;
        upload = setInterval(
          () => {
            const written = req.socket?.bytesWritten ?? 0;
            guard.got(Math.max(0, written - sent));
            sent = written;
            if (req.writableNeedDrain) guard.wait();
          },
          Math.min(1000, Math.max(10, windowMs / 10)),
        );
        upload.unref();
        req.once('close', () => {
          clearInterval(upload);
          guard.stop();
        });
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      }
    });
    this.debug(`${method} ${redactUrl(url)} → ${res.statusCode}${waited > 0 ? ` (waited ${waited} ms for ${u.host})` : ''}`);
    const pause = res.statusCode === 429 || res.statusCode === 503 ? retryAfterMs(res.headers['retry-after']?.toString()) : undefined;
    if (pause) {
      budget.pause(pause);
      this.debug(`${u.host} asked to wait ${pause} ms: every request to it waits`);
    }
    const dump = () =>
      new Promise<void>((resolve) => {
        // A response whose bytes have all arrived (res.complete) still holds its socket until it is read to its end.
        if (res.readableEnded || res.destroyed) return resolve();
        res
          .on('end', resolve)
          .on('close', resolve)
          .on('error', () => resolve());
        res.resume();
      });
    return { statusCode: res.statusCode ?? 0, headers: res.headers, body: Object.assign(res, { dump }), url };
  }

  /**
   * rateGuard holds a blob body (a Req.stream response) to the minimum rate: call wait() before
   * each read and got(n) after it; a body too slow is destroyed with a TIMEOUT error naming the host.
   */
  rateGuard(res: Res): RateGuard {
    const host = new URL(res.url).host;
    return new RateGuard(this.bound('minRate', this.opts.minRate), this.bound('rateWindowMs', this.opts.rateWindowMs), (e) =>
      res.body.destroy(Object.assign(e, { host })),
    );
  }

  /** authorization makes the Authorization header for a request needing `scopes`, or none. */
  private async authorization(scopes: string[], repository: string, end?: number): Promise<string | undefined> {
    const creds = await this.credentials(repository);
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return creds?.username !== undefined ? basic(creds) : undefined;
    if (ch.scheme === 'bearer') return `Bearer ${await this.token(scopes, creds, end)}`;
    return undefined;
  }

  /** token fetches (or reuses) a bearer token for these scopes from the challenge's realm. */
  private async token(scopes: string[], creds: Credentials | undefined, end?: number): Promise<string> {
    const ch = this.challenge!;
    const realm = ch.params.realm;
    if (!realm) throw new ImgError('UNAUTHORIZED', `registry ${this.domain} sent a Bearer challenge without a realm`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new ImgError('UNAUTHORIZED', `registry ${this.domain} sent a malformed token realm ${JSON.stringify(realm)}`);
    }
    if (realmUrl.protocol !== 'https:' && !(realmUrl.protocol === 'http:' && this.opts.tlsVerify === false)) {
      throw new ImgError(
        'UNAUTHORIZED',
        `registry ${this.domain} asks for tokens from ${realmUrl.origin}, which is not https (use --tls-verify=false only if you trust this network)`,
      );
    }
    const key = `${realm}|${ch.params.service ?? ''}|${[...scopes].sort().join(' ')}`;
    const cached = this.tokens.get(key);
    // Concurrent requests for one scope share one token request; a failed one is not cached.
    if (cached) {
      const t = await cached;
      if (t.expires > Date.now()) return t.value;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
      return this.token(scopes, creds, end);
    }
    const p = this.fetchToken(realmUrl, ch, scopes, creds, end);
    this.tokens.set(key, p);
    p.catch(() => {
      if (this.tokens.get(key) === p) this.tokens.delete(key);
    });
    return (await p).value;
  }

  private async fetchToken(realmUrl: URL, ch: Challenge, scopes: string[], creds: Credentials | undefined, end?: number): Promise<Token> {
    const url = new URL(realmUrl);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    let res: Res;
    const headers: Record<string, string> = { 'user-agent': this.userAgent() };
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'imgpipe',
        service: ch.params.service ?? '',
        scope: scopes.join(' '),
      });
      res = await this.send(
        'POST',
        realmUrl.toString(),
        { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        Buffer.from(form.toString()),
        this.limits(end),
      );
    } else {
      if (creds?.username !== undefined) {
        url.searchParams.set('account', creds.username);
        headers.authorization = basic(creds);
      }
      res = await this.send('GET', url.toString(), headers, undefined, this.limits(end));
    }
    const body = await readCapped(res.body as AsyncIterable<Buffer>, MAX_SMALL_BODY, `token response from ${realmUrl.origin}`);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new ImgError(
        'UNAUTHORIZED',
        `authentication to ${this.domain} failed: ${creds ? 'invalid username or password' : 'the registry requires credentials (use --creds or img-login)'}`,
        { status: res.statusCode },
      );
    }
    if (res.statusCode !== 200)
      throw new ImgError('UNAUTHORIZED', `token server ${realmUrl.origin} for ${this.domain} answered ${res.statusCode}`, { status: res.statusCode });
    let doc: { token?: string; access_token?: string; expires_in?: number };
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ImgError('UNAUTHORIZED', `token server ${realmUrl.origin} for ${this.domain} sent a response that is not JSON`);
    }
    const value = doc.token ?? doc.access_token;
    if (!value || typeof value !== 'string') throw new ImgError('UNAUTHORIZED', `token server ${realmUrl.origin} for ${this.domain} sent no token`);
    const lifetime = Math.max(60, typeof doc.expires_in === 'number' ? doc.expires_in : 60);
    return { value, expires: Date.now() + (lifetime - 10) * 1000 };
  }

  /**
   * request sends one API request with authentication, redirects and retries, and returns the
   * response once its status is one of `req.ok`; any other status is thrown as a typed error.
   * Retries stop when --retry-times is used up or when the next one would not start within the
   * retry budget; each attempt's deadline is cut to what is left of it.
   */
  async request(req: Req): Promise<Res> {
    const base = await this.baseUrl();
    const repository = repositoryOfScopes(req.scopes);
    const retries = this.opts.retryTimes ?? 3;
    const fixed = this.opts.fixedRetryDelayMs;
    // The waits --retry-delay asks for are the user's own: they do not eat into the budget.
    const budget = this.bound('retryBudgetMs', this.opts.retryBudgetMs) + (fixed ? retries * Math.ceil(fixed * 1.1) : 0);
    const end = Date.now() + budget;
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    let authRetried = false;
    let widened = false;
    /** plan gives the wait before the next attempt, or why there is none: --retry-times used up (""), or the budget. */
    const plan = (attempt: number, retryAfter: number | undefined): { delay: number } | { note: string } => {
      if (attempt >= retries) return { note: '' };
      const delay = fixed ? Math.max(fixed * (1 + Math.random() / 10), retryAfter ?? 0) : (retryAfter ?? this.backoffDelay(attempt));
      if (Date.now() + delay < end) return { delay };
      const asked = retryAfter !== undefined ? `the registry asked to wait ${Math.ceil(retryAfter / 1000)} s; ` : '';
      return {
        note: `${asked}gave up after ${attempt + 1} attempt${attempt === 0 ? '' : 's'}: the retry budget of ${budget} ms, IMGPIPE_RETRY_BUDGET_MS, is spent`,
      };
    };
    const wait = async (delay: number, why: string) => {
      this.debug(`${why}; retrying in ${Math.round(delay)} ms`);
      await new Promise((r) => setTimeout(r, delay));
    };
    const spent = (e: ImgError, note: string) =>
      note ? new ImgError(e.code, `${e.message} (${note})`, { ...(e.status !== undefined ? { status: e.status } : {}), cause: e }) : e;
    for (let attempt = 0; ; attempt++) {
      let res: Res;
      let sent: Sent = {};
      try {
        sent = {};
        res = await this.sendFollowing(req, base, repository, sent, end);
      } catch (e) {
        const err = networkError(e, this.domain, req.what);
        if (replayable && isRetryableNetwork(e, this.opts.retryTimes !== undefined)) {
          const next = plan(attempt, undefined);
          if ('delay' in next) {
            await wait(next.delay, `${req.what}: ${err.message}`);
            continue;
          }
          throw spent(err, next.note);
        }
        throw err;
      }
      // A challenge from a host a redirect led to is not the registry's: answering it would hand the
      // user's credentials to whatever realm that host names.
      const challenges = res.statusCode === 401 && !sent.foreign ? parseChallenges(header(res, 'www-authenticate')) : [];
      const wider = insufficientScope(challenges, req.scopes);
      if (res.statusCode === 401 && wider && !widened && replayable) {
        // The token was good but too narrow: ask once more, for the scopes the registry named too.
        await res.body.dump();
        this.challenge = challenges.find((c) => c.scheme === 'bearer')!;
        this.debug(`${req.what}: insufficient_scope; asking for a token for ${wider.join(' ')}`);
        req = { ...req, scopes: wider };
        widened = true;
        authRetried = true;
        attempt--;
        continue;
      }
      if (res.statusCode === 401 && sent.scheme === 'basic' && !sent.foreign) {
        // This request carried the user's password and was refused: asking again cannot help.
        await res.body.dump();
        throw new ImgError('UNAUTHORIZED', `authentication to ${this.domain} failed: invalid username or password`, { status: 401 });
      }
      if (res.statusCode === 401 && !authRetried && !sent.foreign) {
        await res.body.dump();
        const ch = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
        if (!ch) throw new ImgError('UNAUTHORIZED', `registry ${this.domain} requires authentication but sent no usable challenge`, { status: 401 });
        const creds = await this.credentials(repository);
        this.challenge = ch;
        if (ch.scheme === 'basic' && creds?.username === undefined) {
          throw new ImgError('UNAUTHORIZED', `registry ${this.domain} requires credentials (use --creds or img-login)`, { status: 401 });
        }
        if (!replayable) throw new ImgError('UNAUTHORIZED', `registry ${this.domain} asked for authentication in the middle of an upload`, { status: 401 });
        authRetried = true;
        attempt--;
        continue;
      }
      if (req.ok.includes(res.statusCode)) return res;
      // An answer from the host a redirect led to is that host's, and named so.
      const answeredBy = sent.foreign && sent.host ? sent.host : this.domain;
      const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
      if (retryable && replayable) {
        const next = plan(attempt, retryAfterMs(header(res, 'retry-after')));
        if ('delay' in next) {
          await res.body.dump();
          await wait(next.delay, `${req.what}: HTTP ${res.statusCode}`);
          continue;
        }
        throw spent(await registryError(res, answeredBy), next.note);
      }
      throw await registryError(res, answeredBy);
    }
  }

  /** backoffDelay is the wait before retry number attempt+1 without Retry-After: exponential, jittered, at most 10 s. */
  private backoffDelay(attempt: number): number {
    const base = this.opts.retryDelayMs ?? 500;
    return Math.min(base * 2 ** attempt, 10_000) * (0.5 + Math.random());
  }

  /** userAgent is what the requests say they come from: USER_AGENT, after --user-agent-prefix's prefix. */
  private userAgent(): string {
    return this.opts.userAgentPrefix ? `${this.opts.userAgentPrefix} ${USER_AGENT}` : USER_AGENT;
  }

  /** sendFollowing sends once, following redirects; Authorization goes only to the registry's own origin. */
  private async sendFollowing(req: Req, base: string, repository: string, sent: Sent = {}, end?: number): Promise<Res> {
    let url = req.path.startsWith('http://') || req.path.startsWith('https://') ? req.path : `${base}${req.path}`;
    const origin = new URL(base).origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent(), ...(req.headers ?? {}) };
      if (new URL(url).origin === origin) {
        const auth = await this.authorization(req.scopes, repository, end);
        if (auth) {
          headers.authorization = auth;
          sent.scheme = auth.slice(0, auth.indexOf(' ')).toLowerCase();
        }
      }
      const res = await this.send(req.method, url, headers, req.body, this.limits(end, req.stream));
      sent.foreign = new URL(url).origin !== origin;
      sent.host = new URL(url).host;
      const location = header(res, 'location');
      if (![301, 302, 303, 307, 308].includes(res.statusCode) || !location || !(req.method === 'GET' || req.method === 'HEAD')) return res;
      await res.body.dump();
      if (hop >= MAX_REDIRECTS) throw new ImgError('HTTP', `more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, url);
      if (new URL(url).protocol === 'https:' && next.protocol !== 'https:') {
        throw new ImgError('HTTP', `refusing a redirect from https to ${next.protocol.replace(':', '')} (${next.origin})`);
      }
      url = next.toString();
    }
  }

  /** resolveUrl makes an absolute URL of a Location header relative to the registry. */
  async resolveUrl(location: string): Promise<string> {
    return new URL(location, `${await this.baseUrl()}/`).toString();
  }
}

export const USER_AGENT = 'imgpipe/0.1';

/** hasPort says whether a registry host names its port (HOST:PORT, [V6]:PORT). */
function hasPort(host: string): boolean {
  return /:\d+$/.test(host) && (!host.startsWith('[') || host.includes(']:'));
}

function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}

export function header(res: Res, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function repositoryOfScopes(scopes: string[]): string {
  const first = scopes.find((s) => s.startsWith('repository:'));
  return first ? (first.split(':')[1] ?? '') : '';
}

/** insufficientScope returns the wider scope list an insufficient_scope Bearer challenge asks for, or undefined. */
function insufficientScope(challenges: Challenge[], scopes: string[]): string[] | undefined {
  const ch = challenges.find((c) => c.scheme === 'bearer' && c.params.error === 'insufficient_scope' && c.params.scope);
  if (!ch) return undefined;
  const asked = ch.params.scope!.split(' ').filter(Boolean);
  if (asked.every((s) => scopes.includes(s))) return undefined;
  return [...new Set([...scopes, ...asked])];
}

/** retryAfterMs reads Retry-After as seconds or an HTTP date, capped. */
export function retryAfterMs(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const ms = /^\s*\d+\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * isRetryableNetwork: a connection cut or timed out is retried. One never made (refused, no route:
 * a registry restarting, or a typo) only when --retry-times was given, as skopeo does; without it
 * a wrong port fails at once instead of after the default retries.
 */
function isRetryableNetwork(e: unknown, retriesAsked: boolean): boolean {
  const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code ?? '';
  if (['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED'].includes(code)) return true;
  return retriesAsked && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN'].includes(code);
}

/** redactUrl drops query values that could carry secrets, for --debug lines. */
function redactUrl(url: string): string {
  const u = new URL(url);
  for (const k of [...u.searchParams.keys()]) if (/token|secret|password|signature|credential|_state/i.test(k)) u.searchParams.set(k, 'REDACTED');
  return u.toString();
}
