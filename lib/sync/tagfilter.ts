import { ImgError } from '../errors.js';
import { compileGoRegex } from './goregex.js';
import { compareVersions, parseConstraint, parseVersion, type Constraint, type Version } from './semver.js';

/**
 * Tag selection as skopeo sync (images-by-tag-regex, images-by-semver) and img-tags need it.
 * Filters keep the order of their input: skopeo keeps the registry's order of the tag list.
 */

export { compileGoRegex } from './goregex.js';
export { compareVersions, formatVersion, isValidConstraint, parseConstraint, parseVersion, type Constraint, type Version } from './semver.js';

/**
 * matchRegex keeps the tags a Go (RE2) regular expression matches anywhere (regexp.MatchString),
 * then drops those `exclude` matches. Both patterns are checked and translated by
 * compileGoRegex; a pattern it refuses throws ImgError('USAGE') naming the pattern.
 */
export function matchRegex(tags: readonly string[], pattern: string, exclude?: string): string[] {
  const re = compileGoRegex(pattern, 'tag regex');
  const ex = exclude === undefined ? undefined : compileGoRegex(exclude, 'exclude regex');
  return tags.filter((t) => re.test(t) && !(ex?.test(t) ?? false));
}

/**
 * matchSemver keeps the tags that parse as versions (Masterminds' lenient NewVersion) and satisfy
 * the constraint, as skopeo's images-by-semver does. A string constraint is parsed first.
 */
export function matchSemver(tags: readonly string[], constraint: Constraint | string): string[] {
  const c = typeof constraint === 'string' ? parseConstraint(constraint) : constraint;
  return tags.filter((t) => {
    const v = parseVersion(t);
    return v !== undefined && c.check(v);
  });
}

/**
 * newest returns the n highest tags by semver precedence, highest first. Tags that are not
 * versions are left out; prereleases count (filter with matchSemver first to leave them out).
 * Tags of equal precedence ("1.2", "v1.2.0", "1.2.0+build") keep their input order.
 */
export function newest(tags: readonly string[], n: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new ImgError('USAGE', `invalid count ${JSON.stringify(n)} of newest tags: expected a whole number of 0 or more`);
  const versions: { tag: string; v: Version; i: number }[] = [];
  tags.forEach((tag, i) => {
    const v = parseVersion(tag);
    if (v !== undefined) versions.push({ tag, v, i });
  });
  versions.sort((a, b) => compareVersions(b.v, a.v) || a.i - b.i);
  return versions.slice(0, n).map((e) => e.tag);
}
