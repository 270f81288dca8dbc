/**
 * containers-tls-details.yaml(5), skopeo's global --tls-details FILE (containers/image
 * pkg/cli/basetls): minVersion, cipherSuites (IANA names), namedGroups (IANA names), read strictly
 * and mapped to node's TLS options for every TLS connection imgpipe makes. What node cannot honour
 * is refused naming the file and the key. Unlike Go, node applies a cipher list to TLS 1.3 too:
 * TLS 1.3 suites listed restrict TLS 1.3; a list without one keeps its defaults, as Go (decision 35).
 */
import { readFileSync } from 'node:fs';
import { getCiphers } from 'node:tls';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { ImgError } from '../errors.js';

/** TlsOptions are the node TLS options a details file gives (for tls.connect, https.Agent, createSecureContext). */
export interface TlsOptions {
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  ecdhCurve?: string;
}

const VERSIONS: Record<string, NonNullable<TlsOptions['minVersion']>> = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

/** SUITES maps the IANA names Go's crypto/tls knows (CipherSuites and InsecureCipherSuites, which basetls accepts) to OpenSSL's. */
const SUITES: Record<string, string> = {
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
};

/** GROUPS maps the IANA group names basetls accepts to OpenSSL's; X25519MLKEM768 needs an OpenSSL newer than node 20's. */
const GROUPS: Record<string, string | undefined> = { secp256r1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521', x25519: 'X25519', X25519MLKEM768: undefined };

const KEYS = ['minVersion', 'cipherSuites', 'namedGroups'];

/** parseTlsDetails reads the text of a details file `file` into node TLS options; every problem names the file and the key. */
export function parseTlsDetails(text: string, file: string): TlsOptions {
  const fail = (what: string) => new ImgError('USAGE', `--tls-details ${file}: ${what}`);
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw fail(`not YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  // as containers/image's (yaml.v3 Decode): an empty file is an error
  if (doc.contents === null) throw fail('empty (write {} for no settings)');
  if (!isMap(doc.contents)) throw fail('expected a mapping of minVersion, cipherSuites, namedGroups');
  const out: TlsOptions = {};
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!KEYS.includes(key)) throw fail(`unknown key ${JSON.stringify(key)} (known: ${KEYS.join(', ')})`);
    const v = pair.value;
    if (key === 'minVersion') {
      if (v !== null && !isScalar(v)) throw fail('minVersion: expected a string such as "1.2"');
      const s = v === null || v.value === null ? '' : String(v.value);
      if (s === '') continue;
      const version = VERSIONS[s];
      if (version === undefined) throw fail(`minVersion: unrecognized TLS minimum version ${JSON.stringify(s)} (1.0, 1.1, 1.2, 1.3)`);
      out.minVersion = version;
      continue;
    }
    if (v === null || (isScalar(v) && (v.value === null || v.value === ''))) continue;
    if (!isSeq(v)) throw fail(`${key}: expected a list of IANA names`);
    const names = v.items.map((i) => (isScalar(i) && typeof i.value === 'string' ? i.value : undefined));
    if (names.some((n) => n === undefined)) throw fail(`${key}: expected a list of strings`);
    if (key === 'cipherSuites') {
      // Go's empty list allows no TLS 1.2 suite; no connection could be made with TLS 1.2 or below, and node would allow none with 1.3.
      if (names.length === 0) throw fail('cipherSuites: an empty list would allow no TLS connection at all');
      const available = new Set(getCiphers().map((c) => c.toLowerCase()));
      const openssl = names.map((n) => {
        const o = SUITES[n!];
        if (o === undefined) throw fail(`cipherSuites: unrecognized TLS cipher suite ${JSON.stringify(n)}`);
        if (!available.has(o.toLowerCase())) throw fail(`cipherSuites: ${JSON.stringify(n)} is not offered by node's OpenSSL (${process.versions.openssl})`);
        return o;
      });
      out.ciphers = openssl.join(':');
    } else {
      // Go's empty list is its default groups
      if (names.length === 0) continue;
      out.ecdhCurve = names
        .map((n) => {
          if (!(n! in GROUPS)) throw fail(`namedGroups: unrecognized TLS named group ${JSON.stringify(n)}`);
          const o = GROUPS[n!];
          if (o === undefined) throw fail(`namedGroups: ${JSON.stringify(n)} is not offered by node's OpenSSL (${process.versions.openssl})`);
          return o;
        })
        .join(':');
    }
  }
  return out;
}

/** loadTlsDetails reads the details file at `file` (parseTlsDetails). */
export function loadTlsDetails(file: string): TlsOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ImgError('USAGE', `--tls-details ${file}: ${(e as Error).message}`);
  }
  return parseTlsDetails(text, file);
}

let cached: { file: string; options: TlsOptions } | undefined;

/**
 * processTlsDetails are the TLS options of this process: those of the file IMGPIPE_TLS_DETAILS
 * names (imgpipe --tls-details sets it, so that every stage's connections get them), else none.
 */
export function processTlsDetails(): TlsOptions {
  const file = process.env.IMGPIPE_TLS_DETAILS;
  if (!file) return {};
  if (cached?.file !== file) cached = { file, options: loadTlsDetails(file) };
  return cached.options;
}
