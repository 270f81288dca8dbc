import type { Readable } from 'node:stream';
import { ImgError, type ErrorCode } from '../../errors.js';
import { readCapped } from '../../stream/verify.js';

const MAX_ERROR_BODY = 1024 * 1024;

/** The distribution spec's error codes mapped to ours. */
const CODES: Record<string, ErrorCode> = {
  MANIFEST_UNKNOWN: 'MANIFEST_UNKNOWN',
  MANIFEST_BLOB_UNKNOWN: 'MANIFEST_BLOB_UNKNOWN',
  MANIFEST_INVALID: 'MANIFEST_INVALID',
  BLOB_UNKNOWN: 'BLOB_UNKNOWN',
  BLOB_UPLOAD_UNKNOWN: 'BLOB_UNKNOWN',
  NAME_UNKNOWN: 'NAME_UNKNOWN',
  NAME_INVALID: 'REF_INVALID',
  TAG_INVALID: 'REF_INVALID',
  DIGEST_INVALID: 'DIGEST_MISMATCH',
  SIZE_INVALID: 'SIZE_MISMATCH',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  UNSUPPORTED: 'UNSUPPORTED',
  TOOMANYREQUESTS: 'HTTP',
};

/**
 * registryError turns an unexpected response into one typed error with the registry's own message.
 * It takes what it reads of the client's response (client.ts's Res), so this module imports no client.
 */
export async function registryError(res: { statusCode: number; body: Readable }, domain: string): Promise<ImgError> {
  let detail = '';
  let code: ErrorCode | undefined;
  try {
    const body = await readCapped(res.body as AsyncIterable<Buffer>, MAX_ERROR_BODY, 'error body');
    const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first?.code) {
      code = CODES[first.code];
      detail = oneLine(first.message || first.code.toLowerCase().replace(/_/g, ' '));
    }
  } catch {
    res.body.destroy();
  }
  const status = res.statusCode;
  if (!code) {
    code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : status === 404 ? 'MANIFEST_UNKNOWN' : 'HTTP';
  }
  const msg =
    status === 401
      ? `authentication to ${domain} failed${detail ? ` (${detail})` : ''}`
      : status === 403
        ? `access denied by ${domain}${detail ? ` (${detail})` : ''}`
        : detail || `${domain} answered HTTP ${status}`;
  return new ImgError(code, `${msg}${detail && !msg.includes(String(status)) ? ` (HTTP ${status})` : ''}`, { status });
}

/**
 * deleteRefused says in words what a refused manifest DELETE means: a registry answers 405 (with
 * distribution's error code UNSUPPORTED, "The operation is unsupported.") when it does not allow
 * deletes at all, which distribution allows only with storage.delete.enabled. Other errors pass.
 */
export function deleteRefused(e: unknown): unknown {
  if (!(e instanceof ImgError) || (e.status !== 405 && !(e.code === 'UNSUPPORTED' && e.status !== undefined && e.status < 500))) return e;
  return new ImgError(
    'UNSUPPORTED',
    `the registry does not allow deletes (HTTP ${e.status}); for distribution (docker-registry) set storage.delete.enabled: true or REGISTRY_STORAGE_DELETE_ENABLED=true`,
    { status: e.status, cause: e },
  );
}

function oneLine(s: string): string {
  const line = s.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** tlsProblem says in words what a TLS failure means, with the flag to try. */
function tlsProblem(code: string, message: string): string {
  if (/wrong version number|packet length too long|http request/i.test(message))
    return 'the server does not speak TLS (for a plain-http registry use --tls-verify=false)';
  // Checked before the "not trusted" test: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED also contains CERT.
  if (/certificate[ _]required|alert.*certificate|bad[ _]certificate/i.test(code + ' ' + message))
    return 'the registry wants a client certificate (X.cert and X.key in --cert-dir or certs.d)';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'the certificate is not for this host name (use the name in the certificate, or --tls-verify=false)';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|unable to (get|verify)/i.test(code + message)) {
    return `the certificate is not trusted (${code || 'unknown CA'}); put the registry's CA in --cert-dir or certs.d, or use --tls-verify=false`;
  }
  return `${oneLine(message.replace(/^[0-9A-F]+:error:[0-9A-F]+:/, ''))}`;
}

/** endpointHost is the host that serves a registry's API (docker.io is registry-1.docker.io), as client.ts's endpointOf. */
function endpointHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** networkError describes a failure to talk to the registry at all, with what to try. */
export function networkError(e: unknown, domain: string, what: string): ImgError {
  void what;
  if (e instanceof ImgError) return e;
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string }; host?: string; hint?: string };
  const code = err.code ?? err.cause?.code ?? '';
  const message = err.cause?.message ?? err.message ?? String(e);
  // The host that failed, where it is not the registry itself (a token server, the target of a redirect).
  if (err.host !== undefined && err.host !== domain && err.host !== endpointHost(domain)) domain = err.host;
  if (code === 'ECONNREFUSED') return new ImgError('UNREACHABLE', `cannot connect to ${domain}: connection refused (is the registry running?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ImgError('UNREACHABLE', `cannot resolve registry host ${domain}`);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') || /ssl|tls|certificate/i.test(message)) {
    return new ImgError('TLS', `TLS with ${domain} failed: ${tlsProblem(code, message)}`);
  }
  if (/TIMEOUT|TIMEDOUT/.test(code)) {
    const hint = err.hint ?? '--retry-times to retry more';
    return new ImgError('TIMEOUT', `timed out talking to ${domain}: ${oneLine(message)}${hint ? ` (${hint})` : ''}`);
  }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return new ImgError('UNREACHABLE', `the connection to ${domain} was reset`);
  return new ImgError('UNREACHABLE', `${domain}: ${oneLine(message)}`);
}
