/**
 * registries.conf: where docker:// images are pulled from (mirrors, a prefix moved to another
 * location) and which registries are insecure or blocked, as containers/image's
 * pkg/sysregistriesv2 reads it. The file is --registries-conf, else $CONTAINERS_REGISTRIES_CONF
 * (else $REGISTRIES_CONFIG_PATH), else $HOME/.config/containers/registries.conf when it exists
 * (it replaces the system file and the system drop-ins), else /etc/containers/registries.conf;
 * then the drop-ins, *.conf in /etc/containers/registries.conf.d (unless the user file is used)
 * and $HOME/.config/containers/registries.conf.d, in that order, each by name. Version 2 TOML, and
 * version 1 (`[registries.search]`…) in the main file, as containers/image converts it.
 *
 * Unlike containers/image, which ignores what it does not know, an unknown key, a value of the
 * wrong type or a prefix defined twice in one file is an error naming it and its file. The TOML
 * parser (smol-toml) is loaded only for a file that holds more than comments.
 */
import { promises as fsp } from 'node:fs';
import { cachedPromise } from '../../util/memo.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AUTH_FILES_HELPER } from '../../auth/credentials.js';
import { ImgError } from '../../errors.js';
import { formatDockerRef, parseDockerRef, repositoryOf, type DockerRef } from '../../ref/docker.js';

export const SYSTEM_REGISTRIES_CONF = '/etc/containers/registries.conf';
export const SYSTEM_REGISTRIES_CONF_D = '/etc/containers/registries.conf.d';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';
export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

/** Mirror is one `[[registry.mirror]]`. */
export interface Mirror {
  location: string;
  insecure: boolean;
  pullFromMirror?: PullFromMirror;
}

/** RegistryEntry is one `[[registry]]`, with the file that defined it. */
export interface RegistryEntry {
  /** Defaults to the location; `*.example.com` matches subdomains. */
  prefix: string;
  /** Where the prefix really lives; empty only for a wildcard prefix (no rewrite). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: Mirror[];
  file: string;
}

/** RegistriesConf is the main file and its drop-ins, merged as containers/image merges them. */
export interface RegistriesConf {
  /** The files read, in order (none when there is no configuration). */
  files: string[];
  /** Unique by prefix, sorted by prefix. */
  registries: RegistryEntry[];
  unqualifiedSearchRegistries?: string[];
  shortNameMode?: ShortNameMode;
  /** Default [containers-auth.json]. */
  credentialHelpers: string[];
  additionalLayerStoreAuthHelper?: string;
  /** short name → fully-qualified name. */
  aliases: Map<string, string>;
}

/** ConfPaths is where the configuration is read from. */
export interface ConfPaths {
  file: string;
  /** The file was named (flag or environment): a missing one is an error. */
  named: boolean;
  dirs: string[];
}

/** registriesConfPaths picks the files as containers/image's newConfigWrapper does. */
export async function registriesConfPaths(named?: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfPaths> {
  const home = env.HOME || homedir();
  const userFile = join(home, '.config/containers/registries.conf');
  const userDir = join(home, '.config/containers/registries.conf.d');
  const file = named || env.CONTAINERS_REGISTRIES_CONF || env.REGISTRIES_CONFIG_PATH;
  if (file) return { file, named: true, dirs: [SYSTEM_REGISTRIES_CONF_D, userDir] };
  if (await fsp.stat(userFile).catch(() => undefined)) return { file: userFile, named: false, dirs: [userDir] };
  return { file: SYSTEM_REGISTRIES_CONF, named: false, dirs: [SYSTEM_REGISTRIES_CONF_D, userDir] };
}

const loaded = new Map<string, Promise<RegistriesConf>>();
const located = new Map<string, Promise<ConfPaths>>();

/** loadRegistriesConf reads the configuration once per process (`named`: --registries-conf); where it is is also looked up once. */
export async function loadRegistriesConf(named?: string, env: NodeJS.ProcessEnv = process.env): Promise<RegistriesConf> {
  const inputs = JSON.stringify([named, env.HOME, env.CONTAINERS_REGISTRIES_CONF, env.REGISTRIES_CONFIG_PATH]);
  const paths = await cachedPromise(located, inputs, () => registriesConfPaths(named, env));
  const key = JSON.stringify(paths);
  let p = loaded.get(key);
  if (!p) {
    p = readRegistriesConf(paths);
    loaded.set(key, p);
  }
  return p;
}

/** ConfFile is one file: the fields it sets (undefined: not set, so a drop-in leaves them). */
export interface ConfFile {
  registries: RegistryEntry[];
  unqualifiedSearchRegistries?: string[];
  shortNameMode?: ShortNameMode;
  credentialHelpers?: string[];
  additionalLayerStoreAuthHelper?: string;
  aliases: Map<string, string>;
}

/** readRegistriesConf reads the main file and the drop-ins, and merges them. */
export async function readRegistriesConf(paths: ConfPaths): Promise<RegistriesConf> {
  const out: RegistriesConf = { files: [], registries: [], credentialHelpers: [], aliases: new Map() };
  const main = await readText(paths.file);
  if (main === undefined && paths.named) throw configError(paths.file, 'no such file');
  let registries = new Map<string, RegistryEntry>();
  const merge = (one: ConfFile, file: string) => {
    out.files.push(file);
    for (const r of one.registries) registries.set(r.prefix, r);
    if (one.unqualifiedSearchRegistries !== undefined) out.unqualifiedSearchRegistries = one.unqualifiedSearchRegistries;
    if (one.credentialHelpers !== undefined) out.credentialHelpers = one.credentialHelpers;
    if (one.shortNameMode !== undefined) out.shortNameMode = one.shortNameMode;
    if (one.additionalLayerStoreAuthHelper) out.additionalLayerStoreAuthHelper = one.additionalLayerStoreAuthHelper;
    for (const [k, v] of one.aliases) out.aliases.set(k, v);
  };
  if (main !== undefined) merge(await parseRegistriesConf(main, paths.file, false), paths.file);
  for (const dir of paths.dirs) {
    for (const file of await dropIns(dir)) {
      const text = await readText(file);
      // Removed between the listing and the read: as containers/image, not an error.
      if (text !== undefined) merge(await parseRegistriesConf(text, file, true), file);
    }
  }
  registries = new Map([...registries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  out.registries = [...registries.values()];
  for (const [k, v] of out.aliases) if (v === '') out.aliases.delete(k);
  if (out.credentialHelpers.length === 0) out.credentialHelpers = [AUTH_FILES_HELPER];
  return out;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImgError('IO', `reading registries configuration ${file}: ${(e as Error).message}`);
  }
}

/** dropIns lists a drop-in directory's *.conf files (not directories), by name; a missing directory has none. */
async function dropIns(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.conf')).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new ImgError('IO', `reading registries.conf.d ${dir}: ${(e as Error).message}`);
  }
  const out: string[] = [];
  for (const n of names) {
    const st = await fsp.stat(join(dir, n)).catch(() => undefined);
    if (st && !st.isDirectory()) out.push(join(dir, n));
  }
  return out;
}

function configError(file: string, message: string): ImgError {
  return new ImgError('USAGE', `invalid registries configuration ${file}: ${message}`);
}

/** onlyComments says whether a file holds nothing but blank lines and comments (Debian's default does). */
function onlyComments(text: string): boolean {
  return text.split('\n').every((l) => /^\s*(#.*)?$/.test(l));
}

type Table = Record<string, unknown>;

const TOP_KEYS = ['registry', 'unqualified-search-registries', 'credential-helpers', 'short-name-mode', 'additional-layer-store-auth-helper', 'aliases'];
const REGISTRY_KEYS = ['prefix', 'location', 'insecure', 'blocked', 'mirror', 'mirror-by-digest-only', 'pull-from-mirror'];
const MIRROR_KEYS = ['location', 'insecure', 'pull-from-mirror'];
const V1_KEYS = ['search', 'insecure', 'block'];
const PULL_FROM_MIRROR = ['all', 'digest-only', 'tag-only'];
const SHORT_NAME_MODES = ['enforcing', 'permissive', 'disabled'];

/**
 * parseRegistriesConf reads one file strictly; `dropIn` files must be version 2. Errors name the
 * file, the key and its place.
 */
export async function parseRegistriesConf(text: string, file: string, dropIn: boolean): Promise<ConfFile> {
  const out: ConfFile = { registries: [], aliases: new Map() };
  if (onlyComments(text)) return out;
  const fail = (m: string) => configError(file, m);
  const { parse, TomlError } = await import('smol-toml');
  let doc: Table;
  try {
    doc = parse(text, { maxDepth: 32 }) as Table;
  } catch (e) {
    if (e instanceof TomlError) throw fail(`line ${e.line}, column ${e.column}: ${e.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')}`);
    throw e;
  }
  const v1 = doc.registries;
  if (v1 !== undefined) {
    if (dropIn) throw fail('a drop-in must be in the version 2 format, not version 1 ([registries.search], [registries.insecure], [registries.block])');
    const v2 = Object.keys(doc).filter((k) => k !== 'registries');
    if (v2.length > 0)
      throw fail(`mixes the version 1 format ([registries]) with version 2 keys (${v2.map((k) => JSON.stringify(k)).join(', ')}); use one of them`);
    return parseV1(v1, file, fail);
  }
  for (const k of Object.keys(doc)) if (!TOP_KEYS.includes(k)) throw fail(`unknown key ${JSON.stringify(k)} (expected one of ${TOP_KEYS.join(', ')})`);
  if (doc.registry !== undefined) {
    const regs = tables(doc.registry, '"registry"', '[[registry]]', fail);
    regs.forEach((r, i) => {
      out.registries.push(registryEntry(r, `[[registry]] ${i + 1}`, file, fail));
    });
    checkRegistries(out.registries, fail);
  }
  if (doc['unqualified-search-registries'] !== undefined)
    out.unqualifiedSearchRegistries = strings(doc['unqualified-search-registries'], '"unqualified-search-registries"', fail).map((r) =>
      searchRegistry(r, fail),
    );
  if (doc['credential-helpers'] !== undefined) {
    out.credentialHelpers = strings(doc['credential-helpers'], '"credential-helpers"', fail);
    for (const h of out.credentialHelpers)
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h))
        throw fail(`"credential-helpers": ${JSON.stringify(h)} is not a helper name (docker-credential-NAME, or ${AUTH_FILES_HELPER})`);
  }
  if (doc['short-name-mode'] !== undefined) {
    const mode = string(doc['short-name-mode'], '"short-name-mode"', fail);
    if (mode !== '') {
      if (!SHORT_NAME_MODES.includes(mode)) throw fail(`"short-name-mode" ${JSON.stringify(mode)} is not one of ${SHORT_NAME_MODES.join(', ')}`);
      out.shortNameMode = mode as ShortNameMode;
    }
  }
  if (doc['additional-layer-store-auth-helper'] !== undefined)
    out.additionalLayerStoreAuthHelper = string(doc['additional-layer-store-auth-helper'], '"additional-layer-store-auth-helper"', fail);
  if (doc.aliases !== undefined) {
    const aliases = doc.aliases;
    if (!isTable(aliases)) throw fail('"aliases" is not a table ([aliases] of "name" = "registry/name")');
    for (const [name, value] of Object.entries(aliases)) {
      const where = `[aliases] ${JSON.stringify(name)}`;
      const problem = shortNameProblem(name);
      if (problem) throw fail(`${where}: ${problem}`);
      const v = string(value, where, fail);
      const bad = v === '' ? undefined : aliasValueProblem(v);
      if (bad) throw fail(`${where}: ${bad}`);
      out.aliases.set(name, v);
    }
  }
  return out;
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function tables(v: unknown, what: string, form: string, fail: (m: string) => ImgError): Table[] {
  if (!Array.isArray(v) || !v.every(isTable)) throw fail(`${what} is not a list of tables (write ${form})`);
  return v;
}

function string(v: unknown, what: string, fail: (m: string) => ImgError): string {
  if (typeof v !== 'string') throw fail(`${what} must be a string, not ${describe(v)}`);
  return v;
}

function bool(v: unknown, what: string, fail: (m: string) => ImgError): boolean {
  if (typeof v !== 'boolean') throw fail(`${what} must be true or false, not ${describe(v)}`);
  return v;
}

function strings(v: unknown, what: string, fail: (m: string) => ImgError): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw fail(`${what} must be a list of strings, not ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isTable(v)) return 'a table';
  if (typeof v === 'object' && v !== null) return `a date (${String(v)})`;
  return `${typeof v === 'string' ? 'the string' : typeof v === 'bigint' ? 'the number' : `the ${typeof v}`} ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
}

function unknownKeys(t: Table, allowed: string[], where: string, fail: (m: string) => ImgError): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) throw fail(`unknown key ${JSON.stringify(k)} in ${where} (expected one of ${allowed.join(', ')})`);
}

/** location trims a location or prefix as containers/image's parseLocation does, refusing URL schemes. */
function location(v: unknown, what: string, fail: (m: string) => ImgError): string {
  const s = string(v, what, fail).replace(/\/+$/, '');
  if (/^https?:\/\//.test(s)) throw fail(`${what} ${JSON.stringify(s)}: URL schemes are not supported (write HOST[:PORT][/PATH])`);
  return s;
}

/**
 * nameProblem checks a location or prefix: HOST[:PORT][/PATH][:TAG|@DIGEST], the host written out
 * (with a "." or ":", or localhost), as a rewritten reference must be.
 */
function nameProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  const host = slash < 0 ? s : s.slice(0, slash);
  if (!/[.:]/.test(host) && host !== 'localhost') return `"${host}" is not a registry host (a host has a "." or a ":", or is localhost)`;
  try {
    const r = parseDockerRef(slash < 0 ? `${s}/x` : s);
    if (r.domain !== host) return `"${host}" is not a registry host`;
  } catch (e) {
    return (e as Error).message.replace(/^invalid reference "[^"]*": /, '');
  }
  return undefined;
}

function registryEntry(t: Table, where: string, file: string, fail: (m: string) => ImgError): RegistryEntry {
  unknownKeys(t, REGISTRY_KEYS, where, fail);
  if (t['pull-from-mirror'] !== undefined) throw fail(`${where}: "pull-from-mirror" belongs in a [[registry.mirror]], not in the registry itself`);
  const loc = t.location === undefined ? '' : location(t.location, `${where} "location"`, fail);
  let prefix = t.prefix === undefined ? '' : location(t.prefix, `${where} "prefix"`, fail);
  const named = `${where}${prefix || loc ? ` (prefix ${JSON.stringify(prefix || loc)})` : ''}`;
  if (prefix === '') {
    if (loc === '') throw fail(`${where}: neither "location" nor "prefix" is set`);
    prefix = loc;
  } else if (prefix.startsWith('*.')) {
    if (/[/@:]/.test(prefix)) throw fail(`${named}: a wildcard prefix is *.DOMAIN, with no port, path, tag or digest`);
    const p = nameProblem(`${prefix.slice(2)}/x`);
    if (p) throw fail(`${named}: "prefix": ${p}`);
  } else {
    const p = nameProblem(prefix);
    if (p) throw fail(`${named}: "prefix" ${JSON.stringify(prefix)}: ${p}`);
    if (loc === '') throw fail(`${named}: "location" is not set, which only a wildcard prefix (*.example.com) allows`);
  }
  if (loc !== '') {
    const p = nameProblem(loc);
    if (p) throw fail(`${named}: "location" ${JSON.stringify(loc)}: ${p}`);
  }
  const entry: RegistryEntry = {
    prefix,
    location: loc,
    insecure: t.insecure === undefined ? false : bool(t.insecure, `${named} "insecure"`, fail),
    blocked: t.blocked === undefined ? false : bool(t.blocked, `${named} "blocked"`, fail),
    mirrorByDigestOnly: t['mirror-by-digest-only'] === undefined ? false : bool(t['mirror-by-digest-only'], `${named} "mirror-by-digest-only"`, fail),
    mirrors: [],
    file,
  };
  if (t.mirror !== undefined) {
    tables(t.mirror, `${named} "mirror"`, '[[registry.mirror]]', fail).forEach((m, j) => {
      const mw = `[[registry.mirror]] ${j + 1} of ${named}`;
      unknownKeys(m, MIRROR_KEYS, mw, fail);
      const ml = m.location === undefined ? '' : location(m.location, `${mw} "location"`, fail);
      if (ml === '') throw fail(`${mw}: "location" is not set`);
      const p = nameProblem(ml);
      if (p) throw fail(`${mw}: "location" ${JSON.stringify(ml)}: ${p}`);
      const mirror: Mirror = { location: ml, insecure: m.insecure === undefined ? false : bool(m.insecure, `${mw} "insecure"`, fail) };
      if (m['pull-from-mirror'] !== undefined) {
        const pf = string(m['pull-from-mirror'], `${mw} "pull-from-mirror"`, fail);
        if (pf !== '') {
          if (!PULL_FROM_MIRROR.includes(pf)) throw fail(`${mw}: "pull-from-mirror" ${JSON.stringify(pf)} is not one of ${PULL_FROM_MIRROR.join(', ')}`);
          if (entry.mirrorByDigestOnly) throw fail(`${mw}: "pull-from-mirror" cannot be set when the registry sets "mirror-by-digest-only" (use one of them)`);
          mirror.pullFromMirror = pf as PullFromMirror;
        }
      }
      entry.mirrors.push(mirror);
    });
  }
  return entry;
}

/** checkRegistries refuses a prefix defined twice and one location with two insecure or blocked settings, within one file. */
function checkRegistries(regs: RegistryEntry[], fail: (m: string) => ImgError): void {
  const byPrefix = new Map<string, number>();
  const byLocation = new Map<string, RegistryEntry>();
  regs.forEach((r, i) => {
    const seen = byPrefix.get(r.prefix);
    if (seen !== undefined)
      throw fail(`prefix ${JSON.stringify(r.prefix)} is defined twice ([[registry]] ${seen + 1} and ${i + 1}); containers/image would use the first only`);
    byPrefix.set(r.prefix, i);
    const key = r.location || r.prefix;
    const other = byLocation.get(key);
    if (other) {
      for (const k of ['insecure', 'blocked'] as const)
        if (other[k] !== r[k]) throw fail(`registry ${JSON.stringify(key)} is defined more than once with different "${k}" settings`);
    } else byLocation.set(key, r);
  });
}

function searchRegistry(r: string, fail: (m: string) => ImgError): string {
  const s = location(r, '"unqualified-search-registries"', fail);
  const p = /[/@]/.test(s) ? 'it is not HOST[:PORT]' : nameProblem(s);
  if (p) throw fail(`"unqualified-search-registries" entry ${JSON.stringify(s)}: ${p}`);
  return s;
}

/** shortNameProblem checks an alias's name: a repository name without a registry, tag or digest. */
function shortNameProblem(name: string): string | undefined {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (/[.:]/.test(first) || first === 'localhost') return 'a short name must not contain a registry';
  try {
    const r = parseDockerRef(name);
    if (r.tag !== undefined || r.digest !== undefined) return 'a short name must not contain a tag or digest';
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** aliasValueProblem checks an alias's value: a fully-qualified name (a registry, no tag or digest). */
function aliasValueProblem(value: string): string | undefined {
  const p = nameProblem(value);
  if (p) return `the value ${JSON.stringify(value)} is not a fully-qualified name: ${p}`;
  const r = parseDockerRef(value);
  if (r.tag !== undefined || r.digest !== undefined) return `the value ${JSON.stringify(value)} must not contain a tag or digest`;
  if (!value.includes('/')) return `the value ${JSON.stringify(value)} names no repository`;
  return undefined;
}

/** parseV1 converts the version 1 format as containers/image's ConvertToV2 does. */
function parseV1(v1: unknown, file: string, fail: (m: string) => ImgError): ConfFile {
  if (!isTable(v1)) throw fail('"registries" is not a table ([registries.search] and the like)');
  unknownKeys(v1, V1_KEYS, '[registries]', fail);
  const list = (k: string): string[] | undefined => {
    const t = v1[k];
    if (t === undefined) return undefined;
    if (!isTable(t)) throw fail(`[registries.${k}] is not a table`);
    unknownKeys(t, ['registries'], `[registries.${k}]`, fail);
    return t.registries === undefined ? undefined : strings(t.registries, `[registries.${k}] "registries"`, fail);
  };
  const out: ConfFile = { registries: [], aliases: new Map() };
  const byLocation = new Map<string, RegistryEntry>();
  const entry = (r: string, k: string): RegistryEntry => {
    const loc = location(r, `[registries.${k}] "registries"`, fail);
    const p = nameProblem(loc);
    if (p) throw fail(`[registries.${k}] ${JSON.stringify(loc)}: ${p}`);
    let e = byLocation.get(loc);
    if (!e) {
      e = { prefix: loc, location: loc, insecure: false, blocked: false, mirrorByDigestOnly: false, mirrors: [], file };
      byLocation.set(loc, e);
      out.registries.push(e);
    }
    return e;
  };
  for (const r of list('block') ?? []) entry(r, 'block').blocked = true;
  for (const r of list('insecure') ?? []) entry(r, 'insecure').insecure = true;
  const search = list('search');
  if (search !== undefined) out.unqualifiedSearchRegistries = search.map((r) => searchRegistry(r, fail));
  return out;
}

/**
 * refMatchingPrefix is the length of `prefix` when `ref` (HOST/PATH, maybe with :TAG or @DIGEST)
 * starts with it at a boundary, else -1, as containers/image matches: `example.com` matches
 * `example.com/app` and also `example.com:5000/app` (containers/image's, "unintended"), and
 * `*.example.com` matches any subdomain, with or without a port.
 */
export function refMatchingPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const domain = prefix.slice(1);
    let i = ref.indexOf(domain);
    if (i === -1 || ref.slice(0, i).includes('/')) return -1;
    i += domain.length;
    return i === ref.length || ':/@'.includes(ref[i]!) ? i : -1;
  }
  if (ref.length < prefix.length || !ref.startsWith(prefix)) return -1;
  if (ref.length === prefix.length) return prefix.length;
  return ':/@'.includes(ref[prefix.length]!) ? prefix.length : -1;
}

/** findRegistry is the `[[registry]]` with the longest prefix matching `name` (HOST/PATH, or a bare HOST), or undefined. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) if (refMatchingPrefix(name, r.prefix) !== -1 && r.prefix.length > (best?.prefix.length ?? 0)) best = r;
  return best;
}

/** PullSource is one place an image may be read from: the reference there and whether TLS may be skipped. */
export interface PullSource {
  ref: DockerRef;
  insecure: boolean;
  /** A mirror, not the registry's own location. */
  mirror: boolean;
}

/**
 * pullSources lists where to read `ref` from, in order (containers/image's
 * PullSourcesFromReference): the registry's mirrors that apply to it (pull-from-mirror,
 * mirror-by-digest-only: a digest reference or a tag one), then its location, each with the
 * reference rewritten from the prefix to that location. With no `[[registry]]` it is `ref` itself.
 */
export function pullSources(conf: RegistriesConf, ref: DockerRef): PullSource[] {
  const reg = findRegistry(conf, repositoryOf(ref));
  if (!reg) return [{ ref, insecure: false, mirror: false }];
  const digested = ref.digest !== undefined;
  const mirrors = reg.mirrors.filter((m) => {
    if (reg.mirrorByDigestOnly) return digested;
    if (m.pullFromMirror === 'digest-only') return digested;
    if (m.pullFromMirror === 'tag-only') return !digested;
    return true;
  });
  return [
    ...mirrors.map((m) => ({ ref: rewriteReference(ref, reg.prefix, m.location, reg.file), insecure: m.insecure, mirror: true })),
    { ref: rewriteReference(ref, reg.prefix, reg.location, reg.file), insecure: reg.insecure, mirror: false },
  ];
}

/** rewriteReference puts `location` in place of `prefix` in `ref`; an empty location (a wildcard prefix) keeps it. */
export function rewriteReference(ref: DockerRef, prefix: string, location: string, file: string): DockerRef {
  const s = formatDockerRef(ref);
  const n = refMatchingPrefix(s, prefix);
  if (n === -1) throw configError(file, `prefix ${JSON.stringify(prefix)} does not match ${s}`);
  if (location === '') {
    if (!prefix.startsWith('*.')) throw configError(file, `prefix ${JSON.stringify(prefix)} has no location (only a *.DOMAIN prefix may leave it out)`);
    return ref;
  }
  const rewritten = location + s.slice(n);
  let out: DockerRef;
  try {
    out = parseDockerRef(rewritten);
  } catch (e) {
    throw configError(file, `rewriting ${s} to location ${JSON.stringify(location)}: ${(e as Error).message}`);
  }
  // A rewritten name must already be in its normal form, as containers/image's ParseNamed wants it.
  if (formatDockerRef(out) !== rewritten)
    throw configError(
      file,
      `rewriting ${s} to location ${JSON.stringify(location)} gives ${rewritten}, which is not a fully-qualified name (${formatDockerRef(out)})`,
    );
  return out;
}

/** blockedBy is the entry blocking `name` (HOST/PATH or HOST), or undefined. */
export function blockedBy(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  const reg = findRegistry(conf, name);
  return reg?.blocked ? reg : undefined;
}

/** blockedError is the one-line refusal of a blocked registry, naming the file that blocks it. */
export function blockedError(reg: RegistryEntry, name: string): ImgError {
  return new ImgError('DENIED', `registry ${reg.prefix} is blocked in ${reg.file || 'registries.conf'} (blocked = true), so ${name} is not accessed`);
}
