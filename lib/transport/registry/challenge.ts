/** A parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * parseChallenges reads a WWW-Authenticate header value: one or more `Scheme k="v", k2=v2`
 * challenges. Returns [] for anything it cannot read; never throws.
 */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)/y;
  const paramRe = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/y;
  let i = 0;
  while (i < header.length) {
    re.lastIndex = i;
    const m = re.exec(header);
    if (!m) break;
    const challenge: Challenge = { scheme: m[1]!.toLowerCase(), params: {} };
    i = re.lastIndex;
    for (;;) {
      paramRe.lastIndex = i;
      const p = paramRe.exec(header);
      if (!p || p[0].length === 0) break;
      // A bare token followed by space is the next challenge's scheme, not a parameter.
      challenge.params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
      i = paramRe.lastIndex;
    }
    out.push(challenge);
    while (i < header.length && (header[i] === ',' || header[i] === ' ')) i++;
  }
  return out;
}
