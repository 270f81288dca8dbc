import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import {
  compareVersions,
  compileGoRegex,
  formatVersion,
  isValidConstraint,
  matchRegex,
  matchSemver,
  newest,
  parseConstraint,
  parseVersion,
} from '../../lib/sync/tagfilter.js';

const check = (c: string, v: string) => {
  const version = parseVersion(v);
  if (version === undefined) throw new Error(`test version ${v} does not parse`);
  return parseConstraint(c).check(version);
};

// Ported from Masterminds/semver v3 version_test.go TestNewVersion ("With loose NewVersion",
// the default skopeo uses): true means NewVersion returns an error.
const newVersionTable: [string, boolean][] = [
  ['1.2.3', false],
  ['1.2.3-alpha.01', true],
  ['1.2.3+test.01', false],
  ['1.2.3-alpha.-1', false],
  ['v1.2.3', false],
  ['1.0', false],
  ['v1.0', false],
  ['1', false],
  ['v1', false],
  ['1.2.beta', true],
  ['v1.2.beta', true],
  ['foo', true],
  ['1.2-5', false],
  ['v1.2-5', false],
  ['1.2-beta.5', false],
  ['v1.2-beta.5', false],
  ['\n1.2', true],
  ['\nv1.2', true],
  ['1.2.0-x.Y.0+metadata', false],
  ['v1.2.0-x.Y.0+metadata', false],
  ['1.2.0-x.Y.0+metadata-width-hypen', false],
  ['1.2.3-rc1-with-hypen', false],
  ['1.2.3-0abc123', false],
  ['1.2.3-beta.01', true],
  ['1.2.3.4', true],
  ['v1.2.3.4', true],
  ['1.2.2147483648', false],
  ['1.2147483648.3', false],
  ['2147483648.3.0', false],
  ['12.3.4.1234', true],
  ['20221209-update-renovatejson-v4', false],
  ['1.1.2+.123', true],
  ['1.0.0-alpha_beta', true],
  ['1.0.0-alpha..', true],
  ['1.0.0-alpha..1', true],
  ['9.8.7+meta+meta', true],
  ['1.2.31----RC-SNAPSHOT.12.09.1--.12+788', true],
  ['01.1.1', false],
  ['1.01.1', false],
  ['1.1.01', false],
];

// Ported from version_test.go TestCompare.
const compareTable: [string, string, number][] = [
  ['1.2.3', '1.5.1', -1],
  ['2.2.3', '1.5.1', 1],
  ['2.2.3', '2.2.2', 1],
  ['3.2-beta', '3.2-beta', 0],
  ['1.3', '1.1.4', 1],
  ['4.2', '4.2-beta', 1],
  ['4.2-beta', '4.2', -1],
  ['4.2-alpha', '4.2-beta', -1],
  ['4.2-alpha', '4.2-alpha', 0],
  ['4.2-beta.2', '4.2-beta.1', 1],
  ['4.2-beta2', '4.2-beta1', 1],
  ['4.2-beta', '4.2-beta.2', -1],
  ['4.2-beta', '4.2-beta.foo', -1],
  ['4.2-beta.2', '4.2-beta', 1],
  ['4.2-beta.foo', '4.2-beta', 1],
  ['1.2+bar', '1.2+baz', 0],
  ['1.0.0-beta.4', '1.0.0-beta.-2', -1],
  ['1.0.0-beta.-2', '1.0.0-beta.-3', -1],
  ['1.0.0-beta.-3', '1.0.0-beta.5', 1],
];

// Ported from constraints_test.go TestConstraintCheck (single comparators; the "" rows are left
// out because NewConstraint refuses the empty string, tested below).
const comparatorTable: [string, string, boolean][] = [
  ['=2.0.0', '1.2.3', false],
  ['=2.0.0', '2.0.0', true],
  ['=2.0', '1.2.3', false],
  ['=2.0', '2.0.0', true],
  ['=2.0', '2.0.1', true],
  ['4.1', '4.1.0', true],
  ['!=4.1.0', '4.1.0', false],
  ['!=4.1.0', '4.1.1', true],
  ['!=4.1', '4.1.0', false],
  ['!=4.1', '4.1.1', false],
  ['!=4.1', '5.1.0-alpha.1', false],
  ['!=4.1.0', '5.1.0-alpha.1', false],
  ['!=4.1-alpha', '4.1.0', true],
  ['!=4.1', '5.1.0', true],
  ['<11', '0.1.0', true],
  ['<11', '11.1.0', false],
  ['<1.1', '0.1.0', true],
  ['<1.1', '1.1.0', false],
  ['<1.1', '1.1.1', false],
  ['<=11', '1.2.3', true],
  ['<=11', '12.2.3', false],
  ['<=11', '11.2.3', true],
  ['<=1.1', '1.2.3', false],
  ['<=1.1', '0.1.0', true],
  ['<=1.1', '1.1.0', true],
  ['<=1.1', '1.1.1', true],
  ['>1.1', '4.1.0', true],
  ['>1.1', '1.1.0', false],
  ['>0', '0', false],
  ['>0', '1', true],
  ['>0', '0.0.1-alpha', false],
  ['>0.0', '0.0.1-alpha', false],
  ['>0-0', '0.0.1-alpha', false],
  ['>0.0-0', '0.0.1-alpha', false],
  ['>0', '0.0.0-alpha', false],
  ['>0-0', '0.0.0-alpha', false],
  ['>0.0.0-0', '0.0.0-alpha', true],
  ['>1.2.3-alpha.1', '1.2.3-alpha.2', true],
  ['>1.2.3-alpha.1', '1.3.3-alpha.2', true],
  ['>11', '11.1.0', false],
  ['>11.1', '11.1.0', false],
  ['>11.1', '11.1.1', false],
  ['>11.1', '11.2.1', true],
  ['>=11', '11.1.2', true],
  ['>=11.1', '11.1.2', true],
  ['>=11.1', '11.0.2', false],
  ['>=1.1', '4.1.0', true],
  ['>=1.1', '1.1.0', true],
  ['>=1.1', '0.0.9', false],
  ['>=0', '0.0.1-alpha', false],
  ['>=0.0', '0.0.1-alpha', false],
  ['>=0-0', '0.0.1-alpha', true],
  ['>=0.0-0', '0.0.1-alpha', true],
  ['>=0', '0.0.0-alpha', false],
  ['>=0-0', '0.0.0-alpha', true],
  ['>=0.0.0-0', '0.0.0-alpha', true],
  ['>=0.0.0-0', '1.2.3', true],
  ['>=0.0.0-0', '3.4.5-beta.1', true],
  ['<0', '0.0.0-alpha', false],
  ['<0-z', '0.0.0-alpha', true],
  ['>=0', '0', true],
  ['=0', '1', false],
  ['*', '1', true],
  ['*', '4.5.6', true],
  ['*', '1.2.3-alpha.1', false],
  ['*-0', '1.2.3-alpha.1', true],
  ['2.*', '1', false],
  ['2.*', '3.4.5', false],
  ['2.*', '2.1.1', true],
  ['2.1.*', '2.1.1', true],
  ['2.1.*', '2.2.1', false],
  ['2', '1', false],
  ['2', '3.4.5', false],
  ['2', '2.1.1', true],
  ['2.1', '2.1.1', true],
  ['2.1', '2.2.1', false],
  ['~1.2.3', '1.2.4', true],
  ['~1.2.3', '1.3.4', false],
  ['~1.2', '1.2.4', true],
  ['~1.2', '1.3.4', false],
  ['~1', '1.2.4', true],
  ['~1', '2.3.4', false],
  ['~0.2.3', '0.2.5', true],
  ['~0.2.3', '0.3.5', false],
  ['~1.2.3-beta.2', '1.2.3-beta.4', true],
  ['~1.2.3-beta.2', '1.2.4-beta.2', true],
  ['~1.2.3-beta.2', '1.3.4-beta.2', false],
  ['^1.2.3', '1.8.9', true],
  ['^1.2.3', '2.8.9', false],
  ['^1.2.3', '1.2.1', false],
  ['^1.1.0', '2.1.0', false],
  ['^1.2.0', '2.2.1', false],
  ['^1.2.0', '1.2.1-alpha.1', false],
  ['^1.2.0-alpha.0', '1.2.1-alpha.1', true],
  ['^1.2.0-alpha.0', '1.2.1-alpha.0', true],
  ['^1.2.0-alpha.2', '1.2.0-alpha.1', false],
  ['^1.2', '1.8.9', true],
  ['^1.2', '2.8.9', false],
  ['^1', '1.8.9', true],
  ['^1', '2.8.9', false],
  ['^0.2.3', '0.2.5', true],
  ['^0.2.3', '0.5.6', false],
  ['^0.2', '0.2.5', true],
  ['^0.2', '0.5.6', false],
  ['^0.0.3', '0.0.3', true],
  ['^0.0.3', '0.0.4', false],
  ['^0.0', '0.0.3', true],
  ['^0.0', '0.1.4', false],
  ['^0.0', '1.0.4', false],
  ['^0', '0.2.3', true],
  ['^0', '1.1.4', false],
  ['^0.2.3-beta.2', '0.2.3-beta.4', true],
  ['^0.2.3-beta.2', '0.2.4-beta.2', true],
  ['^0.2.3-beta.2', '0.3.4-beta.2', false],
  ['^0.2.3-beta.2', '0.2.3-beta.2', true],
];

// Ported from constraints_test.go TestConstraintsCheck (whole constraints: ORs, ANDs, ranges).
const constraintsTable: [string, string, boolean][] = [
  ['*', '1.2.3', true],
  ['~0.0.0', '1.2.3', true],
  ['0.x.x', '1.2.3', false],
  ['0.0.x', '1.2.3', false],
  ['0.0.0', '1.2.3', false],
  ['^0.0.0', '1.2.3', false],
  ['= 2.0', '1.2.3', false],
  ['= 2.0', '2.0.0', true],
  ['4.1', '4.1.0', true],
  ['4.1.x', '4.1.3', true],
  ['1.x', '1.4', true],
  ['!=4.1', '4.1.0', false],
  ['!=4.1-alpha', '4.1.0-alpha', false],
  ['!=4.1-alpha', '4.1.1-alpha', false],
  ['!=4.1-alpha', '4.1.0', true],
  ['!=4.1', '5.1.0', true],
  ['!=4.x', '5.1.0', true],
  ['!=4.x', '4.1.0', false],
  ['!=4.1.x', '4.2.0', true],
  ['!=4.2.x', '4.2.3', false],
  ['>1.1', '4.1.0', true],
  ['>1.1', '1.1.0', false],
  ['<1.1', '0.1.0', true],
  ['<1.1', '1.1.0', false],
  ['<1.1', '1.1.1', false],
  ['<1.x', '1.1.1', false],
  ['<1.x', '0.1.1', true],
  ['<1.x', '2.0.0', false],
  ['<1.1.x', '1.2.1', false],
  ['<1.1.x', '1.1.500', false],
  ['<1.1.x', '1.0.500', true],
  ['<1.2.x', '1.1.1', true],
  ['>=1.1', '4.1.0', true],
  ['>=1.1', '4.1.0-beta', false],
  ['>=1.1', '1.1.0', true],
  ['>=1.1', '0.0.9', false],
  ['<=1.1', '0.1.0', true],
  ['<=1.1', '0.1.0-alpha', false],
  ['<=1.1-a', '0.1.0-alpha', true],
  ['<=1.1', '1.1.0', true],
  ['<=1.x', '1.1.0', true],
  ['<=2.x', '3.0.0', false],
  ['<=1.1', '1.1.1', true],
  ['<=1.1.x', '1.2.500', false],
  ['<=4.5', '3.4.0', true],
  ['<=4.5', '3.7.0', true],
  ['<=4.5', '4.6.3', false],
  ['>1.1, <2', '1.1.1', false],
  ['>1.1, <2', '1.2.1', true],
  ['>1.1, <3', '4.3.2', false],
  ['>=1.1, <2, !=1.2.3', '1.2.3', false],
  ['>1.1 <2', '1.1.1', false],
  ['>1.1 <2', '1.2.1', true],
  ['>1.1    <3', '4.3.2', false],
  ['>=1.1    <2    !=1.2.3', '1.2.3', false],
  ['>=1.1, <2, !=1.2.3 || > 3', '4.1.2', true],
  ['>=1.1, <2, !=1.2.3 || > 3', '3.1.2', false],
  ['>=1.1, <2, !=1.2.3 || >= 3', '3.0.0', true],
  ['>=1.1, <2, !=1.2.3 || > 3', '3.0.0', false],
  ['>=1.1, <2, !=1.2.3 || > 3', '1.2.3', false],
  ['>=1.1 <2 !=1.2.3 || > 3', '4.1.2', true],
  ['> 1.1, <     2', '1.1.1', false],
  ['>   1.1, <2', '1.2.1', true],
  ['>= 1.1 <2 != 1.2.3 || >= 3', '3.0.0', true],
  ['>= 1.0.0  <= 2.0.0-beta', '1.0.1-beta', true],
  ['>= 1.0.0  <= 2.0.0-beta', '1.0.1', true],
  ['>= 1.0.0  <= 2.0.0-beta', '3.0.0', false],
  ['>= 1.0.0  <= 2.0.0-beta || > 3', '1.0.1-beta', true],
  ['>= 1.0.0  <= 2.0.0-beta || > 3', '3.0.1-beta', false],
  ['>= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3', '1.0.1-beta', true],
  ['>= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3', '1.0.1-beta', false],
  ['>= 1.0.0-0  <= 2.0.0', '1.0.1-beta', true],
  ['1.1 - 2', '1.1.1', true],
  ['1.5.0 - 4.5', '3.7.0', true],
  ['1.1-3', '4.3.2', false],
  ['^1.1', '1.1.1', true],
  ['^1.1', '4.3.2', false],
  ['^1.x', '1.1.1', true],
  ['^2.x', '1.1.1', false],
  ['^1.x', '2.1.1', false],
  ['^1.x', '1.1.1-beta1', false],
  ['^1.1.2-alpha', '1.2.1-beta1', true],
  ['^1.2.x-alpha', '1.1.1-beta1', false],
  ['^0.0.1', '0.0.1', true],
  ['^0.0.1', '0.3.1', false],
  ['~*', '2.1.1', true],
  ['~1', '2.1.1', false],
  ['~1', '1.3.5', true],
  ['~1', '1.4', true],
  ['~1.x', '2.1.1', false],
  ['~1.x', '1.3.5', true],
  ['~1.x', '1.4', true],
  ['~1.1', '1.1.1', true],
  ['~1.1', '1.1.1-alpha', false],
  ['~1.1-alpha', '1.1.1-beta', true],
  ['~1.1.1-beta', '1.1.1-alpha', false],
  ['~1.1.1-beta', '1.1.1', true],
  ['~1.2.3', '1.2.5', true],
  ['~1.2.3', '1.2.2', false],
  ['~1.2.3', '1.3.2', false],
  ['~1.1', '1.2.3', false],
  ['~1.3', '2.4.5', false],
  ['1.0.0 - 2.0.0 <=2.0.0', '1.5.0', true],
  ['1.0.0 - 2.0.0, <=2.0.0', '1.5.0', true],
];

// Ported from constraints_test.go TestNewConstraint (whether NewConstraint errors).
const newConstraintTable: [string, boolean][] = [
  ['>= 1.1', false],
  ['>40.50.60, < 50.70', false],
  ['2.0', false],
  ['v2.3.5-20161202202307-sha.e8fc5e5', false],
  ['v1.2.3-0abc', false],
  ['v1.2.3-beta.01', true],
  ['>= bar', true],
  ['BAR >= 1.2.3', true],
  ['>= 1.2.3 < 2.0', false],
  ['>= 1.2.3 < 2.0 || => 3.0 < 4', false],
  ['>= 1.2.3, < 2.0', false],
  ['>= 1.2.3, < 2.0 || => 3.0, < 4', false],
  ['3 - 4 || => 3.0, < 4', false],
  ['12.3.4.1234', true],
  ['12.23.4.1234', true],
  ['12.3.34.1234', true],
  ['12.3.34 ~1.2.3', false],
  ['12.3.34~ 1.2.3', true],
  ['1.0.0 - 2.0.0, <=2.0.0', false],
  ['foo', true],
];

describe('parseVersion (Masterminds NewVersion)', () => {
  it.each(newVersionTable)('%j fails: %s', (v, err) => {
    expect(parseVersion(v) === undefined).toBe(err);
  });

  it('coerces partial versions, a leading v and leading zeros', () => {
    expect(formatVersion(parseVersion('v1.2')!)).toBe('1.2.0');
    expect(formatVersion(parseVersion('1')!)).toBe('1.0.0');
    expect(formatVersion(parseVersion('01.02.003-rc.1+b.7')!)).toBe('1.2.3-rc.1+b.7');
    expect(parseVersion('V1.2.3')).toBeUndefined(); // only a lowercase v
    expect(parseVersion('latest')).toBeUndefined();
    expect(parseVersion('1.2.3_beta')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
  });

  it('keeps uint64 parts exact and refuses overflow and over-long strings', () => {
    expect(parseVersion('18446744073709551615.0.0')!.major).toBe(18446744073709551615n);
    expect(parseVersion('18446744073709551616.0.0')).toBeUndefined();
    expect(parseVersion('1.0.0-' + 'a'.repeat(251))).toBeUndefined(); // 257 characters: over the 256 allowed
    expect(parseVersion('1.0.0-' + 'a'.repeat(250))).toBeDefined();
  });
});

describe('compareVersions', () => {
  it.each(compareTable)('%s vs %s = %i', (a, b, want) => {
    expect(compareVersions(parseVersion(a)!, parseVersion(b)!)).toBe(want);
  });

  it('orders numeric prerelease identifiers numerically, beyond 2^53 too', () => {
    expect(compareVersions(parseVersion('1.0.0-10')!, parseVersion('1.0.0-9')!)).toBe(1);
    expect(compareVersions(parseVersion('1.0.0-9007199254740993')!, parseVersion('1.0.0-9007199254740992')!)).toBe(1);
  });
});

describe('parseConstraint and check (Masterminds NewConstraint/Check)', () => {
  it.each(comparatorTable)('%j admits %j: %s', (c, v, want) => {
    expect(check(c, v)).toBe(want);
  });

  it.each(constraintsTable)('%j admits %j: %s', (c, v, want) => {
    expect(check(c, v)).toBe(want);
  });

  it.each(newConstraintTable)('%j is refused: %s', (c, err) => {
    expect(isValidConstraint(c)).toBe(!err);
  });

  it('refuses what NewConstraint refuses, with a USAGE error naming the constraint', () => {
    for (const c of ['', '   ', '>=', '>= 1.2 ||', 'latest', '1.2.3.4', '>=1|2', '>> 1']) {
      const e = caught(() => parseConstraint(c));
      expect(e.code).toBe('USAGE');
      expect(e.message.startsWith(`invalid semver constraint ${JSON.stringify(c)}: `)).toBe(true);
    }
    expect(caught(() => parseConstraint('>=1.2, foo')).message).toContain('improper constraint');
    expect(caught(() => parseConstraint('x'.repeat(513))).message).toContain('too long (max 512 bytes)');
    expect(caught(() => parseConstraint(Array(33).fill('1').join('||'))).message).toContain('too many constraint groups (max 32)');
    expect(() => parseConstraint(Array(32).fill('1').join('||'))).not.toThrow();
  });

  it('prereleases need a prerelease comparator in the same OR group, not the same x.y.z', () => {
    expect(check('>=1.0.0-0', '2.5.0-rc.1')).toBe(true);
    expect(check('>=1.0.0', '2.5.0-rc.1')).toBe(false);
    expect(check('>=1.0.0-0 || >=3', '3.1.0-rc.1')).toBe(true);
    expect(check('>=3 || >=1.0.0-0', '3.1.0-rc.1')).toBe(true);
    expect(check('>=3 || <1.0.0-0', '3.1.0-rc.1')).toBe(false);
    expect(check('>=1.2.3-alpha, <2', '1.9.9-beta')).toBe(true);
  });

  it('hyphen ranges need spaces around "-" and take a partial upper bound as x', () => {
    expect(check('1.2 - 1.4.5', '1.2.0')).toBe(true);
    expect(check('1.2 - 1.4.5', '1.4.5')).toBe(true);
    expect(check('1.2 - 1.4.5', '1.4.6')).toBe(false);
    expect(check('1.2 - 1.4.5', '1.1.9')).toBe(false);
    expect(check('1.2.3 - 2.3', '2.3.9')).toBe(true);
    expect(check('1.2.3 - 2.3', '2.4.0')).toBe(false);
  });

  it('partial versions in comparators cover the whole x range', () => {
    expect(check('>1.2', '1.2.9')).toBe(false);
    expect(check('>1.2', '1.3.0')).toBe(true);
    expect(check('<=1.2', '1.2.99')).toBe(true);
    expect(check('<=1.2', '1.3.0')).toBe(false);
    expect(check('=1.2', '1.2.7')).toBe(true);
    expect(check('1.2', '1.3.0')).toBe(false);
    expect(check('1.2.X', '1.2.7')).toBe(true);
    expect(check('=> 1.2', '1.2.0')).toBe(true);
    expect(check('=< 1.2', '1.2.5')).toBe(true);
    expect(check('~> 1.2', '1.2.5')).toBe(true);
    expect(check('~> 1.2', '1.3.0')).toBe(false);
  });

  it('check takes a tag string too, false for tags that are not versions', () => {
    const c = parseConstraint('>= 3.12.0');
    expect(c.check('v3.12')).toBe(true);
    expect(c.check('3.12-alpine')).toBe(false); // a prerelease "alpine"
    expect(c.check('latest')).toBe(false);
    expect(c.source).toBe('>= 3.12.0');
  });
});

describe('matchSemver', () => {
  const tags = ['latest', '3.11.6', 'v3.12.0', '3.12', '3.12.1-rc1', 'edge', '3.13.0+build.5', '4.0', '3.9', 'sha256-abc.sig', '3.12.0_1'];

  it('keeps the input order and skips tags that are not versions (skopeo docs example)', () => {
    expect(matchSemver(tags, '>= 3.12.0')).toEqual(['v3.12.0', '3.12', '3.13.0+build.5', '4.0']);
    expect(matchSemver(tags, '~3.12')).toEqual(['v3.12.0', '3.12']);
    expect(matchSemver(tags, '~3.12.0-0')).toEqual(['v3.12.0', '3.12', '3.12.1-rc1']);
    expect(matchSemver(tags, parseConstraint('<3.12 || >=4'))).toEqual(['3.11.6', '4.0', '3.9']);
    expect(matchSemver([], '*')).toEqual([]);
  });

  it('throws for a bad constraint even with no tags', () => {
    expect(caught(() => matchSemver([], 'nope')).code).toBe('USAGE');
  });
});

describe('newest', () => {
  it('returns the n highest versions, highest first, without non-semver tags', () => {
    const tags = ['1.9', 'latest', '1.10.0', 'v2.0.0-rc.1', '1.10.1', '2.0.0', 'edge', '0.9'];
    expect(newest(tags, 3)).toEqual(['2.0.0', 'v2.0.0-rc.1', '1.10.1']);
    expect(newest(tags, 0)).toEqual([]);
    expect(newest(tags, 100)).toEqual(['2.0.0', 'v2.0.0-rc.1', '1.10.1', '1.10.0', '1.9', '0.9']);
    expect(newest(matchSemver(tags, '*'), 2)).toEqual(['2.0.0', '1.10.1']);
  });

  it('keeps input order among equal versions', () => {
    expect(newest(['1.2.0+b', 'v1.2', '1.2.0', '1.1'], 3)).toEqual(['1.2.0+b', 'v1.2', '1.2.0']);
  });

  it('refuses a count that is not a whole number', () => {
    for (const n of [-1, 1.5, Number.NaN]) expect(caught(() => newest(['1'], n)).code).toBe('USAGE');
  });
});

describe('matchRegex (Go regexp.MatchString semantics)', () => {
  const tags = ['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.12-alpine-perl', 'v1.13.1', 'latest', 'alpine', 'ALPINE-3', '1.13.2-alpine'];

  it('matches anywhere unless anchored and keeps input order (skopeo docs example)', () => {
    expect(matchRegex(tags, '^1\\.13\\.[12]-alpine-perl$')).toEqual(['1.13.1-alpine-perl', '1.13.2-alpine-perl']);
    expect(matchRegex(tags, 'alpine')).toEqual(['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.12-alpine-perl', 'alpine', '1.13.2-alpine']);
    expect(matchRegex(tags, '^alpine$')).toEqual(['alpine']);
    expect(matchRegex(tags, '')).toEqual(tags);
  });

  it('removes what exclude matches', () => {
    expect(matchRegex(tags, 'alpine', 'perl')).toEqual(['alpine', '1.13.2-alpine']);
    expect(matchRegex(tags, '.', '^v|^[a-z]')).toEqual(['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.12-alpine-perl', 'ALPINE-3', '1.13.2-alpine']);
  });

  it('translates RE2 syntax that JS spells differently', () => {
    expect(matchRegex(tags, '(?i)^alpine')).toEqual(['alpine', 'ALPINE-3']);
    expect(matchRegex(tags, '\\Aalpine\\z')).toEqual(['alpine']);
    expect(matchRegex(['a.b', 'axb'], '\\Qa.b\\E')).toEqual(['a.b']);
    expect(matchRegex(['a.b', 'axb'], '^\\Qa.\\E')).toEqual(['a.b']);
    expect(matchRegex(tags, '^[[:digit:]]+\\.[[:digit:]]+\\.[[:digit:]]-')).toEqual(['1.13.1-alpine-perl', '1.13.2-alpine-perl', '1.13.2-alpine']);
    expect(matchRegex(tags, '^[[:upper:]]')).toEqual(['ALPINE-3']);
    expect(matchRegex(['a]', 'b', ']'], '^[]a]+$')).toEqual(['a]', ']']);
    expect(matchRegex(['a', 'b', ']'], '^[^]a]$')).toEqual(['b']);
    expect(matchRegex(['v1', 'v2'], '^(?P<v>v)1')).toEqual(['v1']);
    expect(matchRegex(['v1', 'v2'], '^(?<v>v)2')).toEqual(['v2']);
    expect(matchRegex(['a1', 'A'], '\\x{41}|\\x61')).toEqual(['a1', 'A']);
    expect(matchRegex(['1.0', '1x0'], '^1\\.0$')).toEqual(['1.0']);
    expect(matchRegex(['aaa', 'aaaa'], '^a{3}$')).toEqual(['aaa']);
    expect(matchRegex(['a{,3}'], 'a{,3}')).toEqual(['a{,3}']); // a literal in RE2 and in JS
  });

  it('compileGoRegex maps leading flags to RegExp flags', () => {
    expect(compileGoRegex('(?is)a.b').flags).toBe('is');
    expect(compileGoRegex('(?m)(?i)x').flags).toBe('im');
    expect(compileGoRegex('abc').flags).toBe('');
  });

  it('refuses what RE2 refuses or JS would read differently, naming the pattern', () => {
    const refused: [string, RegExp][] = [
      ['(a)\\1', /backreferences/],
      ['\\12', /octal/],
      ['^(?=1)', /lookahead and lookbehind/],
      ['(?!x)', /lookahead/],
      ['(?<=v)1', /lookbehind/],
      ['(?<!v)1', /lookbehind/],
      ['\\e', /invalid escape sequence "\\e"/],
      ['\\k<v>', /invalid escape/],
      ['\\Z', /invalid escape/],
      ['[\\b]', /invalid escape/],
      ['\\pL', /Unicode classes/],
      ['a{1001}', /repeat count/],
      ['a{2,1001}', /repeat count/],
      ['a(?i)b', /flags are only supported at the very start/],
      ['(?i:a)', /flags are only supported/],
      ['(?U)a+', /ungreedy/],
      ['(?-i)a', /clearing flags/],
      ['[[:^alpha:]]', /negated POSIX/],
      ['[[:foo:]]', /character class range/],
      ['abc\\', /trailing backslash/],
      ['[abc', /missing closing \]/],
      ['a**', /nothing to repeat/],
      ['(', /unterminated group/],
      ['\\x{110000}', /above U\+FFFF/],
      ['\\xZ', /invalid \\x escape/],
    ];
    for (const [p, why] of refused) {
      const e = caught(() => matchRegex(['x'], p));
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(`invalid tag regex ${JSON.stringify(p)}: `);
      expect(e.message).toMatch(why);
    }
    const e = caught(() => matchRegex(['x'], 'x', '(?=y)'));
    expect(e.message).toContain('invalid exclude regex "(?=y)"');
  });
});
