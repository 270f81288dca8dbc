// registries.conf: which files are read, strict parsing, drop-in merging, prefix matching, the
// rewrite of a reference and its pull sources, with containers/image's sysregistriesv2 test cases
// where they apply (system_registries_v2_test.go).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDockerRef, parseDockerRef } from '../../lib/ref/docker.js';
import {
  findRegistry,
  parseRegistriesConf,
  pullSources,
  readRegistriesConf,
  refMatchingPrefix,
  registriesConfPaths,
  rewriteReference,
  SYSTEM_REGISTRIES_CONF,
  SYSTEM_REGISTRIES_CONF_D,
  type RegistriesConf,
} from '../../lib/transport/registry/registries-conf.js';
import { tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-registries-conf-');
let n = 0;
/** file writes a configuration file below the temp dir and returns its path. */
const file = (text: string, dir = work): string => {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, `f${++n}.conf`);
  writeFileSync(p, text);
  return p;
};
/** load reads one file as the only configuration (no drop-ins). */
const load = (text: string): Promise<RegistriesConf> => readRegistriesConf({ file: file(text), named: true, dirs: [] });
/** refused expects loading `text` to fail with a message matching `m`, naming the file. */
const refused = async (text: string, m: RegExp) => {
  const f = file(text);
  const e = await readRegistriesConf({ file: f, named: true, dirs: [] }).then(
    () => undefined,
    (x: Error) => x,
  );
  expect(e, `accepted:\n${text}`).toBeDefined();
  expect(e!.message).toContain(f);
  expect(e!.message).toMatch(m);
  expect(e!.message).not.toContain('\n');
};
const D = `@sha256:${'a'.repeat(64)}`;

describe('which files', () => {
  it('picks the named file, else the user file when it exists, else the system file, as newConfigWrapper does', async () => {
    const home = join(work, 'home-paths');
    const userDir = join(home, '.config/containers/registries.conf.d');
    expect(await registriesConfPaths(undefined, { HOME: home })).toEqual({
      file: SYSTEM_REGISTRIES_CONF,
      named: false,
      dirs: [SYSTEM_REGISTRIES_CONF_D, userDir],
    });
    expect(await registriesConfPaths('/x.conf', { HOME: home })).toEqual({ file: '/x.conf', named: true, dirs: [SYSTEM_REGISTRIES_CONF_D, userDir] });
    expect((await registriesConfPaths(undefined, { HOME: home, CONTAINERS_REGISTRIES_CONF: '/env.conf' })).file).toBe('/env.conf');
    expect((await registriesConfPaths(undefined, { HOME: home, REGISTRIES_CONFIG_PATH: '/old.conf' })).file).toBe('/old.conf');
    // The flag wins over the environment; an empty variable is unset.
    expect((await registriesConfPaths('/flag.conf', { HOME: home, CONTAINERS_REGISTRIES_CONF: '/env.conf' })).file).toBe('/flag.conf');
    expect((await registriesConfPaths(undefined, { HOME: home, CONTAINERS_REGISTRIES_CONF: '' })).file).toBe(SYSTEM_REGISTRIES_CONF);
    // A user file replaces the system file and the system drop-ins.
    mkdirSync(join(home, '.config/containers'), { recursive: true });
    writeFileSync(join(home, '.config/containers/registries.conf'), '');
    expect(await registriesConfPaths(undefined, { HOME: home })).toEqual({
      file: join(home, '.config/containers/registries.conf'),
      named: false,
      dirs: [userDir],
    });
    expect((await registriesConfPaths(undefined, { HOME: home, CONTAINERS_REGISTRIES_CONF: '/env.conf' })).dirs).toEqual([SYSTEM_REGISTRIES_CONF_D, userDir]);
  });

  it('treats a missing default file as empty, and a missing named one as an error', async () => {
    const none = join(work, 'none.conf');
    expect((await readRegistriesConf({ file: none, named: false, dirs: [join(work, 'no-dir')] })).registries).toEqual([]);
    await expect(readRegistriesConf({ file: none, named: true, dirs: [] })).rejects.toThrow(`invalid registries configuration ${none}: no such file`);
  });

  it("reads this machine's own configuration (Debian's default) without error", async () => {
    const conf = await readRegistriesConf({ file: SYSTEM_REGISTRIES_CONF, named: false, dirs: [SYSTEM_REGISTRIES_CONF_D] });
    if (existsSync(SYSTEM_REGISTRIES_CONF)) expect(conf.files).toContain(SYSTEM_REGISTRIES_CONF);
    expect(conf.credentialHelpers).toEqual(['containers-auth.json']);
  });

  it('merges drop-ins in order, by prefix, as updateWithConfigurationFrom does', async () => {
    const dir1 = join(work, 'd1');
    const dir2 = join(work, 'd2');
    const main = file(`
unqualified-search-registries = ["base.example"]
short-name-mode = "enforcing"
[aliases]
"app" = "base.example/app"
"gone" = "base.example/gone"
[[registry]]
location = "base.example"
[[registry]]
prefix = "over.example"
location = "first.example"
`);
    mkdirSync(dir1, { recursive: true });
    mkdirSync(dir2, { recursive: true });
    writeFileSync(join(dir1, '20-b.conf'), '[[registry]]\nprefix = "over.example"\nlocation = "third.example"\n');
    writeFileSync(join(dir1, '10-a.conf'), '[[registry]]\nprefix = "over.example"\nlocation = "second.example"\nblocked = true\n');
    writeFileSync(join(dir1, 'ignored.txt'), 'not = [toml');
    mkdirSync(join(dir1, 'sub.conf'));
    writeFileSync(join(dir2, '00-user.conf'), 'unqualified-search-registries = []\n[aliases]\n"gone" = ""\n"new" = "user.example/new"\n');
    const conf = await readRegistriesConf({ file: main, named: true, dirs: [dir1, dir2] });
    expect(conf.files).toEqual([main, join(dir1, '10-a.conf'), join(dir1, '20-b.conf'), join(dir2, '00-user.conf')]);
    // The last file to define a prefix wins, whole (blocked is not carried over); the list is sorted by prefix.
    expect(conf.registries.map((r) => [r.prefix, r.location, r.blocked])).toEqual([
      ['base.example', 'base.example', false],
      ['over.example', 'third.example', false],
    ]);
    expect(conf.registries[1]!.file).toBe(join(dir1, '20-b.conf'));
    // Set to [] overrides; an unset key leaves the earlier value.
    expect(conf.unqualifiedSearchRegistries).toEqual([]);
    expect(conf.shortNameMode).toBe('enforcing');
    expect([...conf.aliases]).toEqual([
      ['app', 'base.example/app'],
      ['new', 'user.example/new'],
    ]);
  });

  it('refuses the version 1 format in a drop-in, and a mix of both in one file', async () => {
    const dir = join(work, 'd-v1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.conf'), '[registries.block]\nregistries = ["x.example"]\n');
    await expect(readRegistriesConf({ file: file(''), named: true, dirs: [dir] })).rejects.toThrow(/a\.conf: a drop-in must be in the version 2 format/);
    await refused('unqualified-search-registries = []\n[registries.search]\nregistries = ["a.example"]\n', /mixes the version 1 format/);
  });
});

describe('version 1', () => {
  it('converts search, insecure and block as ConvertToV2 does', async () => {
    const conf = await load(`
[registries.search]
registries = ["search.example", "two.example"]
[registries.insecure]
registries = ["insecure.example", "both.example"]
[registries.block]
registries = ["blocked.example", "both.example/"]
`);
    expect(conf.unqualifiedSearchRegistries).toEqual(['search.example', 'two.example']);
    expect(conf.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked])).toEqual([
      ['blocked.example', 'blocked.example', false, true],
      ['both.example', 'both.example', true, true],
      ['insecure.example', 'insecure.example', true, false],
    ]);
    await refused('[registries.block]\nregistries = ["http://x.example"]\n', /URL schemes are not supported/);
    await refused('[registries.blocked]\nregistries = ["x.example"]\n', /unknown key "blocked" in \[registries\]/);
  });
});

describe('strict parsing', () => {
  it('reads every key of version 2', async () => {
    const conf = await load(`
unqualified-search-registries = ["registry.fedoraproject.org", "localhost:5000"]
short-name-mode = "disabled"
credential-helpers = ["containers-auth.json", "pass"]
additional-layer-store-auth-helper = "helper"
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"opensuse/leap" = "registry.opensuse.org/opensuse/leap"
[[registry]]
prefix = "example.com/foo"
location = "internal.example/bar"
insecure = true
blocked = false
[[registry.mirror]]
location = "mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "mirror-1.local/mirrors/foo"
insecure = true
pull-from-mirror = "digest-only"
[[registry]]
prefix = "*.wild.example"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror.wild.example:5000"
`);
    expect(conf.unqualifiedSearchRegistries).toEqual(['registry.fedoraproject.org', 'localhost:5000']);
    expect(conf.shortNameMode).toBe('disabled');
    expect(conf.credentialHelpers).toEqual(['containers-auth.json', 'pass']);
    expect(conf.additionalLayerStoreAuthHelper).toBe('helper');
    expect(conf.aliases.get('opensuse/leap')).toBe('registry.opensuse.org/opensuse/leap');
    const [wild, foo] = conf.registries;
    expect(wild).toMatchObject({
      prefix: '*.wild.example',
      location: '',
      mirrorByDigestOnly: true,
      mirrors: [{ location: 'mirror.wild.example:5000', insecure: false }],
    });
    expect(foo).toMatchObject({
      prefix: 'example.com/foo',
      location: 'internal.example/bar',
      insecure: true,
      blocked: false,
      mirrors: [
        { location: 'mirror-0.local/mirror-for-foo', insecure: false },
        { location: 'mirror-1.local/mirrors/foo', insecure: true, pullFromMirror: 'digest-only' },
      ],
    });
  });

  it('skips the parser for a file of comments only, and reads an empty one', async () => {
    expect((await load('# only\n   # comments\n\n')).files).toHaveLength(1);
    expect((await load('')).registries).toEqual([]);
  });

  it('refuses unknown keys, naming them, their place and the file', async () => {
    await refused('unqualified-search-registry = []\n', /unknown key "unqualified-search-registry" \(expected one of registry, /);
    await refused(
      '[[registry]]\nlocation = "a.example"\nlocaton = "b.example"\n',
      /unknown key "locaton" in \[\[registry\]\] 1 \(expected one of prefix, location/,
    );
    await refused(
      '[[registry]]\nlocation = "a.example"\n[[registry]]\nlocation = "b.example"\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirrors = "all"\n',
      /unknown key "pull-from-mirrors" in \[\[registry.mirror\]\] 1 of \[\[registry\]\] 2 \(prefix "b.example"\)/,
    );
  });

  it('refuses bad values', async () => {
    await refused('[[registry]]\nlocation = "a.example"\ninsecure = "yes"\n', /"insecure" must be true or false, not the string "yes"/);
    await refused('[[registry]]\nlocation = "a.example"\nblocked = 1\n', /"blocked" must be true or false, not the number 1/);
    await refused('[[registry]]\nlocation = 1979-05-27\n', /"location" must be a string, not a date/);
    await refused('[registry]\nlocation = "a.example"\n', /"registry" is not a list of tables \(write \[\[registry\]\]\)/);
    await refused('[[registry]]\ninsecure = true\n', /neither "location" nor "prefix" is set/);
    await refused('[[registry]]\nprefix = "a.example"\n', /"location" is not set, which only a wildcard prefix/);
    await refused('[[registry]]\nlocation = "https://a.example"\n', /URL schemes are not supported/);
    await refused('[[registry]]\nprefix = "*.a.example/ns"\n', /a wildcard prefix is \*\.DOMAIN/);
    await refused('[[registry]]\nprefix = "*.a.example:5000"\n', /a wildcard prefix is \*\.DOMAIN/);
    await refused('[[registry]]\nlocation = "busybox"\n', /"busybox" is not a registry host/);
    await refused('[[registry]]\nlocation = "a.example/UPPER"\n', /must be lowercase/);
    await refused('[[registry]]\nlocation = "a.example"\npull-from-mirror = "all"\n', /"pull-from-mirror" belongs in a \[\[registry.mirror\]\]/);
    await refused('[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\ninsecure = true\n', /\[\[registry.mirror\]\] 1 of .*"location" is not set/);
    await refused(
      '[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "notvalid"\n',
      /"pull-from-mirror" "notvalid" is not one of all, digest-only, tag-only/,
    );
    await refused(
      '[[registry]]\nlocation = "a.example"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "all"\n',
      /cannot be set when the registry sets "mirror-by-digest-only"/,
    );
    await refused(
      '[[registry]]\nlocation = "a.example"\n[[registry]]\nprefix = "a.example"\nlocation = "b.example"\n',
      /prefix "a.example" is defined twice \(\[\[registry\]\] 1 and 2\)/,
    );
    await refused(
      '[[registry]]\nprefix = "a.example/x"\nlocation = "b.example"\ninsecure = true\n[[registry]]\nprefix = "a.example/y"\nlocation = "b.example"\n',
      /registry "b.example" is defined more than once with different "insecure" settings/,
    );
    await refused('unqualified-search-registries = ["a.example/ns"]\n', /entry "a.example\/ns": it is not HOST\[:PORT\]/);
    await refused('unqualified-search-registries = "a.example"\n', /must be a list of strings/);
    await refused('short-name-mode = "prompt"\n', /"short-name-mode" "prompt" is not one of enforcing, permissive, disabled/);
    await refused('credential-helpers = ["my helper"]\n', /is not a helper name/);
    await refused('[aliases]\n"example.com/app" = "example.com/app"\n', /\[aliases\] "example.com\/app": a short name must not contain a registry/);
    await refused('[aliases]\n"app:1" = "example.com/app"\n', /a short name must not contain a tag or digest/);
    await refused('[aliases]\n"app" = "app"\n', /is not a fully-qualified name/);
    await refused('[aliases]\n"app" = "example.com/app:1"\n', /must not contain a tag or digest/);
    await refused('a = 1\na = 2\n', /line 2, column 1: trying to redefine an already defined table or value/);
    await refused('[[registry]\n', /line 1, column/);
  });
});

describe('matching', () => {
  it('matches prefixes as refMatchingPrefix does', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    for (const [ref, prefix, expected] of [
      ['docker.io', 'docker.io', 9],
      ['docker.io', 'example.com', -1],
      ['example.com:5000', 'example.com:5000', 16],
      ['example.com:50000', 'example.com:5000', -1],
      ['example.com:5000', 'example.com', 11],
      ['example.com/foo/bar:baz', 'example.com', 11],
      [`example.com/foo/bar@${digest}`, 'example.com', 11],
      ['docker.io', 'docker.io/library', -1],
      ['docker.io/libraryy', 'docker.io/library', -1],
      ['docker.io/library/busybox', 'docker.io/library', 17],
      ['example.com/foo', 'example.com/foo:bar', -1],
      ['example.com/foo:bar', 'example.com/foo:bar', 19],
      ['example.com/foo:bar2', 'example.com/foo:bar', -1],
      ['example.com/foo', '*', -1],
      // Wildcards (refMatchingSubdomainPrefix)
      ['docker.io', '*.io', 9],
      ['docker.io/foo', '*.com', -1],
      ['example.com/foo', '*.example.com', -1],
      ['example.com/foo:bar', '*.com', 11],
      ['yet.another.example.com/foo', '**.example.com', -1],
      ['another.example.com/namespace.com/foo/bar/bbq:baz', '*.example.com', 19],
      ['example.net/namespace-ends-in.com/foo/bar/bbq:baz', '*.com', -1],
      ['another.sub.example.com/foo/bar/bbq:baz', '*.sub.example.com', 23],
      ['a.example.com:5000/foo', '*.example.com', 13],
    ] as const) {
      expect(refMatchingPrefix(ref, prefix), `${ref} vs ${prefix}`).toBe(expected);
    }
  });

  it('finds the longest matching prefix, wildcards included', async () => {
    const conf = await load(`
[[registry]]
location = "example.com"
[[registry]]
prefix = "example.com/team"
location = "team.example"
[[registry]]
prefix = "example.com/team/app"
location = "app.example"
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry]]
prefix = "*.sub.example.com"
blocked = true
`);
    const find = (name: string) => findRegistry(conf, name)?.prefix;
    expect(find('example.com/other')).toBe('example.com');
    expect(find('example.com/team/x')).toBe('example.com/team');
    expect(find('example.com/team/app')).toBe('example.com/team/app');
    expect(find('example.com/team/apps')).toBe('example.com/team');
    expect(find('a.example.com/x')).toBe('*.example.com');
    expect(find('b.sub.example.com/x')).toBe('*.sub.example.com');
    expect(find('other.org/x')).toBeUndefined();
  });

  it('rewrites references as rewriteReference does, and refuses what it refuses', () => {
    const rw = (ref: string, prefix: string, location: string) => formatDockerRef(rewriteReference(parseDockerRef(ref), prefix, location, 'f.conf'));
    expect(rw('example.com/foo/image:latest', 'example.com/foo', 'example.com/path')).toBe('example.com/path/image:latest');
    expect(rw('docker.io/library/image:1', 'docker.io/library', 'example.com')).toBe('example.com/image:1');
    expect(rw('docker.io/library/image:1', 'docker.io', 'example.com')).toBe('example.com/library/image:1');
    expect(rw(`example.com/foo${D}`, 'example.com', 'mirror.example:5000/x')).toBe(`mirror.example:5000/x/foo${D}`);
    expect(rw('another.sub.example.io:5000/p/image:latest', '*.sub.example.io', 'example.com')).toBe('example.com:5000/p/image:latest');
    expect(rw('abc.internal.example/foo:bar', '*.internal.example', '')).toBe('abc.internal.example/foo:bar');
    for (const [ref, prefix, location] of [
      [`example.com/foo${D}`, 'example.com/foo', 'example.com'],
      ['example.com:5000/image:latest', 'example.com', ''],
      ['example.com:5000/image:latest', 'example.com', 'example.com:5000'],
      ['example.com/image:latest', 'image', 'anotherimage'],
      ['example.com/foo/image', 'example.com/f', 'example.com/foo'],
      ['docker.io/library/image:1', 'docker.io/library/image', 'docker.io/image'],
      ['foo.docker.io/library/image:1', '*.docker.com', 'example.com/image'],
    ] as const) {
      expect(() => rw(ref, prefix, location), `${ref} ${prefix} ${location}`).toThrow(/f\.conf/);
    }
  });

  it('lists pull sources: mirrors that apply to a digest or a tag, then the location, each rewritten', async () => {
    const conf = await load(`
[[registry]]
prefix = "a.example/foo"
location = "a.example/bar"
[[registry.mirror]]
location = "mirror-1.a.example"
[[registry.mirror]]
location = "mirror-2.a.example"
insecure = true
[[registry]]
prefix = "b.example/foo"
location = "b.example/bar"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror-1.b.example"
[[registry]]
prefix = "g.example/foo"
location = "g.example/bar"
[[registry.mirror]]
location = "mirror-1.g.example"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "mirror-2.g.example"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "mirror-3.g.example"
pull-from-mirror = "all"
[[registry.mirror]]
location = "mirror-4.g.example"
`);
    const sources = (ref: string) =>
      pullSources(conf, parseDockerRef(ref)).map((s) => `${formatDockerRef(s.ref)}${s.insecure ? ' insecure' : ''}${s.mirror ? ' mirror' : ''}`);
    expect(sources('a.example/foo/image:aaa')).toEqual([
      'mirror-1.a.example/image:aaa mirror',
      'mirror-2.a.example/image:aaa insecure mirror',
      'a.example/bar/image:aaa',
    ]);
    expect(sources(`b.example/foo/image${D}`)).toEqual([`mirror-1.b.example/image${D} mirror`, `b.example/bar/image${D}`]);
    expect(sources('b.example/foo/image:aaa')).toEqual(['b.example/bar/image:aaa']);
    expect(sources(`g.example/foo/image${D}`)).toEqual([
      `mirror-1.g.example/image${D} mirror`,
      `mirror-3.g.example/image${D} mirror`,
      `mirror-4.g.example/image${D} mirror`,
      `g.example/bar/image${D}`,
    ]);
    expect(sources('g.example/foo/image:aaa')).toEqual([
      'mirror-2.g.example/image:aaa mirror',
      'mirror-3.g.example/image:aaa mirror',
      'mirror-4.g.example/image:aaa mirror',
      'g.example/bar/image:aaa',
    ]);
    // A tag and a digest both: a digest pull.
    expect(sources(`b.example/foo/image:aaa${D}`)[0]).toBe(`mirror-1.b.example/image:aaa${D} mirror`);
    expect(sources('other.example/x:1')).toEqual(['other.example/x:1']);
  });
});

describe('a parse of its own', () => {
  it('parses one file without merging', async () => {
    const one = await parseRegistriesConf('[[registry]]\nlocation = "x.example"\n', 'one.conf', false);
    expect(one.registries[0]).toMatchObject({ prefix: 'x.example', location: 'x.example', file: 'one.conf' });
  });
});
