import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import { makePayload, parsePayload, checkSignedReference, SIGNATURE_TYPE } from '../../lib/signature/simple.js';
import { goString } from '../../lib/util/gostring.js';
import { parseStrictJSON, StrictJSONError } from '../../lib/util/strict-json.js';

const D = `sha256:${'ab'.repeat(32)}`;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const good = (
  critical = `{"identity":{"docker-reference":"example.com/a:1"},"image":{"docker-manifest-digest":"${D}"},"type":"${SIGNATURE_TYPE}"}`,
  optional = '{"creator":"x","timestamp":1}',
) => enc(`{"critical":${critical},"optional":${optional}}`);

describe('strict JSON', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"],"b":{"c":{}},"d":[]}';
    expect(parseStrictJSON(text)).toEqual(JSON.parse(text));
  });
  it('rejects duplicate keys at any depth, also when spelled with escapes', () => {
    for (const text of ['{"a":1,"a":2}', '{"x":{"b":1,"c":2,"b":3}}', '[{"k":1},{"k":1,"k":2}]', '{"ab":1,"\\u0061b":2}']) {
      expect(() => parseStrictJSON(text), text).toThrow(/duplicate key/);
    }
    expect(JSON.parse('{"a":1,"a":2}')).toEqual({ a: 2 }); // what the strict parser guards against
  });
  it('rejects trailing data, bad syntax, BOM and invalid UTF-8', () => {
    for (const text of ['{} {}', '{"a":1,}', '[1,]', '{"a" 1}', "{'a':1}", '01', '1.', '"\t"', '\ufeff{}', '{"a":tru}', '"\\x"']) {
      expect(() => parseStrictJSON(text), JSON.stringify(text)).toThrow(StrictJSONError);
    }
    expect(() => parseStrictJSON(new Uint8Array([0x22, 0xff, 0x22]))).toThrow(/UTF-8/);
  });
  it('keeps __proto__ as a plain key', () => {
    const v = parseStrictJSON('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => parseStrictJSON('['.repeat(100000))).toThrow(/nesting/);
  });
});

describe('signature payload', () => {
  it('is written byte for byte as containers/image writes it', () => {
    // The bytes skopeo 1.9 (containers/image 5.23) signed, with creator and timestamp.
    const skopeo = `{"critical":{"identity":{"docker-reference":"docker.io/library/busybox:latest"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"},"optional":{"creator":"atomic 5.23.1","timestamp":1795451510}}`;
    expect(
      dec(makePayload({ dockerReference: 'docker.io/library/busybox:latest', dockerManifestDigest: D, creator: 'atomic 5.23.1', timestamp: 1795451510 })),
    ).toBe(skopeo);
    expect(dec(makePayload({ dockerReference: 'a/b:1', dockerManifestDigest: D }))).toMatch(/"optional":\{\}\}$/);
  });
  it('escapes strings as Go does', () => {
    expect(goString('a<b>&"\\\n\u2028\u0001é')).toBe('"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\u2028\\u0001é"');
  });
  it('round-trips', () => {
    const p = { dockerReference: 'example.com/a:1', dockerManifestDigest: D, creator: 'imgpipe', timestamp: 42 };
    expect(parsePayload(makePayload(p))).toEqual(p);
    expect(parsePayload(good(undefined, '{}'))).toEqual({ dockerReference: 'example.com/a:1', dockerManifestDigest: D });
  });
  it('rejects a duplicate key anywhere, naming it', () => {
    const dupRef = `{"identity":{"docker-reference":"example.com/a:1","docker-reference":"evil.com/a:1"},"image":{"docker-manifest-digest":"${D}"},"type":"${SIGNATURE_TYPE}"}`;
    expect(caught(() => parsePayload(good(dupRef))).message).toMatch(/duplicate key "docker-reference"/);
    expect(caught(() => parsePayload(good(undefined, '{"creator":"a","creator":"b"}'))).message).toMatch(/duplicate key "creator"/);
    expect(caught(() => parsePayload(good(undefined, '{"x":{"y":1,"y":2}}'))).message).toMatch(/duplicate key "y"/);
    const dupTop = enc(
      `{"critical":{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":"${D}"},"type":"${SIGNATURE_TYPE}"},"optional":{},"optional":{}}`,
    );
    expect(caught(() => parsePayload(dupTop)).code).toBe('SIGNATURE_INVALID');
  });
  it('rejects unknown or missing keys in critical, image, identity and the top level', () => {
    const cases: [Uint8Array, RegExp][] = [
      [
        good(`{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":"${D}"},"type":"${SIGNATURE_TYPE}","extra":1}`),
        /unknown key "extra" in critical/,
      ],
      [
        good(`{"identity":{"docker-reference":"a/b:1","x":1},"image":{"docker-manifest-digest":"${D}"},"type":"${SIGNATURE_TYPE}"}`),
        /unknown key "x" in critical.identity/,
      ],
      [
        good(`{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":"${D}","x":1},"type":"${SIGNATURE_TYPE}"}`),
        /unknown key "x" in critical.image/,
      ],
      [good(`{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":"${D}"}}`), /key "type" missing in critical/],
      [enc(`{"critical":{}}`), /key "optional" missing in payload/],
      [enc(`{"critical":{},"optional":{},"more":1}`), /unknown key "more" in payload/],
    ];
    for (const [bytes, re] of cases) expect(caught(() => parsePayload(bytes)).message).toMatch(re);
  });
  it('ignores unknown optional keys but checks the known ones', () => {
    expect(parsePayload(good(undefined, '{"future":[1,2],"timestamp":5}')).timestamp).toBe(5);
    expect(caught(() => parsePayload(good(undefined, '{"timestamp":1.5}'))).message).toMatch(/not an integer/);
    expect(caught(() => parsePayload(good(undefined, '{"creator":7}'))).message).toMatch(/creator is not a string/);
    expect(caught(() => parsePayload(good(undefined, '[]'))).message).toMatch(/optional is not a JSON object/);
  });
  it('checks the type, the digest and value types', () => {
    const typ = (t: string) => good(`{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":"${D}"},"type":${t}}`);
    expect(caught(() => parsePayload(typ('"other"'))).message).toMatch(/unrecognized signature type "other"/);
    expect(caught(() => parsePayload(typ('1'))).message).toMatch(/type is not a string/);
    const dig = (d: string) => good(`{"identity":{"docker-reference":"a/b:1"},"image":{"docker-manifest-digest":${d}},"type":"${SIGNATURE_TYPE}"}`);
    expect(caught(() => parsePayload(dig('"sha256:abc"'))).message).toMatch(/invalid docker-manifest-digest/);
    expect(caught(() => parsePayload(dig('null'))).message).toMatch(/not a string/);
    expect(caught(() => parsePayload(enc('{"critical":1,"optional":{}}'))).message).toMatch(/critical is not a JSON object/);
    expect(caught(() => parsePayload(enc('not json'))).message).toMatch(/^invalid signature: payload: unexpected character/);
  });
});

describe('signed reference', () => {
  it('compares normalised references without adding a tag', () => {
    checkSignedReference('docker.io/library/busybox:latest', 'busybox:latest');
    checkSignedReference('busybox:latest', 'index.docker.io/library/busybox:latest');
    expect(caught(() => checkSignedReference('docker.io/library/busybox:latest', 'busybox')).message).toMatch(/does not match "busybox"/);
    expect(caught(() => checkSignedReference('example.com/a:1', 'example.com/a:2')).message).toMatch(/does not match/);
    expect(caught(() => checkSignedReference('Not A Ref', 'example.com/a:2')).message).toMatch(/invalid docker reference "Not A Ref" in signature/);
  });
});
