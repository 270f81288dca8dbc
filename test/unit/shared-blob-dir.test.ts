// The oci: transport with a shared blob directory (TransportOptions.sharedBlobDir, skopeo's
// --shared-blob-dir): where blobs and manifests go, what the layout keeps, how a reader finds them,
// what a failed or concurrent write leaves; oci-archive: read so and never written so; the flags.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { COMMAND_FLAGS } from '../../lib/cli/command-flags.js';
import { parseArgs } from '../../lib/cli/flags.js';
import { imageOnly, sideArgs, transferOptions, transportOptions } from '../../lib/cli/transfer-flags.js';
import { ImgError } from '../../lib/errors.js';
import { blobScopeOf, canDelete, isArchiveWriter } from '../../lib/transport/capabilities.js';
import { openTransport, type StoredManifest, type Transport } from '../../lib/transport/index.js';
import { caught } from '../helpers/errors.js';
import { tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-shared-unit-');
let n = 0;
const fresh = (what: string) => join(work, `${what}-${++n}`);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** image is a small OCI image: a layer, a config and the manifest naming them. */
function image(text: string): { layer: Buffer; config: Buffer; manifest: StoredManifest } {
  const layer = Buffer.from(`layer of ${text}\n`.repeat(100));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest: { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes) } };
}

async function store(t: Transport, img: ReturnType<typeof image>): Promise<void> {
  for (const b of [img.layer, img.config]) await t.putBlob(Readable.from([b]), { digest: sha256(b), size: b.length });
  await t.putManifest(img.manifest);
}

async function rejected(p: Promise<unknown>): Promise<ImgError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImgError);
    return e as ImgError;
  }
  throw new Error('expected a rejection');
}

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe('oci: with a shared blob directory', () => {
  it('writes every blob and the manifest to DIR/sha256/HEX; the layout keeps index.json, oci-layout and an empty blobs/', async () => {
    const [dir, layout] = [fresh('shared'), fresh('layout')];
    const img = image('one');
    await store(openTransport(`oci:${layout}:a`, { sharedBlobDir: dir }), img);
    expect(files(join(dir, 'sha256'))).toEqual([img.layer, img.config, img.manifest.bytes].map((b) => sha256(b).slice(7)).sort());
    expect(files(dir)).toEqual(['sha256']);
    expect(files(layout).filter((f) => !f.startsWith('.imgpipe-'))).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(files(join(layout, 'blobs'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest).toBe(img.manifest.digest);
  });

  it("reads from DIR only: with it the image is there, without it the error says the layout's blobs/ is empty", async () => {
    const [dir, layout] = [fresh('shared'), fresh('layout')];
    const img = image('two');
    await store(openTransport(`oci:${layout}:a`, { sharedBlobDir: dir }), img);
    const t = openTransport(`oci:${layout}:a`, { sharedBlobDir: dir });
    expect((await t.getManifest()).bytes.equals(img.manifest.bytes)).toBe(true);
    expect((await buffer(await t.getBlob({ digest: sha256(img.config), size: img.config.length }))).equals(img.config)).toBe(true);
    expect(await t.statBlob(sha256(img.layer))).toBe(img.layer.length);
    const plain = await rejected(openTransport(`oci:${layout}:a`).getManifest());
    expect(plain.code).toBe('MANIFEST_UNKNOWN');
    expect(plain.message).toMatch(/blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir DIR/);
    // a layout whose blobs are its own is not read from a shared directory
    const own = fresh('layout');
    await store(openTransport(`oci:${own}:a`), img);
    const other = await rejected(openTransport(`oci:${own}:a`, { sharedBlobDir: fresh('shared') }).getManifest());
    expect(other.code).toBe('MANIFEST_UNKNOWN');
    expect(other.message).not.toMatch(/is empty/);
  });

  it("layouts sharing DIR share one blob scope (the mover moves a blob once), and find each other's blobs", async () => {
    const dir = fresh('shared');
    const [a, b] = [openTransport(`oci:${fresh('layout')}:a`, { sharedBlobDir: dir }), openTransport(`oci:${fresh('layout')}:b`, { sharedBlobDir: dir })];
    expect(blobScopeOf(a)).toBe(blobScopeOf(b));
    expect(blobScopeOf(openTransport(`oci:${fresh('layout')}:a`))).not.toBe(blobScopeOf(a));
    const img = image('three');
    await store(a, img);
    expect(await b.statBlob(sha256(img.layer))).toBe(img.layer.length);
    // b's manifest needs no blob of its own: they are in DIR
    await b.putManifest(img.manifest);
  });

  it('delete reads the manifests in DIR and deletes nothing there; without DIR, a layout whose blobs/ is empty is refused, untouched', async () => {
    const [dir, layout] = [fresh('shared'), fresh('layout')];
    const [a, b] = [image('delete a'), image('delete b')];
    await store(openTransport(`oci:${layout}:a`, { sharedBlobDir: dir }), a);
    await store(openTransport(`oci:${layout}:b`, { sharedBlobDir: dir }), b);
    const held = files(join(dir, 'sha256'));
    const index = readFileSync(join(layout, 'index.json'), 'utf8');
    const plain = openTransport(`oci:${layout}:a`);
    if (!canDelete(plain)) throw new Error('oci: deletes');
    const e = await rejected(plain.deleteManifest());
    expect(e.message).toMatch(/blobs is empty: a layout whose blobs are in a shared blob directory is read with --shared-blob-dir DIR/);
    expect(readFileSync(join(layout, 'index.json'), 'utf8')).toBe(index);
    const shared = openTransport(`oci:${layout}:a`, { sharedBlobDir: dir });
    if (!canDelete(shared)) throw new Error('oci: deletes');
    expect(await shared.deleteManifest()).toBe(a.manifest.digest);
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests.map((m: { digest: string }) => m.digest)).toEqual([b.manifest.digest]);
    // the shared blobs stay, a's among them: other layouts may use them
    expect(files(join(dir, 'sha256'))).toEqual(held);
    expect((await openTransport(`oci:${layout}:b`, { sharedBlobDir: dir }).getManifest()).digest).toBe(b.manifest.digest);
  });

  it('a blob that fails its digest leaves nothing in DIR, not even its temp file', async () => {
    const [dir, layout] = [fresh('shared'), fresh('layout')];
    const t = openTransport(`oci:${layout}:a`, { sharedBlobDir: dir });
    const bytes = Buffer.from('the real bytes\n');
    const e = await rejected(t.putBlob(Readable.from([Buffer.from('other bytes!!!\n')]), { digest: sha256(bytes), size: bytes.length }));
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(files(dir)).toEqual(['sha256']);
    expect(files(join(dir, 'sha256'))).toEqual([]);
  });

  it('concurrent writers of one blob into DIR: each succeeds, the file is whole, no temp file is left', async () => {
    const dir = fresh('shared');
    const big = Buffer.alloc(8 << 20, 7);
    big.write('start', 0);
    const digest = sha256(big);
    const chunks = (b: Buffer) => Readable.from(Array.from({ length: 128 }, (_, i) => b.subarray(i * (b.length / 128), (i + 1) * (b.length / 128))));
    const writers = Array.from({ length: 6 }, () => openTransport(`oci:${fresh('layout')}:a`, { sharedBlobDir: dir }));
    const infos = await Promise.all(writers.map((w) => w.putBlob(chunks(big), { digest, size: big.length })));
    for (const i of infos) expect(i).toEqual({ digest, size: big.length });
    expect(files(dir)).toEqual(['sha256']);
    expect(files(join(dir, 'sha256'))).toEqual([digest.slice(7)]);
    expect(sha256(readFileSync(join(dir, 'sha256', digest.slice(7))))).toBe(digest);
  });
});

describe('oci-archive: with a shared blob directory', () => {
  it('is read as skopeo writes it (index.json in the archive, blobs and manifest in DIR), and never written so', async () => {
    const [dir, layout] = [fresh('shared'), fresh('layout')];
    const img = image('archived');
    await store(openTransport(`oci:${layout}:a`, { sharedBlobDir: dir }), img);
    // what skopeo copy --dest-shared-blob-dir DIR … oci-archive:A writes: no blob in the archive
    const archive = `${fresh('archive')}.tar`;
    execFileSync('tar', ['-cf', archive, '-C', layout, 'oci-layout', 'index.json', 'blobs']);
    const t = openTransport(`oci-archive:${archive}:a`, { sharedBlobDir: dir });
    expect((await t.getManifest()).bytes.equals(img.manifest.bytes)).toBe(true);
    expect((await buffer(await t.getBlob({ digest: sha256(img.layer), size: img.layer.length }))).equals(img.layer)).toBe(true);
    expect(await t.statBlob(sha256(img.config))).toBe(img.config.length);
    expect((await rejected(openTransport(`oci-archive:${archive}:a`).getManifest())).code).toBe('MANIFEST_UNKNOWN');
    // writing: refused, naming the archive and DIR; nothing at the path
    const dest = openTransport(`oci-archive:${fresh('out')}.tar:a`, { sharedBlobDir: dir });
    expect(isArchiveWriter(dest)).toBe(true);
    if (!isArchiveWriter(dest)) return;
    const e = caught(() => dest.nameInArchive());
    expect(e.code).toBe('USAGE');
    expect(e.message).toMatch(/^cannot write oci-archive:\S+\.tar with a shared blob directory \(\S+shared-\d+\): an archive holds its own blobs/);
    expect((await rejected(dest.addImage({ manifest: img.manifest }, t))).code).toBe('USAGE');
  });
});

describe('the shared blob directory flags', () => {
  it('--shared-blob-dir reaches both ends, --src-/--dest- one each; an empty one is refused', () => {
    const both = transferOptions(parseArgs(['--shared-blob-dir', 'S'], COMMAND_FLAGS['img-copy']));
    expect([both.src.sharedBlobDir, both.dest.sharedBlobDir]).toEqual(['S', 'S']);
    const sided = transferOptions(parseArgs(['--shared-blob-dir', 'S', '--dest-shared-blob-dir', 'D'], COMMAND_FLAGS['img-copy']));
    expect([sided.src.sharedBlobDir, sided.dest.sharedBlobDir]).toEqual(['S', 'D']);
    expect(transferOptions(parseArgs(['--src-shared-blob-dir', 'S'], COMMAND_FLAGS['img-copy'])).dest.sharedBlobDir).toBeUndefined();
    expect(sideArgs(parseArgs(['--src-shared-blob-dir', 'S'], COMMAND_FLAGS['img-copy']), 'src')).toEqual(['--shared-blob-dir=S']);
    expect(caught(() => transportOptions({ 'shared-blob-dir': '' })).message).toBe('--shared-blob-dir needs a directory');
  });

  it('img-sign and img-tags take none (signatures and tag lists are not in a blob directory); imgpipe sync and list-tags neither, as skopeo', () => {
    for (const f of ['shared-blob-dir', 'src-shared-blob-dir', '--dest-shared-blob-dir=x', 'daemon-host']) expect(imageOnly(f), f).toBe(true);
    for (const f of ['creds', 'src-cert-dir', '--dest-authfile=x', 'shared']) expect(imageOnly(f), f).toBe(false);
    const names = (spec: { string?: readonly string[] }) => (spec.string ?? []).filter((f) => f.includes('shared-blob-dir'));
    expect(names(COMMAND_FLAGS['img-sign'])).toEqual([]);
    expect(names(COMMAND_FLAGS['img-tags'])).toEqual([]);
    expect(names(COMMAND_FLAGS['imgpipe sync'])).toEqual([]);
    expect(names(COMMAND_FLAGS['imgpipe list-tags'])).toEqual([]);
    expect(names(COMMAND_FLAGS['imgpipe copy']).sort()).toEqual(['dest-shared-blob-dir', 'src-shared-blob-dir']);
    expect(names(COMMAND_FLAGS['imgpipe inspect'])).toEqual(['shared-blob-dir']);
    expect(names(COMMAND_FLAGS['img-blob-get'])).toEqual(['shared-blob-dir']);
  });
});
