import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import { goFoldName, goField, goKeys } from '../../lib/oci/gojson.js';
import { guessManifestType, guessMIMEType } from '../../lib/oci/guess.js';
import { parseManifest, validateManifest } from '../../lib/oci/manifest.js';
import { MediaType } from '../../lib/oci/mediatype.js';

// Manifests from containers/image's own tests (Apache-2.0, see test/fixtures/containers-image/README.md).
const FIXTURES = join(__dirname, '../fixtures/containers-image');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const enc = (s: string) => new TextEncoder().encode(s);
const json = (o: unknown) => enc(JSON.stringify(o));
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

const ociManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d(1), size: 100 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d(2), size: 2000 }],
});
const dockerManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, digest: d(1), size: 100 },
  layers: [{ mediaType: MediaType.dockerLayerGzip, digest: d(2), size: 2000 }],
});
const ociIndex = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: d(4), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MediaType.ociManifest, digest: d(5), size: 501, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
});
const dockerList = () => ({ ...ociIndex(), mediaType: MediaType.dockerManifestList });
const without = <T extends Record<string, unknown>>(o: T, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

/** withField adds `"field":[]` before the last '}', as containers/image's testValidManifestWithExtraFieldsIsRejected does. */
function withField(bytes: Uint8Array, field: string, value = '[]'): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  const end = text.lastIndexOf('}');
  return enc(`${text.slice(0, end)},${JSON.stringify(field)}:${value}}`);
}

describe('GuessMIMEType (containers/image internal/manifest TestGuessMIMEType)', () => {
  it.each([
    ['v2s2.manifest.json', MediaType.dockerManifest],
    ['v2list.manifest.json', MediaType.dockerManifestList],
    ['v2s1.manifest.json', MediaType.dockerSchema1Signed],
    ['v2s1-unsigned.manifest.json', MediaType.dockerSchema1],
    ['v2s1-invalid-signatures.manifest.json', MediaType.dockerSchema1Signed],
    ['v2s2nomime.manifest.json', MediaType.dockerManifest],
    ['unknown-version.manifest.json', ''],
    ['non-json.manifest.json', ''],
    ['ociv1.manifest.json', MediaType.ociManifest],
    ['ociv1.artifact.json', MediaType.ociManifest],
    ['ociv1.image.index.json', MediaType.ociIndex],
    ['ociv1nomime.manifest.json', MediaType.ociManifest],
    ['ociv1nomime.artifact.json', MediaType.ociManifest],
    ['ociv1nomime.image.index.json', MediaType.ociIndex],
  ])('%s → %j', (name, want) => {
    expect(guessMIMEType(fixture(name))).toBe(want);
  });

  const config = (mediaType: unknown) => ({ mediaType, digest: d(1), size: 1 });
  const entry = { mediaType: MediaType.ociManifest, digest: d(4), size: 5 };
  it.each<[string, unknown, string]>([
    // its own mediaType, only the four schema 2 / OCI types
    [
      'a recognized mediaType wins over the config',
      { schemaVersion: 2, mediaType: MediaType.ociManifest, config: config(MediaType.dockerConfig) },
      MediaType.ociManifest,
    ],
    ['a recognized mediaType needs no schemaVersion', { mediaType: MediaType.dockerManifestList }, MediaType.dockerManifestList],
    [
      'an unrecognized mediaType is passed over',
      { schemaVersion: 2, mediaType: 'application/vnd.example', config: config(MediaType.dockerConfig) },
      MediaType.dockerManifest,
    ],
    [
      'a schema 1 mediaType with schemaVersion 2 is passed over',
      { schemaVersion: 2, mediaType: MediaType.dockerSchema1, config: config(MediaType.dockerConfig) },
      MediaType.dockerManifest,
    ],
    ['a mediaType with parameters is not recognized', { schemaVersion: 2, mediaType: `${MediaType.ociIndex}; x=y`, manifests: [entry] }, MediaType.ociIndex],
    // schema 1
    ['schemaVersion 1 with signatures', { schemaVersion: 1, signatures: [] }, MediaType.dockerSchema1Signed],
    ['schemaVersion 1 with "signatures": null', { schemaVersion: 1, signatures: null }, MediaType.dockerSchema1],
    ['schemaVersion 1 with an OCI config', { schemaVersion: 1, config: config(MediaType.ociConfig) }, MediaType.dockerSchema1],
    // schemaVersion 2, from the config, then the manifests
    ['a Docker config', { schemaVersion: 2, config: config(MediaType.dockerConfig), layers: [] }, MediaType.dockerManifest],
    ['an OCI config', { schemaVersion: 2, config: config(MediaType.ociConfig), layers: [] }, MediaType.ociManifest],
    ['a Docker config with manifests', { schemaVersion: 2, config: config(MediaType.dockerConfig), manifests: [entry] }, MediaType.dockerManifest],
    ['manifests and no config', { schemaVersion: 2, manifests: [entry] }, MediaType.ociIndex],
    ['manifests and a config without mediaType', { schemaVersion: 2, config: {}, manifests: [entry] }, MediaType.ociIndex],
    [
      'manifests and an artifact config: its type (their FIXME)',
      { schemaVersion: 2, config: config('application/vnd.example'), manifests: [entry] },
      'application/vnd.example',
    ],
    ['empty manifests', { schemaVersion: 2, manifests: [] }, MediaType.ociManifest],
    ['"manifests": null', { schemaVersion: 2, manifests: null }, MediaType.ociManifest],
    ['a null entry decodes as an empty descriptor', { schemaVersion: 2, manifests: [null] }, MediaType.ociIndex],
    ['an artifact config and no manifests', { schemaVersion: 2, config: config('application/vnd.example') }, MediaType.ociManifest],
    ['nothing but schemaVersion 2', { schemaVersion: 2 }, MediaType.ociManifest],
    // what Go cannot decode is ''
    ['a mediaType that is not a string', { schemaVersion: 2, mediaType: 5, config: config(MediaType.ociConfig) }, ''],
    ['a schemaVersion that is a string', { schemaVersion: '2', config: config(MediaType.ociConfig) }, ''],
    ['a schemaVersion that is not an integer', { schemaVersion: 2.5, config: config(MediaType.ociConfig) }, ''],
    ['a config that is not an object', { schemaVersion: 2, config: 'x' }, ''],
    ['a config mediaType that is not a string', { schemaVersion: 2, config: config(7) }, ''],
    ['manifests that are not an array', { schemaVersion: 2, manifests: {} }, ''],
    ['an entry that is not an object', { schemaVersion: 2, manifests: ['x'] }, ''],
    ['an entry whose size is a string', { schemaVersion: 2, manifests: [{ ...entry, size: '5' }] }, ''],
    ['an entry whose urls are not strings', { schemaVersion: 2, manifests: [{ ...entry, urls: [1] }] }, ''],
    ['an entry whose data is not base64', { schemaVersion: 2, manifests: [{ ...entry, data: 'not base64!' }] }, ''],
    ['an entry whose platform os is a number', { schemaVersion: 2, manifests: [{ ...entry, platform: { os: 1 } }] }, ''],
    [
      'an entry with base64 data and a partial platform',
      { schemaVersion: 2, manifests: [{ ...entry, data: 'e30=', platform: { os: 'linux' } }] },
      MediaType.ociIndex,
    ],
    ['other schemaVersions', { schemaVersion: 3, config: config(MediaType.ociConfig) }, ''],
    ['no schemaVersion', { config: config(MediaType.ociConfig) }, ''],
    ['an array', [], ''],
    ['null', null, ''],
    // fields are found as Go finds them
    ['"MediaType"', { SchemaVersion: 2, MediaType: MediaType.dockerManifestList }, MediaType.dockerManifestList],
    ['"SCHEMAVERSION" and "Signatures"', { SCHEMAVERSION: 1, Signatures: {} }, MediaType.dockerSchema1Signed],
    ['"ſchemaVersion" (U+017F LONG S)', { ſchemaVersion: 1 }, MediaType.dockerSchema1],
    ['"Config"."MEDIATYPE"', { schemaVersion: 2, Config: { MEDIATYPE: MediaType.dockerConfig } }, MediaType.dockerManifest],
    ['"Manifests"', { schemaVersion: 2, Manifests: [entry] }, MediaType.ociIndex],
  ])('%s', (_what, doc, want) => {
    expect(guessManifestType(doc)).toBe(want);
    expect(guessMIMEType(json(doc))).toBe(want);
  });

  it('a byte order mark is a JSON syntax error to Go, so nothing is guessed', () => {
    expect(guessMIMEType(enc(`\uFEFF${JSON.stringify(ociManifest())}`))).toBe('');
    expect(guessMIMEType(enc(JSON.stringify(ociManifest())))).toBe(MediaType.ociManifest);
  });

  it('folds keys as encoding/json does', () => {
    expect(goFoldName('fsLayers')).toBe('FSLAYERS');
    expect(goFoldName('fſLayers')).toBe('FSLAYERS');
    expect(goFoldName('\u212Aey')).toBe('KEY'); // KELVIN SIGN
    expect(goFoldName('ıd')).not.toBe('ID'); // dotless i is not in i's fold set
    expect(goFoldName('os.version')).toBe('OS.VERSION');
    expect(goKeys({ a: 1, fsLayers: 2, FSLayers: 3, fslayer: 4 }, 'fsLayers')).toEqual(['fsLayers', 'FSLayers']);
    expect(goField({ fsLayers: 2, FSLayers: 3 }, 'fsLayers')).toBe(3);
    expect(goField({ a: 1 }, 'fsLayers')).toBeUndefined();
  });
});

describe('validateManifest: the type of a manifest without mediaType', () => {
  it.each([
    ['v2s2nomime.manifest.json', 'image', MediaType.dockerManifest],
    ['ociv1nomime.manifest.json', 'image', MediaType.ociManifest],
    ['ociv1nomime.image.index.json', 'index', MediaType.ociIndex],
  ])('%s is typed %s %s', (name, kind, mediaType) => {
    expect(parseManifest(fixture(name), 'X')).toMatchObject({ kind, mediaType });
    expect(parseManifest(fixture(name), 'X', 'application/octet-stream')).toMatchObject({ kind, mediaType });
  });

  it('a Docker config makes Docker schema 2, an OCI config OCI, an artifact config OCI', () => {
    expect(validateManifest(without(dockerManifest(), 'mediaType'), 'X').mediaType).toBe(MediaType.dockerManifest);
    expect(validateManifest(without(ociManifest(), 'mediaType'), 'X').mediaType).toBe(MediaType.ociManifest);
    const artifact = { ...without(ociManifest(), 'mediaType'), config: { mediaType: 'application/vnd.example+json', digest: d(1), size: 2 } };
    expect(validateManifest(artifact, 'X').mediaType).toBe(MediaType.ociManifest);
  });

  it('manifests make an OCI index (a Docker list needs its mediaType)', () => {
    expect(validateManifest(without(dockerList(), 'mediaType'), 'X')).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
  });

  it('the type it was served as still comes before the guess', () => {
    expect(validateManifest(without(dockerManifest(), 'mediaType'), 'X', MediaType.ociManifest).mediaType).toBe(MediaType.ociManifest);
    expect(validateManifest(without(ociIndex(), 'mediaType'), 'X', MediaType.dockerManifestList).mediaType).toBe(MediaType.dockerManifestList);
  });

  it('refuses a document whose type cannot be told', () => {
    const e = caught(() => validateManifest({ schemaVersion: 2, config: 'x', layers: [] }, 'dir:/tmp/i'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe('manifest dir:/tmp/i has no mediaType, and its config or manifests are malformed, so its type cannot be told');
    expect(caught(() => validateManifest({ schemaVersion: 2, manifests: [{ size: 'x' }] }, 'X')).message).toContain('its type cannot be told');
  });

  it('an empty manifests array without mediaType is an OCI manifest to GuessMIMEType, so it needs a config', () => {
    expect(caught(() => validateManifest({ schemaVersion: 2, manifests: [] }, 'X')).message).toBe(
      `manifest X is ambiguous: an image manifest (${MediaType.ociManifest}) with index field "manifests"`,
    );
    expect(validateManifest({ schemaVersion: 2, manifests: [] }, 'X', MediaType.ociIndex).kind).toBe('index');
  });
});

describe('validateManifest: ambiguous documents', () => {
  it('names the document and the reason', () => {
    const e = caught(() => validateManifest({ ...dockerManifest(), fsLayers: [] }, 'docker://h/r:t'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe('manifest docker://h/r:t is ambiguous: schemaVersion 2 with schema 1 field "fsLayers"');
    expect(caught(() => validateManifest({ ...ociManifest(), fsLayers: [], history: [] }, 'X')).message).toBe(
      'manifest X is ambiguous: schemaVersion 2 with schema 1 fields "fsLayers", "history"',
    );
  });

  // containers/image: Schema2FromManifest and OCI1FromManifest allow config and layers and refuse
  // fsLayers, history and manifests; the list and index parsers allow manifests and refuse config,
  // fsLayers, history and layers.
  describe.each([
    ['Docker schema 2 (docker_schema2_test.go)', 'v2s2.manifest.json', MediaType.dockerManifest, ['fsLayers', 'history', 'manifests']],
    ['OCI manifest (oci_test.go)', 'ociv1.manifest.json', MediaType.ociManifest, ['fsLayers', 'history', 'manifests']],
    ['Docker list (docker_schema2_list_test.go)', 'v2list.manifest.json', MediaType.dockerManifestList, ['config', 'fsLayers', 'history', 'layers']],
    ['OCI index (oci_index_test.go)', 'ociv1.image.index.json', MediaType.ociIndex, ['config', 'fsLayers', 'history', 'layers']],
  ])('%s', (_what, name, type, fields) => {
    it('accepts the valid fixture', () => {
      expect(parseManifest(fixture(name), 'X', type).mediaType).toBe(type);
      expect(parseManifest(fixture(name), 'X').mediaType).toBe(type);
    });
    it.each(fields)('refuses it with "%s" added, served as its type or not at all', (field) => {
      for (const served of [type, undefined]) {
        const e = caught(() => parseManifest(withField(fixture(name), field), 'docker://h/r:t', served));
        expect(e.code).toBe('MANIFEST_INVALID');
        expect(e.message).toMatch(new RegExp(`^manifest docker://h/r:t is ambiguous: .*"${field}"`));
      }
    });
    it.each(fields)('refuses it with "%s": null too (stricter than containers/image)', (field) => {
      expect(caught(() => parseManifest(withField(fixture(name), field, 'null'), 'X', type)).message).toContain(`is ambiguous`);
    });
    it.each(fields)('refuses it with "%s" in upper case, as Go reads that key', (field) => {
      const e = caught(() => parseManifest(withField(fixture(name), field.toUpperCase()), 'X', type));
      expect(e.message).toMatch(new RegExp(`^manifest X is ambiguous: .*"${field.toUpperCase()}"`));
    });
  });

  // containers/image: "schema mismatch is rejected" for the same parsers; imgpipe refuses a
  // document whose mediaType is not the type it was served as, and schema 1 as unsupported.
  it.each([
    [MediaType.dockerManifest, ['v2list.manifest.json', 'ociv1.manifest.json', 'ociv1.image.index.json']],
    [MediaType.ociManifest, ['v2list.manifest.json', 'ociv1.image.index.json', 'v2s2.manifest.json']],
    [MediaType.dockerManifestList, ['v2s2.manifest.json', 'ociv1.manifest.json', 'ociv1.image.index.json']],
    [MediaType.ociIndex, ['v2s2.manifest.json', 'ociv1.manifest.json', 'v2list.manifest.json']],
  ])('served as %s, refuses the fixtures of other types', (type, names) => {
    for (const name of names) {
      const e = caught(() => parseManifest(fixture(name), 'X', type));
      expect(e.code, name).toBe('MANIFEST_INVALID');
      expect(e.message, name).toContain(`but was served as ${type}`);
    }
    expect(caught(() => parseManifest(fixture('schema2-to-schema1-by-docker.json'), 'X', type)).code).toBe('MANIFEST_UNSUPPORTED');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['fſLayers (U+017F LONG S)', { ...ociManifest(), fſLayers: [] }, 'schemaVersion 2 with schema 1 field "fſLayers"'],
    ['HISTORY', { ...dockerManifest(), HISTORY: [] }, 'schemaVersion 2 with schema 1 field "HISTORY"'],
    ['Manifests in a manifest', { ...ociManifest(), Manifests: [] }, 'it has image manifest fields "config", "layers" and index field "Manifests"'],
    ['Layers in an index', { ...ociIndex(), Layers: [] }, 'it has image manifest field "Layers" and index field "manifests"'],
    [
      'CONFIG in an index without manifests',
      { schemaVersion: 2, mediaType: MediaType.ociIndex, CONFIG: {} },
      `an index (${MediaType.ociIndex}) with image manifest field "CONFIG"`,
    ],
    [
      'config and layers and manifests without mediaType',
      { ...without(ociManifest(), 'mediaType'), manifests: ociIndex().manifests },
      'it has image manifest fields "config", "layers" and index field "manifests"',
    ],
    [
      'manifests without mediaType next to a Docker config',
      { schemaVersion: 2, config: dockerManifest().config, manifests: [] },
      'it has image manifest field "config" and index field "manifests"',
    ],
    ['a second layers key', { ...ociManifest(), Layers: [] }, 'key "Layers" is the field "layers" to case-insensitive readers (Go\'s encoding/json)'],
    [
      'a second mediaType key',
      { ...ociManifest(), MediaType: MediaType.ociIndex },
      'key "MediaType" is the field "mediaType" to case-insensitive readers (Go\'s encoding/json)',
    ],
    ['schemaVersion in another case', { ...ociManifest(), SchemaVersion: 1 }, 'key "SchemaVersion" is the field "schemaVersion"'],
    ['subject in another case', { ...ociManifest(), Subject: ociManifest().config }, 'key "Subject" is the field "subject"'],
  ])('refuses %s', (_what, doc, why) => {
    const e = caught(() => validateManifest(doc, 'X'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toContain(`manifest X is ambiguous: ${why}`);
  });

  it('refuses a descriptor or platform key that only Go reads as a field', () => {
    const m = ociManifest();
    const layer = { ...m.layers[0]!, Digest: d(9) };
    expect(caught(() => validateManifest({ ...m, layers: [layer] }, 'X')).message).toBe(
      'descriptor X layer 0 is ambiguous: key "Digest" is the field "digest" to case-insensitive readers (Go\'s encoding/json)',
    );
    expect(caught(() => validateManifest({ ...m, config: { ...m.config, SIZE: 1 } }, 'X')).message).toContain('descriptor X config is ambiguous: key "SIZE"');
    const i = ociIndex();
    const entry = { ...i.manifests[0]!, platform: { os: 'linux', architecture: 'amd64', OS: 'windows' } };
    expect(caught(() => validateManifest({ ...i, manifests: [entry] }, 'X')).message).toBe(
      'descriptor X manifests[0] platform is ambiguous: key "OS" is the field "os" to case-insensitive readers (Go\'s encoding/json)',
    );
  });

  it('accepts keys that are no field in any case, and annotations of any case', () => {
    const m = { ...ociManifest(), annotations: { Config: 'x', LAYERS: 'y' }, 'x-layers': 1, configs: [] };
    expect(validateManifest(m, 'X').kind).toBe('image');
  });
});

describe('validateManifest: index entries with a platform', () => {
  const withPlatform = (platform: unknown, base = ociIndex()) => ({ ...base, manifests: [base.manifests[0], { ...base.manifests[1], platform }] });

  it.each<[string, unknown, string]>([
    ['without os', { architecture: 'arm64' }, 'has a platform without "os"'],
    ['without architecture', { os: 'linux', variant: 'v8' }, 'has a platform without "architecture"'],
    ['without either', {}, 'has a platform without "os"'],
    ['with an empty os', { os: '', architecture: 'arm64' }, 'has a platform whose "os" is "", not a name'],
    ['with a numeric architecture', { os: 'linux', architecture: 64 }, 'has a platform whose "architecture" is 64, not a name'],
    ['with a null os', { os: null, architecture: 'arm64' }, 'has a platform whose "os" is null, not a name'],
    ['that is a string', 'linux/arm64', 'has a platform that is not an object'],
    ['that is an array', ['linux'], 'has a platform that is not an object'],
    ['with a numeric variant', { os: 'linux', architecture: 'arm', variant: 7 }, 'has a platform whose "variant" is not a string'],
    [
      'with os.features not an array',
      { os: 'windows', architecture: 'amd64', 'os.features': 'win32k' },
      'has a platform whose "os.features" is not an array of strings',
    ],
    ['with features of numbers', { os: 'linux', architecture: 'amd64', features: [1] }, 'has a platform whose "features" is not an array of strings'],
  ])('refuses an entry %s', (_what, platform, why) => {
    for (const base of [ociIndex(), dockerList()]) {
      const e = caught(() => validateManifest(withPlatform(platform, base), 'docker://h/r:t'));
      expect(e.code).toBe('MANIFEST_INVALID');
      expect(e.message).toBe(`descriptor docker://h/r:t manifests[1] ${why}`);
    }
  });

  it('accepts entries without a platform, with "platform": null, and with every platform field', () => {
    const i = ociIndex();
    expect(validateManifest({ ...i, manifests: [without(i.manifests[0]!, 'platform')] }, 'X').kind).toBe('index');
    expect(validateManifest(withPlatform(null), 'X').kind).toBe('index');
    const full = { os: 'windows', architecture: 'amd64', variant: 'x', 'os.version': '10.0.17763.1', 'os.features': ['win32k'], features: ['sse4'] };
    expect(validateManifest(withPlatform(full), 'X').kind).toBe('index');
    expect(parseManifest(fixture('v2list.manifest.json'), 'X').kind).toBe('index');
  });

  it('checks the platforms of an oci: layout index.json too (served as an OCI index)', () => {
    const e = caught(() => validateManifest(withPlatform({ architecture: 'amd64' }), 'oci:/tmp/l index.json', MediaType.ociIndex));
    expect(e.message).toBe('descriptor oci:/tmp/l index.json manifests[1] has a platform without "os"');
  });
});
