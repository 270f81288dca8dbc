import { ImgError } from '../../errors.js';

/** Refused is the error for a flag skopeo has that imgpipe does not honour: exit status 2, never accepted and ignored. */
export class Refused extends ImgError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

const ENCRYPTION = 'image encryption is out of scope for imgpipe (see imgpipe --help)';
const NOT_YET = 'not supported by imgpipe yet';

/** GLOBAL: skopeo's global flags that imgpipe refuses, with why. */
const GLOBAL: Record<string, string> = {
  'tls-details': NOT_YET,
};

/** BY_SUBCOMMAND: each subcommand's skopeo flags that imgpipe refuses, with why. */
const BY_SUBCOMMAND: Record<string, Record<string, string>> = {
  delete: { 'daemon-host': 'deleting from a Docker engine is not supported (by skopeo neither)' },
  copy: {
    'sign-by-sq-fingerprint': NOT_YET,
    'sign-by-sigstore': NOT_YET,
    'encryption-key': ENCRYPTION,
    'decryption-key': ENCRYPTION,
    'encrypt-layer': ENCRYPTION,
  },
  sync: {
    'sign-by-sq-fingerprint': NOT_YET,
    'sign-by-sigstore': NOT_YET,
  },
};

/** refuseFlags throws Refused for the first flag in argv that skopeo's `sub` (or skopeo itself) has and imgpipe does not honour. */
export function refuseFlags(sub: string | undefined, argv: readonly string[]): void {
  const table = { ...GLOBAL, ...(sub === undefined ? {} : (BY_SUBCOMMAND[sub] ?? {})) };
  for (const a of argv) {
    if (a === '--') return;
    const m = /^--?([^=]+)/.exec(a);
    if (!m || (a[1] !== '-' && m[1]!.length !== 1)) continue;
    const why = table[m[1]!];
    if (why !== undefined) throw new Refused(`${a[1] === '-' ? '--' : '-'}${m[1]}: ${why}`);
  }
}
