/**
 * skopeo's log lines on stderr, as logrus's text formatter writes them: `time="…" level=fatal msg="…"`
 * (keys after msg sorted), or on a terminal `FATA[0000] msg` in colour.
 */

export type Level = 'debug' | 'info' | 'warning' | 'error' | 'fatal';

const COLOR: Record<Level, number> = { debug: 37, info: 36, warning: 33, error: 31, fatal: 31 };

/** goQuote quotes a string as Go's %q does (strconv.Quote): printable characters kept, others escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xfffd) out += c <= 0xffff ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
    else out += ch;
  }
  return `${out}"`;
}

/** logrus quotes a value unless every character is one of these. */
const BARE = /^[A-Za-z0-9\-._/@^+]+$/;
const value = (v: string) => (BARE.test(v) ? v : goQuote(v));

/** goTimestamp is the time as Go's time.RFC3339 writes it in the local zone (Z for UTC). */
export function goTimestamp(d: Date = new Date()): string {
  const off = -d.getTimezoneOffset();
  const p = (n: number) => String(n).padStart(2, '0');
  const local = new Date(d.getTime() + off * 60_000);
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}${zone}`;
}

/** formatLog is one log line as logrus writes it to `tty` (a terminal: coloured) or not. */
export function formatLog(level: Level, msg: string, fields: Record<string, string> = {}, tty = false): string {
  const keys = Object.keys(fields).sort();
  if (tty) {
    const head = `\x1b[${COLOR[level]}m${level.toUpperCase().slice(0, 4)}\x1b[0m[${String(Math.floor(process.uptime())).padStart(4, '0')}] ${msg.padEnd(44)} `;
    return `${head}${keys.map((k) => ` \x1b[${COLOR[level]}m${k}\x1b[0m=${value(fields[k]!)}`).join('')}`.trimEnd() + '\n';
  }
  const parts = [`time=${value(goTimestamp())}`, `level=${level}`, `msg=${value(msg)}`, ...keys.map((k) => `${k}=${value(fields[k]!)}`)];
  return `${parts.join(' ')}\n`;
}

/** log writes one line to stderr, as skopeo's logrus does. */
export function log(level: Level, msg: string, fields: Record<string, string> = {}): void {
  process.stderr.write(formatLog(level, msg, fields, process.stderr.isTTY === true));
}
