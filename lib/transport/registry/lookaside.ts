/**
 * A lookaside signature store (containers/image docs/signature-protocols.md): signature N of
 * manifest D of repository R lives at BASE/R@ALGO=HEX/signature-N, N from 1 with no gaps. Read
 * from file://, http:// or https://; written only to file:// (a "lookaside-staging" directory that
 * is published by other means), as containers/image does.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImgError } from '../../errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { MAX_SIGNATURE_SIZE } from '../capabilities.js';
import { parseDigest } from '../../oci/digest.js';
import { processTlsDetails, type TlsOptions } from '../../util/tls-details.js';
import { systemCAs } from '../../auth/certs.js';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/** At most this many signatures are read for one manifest. */
const MAX_SIGNATURES = 128;

/** readLookaside reads signature-1, signature-2, … under `base` until one is missing (404 or no file). */
export async function readLookaside(base: URL, digest: string, timeoutMs = 60_000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; n <= MAX_SIGNATURES; n++) {
    const url = lookasideURL(base, digest, n);
    const sig = url.protocol === 'file:' ? await readFileSig(url) : await readHttpSig(url, timeoutMs);
    if (sig === undefined) return out;
    out.push(sig);
  }
  throw new ImgError('TOO_LARGE', `more than ${MAX_SIGNATURES} signatures at ${base.href}@${digest.replace(':', '=')}`);
}

async function readFileSig(url: URL): Promise<Buffer | undefined> {
  const path = fileURLToPath(url);
  try {
    const st = await fsp.stat(path);
    if (st.size > MAX_SIGNATURE_SIZE) throw new ImgError('TOO_LARGE', `signature ${path} is ${st.size} bytes, over the ${MAX_SIGNATURE_SIZE}-byte limit`);
    return await fsp.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function readHttpSig(url: URL, timeoutMs: number): Promise<Buffer | undefined> {
  let res: Response;
  try {
    // fetch takes no TLS options: with --tls-details, or NODE_EXTRA_CA_CERTS deferred by bin/* (which
    // node's default CAs then lack), an https store is read through node:https with them
    const tls: TlsOptions & { ca?: string[] } = { ...processTlsDetails() };
    const ca = url.protocol === 'https:' ? await systemCAs() : undefined;
    if (ca !== undefined) tls.ca = ca;
    res =
      Object.keys(tls).length > 0 ? await getWithTls(url, timeoutMs, tls) : await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new ImgError('UNREACHABLE', `reading signature from ${url.href}: ${cause}`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ImgError('HTTP', `reading signature from ${url.href}: status ${res.status} (${res.statusText})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > MAX_SIGNATURE_SIZE) throw new ImgError('TOO_LARGE', `signature at ${url.href} is over the ${MAX_SIGNATURE_SIZE}-byte limit`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** getWithTls is a GET of `url` as fetch makes it (redirects followed, up to 20), its https connections with the TLS options `tls`. */
async function getWithTls(url: URL, timeoutMs: number, tls: TlsOptions & { ca?: string[] }): Promise<Response> {
  const signal = AbortSignal.timeout(timeoutMs);
  for (let hops = 0; hops <= 20; hops++) {
    const { get } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(url, { signal, ...tls }, resolve).on('error', reject));
    const to = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && to !== undefined) {
      res.resume();
      url = new URL(to, url);
      continue;
    }
    return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '' });
  }
  throw new Error('too many redirects');
}

/** writeLookaside stores `signatures` as signature-1… under a file:// `base` and removes the numbers above them. */
export async function writeLookaside(base: URL, digest: string, signatures: Uint8Array[]): Promise<void> {
  if (base.protocol !== 'file:') {
    throw new ImgError('UNSUPPORTED', `writing signatures to ${base.href} is not supported: set "lookaside-staging" to a file:// URL in registries.d`);
  }
  for (const [i, sig] of signatures.entries()) {
    const path = fileURLToPath(lookasideURL(base, digest, i + 1));
    await fsp.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, sig);
  }
  for (let n = signatures.length + 1; ; n++) {
    const path = fileURLToPath(lookasideURL(base, digest, n));
    try {
      await fsp.unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
  }
}

/** lookasideURL is where signature n (from 1) of manifest `digest` lives: BASE@ALGO=HEX/signature-N. */
export function lookasideURL(base: URL, digest: string, n: number): URL {
  const { algorithm, hex } = parseDigest(digest);
  const u = new URL(base.href);
  u.pathname = `${base.pathname}@${algorithm}=${hex}/signature-${n}`;
  return u;
}
