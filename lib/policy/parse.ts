/**
 * policy.json, parsed as strictly as containers/image's policy_config.go, and a little more: a
 * duplicate key anywhere, an unknown key, an unknown transport or a wrong type is an error that names
 * it and where it is (`transports.docker["example.com"][0]`). Pure: no I/O.
 */
import { ImgError } from '../errors.js';
import { parseDockerRef } from '../ref/docker.js';
import { scopeProblem } from '../ref/policy.js';

export { scopeProblem };
import { isObject, parseStrictJSON, StrictJSONError, type JSONValue } from '../util/strict-json.js';
import { Fields } from '../util/fields.js';
import { IDENTITY_TYPES, isValidRemapPrefix, type SignedIdentity } from './identity.js';

export type KeyType = 'GPGKeys' | 'signedByGPGKeys' | 'X509Certificates' | 'signedByX509CAs';
const KEY_TYPES: KeyType[] = ['GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'];

export interface Fulcio {
  caPath?: string;
  caData?: Uint8Array;
  oidcIssuer: string;
  subjectEmail: string;
}
export interface PKI {
  caRootsPath?: string;
  caRootsData?: Uint8Array;
  caIntermediatesPath?: string;
  caIntermediatesData?: Uint8Array;
  subjectEmail?: string;
  subjectHostname?: string;
}
export interface KeySources {
  keyPath?: string;
  keyPaths?: string[];
  keyData?: Uint8Array;
}

export type Requirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | ({ type: 'signedBy'; keyType: KeyType; signedIdentity: SignedIdentity } & KeySources)
  | { type: 'signedBaseLayer'; baseLayerIdentity: SignedIdentity }
  | ({
      type: 'sigstoreSigned';
      keyDatas?: Uint8Array[];
      fulcio?: Fulcio;
      rekorPublicKeyPath?: string;
      rekorPublicKeyPaths?: string[];
      rekorPublicKeyData?: Uint8Array;
      rekorPublicKeyDatas?: Uint8Array[];
      pki?: PKI;
      signedIdentity: SignedIdentity;
    } & KeySources);

/** Policy: `default` and, per transport, scope → requirements ("" is the transport's default). */
export interface Policy {
  default: Requirement[];
  transports: Map<string, Map<string, Requirement[]>>;
}

/** The transports containers/image knows; a policy naming another is refused (a typo would go unnoticed). */
export const POLICY_TRANSPORTS = [
  'docker',
  'dir',
  'oci',
  'oci-archive',
  'docker-archive',
  'docker-daemon',
  'containers-storage',
  'atomic',
  'ostree',
  'sif',
  'tarball',
];

/** policyError is the error for a policy file that cannot be used. */
export function policyError(message: string): ImgError {
  return new ImgError('USAGE', message);
}

/** parsePolicy parses policy.json bytes; `source` (a path) is named in errors. */
export function parsePolicy(bytes: Uint8Array | string, source = 'policy'): Policy {
  const fail = (m: string) => policyError(`invalid policy in ${source}: ${m}`);
  let doc: JSONValue;
  try {
    doc = parseStrictJSON(bytes);
  } catch (e) {
    if (e instanceof StrictJSONError) throw fail(e.message);
    throw e;
  }
  try {
    const top = new JSONFields(doc, 'the policy', ['default', 'transports']);
    if (!top.has('default')) throw new PolicySyntax('default policy is missing');
    const policy: Policy = { default: requirements(top.get('default'), 'default'), transports: new Map() };
    if (top.has('transports')) {
      const t = new JSONFields(top.get('transports'), 'transports');
      for (const name of t.keys()) {
        if (!POLICY_TRANSPORTS.includes(name))
          throw new PolicySyntax(`unknown transport ${JSON.stringify(name)} in transports (known: ${POLICY_TRANSPORTS.join(', ')})`);
        const scopes = new JSONFields(t.get(name), `transports.${name}`);
        const m = new Map<string, Requirement[]>();
        for (const scope of scopes.keys()) {
          const where = `transports.${name}[${JSON.stringify(scope)}]`;
          const bad = scope === '' ? undefined : scopeProblem(name, scope);
          if (bad) throw new PolicySyntax(`invalid scope ${where}: ${bad}`);
          m.set(scope, requirements(scopes.get(scope), where));
        }
        policy.transports.set(name, m);
      }
    }
    return policy;
  } catch (e) {
    if (e instanceof PolicySyntax) throw fail(e.message);
    throw e;
  }
}

class PolicySyntax extends Error {}

/** JSONFields reads one JSON object of the policy: refuses keys outside `allowed` (when given) and checks value types. */
class JSONFields extends Fields<JSONValue> {
  constructor(v: JSONValue | undefined, where: string, allowed?: string[]) {
    if (!isObject(v)) throw new PolicySyntax(`${where} must be a JSON object`);
    super(Object.entries(v), where, allowed, (k) => new PolicySyntax(`unknown key ${JSON.stringify(k)} in ${where}`));
  }
  str(k: string): string | undefined {
    if (!this.has(k)) return undefined;
    const v = this.get(k);
    if (typeof v !== 'string') throw new PolicySyntax(`${k} in ${this.where} must be a string`);
    if (v === '') throw new PolicySyntax(`${k} in ${this.where} must not be empty`);
    return v;
  }
  strs(k: string): string[] | undefined {
    if (!this.has(k)) return undefined;
    const v = this.get(k);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
      throw new PolicySyntax(`${k} in ${this.where} must be a list of non-empty strings`);
    if (v.length === 0) throw new PolicySyntax(`${k} in ${this.where} contains no entries`);
    return v as string[];
  }
  bytes(k: string): Uint8Array | undefined {
    return this.has(k) ? base64(this.get(k), `${k} in ${this.where}`) : undefined;
  }
  bytesList(k: string): Uint8Array[] | undefined {
    if (!this.has(k)) return undefined;
    const v = this.get(k);
    if (!Array.isArray(v) || v.length === 0) throw new PolicySyntax(`${k} in ${this.where} must be a non-empty list of base64 strings`);
    return v.map((x, i) => base64(x, `${k}[${i}] in ${this.where}`));
  }
}

function base64(v: JSONValue | undefined, what: string): Uint8Array {
  const s = typeof v === 'string' ? v.replace(/[\r\n]/g, '') : undefined;
  if (s === undefined || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new PolicySyntax(`${what} must be standard base64 (with padding)`);
  return Buffer.from(s, 'base64');
}

function requirements(v: JSONValue | undefined, where: string): Requirement[] {
  if (!Array.isArray(v)) throw new PolicySyntax(`${where} must be a list of requirements`);
  if (v.length === 0) throw new PolicySyntax(`${where}: the list of requirements must not be empty`);
  return v.map((r, i) => requirement(r, `${where}[${i}]`));
}

function typeOf(v: JSONValue | undefined, where: string): string {
  const t = isObject(v) ? v.type : undefined;
  if (typeof t !== 'string') throw new PolicySyntax(`${where} needs a "type" string`);
  return t;
}

function requirement(v: JSONValue | undefined, where: string): Requirement {
  const type = typeOf(v, where);
  const at = `${where} (${type})`;
  switch (type) {
    case 'insecureAcceptAnything':
    case 'reject':
      new JSONFields(v, at, ['type']);
      return { type };
    case 'signedBy': {
      const f = new JSONFields(v, at, ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity']);
      const keyType = f.get('keyType');
      if (!KEY_TYPES.includes(keyType as KeyType))
        throw new PolicySyntax(`invalid keyType ${JSON.stringify(keyType ?? null)} in ${at} (one of ${KEY_TYPES.join(', ')})`);
      const keys = keySources(f, at, ['keyPath', 'keyPaths', 'keyData']);
      return { type, keyType: keyType as KeyType, ...keys, signedIdentity: identityOf(f, at) };
    }
    case 'signedBaseLayer': {
      const f = new JSONFields(v, at, ['type', 'baseLayerIdentity']);
      if (!f.has('baseLayerIdentity')) throw new PolicySyntax(`baseLayerIdentity missing in ${at}`);
      return { type, baseLayerIdentity: signedIdentity(f.get('baseLayerIdentity'), `baseLayerIdentity of ${at}`) };
    }
    case 'sigstoreSigned':
      return sigstoreSigned(v, at);
    default:
      throw new PolicySyntax(`unknown policy requirement type ${JSON.stringify(type)} in ${where}`);
  }
}

function keySources(f: JSONFields, at: string, names: string[]): KeySources & { keyDatas?: Uint8Array[] } {
  const present = names.filter((n) => f.has(n));
  if (present.length !== 1)
    throw new PolicySyntax(`exactly one of ${names.join(', ')} must be given in ${at}${present.length ? `, not ${present.join(' and ')}` : ''}`);
  const out: KeySources & { keyDatas?: Uint8Array[] } = {};
  if (f.has('keyPath')) out.keyPath = f.str('keyPath');
  if (f.has('keyPaths')) out.keyPaths = f.strs('keyPaths');
  if (f.has('keyData')) out.keyData = f.bytes('keyData');
  if (f.has('keyDatas')) out.keyDatas = f.bytesList('keyDatas');
  return out;
}

function identityOf(f: JSONFields, at: string): SignedIdentity {
  return f.has('signedIdentity') ? signedIdentity(f.get('signedIdentity'), `signedIdentity of ${at}`) : { type: 'matchRepoDigestOrExact' };
}

function sigstoreSigned(v: JSONValue | undefined, at: string): Requirement {
  const rekorKeys = ['rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'];
  const f = new JSONFields(v, at, ['type', 'keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki', ...rekorKeys, 'signedIdentity']);
  const sources = ['keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki'];
  const present = sources.filter((n) => f.has(n));
  if (present.length !== 1)
    throw new PolicySyntax(`exactly one of ${sources.join(', ')} must be given in ${at}${present.length ? `, not ${present.join(' and ')}` : ''}`);
  const rekor = rekorKeys.filter((n) => f.has(n));
  if (rekor.length > 1) throw new PolicySyntax(`at most one of ${rekorKeys.join(', ')} may be given in ${at}`);
  if (f.has('fulcio') && rekor.length === 0) throw new PolicySyntax(`one of ${rekorKeys.join(', ')} must be given with fulcio in ${at}`);
  if (f.has('pki') && rekor.length > 0) throw new PolicySyntax(`${rekor[0]} cannot be used with pki in ${at}`);
  const out: Requirement = { type: 'sigstoreSigned', signedIdentity: identityOf(f, at) };
  if (present[0] !== 'fulcio' && present[0] !== 'pki') Object.assign(out, keySources(f, at, ['keyPath', 'keyPaths', 'keyData', 'keyDatas']));
  if (f.has('rekorPublicKeyPath')) out.rekorPublicKeyPath = f.str('rekorPublicKeyPath');
  if (f.has('rekorPublicKeyPaths')) out.rekorPublicKeyPaths = f.strs('rekorPublicKeyPaths');
  if (f.has('rekorPublicKeyData')) out.rekorPublicKeyData = f.bytes('rekorPublicKeyData');
  if (f.has('rekorPublicKeyDatas')) out.rekorPublicKeyDatas = f.bytesList('rekorPublicKeyDatas');
  if (f.has('fulcio')) {
    const g = new JSONFields(f.get('fulcio'), `fulcio of ${at}`, ['caPath', 'caData', 'oidcIssuer', 'subjectEmail']);
    if (g.has('caPath') === g.has('caData')) throw new PolicySyntax(`exactly one of caPath, caData must be given in fulcio of ${at}`);
    const oidcIssuer = g.str('oidcIssuer');
    const subjectEmail = g.str('subjectEmail');
    if (!oidcIssuer) throw new PolicySyntax(`oidcIssuer not given in fulcio of ${at}`);
    if (!subjectEmail) throw new PolicySyntax(`subjectEmail not given in fulcio of ${at}`);
    out.fulcio = { oidcIssuer, subjectEmail, ...(g.has('caPath') ? { caPath: g.str('caPath') } : { caData: g.bytes('caData') }) };
  }
  if (f.has('pki')) {
    const g = new JSONFields(f.get('pki'), `pki of ${at}`, [
      'caRootsPath',
      'caRootsData',
      'caIntermediatesPath',
      'caIntermediatesData',
      'subjectEmail',
      'subjectHostname',
    ]);
    if (g.has('caRootsPath') === g.has('caRootsData')) throw new PolicySyntax(`exactly one of caRootsPath, caRootsData must be given in pki of ${at}`);
    if (g.has('caIntermediatesPath') && g.has('caIntermediatesData'))
      throw new PolicySyntax(`caIntermediatesPath and caIntermediatesData cannot both be given in pki of ${at}`);
    if (!g.has('subjectEmail') && !g.has('subjectHostname'))
      throw new PolicySyntax(`at least one of subjectEmail, subjectHostname must be given in pki of ${at}`);
    const pki: PKI = {};
    for (const k of ['caRootsPath', 'caIntermediatesPath', 'subjectEmail', 'subjectHostname'] as const) if (g.has(k)) pki[k] = g.str(k);
    for (const k of ['caRootsData', 'caIntermediatesData'] as const) if (g.has(k)) pki[k] = g.bytes(k);
    out.pki = pki;
  }
  return out;
}

/** signedIdentity parses one signedIdentity object, validating references and prefixes as containers/image does. */
function signedIdentity(v: JSONValue | undefined, at: string): SignedIdentity {
  const type = typeOf(v, at);
  if (!(IDENTITY_TYPES as readonly string[]).includes(type)) throw new PolicySyntax(`unknown policy reference match type ${JSON.stringify(type)} in ${at}`);
  const where = `${at} (${type})`;
  switch (type) {
    case 'exactReference': {
      const f = new JSONFields(v, where, ['type', 'dockerReference']);
      const r = f.str('dockerReference');
      if (r === undefined) throw new PolicySyntax(`dockerReference missing in ${where}`);
      const parsed = parseRef(r, `dockerReference in ${where}`);
      if (parsed.tag === undefined && parsed.digest === undefined)
        throw new PolicySyntax(`dockerReference ${JSON.stringify(r)} in ${where} has neither a tag nor a digest`);
      return { type, dockerReference: r };
    }
    case 'exactRepository': {
      const f = new JSONFields(v, where, ['type', 'dockerRepository']);
      const r = f.str('dockerRepository');
      if (r === undefined) throw new PolicySyntax(`dockerRepository missing in ${where}`);
      parseRef(r, `dockerRepository in ${where}`);
      return { type, dockerRepository: r };
    }
    case 'remapIdentity': {
      const f = new JSONFields(v, where, ['type', 'prefix', 'signedPrefix']);
      const prefix = f.str('prefix');
      const signedPrefix = f.str('signedPrefix');
      for (const [k, p] of [
        ['prefix', prefix],
        ['signedPrefix', signedPrefix],
      ] as const) {
        if (p === undefined) throw new PolicySyntax(`${k} missing in ${where}`);
        if (!isValidRemapPrefix(p)) throw new PolicySyntax(`${k} ${JSON.stringify(p)} in ${where} is not valid: a registry host[:port] or host/namespace`);
      }
      return { type, prefix: prefix!, signedPrefix: signedPrefix! };
    }
    default:
      new JSONFields(v, where, ['type']);
      return { type: type as 'matchExact' | 'matchRepoDigestOrExact' | 'matchRepository' };
  }
}

function parseRef(s: string, what: string) {
  try {
    return parseDockerRef(s);
  } catch (e) {
    throw new PolicySyntax(`invalid ${what}: ${(e as Error).message}`);
  }
}
