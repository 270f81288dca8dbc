import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStoreSpec } from '../../lib/ref/index.js';
import { storeFlags } from '../../lib/transport/containers-storage/service.js';
import { bigDataName, layerSizes, readBigData } from '../../lib/transport/containers-storage/store.js';

const dir = mkdtempSync(join(tmpdir(), 'imgpipe-cs-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the store files containers/storage writes', () => {
  it('bigDataName names big-data items as makeBigDataBaseName does (names seen in a store skopeo 1.9.3 wrote)', () => {
    expect(bigDataName('manifest')).toBe('manifest');
    expect(bigDataName('manifest-sha256:742970825a3f8490df52600007c4cea5367e1fd20f1a64ea9446caff494f0e7a')).toBe(
      '=bWFuaWZlc3Qtc2hhMjU2Ojc0Mjk3MDgyNWEzZjg0OTBkZjUyNjAwMDA3YzRjZWE1MzY3ZTFmZDIwZjFhNjRlYTk0NDZjYWZmNDk0ZjBlN2E=',
    );
    expect(bigDataName('sha256:72a6bcf27ad093805b8510e48bb586eef547311425dafc0bcd735390a3a9ca29')).toBe(
      '=c2hhMjU2OjcyYTZiY2YyN2FkMDkzODA1Yjg1MTBlNDhiYjU4NmVlZjU0NzMxMTQyNWRhZmMwYmNkNzM1MzkwYTNhOWNhMjk=',
    );
    // Only ".", digits and lowercase letters stay as they are.
    expect(bigDataName('a.b9')).toBe('a.b9');
    expect(bigDataName('Manifest')).toBe(`=${Buffer.from('Manifest').toString('base64')}`);
    expect(bigDataName('a-b')).toBe(`=${Buffer.from('a-b').toString('base64')}`);
  });

  it('readBigData reads an item, only with the digest asked for, and gives undefined for what it cannot read', async () => {
    const loc = { graphRoot: join(dir, 'g'), driver: 'vfs' };
    const id = 'a'.repeat(64);
    const images = join(loc.graphRoot, 'vfs-images', id);
    mkdirSync(images, { recursive: true });
    writeFileSync(join(images, 'manifest'), '{"m":1}');
    writeFileSync(join(images, bigDataName(sha256('{"c":1}'))), '{"c":1}');
    expect((await readBigData(loc, id, 'manifest'))?.toString()).toBe('{"m":1}');
    expect((await readBigData(loc, id, sha256('{"c":1}'), sha256('{"c":1}')))?.toString()).toBe('{"c":1}');
    writeFileSync(join(images, bigDataName(sha256('{"c":2}'))), 'not those bytes');
    expect(await readBigData(loc, id, sha256('{"c":2}'), sha256('{"c":2}'))).toBeUndefined();
    expect(await readBigData(loc, id, 'manifest-sha256:0')).toBeUndefined();
    expect(await readBigData({ ...loc, graphRoot: join(dir, 'none') }, id, 'manifest')).toBeUndefined();
  });

  it('layerSizes reads diff sizes by diff ID from layers.json and volatile-layers.json', async () => {
    const loc = { graphRoot: join(dir, 'l'), runRoot: join(dir, 'r'), driver: 'vfs' };
    mkdirSync(join(loc.graphRoot, 'vfs-layers'), { recursive: true });
    mkdirSync(join(loc.runRoot, 'vfs-layers'), { recursive: true });
    writeFileSync(join(loc.graphRoot, 'vfs-layers', 'layers.json'), JSON.stringify([{ id: 'x', 'diff-digest': 'sha256:aa', 'diff-size': 1027 }, { id: 'y' }]));
    writeFileSync(join(loc.runRoot, 'vfs-layers', 'volatile-layers.json'), JSON.stringify([{ id: 'z', 'diff-digest': 'sha256:bb', 'diff-size': 0 }]));
    expect(await layerSizes(loc)).toEqual(
      new Map([
        ['sha256:aa', 1027],
        ['sha256:bb', 0],
      ]),
    );
    expect(await layerSizes({ graphRoot: join(dir, 'nothing'), driver: 'vfs' })).toBeUndefined();
  });
});

describe('podman flags for a store specifier', () => {
  it('gives each part of [DRIVER@GRAPHROOT+RUNROOT:OPTIONS] as podman global flags', () => {
    expect(storeFlags(parseStoreSpec('vfs@/r+/rr:a=1,b=2'))).toEqual([
      '--root',
      '/r',
      '--runroot',
      '/rr',
      '--storage-driver',
      'vfs',
      '--storage-opt',
      'a=1',
      '--storage-opt',
      'b=2',
    ]);
    expect(storeFlags(parseStoreSpec('/r'))).toEqual(['--root', '/r']);
    expect(storeFlags(parseStoreSpec('overlay@+/rr'))).toEqual(['--runroot', '/rr', '--storage-driver', 'overlay']);
  });
});
