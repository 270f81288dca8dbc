import { ImgError } from '../errors.js';

/**
 * FlagSpec declares a command's flags: `string` flags take a value, `list` flags take a value and
 * may be repeated, `boolean` flags take none (or `=true`/`=false`). `alias` maps a one-letter
 * flag to its long name. `only` names, for a command with subcommands, the subcommands a flag
 * applies to (a flag not named there applies to every subcommand).
 */
export interface FlagSpec {
  string?: readonly string[];
  list?: readonly string[];
  boolean?: readonly string[];
  alias?: Readonly<Record<string, string>>;
  default?: Readonly<Record<string, unknown>>;
  only?: Readonly<Record<string, readonly string[]>>;
}

/** ParsedFlags: the positional arguments in `_`, each flag given under its long name (string, string[] or boolean). */
export interface ParsedFlags {
  _: string[];
  [flag: string]: any;
}

// strconv.ParseBool's spellings, which pflag (skopeo's parser) accepts for --flag=VALUE.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** specFlags lists every long flag name a spec declares. */
export function specFlags(spec: FlagSpec): string[] {
  return [...(spec.string ?? []), ...(spec.list ?? []), ...(spec.boolean ?? [])];
}

/**
 * parseArgs reads argv as skopeo's parser (pflag) does: `--flag VALUE` and `--flag=VALUE`, the
 * value taken as it is even when it starts with "-"; `-f VALUE`, `-fVALUE`, `-f=VALUE` and
 * bundled one-letter booleans (`-aq`); `--` ends the flags. An unknown flag, a missing value, a
 * non-list flag given twice and a flag that does not apply to the subcommand (the first
 * argument, where `only` is set) are usage errors naming the flag.
 */
export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const kinds = new Map<string, 'string' | 'list' | 'boolean'>();
  for (const k of ['string', 'list', 'boolean'] as const) for (const f of spec[k] ?? []) kinds.set(f, k);
  const out: ParsedFlags = { _: [] };
  const given: string[] = [];
  const set = (name: string, shown: string, value: string | undefined, next: () => string | undefined) => {
    const kind = kinds.get(name);
    if (kind === undefined) throw new ImgError('USAGE', `unknown flag ${shown}`);
    if (kind !== 'list' && given.includes(name)) throw new ImgError('USAGE', `${shown} is given more than once`);
    given.push(name);
    if (kind === 'boolean') {
      if (value === undefined || TRUE.has(value)) out[name] = true;
      else if (FALSE.has(value)) out[name] = false;
      else throw new ImgError('USAGE', `invalid ${shown}=${value}: true or false`);
      return;
    }
    const v = value ?? next();
    if (v === undefined) throw new ImgError('USAGE', `${shown} needs a value`);
    if (kind === 'list') (out[name] ??= []).push(v);
    else out[name] = v;
  };
  let i = 0;
  const next = () => (i + 1 < argv.length ? argv[++i] : undefined);
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out._.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      set(name, `--${name}`, eq < 0 ? undefined : a.slice(eq + 1), next);
    } else if (a.startsWith('-') && a.length > 1) {
      // -abc: one-letter flags; the first that takes a value takes the rest (or the next argument).
      for (let j = 1; j < a.length; j++) {
        const long = spec.alias?.[a[j]!];
        if (long === undefined) throw new ImgError('USAGE', `unknown flag -${a[j]}`);
        if (kinds.get(long) === 'boolean') {
          set(long, `-${a[j]}`, a[j + 1] === '=' ? a.slice(j + 2) : undefined, next);
          if (a[j + 1] === '=') break;
          continue;
        }
        const rest = a.slice(j + 1);
        set(long, `-${a[j]}`, rest === '' ? undefined : rest.replace(/^=/, ''), next);
        break;
      }
    } else out._.push(a);
  }
  for (const [k, v] of Object.entries(spec.default ?? {})) if (out[k] === undefined) out[k] = v;
  const sub = out._[0];
  if (spec.only !== undefined && sub !== undefined) {
    for (const f of given) {
      const subs = spec.only[f];
      if (subs !== undefined && !subs.includes(sub)) throw new ImgError('USAGE', `--${f} is not for the ${sub} subcommand (only ${subs.join(', ')})`);
    }
  }
  return out;
}
