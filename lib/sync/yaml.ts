/**
 * skopeo sync's YAML source file (`skopeo sync --src yaml FILE`), read into SyncSources, and
 * the expansion of a SyncSource into full `docker://` references.
 *
 * Where we differ from skopeo on purpose:
 * - Unknown keys are errors that name the key, its place and the keys expected. skopeo (yaml.v3
 *   into a Go struct) ignores them silently, so a typo such as `tls_verify: false` or
 *   `image:` goes unnoticed there. The `identitytoken` key skopeo's credentials struct would
 *   also take is refused: we pass on username and password only.
 * - Every bad entry is an error naming its YAML path, line and column: an invalid repository
 *   name, tag or digest, a regex, a semver constraint, a wrong type. skopeo logs most of these
 *   and skips the entry (a bad regex or constraint there drops the whole section of that
 *   registry), then syncs the rest.
 * - A registry that lists no images (none of images, images-by-tag-regex, images-by-semver, or
 *   only empty ones) is an error; skopeo warns and goes on.
 * - A registry key whose first component is not a registry host (no "." or ":" and not
 *   "localhost", e.g. `myhost:`) is refused: skopeo would silently read `myhost/app` as the
 *   Docker Hub repository docker.io/myhost/app.
 * - Order: skopeo walks Go maps, so its order of registries and repositories is random. We keep
 *   the file's order of registries, and within one registry skopeo's order of sections (images,
 *   then images-by-tag-regex, then images-by-semver), each in file order. Within an `images`
 *   list, tags come first (in their order), then digests (in theirs); repeated entries are
 *   kept once.
 * - Digests are sha256 or sha512 (lib/oci/digest); skopeo would also take sha384. An entry
 *   with a ":" is always taken as a digest, so "sha256:abc" is a bad digest, not a bad tag.
 * - Tag regexes are Go RE2, translated by compileGoRegex; the few RE2 constructs it does not
 *   translate are refused (see lib/sync/goregex.ts).
 * - tls-verify takes true/false (any case YAML 1.2 allows) and the YAML 1.1 words yaml.v3
 *   accepts for a bool (yes/no, on/off, y/n), quoted or not; yaml.v3 refuses a quoted "true".
 * - Several YAML documents in one file are refused; yaml.v3 reads the first only.
 *
 * As in skopeo: `images: {repo: []}` (or `repo:` with no value) means every tag the registry
 * lists; values in string places keep their source text (`- 1.0` is the tag "1.0", not 1);
 * registry keys may carry a port and a path prefix (`localhost:5000`, `quay.io/org`); anchors,
 * aliases and `<<` merge keys work. Credentials are secrets: no message here holds a password.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';
import { ImgError, toImgError, type ErrorCode } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import { parseDockerRef } from '../ref/docker.js';
import { Fields } from '../util/fields.js';
import { compileGoRegex, parseConstraint } from './tagfilter.js';

import type { SyncSelection, SyncSource } from './source.js';
export type { SyncSelection, SyncSource } from './source.js';
export { expandSource } from './source.js';

const REGISTRY_KEYS = ['images', 'images-by-tag-regex', 'images-by-semver', 'credentials', 'tls-verify', 'cert-dir'] as const;
const CREDENTIAL_KEYS = ['username', 'password'] as const;
const TRUE_WORDS = new Set(['true', 'True', 'TRUE', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);
const ALLOWED_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);
/** yaml error codes whose messages may quote source text (a password, say): described generically. */
const QUOTING_CODES: Record<string, string> = {
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_DIRECTIVE: 'invalid directive',
  TAG_RESOLVE_FAILED: 'unresolved tag',
  BAD_COLLECTION_TYPE: 'tag does not fit the collection',
  BAD_PROP_ORDER: 'anchors and tags are in the wrong order',
};

/** readSyncYaml reads and parses a skopeo sync YAML file. */
export async function readSyncYaml(file: string): Promise<SyncSource[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw toImgError(e);
  }
  return parseSyncYaml(text, file);
}

/** One key of a mapping, after aliases and `<<` merges are resolved. */
interface Entry {
  key: string;
  keyNode: YNode;
  value: YNode | null;
}

type RegistryOptions = Pick<SyncSource, 'tlsVerify' | 'certDir' | 'credentials'>;

const NO_IMAGES = 'lists no images: give images, images-by-tag-regex or images-by-semver';

/**
 * parseSyncYaml reads the text of a skopeo sync YAML file into one SyncSource per repository
 * and section. `file` names the file in messages. Errors are ImgError with code USAGE (or
 * REF_INVALID / DIGEST_INVALID for a bad repository, tag or digest), naming the file, the YAML
 * path (`quay.io.images.app[2]`), line and column.
 */
export function parseSyncYaml(text: string, file: string): SyncSource[] {
  const y = new SyncFile(text, file);
  const root = y.resolve(y.doc.contents, 'the top level');
  if (root === null) return [];
  if (!isMap(root)) throw y.fail('the top level', root, `expected a mapping of registries, not ${kindOf(root)}`);
  return y.entries(root, '').flatMap((reg) => registrySources(y, reg));
}

/** registrySources reads one registry: its options, then its sections in skopeo's order. */
function registrySources(y: SyncFile, reg: Entry): SyncSource[] {
  const key = reg.key;
  if (!isRegistryHost(key)) {
    const hint = 'give a domain ("registry.example.com"), a port ("myhost:5000") or "localhost" (for Docker Hub, "docker.io")';
    throw y.fail(key, reg.keyNode, `"${key}" is not a registry host: ${hint}`);
  }
  if (reg.value === null) throw y.fail(key, reg.keyNode, NO_IMAGES);
  const f = new MappingFields(y, reg.value, key, REGISTRY_KEYS, `registry ${JSON.stringify(key)}`);
  const options = registryOptions(f, key);
  const sources: SyncSource[] = [];
  for (const [section, selectionOf] of SECTIONS) {
    for (const repo of f.entriesOf(section)) {
      const path = `${key}.${section}.${repo.key}`;
      const { registry, repository } = repositoryOf(y, key, repo, path);
      sources.push({ key, registry, repository, selection: selectionOf(y, repo, path, `${key}/${repo.key}`), ...options });
    }
  }
  if (sources.length === 0) throw y.fail(key, reg.keyNode, NO_IMAGES);
  return sources;
}

/**
 * isRegistryHost says whether a registry key starts with a host as the reference grammar reads
 * it: with a "." or a ":", "localhost", or an upper-case letter (refused later, by that grammar).
 * Anything else would be read as a Docker Hub namespace.
 */
function isRegistryHost(key: string): boolean {
  const first = key.split('/')[0]!;
  return key !== '' && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
}

/** registryOptions reads a registry's tls-verify, cert-dir and credentials. */
function registryOptions(f: MappingFields, registryKey: string): RegistryOptions {
  const options: RegistryOptions = {};
  const tls = f.str('tls-verify', 'true or false');
  if (tls !== undefined) {
    if (TRUE_WORDS.has(tls)) options.tlsVerify = true;
    else if (FALSE_WORDS.has(tls)) options.tlsVerify = false;
    else throw f.fail('tls-verify', `expected true or false, not ${JSON.stringify(tls)}`);
  }
  const certDir = f.str('cert-dir', 'a directory path');
  if (certDir === '') throw f.fail('cert-dir', 'expected a directory path, not an empty string');
  if (certDir !== undefined) options.certDir = certDir;
  if (f.has('credentials')) options.credentials = credentials(f, registryKey);
  return options;
}

/** credentials reads a registry's username and password. No message quotes a value: it may be the password. */
function credentials(f: MappingFields, registryKey: string): { username: string; password: string } {
  const node = f.get('credentials')!.value;
  if (node === null) throw f.fail('credentials', 'expected a mapping with username and password, not null');
  const what = `the credentials of registry ${JSON.stringify(registryKey)}`;
  const c = new MappingFields(f.y, node, f.pathOf('credentials'), CREDENTIAL_KEYS, what);
  const username = c.required('username', 'a string');
  const password = c.required('password', 'a string');
  if (username === '') throw c.fail('username', 'is empty');
  return { username, password };
}

/** repositoryOf validates a repository key under its registry: a name only, in valid grammar. */
function repositoryOf(y: SyncFile, registryKey: string, repo: Entry, path: string): { registry: string; repository: string } {
  const input = `${registryKey}/${repo.key}`;
  const ref = y.checked(path, repo.keyNode, () => parseDockerRef(input));
  if (ref.tag !== undefined || ref.digest !== undefined) {
    const why = `${JSON.stringify(input)} names an image, not a repository: list tags and digests under it instead`;
    throw new ImgError('REF_INVALID', `${y.where(path, repo.keyNode)}: ${why}`);
  }
  return { registry: ref.domain, repository: ref.path };
}

/** A section's reader of one repository's value; `repository` is `registry-key/repository-key`. */
type SelectionOf = (y: SyncFile, repo: Entry, path: string, repository: string) => SyncSelection;

/** The sections of a registry, in the order skopeo reads them. */
const SECTIONS: [string, SelectionOf][] = [
  ['images', tagsSelection],
  ['images-by-tag-regex', regexSelection],
  ['images-by-semver', semverSelection],
];

/** tagsSelection reads a repository of `images`: tags and digests, each kept once, or none for every tag. */
function tagsSelection(y: SyncFile, repo: Entry, path: string, repository: string): SyncSelection {
  const list = repo.value;
  if (list === null || (isSeq(list) && list.items.length === 0)) return { kind: 'all' };
  if (!isSeq(list)) throw y.fail(path, list, `expected a list of tags and digests (or [] for all tags), not ${kindOf(list)}`);
  const tags: string[] = [];
  const digests: string[] = [];
  list.items.forEach((item, i) => {
    const ipath = `${path}[${i}]`;
    const node = y.resolve(item, ipath);
    const s = y.str(node, ipath, 'a tag or a digest', repo.keyNode);
    const isDigest = s.includes(':');
    y.checked(ipath, node, () => (isDigest ? parseDigest(s, 'digest') : parseDockerRef(`${repository}:${s}`)));
    const into = isDigest ? digests : tags;
    if (!into.includes(s)) into.push(s);
  });
  return { kind: 'tags', tags, digests };
}

/** regexSelection reads a repository of `images-by-tag-regex`: a Go regular expression. */
function regexSelection(y: SyncFile, repo: Entry, path: string): SyncSelection {
  const pattern = y.str(repo.value, path, 'a regular expression', repo.keyNode);
  y.checked(path, repo.value, () => compileGoRegex(pattern), 'USAGE');
  return { kind: 'regex', pattern };
}

/** semverSelection reads a repository of `images-by-semver`: a semver constraint. */
function semverSelection(y: SyncFile, repo: Entry, path: string): SyncSelection {
  const constraint = y.str(repo.value, path, 'a semver constraint', repo.keyNode);
  y.checked(path, repo.value, () => parseConstraint(constraint), 'USAGE');
  return { kind: 'semver', constraint };
}

/**
 * SyncFile is a parsed sync file and what reading any of it needs: positions for messages,
 * aliases followed, `<<` merges expanded, scalars read as strings.
 */
class SyncFile {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    text: string,
    readonly file: string,
  ) {
    const options = { schema: 'failsafe', lineCounter: this.lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false } as const;
    this.doc = parseDocument(text, options);
    const first = this.doc.errors[0];
    if (first) {
      const why = QUOTING_CODES[first.code] ?? first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new ImgError('USAGE', `${this.at(first.pos[0])}: invalid YAML: ${why}`);
    }
  }

  /** lineCol is `line L, column C` of a source offset. */
  lineCol(offset: number | undefined): string {
    const { line, col } = this.lines.linePos(offset ?? 0);
    return `line ${line}, column ${col}`;
  }

  at(offset: number | undefined): string {
    return `${this.file} at ${this.lineCol(offset)}`;
  }

  /** where names a YAML path and where it is: the node, or `fallback` for a missing (null) one. */
  where(path: string, node: YNode | null | undefined, fallback?: YNode): string {
    return `${path} in ${this.at((node ?? fallback)?.range?.[0])}`;
  }

  fail(path: string, node: YNode | null | undefined, why: string, fallback?: YNode): ImgError {
    return new ImgError('USAGE', `${this.where(path, node, fallback)}: ${why}`);
  }

  /** checked runs `check` on a value; its error is prefixed with where the value is, keeping its code unless `code` is given. */
  checked<T>(path: string, node: YNode | null, check: () => T, code?: ErrorCode): T {
    try {
      return check();
    } catch (e) {
      const err = toImgError(e);
      throw new ImgError(code ?? err.code, `${this.where(path, node)}: ${err.message}`);
    }
  }

  /** resolve follows aliases and refuses tags other than str, map and seq; a null scalar is null. */
  resolve(node: unknown, path: string): YNode | null {
    let n = node as YNode | null | undefined;
    for (let hops = 0; n && isAlias(n); hops++) {
      if (hops > 100) throw this.fail(path, n, 'alias chain too long');
      const target = n.resolve(this.doc as Document) as YNode | undefined;
      if (!target) throw this.fail(path, n, `unknown alias "*${n.source}"`);
      n = target;
    }
    if (!n) return null;
    if (n.tag !== undefined && !ALLOWED_TAGS.has(n.tag)) {
      // Name standard tags only: a custom tag is source text, which may be a misplaced secret.
      const std = /^tag:yaml\.org,2002:([a-z]+)$/.exec(n.tag);
      throw this.fail(path, n, std ? `the YAML tag !!${std[1]} is not supported here` : 'custom YAML tags are not supported');
    }
    if (isScalar(n) && n.type === 'PLAIN' && n.tag === undefined && NULL_WORDS.has(String(n.value))) return null;
    return n;
  }

  /** entries lists a mapping's keys with `<<` merges expanded (explicit keys win, then earlier merges). */
  entries(map: YNode, path: string, depth = 0): Entry[] {
    if (!isMap(map)) throw this.fail(path, map, `expected a mapping, not ${kindOf(map)}`);
    if (depth > 20) throw this.fail(path, map, 'merges nested too deeply');
    const explicit = new Set(map.items.filter((p) => isPair(p) && !isMerge(p)).map((p) => this.keyOf(p, map, path).key));
    const seen = new Set<string>();
    const out: Entry[] = [];
    for (const pair of map.items) {
      if (!isMerge(pair)) {
        const { key, keyNode } = this.keyOf(pair, map, path);
        out.push({ key, keyNode, value: this.resolve(pair.value, path === '' ? key : `${path}.${key}`) });
        seen.add(key);
        continue;
      }
      for (const e of this.merged(pair, path, depth)) {
        if (explicit.has(e.key) || seen.has(e.key)) continue;
        seen.add(e.key);
        out.push(e);
      }
    }
    return out;
  }

  /** merged lists the entries a `<<` pair brings in: of one mapping or of a list of mappings, in order. */
  private merged(pair: { key: unknown; value: unknown }, path: string, depth: number): Entry[] {
    const mpath = path === '' ? '<<' : `${path}.<<`;
    const src = this.resolve(pair.value, mpath);
    const sources = src !== null && isSeq(src) ? src.items.map((s) => this.resolve(s, mpath)) : [src];
    return sources.flatMap((s) => {
      if (s === null || !isMap(s)) {
        throw this.fail(mpath, s, `a merge needs a mapping or a list of mappings, not ${kindOf(s)}`, pair.key as YNode);
      }
      return this.entries(s, path, depth + 1);
    });
  }

  private keyOf(pair: { key: unknown }, map: YNode, path: string): { key: string; keyNode: YNode } {
    const k = this.resolve(pair.key, path);
    if (k === null) throw this.fail(path, map, 'a key is empty');
    if (!isScalar(k)) throw this.fail(path, k, `keys must be strings, not ${kindOf(k)}`);
    return { key: String(k.value), keyNode: k };
  }

  /** str reads a scalar as its source text; the message never quotes a value, so a misplaced password stays out of it. */
  str(node: YNode | null, path: string, what: string, fallback: YNode): string {
    if (node === null || !isScalar(node)) throw this.fail(path, node, `expected ${what}, not ${kindOf(node)}`, fallback);
    return String(node.value);
  }
}

/**
 * MappingFields is one YAML mapping read by key (merges expanded); `where` is its YAML path.
 * An unknown key is an error naming the mapping (`what`), the keys expected and its place.
 */
class MappingFields extends Fields<Entry> {
  constructor(
    readonly y: SyncFile,
    readonly node: YNode,
    path: string,
    allowed: readonly string[],
    what: string,
  ) {
    const unknownKey = (key: string, e: Entry) => {
      const expected = `(expected one of ${allowed.join(', ')})`;
      return new ImgError('USAGE', `unknown key ${JSON.stringify(key)} in ${what} of ${y.file} ${expected} at ${y.lineCol(e.keyNode.range?.[0])}`);
    };
    super(
      y.entries(node, path).map((e) => [e.key, e] as const),
      path,
      allowed,
      unknownKey,
    );
  }

  pathOf(name: string): string {
    return `${this.where}.${name}`;
  }

  fail(name: string, why: string): ImgError {
    const e = this.get(name)!;
    return this.y.fail(this.pathOf(name), e.value, why, e.keyNode);
  }

  /** str reads the string value of `name`, undefined when the key is absent. */
  str(name: string, what: string): string | undefined {
    const e = this.get(name);
    return e && this.y.str(e.value, this.pathOf(name), what, e.keyNode);
  }

  /** required reads the string value of `name`, which must be there. */
  required(name: string, what: string): string {
    const s = this.str(name, what);
    if (s === undefined) throw this.y.fail(this.where, this.node, `missing ${name}`);
    return s;
  }

  /** entriesOf lists the entries of the mapping under `name`: none when the key is absent or null. */
  entriesOf(name: string): Entry[] {
    const e = this.get(name);
    return e && e.value !== null ? this.y.entries(e.value, this.pathOf(name)) : [];
  }
}

function isMerge(pair: { key: unknown }): boolean {
  return isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<';
}

function kindOf(n: YNode | null): string {
  return n === null ? 'null' : isMap(n) ? 'a mapping' : isSeq(n) ? 'a list' : 'a string';
}
