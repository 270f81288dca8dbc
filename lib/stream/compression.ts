import { Readable, Transform } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { ImgError } from '../errors.js';
import { LEVELS, type Compression, type Compressor } from '../oci/compression.js';

/**
 * Layer compression as streams: gzip through node:zlib, zstd through zstd-codec (zstd compiled to
 * WebAssembly; Node 20 has no zstd of its own), loaded on first use only, so that a command that
 * meets no zstd layer never pays for it (docs/decisions.md 19).
 */

interface ZstdStreams {
  ZstdCompressTransform: new (level?: number) => Transform;
  ZstdDecompressTransform: new () => Transform;
}

let zstd: Promise<ZstdStreams> | undefined;

/** loadZstd loads zstd-codec's stream classes once per process. */
function loadZstd(): Promise<ZstdStreams> {
  zstd ??= (async () => {
    const mod = (await import('zstd-codec/lib/zstd-stream.js')) as {
      default?: { run(f: (s: ZstdStreams) => void): void };
      run?(f: (s: ZstdStreams) => void): void;
    };
    const run = mod.run ?? mod.default!.run;
    return new Promise<ZstdStreams>((resolve) => run(resolve));
  })();
  zstd.catch(() => (zstd = undefined));
  return zstd;
}

/** compressor is a transform that compresses a stream with `c` at `level` (the compressor's default when not given). */
export async function compressor(c: Compressor, level?: number): Promise<Transform> {
  const l = level ?? LEVELS[c].default;
  if (c === 'gzip') return createGzip({ level: l });
  const { ZstdCompressTransform } = await loadZstd();
  return new ZstdCompressTransform(l);
}

/** decompressor is a transform that undoes `c` ('none' passes the bytes through). */
export async function decompressor(c: Compression): Promise<Transform> {
  if (c === 'gzip') return createGunzip();
  if (c === 'none') return new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) });
  const { ZstdDecompressTransform } = await loadZstd();
  return new ZstdDecompressTransform();
}

/**
 * peekHead reads a stream's first bytes (up to `n`, fewer at its end) and gives back a stream of
 * all of it: `src` itself, the bytes read put back (so a DigestingStream stays one, and a copy
 * hashes each byte once), or, when `src` had ended, a stream of what it held.
 */
export async function peekHead(src: Readable, n = 6): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = src.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      have += chunk.length;
      continue;
    }
    if (src.readableEnded || src.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const settle = (e?: Error) => {
        src.off('readable', ok).off('end', ok).off('close', ok).off('error', settle);
        if (e) reject(e);
        else resolve();
      };
      const ok = () => settle();
      src.once('readable', ok).once('end', ok).once('close', ok).once('error', settle);
    });
  }
  if (src.errored) throw src.errored;
  const all = Buffer.concat(chunks);
  const head = all.subarray(0, n);
  if (src.readableEnded) return { head, stream: Readable.from([all], { objectMode: false }) };
  if (all.length > 0) src.unshift(all);
  return { head, stream: src };
}

/**
 * recode gives a layer stream `src`, stored with compression `from`, compressed with `to` ('none':
 * uncompressed) at `level`; a stream already in `to` passes as it is. `what` names the layer in
 * errors: a stream that is not valid in its compression fails with MANIFEST_INVALID; an error of
 * `src` (its digest check) passes as it is.
 */
export async function recode(src: Readable, from: Compression, to: Compression, what: string, level?: number): Promise<Readable> {
  if (from === to) return src;
  const stages: Transform[] = [];
  if (from !== 'none') stages.push(await decompressor(from));
  if (to !== 'none') stages.push(await compressor(to, level));
  let out: Readable = src;
  for (const t of stages) {
    out.on('error', (e) => t.destroy(e));
    t.on('error', () => undefined);
    out = out.pipe(t);
  }
  const result = new Transform({ transform: (chunk, _e, cb) => cb(null, chunk) });
  // A small layer can fail its digest check before the destination starts reading: the error stays
  // on the stream (result.errored) for the reader, rather than crashing the process unheard.
  result.on('error', () => undefined);
  out.on('error', (e) =>
    result.destroy(e instanceof ImgError ? e : new ImgError('MANIFEST_INVALID', `${what} is not valid ${from === 'none' ? to : from}: ${e.message}`)),
  );
  return out.pipe(result);
}
