/** Flags passed on to pipeline stages by img-copy and img-sync. */

const SIDE = ['creds', 'username', 'password', 'registry-token', 'authfile', 'cert-dir', 'tls-verify', 'no-creds'];
const SHARED = ['retry-times', 'debug'];

function flagArgs(flags: Record<string, unknown>, name: string, as = name): string[] {
  const v = flags[name];
  if (v === undefined || v === false) return [];
  if (v === true) return [`--${as}`];
  return [`--${as}=${String(v)}`];
}

/**
 * sideArgs gives the registry flags one end of a transfer uses, for a stage that knows only plain
 * flags (img-manifest get for the source, put for the destination): --src-X becomes --X, falling
 * back to the shared --X.
 */
export function sideArgs(flags: Record<string, unknown>, side: 'src' | 'dest'): string[] {
  const out: string[] = [];
  for (const f of SIDE) {
    if (flags[`${side}-${f}`] !== undefined && flags[`${side}-${f}`] !== false) out.push(...flagArgs(flags, `${side}-${f}`, f));
    else if (f === 'tls-verify') {
      if (flags['tls-verify'] === false) out.push('--tls-verify=false');
    } else out.push(...flagArgs(flags, f));
  }
  for (const f of SHARED) out.push(...flagArgs(flags, f));
  return out.map((a) => (a === '--tls-verify=' || a === '--tls-verify=true' ? '--tls-verify' : a));
}

/** transferArgs gives img-blob-put both ends' flags as given (it reads --src-X and --dest-X itself). */
export function transferArgs(flags: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const f of SIDE) {
    if (f === 'tls-verify') {
      if (flags['tls-verify'] === false) out.push('--tls-verify=false');
    } else out.push(...flagArgs(flags, f));
    for (const side of ['src', 'dest']) out.push(...flagArgs(flags, `${side}-${f}`));
  }
  for (const f of SHARED) out.push(...flagArgs(flags, f));
  return out;
}
