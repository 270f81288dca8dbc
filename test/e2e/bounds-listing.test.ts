// Issue 15, item 2: tag and catalog listings are capped. A registry of the test's own answers every
// page with a Link to one more, forever: pages of 1.1 MB of short tags, of long tags, of 14 MiB (with
// and without Content-Length) and of one tag each. Each listing ends with one line naming the
// registry and the cap, and the process's peak RSS (VmHWM, polled) stays under 200 MiB.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measure, startHostile, type Hostile } from '../helpers/hostile.js';
import { BIN, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-bounds-listing-');
const box = sandbox(work);
const MiB = 1024 * 1024;
const LIMIT_KIB = 200 * 1024;

/** page makes a page body of `field` names of `len` characters, about `bytes` long, different on each page. */
function page(field: string, n: number, bytes: number, len: number): Buffer {
  const names: string[] = [];
  let size = 16;
  for (let i = 0; size < bytes; i++) {
    const name = `p${n}-${i}-`.padEnd(len, 'x');
    names.push(name);
    size += name.length + 3;
  }
  return Buffer.from(JSON.stringify({ name: 'app', [field]: names }));
}

let reg: Hostile;
/** what the catalog's pages are like (set by each catalog case) */
let catalog = 'short';
beforeAll(async () => {
  reg = await startHostile((req, res) => {
    const u = new URL(req.url!, 'http://x');
    if (u.pathname === '/v2/') return;
    const kind = u.pathname.split('/')[2]!; // /v2/KIND/tags/list, or /v2/_catalog?kind=KIND
    const n = Number(u.searchParams.get('page') ?? '0');
    const field = u.pathname === '/v2/_catalog' ? 'repositories' : 'tags';
    const shape = field === 'repositories' ? catalog : kind;
    const next = `<${u.pathname}?${new URLSearchParams({ page: String(n + 1) })}>; rel="next"`;
    const headers: Record<string, string> = { 'content-type': 'application/json', link: next };
    if (shape === 'huge' || shape === 'hugechunked') {
      // 14 MiB, sent as it is made
      const chunk = Buffer.from(`"${'h'.repeat(1000)}",`.repeat(1000));
      if (shape === 'huge') headers['content-length'] = String(14 * MiB);
      res.writeHead(200, headers);
      res.write(`{"${field}":[`);
      let sent = 0;
      const pump = () => {
        while (!res.destroyed && sent < 14 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end('"h"]}');
      };
      pump();
      return;
    }
    const body = shape === 'tiny' ? page(field, n, 1, 8) : shape === 'long' ? page(field, n, 1.1 * MiB, 128) : page(field, n, 1.1 * MiB, 8);
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
  });
});
afterAll(() => reg?.stop());

const tags = (args: string[]) => measure(join(BIN, 'img-tags'), [...args, '--tls-verify=false'], box.env);

describe('endless Link pages of any size end with one clear line, under 200 MiB of RSS', () => {
  const cases: [string, string[], RegExp, string?][] = [
    [
      '1.1 MB pages of short tags: the cap on names',
      [`docker://HOST/short`],
      /listing tags of docker:\/\/HOST\/short: HOST sent more than 500000 tags, the cap of a listing/,
    ],
    [
      '1.1 MB pages of long tags: the cap on all pages together',
      [`docker://HOST/long`],
      /HOST sent more than 16777216 bytes of tags pages, the cap of a whole listing/,
    ],
    [
      'a 14 MiB page with its Content-Length: refused before it is read',
      [`docker://HOST/huge`],
      /HOST sent a page of tags of 14680064 bytes, over the 4194304-byte cap of a page/,
    ],
    ['a 14 MiB page without Content-Length: refused at the cap', [`docker://HOST/hugechunked`], /HOST sent a page of tags over the 4194304-byte cap of a page/],
    ['pages of one tag each: the cap on pages', [`docker://HOST/tiny`], /HOST sent more than 10000 pages of tags/],
    [
      'a catalog of 1.1 MB pages: the cap on names',
      ['--catalog', 'docker://HOST'],
      /listing repositories of docker:\/\/HOST: HOST sent more than 500000 repositories, the cap of a listing/,
      'short',
    ],
    [
      'a catalog --json of 14 MiB pages',
      ['--catalog', '--json', 'docker://HOST'],
      /HOST sent a page of repositories over the 4194304-byte cap of a page/,
      'hugechunked',
    ],
  ];
  for (const [name, args, re, shape] of cases) {
    it(name, async () => {
      if (shape !== undefined) catalog = shape;
      const r = await tags(args.map((x) => x.replace('HOST', reg.host)));
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^img-tags: .*${re.source.replace(/HOST/g, reg.host.replace(/\./g, '\\.'))}`));
      process.stderr.write(`${name}: peak RSS ${r.peakKiB} KiB\n`);
      expect(r.peakKiB, `peak RSS ${r.peakKiB} KiB`).toBeGreaterThan(0);
      expect(r.peakKiB, `peak RSS ${r.peakKiB} KiB`).toBeLessThan(LIMIT_KIB);
    }, 240_000);
  }
});
