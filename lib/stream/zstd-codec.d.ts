/** zstd-codec ships no types: the stream module lib/stream/compression.ts loads. */
declare module 'zstd-codec/lib/zstd-stream.js' {
  import type { Transform } from 'node:stream';
  export function run(f: (streams: { ZstdCompressTransform: new (level?: number) => Transform; ZstdDecompressTransform: new () => Transform }) => void): void;
}
