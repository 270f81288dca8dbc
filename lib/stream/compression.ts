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

/** peekHead reads a stream's first bytes (up to `n`, fewer at its end) and gives back a stream of all of it. */
export async function peekHead(src: Readable, n = 6): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    have += r.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* chunks;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  stream.on('close', () => void it.return?.());
  return { head: Buffer.concat(chunks).subarray(0, n), stream };
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
  out.on('error', (e) =>
    result.destroy(e instanceof ImgError ? e : new ImgError('MANIFEST_INVALID', `${what} is not valid ${from === 'none' ? to : from}: ${e.message}`)),
  );
  return out.pipe(result);
}
