// containers-tls-details.yaml(5) as imgpipe reads it: the mapping of IANA names to node's (OpenSSL's)
// options, and strict parsing (containers/image basetls + tlsdetails).
import { getCiphers } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseTlsDetails } from '../../lib/util/tls-details.js';

const parse = (text: string) => parseTlsDetails(text, 'f.yaml');
const problem = (text: string) => {
  try {
    parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('parseTlsDetails', () => {
  it("maps containers/image's example file to node's options", () => {
    expect(
      parse(
        'minVersion: "1.2"\ncipherSuites:\n  - "TLS_AES_128_GCM_SHA256"\n  - "TLS_CHACHA20_POLY1305_SHA256"\nnamedGroups:\n  - "secp256r1"\n  - "secp384r1"\n  - "x25519"\n',
      ),
    ).toEqual({
      minVersion: 'TLSv1.2',
      ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
      ecdhCurve: 'P-256:P-384:X25519',
    });
  });
  it('reads every version, and an unquoted one as the text it is (as yaml.v3 into a string)', () => {
    expect(['1.0', '1.1', '1.2', '1.3'].map((v) => parse(`minVersion: ${v}\n`).minVersion)).toEqual(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
    expect(problem('minVersion: 1.20\n')).toBe('--tls-details f.yaml: minVersion: unrecognized TLS minimum version "1.20" (1.0, 1.1, 1.2, 1.3)');
  });
  it('maps TLS 1.2 suites to the OpenSSL names node offers', () => {
    const o = parse('cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384]\n');
    expect(o.ciphers).toBe('ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:AES256-GCM-SHA384');
    const offered = new Set(getCiphers());
    for (const c of o.ciphers!.split(':')) expect(offered.has(c.toLowerCase()), c).toBe(true);
  });
  it('empty fields are the defaults, as containers/image (but an empty cipher list, which allows no connection, is refused)', () => {
    expect(parse('{}\n')).toEqual({});
    expect(parse('minVersion: ""\nnamedGroups: []\n')).toEqual({});
    expect(problem('minVersion: ""\ncipherSuites: []\nnamedGroups: []\n')).toBe(
      '--tls-details f.yaml: cipherSuites: an empty list would allow no TLS connection at all',
    );
  });
  it('is strict: unknown keys, names, shapes and duplicates are errors naming the file and the key', () => {
    expect(problem('minversion: "1.2"\n')).toBe('--tls-details f.yaml: unknown key "minversion" (known: minVersion, cipherSuites, namedGroups)');
    expect(problem('cipherSuites: TLS_AES_128_GCM_SHA256\n')).toBe('--tls-details f.yaml: cipherSuites: expected a list of IANA names');
    expect(problem('namedGroups: [[x25519]]\n')).toBe('--tls-details f.yaml: namedGroups: expected a list of strings');
    expect(problem('namedGroups: [prime256v1]\n')).toBe('--tls-details f.yaml: namedGroups: unrecognized TLS named group "prime256v1"');
    expect(problem('minVersion: "1.2"\nminVersion: "1.3"\n')).toMatch(/^--tls-details f\.yaml: not YAML: /);
    expect(problem('- 1.2\n')).toBe('--tls-details f.yaml: expected a mapping of minVersion, cipherSuites, namedGroups');
    expect(problem('')).toBe('--tls-details f.yaml: empty (write {} for no settings)');
  });
});
