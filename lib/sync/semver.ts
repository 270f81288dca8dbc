import { ImgError } from '../errors.js';

/**
 * Semantic versions and constraints as skopeo sync's images-by-semver reads them: skopeo calls
 * github.com/Masterminds/semver/v3 (v3.5.0 is vendored) `NewConstraint(c)` once and, for each
 * tag, `NewVersion(tag)` (tags that do not parse are skipped) and `Constraints.Check(v)`.
 * This is a port of those semantics, written from v3's source and test tables:
 *
 * - NewVersion is lenient ("coerce" mode, v3's default): optional lowercase "v", one to three
 *   numeric parts with leading zeros allowed ("1.2" is 1.2.0, "01.1.1" is 1.1.1), then
 *   "-PRERELEASE" and "+BUILD". Prerelease identifiers are [0-9A-Za-z-], non-empty, and numeric
 *   ones have no leading zero. Parts are uint64; 256 characters at most.
 * - Precedence: major.minor.patch, then a version without prerelease above one with it, then the
 *   prerelease identifiers left to right (numeric ones below alphanumeric ones, fewer identifiers
 *   lower). Build metadata is ignored.
 * - Constraints: OR groups split on "||"; in a group, comparators separated by "," or spaces are
 *   ANDed. Operators = != > < >= => <= =< ~ ~> ^ and none (same as "="). "x", "X" and "*" in a
 *   part, or a missing part, make the comparator a range ("dirty"): "1.2" and "=1.2" mean 1.2.x,
 *   ">1.2" means above every 1.2.x, "<=1.2" means below 1.3.0, "!=1.x" excludes 1.x.x.
 *   "A - B" (spaces around "-" required) becomes ">= A, <= B". At most 512 characters and 32
 *   OR groups.
 * - Prereleases: a version with a prerelease never satisfies an OR group unless some comparator
 *   in that group has a prerelease itself. Then it is compared like any version — v3 does NOT
 *   limit it to the same major.minor.patch as npm's semver does ("~1.2.3-beta.2" admits
 *   "1.2.4-beta.2"; ">=1.0.0-0 <=2.0.0" admits "1.0.1-beta").
 */

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_VERSION_LEN = 256;
const MAX_CONSTRAINT_LEN = 512;
const MAX_CONSTRAINT_GROUPS = 32;

export interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  /** Prerelease without the "-", "" for none. */
  pre: string;
  /** Build metadata without the "+", "" for none. */
  metadata: string;
  /** The string parsed. */
  original: string;
}

const looseVersionRe = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;
const numericRe = /^[0-9]+$/;
const identRe = /^[0-9A-Za-z-]+$/;

/** parseUint64 is Go's strconv.ParseUint(s, 10, 64): undefined when s is not a number or overflows. */
function parseUint64(s: string): bigint | undefined {
  if (!numericRe.test(s)) return undefined;
  const n = BigInt(s);
  return n > MAX_UINT64 ? undefined : n;
}

function parseVersionOrError(s: string): { version?: Version; error?: string } {
  if (s.length > MAX_VERSION_LEN) return { error: `version string is too long (max ${MAX_VERSION_LEN} bytes)` };
  const m = looseVersionRe.exec(s);
  if (!m) return { error: 'invalid semantic version' };
  const parts = [m[1]!, (m[2] ?? '').slice(1), (m[3] ?? '').slice(1)].map((p) => (p === '' ? 0n : parseUint64(p)));
  if (parts.some((p) => p === undefined)) return { error: 'error parsing version segment: value out of range' };
  const pre = m[5] ?? '';
  const metadata = m[8] ?? '';
  if (pre !== '') {
    for (const p of pre.split('.')) {
      if (p === '') return { error: 'invalid prerelease string' };
      if (numericRe.test(p)) {
        if (p.length > 1 && p.startsWith('0')) return { error: 'version segment starts with 0' };
      } else if (!identRe.test(p)) return { error: 'invalid prerelease string' };
    }
  }
  if (metadata !== '' && metadata.split('.').some((p) => !identRe.test(p))) return { error: 'invalid metadata string' };
  const [major, minor, patch] = parts as [bigint, bigint, bigint];
  return { version: { major, minor, patch, pre, metadata, original: s } };
}

/** parseVersion is Masterminds' NewVersion: the version a tag names, or undefined if it names none. */
export function parseVersion(s: string): Version | undefined {
  return parseVersionOrError(s).version;
}

/** formatVersion writes MAJOR.MINOR.PATCH[-PRE][+META] (without a "v"). */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}${v.metadata ? `+${v.metadata}` : ''}`;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return -1;
  if (o === '') return 1;
  const si = parseUint64(s);
  const oi = parseUint64(o);
  if (si === undefined && oi === undefined) return s > o ? 1 : -1;
  if (oi === undefined) return -1; // s is a number, o is not: numbers sort first
  if (si === undefined) return 1;
  return si > oi ? 1 : -1;
}

function comparePrerelease(a: string, b: string): number {
  const sp = a.split('.');
  const op = b.split('.');
  for (let i = 0; i < Math.max(sp.length, op.length); i++) {
    const d = comparePrePart(sp[i] ?? '', op[i] ?? '');
    if (d !== 0) return d;
  }
  return 0;
}

/** compareVersions orders versions by semver precedence: -1, 0 or 1. Build metadata is ignored. */
export function compareVersions(a: Version, b: Version): number {
  const d = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (d !== 0) return d;
  if (a.pre === '' && b.pre === '') return 0;
  if (a.pre === '') return 1;
  if (b.pre === '') return -1;
  return comparePrerelease(a.pre, b.pre);
}

// ---- constraints ----

type Op = '' | '=' | '!=' | '>' | '<' | '>=' | '=>' | '<=' | '=<' | '~' | '~>' | '^';

interface Comparator {
  op: Op;
  con: Version;
  /** The version text as written ("1.x"). */
  orig: string;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

/** A parsed semver constraint; check it against tags with matchSemver or check(). */
export interface Constraint {
  /** The constraint as the user wrote it. */
  readonly source: string;
  /** check says whether a version (or a tag, parsed with parseVersion) satisfies the constraint. */
  check(v: Version | string): boolean;
}

// The grammar, as v3 writes it. Go's \s is [\t\n\f\r ]; "|" inside the classes is a literal.
const S = '[\\t\\n\\f\\r ]';
const cv = 'v?([0-9|xX*]+)(\\.[0-9|xX*]+)?(\\.[0-9|xX*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const ops = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';
const constraintRe = new RegExp(`^${S}*(${ops})${S}*(${cv})${S}*$`);
const rangeRe = new RegExp(`${S}*(${cv})${S}+-${S}+(${cv})${S}*`, 'g');
const findRe = new RegExp(`(${ops})${S}*(${cv})`, 'g');
const validRe = new RegExp(`^(${S}*(${ops})${S}*(${cv})${S}*)((?:${S}+|,${S}*)(${ops})${S}*(${cv})${S}*)*$`);

const isX = (s: string) => s === 'x' || s === 'X' || s === '*';

/** rewriteRange turns "A - B" into ">= A, <= B " as v3 does (replacing the first occurrence of each match's text). */
function rewriteRange(s: string): string {
  let out = s;
  for (const m of s.matchAll(rangeRe)) {
    const t = `>= ${m[1]}, <= ${m[11]} `;
    out = out.replace(m[0], () => t);
  }
  return out;
}

function parseComparator(s: string): Comparator | string {
  const m = constraintRe.exec(s);
  if (!m) return `improper constraint: ${JSON.stringify(s)}`;
  const major = m[3]!;
  const minor = m[4] ?? '';
  const patch = m[5] ?? '';
  const pre = m[6] ?? '';
  let ver = m[2]!;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major)) {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (minor === '' || isX(minor.slice(1))) {
    ver = `${major}.0.0${pre}`;
    dirty = minorDirty = true;
  } else if (patch === '' || isX(patch.slice(1))) {
    ver = `${major}${minor}.0${pre}`;
    dirty = patchDirty = true;
  }
  const parsed = parseVersionOrError(ver);
  if (!parsed.version) return `version ${JSON.stringify(m[2])}: ${parsed.error}`;
  return { op: m[1] as Op, con: parsed.version, orig: m[2]!, dirty, minorDirty, patchDirty };
}

/**
 * parseConstraint is Masterminds' NewConstraint. It throws ImgError('USAGE',
 * `invalid semver constraint "…": …`) for what v3 refuses (the empty string included).
 */
export function parseConstraint(source: string): Constraint {
  const bad = (why: string) => new ImgError('USAGE', `invalid semver constraint ${JSON.stringify(source)}: ${why}`);
  if (typeof source !== 'string') throw bad('not a string');
  if (source.length > MAX_CONSTRAINT_LEN) throw bad(`constraint string is too long (max ${MAX_CONSTRAINT_LEN} bytes)`);
  const ors = rewriteRange(source).split('||');
  if (ors.length > MAX_CONSTRAINT_GROUPS) throw bad(`too many constraint groups (max ${MAX_CONSTRAINT_GROUPS})`);
  const groups: Comparator[][] = [];
  const hasPre: boolean[] = [];
  for (const segment of ors) {
    if (!validRe.test(segment)) throw bad(`improper constraint: ${JSON.stringify(segment)}`);
    const found = [...segment.matchAll(findRe)].map((m) => m[0]);
    const group: Comparator[] = [];
    for (const f of found.length > 0 ? found : [segment]) {
      const c = parseComparator(f);
      if (typeof c === 'string') throw bad(c);
      group.push(c);
    }
    groups.push(group);
    hasPre.push(group.some((c) => c.con.pre !== ''));
  }
  return {
    source,
    check(v: Version | string): boolean {
      const version = typeof v === 'string' ? parseVersion(v) : v;
      if (version === undefined) return false;
      return groups.some((g, i) => g.every((c) => checkComparator(version, c, hasPre[i]!)));
    },
  };
}

/** isValidConstraint says whether parseConstraint would accept s. */
export function isValidConstraint(s: string): boolean {
  try {
    parseConstraint(s);
    return true;
  } catch {
    return false;
  }
}

function checkComparator(v: Version, c: Comparator, includePre: boolean): boolean {
  // Every v3 operator starts by refusing prereleases unless the group asked for them.
  if (v.pre !== '' && !includePre) return false;
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde(v, c) : compareVersions(v, c.con) === 0;
    case '!=':
      return notEqual(v, c);
    case '>':
      return greaterThan(v, c);
    case '<':
      return compareVersions(v, c.con) < 0;
    case '>=':
    case '=>':
      return compareVersions(v, c.con) >= 0;
    case '<=':
    case '=<':
      return lessThanEqual(v, c);
    case '~':
    case '~>':
      return tilde(v, c);
    case '^':
      return caret(v, c);
  }
}

function notEqual(v: Version, c: Comparator): boolean {
  if (c.dirty) {
    if (c.con.major !== v.major) return true;
    if (c.con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (c.con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.pre !== '' || c.con.pre !== '') return comparePrerelease(v.pre, c.con.pre) !== 0;
      return false;
    }
  }
  return compareVersions(v, c.con) !== 0;
}

function greaterThan(v: Version, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) === 1;
  if (v.major > c.con.major) return true;
  if (v.major < c.con.major) return false;
  if (c.minorDirty) return false; // >11 needs 12 or higher
  if (c.patchDirty) return v.minor > c.con.minor; // >11.1 needs 11.2 or higher
  return compareVersions(v, c.con) === 1;
}

function lessThanEqual(v: Version, c: Comparator): boolean {
  if (!c.dirty) return compareVersions(v, c.con) <= 0;
  if (v.major > c.con.major) return false;
  if (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty) return false;
  return true;
}

function tilde(v: Version, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  // ~0.0.0 (also ~*, and "*" through the "=" path) admits everything.
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== c.con.major) return false;
  if (v.minor !== c.con.minor && !c.minorDirty) return false;
  return true;
}

function caret(v: Version, c: Comparator): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
  if (v.major > 0n) return false;
  if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
  if (v.minor > 0n) return false;
  return c.con.patch === v.patch;
}
