// registries.d: strict parsing, merging, and the lookaside URL chosen for a reference, with
// containers/image's registries_d_test.go cases where they apply.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerRef } from '../../lib/ref/docker.js';
import {
  loadRegistriesD,
  lookasideBase,
  lookasideURL,
  parseRegistriesYaml,
  registriesDirPath,
  useSigstoreAttachments,
} from '../../lib/transport/registry/registries-d.js';
import { tempDir } from '../helpers/run.js';

const work = tempDir('imgpipe-registries-d-');
const config = (text: string) => ({ dir: 'x', ...parseRegistriesYaml(text, 'f.yaml') });
const base = (cfg: ReturnType<typeof config>, ref: string, write = false) => lookasideBase(cfg, parseDockerRef(ref), write, '/home/u').href;

describe('lookaside URLs', () => {
  const cfg = config(`
default-docker:
  lookaside: https://default.example/sigs
docker:
  example.com:
    lookaside: https://example.com/sigs
    lookaside-staging: file:///srv/staging
  example.com/ns/repo:tagged:
    sigstore: https://tag.example/legacy
  example.com/other:
    sigstore-staging: file:///srv/legacy-staging
  "*.wild.example":
    lookaside: https://wild.example/
`);

  it('picks the most specific scope, the staging URL for writing, and adds the repository path', () => {
    expect(base(cfg, 'example.com/ns/repo:tagged')).toBe('https://tag.example/legacy/ns/repo');
    expect(base(cfg, 'example.com/ns/repo:other')).toBe('https://example.com/sigs/ns/repo');
    expect(base(cfg, 'example.com/ns/repo:other', true)).toBe('file:///srv/staging/ns/repo');
    expect(base(cfg, 'example.com/other/x:1', true)).toBe('file:///srv/legacy-staging/other/x');
    // A namespace with only a staging URL gives nothing for reading: the next one answers.
    expect(base(cfg, 'example.com/other/x:1')).toBe('https://example.com/sigs/other/x');
    expect(base(cfg, 'a.wild.example/r:1')).toBe('https://wild.example/r');
    expect(base(cfg, 'busybox')).toBe('https://default.example/sigs/library/busybox');
  });

  it('falls back to the built-in default store when nothing is configured', () => {
    const empty = config('');
    const expected = process.getuid?.() === 0 ? 'file:///var/lib/containers/sigstore/a/b' : 'file:///home/u/.local/share/containers/sigstore/a/b';
    expect(base(empty, 'host.example/a/b:1')).toBe(expected);
  });

  it('names signature N of a digest as REPO@ALGO=HEX/signature-N', () => {
    const hex = 'a'.repeat(64);
    expect(lookasideURL(new URL('file:///s/ns/repo'), `sha256:${hex}`, 2).href).toBe(`file:///s/ns/repo@sha256=${hex}/signature-2`);
  });

  it('reads use-sigstore-attachments per scope', () => {
    const c = config('docker:\n  example.com/a:\n    use-sigstore-attachments: true\n');
    expect(useSigstoreAttachments(c, parseDockerRef('example.com/a/b:1'))).toBe(true);
    expect(useSigstoreAttachments(c, parseDockerRef('example.com/b:1'))).toBe(false);
  });
});

describe('strict parsing', () => {
  it.each([
    ['default-docker:\n  lookasid: file:///x\n', 'f.yaml: unknown key "lookasid" in default-docker'],
    ['docker:\n  example.com:\n    lookaside: 3\n', 'docker["example.com"].lookaside must be a URL string'],
    ['docker:\n  example.com:\n    lookaside: ftp://x/y\n', 'unsupported scheme'],
    ['docker:\n  example.com:\n    lookaside: not a url\n', 'invalid URL'],
    ['dockr:\n  x: {}\n', 'unknown key "dockr" (expected default-docker or docker)'],
    ['docker:\n  example.com:\n    use-sigstore-attachments: "yes"\n', 'must be true or false'],
    ['docker:\n  a: {}\n  a: {}\n', 'f.yaml:'],
    ['docker: [1]\n', 'docker is not a mapping'],
  ])('%j', (text, message) => {
    expect(() => config(text)).toThrow(message);
  });

  it('refuses a namespace or default-docker defined in two files, naming both', async () => {
    const dir = join(work, 'twice');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), 'docker:\n  example.com:\n    lookaside: file:///a\n');
    writeFileSync(join(dir, 'b.yaml'), 'docker:\n  example.com:\n    lookaside: file:///b\n');
    writeFileSync(join(dir, 'ignored.yml'), 'not: [valid');
    await expect(loadRegistriesD(dir)).rejects.toThrow(`"docker" namespace "example.com" defined both in ${join(dir, 'a.yaml')} and ${join(dir, 'b.yaml')}`);
  });

  it('uses --registries.d, else the user directory when it exists, else the system one', async () => {
    expect(await registriesDirPath('/given')).toBe('/given');
    expect(await registriesDirPath(undefined, join(work, 'nohome'))).toBe('/etc/containers/registries.d');
    mkdirSync(join(work, 'home/.config/containers/registries.d'), { recursive: true });
    expect(await registriesDirPath(undefined, join(work, 'home'))).toBe(join(work, 'home/.config/containers/registries.d'));
  });
});
