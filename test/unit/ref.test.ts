import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import type { ImgError } from '../../lib/errors.js';
import {
  familiarDockerRef,
  formatDockerRef,
  formatRef,
  isValidRefName,
  parseDockerRef,
  parseRef,
  parseStoreSpec,
  splitBlobRef,
  withDefaultTag,
  type ImageRef,
} from '../../lib/ref/index.js';
import { destinationFor } from '../../lib/ref/dest.js';
import { parseCanonicalDockerRef } from '../../lib/ref/docker.js';
import { signIdentityArg } from '../../lib/sign/target.js';

const D64 = 'sha256:' + 'f'.repeat(64);
const D64b = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const D128 = 'sha512:' + 'f'.repeat(128);
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

/** expectRefError asserts parseRef(input) fails with a one-line REF_INVALID/DIGEST_INVALID naming the input. */
function expectRefError(input: string, contains?: string | RegExp, code: string | string[] = 'REF_INVALID'): ImgError {
  const e = caught(() => parseRef(input));
  expect(Array.isArray(code) ? code : [code]).toContain(e.code);
  expect(e.message).not.toContain('\n');
  expect(e.message).toContain(JSON.stringify(input));
  if (typeof contains === 'string') expect(e.message).toContain(contains);
  else if (contains) expect(e.message).toMatch(contains);
  return e;
}

/** dockerOf parses docker://s and returns the fully-qualified docker reference. */
const full = (s: string) => formatRef(parseRef(`docker://${s}`));

describe('parseDockerRef: normalisation as ParseNormalizedNamed', () => {
  it.each([
    // [input, domain, path, tag?, digest?]
    ['busybox', 'docker.io', 'library/busybox'],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36'],
    ['library/debian', 'docker.io', 'library/debian'],
    ['docker/docker', 'docker.io', 'docker/docker'],
    ['docker.io/debian', 'docker.io', 'library/debian'],
    ['docker.io/library/debian', 'docker.io', 'library/debian'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
    ['index.docker.io/debian', 'docker.io', 'library/debian'],
    ['index.docker.io/docker/docker', 'docker.io', 'docker/docker'],
    ['index.docker.io/library/ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base'],
    ['store/foo/bar', 'docker.io', 'store/foo/bar'],
    ['other/library', 'docker.io', 'other/library'],
    ['test_com/foo', 'docker.io', 'test_com/foo'],
    ['test.com/foo', 'test.com', 'foo'],
    ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'],
    ['test:5000/repo:tag', 'test:5000', 'repo', 'tag'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag'],
    ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com'],
    ['localhost/x', 'localhost', 'x'],
    ['localhost/fooo/bar', 'localhost', 'fooo/bar'],
    ['localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'tag'],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000'],
    ['Foo/bar', 'Foo', 'bar'],
    ['FOO/bar', 'FOO', 'bar'],
    ['LOCALDOMAIN/fooo/bar', 'LOCALDOMAIN', 'fooo/bar'],
    ['127.0.0.1:5000/library/debian', '127.0.0.1:5000', 'library/debian'],
    ['192.168.0.1', 'docker.io', 'library/192.168.0.1'],
    ['192.168.0.1:80', 'docker.io', 'library/192.168.0.1', '80'],
    ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050'],
    ['[::1]:5000/x', '[::1]:5000', 'x'],
    ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo'],
    ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian'],
    ['[2001:db8::1]:5000/repo:tag@' + D64, '[2001:db8::1]:5000', 'repo', 'tag', D64],
    ['lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase'],
    ['docker.io/' + HEX64, 'docker.io', 'library/' + HEX64],
    [HEX64 + ':tag', 'docker.io', 'library/' + HEX64, 'tag'],
    [
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      'docker.io',
      'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    ],
    ['dbcc1', 'docker.io', 'library/dbcc1'],
    ['redis@' + D64b, 'docker.io', 'library/redis', undefined, D64b],
    ['xn--7o8h.com/myimage:xn--7o8h.com@' + D128, 'xn--7o8h.com', 'myimage', 'xn--7o8h.com', D128],
  ])('%s', (input, domain, path, tag?, digest?) => {
    const r = parseDockerRef(input);
    expect(r).toEqual({ domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) });
  });

  it('does not add a default tag itself; withDefaultTag does, unless there is a tag or digest', () => {
    expect(parseDockerRef('busybox').tag).toBeUndefined();
    expect(withDefaultTag(parseDockerRef('busybox'))).toEqual({ domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
    expect(withDefaultTag(parseDockerRef('busybox:1'))).toEqual({ domain: 'docker.io', path: 'library/busybox', tag: '1' });
    expect(withDefaultTag(parseDockerRef(`busybox@${D64}`))).toEqual({ domain: 'docker.io', path: 'library/busybox', digest: D64 });
  });

  it('keeps both tag and digest of name:tag@digest', () => {
    const s = `busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa`;
    const r = parseDockerRef(s);
    expect(formatDockerRef(r)).toBe(`docker.io/library/${s}`);
    expect(familiarDockerRef(r)).toBe(s);
  });

  it.each([
    ['https://github.com/docker/docker', 'registry host'],
    ['docker/Docker', 'lowercase'],
    ['docker.io/docker/Docker', 'lowercase'],
    ['test:5000/Uppercase/lowercase:tag', 'lowercase'],
    ['Uppercase:tag', 'lowercase'],
    ['docker.io/Foo', 'lowercase'],
    ['-docker', 'invalid repository name'],
    ['-docker/docker', 'invalid repository name'],
    ['docker-/docker', 'invalid repository name'],
    ['-docker-/docker', 'invalid repository name'],
    ['-docker.io/docker/docker', 'invalid registry host'],
    ['docker///docker', 'invalid repository name'],
    ['docker.io/docker///docker', 'invalid repository name'],
    ['docker/', 'invalid repository name'],
    ['____/____', 'invalid repository name'],
    ['_docker/_docker', 'invalid repository name'],
    // a "." makes the first component a registry host, as upstream
    ['dock..er/docker', 'invalid registry host "dock..er"'],
    ['dock_.er/docker', 'invalid registry host "dock_.er"'],
    ['dock-.er/docker', 'invalid registry host "dock-.er"'],
    ['ns/dock..er', 'invalid repository name'],
    ['ns/dock_.er', 'invalid repository name'],
    ['ns/dock-.er', 'invalid repository name'],
    ['dock___er/docker', 'invalid repository name'],
    ['aa/asdf$$^/aa', 'invalid repository name'],
    ['[fc00::1]', 'invalid'],
    ['[fc00::1]:5000', 'invalid repository name'],
    ['[2001:db8::1]:tag', 'invalid repository name'],
    ['fc00::1:5000/debian', 'invalid registry host'],
    ['[fe80::1%eth0]:5000/debian', 'invalid registry host'],
    ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid registry host'],
    [HEX64, 'image ID'],
    ['', 'empty'],
    [':justtag', 'invalid repository name'],
    ['@' + D64, 'invalid repository name'],
    ['repo@sha256:ffffffffffffffffffffffffffffffffff', 'digest'],
    ['validname@invaliddigest:' + 'f'.repeat(64), 'unsupported algorithm'],
    ['busybox@sha384:' + 'f'.repeat(96), 'unsupported algorithm'],
    ['busybox@md5:' + 'f'.repeat(32), 'unsupported algorithm'],
    ['busybox@sha256:' + 'F'.repeat(64), 'lowercase hex'],
    ['busybox@sha256:' + 'f'.repeat(63), '64'],
    ['busybox@sha256:' + 'f'.repeat(65), '64'],
    ['busybox@sha512:' + 'f'.repeat(64), '128'],
    ['busybox@sha256:' + 'g'.repeat(64), 'invalid digest'],
    ['busybox@', 'invalid digest'],
  ])('refuses %j', (input, why) => {
    const e = caught(() => parseDockerRef(input));
    expect(e.code).toBe('REF_INVALID');
    expect(e.message).toContain(JSON.stringify(input));
    expect(e.message).toContain(why);
    expect(e.message).not.toContain('\n');
  });

  it('names what the user wrote in errors when given `input`', () => {
    const e = caught(() => parseDockerRef('Bad/Name', 'docker://Bad/Name'));
    expect(e.message).toBe('invalid reference "docker://Bad/Name": repository name "Name" must be lowercase');
  });

  describe('tag grammar', () => {
    it('accepts 128 characters of [A-Za-z0-9_.-] not starting with . or -', () => {
      const tag = 'A' + 'a_.-9'.repeat(25) + 'xy';
      expect(tag).toHaveLength(128);
      expect(parseDockerRef(`x:${tag}`).tag).toBe(tag);
      expect(parseDockerRef('x:_leading_underscore').tag).toBe('_leading_underscore');
      expect(parseDockerRef('x:0').tag).toBe('0');
    });
    it.each([
      ['129 characters', 'a'.repeat(129)],
      ['leading dot', '.tag'],
      ['leading dash', '-tag'],
      ['a plus sign', 'v1+build'],
      ['empty', ''],
      ['a non-ASCII letter', 'tä'],
    ])('refuses a tag with %s', (_what, tag) => {
      const e = caught(() => parseDockerRef(`x:${tag}`));
      expect(e.code).toBe('REF_INVALID');
      expect(e.message).toContain(`invalid tag "${tag}"`);
    });
  });

  describe('name length (255 characters, domain included, after normalisation)', () => {
    it('accepts exactly 255', () => {
      const name = 'example.com/' + 'a/'.repeat(121) + 'a';
      expect(name).toHaveLength(255);
      expect(formatDockerRef(parseDockerRef(`${name}:tag`))).toBe(`${name}:tag`);
    });
    it('refuses 256', () => {
      const name = 'example.com/' + 'a/'.repeat(121) + 'ab';
      const e = caught(() => parseDockerRef(name));
      expect(e.message).toContain('256 characters, over the 255 allowed');
    });
    it('counts the docker.io/ added by normalisation', () => {
      // 255 characters as written, 265 once "docker.io/" is prefixed
      const name = 'a/'.repeat(127) + 'a';
      expect(name).toHaveLength(255);
      expect(caught(() => parseDockerRef(name)).message).toContain('265 characters');
    });
    it('refuses a long namespace', () => {
      const ns = 'this_is_not_a_valid_namespace_because_its_length_is_greater_than_255'.repeat(4) + '/docker';
      expect(caught(() => parseDockerRef(ns)).message).toContain('is 289 characters, over the 255 allowed');
    });
  });

  describe('separators', () => {
    it.each(['a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a.b-c_d__e', 'dock__er/docker', 'docker---rules/docker', 'd/docker', 'jess/t'])('accepts %s', (n) => {
      expect(() => parseDockerRef(n)).not.toThrow();
    });
    it.each(['a..b', 'a___b', 'a.-b', 'a-.b', 'a._b', 'a.', 'a_', 'a-', '.a', '_a'])('refuses %s', (n) => {
      expect(caught(() => parseDockerRef(n)).message).toContain('invalid repository name');
    });
  });
});

describe('familiarDockerRef', () => {
  it.each([
    ['fooo/bar', 'fooo/bar'],
    ['index.docker.io/fooo/bar', 'fooo/bar'],
    ['docker.io/library/ubuntu', 'ubuntu'],
    ['library/ubuntu', 'ubuntu'],
    ['docker.io/foo', 'foo'],
    ['library/foo/bar', 'library/foo/bar'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase'],
    ['example.com:8000/privatebasee', 'example.com:8000/privatebasee'],
    ['localhost/fooo', 'localhost/fooo'],
    ['Foo/bar', 'Foo/bar'],
    ['busybox:1@' + D64, 'busybox:1@' + D64],
    ['dmcgowan/myapp@' + D64b, 'dmcgowan/myapp@' + D64b],
  ])('%s → %s', (input, familiar) => {
    expect(familiarDockerRef(parseDockerRef(input))).toBe(familiar);
  });
});

describe('parseCanonicalDockerRef (reference.ParseNamed), signIdentityArg (skopeo copy --sign-identity)', () => {
  it.each(['docker.io/library/busybox:1', 'localhost:5000/a/b@' + D64, 'example.com/app:1@' + D64, 'example.com/app'])('%s is canonical', (s) => {
    expect(formatDockerRef(parseCanonicalDockerRef(s))).toBe(s);
  });
  it.each([
    ['busybox:1', 'docker.io/library/busybox:1'],
    ['docker.io/busybox:1', 'docker.io/library/busybox:1'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
  ])('%s is not: its full form is named', (s, fullForm) => {
    const e = caught(() => parseCanonicalDockerRef(s));
    expect([e.code, e.message]).toEqual(['REF_INVALID', `repository name must be canonical (${JSON.stringify(s)} is ${fullForm} in full)`]);
  });
  it('--sign-identity: in skopeo words, a usage error', () => {
    expect(signIdentityArg('example.com/app:1')).toBe('example.com/app:1');
    expect(caught(() => signIdentityArg('example.com/app')).message).toBe('Sign identity must be a fully specified reference example.com/app');
    expect(caught(() => signIdentityArg('busybox:1')).message).toMatch(/^Could not parse --sign-identity: repository name must be canonical /);
    const bad = caught(() => signIdentityArg('Example.com/App:1'));
    expect([bad.code, bad.message]).toEqual(['USAGE', expect.stringMatching(/^Could not parse --sign-identity: invalid reference "Example.com\/App:1": /)]);
  });
});

describe('parseRef: docker://', () => {
  it.each([
    ['busybox', 'docker://docker.io/library/busybox:latest'],
    ['index.docker.io/x', 'docker://docker.io/library/x:latest'],
    ['index.docker.io/team/x:2', 'docker://docker.io/team/x:2'],
    ['Foo/bar', 'docker://Foo/bar:latest'],
    ['localhost/x', 'docker://localhost/x:latest'],
    ['localhost:5000/a/b:tag', 'docker://localhost:5000/a/b:tag'],
    ['[::1]:5000/x', 'docker://[::1]:5000/x:latest'],
    [`busybox@${D64}`, `docker://docker.io/library/busybox@${D64}`],
    [`busybox:1.36@${D64}`, `docker://docker.io/library/busybox:1.36@${D64}`],
    [`reg.example/a/b@${D128}`, `docker://reg.example/a/b@${D128}`],
  ])('docker://%s → %s', (input, canonical) => {
    expect(full(input)).toBe(canonical);
  });

  it('gives the parsed parts', () => {
    expect(parseRef('docker://localhost:5000/a/b:tag')).toEqual({
      transport: 'docker',
      docker: { domain: 'localhost:5000', path: 'a/b', tag: 'tag' },
    });
  });

  it('refuses docker: without //', () => {
    expectRefError('docker:busybox', 'docker://');
    expectRefError('docker:/busybox', 'docker://');
  });

  it('refuses bad docker references naming the whole input', () => {
    expectRefError('docker://Busybox', 'must be lowercase');
    expectRefError(`docker://${HEX64}`, 'image ID');
    expectRefError('docker://', 'empty');
    expectRefError('docker://busybox:.x', 'invalid tag');
    expectRefError('docker://busybox@sha256:abc', 'invalid digest');
    expectRefError(`docker://busybox@sha1:${'a'.repeat(40)}`, 'unsupported algorithm');
  });
});

describe('parseRef: other transports', () => {
  it('refuses a reference with no transport or an unknown one', () => {
    expectRefError('busybox', 'no transport');
    expectRefError(':busybox', 'no transport');
    expectRefError('', 'empty');
    expectRefError('   ', 'empty');
    expectRefError('localhost:5000/busybox', 'unknown transport "localhost"');
    expectRefError('atomic:busybox', 'unknown transport "atomic"');
    expectRefError('DOCKER://busybox', 'unknown transport "DOCKER"');
  });

  it('refuses control characters', () => {
    expectRefError('dir:/tmp/a\nb', 'control character');
    expectRefError('dir:/tmp/a\0b', 'control character');
  });

  it('dir:', () => {
    expect(parseRef('dir:/tmp/img')).toEqual({ transport: 'dir', path: '/tmp/img' });
    expect(parseRef('dir:rel/a:b')).toEqual({ transport: 'dir', path: 'rel/a:b' });
    expectRefError('dir:', 'needs a path');
  });

  describe('oci: and oci-archive:', () => {
    it.each(['oci', 'oci-archive'] as const)('%s:PATH[:NAME] and :@N', (t) => {
      expect(parseRef(`${t}:/l`)).toEqual({ transport: t, path: '/l' });
      expect(parseRef(`${t}:/l:latest`)).toEqual({ transport: t, path: '/l', name: 'latest' });
      expect(parseRef(`${t}:/l:docker.io/library/busybox:1.36`)).toEqual({ transport: t, path: '/l', name: 'docker.io/library/busybox:1.36' });
      expect(parseRef(`${t}:/l:@0`)).toEqual({ transport: t, path: '/l', index: 0 });
      expect(parseRef(`${t}:/l:@12`)).toEqual({ transport: t, path: '/l', index: 12 });
      expectRefError(`${t}:`, 'needs a path');
      expectRefError(`${t}::name`, 'needs a path');
    });

    it('an empty name after the colon means no name, as in containers/image', () => {
      expect(parseRef('oci:/l:')).toEqual({ transport: 'oci', path: '/l' });
    });

    it.each(['@-1', '@', '@x', '@1.5', '@ 1'])('refuses index %j', (idx) => {
      expectRefError(`oci:/l:${idx}`, 'invalid image index');
    });

    it.each(['a', 'A1', 'v1.0', 'a-b', 'a--b', 'a_b', 'a:b', 'a@b', 'a+b', 'reg/ns/app:1.0', 'Foo/Bar'])('accepts the ref.name %j', (n) => {
      expect(isValidRefName(n)).toBe(true);
      expect(parseRef(`oci:/l:${n}`)).toEqual({ transport: 'oci', path: '/l', name: n });
    });

    it.each(['a---b', '-a', 'a-', 'a..b', 'a//b', '/a', 'a/', 'a b', 'ä', 'a!'])('refuses the ref.name %j', (n) => {
      expect(isValidRefName(n)).toBe(false);
      expectRefError(`oci:/l:${n}`, `invalid image name "${n}"`);
    });
  });

  describe('docker-archive:', () => {
    it('PATH, PATH:REF (name-only gets :latest), PATH:@N', () => {
      expect(parseRef('docker-archive:/a.tar')).toEqual({ transport: 'docker-archive', path: '/a.tar' });
      expect(parseRef('docker-archive:/a.tar:busybox')).toEqual({
        transport: 'docker-archive',
        path: '/a.tar',
        docker: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
      });
      expect(formatRef(parseRef('docker-archive:/a.tar:reg.io/x:2'))).toBe('docker-archive:/a.tar:reg.io/x:2');
      expect(parseRef('docker-archive:/a.tar:@3')).toEqual({ transport: 'docker-archive', path: '/a.tar', index: 3 });
    });
    it('refuses a digest, an empty path, a bad index and a bad name', () => {
      expectRefError(`docker-archive:/a.tar:busybox@${D64}`, 'cannot have a digest');
      expectRefError(`docker-archive:/a.tar:busybox:1@${D64}`, 'cannot have a digest');
      expectRefError('docker-archive:', 'needs a path');
      expectRefError('docker-archive::busybox', 'needs a path');
      expectRefError('docker-archive:/a.tar:@-1', 'invalid image index');
      expectRefError('docker-archive:/a.tar:Busybox', 'lowercase');
      expectRefError('docker-archive:/a.tar:', 'empty');
    });
  });

  describe('sif:', () => {
    it('PATH, the whole rest: colons are part of it (containers/image takes the rest as the file)', () => {
      expect(parseRef('sif:/srv/app.sif')).toEqual({ transport: 'sif', path: '/srv/app.sif' });
      expect(parseRef('sif:rel/a:b.sif')).toEqual({ transport: 'sif', path: 'rel/a:b.sif' });
      expect(formatRef(parseRef('sif:rel/a:b.sif'))).toBe('sif:rel/a:b.sif');
    });
    it('refuses an empty path', () => {
      expectRefError('sif:', 'needs a path');
    });
  });

  describe('docker-daemon:', () => {
    it('sha256:ID and NAME:TAG', () => {
      expect(parseRef(`docker-daemon:${D64}`)).toEqual({ transport: 'docker-daemon', id: D64 });
      expect(parseRef('docker-daemon:busybox:1')).toEqual({
        transport: 'docker-daemon',
        docker: { domain: 'docker.io', path: 'library/busybox', tag: '1' },
      });
      expect(formatRef(parseRef('docker-daemon:localhost:5000/a:b'))).toBe('docker-daemon:localhost:5000/a:b');
    });
    it('NAME@DIGEST, as containers/image (for reading), but not a tag and a digest at once', () => {
      expect(parseRef(`docker-daemon:busybox@${D64}`)).toEqual({
        transport: 'docker-daemon',
        docker: { domain: 'docker.io', path: 'library/busybox', digest: D64 },
      });
      expect(formatRef(parseRef(`docker-daemon:busybox@${D64}`))).toBe(`docker-daemon:docker.io/library/busybox@${D64}`);
      expectRefError(`docker-daemon:busybox:1@${D64}`, 'a tag and a digest at once');
    });
    it('refuses a name without a tag, as containers/image does', () => {
      expectRefError('docker-daemon:busybox', 'neither a tag nor');
    });
    it('refuses a short or malformed image ID', () => {
      const e = caught(() => parseRef('docker-daemon:sha256:abcd'));
      expect(e.code).toBe('DIGEST_INVALID');
      expect(e.message).toContain('docker-daemon:sha256:abcd');
    });
    it('refuses image IDs of other algorithms and the reserved repository name sha256', () => {
      expectRefError(`docker-daemon:${D128}`, 'sha256');
      expectRefError('docker-daemon:docker.io/library/sha256:x', 'reserved');
      expectRefError('docker-daemon:sha256', 'reserved');
      expect(formatRef(parseRef('docker-daemon:team/sha256:x'))).toBe('docker-daemon:docker.io/team/sha256:x');
      expectRefError(`docker-daemon:${HEX64}`, 'image ID');
    });
  });

  describe('containers-storage:', () => {
    it('[store]name, name, ID, @ID and name@ID', () => {
      expect(parseRef('containers-storage:busybox')).toEqual({
        transport: 'containers-storage',
        docker: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' },
      });
      expect(parseRef('containers-storage:[overlay@/var/lib/containers/storage]quay.io/a/b:1')).toEqual({
        transport: 'containers-storage',
        store: 'overlay@/var/lib/containers/storage',
        docker: { domain: 'quay.io', path: 'a/b', tag: '1' },
      });
      expect(parseRef(`containers-storage:${HEX64}`)).toEqual({ transport: 'containers-storage', id: HEX64 });
      expect(parseRef(`containers-storage:@${HEX64}`)).toEqual({ transport: 'containers-storage', id: HEX64 });
      expect(parseRef(`containers-storage:[vfs@/s]${HEX64}`)).toEqual({ transport: 'containers-storage', store: 'vfs@/s', id: HEX64 });
      expect(parseRef(`containers-storage:busybox:1@${HEX64}`)).toEqual({
        transport: 'containers-storage',
        docker: { domain: 'docker.io', path: 'library/busybox', tag: '1' },
        id: HEX64,
      });
      expect(parseRef(`containers-storage:busybox@${D64}`)).toEqual({
        transport: 'containers-storage',
        docker: { domain: 'docker.io', path: 'library/busybox', digest: D64 },
      });
    });
    it('refuses an empty name, an unterminated store and a bad name', () => {
      expectRefError('containers-storage:', 'needs an image name or ID');
      expectRefError('containers-storage:[vfs@/s]', 'needs an image name or ID');
      expectRefError('containers-storage:[vfs@/s', 'unterminated');
      expectRefError('containers-storage:Busybox', 'lowercase');
      expectRefError('containers-storage:busybox@abc', 'invalid digest');
    });
    it('store specifiers as containers/image reads them: [DRIVER@GRAPHROOT+RUNROOT:OPTIONS]', () => {
      expect(parseStoreSpec('vfs@/r+/rr:a=1,b')).toEqual({ driver: 'vfs', graphRoot: '/r', runRoot: '/rr', options: ['a=1', 'b'] });
      expect(parseStoreSpec('/r')).toEqual({ graphRoot: '/r' });
      expect(parseStoreSpec('overlay@/r')).toEqual({ driver: 'overlay', graphRoot: '/r' });
      expect(parseStoreSpec('vfs@+/rr')).toEqual({ driver: 'vfs', runRoot: '/rr' });
      expect(parseStoreSpec('vfs@/r:o')).toEqual({ driver: 'vfs', graphRoot: '/r', options: ['o'] });
      // The first "+" and the first ":" split, as in Go: a "+" after the colon is part of an option.
      expect(parseStoreSpec('vfs@/r:x+y')).toEqual({ driver: 'vfs', graphRoot: '/r', options: ['x+y'] });
      expect(parseRef('containers-storage:[vfs@/r+/rr]example.com/t:1')).toEqual({
        transport: 'containers-storage',
        store: 'vfs@/r+/rr',
        docker: { domain: 'example.com', path: 't', tag: '1' },
      });
      expectRefError('containers-storage:[]busybox', 'is empty');
      expectRefError('containers-storage:[@/r]busybox', 'empty driver');
      expectRefError('containers-storage:[vfs@]busybox', 'nothing after');
      expectRefError('containers-storage:[vfs@r]busybox', 'not an absolute path');
      expectRefError('containers-storage:[vfs@/r+rr]busybox', 'not an absolute path');
      expectRefError('containers-storage:[vfs@/r:a,,b]busybox', 'empty storage option');
    });
    it('NAME:TAG@DIGEST, NAME@DIGEST@ID and the image ID after the last "@"', () => {
      expect(parseRef(`containers-storage:busybox:1@${D64}@${HEX64}`)).toEqual({
        transport: 'containers-storage',
        docker: { domain: 'docker.io', path: 'library/busybox', tag: '1', digest: D64 },
        id: HEX64,
      });
      expect(parseRef('containers-storage:localhost/app')).toEqual({
        transport: 'containers-storage',
        docker: { domain: 'localhost', path: 'app', tag: 'latest' },
      });
      expectRefError('containers-storage:busybox@', 'nothing after "@"');
      expectRefError(`containers-storage:busybox@${HEX64.slice(0, 12)}`, 'truncated ID');
    });
  });
});

describe('formatRef(parseRef(x)) round-trips', () => {
  it.each([
    'docker://docker.io/library/busybox:latest',
    `docker://localhost:5000/a/b:t@${D64}`,
    `docker://[::1]:5000/x@${D128}`,
    'dir:/tmp/x',
    'dir:relative/dir',
    'oci:/l',
    'oci:/l:reg/app:1.0',
    'oci:/l:@2',
    'oci-archive:/a.tar:v1',
    'docker-archive:/a.tar',
    'docker-archive:/a.tar:docker.io/library/busybox:latest',
    'docker-archive:/a.tar:@0',
    `docker-daemon:${D64}`,
    'docker-daemon:docker.io/library/busybox:1',
    'containers-storage:docker.io/library/busybox:latest',
    `containers-storage:[overlay@/s+/r]docker.io/library/busybox:latest@${HEX64}`,
    `containers-storage:${HEX64}`,
    'sif:/srv/app.sif',
  ])('%s', (s) => {
    expect(formatRef(parseRef(s))).toBe(s);
  });

  it.each([
    'docker://busybox',
    'docker://index.docker.io/library/x:1',
    'docker-archive:/a.tar:busybox',
    'containers-storage:busybox',
    'docker-daemon:busybox:1',
  ])('%s canonicalises to a fixed point', (s) => {
    const once = formatRef(parseRef(s));
    expect(once).not.toBe(s);
    expect(formatRef(parseRef(once))).toBe(once);
  });
});

describe('splitBlobRef', () => {
  it('REF@DIGEST splits at the last @', () => {
    const b = `sha256:${'a'.repeat(64)}`;
    expect(splitBlobRef(`docker://busybox@${b}`)).toEqual({
      ref: { transport: 'docker', docker: { domain: 'docker.io', path: 'library/busybox', tag: 'latest' } },
      digest: b,
    });
    const r = splitBlobRef(`docker://busybox@${D64}@${b}`);
    expect(r.digest).toBe(b);
    expect(formatRef(r.ref)).toBe(`docker://docker.io/library/busybox@${D64}`);
    expect(splitBlobRef(`oci:/l:app@${b}`).ref).toEqual({ transport: 'oci', path: '/l', name: 'app' });
  });
  it('REF DIGEST', () => {
    expect(splitBlobRef('dir:/x', D64)).toEqual({ ref: { transport: 'dir', path: '/x' }, digest: D64 });
  });
  it('refuses a missing or invalid digest', () => {
    const none = caught(() => splitBlobRef('dir:/x'));
    expect(none.code).toBe('USAGE');
    expect(none.message).toContain('"dir:/x" names no blob');
    const bad = caught(() => splitBlobRef('dir:/x@sha256:abc'));
    expect(bad.code).toBe('DIGEST_INVALID');
    expect(bad.message).toContain('"sha256:abc"');
    expect(bad.message).toContain('64 lowercase hex digits');
    const bad2 = caught(() => splitBlobRef('dir:/x', 'sha256:ABC'));
    expect(bad2.code).toBe('DIGEST_INVALID');
    expect(bad2.message).toContain('sha256:ABC');
  });
  it('refuses an invalid image reference', () => {
    expect(caught(() => splitBlobRef(`docker://Busybox@${D64}`)).code).toBe('REF_INVALID');
  });
});

describe('destinationFor (skopeo sync naming)', () => {
  const src = 'docker://quay.io/team/sub/app:1.2';
  it.each([
    // [source, prefix, options, destination]
    [src, 'docker://mirror.local/ns', {}, 'docker://mirror.local/ns/app:1.2'],
    [src, 'docker://mirror.local/ns/', {}, 'docker://mirror.local/ns/app:1.2'],
    [src, 'docker://mirror.local:5000', {}, 'docker://mirror.local:5000/app:1.2'],
    [src, 'docker://mirror.local', {}, 'docker://mirror.local/app:1.2'],
    [src, 'docker://localhost:5000/', {}, 'docker://localhost:5000/app:1.2'],
    [src, 'docker://[::1]:5000/m', {}, 'docker://[::1]:5000/m/app:1.2'],
    [src, 'docker://myorg', {}, 'docker://docker.io/myorg/app:1.2'],
    [src, 'docker://mirror.local/ns', { scoped: true }, 'docker://mirror.local/ns/quay.io/team/sub/app:1.2'],
    [src, 'docker://mirror.local/ns', { appendSuffix: '-mirror' }, 'docker://mirror.local/ns/app:1.2-mirror'],
    [src, 'docker://mirror.local/ns', { scoped: true, appendSuffix: '_x' }, 'docker://mirror.local/ns/quay.io/team/sub/app:1.2_x'],
    ['docker://busybox', 'docker://mirror.local:5000/lib', {}, 'docker://mirror.local:5000/lib/busybox:latest'],
    ['docker://busybox', 'docker://mirror.local:5000', { scoped: true }, 'docker://mirror.local:5000/docker.io/library/busybox:latest'],
    [`docker://busybox@${D64}`, 'docker://m.local', {}, `docker://m.local/busybox@${D64}`],
    [`docker://busybox:1@${D64}`, 'docker://m.local', {}, `docker://m.local/busybox:1@${D64}`],
    [src, 'dir:/backup', {}, 'dir:/backup/app:1.2'],
    [src, 'dir:/backup/', { scoped: true }, 'dir:/backup/quay.io/team/sub/app:1.2'],
    [src, 'oci:/layout', {}, 'oci:/layout:app:1.2'],
    [src, 'oci:/layout', { scoped: true }, 'oci:/layout:quay.io/team/sub/app:1.2'],
    [src, 'oci:/layout', { appendSuffix: '-x' }, 'oci:/layout:app:1.2-x'],
    ['dir:/src/images/app', 'docker://m.local/ns', {}, 'docker://m.local/ns/app:latest'],
    ['docker-archive:/a.tar:reg.io/x/y:3', 'docker://m.local', {}, 'docker://m.local/y:3'],
    ['oci:/src:app', 'dir:/d', {}, 'dir:/d/app'],
    [src, 'containers-storage:[vfs@/r+/rr]localhost/mirror', {}, 'containers-storage:[vfs@/r+/rr]localhost/mirror/app:1.2'],
    [src, 'containers-storage:example.com/m/', { scoped: true }, 'containers-storage:example.com/m/quay.io/team/sub/app:1.2'],
    [src, 'containers-storage:[vfs@/r]', {}, 'containers-storage:[vfs@/r]docker.io/library/app:1.2'],
    ['docker://busybox', 'containers-storage:myorg', {}, 'containers-storage:docker.io/myorg/busybox:latest'],
  ] as const)('%s under %s %j → %s', (source, prefix, opts, dest) => {
    expect(destinationFor(source, prefix, opts)).toBe(dest);
  });

  it('takes a parsed source too', () => {
    const r: ImageRef = parseRef(src);
    expect(destinationFor(r, 'docker://m.local')).toBe('docker://m.local/app:1.2');
  });

  it.each([
    ['docker://mirror.local/ns:tag', 'without tag or digest'],
    [`docker://mirror.local/ns@${D64}`, 'without tag or digest'],
    [`docker://mirror.local/ns:tag@${D64}`, 'without tag or digest'],
    ['oci:/layout:name', 'without an image name'],
    ['oci:/layout:@1', 'without an image name'],
    ['containers-storage:[vfs@/r]localhost/m:1', 'without tag, digest or image ID'],
    ['containers-storage:[vfs@/r', 'unterminated'],
  ])('refuses the prefix %s', (prefix, why) => {
    const e = caught(() => destinationFor(src, prefix));
    expect(e.code).toBe('REF_INVALID');
    expect(e.message).toContain(JSON.stringify(prefix));
    expect(e.message).toContain(why);
  });

  it('refuses an empty docker prefix and docker: without //', () => {
    const e = caught(() => destinationFor(src, 'docker://'));
    expect(e.code).toBe('REF_INVALID');
    expect(e.message).toBe('destination prefix "docker://" names no registry');
    expect(caught(() => destinationFor(src, 'docker:mirror.local')).message).toContain('"docker:mirror.local"');
  });

  it('refuses a prefix that is not a destination transport', () => {
    const e = caught(() => destinationFor(src, 'docker-archive:/x.tar'));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('docker-archive:/x.tar');
  });

  it('refuses to append a suffix to a digest-only source', () => {
    const e = caught(() => destinationFor(`docker://busybox@${D64}`, 'docker://m.local', { appendSuffix: '-x' }));
    expect(e.code).toBe('REF_INVALID');
    expect(e.message).toContain('cannot append suffix "-x"');
  });

  it('refuses a mapping that gives an invalid reference, naming it', () => {
    const e = caught(() => destinationFor(src, 'docker://m.local', { appendSuffix: '+bad' }));
    expect(e.code).toBe('REF_INVALID');
    expect(e.message).toContain('docker://m.local/app:1.2+bad');
  });
});
