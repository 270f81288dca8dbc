// Deleting an image from an oci: layout (OciLayoutTransport.deleteManifest), on real layouts in a
// temp directory: containers/image's rules (the entry, then every blob it used that no other entry
// uses, nested indexes followed), index.json rewritten before any blob goes, and a put that lost a
// blob to a delete meanwhile refused rather than naming it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { MediaType } from '../../lib/oci/mediatype.js';
import { canDelete } from '../../lib/transport/capabilities.js';
import { openTransport, type StoredManifest, type Transport } from '../../lib/transport/index.js';
import { tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-oci-delete-');
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let n = 0;
const layoutPath = () => join(work, `layout-${++n}`);

const blob = (text: string) => Buffer.from(text);
const desc = (mediaType: string, b: Buffer, extra: object = {}) => ({ mediaType, digest: sha256(b), size: b.length, ...extra });
const stored = (o: object): StoredManifest => {
  const bytes = Buffer.from(JSON.stringify(o));
  return { bytes, digest: sha256(bytes), mediaType: (o as { mediaType: string }).mediaType };
};
/** image is an OCI image manifest of a config and layers (blobs given by their text). */
function image(config: string, ...layers: string[]): { m: StoredManifest; blobs: Buffer[] } {
  const c = blob(`{"config":"${config}"}`);
  const ls = layers.map(blob);
  const m = stored({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: desc(MediaType.ociConfig, c),
    layers: ls.map((l) => desc(MediaType.ociLayerGzip, l)),
  });
  return { m, blobs: [c, ...ls] };
}
const index = (...children: StoredManifest[]) =>
  stored({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length, platform: { os: 'linux', architecture: `a${i}` } })),
  });

async function putBlobs(t: Transport, blobs: Buffer[]): Promise<void> {
  for (const b of blobs) await t.putBlob(Readable.from([b]), { digest: sha256(b), size: b.length });
}
/** put writes an image (an index with its children first) named `name` into the layout. */
async function put(
  path: string,
  name: string,
  top: StoredManifest,
  children: { m: StoredManifest; blobs: Buffer[] }[] = [],
  blobs: Buffer[] = [],
): Promise<void> {
  const t = openTransport(`oci:${path}:${name}`);
  await putBlobs(t, [...blobs, ...children.flatMap((c) => c.blobs)]);
  for (const c of children) await t.putManifest(c.m, { child: true });
  await t.putManifest(top);
}
const blobsIn = (path: string) => readdirSync(join(path, 'blobs', 'sha256')).sort();
const hex = (b: Buffer | StoredManifest) => (Buffer.isBuffer(b) ? sha256(b) : b.digest).slice(7);
const names = (path: string) =>
  (JSON.parse(readFileSync(join(path, 'index.json'), 'utf8')).manifests as { annotations?: Record<string, string> }[]).map(
    (d) => d.annotations?.['org.opencontainers.image.ref.name'],
  );
async function del(ref: string): Promise<string> {
  const t = openTransport(ref);
  if (!canDelete(t)) throw new Error('oci: cannot delete');
  return t.deleteManifest();
}
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof ImgError ? e.code : String(e)),
  );

describe('oci: delete', () => {
  it('removes the entry and the blobs no other entry uses; a blob another image uses stays', async () => {
    const L = layoutPath();
    const a = image('a', 'shared layer', 'a only');
    const b = image('b', 'shared layer');
    await put(L, 'a', a.m, [], a.blobs);
    await put(L, 'b', b.m, [], b.blobs);
    expect(await del(`oci:${L}:a`)).toBe(a.m.digest);
    expect(names(L)).toEqual(['b']);
    expect(blobsIn(L)).toEqual([b.m, ...b.blobs].map(hex).sort());
    // b reads back whole
    const t = openTransport(`oci:${L}:b`);
    expect((await t.getManifest()).digest).toBe(b.m.digest);
    for (const x of b.blobs) expect(await t.statBlob(sha256(x))).toBe(x.length);
    // the last image leaves an empty layout (no lock file, no temp file)
    await del(`oci:${L}:b`);
    expect(names(L)).toEqual([]);
    expect(blobsIn(L)).toEqual([]);
    expect(readdirSync(L).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('two names of one manifest: deleting one keeps everything for the other', async () => {
    const L = layoutPath();
    const a = image('a', 'layer');
    await put(L, 'one', a.m, [], a.blobs);
    await put(L, 'two', a.m, [], a.blobs);
    const before = blobsIn(L);
    await del(`oci:${L}:one`);
    expect(names(L)).toEqual(['two']);
    expect(blobsIn(L)).toEqual(before);
  });

  it('an index by name: its children and their blobs go, but what another image (nested in an index of indexes) uses stays', async () => {
    const L = layoutPath();
    const c1 = image('c1', 'common', 'c1 only');
    const c2 = image('c2', 'c2 only');
    const idx = index(c1.m, c2.m);
    await put(L, 'multi', idx, [c1, c2]);
    // another image: an index of an index whose child shares "common"
    const o = image('o', 'common');
    const inner = index(o.m);
    const outer = index(inner);
    const t = openTransport(`oci:${L}:nested`);
    await putBlobs(t, o.blobs);
    await t.putManifest(o.m, { child: true });
    await t.putManifest(inner, { child: true });
    await t.putManifest(outer);
    await del(`oci:${L}:multi`);
    expect(names(L)).toEqual(['nested']);
    expect(blobsIn(L)).toEqual([outer, inner, o.m, ...o.blobs].map(hex).sort());
    // and the nested one, deleted, takes everything with it
    await del(`oci:${L}:nested`);
    expect(blobsIn(L)).toEqual([]);
  });

  it('@N deletes that entry; a name that is not there, @N past the end and an unnamed pick among several are refused, nothing touched', async () => {
    const L = layoutPath();
    const a = image('a', 'a');
    const b = image('b', 'b');
    await put(L, 'a', a.m, [], a.blobs);
    await put(L, 'b', b.m, [], b.blobs);
    const before = { index: readFileSync(join(L, 'index.json'), 'utf8'), blobs: blobsIn(L) };
    expect(await codeOf(del(`oci:${L}:nope`))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(del(`oci:${L}:@2`))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(del(`oci:${L}`))).toBe('NAME_AMBIGUOUS');
    expect(await codeOf(del(`oci:${join(work, 'no-layout')}:x`))).toBe('MANIFEST_UNKNOWN');
    expect(existsSync(join(work, 'no-layout'))).toBe(false);
    expect({ index: readFileSync(join(L, 'index.json'), 'utf8'), blobs: blobsIn(L) }).toEqual(before);
    expect(await del(`oci:${L}:@0`)).toBe(a.m.digest);
    expect(names(L)).toEqual(['b']);
  });

  it('another entry whose manifest cannot be read as one: nothing is deleted (what it uses cannot be told); one that is missing counts as itself', async () => {
    const L = layoutPath();
    const a = image('a', 'layer');
    await put(L, 'a', a.m, [], a.blobs);
    await put(L, 'b', image('b', 'layer').m, [], image('b', 'layer').blobs);
    const bDigest = image('b', 'layer').m.digest;
    // b's manifest blob replaced by something that is no manifest (its name in index.json stays)
    writeFileSync(join(L, 'blobs', 'sha256', bDigest.slice(7)), 'not a manifest');
    const before = { index: readFileSync(join(L, 'index.json'), 'utf8'), blobs: blobsIn(L) };
    const e = await del(`oci:${L}:a`).catch((x: unknown) => x as ImgError);
    expect(e).toBeInstanceOf(ImgError);
    expect((e as ImgError).message).toMatch(new RegExp(`cannot tell which blobs oci:${L}:b uses`));
    expect({ index: readFileSync(join(L, 'index.json'), 'utf8'), blobs: blobsIn(L) }).toEqual(before);
    // gone altogether, b's manifest can hold nothing: a goes with its blobs, b's name stays (as broken as it was)
    const { rmSync } = await import('node:fs');
    rmSync(join(L, 'blobs', 'sha256', bDigest.slice(7)));
    await del(`oci:${L}:a`);
    expect(names(L)).toEqual(['b']);
    expect(blobsIn(L)).toEqual([hex(image('b', 'layer').blobs[0]!)]);
  });

  it('a put that lost a blob to a delete since its blobs were checked is refused, and gets no name', async () => {
    const L = layoutPath();
    const a = image('a', 'shared layer');
    await put(L, 'a', a.m, [], a.blobs);
    // b is an index whose child shares a's layer: its blobs and child are in, its name not yet
    const c = image('c', 'shared layer');
    const idx = index(c.m);
    const t = openTransport(`oci:${L}:b`);
    await putBlobs(t, c.blobs);
    await t.putManifest(c.m, { child: true });
    // deleting a now takes the shared layer: no entry of index.json uses it
    await del(`oci:${L}:a`);
    expect(existsSync(join(L, 'blobs', 'sha256', hex(blob('shared layer'))))).toBe(false);
    const e = await t.putManifest(idx).catch((x: unknown) => x as ImgError);
    expect(e).toBeInstanceOf(ImgError);
    expect((e as ImgError).code).toBe('MANIFEST_BLOB_UNKNOWN');
    expect((e as ImgError).message).toContain(sha256(blob('shared layer')));
    expect(names(L)).toEqual([]);
  });
});
