// Issue 15, item 7, the smaller ones end to end: a manifest with a UTF-8 byte order mark is refused
// at get, naming it; a 401 that follows a redirect names the host that sent it; a blob that is a FIFO
// or /dev/zero is called what it is; and a batch img-blob-put writing many records into a slow pipe
// prints no MaxListenersExceededWarning. (The stale oci: lock is in test/unit/lock.test.ts, the record
// writer's listeners in test/unit/bounds.test.ts.)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeDirImage, type DirImage } from '../helpers/fixtures.js';
import { startHostile, type Hostile } from '../helpers/hostile.js';
import { img as imgRaw, records, sh as shRaw, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-bounds-small-');
const box = sandbox(work);
const T = ['--tls-verify=false'];
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, box.env);
const servers: Hostile[] = [];
const started = async (h: Promise<Hostile>) => {
  const x = await h;
  servers.push(x);
  return x;
};
afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('a manifest that starts with a UTF-8 byte order mark', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  let image: DirImage;
  let reg: Hostile;
  beforeAll(async () => {
    image = writeDirImage(join(work, 'plain'));
    const raw = Buffer.concat([BOM, image.manifest]);
    writeDirImage(join(work, 'bom'), { raw });
    reg = await started(
      startHostile((req, res) => {
        if (req.url === '/v2/') return;
        res.writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'content-length': String(raw.length),
          'docker-content-digest': sha256(raw),
        });
        res.end(req.method === 'HEAD' ? undefined : raw);
      }),
    );
  });

  it('is refused at get, naming it and the mark: from a registry and from dir:', async () => {
    for (const ref of [`docker://${reg.host}/bom:1`, `dir:${join(work, 'bom')}`]) {
      const r = await img('img-manifest', ['get', ...T, ref]);
      expect(r.status, ref).toBe(1);
      const [rec] = records(r.stdout);
      expect(rec!.error).toMatchObject({ code: 'MANIFEST_INVALID', stage: 'img-manifest get' });
      expect(rec!.error.message).toMatch(
        new RegExp(
          `^fetching manifest ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: manifest .* starts with a UTF-8 byte order mark \\(EF BB BF\\), which is not JSON$`,
        ),
      );
    }
  });
});

describe('a 401 after a redirect', () => {
  it('names the host that answered it, not the registry', async () => {
    const other = await started(
      startHostile((req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="https://elsewhere.example/token"', 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"who are you"}]}');
        return req.url === '/v2/';
      }),
    );
    const reg = await started(
      startHostile((req, res) => {
        if (req.url === '/v2/') return;
        res.writeHead(307, { location: `${other.url}${req.url}`, 'content-length': '0' });
        res.end();
      }),
    );
    const r = await img('img-blob-get', [...T, `docker://${reg.host}/app@${sha256('x')}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`: authentication to ${other.host} failed (who are you)`);
    expect(r.stderr).not.toContain(`authentication to ${reg.host}`);
  });
});

describe('a blob that is not a regular file is called what it is', () => {
  let image: DirImage;
  const dir = join(work, 'odd');
  const layout = join(work, 'odd-layout');
  beforeAll(async () => {
    image = writeDirImage(dir, { seed: 'odd' });
    // the same image in an oci: layout, by imgpipe (its layer kept uncompressed, with the same digest)
    const r = await img('img-copy', ['--dest-oci-accept-uncompressed-layers', `dir:${dir}`, `oci:${layout}:x`]);
    if (r.status !== 0) throw new Error(r.stderr);
  });

  it('a FIFO in dir: and in oci:', async () => {
    const digest = sha256(image.layer);
    const paths = [join(dir, digest.slice(7)), join(layout, 'blobs', 'sha256', digest.slice(7))];
    for (const p of paths) {
      rmSync(p);
      execFileSync('mkfifo', [p]);
    }
    for (const [ref, p] of [
      [`dir:${dir}`, paths[0]!],
      [`oci:${layout}:x`, paths[1]!],
    ] as const) {
      const r = await img('img-blob-get', [`${ref}@${digest}`]);
      expect(r.status, ref).toBe(1);
      expect(r.stderr.trim()).toBe(`img-blob-get: fetching blob ${ref}@${digest}: blob ${digest} at ${p} is a FIFO (named pipe), not a regular file`);
    }
    // a copy says so too, rather than "not found"
    const c = await img('img-copy', [`dir:${dir}`, `oci:${join(work, 'odd-copy')}:x`]);
    expect(c.status).toBe(1);
    expect(c.stderr).toContain(`at ${paths[0]} is a FIFO (named pipe), not a regular file`);
    expect(c.stderr).not.toMatch(/not found/);
  });

  it('/dev/zero (a symlink to it) in dir:', async () => {
    const digest = sha256(image.config);
    const p = join(dir, digest.slice(7));
    rmSync(p);
    symlinkSync('/dev/zero', p);
    const r = await img('img-blob-get', [`dir:${dir}@${digest}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `img-blob-get: fetching blob dir:${dir}@${digest}: blob ${digest} at ${p} (/dev/zero) is a character device, not a regular file`,
    );
  });

  it('a manifest.json that is a FIFO is not "no manifest"', async () => {
    const d = join(work, 'fifo-manifest');
    writeDirImage(d, { seed: 'm' });
    rmSync(join(d, 'manifest.json'));
    execFileSync('mkfifo', [join(d, 'manifest.json')]);
    const r = await img('img-manifest', ['get', `dir:${d}`]);
    expect(r.status).toBe(1);
    expect(records(r.stdout)[0]!.error.message).toMatch(/the manifest at .*manifest\.json is a FIFO \(named pipe\), not a regular file$/);
  });
});

describe('a batch img-blob-put writing many records into a slow pipe', () => {
  it('prints no MaxListenersExceededWarning', async () => {
    const src = join(work, 'many-src');
    writeDirImage(src, { seed: 'many' });
    const rec = records((await img('img-manifest', ['get', `dir:${src}`])).stdout)[0]!;
    // 300 records of 1 KB and more: several times what a pipe holds, written as they finish
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ ...rec, dest: `oci:${join(work, 'many-dest')}:t${i}`, pad: 'p'.repeat(1024) })).join(
      '\n',
    );
    const input = join(work, 'many.ndjson');
    writeFileSync(input, `${lines}\n`);
    mkdirSync(join(work, 'many-dest'), { recursive: true });
    const r = await shRaw(`img-blob-put --jobs 32 < '${input}' | { sleep 2; wc -l; }`, box.env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('300');
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
  });
});
