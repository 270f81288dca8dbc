/**
 * Go values for lib/image/gotemplate.ts: typed values (a Go type and its raw JS value), the
 * printing of package fmt (Sprint, Sprintln, Sprintf), encoding/json's encoding and decoding of
 * typed values, and time.Time and digest.Digest with the methods templates call. Pure: no I/O.
 *
 * The rules are Go 1.19's (the Go that built Debian's skopeo 1.9.3), checked against that skopeo.
 */

// ---------------------------------------------------------------- types and values

export type GoKind = 'string' | 'int' | 'float' | 'bool' | 'slice' | 'map' | 'struct' | 'ptr' | 'iface';

export interface GoField {
  name: string;
  type: GoType;
  /** the JSON name (the tag's, or the field name) */
  json?: string;
  omitempty?: boolean;
}

export interface GoMethod {
  params: GoType[];
  call(recv: any, args: Val[]): Val;
}

/** GoType is a Go type as much as templates, fmt and encoding/json need of it. */
export interface GoType {
  kind: GoKind;
  /** Go's name for the type: string, digest.Digest, []string, map[string]string, *time.Time, interface {} */
  name: string;
  /** slice, map (the value type) and pointer */
  elem?: GoType;
  /** map (always a string type here) */
  key?: GoType;
  fields?: GoField[];
  /** methods of the type (callable on a value and through a pointer to it) */
  methods?: Record<string, GoMethod>;
  /** String(), which fmt calls for %v %s %q %x %X */
  stringer?: (raw: any) => string;
  /** MarshalJSON / UnmarshalJSON, for types that have them (time.Time) */
  marshalJSON?: (raw: any) => string;
  unmarshalJSON?: (json: unknown, where: string) => any;
}

/**
 * Val is a typed value, Go's reflect.Value: raw is a string, a number (or bigint), a boolean, an
 * array or null (slice), a Map or null (map), an object of field values (struct), the pointee or
 * null (pointer), or a Val or null (interface). undefined is the invalid Value: a missing map key.
 */
export interface TypedVal {
  t: GoType;
  v: any;
}
export type Val = TypedVal | undefined;

const basic = (kind: GoKind, name: string): GoType => ({ kind, name });
export const STRING = basic('string', 'string');
export const INT = basic('int', 'int');
export const INT64 = basic('int', 'int64');
export const UINT8 = basic('int', 'uint8');
export const FLOAT64 = basic('float', 'float64');
export const BOOL = basic('bool', 'bool');
export const IFACE = basic('iface', 'interface {}');
export const EMPTY_STRUCT: GoType = { kind: 'struct', name: 'struct {}', fields: [] };

const memo = new Map<string, GoType>();
function derived(name: string, make: () => GoType): GoType {
  let t = memo.get(name);
  if (!t) memo.set(name, (t = make()));
  return t;
}
export const sliceOf = (elem: GoType): GoType => derived(`[]${elem.name}`, () => ({ kind: 'slice', name: `[]${elem.name}`, elem }));
export const mapOf = (key: GoType, elem: GoType): GoType =>
  derived(`map[${key.name}]${elem.name}`, () => ({ kind: 'map', name: `map[${key.name}]${elem.name}`, key, elem }));
export const ptrTo = (elem: GoType): GoType => derived(`*${elem.name}`, () => ({ kind: 'ptr', name: `*${elem.name}`, elem }));

/** struct makes a struct type; fields are [name, type, json name?, omitempty?]. */
export function struct(name: string, fields: [string, GoType, string?, boolean?][]): GoType {
  return { kind: 'struct', name, fields: fields.map(([n, type, json, omitempty]) => ({ name: n, type, json: json ?? n, omitempty: omitempty ?? false })) };
}

export const val = (t: GoType, v: any): TypedVal => ({ t, v });
export const str = (s: string): TypedVal => val(STRING, s);

/** zero is Go's zero value of a type (raw). */
export function zero(t: GoType): any {
  switch (t.kind) {
    case 'string':
      return '';
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'struct':
      return t.name === 'time.Time' ? ZERO_TIME : Object.fromEntries((t.fields ?? []).map((f) => [f.name, zero(f.type)]));
    default:
      return null;
  }
}

/** canBeNil: Go's kinds whose zero value is nil. */
export const canBeNil = (t: GoType) => t.kind === 'slice' || t.kind === 'map' || t.kind === 'ptr' || t.kind === 'iface';

/** indirect follows pointers and interfaces to the value below, or stops at a nil one (isNil). */
export function indirect(v: TypedVal): { v: TypedVal; isNil: boolean } {
  let cur = v;
  for (;;) {
    if (cur.t.kind === 'ptr') {
      if (cur.v === null) return { v: cur, isNil: true };
      cur = val(cur.t.elem!, cur.v);
    } else if (cur.t.kind === 'iface') {
      if (cur.v === null) return { v: cur, isNil: true };
      cur = cur.v as TypedVal;
    } else return { v: cur, isNil: false };
  }
}

/** indirectInterface unwraps one interface value (nil → invalid). */
export function indirectInterface(v: Val): Val {
  if (v === undefined || v.t.kind !== 'iface') return v;
  return v.v === null ? undefined : (v.v as TypedVal);
}

/** length of a string (bytes, as Go counts), slice or map */
export function goLen(v: TypedVal): number {
  if (v.t.kind === 'string') return Buffer.byteLength(v.v as string, 'utf8');
  if (v.t.kind === 'slice') return v.v === null ? 0 : (v.v as unknown[]).length;
  if (v.t.kind === 'map') return v.v === null ? 0 : (v.v as Map<string, unknown>).size;
  throw new Error(`len of type ${v.t.name}`);
}

/** isTrue is text/template's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(v: Val): boolean {
  if (v === undefined) return false;
  switch (v.t.kind) {
    case 'string':
    case 'slice':
    case 'map':
      return goLen(v) > 0;
    case 'bool':
      return v.v === true;
    case 'int':
    case 'float':
      return Number(v.v) !== 0;
    case 'ptr':
    case 'iface':
      return v.v !== null;
    case 'struct':
      return true;
  }
}

/** mapKeys lists a map's keys in Go's order (byte-wise, as fmt, json and range sort them). */
export function mapKeys(m: Map<string, unknown> | null): string[] {
  return m === null ? [] : [...m.keys()].sort(byteCompare);
}

export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates; compare bytes only then.
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** stringerOf is the String() method fmt would find on a value of type t (through a pointer too). */
function stringerOf(t: GoType): ((raw: any) => string) | undefined {
  return t.stringer ?? (t.kind === 'ptr' ? t.elem!.stringer : undefined);
}

// ---------------------------------------------------------------- time.Time

export interface GoTime {
  /** wall clock in the time's zone */
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  /** offset east of UTC, in seconds */
  offset: number;
  /** the zone's abbreviation; '' for a fixed offset of no known zone (printed as -0700) */
  zone: string;
}

const ZERO_TIME: GoTime = { year: 1, month: 1, day: 1, hour: 0, min: 0, sec: 0, nsec: 0, offset: 0, zone: 'UTC' };
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** utcMillis is the instant of a wall clock (in UTC) as milliseconds, for any year (Date.UTC maps 0–99 to 19xx). */
function utcMillis(year: number, month: number, day: number, hour = 0, min = 0, sec = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  return d.getTime();
}

const unixSeconds = (t: GoTime) => Math.floor(utcMillis(t.year, t.month, t.day, t.hour, t.min, t.sec) / 1000) - t.offset;

/** inZone is the same instant shown in another zone. */
function inZone(t: GoTime, offset: number, zone: string): GoTime {
  const d = new Date((unixSeconds(t) + offset) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    nsec: t.nsec,
    offset,
    zone,
  };
}

/**
 * localZoneAt says which zone Go's time.Parse would put a time with this offset in: Local, when
 * the machine's zone has that offset at that instant (the name is what Intl calls it), else none.
 */
function localZoneAt(unix: number, offset: number): string | undefined {
  const d = new Date(unix * 1000);
  if (-d.getTimezoneOffset() * 60 !== offset) return undefined;
  const name = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  return name && /^[A-Za-z]+$/.test(name) ? name : undefined;
}

/** parseTime reads a time as Go 1.19's time.Parse(time.RFC3339, s) does (as JSON decodes a time.Time). */
export function parseTime(s: string): GoTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) throw new Error(`parsing time ${JSON.stringify(s)} as RFC 3339: bad format`);
  const [year, month, day, hour, min, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const monthDays = new Date(utcMillis(year, month + 1, 0)).getUTCDate();
  const bad =
    month < 1 || month > 12
      ? 'month'
      : day < 1 || day > (month <= 12 ? monthDays : 31)
        ? 'day'
        : hour > 23
          ? 'hour'
          : min > 59
            ? 'minute'
            : sec > 59
              ? 'second'
              : '';
  if (bad) throw new Error(`parsing time ${JSON.stringify(s)}: ${bad} out of range`);
  const nsec = Number((m[7] ?? '').slice(0, 9).padEnd(9, '0'));
  const t: GoTime = { year, month, day, hour, min, sec, nsec, offset: 0, zone: 'UTC' };
  if (m[8] !== 'Z') {
    const sign = m[8]!.startsWith('-') ? -1 : 1;
    t.offset = sign * (Number(m[8]!.slice(1, 3)) * 3600 + Number(m[8]!.slice(4, 6)) * 60);
    t.zone = localZoneAt(unixSeconds(t), t.offset) ?? '';
  }
  return t;
}

const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, '0');

function fracDigits(nsec: number, digits: number, trim: boolean, sep: string): string {
  let f = pad(nsec, 9).slice(0, digits);
  if (trim) f = f.replace(/0+$/, '');
  return f === '' ? '' : sep + f;
}

function zoneNum(offset: number, colon: boolean, withMinutes = true, withSeconds = false): string {
  const sign = offset < 0 ? '-' : '+';
  const o = Math.abs(offset);
  let out = sign + pad(Math.floor(o / 3600), 2);
  if (withMinutes) out += (colon ? ':' : '') + pad(Math.floor(o / 60) % 60, 2);
  if (withSeconds) out += (colon ? ':' : '') + pad(o % 60, 2);
  return out;
}

/** formatTime is Go's Time.Format(layout). */
export function formatTime(t: GoTime, layout: string): string {
  const wday = new Date(utcMillis(t.year, t.month, t.day)).getUTCDay();
  const yday = Math.round((utcMillis(t.year, t.month, t.day) - utcMillis(t.year, 1, 1)) / 86400000) + 1;
  const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
  const tokens: [RegExp, () => string][] = [
    [/^January/, () => MONTHS[t.month - 1]!],
    [/^Jan(?![a-z])/, () => MONTHS[t.month - 1]!.slice(0, 3)],
    [/^Monday/, () => DAYS[wday]!],
    [/^Mon(?![a-z])/, () => DAYS[wday]!.slice(0, 3)],
    [/^MST/, () => (t.zone !== '' ? t.zone : zoneNum(t.offset, false))],
    [/^01/, () => pad(t.month, 2)],
    [/^02/, () => pad(t.day, 2)],
    [/^03/, () => pad(h12, 2)],
    [/^04/, () => pad(t.min, 2)],
    [/^05/, () => pad(t.sec, 2)],
    [/^06/, () => pad(t.year % 100, 2)],
    [/^002/, () => pad(yday, 3)],
    [/^15/, () => pad(t.hour, 2)],
    [/^1/, () => String(t.month)],
    [/^2006/, () => (t.year < 0 ? '-' : '') + pad(t.year, 4)],
    [/^2/, () => String(t.day)],
    [/^_2006/, () => `_${pad(t.year, 4)}`],
    [/^__2/, () => String(yday).padStart(3, ' ')],
    [/^_2/, () => String(t.day).padStart(2, ' ')],
    [/^3/, () => String(h12)],
    [/^4/, () => String(t.min)],
    [/^5/, () => String(t.sec)],
    [/^PM/, () => (t.hour >= 12 ? 'PM' : 'AM')],
    [/^pm/, () => (t.hour >= 12 ? 'pm' : 'am')],
    [/^-070000/, () => zoneNum(t.offset, false, true, true)],
    [/^-07:00:00/, () => zoneNum(t.offset, true, true, true)],
    [/^-0700/, () => zoneNum(t.offset, false)],
    [/^-07:00/, () => zoneNum(t.offset, true)],
    [/^-07/, () => zoneNum(t.offset, false, false)],
    [/^Z070000/, () => (t.offset === 0 ? 'Z' : zoneNum(t.offset, false, true, true))],
    [/^Z07:00:00/, () => (t.offset === 0 ? 'Z' : zoneNum(t.offset, true, true, true))],
    [/^Z0700/, () => (t.offset === 0 ? 'Z' : zoneNum(t.offset, false))],
    [/^Z07:00/, () => (t.offset === 0 ? 'Z' : zoneNum(t.offset, true))],
    [/^Z07/, () => (t.offset === 0 ? 'Z' : zoneNum(t.offset, false, false))],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    const rest = layout.slice(i);
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
    if (frac) {
      out += fracDigits(t.nsec, frac[1]!.length, frac[1]![0] === '9', rest[0]!);
      i += frac[0].length;
      continue;
    }
    for (const [re, f] of tokens) {
      const m = re.exec(rest);
      if (m) {
        out += f();
        i += m[0].length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}

/** timeString is Go's Time.String(): 2006-01-02 15:04:05.999999999 -0700 MST. */
export const timeString = (t: GoTime) => formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
/** timeJSON is Go's Time.MarshalJSON (RFC 3339 with the fraction's trailing zeros cut). */
export const timeJSON = (t: GoTime) => `"${formatTime(t, '2006-01-02T15:04:05.999999999Z07:00')}"`;

const MONTH: GoType = { kind: 'int', name: 'time.Month', stringer: (m: number) => MONTHS[m - 1] ?? `%!Month(${m})` };
const WEEKDAY: GoType = { kind: 'int', name: 'time.Weekday', stringer: (d: number) => DAYS[d] ?? `%!Weekday(${d})` };

export const TIME: GoType = {
  kind: 'struct',
  name: 'time.Time',
  fields: [],
  stringer: timeString,
  marshalJSON: timeJSON,
  unmarshalJSON: (json, where) => {
    if (typeof json !== 'string') throw new Error(`${where}: cannot unmarshal ${jsonKind(json)} into a time`);
    return parseTime(json);
  },
};
const m0 = (f: (t: GoTime) => Val): GoMethod => ({ params: [], call: (t: GoTime) => f(t) });
TIME.methods = {
  String: m0((t) => str(timeString(t))),
  Format: { params: [STRING], call: (t: GoTime, [layout]) => str(formatTime(t, layout!.v as string)) },
  Year: m0((t) => val(INT, t.year)),
  Month: m0((t) => val(MONTH, t.month)),
  Day: m0((t) => val(INT, t.day)),
  Hour: m0((t) => val(INT, t.hour)),
  Minute: m0((t) => val(INT, t.min)),
  Second: m0((t) => val(INT, t.sec)),
  Nanosecond: m0((t) => val(INT, t.nsec)),
  YearDay: m0((t) => val(INT, Number(formatTime(t, '002')))),
  Weekday: m0((t) => val(WEEKDAY, new Date(utcMillis(t.year, t.month, t.day)).getUTCDay())),
  Unix: m0((t) => val(INT64, unixSeconds(t))),
  UnixMilli: m0((t) => val(INT64, unixSeconds(t) * 1000 + Math.floor(t.nsec / 1e6))),
  UnixNano: m0((t) => val(INT64, BigInt.asIntN(64, BigInt(unixSeconds(t)) * 1_000_000_000n + BigInt(t.nsec)))), // wraps as Go's int64 does
  UTC: m0((t) => val(TIME, inZone(t, 0, 'UTC'))),
  IsZero: m0((t) => val(BOOL, unixSeconds(t) === unixSeconds(ZERO_TIME) && t.nsec === 0)),
};

// ---------------------------------------------------------------- digest.Digest

const ALGORITHM: GoType = { kind: 'string', name: 'digest.Algorithm', stringer: (s: string) => s };
export const DIGEST: GoType = {
  kind: 'string',
  name: 'digest.Digest',
  stringer: (s: string) => s,
  methods: {
    String: { params: [], call: (d: string) => str(d) },
    Algorithm: { params: [], call: (d: string) => val(ALGORITHM, d.slice(0, Math.max(d.indexOf(':'), 0))) },
    Encoded: { params: [], call: (d: string) => str(d.slice(d.indexOf(':') + 1)) },
    Hex: { params: [], call: (d: string) => str(d.slice(d.indexOf(':') + 1)) },
  },
};

// ---------------------------------------------------------------- fmt

interface Fmt {
  /** %+v: field names; %#v: Go syntax (plus and sharp are cleared then, as Go does) */
  plusV?: boolean;
  sharpV?: boolean;
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}
const plain = (): Fmt => ({ plus: false, minus: false, sharp: false, space: false, zero: false });

/** An argument of Sprint and friends: a typed value, or null for a nil interface. */
export type FmtArg = TypedVal | null;

/** asArg turns a template value into what Go passes as `any`: interfaces unwrapped, invalid → nil. */
export function asArg(v: Val): FmtArg {
  const u = indirectInterface(v);
  return u === undefined ? null : u;
}

const runeCount = (s: string) => [...s].length;

function padTo(s: string, f: Fmt, zeroOk = true): string {
  if (f.width === undefined) return s;
  const n = f.width - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  if (f.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

const isPrint = (c: string) => c === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c);

/** quote is strconv.Quote (asciiOnly: QuoteToASCII), with the quote character q. */
export function quote(s: string, asciiOnly = false, q = '"'): string {
  let out = q;
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (c === q || c === '\\') out += `\\${c}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (isPrint(c) && (!asciiOnly || cp < 0x80)) out += c;
    else {
      const esc: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
      if (esc[c]) out += esc[c];
      else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return out + q;
}

function fmtString(s: string, verb: string, f: Fmt): string | undefined {
  switch (verb) {
    case 'v':
    case 's':
      return padTo(f.prec === undefined ? s : [...s].slice(0, f.prec).join(''), f);
    case 'q':
      if (f.sharp && !/[`\u0000-\u0008\u000a-\u001f\u007f\ufeff]/.test(s)) return padTo(`\`${s}\``, f);
      return padTo(quote(s, f.plus), f);
    case 'x':
    case 'X': {
      let bytes = [...Buffer.from(s, 'utf8')];
      if (f.prec !== undefined) bytes = bytes.slice(0, f.prec);
      const hex = bytes.map((b) => (f.sharp && f.space ? '0x' : '') + b.toString(16).padStart(2, '0'));
      let out = hex.join(f.space ? ' ' : '');
      if (f.sharp && !f.space && out !== '') out = `0x${out}`;
      return padTo(verb === 'X' ? out.toUpperCase() : out, f);
    }
  }
  return undefined;
}

function fmtInteger(n: number | bigint, verb: string, f: Fmt): string | undefined {
  const big = BigInt(n);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      digits = abs.toString(10);
      break;
    case 'b':
      digits = abs.toString(2);
      if (f.sharp) prefix = '0b';
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (f.sharp && digits !== '0') digits = `0${digits}`;
      break;
    case 'x':
    case 'X':
      digits = abs.toString(16);
      if (f.sharp) prefix = '0x';
      if (verb === 'X') {
        digits = digits.toUpperCase();
        prefix = prefix.toUpperCase();
      }
      break;
    case 'c':
      return padTo(String.fromCodePoint(Number(big)), f);
    case 'q':
      return padTo(quote(String.fromCodePoint(Number(big)), f.plus, "'"), f);
    case 'U': {
      const u = `U+${abs.toString(16).toUpperCase().padStart(4, '0')}`;
      return padTo(f.sharp && isPrint(String.fromCodePoint(Number(big))) ? `${u} '${String.fromCodePoint(Number(big))}'` : u, f);
    }
    default:
      return undefined;
  }
  if (f.prec !== undefined) digits = f.prec === 0 && abs === 0n ? '' : digits.padStart(f.prec, '0');
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  if (f.zero && !f.minus && f.prec === undefined && f.width !== undefined) {
    const n0 = f.width - sign.length - prefix.length - digits.length;
    if (n0 > 0) digits = '0'.repeat(n0) + digits;
  }
  return padTo(sign + prefix + digits, { ...f, zero: false });
}

/**
 * A decimal as strconv keeps one: digits (no leading or trailing zeros; '' for zero) and the
 * position of the decimal point, so that the value is 0.DIGITS × 10^dp.
 */
interface Decimal {
  digits: string;
  dp: number;
}

/** floatBits splits a finite |x| into an integer mantissa and a power of two: x = mant × 2^e2. */
function floatBits(x: number): { mant: bigint; e2: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return biased === 0 ? { mant: frac, e2: -1074 } : { mant: frac | (1n << 52n), e2: biased - 1075 };
}

/** exactDecimal is the exact decimal value of a finite |x| (every double has one). */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { digits: '', dp: 0 };
  const { mant, e2 } = floatBits(x);
  const s = e2 >= 0 ? (mant << BigInt(e2)).toString() : (mant * 5n ** BigInt(-e2)).toString();
  const dp = e2 >= 0 ? s.length : s.length + e2;
  const digits = s.replace(/0+$/, '');
  return { digits, dp };
}

/** shortestDecimal is the shortest decimal that reads back as |x| (what strconv's -1 precision gives). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { digits: '', dp: 0 };
  const [mant, e] = Math.abs(x).toExponential().split('e') as [string, string];
  return { digits: mant.replace('.', '').replace(/0+$/, ''), dp: Number(e) + 1 };
}

/** roundTo keeps nd digits of d, rounding as strconv does: half to even when exactly halfway. */
function roundTo(d: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= d.digits.length) return nd < 0 ? { digits: '', dp: 0 } : d;
  const next = d.digits[nd]!;
  const up = next === '5' && nd + 1 === d.digits.length ? nd > 0 && Number(d.digits[nd - 1]) % 2 === 1 : next >= '5';
  if (!up) return { digits: d.digits.slice(0, nd).replace(/0+$/, ''), dp: nd === 0 ? 0 : d.dp };
  let i = nd - 1;
  while (i >= 0 && d.digits[i] === '9') i--;
  if (i < 0) return { digits: '1', dp: d.dp + 1 };
  return { digits: d.digits.slice(0, i) + String(Number(d.digits[i]) + 1), dp: d.dp };
}

/** fmtE writes d as %e with prec digits after the point. */
function fmtE(d: Decimal, prec: number, verb: string): string {
  const first = d.digits[0] ?? '0';
  const rest = d.digits.slice(1).padEnd(prec, '0').slice(0, prec);
  const exp = d.digits === '' ? 0 : d.dp - 1;
  return `${first}${prec > 0 ? `.${rest}` : ''}${verb === 'E' || verb === 'G' ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${pad(exp, 2)}`;
}

/** fmtF writes d as %f with prec digits after the point. */
function fmtF(d: Decimal, prec: number): string {
  const int = d.dp > 0 ? d.digits.slice(0, d.dp).padEnd(d.dp, '0') : '0';
  let frac = '';
  for (let i = 0; i < prec; i++) frac += d.digits[d.dp + i] ?? '0';
  return prec > 0 ? `${int}.${frac}` : int;
}

/** fmtG is %g: %e for exponents < -4 or ≥ the precision (6 for the shortest form), else %f; no trailing zeros. */
function fmtG(x: number, prec: number | undefined, verb: string): string {
  const shortest = prec === undefined;
  const p = shortest ? 0 : prec === 0 ? 1 : prec;
  const d = shortest ? shortestDecimal(x) : roundTo(exactDecimal(x), p);
  const nd = d.digits.length;
  let eprec = shortest ? nd : p;
  if (eprec > nd && nd >= d.dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) return fmtE(d, (shortest ? nd : Math.min(p, nd)) - 1, verb);
  return fmtF(d, Math.max((shortest || p > d.dp ? nd : p) - d.dp, 0));
}

/** fmtHex is %x and %X of a float: 0x1.cp+01. */
function fmtHex(x: number, prec: number | undefined, verb: string): string {
  let out: string;
  if (x === 0) out = `0x0${prec ? `.${'0'.repeat(prec)}` : ''}p+00`;
  else {
    let { mant, e2 } = floatBits(x);
    while (mant < 1n << 52n) {
      mant <<= 1n;
      e2--;
    }
    let exp = e2 + 52;
    let frac = mant - (1n << 52n);
    let lead = 1n;
    let digits = 13;
    if (prec !== undefined && prec < 13) {
      const drop = BigInt(4 * (13 - prec));
      const rem = frac & ((1n << drop) - 1n);
      frac >>= drop;
      const half = 1n << (drop - 1n);
      if (rem > half || (rem === half && (frac & 1n) === 1n)) frac++;
      if (frac >> BigInt(4 * prec) > 0n) {
        frac = 0n;
        lead = 1n;
        exp++;
      }
      digits = prec;
    }
    let hex = digits > 0 ? frac.toString(16).padStart(digits, '0') : '';
    if (prec === undefined) hex = hex.replace(/0+$/, '');
    else hex = hex.padEnd(prec, '0');
    out = `0x${lead}${hex ? `.${hex}` : ''}p${exp < 0 ? '-' : '+'}${pad(exp, 2)}`;
  }
  return verb === 'X' ? out.toUpperCase() : out;
}

function fmtFloat(x: number, verb: string, f: Fmt): string | undefined {
  if (!'vgGeEfFxXb'.includes(verb)) return undefined;
  let body: string;
  if (!Number.isFinite(x)) body = Number.isNaN(x) ? 'NaN' : 'Inf';
  else if (verb === 'e' || verb === 'E') body = fmtE(roundTo(exactDecimal(x), (f.prec ?? 6) + 1), f.prec ?? 6, verb);
  else if (verb === 'f' || verb === 'F') {
    const d = exactDecimal(x);
    body = fmtF(roundTo(d, d.dp + (f.prec ?? 6)), f.prec ?? 6);
  } else if (verb === 'x' || verb === 'X') body = fmtHex(x, f.prec, verb);
  else if (verb === 'b') {
    const { mant, e2 } = floatBits(x);
    body = `${mant}p${e2 < 0 ? '-' : '+'}${Math.abs(e2)}`;
  } else body = fmtG(x, f.prec, verb);
  const neg = x < 0 || Object.is(x, -0);
  const sign = Number.isNaN(x) ? (f.plus ? '+' : f.space ? ' ' : '') : neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  return padTo(sign + body, f, Number.isFinite(x));
}

class Printer {
  out = '';
  constructor(private f: Fmt = plain()) {}
  setFmt(f: Fmt) {
    this.f = f;
  }

  badVerb(verb: string, a: FmtArg): void {
    this.out += `%!${verb}(`;
    if (a === null) this.out += '<nil>';
    else {
      this.out += `${a.t.name}=`;
      this.erroring = true;
      this.printArg(a, 'v');
      this.erroring = false;
    }
    this.out += ')';
  }
  private erroring = false;

  printArg(a: FmtArg, verb: string): void {
    if (a === null) {
      if (verb === 'T' || verb === 'v') this.out += padTo('<nil>', this.f);
      else this.badVerb(verb, a);
      return;
    }
    if (verb === 'T') {
      this.out += padTo(a.t.name, this.f);
      return;
    }
    if (this.f.sharpV) {
      this.out += goSyntax(a, 0);
      return;
    }
    if (this.handleMethods(a, verb)) return;
    this.printValue(a, verb, 0);
  }

  handleMethods(a: TypedVal, verb: string): boolean {
    if (this.erroring) return false;
    const s = stringerOf(a.t);
    if (!s || !'vsxXq'.includes(verb)) return false;
    if (a.t.kind === 'ptr' && a.v === null) this.out += padTo('<nil>', this.f);
    else this.out += fmtString(s(a.v), verb, this.f)!;
    return true;
  }

  printValue(a: TypedVal, verb: string, depth: number): void {
    if (depth > 0 && this.handleMethods(a, verb)) return;
    const { t, v } = a;
    let s: string | undefined;
    switch (t.kind) {
      case 'bool':
        s = verb === 't' || verb === 'v' ? padTo(String(v), this.f) : undefined;
        break;
      case 'int':
        s = fmtInteger(v, verb, this.f);
        break;
      case 'float':
        s = fmtFloat(v, verb, this.f);
        break;
      case 'string':
        s = fmtString(v, verb, this.f);
        break;
      case 'map': {
        this.out += 'map[';
        mapKeys(v).forEach((k, i) => {
          if (i > 0) this.out += ' ';
          this.printValue(val(t.key!, k), verb, depth + 1);
          this.out += ':';
          this.printValue(val(t.elem!, (v as Map<string, unknown>).get(k)), verb, depth + 1);
        });
        this.out += ']';
        return;
      }
      case 'struct': {
        this.out += '{';
        (t.fields ?? []).forEach((fd, i) => {
          if (i > 0) this.out += ' ';
          if (this.f.plusV) this.out += `${fd.name}:`;
          this.printValue(val(fd.type, v[fd.name]), verb, depth + 1);
        });
        this.out += '}';
        return;
      }
      case 'iface':
        if (v === null) this.out += padTo('<nil>', this.f);
        else this.printValue(v as TypedVal, verb, depth + 1);
        return;
      case 'slice':
        this.out += '[';
        ((v ?? []) as unknown[]).forEach((e, i) => {
          if (i > 0) this.out += ' ';
          this.printValue(val(t.elem!, e), verb, depth + 1);
        });
        this.out += ']';
        return;
      case 'ptr':
        if (v === null) s = padTo('<nil>', this.f);
        else if (depth === 0 && ['struct', 'slice', 'map'].includes(t.elem!.kind)) {
          this.out += '&';
          this.printValue(val(t.elem!, v), verb, depth + 1);
          return;
        } else s = padTo('0xc000010000', this.f);
        break;
    }
    if (s === undefined) this.badVerb(verb, a);
    else this.out += s;
  }
}

/** goSyntax is fmt's %#v. */
function goSyntax(a: FmtArg, depth: number): string {
  if (a === null) return '<nil>';
  const { t, v } = a;
  if (t.name === 'time.Time' || (t.kind === 'ptr' && t.elem!.name === 'time.Time' && v !== null)) {
    const tm = v as GoTime;
    const loc = tm.zone === 'UTC' && tm.offset === 0 ? 'time.UTC' : `time.Location(${quote(tm.zone)})`;
    return `time.Date(${tm.year}, time.${MONTHS[tm.month - 1]}, ${tm.day}, ${tm.hour}, ${tm.min}, ${tm.sec}, ${tm.nsec}, ${loc})`;
  }
  switch (t.kind) {
    case 'string':
      return quote(v);
    case 'int':
      return String(v);
    case 'float':
      return fmtFloat(v, 'g', plain())!;
    case 'bool':
      return String(v);
    case 'iface':
      return v === null ? 'interface {}(nil)' : goSyntax(v, depth + 1);
    case 'slice':
      return v === null ? `${t.name}(nil)` : `${t.name}{${(v as unknown[]).map((e) => goSyntax(val(t.elem!, e), depth + 1)).join(', ')}}`;
    case 'map':
      return v === null
        ? `${t.name}(nil)`
        : `${t.name}{${mapKeys(v)
            .map((k) => `${goSyntax(val(t.key!, k), depth + 1)}:${goSyntax(val(t.elem!, (v as Map<string, unknown>).get(k)), depth + 1)}`)
            .join(', ')}}`;
    case 'struct':
      return `${t.name}{${(t.fields ?? []).map((f) => `${f.name}:${goSyntax(val(f.type, v[f.name]), depth + 1)}`).join(', ')}}`;
    case 'ptr':
      if (v === null) return `(${t.name})(nil)`;
      return depth === 0 && ['struct', 'slice', 'map'].includes(t.elem!.kind) ? `&${goSyntax(val(t.elem!, v), depth + 1)}` : `(${t.name})(0xc000010000)`;
  }
}

const isStringKind = (a: FmtArg) => a !== null && a.t.kind === 'string';

/** sprint is fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: FmtArg[]): string {
  const p = new Printer();
  args.forEach((a, i) => {
    if (i > 0 && !isStringKind(a) && !isStringKind(args[i - 1]!)) p.out += ' ';
    p.printArg(a, 'v');
  });
  return p.out;
}

/** sprintln is fmt.Sprintln: spaces between all operands, and a newline. */
export function sprintln(args: FmtArg[]): string {
  const p = new Printer();
  args.forEach((a, i) => {
    if (i > 0) p.out += ' ';
    p.printArg(a, 'v');
  });
  return `${p.out}\n`;
}

/** sprintf is fmt.Sprintf, with Go's flags, width, precision, explicit argument indexes and its error notes. */
export function sprintf(format: string, args: FmtArg[]): string {
  const p = new Printer();
  let argNum = 0;
  let reordered = false;
  let goodArgNum = true;
  const argIndex = (i: number): number => {
    const m = /^\[(\d+)\]/.exec(format.slice(i));
    if (!m) return -1;
    reordered = true;
    const n = Number(m[1]) - 1;
    if (n >= 0 && n <= args.length) argNum = n;
    else goodArgNum = false;
    return i + m[0].length;
  };
  const intArg = (): number | undefined => {
    const a = args[argNum];
    argNum++;
    return a && a.t.kind === 'int' ? Number(a.v) : undefined;
  };
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      p.out += format.slice(i);
      break;
    }
    p.out += format.slice(i, pct);
    i = pct + 1;
    const f = plain();
    goodArgNum = true;
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '#') f.sharp = true;
      else if (c === '0') f.zero = !f.minus;
      else if (c === '+') f.plus = true;
      else if (c === '-') {
        f.minus = true;
        f.zero = false;
      } else if (c === ' ') f.space = true;
      else break;
    }
    const j = argIndex(i);
    if (j >= 0) i = j;
    if (format[i] === '*') {
      i++;
      f.width = intArg();
      if (f.width === undefined) p.out += '%!(BADWIDTH)';
      else if (f.width < 0) {
        f.width = -f.width;
        f.minus = true;
        f.zero = false;
      }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      const k = argIndex(i);
      if (k >= 0) i = k;
      if (format[i] === '*') {
        i++;
        f.prec = intArg();
        if (f.prec === undefined || f.prec < 0) {
          f.prec = undefined;
          p.out += '%!(BADPREC)';
        }
      } else {
        const m = /^\d+/.exec(format.slice(i));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    const k = argIndex(i);
    if (k >= 0) i = k;
    if (i >= format.length) {
      p.out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      p.out += '%';
      continue;
    }
    if (!goodArgNum) {
      p.out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      p.out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === 'w' || verb === 'p') {
      p.badVerb(verb, args[argNum]!);
      argNum++;
      continue;
    }
    if (verb === 'v') {
      f.sharpV = f.sharp;
      f.sharp = false;
      f.plusV = f.plus;
      f.plus = false;
    }
    p.setFmt(f);
    p.printArg(args[argNum]!, verb);
    argNum++;
  }
  if (!reordered && argNum < args.length) {
    p.setFmt(plain());
    p.out += '%!(EXTRA ';
    args.slice(argNum).forEach((a, n) => {
      if (n > 0) p.out += ', ';
      if (a === null) p.out += '<nil>';
      else {
        p.out += `${a.t.name}=`;
        p.printArg(a, 'v');
      }
    });
    p.out += ')';
  }
  return p.out;
}

// ---------------------------------------------------------------- encoding/json

const HEX = '0123456789abcdef';

/** jsonString is encoding/json's string encoding (Go 1.19), HTML characters escaped or not. */
export function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (cp < 0x20 || (escapeHTML && (c === '<' || c === '>' || c === '&'))) out += `\\u00${HEX[cp >> 4]}${HEX[cp & 15]}`;
    else if (cp === 0x2028 || cp === 0x2029) out += `\\u202${HEX[cp & 15]}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += c;
  }
  return `${out}"`;
}

function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`json: unsupported value: ${x}`);
  // Go: 'f' form for 1e-6 ≤ |x| < 1e21, else 'e' with e-07 cut to e-7: the same text as JS's.
  return String(x);
}

const isEmptyValue = (v: TypedVal) => {
  switch (v.t.kind) {
    case 'string':
    case 'slice':
    case 'map':
      return goLen(v) === 0;
    case 'bool':
      return v.v === false;
    case 'int':
    case 'float':
      return Number(v.v) === 0;
    case 'ptr':
    case 'iface':
      return v.v === null;
    default:
      return false;
  }
};

/** jsonEncode is json.Marshal of a typed value (compact); escapeHTML as json.Marshal (true) or an Encoder with SetEscapeHTML(false). */
export function jsonEncode(a: FmtArg, escapeHTML = true): string {
  if (a === null) return 'null';
  const { t, v } = a;
  if (t.marshalJSON) return t.marshalJSON(v);
  switch (t.kind) {
    case 'string':
      return jsonString(v, escapeHTML);
    case 'int':
      return String(v);
    case 'float':
      return jsonFloat(v);
    case 'bool':
      return String(v);
    case 'iface':
      return jsonEncode(v, escapeHTML);
    case 'ptr':
      return v === null ? 'null' : jsonEncode(val(t.elem!, v), escapeHTML);
    case 'slice':
      return v === null ? 'null' : `[${(v as unknown[]).map((e) => jsonEncode(val(t.elem!, e), escapeHTML)).join(',')}]`;
    case 'map':
      return v === null
        ? 'null'
        : `{${mapKeys(v)
            .map((k) => `${jsonString(k, escapeHTML)}:${jsonEncode(val(t.elem!, (v as Map<string, unknown>).get(k)), escapeHTML)}`)
            .join(',')}}`;
    case 'struct': {
      const parts: string[] = [];
      for (const f of t.fields ?? []) {
        const fv = val(f.type, v[f.name]);
        if (f.omitempty && isEmptyValue(fv)) continue;
        parts.push(`${jsonString(f.json ?? f.name, escapeHTML)}:${jsonEncode(fv, escapeHTML)}`);
      }
      return `{${parts.join(',')}}`;
    }
  }
}

/** jsonIndent is json.Indent (prefix "") of compact JSON: what json.MarshalIndent prints. */
export function jsonIndent(compact: string, indent: string): string {
  let out = '';
  let depth = 0;
  let needIndent = false;
  let inString = false;
  const newline = () => `\n${indent.repeat(depth)}`;
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += compact[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += newline();
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      out += c;
      needIndent = true;
    } else if (c === ',') out += `,${newline()}`;
    else if (c === ':') out += ': ';
    else if (c === '}' || c === ']') {
      if (needIndent) needIndent = false;
      else {
        depth--;
        out += newline();
      }
      out += c;
    } else out += c;
  }
  return out;
}

function jsonKind(j: unknown): string {
  if (j === null) return 'null';
  if (Array.isArray(j)) return 'array';
  if (typeof j === 'object') return 'object';
  return typeof j === 'boolean' ? 'bool' : typeof j;
}

/** foldName is encoding/json's case folding of keys, as far as ASCII field names need it. */
function foldName(s: string): string {
  return s.replace(/[a-z\u212a\u017f]/g, (c) => (c === '\u212a' ? 'K' : c === '\u017f' ? 'S' : c.toUpperCase()));
}

/**
 * jsonDecode is json.Unmarshal of parsed JSON into a value of type t: object keys find struct
 * fields exactly or case-insensitively, unknown keys are ignored, null leaves scalars and
 * structs as they were and makes pointers, slices and maps nil. A value of the wrong JSON type is
 * an error naming the field (Go reports it after decoding the rest; the caller fails either way).
 */
export function jsonDecode(t: GoType, j: unknown, cur: any = zero(t), where = ''): any {
  const fail = (): never => {
    const at = where === '' ? `Go value of type ${t.name}` : `Go struct field ${where} of type ${t.name}`;
    throw new Error(`json: cannot unmarshal ${jsonKind(j)} into ${at}`);
  };
  if (t.kind === 'ptr') return j === null ? null : jsonDecode(t.elem!, j, cur ?? zero(t.elem!), where);
  if (j === null) return canBeNil(t) ? null : cur;
  if (t.unmarshalJSON) return t.unmarshalJSON(j, where || t.name);
  switch (t.kind) {
    case 'string':
      return typeof j === 'string' ? j : fail();
    case 'bool':
      return typeof j === 'boolean' ? j : fail();
    case 'int':
      return typeof j === 'number' && Number.isInteger(j) ? j : fail();
    case 'float':
      return typeof j === 'number' ? j : fail();
    case 'iface':
      return fail();
    case 'slice':
      return Array.isArray(j) ? j.map((e) => jsonDecode(t.elem!, e, zero(t.elem!), where)) : fail();
    case 'map': {
      if (typeof j !== 'object' || Array.isArray(j)) return fail();
      const m = new Map<string, unknown>(cur ?? []);
      for (const [k, e] of Object.entries(j as object)) m.set(k, jsonDecode(t.elem!, e, zero(t.elem!), where));
      return m;
    }
    case 'struct': {
      if (typeof j !== 'object' || Array.isArray(j)) return fail();
      const out = { ...cur };
      const fields = t.fields ?? [];
      for (const [k, e] of Object.entries(j as object)) {
        const f = fields.find((x) => x.json === k) ?? fields.find((x) => foldName(x.json ?? x.name) === foldName(k));
        if (!f) continue;
        const sub = where === '' ? `${t.name.replace(/^.*\./, '')}.${f.json}` : `${where}.${f.json}`;
        out[f.name] = jsonDecode(f.type, e, out[f.name], sub);
      }
      return out;
    }
  }
}
