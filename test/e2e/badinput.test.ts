import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirImage, sha256 } from '../helpers/fixtures.js';
import { img, records, sh, tempDir, type Result } from '../helpers/run.js';

const work = tempDir();

/** oneLine asserts a user error: exactly one line on stderr, naming `mentions`, and no stack trace. */
function oneLine(r: Result, status: number, ...mentions: string[]): void {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const m of mentions) expect(r.stderr).toContain(m);
}

describe('malformed references and digests on the command line: exit 2, one line, nothing on stdout', () => {
  const cases: [string, string][] = [
    ['docker://Foo/Bar', 'must be lowercase'],
    ['docker:busybox', 'start with "docker://"'],
    ['busybox', 'no transport'],
    ['ftp://x', 'unknown transport "ftp"'],
    ['oci:', 'needs a path'],
    ['oci:/tmp/x:bad name', 'invalid image name'],
    ['docker://busybox:-tag', 'invalid tag'],
    [`docker://${'a'.repeat(64)}`, 'image ID'],
    [`docker://${'a/'.repeat(130)}b`, 'over the 255 allowed'],
    ['docker://busybox@sha256:1234', 'digest'],
    ['docker-archive:/x.tar:busybox@sha256:' + 'a'.repeat(64), 'cannot have a digest'],
  ];
  for (const [ref, why] of cases) {
    it(`${ref.slice(0, 40)} → ${why}`, async () => {
      for (const [cmd, args] of [
        ['img-ref', [ref]],
        ['img-manifest', ['get', ref]],
      ] as const) {
        const r = await img(cmd, [...args]);
        oneLine(r, 2, JSON.stringify(ref), why);
        expect(r.stdout).toBe('');
      }
    });
  }

  it('a bad blob digest', async () => {
    const r = await img('img-blob-get', ['dir:/nonexistent@sha256:ABC']);
    oneLine(r, 2, '"sha256:ABC"', 'lowercase hex');
    const r2 = await img('img-blob-get', ['dir:/x', 'md5:' + 'a'.repeat(32)]);
    oneLine(r2, 2, 'unsupported algorithm "md5"');
  });

  it('unknown flags and subcommands', async () => {
    oneLine(await img('img-manifest', ['get', '--bogus', 'dir:/x']), 2, '--bogus');
    oneLine(await img('img-manifest', ['frob']), 2, '"frob"');
    oneLine(await img('img-digest', ['--check', 'nope', '/dev/null']), 2, '"nope"');
  });
});

describe('malformed manifests: exit 1, an error record, one line naming the image and the fault', () => {
  const bad: [string, Parameters<typeof writeDirImage>[1], string, string][] = [
    ['schema1', { manifest: () => ({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }) }, 'MANIFEST_UNSUPPORTED', 'schema 1'],
    [
      'both',
      { manifest: (m) => ({ ...m, manifests: [] }) },
      'MANIFEST_INVALID',
      'is ambiguous: it has image manifest fields "config", "layers" and index field "manifests"',
    ],
    ['notjson', { raw: Buffer.from('{"schemaVersion": 2,') }, 'MANIFEST_INVALID', 'not JSON'],
    ['baddigest', { manifest: (m) => ({ ...m, config: { ...m.config, digest: 'sha256:xyz' } }) }, 'MANIFEST_INVALID', 'config'],
    ['huge', { raw: Buffer.alloc(4 * 1024 * 1024 + 1, 32) }, 'TOO_LARGE', 'over the 4194304-byte limit'],
    ['badsize', { manifest: (m) => ({ ...m, layers: [{ ...m.layers[0], size: -1 }] }) }, 'MANIFEST_INVALID', 'layer 0'],
  ];
  for (const [name, opts, code, why] of bad) {
    it(name, async () => {
      const dir = join(work, `bad-${name}`);
      writeDirImage(dir, opts);
      const r = await img('img-manifest', ['get', `dir:${dir}`]);
      oneLine(r, 1, `dir:${dir}`, why);
      const [rec] = records(r.stdout);
      expect(rec!.error.code).toBe(code);
      expect(rec!.error.stage).toBe('img-manifest get');
      expect(rec!.ref).toBe(`dir:${dir}`);
    });
  }

  it('an oci: manifest whose mediaType disagrees with its index.json entry', async () => {
    const layout = join(work, 'mismatch');
    const dir = join(work, 'mismatch-src');
    writeDirImage(dir);
    expect((await sh(`img-manifest get dir:${dir} | img-ref --to oci:${layout} | img-blob-put | img-manifest put`)).status).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    index.manifests[0].mediaType = 'application/vnd.docker.distribution.manifest.v2+json';
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    const r = await img('img-manifest', ['get', `oci:${layout}:mismatch-src`]);
    oneLine(
      r,
      1,
      `oci:${layout}:mismatch-src`,
      'declares mediaType application/vnd.oci.image.manifest.v1+json but was served as application/vnd.docker.distribution.manifest.v2+json',
    );
  });

  it('records: a bad line becomes an error record, and an error record passes on untouched', async () => {
    const good = writeDirImage(join(work, 'good'));
    const input = [
      '{not json',
      JSON.stringify({ ref: `dir:${join(work, 'good')}`, mine: 42 }),
      JSON.stringify({ ref: 'dir:/x', error: { code: 'X', message: 'earlier', stage: 'jq' } }),
    ].join('\n');
    const r = await img('img-manifest', ['get'], input);
    expect(r.status).toBe(1);
    const out = records(r.stdout);
    expect(out).toHaveLength(3);
    expect(out[0]!.error).toMatchObject({ code: 'RECORD_INVALID', stage: 'img-manifest get' });
    expect(out[0]!.error.message).toContain('stdin line 1 is not valid JSON');
    expect(out[1]).toMatchObject({ mine: 42, digest: good.digest });
    expect(out[2]).toEqual({ ref: 'dir:/x', error: { code: 'X', message: 'earlier', stage: 'jq' } });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('nothing is written and nothing is deleted', () => {
  it('a non-empty directory that is not an image is refused and left as it was', async () => {
    const src = join(work, 'src1');
    writeDirImage(src);
    for (const prefix of ['dir', 'oci']) {
      const target = join(work, `precious-${prefix}`);
      mkdirSync(target);
      writeFileSync(join(target, 'thesis.txt'), 'do not lose me');
      const dest = prefix === 'oci' ? `oci:${target}:x` : `dir:${target}`;
      const r = await sh(`img-manifest get dir:${src} | jq -c '.dest = "${dest}"' | img-blob-put | img-manifest put`);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`refusing to write into ${target}`);
      expect(readdirSync(target)).toEqual(['thesis.txt']);
      expect(readFileSync(join(target, 'thesis.txt'), 'utf8')).toBe('do not lose me');
    }
  });

  it('a manifest whose blobs are missing is refused and creates nothing', async () => {
    const src = join(work, 'src2');
    writeDirImage(src);
    for (const dest of [`dir:${join(work, 'never-dir')}`, `oci:${join(work, 'never-oci')}:x`]) {
      const r = await sh(`img-manifest get dir:${src} | img-manifest put ${dest}`);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('references blobs not stored there');
      expect(r.stderr).toContain(dest);
    }
    expect(existsSync(join(work, 'never-dir'))).toBe(false);
    expect(existsSync(join(work, 'never-oci'))).toBe(false);
  });

  it('a corrupted blob is refused at EOF: no output file, nothing stored under its digest', async () => {
    const src = join(work, 'corrupt');
    const image = writeDirImage(src);
    const layerHex = sha256(image.layer).slice(7);
    const bytes = readFileSync(join(src, layerHex));
    bytes[10] ^= 1;
    writeFileSync(join(src, layerHex), bytes);
    const out = join(work, 'layer.out');
    const r = await img('img-blob-get', [`dir:${src}@sha256:${layerHex}`, '-o', out]);
    oneLine(r, 1, `sha256:${layerHex}`, 'expected');
    expect(r.stderr).toContain('content has digest');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith('.imgpipe-tmp'))).toEqual([]);

    const layout = join(work, 'corrupt-dest');
    const c = await sh(`img-manifest get dir:${src} | img-ref --to oci:${layout} | img-blob-put | img-manifest put`);
    expect(c.status).toBe(1);
    expect(records(c.stdout)[0]!.error.code).toBe('DIGEST_MISMATCH');
    expect(existsSync(join(layout, 'blobs', 'sha256', layerHex))).toBe(false);
    expect(readdirSync(layout).filter((n) => n.startsWith('.imgpipe'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests).toEqual([]);
  });

  it('img-blob-put --digest that does not match stores nothing', async () => {
    const dest = join(work, 'put-dest');
    const r = await img('img-blob-put', [`dir:${dest}`, '--digest', sha256('something else')], 'hello');
    oneLine(r, 1, `dir:${dest}`, 'expected');
    expect(readdirSync(dest)).toEqual(['version']);
    const ok = await img('img-blob-put', [`dir:${dest}`, '--digest', sha256('hello'), '--size', '5'], 'hello');
    expect(ok.status).toBe(0);
    expect(records(ok.stdout)).toEqual([{ ref: `dir:${dest}`, digest: sha256('hello'), size: 5 }]);
    expect(readFileSync(join(dest, sha256('hello').slice(7)), 'utf8')).toBe('hello');
  });

  it('img-digest --check names the file on a mismatch', async () => {
    const f = join(work, 'm.json');
    writeFileSync(f, '{}');
    oneLine(await img('img-digest', [f, '--check', sha256('other')]), 1, f, sha256('{}'));
    const ok = await img('img-digest', [f, '--check', sha256('{}')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`${sha256('{}')}\n`);
  });
});
