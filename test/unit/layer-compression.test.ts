import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { desiredCompression, layerChange, parseLayerFlags, zstdLayers } from '../../lib/image/layers.js';
import { layerCompressionOf, layerMediaType, sniffCompression } from '../../lib/oci/compression.js';
import { compressor, peekHead, recode } from '../../lib/stream/compression.js';
import { DigestingStream } from '../../lib/stream/verify.js';
import { LayerCache, compressionKey } from '../../lib/copy/layer-cache.js';
import type { Transport } from '../../lib/transport/types.js';
import { caught } from '../helpers/errors.js';

const t = (caps: Record<string, unknown> = {}) => ({ name: 'x', ...caps }) as unknown as Transport;
const registry = t({ wantsCompressedLayers: true });
const dir = t();
const archive = t({ layersUncompressed: true });
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const read = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('layer compression decisions (lib/image/layers.ts)', () => {
  it('compresses the layers of a source that holds them uncompressed into a destination that wants them compressed; else keeps them, unless asked', () => {
    expect(desiredCompression(archive, registry, {})).toBe('compress');
    expect(desiredCompression(dir, registry, {})).toBe('preserve');
    expect(desiredCompression(dir, registry, { compressFormat: 'zstd' })).toBe('compress');
    expect(desiredCompression(dir, registry, { compressLevel: 1 })).toBe('compress');
    expect(desiredCompression(archive, dir, {})).toBe('preserve');
    expect(desiredCompression(archive, dir, { compress: true })).toBe('compress');
    expect(desiredCompression(archive, registry, { decompress: true })).toBe('decompress');
  });

  it('layerChange follows containers/image: compress the uncompressed, recompress to another asked format, decompress on request', () => {
    expect(layerChange('none', 'compress', {})).toBe('gzip');
    expect(layerChange('none', 'compress', { compressFormat: 'zstd' })).toBe('zstd');
    expect(layerChange('gzip', 'compress', {})).toBeUndefined();
    expect(layerChange('gzip', 'compress', { compressFormat: 'zstd' })).toBe('zstd');
    expect(layerChange('zstd', 'compress', { compressFormat: 'zstd' })).toBeUndefined();
    expect(layerChange('gzip', 'decompress', {})).toBe('none');
    expect(layerChange('none', 'decompress', {})).toBeUndefined();
    expect(layerChange('none', 'preserve', { compressFormat: 'zstd' })).toBeUndefined();
  });

  it('zstd layers need OCI only where they are written and only for an image with layers', () => {
    const layer = { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: 'sha256:x', size: 1 };
    expect(zstdLayers(registry, { compressFormat: 'zstd' }, [layer])).toBe(true);
    expect(zstdLayers(registry, { compressFormat: 'zstd' }, [])).toBe(false);
    expect(zstdLayers(dir, { compressFormat: 'zstd' })).toBe(false);
    expect(zstdLayers(dir, { compressFormat: 'zstd', compress: true })).toBe(true);
    expect(zstdLayers(registry, { compressFormat: 'gzip' })).toBe(false);
  });

  it('parseLayerFlags refuses what contradicts, with a one-line usage error', () => {
    expect(parseLayerFlags({ 'dest-compress-format': 'zstd', 'dest-compress-level': '19' })).toEqual({ compressFormat: 'zstd', compressLevel: 19 });
    expect(caught(() => parseLayerFlags({ 'dest-compress': true, 'dest-decompress': true })).message).toBe(
      '--dest-compress and --dest-decompress exclude each other',
    );
    expect(caught(() => parseLayerFlags({ 'dest-compress-format': 'xz' })).code).toBe('USAGE');
    expect(caught(() => parseLayerFlags({ 'dest-compress-level': '23', 'dest-compress-format': 'zstd' })).message).toContain('zstd takes 1 to 22');
    expect(caught(() => parseLayerFlags({ 'dest-compress-level': 'high' })).message).toContain('gzip takes 0 to 9');
    expect(caught(() => parseLayerFlags({ 'dest-decompress': true, 'dest-compress-format': 'gzip' })).message).toContain(
      '--dest-compress-format does not go with it',
    );
    expect(caught(() => parseLayerFlags({ 'dest-compress-level': '3', 'preserve-digests': true })).message).toBe(
      '--dest-compress-level changes layer digests, which --preserve-digests forbids',
    );
  });
});

describe('media types and streams', () => {
  it('names layers by compression in each format; Docker schema 2 has no zstd', () => {
    expect(layerCompressionOf('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(layerCompressionOf('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(layerCompressionOf('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip')).toBeUndefined();
    expect(layerMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip', 'none')).toBe('application/vnd.docker.image.rootfs.diff.tar');
    expect(layerMediaType('application/vnd.oci.image.layer.v1.tar', 'zstd')).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(caught(() => layerMediaType('application/vnd.docker.image.rootfs.diff.tar', 'zstd')).code).toBe('UNSUPPORTED');
  });

  it('recodes a stream between none, gzip and zstd and back to the same bytes; tells each by its magic', async () => {
    const tar = Buffer.alloc(300_000);
    for (let i = 0; i < tar.length; i++) tar[i] = (i * 7919) % 251;
    const gz = await read(await recode(Readable.from([tar]), 'none', 'gzip', 'layer'));
    const zst = await read(await recode(Readable.from([gz]), 'gzip', 'zstd', 'layer', 5));
    expect(sniffCompression(gz, 'gz')).toBe('gzip');
    expect(sniffCompression(zst, 'zst')).toBe('zstd');
    expect(sniffCompression(tar, 'tar')).toBe('none');
    expect(sha256(await read(await recode(Readable.from([zst]), 'zstd', 'none', 'layer')))).toBe(sha256(tar));
    // The same input and level give the same gzip bytes (what a re-run relies on when it has no cache).
    expect(sha256(await read(Readable.from([tar]).pipe(await compressor('gzip'))))).toBe(sha256(gz));
    const bad = await recode(Readable.from([Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6])]), 'gzip', 'none', 'layer sha256:abc');
    await expect(read(bad)).rejects.toThrow(/layer sha256:abc is not valid gzip/);
    expect(caught(() => sniffCompression(Buffer.from('BZh91AY'), 'layer 0')).message).toContain('layer 0 is bzip2-compressed');
  });
});

describe('peekHead', () => {
  const bytes = Buffer.from('\x1f\x8b and the rest of a long layer '.repeat(5000));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const drain = async (r: Readable) => {
    const parts: Buffer[] = [];
    for await (const c of r) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };

  it('gives back the same verifying stream, the head put back: each byte is hashed once', async () => {
    const d = Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]).pipe(new DigestingStream({ digest, size: bytes.length }, 'layer'));
    const { head, stream } = await peekHead(d);
    expect(head).toEqual(bytes.subarray(0, 6));
    expect(stream).toBe(d);
    expect(await drain(stream)).toEqual(bytes);
    expect(d.digest).toBe(digest);
  });

  it('a stream shorter than the head, and one that fails', async () => {
    const { head, stream } = await peekHead(Readable.from([Buffer.from('ab')]));
    expect(head.toString()).toBe('ab');
    expect((await drain(stream)).toString()).toBe('ab');
    const bad = Readable.from([bytes]).pipe(new DigestingStream({ size: 3 }, 'layer'));
    await expect(peekHead(bad).then((p) => drain(p.stream))).rejects.toThrow(/more than the expected 3 bytes/);
  });
});

describe('the layer cache', () => {
  it('remembers what a layer became, across instances, and skips torn lines', () => {
    const d = mkdtempSync(join(tmpdir(), 'imgpipe-cache-'));
    const a = new LayerCache(d);
    const u = { digest: `sha256:${'a'.repeat(64)}`, size: 10, compression: 'gzip' as const };
    a.put('sha256:src', compressionKey('gzip', 6), u);
    expect(new LayerCache(d).get('sha256:src', 'gzip-6')).toEqual(u);
    expect(new LayerCache(d).get('sha256:src', 'gzip-default')).toBeUndefined();
    expect(compressionKey('none', 3)).toBe('none');
  });
});
