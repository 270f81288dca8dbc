import { ImgError } from '../../errors.js';

/** Refused is the error for a flag skopeo has that imgpipe does not honour: exit status 2, never accepted and ignored. */
export class Refused extends ImgError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

const ENCRYPTION = 'image encryption is out of scope for imgpipe (see imgpipe --help)';
/** skopeo finds the key by fingerprint in Sequoia's key store, through libpodman_sequoia; Debian bookworm's sq 0.27 is stateless (keys only as files). */
const SEQUOIA =
  "needs Sequoia-PGP's key store ($SEQUOIA_HOME, which skopeo reaches through libpodman_sequoia) to find the key by its fingerprint, which Debian bookworm's sq 0.27 does not have (it takes keys only as files): sign with a gpg key (--sign-by) instead";
/** keyless sigstore signing talks to an OIDC provider, Fulcio and Rekor; Debian packages none of the servers. */
const KEYLESS =
  'keyless signing needs an OIDC provider, a Fulcio and a Rekor server, which imgpipe cannot reach or test here (Debian packages neither Fulcio nor Rekor): sign with a key (--sign-by-sigstore-private-key) instead';

/** GLOBAL: skopeo's global flags that imgpipe refuses, with why. */
const GLOBAL: Record<string, string> = {};

/** BY_SUBCOMMAND: each subcommand's skopeo flags that imgpipe refuses, with why. */
const BY_SUBCOMMAND: Record<string, Record<string, string>> = {
  delete: { 'daemon-host': 'deleting from a Docker engine is not supported (by skopeo neither)' },
  copy: {
    'sign-by-sq-fingerprint': SEQUOIA,
    'sign-by-sigstore': KEYLESS,
    'encryption-key': ENCRYPTION,
    'decryption-key': ENCRYPTION,
    'encrypt-layer': ENCRYPTION,
  },
  sync: {
    'sign-by-sq-fingerprint': SEQUOIA,
    'sign-by-sigstore': KEYLESS,
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
