import { ImgError } from '../errors.js';
import type { TransportOptions } from '../transport/index.js';
import { REGISTRY_FLAGS, registryOptions } from './registry-flags.js';

/** Registry flags for both ends of a transfer: --src-X and --dest-X, each falling back to --X, as skopeo copy names them. */
const SIDE_STRINGS = ['creds', 'username', 'password', 'registry-token', 'authfile', 'cert-dir', 'tls-verify'];
const SIDE_BOOLEANS = ['no-creds'];

export const TRANSFER_FLAGS = {
  string: [...REGISTRY_FLAGS.string, ...['src', 'dest'].flatMap((side) => SIDE_STRINGS.map((f) => `${side}-${f}`))],
  boolean: [...REGISTRY_FLAGS.boolean, ...['src', 'dest'].flatMap((side) => SIDE_BOOLEANS.map((f) => `${side}-${f}`))],
  default: REGISTRY_FLAGS.default,
};

export const TRANSFER_HELP = `source and destination registry flags (each falls back to the flag without src-/dest-):
  --src-creds, --dest-creds USER[:PASS]    --src-no-creds, --dest-no-creds
  --src-registry-token, --dest-registry-token TOKEN
  --src-authfile, --dest-authfile FILE     --src-cert-dir, --dest-cert-dir DIR
  --src-tls-verify=false, --dest-tls-verify=false
  --authfile, --creds, --cert-dir, --tls-verify=false, --retry-times N, --debug as for every command`;

/** transferOptions builds the options for each end from the --src- and --dest- flags and the shared ones. */
export function transferOptions(flags: Record<string, unknown>): { src: TransportOptions; dest: TransportOptions } {
  const side = (prefix: 'src' | 'dest'): TransportOptions => {
    const merged: Record<string, unknown> = { ...flags };
    for (const f of SIDE_STRINGS) {
      const v = flags[`${prefix}-${f}`];
      if (v === undefined) continue;
      if (f === 'tls-verify') {
        const s = String(v);
        if (!['', 'true', 'false'].includes(s)) throw new ImgError('USAGE', `invalid --${prefix}-tls-verify=${s}: true or false`);
        merged['tls-verify'] = s !== 'false';
      } else {
        // A side's own credentials replace the shared ones entirely.
        if (['creds', 'username', 'registry-token'].includes(f)) for (const k of ['creds', 'username', 'password', 'registry-token', 'no-creds']) delete merged[k];
        merged[f] = v;
      }
    }
    if (flags[`${prefix}-no-creds`] === true) {
      for (const k of ['creds', 'username', 'password', 'registry-token']) delete merged[k];
      merged['no-creds'] = true;
    }
    return { registry: registryOptions(merged) };
  };
  return { src: side('src'), dest: side('dest') };
}
