import { ImgError } from '../errors.js';

/**
 * compileGoRegex compiles a Go (RE2) regular expression, as skopeo's images-by-tag-regex and
 * --tag-regex take it, into a JS RegExp that matches the same tags. Like Go's
 * regexp.MatchString, the result matches anywhere in the string unless the pattern is anchored.
 *
 * Translated: `(?P<name>…)` to `(?<name>…)`; leading flags `(?i)`, `(?s)`, `(?m)` (or
 * `(?ims)`) to RegExp flags; `\A` and `\z`; `\Q…\E` literals; `\a` and `\x{…}`; POSIX classes
 * such as `[[:alpha:]]`; a `]` first in a class (`[]a]`, `[^]a]`), which is literal in RE2 but
 * not in JS.
 *
 * Refused with ImgError('USAGE', …) naming the pattern: what RE2 refuses and JS would accept
 * (backreferences `\1`, lookahead and lookbehind, unknown escapes such as `\e` or `\k`,
 * repeat counts over 1000) and RE2 constructs we do not translate (flags anywhere but at the
 * very start or in `(?i:…)` groups, `(?U)`, Unicode classes `\p{…}`, octal escapes, negated
 * POSIX classes). Tags are ASCII ([A-Za-z0-9_.-]), so the differences between RE2 and JS over
 * Unicode and line terminators cannot change which tags match.
 */
export function compileGoRegex(pattern: string, what = 'tag regex'): RegExp {
  const bad = (why: string) => new ImgError('USAGE', `invalid ${what} ${JSON.stringify(pattern)}: ${why}`);
  if (typeof pattern !== 'string') throw bad('not a string');
  const { source, flags } = translate(pattern, bad);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw bad(((e as Error).message ?? String(e)).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '').toLowerCase());
  }
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const SPECIAL = /[\\^$.|?*+()[\]{}/-]/g;
const escapeLiteral = (s: string) => s.replace(SPECIAL, '\\$&');

function hexEscape(code: number, bad: (why: string) => ImgError): string {
  if (code > 0xffff) throw bad('\\x escapes above U+FFFF are not supported');
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function translate(p: string, bad: (why: string) => ImgError): { source: string; flags: string } {
  let i = 0;
  const flags = new Set<string>();
  // Leading (?flags) groups become RegExp flags.
  for (let m = /^\(\?([a-zA-Z-]*)\)/.exec(p); m; m = /^\(\?([a-zA-Z-]*)\)/.exec(p.slice(i))) {
    for (const f of m[1]!) {
      if (f === 'i' || f === 'm' || f === 's') flags.add(f);
      else if (f === 'U') throw bad('the ungreedy flag (?U) is not supported');
      else if (f === '-') throw bad('clearing flags with (?-…) is not supported');
      else throw bad(`unknown flag "${f}" in (?${m[1]})`);
    }
    if (m[1] === '') throw bad('missing flags in "(?)"');
    i += m[0].length;
  }
  let out = '';
  let inClass = false;
  let classFirst = false; // at the first position of a class, after "[" or "[^"

  const readEscape = (): void => {
    // p[i] is "\\"
    const c = p[i + 1];
    if (c === undefined) throw bad('trailing backslash at end of expression');
    if (/[0-9]/.test(c)) throw bad(`backreferences and octal escapes ("\\${c}") are not supported`);
    if (c === 'x') {
      const braced = /^\\x\{([0-9A-Fa-f]{1,8})\}/.exec(p.slice(i));
      const two = /^\\x([0-9A-Fa-f]{2})/.exec(p.slice(i));
      const m = braced ?? two;
      if (!m) throw bad('invalid \\x escape: expected \\xHH or \\x{HEX}');
      out += hexEscape(parseInt(m[1]!, 16), bad);
      i += m[0].length;
      return;
    }
    if (c === 'p' || c === 'P') throw bad('Unicode classes (\\p, \\P) are not supported: tags are ASCII');
    let rep: string | undefined;
    if ('dDwWsSfnrtv'.includes(c)) rep = `\\${c}`;
    else if (c === 'a') rep = '\\x07';
    else if (!inClass && (c === 'b' || c === 'B')) rep = `\\${c}`;
    else if (!inClass && c === 'A') rep = '(?<![\\s\\S])';
    else if (!inClass && c === 'z') rep = '(?![\\s\\S])';
    else if (!inClass && c === 'Q') {
      const end = p.indexOf('\\E', i + 2);
      const lit = end === -1 ? p.slice(i + 2) : p.slice(i + 2, end);
      out += escapeLiteral(lit);
      i = end === -1 ? p.length : end + 2;
      return;
    } else if (/[A-Za-z]/.test(c)) throw bad(`invalid escape sequence "\\${c}"`);
    else if (c.charCodeAt(0) >= 0x80) throw bad(`invalid escape sequence "\\${c}"`);
    else rep = `\\${c}`;
    out += rep;
    i += 2;
  };

  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      readEscape();
      classFirst = false;
      continue;
    }
    if (inClass) {
      if (c === ']' && !classFirst) {
        inClass = false;
        out += ']';
        i++;
        continue;
      }
      if (c === ']') {
        out += '\\]';
        i++;
        classFirst = false;
        continue;
      }
      classFirst = false;
      if (c === '[' && p[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(i));
        if (m) {
          if (m[1]) throw bad(`negated POSIX class "[:^${m[2]}:]" is not supported`);
          const ranges = POSIX[m[2]!];
          if (ranges === undefined) throw bad(`invalid character class range "[:${m[2]}:]"`);
          out += ranges;
          i += m[0].length;
          continue;
        }
      }
      out += c === '/' ? '\\/' : c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classFirst = true;
      out += '[';
      i++;
      if (p[i] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const rest = p.slice(i);
      let m: RegExpExecArray | null;
      if (rest.startsWith('(?:')) {
        out += '(?:';
        i += 3;
      } else if ((m = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(rest))) {
        out += `(?<${m[1]}>`;
        i += m[0].length;
      } else if (/^\(\?(?:=|!|<=|<!)/.test(rest)) {
        throw bad('lookahead and lookbehind are not supported (RE2 syntax)');
      } else if (/^\(\?[a-zA-Z-]*[):]/.test(rest)) {
        throw bad('flags are only supported at the very start of the pattern, as (?i), (?s) or (?m)');
      } else {
        throw bad(`invalid or unsupported group "${rest.slice(0, 4)}"`);
      }
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
      if (m && (Number(m[1]) > 1000 || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > 1000))) {
        throw bad(`invalid repeat count "${m[0]}" (at most 1000)`);
      }
    }
    out += c === '/' ? '\\/' : c;
    i++;
  }
  if (inClass) throw bad('missing closing ] of a character class');
  return { source: out, flags: [...flags].sort().join('') };
}
