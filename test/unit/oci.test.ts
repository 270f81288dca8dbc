import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import { digestOf, isDigest, parseDigest } from '../../lib/oci/digest.js';
import { MAX_MANIFEST_SIZE, checkDescriptor, isForeign, parseManifest, referencedBlobs, validateManifest, type ImageManifest } from '../../lib/oci/manifest.js';
import { MediaType, baseMediaType, isImageManifestType, isIndexType } from '../../lib/oci/mediatype.js';
import { formatPlatform, parsePlatform } from '../../lib/oci/platform.js';
import { manifestOfRecord } from '../../lib/oci/record.js';

const enc = (s: string) => new TextEncoder().encode(s);
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const d = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

const ociManifest = () => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d(1), size: 100 },
  layers: [
    { mediaType: MediaType.ociLayerGzip, digest: d(2), size: 2000 },
    { mediaType: MediaType.ociLayerGzip, digest: d(3), size: 0 },
  ],
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
const json = (o: unknown) => enc(JSON.stringify(o));

describe('parseDigest / isDigest / digestOf', () => {
  it('accepts sha256 with 64 and sha512 with 128 lowercase hex digits', () => {
    expect(parseDigest(d(255))).toEqual({ algorithm: 'sha256', hex: d(255).slice(7) });
    expect(parseDigest(`sha512:${'a'.repeat(128)}`)).toEqual({ algorithm: 'sha512', hex: 'a'.repeat(128) });
  });

  it.each([
    ['sha256:' + 'a'.repeat(63), '64 lowercase hex digits'],
    ['sha256:' + 'a'.repeat(65), '64 lowercase hex digits'],
    ['sha256:' + 'A'.repeat(64), '64 lowercase hex digits'],
    ['sha512:' + 'a'.repeat(64), '128 lowercase hex digits'],
    ['sha384:' + 'a'.repeat(96), 'unsupported algorithm "sha384"'],
    ['md5:' + 'a'.repeat(32), 'unsupported algorithm "md5"'],
    ['sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', 'unsupported algorithm "sha256+b64u"'],
    ['SHA256:' + 'a'.repeat(64), 'expected ALGORITHM:HEX'],
    ['a'.repeat(64), 'expected ALGORITHM:HEX'],
    ['sha256:', 'expected ALGORITHM:HEX'],
    [':' + 'a'.repeat(64), 'expected ALGORITHM:HEX'],
    ['sha256:../../etc/passwd', 'expected ALGORITHM:HEX'],
    ['', 'expected ALGORITHM:HEX'],
  ])('refuses %j', (s, why) => {
    const e = caught(() => parseDigest(s, 'layer digest'));
    expect(e.code).toBe('DIGEST_INVALID');
    expect(e.message).toBe(`invalid layer digest ${JSON.stringify(s)}: ${e.message.split(': ').slice(1).join(': ')}`);
    expect(e.message).toContain(why);
    expect(isDigest(s)).toBe(false);
  });

  it('refuses a non-string', () => {
    expect(caught(() => parseDigest(42 as unknown as string)).code).toBe('DIGEST_INVALID');
  });

  it('digestOf hashes bytes with sha256 or sha512', () => {
    expect(digestOf(enc(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(digestOf(enc('abc'), 'sha512')).toBe(
      'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(isDigest(digestOf(enc('x')))).toBe(true);
  });
});

describe('media types', () => {
  it('baseMediaType drops parameters and case', () => {
    expect(baseMediaType('Application/JSON; charset=utf-8')).toBe('application/json');
    expect(baseMediaType(` ${MediaType.ociIndex} `)).toBe(MediaType.ociIndex);
  });
  it('classifies manifest and index types', () => {
    expect(isImageManifestType(MediaType.dockerManifest)).toBe(true);
    expect(isImageManifestType(MediaType.ociIndex)).toBe(false);
    expect(isIndexType(MediaType.dockerManifestList)).toBe(true);
    expect(isIndexType(undefined)).toBe(false);
  });
});

describe('parseManifest', () => {
  it.each([
    ['an OCI manifest', ociManifest(), 'image', MediaType.ociManifest],
    ['a Docker v2s2 manifest', dockerManifest(), 'image', MediaType.dockerManifest],
    ['an OCI index', ociIndex(), 'index', MediaType.ociIndex],
    ['a Docker manifest list', dockerList(), 'index', MediaType.dockerManifestList],
  ])('accepts %s', (_what, doc, kind, mediaType) => {
    const p = parseManifest(json(doc), 'X', mediaType as string);
    expect(p.kind).toBe(kind);
    expect(p.mediaType).toBe(mediaType);
    expect(p.manifest).toEqual(doc);
    // served as a generic type or not at all, the document's own mediaType decides
    expect(parseManifest(json(doc), 'X', 'application/json; charset=utf-8').mediaType).toBe(mediaType);
    expect(parseManifest(json(doc), 'X').mediaType).toBe(mediaType);
  });

  it('takes the type from where it was served when the document has no mediaType', () => {
    const { mediaType: _m, ...m } = ociManifest();
    expect(parseManifest(json(m), 'X', MediaType.ociManifest)).toMatchObject({ kind: 'image', mediaType: MediaType.ociManifest });
    const { mediaType: _i, ...i } = ociIndex();
    expect(parseManifest(json(i), 'X', `${MediaType.ociIndex}; charset=utf-8`)).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
  });

  it('guesses OCI types from the fields when neither says', () => {
    const { mediaType: _m, ...m } = ociManifest();
    expect(parseManifest(json(m), 'X')).toMatchObject({ kind: 'image', mediaType: MediaType.ociManifest });
    const { mediaType: _i, ...i } = ociIndex();
    expect(parseManifest(json(i), 'X', 'application/octet-stream')).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
  });

  it('accepts an artifact manifest with a subject and annotations', () => {
    const m = {
      ...ociManifest(),
      artifactType: 'application/vnd.example+json',
      subject: { mediaType: MediaType.ociManifest, digest: d(9), size: 10 },
      annotations: { a: 'b' },
    };
    expect(parseManifest(json(m), 'X').kind).toBe('image');
  });

  describe('schema 1', () => {
    it.each([
      ['schemaVersion 1', { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }, undefined],
      ['served as schema 1', ociManifest(), MediaType.dockerSchema1],
      ['served as signed schema 1', ociManifest(), `${MediaType.dockerSchema1Signed}; charset=utf-8`],
      ['declaring schema 1', { ...ociManifest(), mediaType: MediaType.dockerSchema1Signed }, undefined],
    ])('refuses %s with MANIFEST_UNSUPPORTED', (_what, doc, served) => {
      const e = caught(() => parseManifest(json(doc), 'docker://a/b:1', served));
      expect(e.code).toBe('MANIFEST_UNSUPPORTED');
      expect(e.message).toContain('manifest docker://a/b:1 is Docker schema 1');
    });
  });

  it('refuses a document with both layers and manifests as ambiguous', () => {
    const e = caught(() => parseManifest(json({ ...ociManifest(), manifests: [] }), 'X'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe('manifest X is ambiguous: it has image manifest fields "config", "layers" and index field "manifests"');
    const e2 = caught(() => parseManifest(json({ ...ociIndex(), layers: [] }), 'X'));
    expect(e2.message).toBe('manifest X is ambiguous: it has image manifest field "layers" and index field "manifests"');
  });

  it('refuses a document whose mediaType disagrees with how it was served', () => {
    const e = caught(() => parseManifest(json(ociManifest()), 'X', MediaType.dockerManifest));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe(`manifest X declares mediaType ${MediaType.ociManifest} but was served as ${MediaType.dockerManifest}`);
    const e2 = caught(() => parseManifest(json(ociIndex()), 'X', MediaType.ociManifest));
    expect(e2.message).toContain(`declares mediaType ${MediaType.ociIndex} but was served as ${MediaType.ociManifest}`);
  });

  it.each(['application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream', ''])('ignores the generic served type %j', (served) => {
    expect(parseManifest(json(dockerManifest()), 'X', served).mediaType).toBe(MediaType.dockerManifest);
  });

  it('refuses over 4 MiB with TOO_LARGE before parsing', () => {
    const big = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x20);
    const e = caught(() => parseManifest(big, 'X'));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toBe(`manifest X is ${MAX_MANIFEST_SIZE + 1} bytes, over the 4194304-byte limit`);
    // exactly 4 MiB is parsed (padded with whitespace)
    const body = JSON.stringify(ociManifest());
    const exact = new Uint8Array(MAX_MANIFEST_SIZE).fill(0x20);
    exact.set(enc(body));
    expect(parseManifest(exact, 'X').kind).toBe('image');
  });

  it('refuses invalid UTF-8 and non-JSON', () => {
    const bytes = json(ociManifest());
    const bad = new Uint8Array([...bytes.slice(0, 10), 0xff, 0xfe, ...bytes.slice(10)]);
    const e = caught(() => parseManifest(bad, 'X'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe('manifest X is not valid UTF-8');
    const e2 = caught(() => parseManifest(enc('{"schemaVersion": 2,'), 'X'));
    expect(e2.code).toBe('MANIFEST_INVALID');
    expect(e2.message).toMatch(/^manifest X is not JSON: /);
  });

  it.each([
    ['an array', [], 'is not a JSON object'],
    ['null', null, 'is not a JSON object'],
    ['schemaVersion 3', { ...ociManifest(), schemaVersion: 3 }, 'has schemaVersion 3, expected 2'],
    ['no schemaVersion', { config: ociManifest().config, layers: [] }, 'has schemaVersion undefined, expected 2'],
    ['a non-string mediaType', { ...ociManifest(), mediaType: 5 }, 'has a non-string mediaType'],
    ['no config', { schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }, 'has no "config" descriptor'],
    ['no layers', { schemaVersion: 2, mediaType: MediaType.ociManifest, config: ociManifest().config }, 'has no "layers" array'],
    ['layers not an array', { ...ociManifest(), layers: {} }, 'has no "layers" array'],
    ['no manifests', { schemaVersion: 2, mediaType: MediaType.ociIndex }, 'has no "manifests" array'],
    ['an index with config', { ...ociIndex(), config: ociManifest().config }, 'is ambiguous: it has image manifest field "config" and index field "manifests"'],
    [
      'an index with config and no manifests',
      { schemaVersion: 2, mediaType: MediaType.ociIndex, config: ociManifest().config },
      `is ambiguous: an index (${MediaType.ociIndex}) with image manifest field "config"`,
    ],
    [
      'a manifest with manifests',
      { schemaVersion: 2, mediaType: MediaType.ociManifest, manifests: [] },
      `is ambiguous: an image manifest (${MediaType.ociManifest}) with index field "manifests"`,
    ],
    ['no mediaType and nothing to tell the type by', { schemaVersion: 2 }, 'has no "config" descriptor'],
  ])('refuses %s', (_what, doc, why) => {
    const e = caught(() => validateManifest(doc, 'X'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toBe(`manifest X ${why}`);
  });

  it('refuses a media type that is neither manifest nor index with MANIFEST_UNSUPPORTED', () => {
    const e = caught(() => validateManifest({ schemaVersion: 2, mediaType: MediaType.ociConfig }, 'X'));
    expect(e.code).toBe('MANIFEST_UNSUPPORTED');
    expect(e.message).toBe(`manifest X has media type ${MediaType.ociConfig}, which is neither an image manifest nor an index`);
    // with no mediaType, GuessMIMEType's answer for an artifact is an OCI manifest (see manifest-ambiguity.test.ts)
  });

  describe('descriptors', () => {
    const withLayer = (layer: unknown) => ({ ...ociManifest(), layers: [ociManifest().layers[0], layer] });
    it.each([
      ['not an object', 'x', 'descriptor X layer 1 is not an object'],
      ['missing mediaType', { digest: d(1), size: 1 }, 'descriptor X layer 1 has no mediaType'],
      ['empty mediaType', { mediaType: '', digest: d(1), size: 1 }, 'descriptor X layer 1 has no mediaType'],
      ['missing digest', { mediaType: 'a/b', size: 1 }, 'descriptor X layer 1 has no digest'],
      ['bad digest', { mediaType: 'a/b', digest: 'sha256:abc', size: 1 }, 'invalid digest of X layer 1 "sha256:abc"'],
      ['negative size', { mediaType: 'a/b', digest: d(1), size: -1 }, 'descriptor X layer 1 has an invalid size -1'],
      ['non-integer size', { mediaType: 'a/b', digest: d(1), size: 1.5 }, 'descriptor X layer 1 has an invalid size 1.5'],
      ['string size', { mediaType: 'a/b', digest: d(1), size: '10' }, 'descriptor X layer 1 has an invalid size "10"'],
      ['missing size', { mediaType: 'a/b', digest: d(1) }, 'descriptor X layer 1 has an invalid size undefined'],
      ['unsafe size', { mediaType: 'a/b', digest: d(1), size: 2 ** 53 }, 'has an invalid size 9007199254740992'],
    ])('refuses a layer with %s', (_what, layer, msg) => {
      const e = caught(() => validateManifest(withLayer(layer), 'X'));
      expect(e.code).toBe('MANIFEST_INVALID');
      expect(e.message).toContain(msg);
    });

    it('names the config, index children and subject', () => {
      const m = ociManifest();
      expect(caught(() => validateManifest({ ...m, config: { ...m.config, size: -5 } }, 'X')).message).toBe('descriptor X config has an invalid size -5');
      const i = ociIndex();
      expect(caught(() => validateManifest({ ...i, manifests: [i.manifests[0], { ...i.manifests[1], digest: 'nope' }] }, 'X')).message).toContain(
        'X manifests[1]',
      );
      expect(caught(() => validateManifest({ ...m, subject: { mediaType: 'a/b', digest: d(1) } }, 'X')).message).toBe(
        'descriptor X subject has an invalid size undefined',
      );
    });

    it('checkDescriptor accepts a zero-size descriptor', () => {
      expect(() => checkDescriptor({ mediaType: MediaType.ociEmpty, digest: d(1), size: 0 }, 'Y')).not.toThrow();
    });
  });

  it('referencedBlobs lists config then layers, leaving foreign layers out', () => {
    const m: ImageManifest = {
      ...(dockerManifest() as ImageManifest),
      layers: [
        { mediaType: MediaType.dockerForeignLayerGzip, digest: d(7), size: 1, urls: ['https://x'] },
        { mediaType: MediaType.dockerLayerGzip, digest: d(2), size: 2 },
        { mediaType: MediaType.ociLayerNondistributableGzip, digest: d(8), size: 3 },
      ],
    };
    expect(referencedBlobs(m).map((x) => x.digest)).toEqual([d(1), d(2)]);
    expect(isForeign(m.layers[0]!)).toBe(true);
    expect(isForeign(m.layers[1]!)).toBe(false);
    expect(isForeign(m.layers[2]!)).toBe(true);
  });
});

describe('manifestOfRecord', () => {
  // deliberately not JSON.stringify's formatting, so re-serialising would change the digest
  const raw = JSON.stringify(ociManifest(), null, 3) + '\n';

  it('keeps raw byte for byte when the manifest is unchanged', () => {
    const r = manifestOfRecord({ raw, manifest: JSON.parse(raw), digest: sha(raw), mediaType: MediaType.ociManifest }, 'R');
    expect(r.bytes.toString('utf8')).toBe(raw);
    expect(r.digest).toBe(sha(raw));
    expect(r.mediaType).toBe(MediaType.ociManifest);
    expect(r.edited).toBe(false);
  });

  it('keeps raw when there is no parsed manifest', () => {
    const r = manifestOfRecord({ raw }, 'R');
    expect(r.bytes.equals(Buffer.from(raw))).toBe(true);
    expect(r.digest).toBe(sha(raw));
  });

  it('re-serialises an edited manifest and gives its new digest', () => {
    const edited = { ...JSON.parse(raw), annotations: { 'org.example': 'x' } };
    const r = manifestOfRecord({ raw, manifest: edited, digest: sha(raw) }, 'R');
    expect(r.edited).toBe(true);
    expect(r.bytes.toString('utf8')).toBe(JSON.stringify(edited));
    expect(r.digest).toBe(sha(JSON.stringify(edited)));
    expect(r.digest).not.toBe(sha(raw));
  });

  it('serialises a manifest given without raw', () => {
    const m = dockerManifest();
    const r = manifestOfRecord({ manifest: m }, 'R');
    expect(r).toMatchObject({ edited: true, mediaType: MediaType.dockerManifest, digest: sha(JSON.stringify(m)) });
  });

  it('uses sha512 when the record digest does', () => {
    const want = digestOf(enc(raw), 'sha512');
    expect(manifestOfRecord({ raw, digest: want }, 'R').digest).toBe(want);
  });

  it('refuses raw whose digest is not the record digest', () => {
    const e = caught(() => manifestOfRecord({ raw, digest: d(1) }, 'R'));
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.message).toBe(`record for R: "raw" has digest ${sha(raw)}, but the record says ${d(1)}`);
  });

  it('refuses a record with neither raw nor manifest, or raw that is not JSON', () => {
    const e = caught(() => manifestOfRecord({ ref: 'dir:/x' }, 'R'));
    expect(e.code).toBe('RECORD_INVALID');
    expect(e.message).toBe('record for R has neither "raw" nor "manifest"');
    const e2 = caught(() => manifestOfRecord({ raw: '{nope', manifest: {} }, 'R'));
    expect(e2.code).toBe('RECORD_INVALID');
    expect(e2.message).toMatch(/^record for R: "raw" is not JSON/);
  });

  it('validates the manifest against the record mediaType', () => {
    const e = caught(() => manifestOfRecord({ raw, mediaType: MediaType.dockerManifest }, 'R'));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toContain('but was served as');
    const e2 = caught(() => manifestOfRecord({ manifest: { ...ociManifest(), layers: [{ mediaType: 'x/y', digest: 'bad', size: 1 }] } }, 'R'));
    expect(e2.code).toBe('MANIFEST_INVALID');
    expect(e2.message).toContain('R layer 0');
  });
});

describe('parsePlatform / formatPlatform', () => {
  it.each([
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }],
    ['linux/ppc64le', { os: 'linux', architecture: 'ppc64le' }],
  ])('%s', (s, p) => {
    expect(parsePlatform(s)).toEqual(p);
    expect(formatPlatform(parsePlatform(s))).toBe(s);
  });
  it.each(['linux', 'linux/', '/amd64', 'linux/arm/v7/x', 'linux/am d64', '', 'linux//v7'])('refuses %j', (s) => {
    const e = caught(() => parsePlatform(s));
    expect(e.code).toBe('USAGE');
    expect(e.message).toBe(`invalid platform ${JSON.stringify(s)}: expected OS/ARCH[/VARIANT], e.g. linux/arm64/v8`);
  });
  it('formats a platform without a variant', () => {
    expect(formatPlatform({ os: 'linux', architecture: 's390x', 'os.version': '1' })).toBe('linux/s390x');
  });
});
