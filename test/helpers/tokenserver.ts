import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * startTokenServer runs a Docker token server (the "Bearer" realm a token-auth registry sends
 * clients to) that mints JWTs distribution 2.8 accepts: ES256/RS256 signed with node:crypto, the
 * signing certificate in the header's x5c (or its libtrust fingerprint as kid), and the registry
 * configured with that certificate as its rootcertbundle.
 */

/** a parsed scope, `type:name:actions` (e.g. repository:team/app:pull,push or registry:catalog:*) */
export interface Scope {
  raw: string;
  type: string;
  name: string;
  actions: string[];
}

export interface TokenServerOptions {
  /** PEM private key that signs tokens (EC P-256 → ES256, P-384 → ES384, RSA → RS256) */
  signingKey: string;
  /** PEM certificate of that key; goes in the JWT header and is the registry's rootcertbundle */
  signingCert: string;
  /** serve https with this certificate (e.g. the pki server cert); plain http without it */
  tls?: { cert: string; key: string };
  /** the JWT iss claim (default 'imgpipe-test-issuer') */
  issuer?: string;
  /** the service the registry names (the JWT aud; default 'imgpipe-test-registry') */
  service?: string;
  /** user → password, checked with HTTP basic auth (GET) or the password grant (POST) */
  users?: Record<string, string>;
  /** whether requests without credentials get a token (default true) */
  anonymous?: boolean;
  /** actions to grant; default: all requested for a user, only pull for anonymous */
  grant?: (user: string | undefined, scope: Scope) => string[];
  /** token lifetime in seconds (default 300) */
  expiresIn?: number;
  /** how the JWT names its key: 'x5c' (certificate chain, default) or 'kid' (libtrust fingerprint) */
  keyHeader?: 'x5c' | 'kid';
}

export interface TokenRequest {
  method: string;
  /** the Authorization header as received */
  authorization?: string;
  /** query parameters (POST: form fields); repeated `scope`s are joined with a space */
  query: Record<string, string>;
  /** every scope asked for, one per entry */
  scopes: string[];
  /** the user the request authenticated as, if any */
  user?: string;
  /** the status answered */
  status: number;
}

export interface IssuedToken {
  token: string;
  user?: string;
  access: Array<{ type: string; name: string; actions: string[] }>;
  refreshToken?: string;
}

export interface TokenServer {
  /** 'https://127.0.0.1:PORT/token' (http without tls) */
  realm: string;
  /** 'https://127.0.0.1:PORT' */
  url: string;
  host: string;
  issuer: string;
  service: string;
  /** every request to the server, in order */
  requests: TokenRequest[];
  /** every token minted, in order */
  issued: IssuedToken[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** libtrustKeyId is distribution's `kid` form: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 in 12 groups of 4. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let s = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      s += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return s.match(/.{4}/g)!.join(':');
}

export function parseScope(raw: string): Scope {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first < 0 || last === first) return { raw, type: raw, name: '', actions: [] };
  return {
    raw,
    type: raw.slice(0, first).replace(/\(.*\)$/, ''),
    name: raw.slice(first + 1, last),
    actions: raw
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function algFor(key: KeyObject): { alg: string; hash: string; dsa: boolean } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { alg: 'ES256', hash: 'sha256', dsa: true };
    if (curve === 'secp384r1') return { alg: 'ES384', hash: 'sha384', dsa: true };
    if (curve === 'secp521r1') return { alg: 'ES512', hash: 'sha512', dsa: true };
    throw new Error(`tokenserver: unsupported curve ${curve}`);
  }
  if (key.asymmetricKeyType === 'rsa') return { alg: 'RS256', hash: 'sha256', dsa: false };
  throw new Error(`tokenserver: unsupported key type ${key.asymmetricKeyType}`);
}

/** makeJwt signs a distribution-style token; exported so tests can mint tokens (even bad ones) directly. */
export function makeJwt(opts: { signingKey: string; signingCert: string; keyHeader?: 'x5c' | 'kid' }, claims: Record<string, unknown>): string {
  const key = createPrivateKey(readFileSync(opts.signingKey));
  const cert = new X509Certificate(readFileSync(opts.signingCert));
  const { alg, hash, dsa } = algFor(key);
  const header: Record<string, unknown> = { typ: 'JWT', alg };
  if (opts.keyHeader === 'kid') header.kid = libtrustKeyId(cert.publicKey.export({ type: 'spki', format: 'der' }));
  else header.x5c = [cert.raw.toString('base64')];
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign(hash, Buffer.from(input), dsa ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${b64url(sig)}`;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => res(Buffer.concat(parts).toString('utf8')));
    req.on('error', rej);
  });
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const issuer = opts.issuer ?? 'imgpipe-test-issuer';
  const service = opts.service ?? 'imgpipe-test-registry';
  const users = opts.users ?? {};
  const anonymous = opts.anonymous ?? true;
  const expiresIn = opts.expiresIn ?? 300;
  const grant = opts.grant ?? ((user: string | undefined, scope: Scope) => (user ? scope.actions : scope.actions.filter((a) => a === 'pull')));
  // fail early on a bad key
  makeJwt(opts, {});
  const requests: TokenRequest[] = [];
  const issued: IssuedToken[] = [];
  const refreshTokens = new Map<string, string>(); // refresh token → user

  const mint = (user: string | undefined, scopes: string[], aud: string, withRefresh: boolean) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map(parseScope)
      .filter((s) => s.name !== '')
      .map((s) => ({ type: s.type, name: s.name, actions: grant(user, s) }))
      .filter((a) => a.actions.length > 0);
    const token = makeJwt(opts, {
      iss: issuer,
      sub: user ?? '',
      aud,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    });
    let refreshToken: string | undefined;
    if (withRefresh && user) {
      refreshToken = randomBytes(24).toString('base64url');
      refreshTokens.set(refreshToken, user);
    }
    issued.push({ token, user, access, refreshToken });
    return { token, refreshToken, issuedAt: new Date(now * 1000).toISOString() };
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authorization = req.headers.authorization;
    const query: Record<string, string> = {};
    const scopes: string[] = [];
    const collect = (params: URLSearchParams) => {
      for (const [k, v] of params) {
        if (k === 'scope') scopes.push(...v.split(' ').filter(Boolean));
        else query[k] = v;
      }
      if (scopes.length) query.scope = scopes.join(' ');
    };
    const rec: TokenRequest = { method: req.method ?? '', authorization, query, scopes, status: 0 };
    requests.push(rec);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const unauthorized = (why: string) =>
      reply(
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: why }], error: 'invalid_grant', error_description: why },
        {
          'www-authenticate': 'Basic realm="imgpipe-test-token"',
        },
      );
    if (u.pathname !== '/token') return reply(404, { error: 'not found' });

    if (req.method === 'GET') {
      collect(u.searchParams);
      let user: string | undefined;
      if (authorization) {
        const m = /^Basic\s+(.+)$/i.exec(authorization);
        if (!m) return unauthorized('unsupported authorization');
        const dec = Buffer.from(m[1]!, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        const [name, pass] = i < 0 ? [dec, ''] : [dec.slice(0, i), dec.slice(i + 1)];
        if (!(name in users) || users[name] !== pass) return unauthorized('wrong username or password');
        user = name;
      } else if (!anonymous) {
        return unauthorized('authentication required');
      }
      rec.user = user;
      const aud = query.service ?? service;
      const { token, refreshToken, issuedAt } = mint(user, scopes, aud, query.offline_token === 'true');
      return reply(200, { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt, ...(refreshToken ? { refresh_token: refreshToken } : {}) });
    }

    if (req.method === 'POST') {
      collect(new URLSearchParams(await readBody(req)));
      let user: string | undefined;
      if (query.grant_type === 'password') {
        const name = query.username ?? '';
        if (!(name in users) || users[name] !== query.password) return unauthorized('wrong username or password');
        user = name;
      } else if (query.grant_type === 'refresh_token') {
        user = refreshTokens.get(query.refresh_token ?? '');
        if (!user) return unauthorized('unknown refresh token');
      } else {
        return reply(400, { error: 'unsupported_grant_type' });
      }
      rec.user = user;
      const aud = query.service ?? service;
      const { token, refreshToken, issuedAt } = mint(user, scopes, aud, query.grant_type === 'password' && query.access_type === 'offline');
      return reply(200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: expiresIn,
        issued_at: issuedAt,
        scope: scopes.join(' '),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      });
    }
    reply(405, { error: 'method not allowed' });
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handler(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    });
  };
  const server = opts.tls
    ? https.createServer({ cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key) }, onRequest)
    : http.createServer(onRequest);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  let stopped = false;
  return {
    realm: `${url}/token`,
    url,
    host: `127.0.0.1:${port}`,
    issuer,
    service,
    requests,
    issued,
    stop: () =>
      new Promise<void>((res) => {
        if (stopped) return res();
        stopped = true;
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
}
