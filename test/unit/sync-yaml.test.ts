import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import { ImgError } from '../../lib/errors.js';
import { expandSource, parseSyncYaml, readSyncYaml, type SyncSource } from '../../lib/sync/yaml.js';

const D1 = 'sha256:0000000000000000000000000000000011111111111111111111111111111111';
const D2 = 'sha512:' + 'ab'.repeat(64);
const SECRET = 'hunter2-S3cr3t-value';

const parseErr = (text: string, file = 'sync.yml') => caught(() => parseSyncYaml(text, file));

// The example of skopeo's docs/skopeo-sync.1.md, verbatim.
const SKOPEO_EXAMPLE = `registry.example.com:
    images:
        busybox: []
        redis:
            - "1.0"
            - "2.0"
            - "sha256:0000000000000000000000000000000011111111111111111111111111111111"
    images-by-tag-regex:
        nginx: ^1\\.13\\.[12]-alpine-perl$
    images-by-semver:
        alpine: ">= 3.12.0"
    credentials:
        username: john
        password: this is a secret
    tls-verify: true
    cert-dir: /home/john/certs
quay.io:
    tls-verify: false
    images:
        coreos/etcd:
            - latest
`;

describe('parseSyncYaml', () => {
  it('reads the example of skopeo-sync(1)', () => {
    const opts = { tlsVerify: true, certDir: '/home/john/certs', credentials: { username: 'john', password: 'this is a secret' } };
    expect(parseSyncYaml(SKOPEO_EXAMPLE, 'sync.yml')).toEqual<SyncSource[]>([
      { key: 'registry.example.com', registry: 'registry.example.com', repository: 'busybox', selection: { kind: 'all' }, ...opts },
      {
        key: 'registry.example.com',
        registry: 'registry.example.com',
        repository: 'redis',
        selection: { kind: 'tags', tags: ['1.0', '2.0'], digests: [D1] },
        ...opts,
      },
      {
        key: 'registry.example.com',
        registry: 'registry.example.com',
        repository: 'nginx',
        selection: { kind: 'regex', pattern: '^1\\.13\\.[12]-alpine-perl$' },
        ...opts,
      },
      { key: 'registry.example.com', registry: 'registry.example.com', repository: 'alpine', selection: { kind: 'semver', constraint: '>= 3.12.0' }, ...opts },
      { key: 'quay.io', registry: 'quay.io', repository: 'coreos/etcd', selection: { kind: 'tags', tags: ['latest'], digests: [] }, tlsVerify: false },
    ]);
  });

  it('keeps the source text of unquoted scalars: 1.0 is the tag "1.0", 1.10 is not 1.1', () => {
    const [s] = parseSyncYaml('r.io:\n  images:\n    app: [1.0, 1.10, 010, 1e3, 0x1F, true, 1_000]\n', 'f');
    expect(s!.selection).toEqual({ kind: 'tags', tags: ['1.0', '1.10', '010', '1e3', '0x1F', 'true', '1_000'], digests: [] });
  });

  it('orders sections as skopeo does (images, regex, semver) whatever the key order, repositories in file order', () => {
    const text = 'r.io:\n  images-by-semver:\n    z: "1"\n  images-by-tag-regex:\n    y: a\n  images:\n    b: []\n    a: []\nq.io:\n  images:\n    c: [x]\n';
    expect(parseSyncYaml(text, 'f').map((s) => `${s.registry}/${s.repository}:${s.selection.kind}`)).toEqual([
      'r.io/b:all',
      'r.io/a:all',
      'r.io/y:regex',
      'r.io/z:semver',
      'q.io/c:tags',
    ]);
  });

  it('takes all tags for [] and for a repository with no value; one repository may be in several sections', () => {
    const out = parseSyncYaml('r.io:\n  images:\n    a:\n    b: []\n    c: ~\n  images-by-tag-regex:\n    a: ^v\n', 'f');
    expect(out.map((s) => [s.repository, s.selection.kind])).toEqual([
      ['a', 'all'],
      ['b', 'all'],
      ['c', 'all'],
      ['a', 'regex'],
    ]);
  });

  it('normalises registries and repositories: ports, path prefixes, Docker Hub', () => {
    const text = [
      'localhost:5000:\n  images:\n    team/app: [v1]',
      'quay.io/org:\n  images:\n    app: [v1]',
      'docker.io:\n  images:\n    busybox: [latest]',
      'index.docker.io:\n  images:\n    nginx: [latest]',
      '"[::1]:5000":\n  images:\n    a: []',
    ].join('\n');
    expect(parseSyncYaml(text, 'f').map((s) => `${s.registry} ${s.repository}`)).toEqual([
      'localhost:5000 team/app',
      'quay.io org/app',
      'docker.io library/busybox',
      'docker.io library/nginx',
      '[::1]:5000 a',
    ]);
  });

  it('keeps tags then digests, each once', () => {
    const [s] = parseSyncYaml(`r.io:\n  images:\n    app: [${D2}, a, "${D1}", b, a, ${D2}]\n`, 'f');
    expect(s!.selection).toEqual({ kind: 'tags', tags: ['a', 'b'], digests: [D2, D1] });
  });

  it('reads tls-verify as yaml.v3 reads a bool', () => {
    const tls = (v: string) => parseSyncYaml(`r.io:\n  tls-verify: ${v}\n  images:\n    a: []\n`, 'f')[0]!.tlsVerify;
    for (const v of ['true', 'True', 'TRUE', 'yes', 'on', 'Y', '"yes"']) expect(tls(v)).toBe(true);
    for (const v of ['false', 'False', 'no', 'off', 'N', "'off'"]) expect(tls(v)).toBe(false);
    expect(parseSyncYaml('r.io:\n  images:\n    a: []\n', 'f')[0]!.tlsVerify).toBeUndefined();
    const e = parseErr('r.io:\n  tls-verify: maybe\n  images:\n    a: []\n');
    expect(e.message).toBe('r.io.tls-verify in sync.yml at line 2, column 15: expected true or false, not "maybe"');
  });

  it('follows anchors, aliases and << merges (explicit keys win)', () => {
    const text = `
base: &base
  tls-verify: false
  cert-dir: /certs
  images:
    shared: [v1]
r.io:
  <<: *base
  tls-verify: true
x.io:
  images:
    t: &tags [a, b]
q.io:
  <<: [*base]
  images:
    own: *tags
`.replace(/^base:/m, 'base.io:');
    const out = parseSyncYaml(text, 'f');
    expect(out.map((s) => `${s.registry}/${s.repository} ${s.tlsVerify} ${s.certDir} ${JSON.stringify(s.selection)}`)).toEqual([
      'base.io/shared false /certs {"kind":"tags","tags":["v1"],"digests":[]}',
      'r.io/shared true /certs {"kind":"tags","tags":["v1"],"digests":[]}',
      'x.io/t undefined undefined {"kind":"tags","tags":["a","b"],"digests":[]}',
      'q.io/own false /certs {"kind":"tags","tags":["a","b"],"digests":[]}',
    ]);
  });

  it('a merged key that is also explicit is read once, with the explicit value', () => {
    const text = 'r.io:\n  images:\n    <<: [{shared: [v1], a: []}, {shared: [v0], b: []}]\n    shared: [v2]\n';
    expect(parseSyncYaml(text, 'f').map((s) => `${s.repository} ${JSON.stringify(s.selection)}`)).toEqual([
      'a {"kind":"all"}',
      'b {"kind":"all"}',
      'shared {"kind":"tags","tags":["v2"],"digests":[]}',
    ]);
  });

  it('returns nothing for an empty file or one with comments only', () => {
    expect(parseSyncYaml('', 'f')).toEqual([]);
    expect(parseSyncYaml('# nothing yet\n', 'f')).toEqual([]);
  });

  describe('refuses, naming what and where', () => {
    it('unknown keys in a registry and in credentials', () => {
      const e = parseErr('quay.io:\n  images:\n    a: []\n  tls_verify: false\n');
      expect(e.code).toBe('USAGE');
      expect(e.message).toBe(
        'unknown key "tls_verify" in registry "quay.io" of sync.yml (expected one of images, images-by-tag-regex, images-by-semver, credentials, tls-verify, cert-dir) at line 4, column 3',
      );
      expect(parseErr('quay.io:\n  image:\n    a: []\n').message).toContain('unknown key "image" in registry "quay.io" of sync.yml');
      expect(parseErr('quay.io:\n  Images:\n    a: []\n').message).toContain('unknown key "Images"');
      const c = parseErr(`quay.io:\n  images: {a: []}\n  credentials:\n    username: u\n    password: ${SECRET}\n    identitytoken: tok\n`);
      expect(c.message).toBe(
        'unknown key "identitytoken" in the credentials of registry "quay.io" of sync.yml (expected one of username, password) at line 6, column 5',
      );
    });

    it('wrong types, by YAML path', () => {
      const cases: [string, string][] = [
        ['quay.io:\n  images:\n    app: [a, b, {x: 1}]\n', 'quay.io.images.app[2] in sync.yml at line 3, column 17: expected a tag or a digest, not a mapping'],
        ['quay.io:\n  images:\n    app: [a, ~]\n', 'quay.io.images.app[1] in sync.yml at line 3, column 5: expected a tag or a digest, not null'],
        [
          'quay.io:\n  images:\n    app: latest\n',
          'quay.io.images.app in sync.yml at line 3, column 10: expected a list of tags and digests (or [] for all tags), not a string',
        ],
        ['quay.io:\n  images: [app]\n', 'quay.io.images in sync.yml at line 2, column 11: expected a mapping, not a list'],
        [
          'quay.io:\n  images-by-tag-regex:\n    app: [a]\n',
          'quay.io.images-by-tag-regex.app in sync.yml at line 3, column 10: expected a regular expression, not a list',
        ],
        ['quay.io:\n  images-by-semver:\n    app:\n', 'quay.io.images-by-semver.app in sync.yml at line 3, column 5: expected a semver constraint, not null'],
        ['quay.io:\n  images: {a: []}\n  cert-dir: [x]\n', 'quay.io.cert-dir in sync.yml at line 3, column 13: expected a directory path, not a list'],
        ['quay.io: [a]\n', 'quay.io in sync.yml at line 1, column 10: expected a mapping, not a list'],
        ['- quay.io\n', 'the top level in sync.yml at line 1, column 1: expected a mapping of registries, not a list'],
        ['quay.io:\n  images:\n    ? [a]\n    : []\n', 'quay.io.images in sync.yml at line 3, column 7: keys must be strings, not a list'],
        ['quay.io:\n  images:\n    a: !!int 5\n', 'quay.io.images.a in sync.yml at line 3, column 14: the YAML tag !!int is not supported here'],
      ];
      for (const [text, msg] of cases) {
        const e = parseErr(text);
        expect(e.code).toBe('USAGE');
        expect(e.message).toBe(msg);
      }
    });

    it('bad repositories, tags and digests, with the code of lib/ref', () => {
      const e1 = parseErr('quay.io:\n  images:\n    App: []\n');
      expect(e1.code).toBe('REF_INVALID');
      expect(e1.message).toBe('quay.io.images.App in sync.yml at line 3, column 5: invalid reference "quay.io/App": repository name "App" must be lowercase');
      const e2 = parseErr('quay.io:\n  images:\n    app: [ok, "-bad"]\n');
      expect(e2.code).toBe('REF_INVALID');
      expect(e2.message).toMatch(/^quay\.io\.images\.app\[1\] in sync\.yml at line 3, column 15: invalid reference "quay\.io\/app:-bad": invalid tag "-bad"/);
      const e3 = parseErr('quay.io:\n  images:\n    app: ["sha256:abc"]\n');
      expect(e3.code).toBe('DIGEST_INVALID');
      expect(e3.message).toMatch(/^quay\.io\.images\.app\[0\] in sync\.yml at line 3, column 11: invalid digest "sha256:abc"/);
      expect(parseErr(`quay.io:\n  images:\n    app: ["sha384:${'a'.repeat(96)}"]\n`).message).toContain('unsupported algorithm "sha384"');
      expect(parseErr('quay.io:\n  images:\n    app: [""]\n').message).toContain('quay.io.images.app[0]');
      const e4 = parseErr('quay.io:\n  images:\n    app:v1: []\n');
      expect(e4.message).toBe(
        'quay.io.images.app:v1 in sync.yml at line 3, column 5: "quay.io/app:v1" names an image, not a repository: list tags and digests under it instead',
      );
      expect(parseErr(`quay.io:\n  images-by-semver:\n    app@${D1}: "1"\n`).message).toContain('names an image, not a repository');
      expect(parseErr('quay.io:\n  images-by-tag-regex:\n    a//b: x\n').code).toBe('REF_INVALID');
    });

    it('bad regexes and constraints, at parse time', () => {
      const e1 = parseErr('quay.io:\n  images-by-tag-regex:\n    app: "(a)\\\\1"\n');
      expect(e1.code).toBe('USAGE');
      expect(e1.message).toBe(
        'quay.io.images-by-tag-regex.app in sync.yml at line 3, column 10: invalid tag regex "(a)\\\\1": backreferences and octal escapes ("\\1") are not supported',
      );
      const e2 = parseErr('quay.io:\n  images-by-semver:\n    app: ">= three"\n');
      expect(e2.message).toBe(
        'quay.io.images-by-semver.app in sync.yml at line 3, column 10: invalid semver constraint ">= three": improper constraint: ">= three"',
      );
    });

    it('registry keys that are not registry hosts, and registries with no images', () => {
      expect(parseErr('myhost:\n  images:\n    app: []\n').message).toMatch(/^myhost in sync\.yml at line 1, column 1: "myhost" is not a registry host/);
      expect(parseErr('team/app:\n  images:\n    x: []\n').message).toContain('"team/app" is not a registry host');
      expect(parseErr('quay.io:\n').message).toBe(
        'quay.io in sync.yml at line 1, column 1: lists no images: give images, images-by-tag-regex or images-by-semver',
      );
      expect(parseErr('quay.io:\n  tls-verify: false\n').message).toContain('quay.io in sync.yml at line 1, column 1: lists no images');
      expect(parseErr('quay.io:\n  images: {}\n  images-by-semver:\n').message).toContain('lists no images');
    });

    it('YAML syntax errors with file, line and column', () => {
      expect(parseErr('quay.io:\n  images:\n    a: []\n    a: [x]\n').message).toBe('sync.yml at line 4, column 5: invalid YAML: Map keys must be unique');
      expect(parseErr('quay.io:\n  images: [a, b\nq.io: 1\n').message).toMatch(/^sync\.yml at line 3, column 1: invalid YAML: /);
      expect(parseErr('quay.io:\n\t images: {}\n').message).toMatch(/^sync\.yml at line 2, column 1: invalid YAML: Tabs are not allowed/);
      expect(parseErr('a.io:\n  images: {a: []}\n---\nb.io:\n  images: {b: []}\n').message).toMatch(/^sync\.yml at line 3, column 1: invalid YAML: /);
      expect(parseErr('a.io:\n  images:\n    a: *nope\n').message).toBe('a.io.images.a in sync.yml at line 3, column 8: unknown alias "*nope"');
    });
  });

  describe('credentials', () => {
    const creds = (body: string) => `quay.io:\n  images: {a: []}\n  credentials:\n${body}`;

    it('reads username and password, a number-looking password kept as written', () => {
      expect(parseSyncYaml(creds('    username: u\n    password: 007\n'), 'f')[0]!.credentials).toEqual({ username: 'u', password: '007' });
      expect(parseSyncYaml(creds(`    username: u\n    password: "${SECRET}"\n`), 'f')[0]!.credentials).toEqual({ username: 'u', password: SECRET });
    });

    it('no error message holds the password', () => {
      const texts = [
        creds(`    username: u\n    password: [${SECRET}]\n`),
        creds(`    username: u\n    password: {${SECRET}: 1}\n`),
        creds(`    username: u\n    password: ${SECRET}\n    pasword: ${SECRET}\n`),
        creds(`    password: ${SECRET}\n`),
        creds(`    username: ""\n    password: ${SECRET}\n`),
        creds(`    username: u\n    password: "${SECRET}\\q"\n`), // bad escape in a double-quoted string
        creds(`    username: u\n    password: "${SECRET}\n`), // unterminated quote
        creds(`    username: u\n    password: |${SECRET}\n      x\n`), // bad block scalar header
        creds(`    username: u\n    password: !${SECRET} x\n`), // unknown tag
        creds(`    username: u\n    password: ${SECRET}\n    password: ${SECRET}\n`),
        creds(`    username: u\n    password: ${SECRET}: x\n`),
        `quay.io:\n  images: {a: []}\n  credentials: ${SECRET}\n`,
        `quay.io:\n  images: {a: []}\n  credentials:\n    username: u\n    password: ${SECRET}\n  bogus: 1\n`,
      ];
      for (const t of texts) {
        const e = parseErr(t);
        expect(e.message).not.toContain(SECRET);
        expect(e.message).not.toContain('hunter2');
        expect(e.message).toMatch(/sync\.yml/);
      }
      expect(parseErr(texts[0]!).message).toBe('quay.io.credentials.password in sync.yml at line 5, column 15: expected a string, not a list');
      expect(parseErr(texts[3]!).message).toBe('quay.io.credentials in sync.yml at line 4, column 5: missing username');
    });
  });

  it('readSyncYaml reads a file and names it in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgpipe-sync-'));
    const good = join(dir, 'sync.yml');
    writeFileSync(good, SKOPEO_EXAMPLE);
    expect(await readSyncYaml(good)).toHaveLength(5);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'quay.io:\n  tlsverify: no\n');
    await expect(readSyncYaml(bad)).rejects.toThrow(`unknown key "tlsverify" in registry "quay.io" of ${bad}`);
    await expect(readSyncYaml(join(dir, 'missing.yml'))).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('no such file or directory') });
  });
});

describe('expandSource', () => {
  const registryTags: Record<string, string[]> = {
    'registry.example.com/busybox': ['latest', '1.36', '1-musl', 'bad tag', '1.36.1'],
    'registry.example.com/nginx': ['1.13.1-alpine-perl', 'latest', '1.13.2-alpine-perl', '1.13.3-alpine-perl'],
    'registry.example.com/alpine': ['3.11', 'latest', '3.12.0', 'edge', '3.13.1', 'v4.0', '3.12.1-rc1', '20240101'],
  };
  const calls: string[] = [];
  const listTags = async (registry: string, repository: string) => {
    calls.push(`${registry}/${repository}`);
    const tags = registryTags[`${registry}/${repository}`];
    if (!tags) throw new ImgError('NAME_UNKNOWN', `repository ${registry}/${repository} not found`);
    return tags;
  };

  it('expands the skopeo-sync(1) example in skopeo order', async () => {
    calls.length = 0;
    const sources = parseSyncYaml(SKOPEO_EXAMPLE, 'sync.yml').slice(0, 4);
    const out = await Promise.all(sources.map((s) => expandSource(s, listTags)));
    expect(out).toEqual([
      ['latest', '1.36', '1-musl', '1.36.1'].map((t) => `docker://registry.example.com/busybox:${t}`),
      ['docker://registry.example.com/redis:1.0', 'docker://registry.example.com/redis:2.0', `docker://registry.example.com/redis@${D1}`],
      ['docker://registry.example.com/nginx:1.13.1-alpine-perl', 'docker://registry.example.com/nginx:1.13.2-alpine-perl'],
      [
        'docker://registry.example.com/alpine:3.12.0',
        'docker://registry.example.com/alpine:3.13.1',
        'docker://registry.example.com/alpine:v4.0',
        'docker://registry.example.com/alpine:20240101',
      ],
    ]);
    // a tags selection needs no tag list
    expect(calls).toEqual(['registry.example.com/busybox', 'registry.example.com/nginx', 'registry.example.com/alpine']);
  });

  it('writes Docker Hub and port references in canonical form', async () => {
    const [hub, local] = parseSyncYaml('docker.io:\n  images:\n    busybox: [musl]\nlocalhost:5000:\n  images:\n    a/b: ["' + D2 + '"]\n', 'f');
    expect(await expandSource(hub!, listTags)).toEqual(['docker://docker.io/library/busybox:musl']);
    expect(await expandSource(local!, listTags)).toEqual([`docker://localhost:5000/a/b@${D2}`]);
  });

  it('passes listTags errors through and checks hand-made sources', async () => {
    const src: SyncSource = { key: 'quay.io', registry: 'quay.io', repository: 'nope', selection: { kind: 'all' } };
    await expect(expandSource(src, listTags)).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    await expect(expandSource({ ...src, repository: 'Bad' }, listTags)).rejects.toMatchObject({ code: 'REF_INVALID' });
    await expect(expandSource({ ...src, registry: 'index.docker.io', repository: 'library/x' }, listTags)).rejects.toThrow(
      'expected a normalised registry and repository',
    );
    await expect(expandSource({ ...src, selection: { kind: 'regex', pattern: '(?=x)' } }, listTags)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(expandSource({ ...src, selection: { kind: 'semver', constraint: 'x y z' } }, listTags)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(expandSource({ ...src, selection: { kind: 'tags', tags: [], digests: ['sha256:1'] } }, listTags)).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
  });

  it('returns nothing when nothing matches', async () => {
    const src: SyncSource = {
      key: 'registry.example.com',
      registry: 'registry.example.com',
      repository: 'alpine',
      selection: { kind: 'semver', constraint: '<1' },
    };
    expect(await expandSource(src, listTags)).toEqual([]);
  });

  it('never puts credentials in a reference', async () => {
    const [src] = parseSyncYaml(SKOPEO_EXAMPLE, 'sync.yml');
    const out = await expandSource(src!, listTags);
    expect(out.join(' ')).not.toContain('secret');
    expect(out.join(' ')).not.toContain('john');
  });
});
