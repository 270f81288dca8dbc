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
import { ImgError, toImgError } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import { parseDockerRef } from '../ref/docker.js';
import { compileGoRegex, parseConstraint } from './tagfilter.js';

import type { SyncSource } from './source.js';
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

/**
 * parseSyncYaml reads the text of a skopeo sync YAML file into one SyncSource per repository
 * and section. `file` names the file in messages. Errors are ImgError with code USAGE (or
 * REF_INVALID / DIGEST_INVALID for a bad repository, tag or digest), naming the file, the YAML
 * path (`quay.io.images.app[2]`), line and column.
 */
export function parseSyncYaml(text: string, file: string): SyncSource[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter: lc, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  const at = (offset: number | undefined) => {
    const { line, col } = lc.linePos(offset ?? 0);
    return `${file} at line ${line}, column ${col}`;
  };
  const firstError = doc.errors[0];
  if (firstError) {
    const why = QUOTING_CODES[firstError.code] ?? firstError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ImgError('USAGE', `${at(firstError.pos[0])}: invalid YAML: ${why}`);
  }
  const where = (path: string, node: YNode | null | undefined, fallback?: YNode) => `${path} in ${at((node ?? fallback)?.range?.[0])}`;
  const fail = (path: string, node: YNode | null | undefined, why: string, fallback?: YNode) => new ImgError('USAGE', `${where(path, node, fallback)}: ${why}`);

  const resolve = (node: unknown, path: string): YNode | null => {
    let n = node as YNode | null | undefined;
    for (let hops = 0; n && isAlias(n); hops++) {
      if (hops > 100) throw fail(path, n, 'alias chain too long');
      const target = n.resolve(doc as Document) as YNode | undefined;
      if (!target) throw fail(path, n, `unknown alias "*${n.source}"`);
      n = target;
    }
    if (!n) return null;
    if (n.tag !== undefined && !ALLOWED_TAGS.has(n.tag)) {
      // Name standard tags only: a custom tag is source text, which may be a misplaced secret.
      const std = /^tag:yaml\.org,2002:([a-z]+)$/.exec(n.tag);
      throw fail(path, n, std ? `the YAML tag !!${std[1]} is not supported here` : 'custom YAML tags are not supported');
    }
    if (isScalar(n) && n.type === 'PLAIN' && n.tag === undefined && NULL_WORDS.has(String(n.value))) return null;
    return n;
  };
  const kindOf = (n: YNode | null) => (n === null ? 'null' : isMap(n) ? 'a mapping' : isSeq(n) ? 'a list' : 'a string');

  /** entries lists a mapping's keys with `<<` merges expanded (explicit keys win, then earlier merges). */
  const entries = (map: YNode, path: string, depth = 0): Entry[] => {
    if (!isMap(map)) throw fail(path, map, `expected a mapping, not ${kindOf(map)}`);
    if (depth > 20) throw fail(path, map, 'merges nested too deeply');
    const keyOf = (pair: { key: unknown }): { key: string; keyNode: YNode } => {
      const k = resolve(pair.key, path);
      if (k === null) throw fail(path, map, 'a key is empty');
      if (!isScalar(k)) throw fail(path, k, `keys must be strings, not ${kindOf(k)}`);
      return { key: String(k.value), keyNode: k };
    };
    const isMerge = (pair: { key: unknown }) => isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<';
    const explicit = new Set(map.items.filter((p) => isPair(p) && !isMerge(p)).map((p) => keyOf(p).key));
    const seen = new Set<string>();
    const out: Entry[] = [];
    for (const pair of map.items) {
      if (!isMerge(pair)) {
        const { key, keyNode } = keyOf(pair);
        out.push({ key, keyNode, value: resolve(pair.value, path === '' ? key : `${path}.${key}`) });
        seen.add(key);
        continue;
      }
      const mpath = path === '' ? '<<' : `${path}.<<`;
      const src = resolve(pair.value, mpath);
      const sources = src !== null && isSeq(src) ? src.items.map((s) => resolve(s, mpath)) : [src];
      for (const s of sources) {
        if (s === null || !isMap(s)) throw fail(mpath, s, `a merge needs a mapping or a list of mappings, not ${kindOf(s)}`, pair.key as YNode);
        for (const e of entries(s, path, depth + 1)) {
          if (explicit.has(e.key) || seen.has(e.key)) continue;
          seen.add(e.key);
          out.push(e);
        }
      }
    }
    return out;
  };

  const str = (node: YNode | null, path: string, what: string, fallback: YNode): string => {
    if (node === null || !isScalar(node)) throw fail(path, node, `expected ${what}, not ${kindOf(node)}`, fallback);
    return String(node.value);
  };

  const root = resolve(doc.contents, 'the top level');
  if (root === null) return [];
  if (!isMap(root)) throw fail('the top level', root, `expected a mapping of registries, not ${kindOf(root)}`);

  const sources: SyncSource[] = [];
  for (const reg of entries(root, '')) {
    const registryKey = reg.key;
    const first = registryKey.split('/')[0]!;
    if (registryKey === '' || (!/[.:]/.test(first) && first !== 'localhost' && first === first.toLowerCase())) {
      throw fail(registryKey, reg.keyNode, `"${registryKey}" is not a registry host: give a domain ("registry.example.com"), a port ("myhost:5000") or "localhost" (for Docker Hub, "docker.io")`);
    }
    if (reg.value === null) throw fail(registryKey, reg.value, 'lists no images: give images, images-by-tag-regex or images-by-semver', reg.keyNode);
    const regEntries = entries(reg.value, registryKey);
    const byKey = new Map<string, Entry>();
    for (const e of regEntries) {
      if (!(REGISTRY_KEYS as readonly string[]).includes(e.key)) {
        throw new ImgError('USAGE', `unknown key ${JSON.stringify(e.key)} in registry ${JSON.stringify(registryKey)} of ${file} (expected one of ${REGISTRY_KEYS.join(', ')}) at line ${lc.linePos(e.keyNode.range?.[0] ?? 0).line}, column ${lc.linePos(e.keyNode.range?.[0] ?? 0).col}`);
      }
      byKey.set(e.key, e);
    }

    const options: Pick<SyncSource, 'tlsVerify' | 'certDir' | 'credentials'> = {};
    const tls = byKey.get('tls-verify');
    if (tls) {
      const path = `${registryKey}.tls-verify`;
      const v = str(tls.value, path, 'true or false', tls.keyNode);
      if (TRUE_WORDS.has(v)) options.tlsVerify = true;
      else if (FALSE_WORDS.has(v)) options.tlsVerify = false;
      else throw fail(path, tls.value, `expected true or false, not ${JSON.stringify(v)}`);
    }
    const certDir = byKey.get('cert-dir');
    if (certDir) {
      const path = `${registryKey}.cert-dir`;
      const v = str(certDir.value, path, 'a directory path', certDir.keyNode);
      if (v === '') throw fail(path, certDir.value, 'expected a directory path, not an empty string');
      options.certDir = v;
    }
    const creds = byKey.get('credentials');
    if (creds) {
      const path = `${registryKey}.credentials`;
      if (creds.value === null) throw fail(path, creds.value, 'expected a mapping with username and password, not null', creds.keyNode);
      const got = new Map<string, Entry>();
      for (const e of entries(creds.value, path)) {
        if (!(CREDENTIAL_KEYS as readonly string[]).includes(e.key)) {
          const pos = lc.linePos(e.keyNode.range?.[0] ?? 0);
          throw new ImgError('USAGE', `unknown key ${JSON.stringify(e.key)} in the credentials of registry ${JSON.stringify(registryKey)} of ${file} (expected one of ${CREDENTIAL_KEYS.join(', ')}) at line ${pos.line}, column ${pos.col}`);
        }
        got.set(e.key, e);
      }
      const field = (name: string): string => {
        const e = got.get(name);
        if (!e) throw fail(path, creds.value, `missing ${name}`);
        // str() never quotes the value, so a misplaced password stays out of the message.
        return str(e.value, `${path}.${name}`, 'a string', e.keyNode);
      };
      const username = field('username');
      const password = field('password');
      if (username === '') throw fail(`${path}.username`, got.get('username')!.value, 'is empty');
      options.credentials = { username, password };
    }

    /** repositoryOf validates a repository key under this registry: name only, valid grammar. */
    const repositoryOf = (repoKey: string, path: string, node: YNode): { registry: string; repository: string } => {
      const input = `${registryKey}/${repoKey}`;
      let ref;
      try {
        ref = parseDockerRef(input);
      } catch (e) {
        const err = toImgError(e);
        throw new ImgError(err.code, `${where(path, node)}: ${err.message}`);
      }
      if (ref.tag !== undefined || ref.digest !== undefined) {
        throw new ImgError('REF_INVALID', `${where(path, node)}: ${JSON.stringify(input)} names an image, not a repository: list tags and digests under it instead`);
      }
      return { registry: ref.domain, repository: ref.path };
    };

    const section = (name: string): Entry[] => {
      const e = byKey.get(name);
      return e && e.value !== null ? entries(e.value, `${registryKey}.${name}`) : [];
    };

    const before = sources.length;
    for (const repo of section('images')) {
      const path = `${registryKey}.images.${repo.key}`;
      const { registry, repository } = repositoryOf(repo.key, path, repo.keyNode);
      if (repo.value === null || (isSeq(repo.value) && repo.value.items.length === 0)) {
        sources.push({ key: registryKey, registry, repository, selection: { kind: 'all' }, ...options });
        continue;
      }
      if (!isSeq(repo.value)) throw fail(path, repo.value, `expected a list of tags and digests (or [] for all tags), not ${kindOf(repo.value)}`);
      const tags: string[] = [];
      const digests: string[] = [];
      repo.value.items.forEach((item, i) => {
        const ipath = `${path}[${i}]`;
        const node = resolve(item, ipath);
        const s = str(node, ipath, 'a tag or a digest', repo.keyNode);
        try {
          if (s.includes(':')) {
            parseDigest(s, 'digest');
            if (!digests.includes(s)) digests.push(s);
          } else {
            parseDockerRef(`${registryKey}/${repo.key}:${s}`);
            if (!tags.includes(s)) tags.push(s);
          }
        } catch (e) {
          const err = toImgError(e);
          throw new ImgError(err.code, `${where(ipath, node)}: ${err.message}`);
        }
      });
      sources.push({ key: registryKey, registry, repository, selection: { kind: 'tags', tags, digests }, ...options });
    }
    for (const repo of section('images-by-tag-regex')) {
      const path = `${registryKey}.images-by-tag-regex.${repo.key}`;
      const { registry, repository } = repositoryOf(repo.key, path, repo.keyNode);
      const pattern = str(repo.value, path, 'a regular expression', repo.keyNode);
      try {
        compileGoRegex(pattern);
      } catch (e) {
        throw new ImgError('USAGE', `${where(path, repo.value)}: ${toImgError(e).message}`);
      }
      sources.push({ key: registryKey, registry, repository, selection: { kind: 'regex', pattern }, ...options });
    }
    for (const repo of section('images-by-semver')) {
      const path = `${registryKey}.images-by-semver.${repo.key}`;
      const { registry, repository } = repositoryOf(repo.key, path, repo.keyNode);
      const constraint = str(repo.value, path, 'a semver constraint', repo.keyNode);
      try {
        parseConstraint(constraint);
      } catch (e) {
        throw new ImgError('USAGE', `${where(path, repo.value)}: ${toImgError(e).message}`);
      }
      sources.push({ key: registryKey, registry, repository, selection: { kind: 'semver', constraint }, ...options });
    }
    if (sources.length === before) {
      throw fail(registryKey, reg.keyNode, 'lists no images: give images, images-by-tag-regex or images-by-semver');
    }
  }
  return sources;
}
