import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * startFaultProxy runs a plain-HTTP reverse proxy on 127.0.0.1 in front of `target` (an http
 * registry, 'host:port' or 'http://host:port'). It records every request in `seen` and injects
 * faults by rule. Requests pass through untouched (Host, Authorization, Range, bodies), so the
 * registry builds upload Locations that point back at the proxy.
 */

/**
 * FaultRule: matched on method + a regex over the request URL (path and query); it applies to the
 * first `times` matching requests (default 1; Infinity for all), then is spent. The first unspent
 * matching rule wins. `stallMs` waits before acting; then at most one of: reset, status, redirect
 * (answered by the proxy), or truncateAfter / corruptAt (applied to the registry's real answer).
 * A rule with only stallMs just delays the request.
 */
export interface FaultRule {
  /** HTTP method, case-insensitive (default: any) */
  method?: string;
  /** regex (a string is compiled) tested against the request URL, e.g. /^\/v2\/$/ or /\/blobs\/sha256:/ */
  path: RegExp | string;
  /** how many matching requests get the fault (default 1) */
  times?: number;
  /** wait this long before answering (or forwarding) */
  stallMs?: number;
  /** destroy the connection with a TCP RST before any answer */
  reset?: boolean;
  /** answer with this status instead of forwarding (body: a registry-style JSON error unless `body`) */
  status?: number;
  /** Retry-After: seconds (number), an HTTP-date (Date), or a raw string */
  retryAfter?: number | Date | string;
  /** extra headers for a `status` or `redirect` answer */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** answer 307 (or redirectStatus) with Location: this base URL + the request's path and query, or what the function returns */
  redirect?: string | ((url: string) => string);
  redirectStatus?: number;
  /** forward, but close the connection after this many bytes of the registry's response body */
  truncateAfter?: number;
  /** forward, but flip (xor 0xff) the response body byte at this offset */
  corruptAt?: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** when it arrived (Date.now()) */
  at: number;
  /** the fault applied, e.g. 'status 503', 'reset', 'truncate 100', 'corrupt 7', 'redirect …', 'stall 200' */
  fault?: string;
  /** the status sent to the client (undefined for reset, or before the answer started) */
  status?: number;
}

export interface FaultProxy {
  /** '127.0.0.1:PORT' */
  host: string;
  port: number;
  /** 'http://127.0.0.1:PORT' */
  url: string;
  /** every request received, in order */
  seen: SeenRequest[];
  /** replace the rules (and their counts) */
  setFaults(faults: FaultRule[]): void;
  /** rules not yet spent */
  pending(): FaultRule[];
  stop(): Promise<void>;
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

function stripHop(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

interface Armed {
  rule: FaultRule;
  re: RegExp;
  left: number;
}

export async function startFaultProxy(target: string, opts: { faults?: FaultRule[]; port?: number } = {}): Promise<FaultProxy> {
  const t = new URL(/^https?:\/\//.test(target) ? target : `http://${target}`);
  if (t.protocol !== 'http:') throw new Error('startFaultProxy: target must be plain http');
  const agent = new http.Agent({ keepAlive: true });
  const seen: SeenRequest[] = [];
  let rules: Armed[] = [];
  const setFaults = (faults: FaultRule[]) => {
    rules = faults.map((rule) => ({
      rule,
      re: typeof rule.path === 'string' ? new RegExp(rule.path) : rule.path,
      left: rule.times ?? 1,
    }));
  };
  setFaults(opts.faults ?? []);

  const pick = (method: string, url: string): FaultRule | undefined => {
    for (const a of rules) {
      if (a.left <= 0) continue;
      if (a.rule.method && a.rule.method.toUpperCase() !== method.toUpperCase()) continue;
      a.re.lastIndex = 0;
      if (!a.re.test(url)) continue;
      a.left--;
      return a.rule;
    }
    return undefined;
  };

  const server = http.createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const rec: SeenRequest = { method, url, headers: { ...req.headers }, at: Date.now() };
    seen.push(rec);
    const rule = pick(method, url);
    const notes: string[] = [];
    let gone = false;
    // One listener per request, removed with it: a keep-alive socket carries many requests.
    const onGone = () => {
      gone = true;
    };
    req.socket.once('close', onGone);
    res.once('close', () => req.socket.off('close', onGone));

    if (rule?.stallMs) {
      notes.push(`stall ${rule.stallMs}`);
      rec.fault = notes.join(', ');
      await new Promise((r) => setTimeout(r, rule.stallMs));
      if (gone) return;
    }
    if (rule?.reset) {
      notes.push('reset');
      rec.fault = notes.join(', ');
      (req.socket as Socket & { resetAndDestroy?: () => void }).resetAndDestroy?.() ?? req.socket.destroy();
      return;
    }
    if (rule?.status !== undefined) {
      notes.push(`status ${rule.status}`);
      rec.fault = notes.join(', ');
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(rule.headers ?? {}) };
      if (rule.retryAfter !== undefined) headers['retry-after'] = rule.retryAfter instanceof Date ? rule.retryAfter.toUTCString() : String(rule.retryAfter);
      const body =
        rule.body ??
        JSON.stringify({ errors: [{ code: rule.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: `injected ${rule.status}`, detail: null }] });
      rec.status = rule.status;
      res.writeHead(rule.status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (rule?.redirect !== undefined) {
      const location = typeof rule.redirect === 'function' ? rule.redirect(url) : rule.redirect.replace(/\/$/, '') + url;
      const status = rule.redirectStatus ?? 307;
      notes.push(`redirect ${location}`);
      rec.fault = notes.join(', ');
      req.resume();
      rec.status = status;
      res.writeHead(status, { location, 'content-length': '0', ...(rule.headers ?? {}) });
      res.end();
      return;
    }

    // forward
    const up = http.request({ host: t.hostname, port: t.port || 80, method, path: url, headers: stripHop(req.headers), agent }, (ures) => {
      const status = ures.statusCode ?? 502;
      rec.status = status;
      res.writeHead(status, stripHop(ures.headers));
      const truncate = rule?.truncateAfter;
      const corrupt = rule?.corruptAt;
      if (truncate !== undefined) notes.push(`truncate ${truncate}`);
      if (corrupt !== undefined) notes.push(`corrupt ${corrupt}`);
      if (notes.length) rec.fault = notes.join(', ');
      if (truncate === undefined && corrupt === undefined) {
        ures.pipe(res);
        return;
      }
      let offset = 0;
      let cut = false;
      const cutNow = () => {
        cut = true;
        ures.destroy();
        const sock = res.socket;
        if (!sock) return;
        // FIN after what was written so the client gets exactly the bytes before the cut, then make sure it is gone
        sock.end();
        setTimeout(() => sock.destroy(), 200).unref();
      };
      if (truncate === 0) {
        res.flushHeaders();
        res.write('', cutNow);
        return;
      }
      ures.on('data', (chunk: Buffer) => {
        if (cut) return;
        let c = chunk;
        if (corrupt !== undefined && corrupt >= offset && corrupt < offset + c.length) {
          c = Buffer.from(c);
          c[corrupt - offset] = c[corrupt - offset]! ^ 0xff;
        }
        if (truncate !== undefined && offset + c.length >= truncate) {
          const part = c.subarray(0, truncate - offset);
          offset = truncate;
          ures.pause();
          res.write(part, cutNow);
          return;
        }
        offset += c.length;
        if (!res.write(c)) {
          ures.pause();
          res.once('drain', () => ures.resume());
        }
      });
      ures.on('end', () => {
        if (!cut) res.end();
      });
    });
    up.on('error', (e) => {
      if (!res.headersSent) {
        rec.status = 502;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`faultproxy: upstream error: ${e.message}`);
      } else {
        res.destroy();
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 0, '127.0.0.1', () => res());
  });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    setFaults,
    pending: () => rules.filter((a) => a.left > 0).map((a) => a.rule),
    stop: () =>
      new Promise<void>((r) => {
        if (stopped) return r();
        stopped = true;
        server.close(() => r());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
