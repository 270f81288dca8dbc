import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { forgetAtExit, removeAtExit } from '../util/fs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImgError } from '../errors.js';
import type { SyncSource } from './source.js';

// skopeo sync's --src/--dest KIND with its argument is reference grammar: lib/ref/args.ts.
export { SYNC_DESTS, SYNC_SOURCES, syncDestKind, syncDestPrefix, syncSourceArg } from '../ref/args.js';

const SRC_CREDENTIAL_FLAGS = ['creds', 'username', 'password', 'registry-token', 'no-creds'];

/**
 * yamlRegistryFlags gives the flags for the pipeline of one registry key of a sync YAML file:
 * the file's tls-verify and cert-dir as --src-tls-verify and --src-cert-dir and, when it has
 * credentials, `authfile` as --src-authfile in place of every source credential flag. Shared
 * credential flags (--creds, …) then stay for the destination only, as --dest-… flags.
 */
export function yamlRegistryFlags(flags: Record<string, unknown>, src: SyncSource, authfile?: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  if (src.tlsVerify !== undefined) out['src-tls-verify'] = String(src.tlsVerify);
  if (src.certDir !== undefined) out['src-cert-dir'] = src.certDir;
  if (authfile === undefined) return out;
  const destOwn = SRC_CREDENTIAL_FLAGS.some((f) => out[`dest-${f}`] !== undefined && out[`dest-${f}`] !== false);
  for (const f of SRC_CREDENTIAL_FLAGS) {
    if (!destOwn && out[f] !== undefined && out[f] !== false) out[`dest-${f}`] = out[f];
    delete out[f];
    delete out[`src-${f}`];
  }
  if (out['dest-authfile'] === undefined && out.authfile !== undefined) out['dest-authfile'] = out.authfile;
  out['src-authfile'] = authfile;
  return out;
}

/**
 * TempAuthFiles writes the credentials of sync YAML registries into auth.json files of mode 0600
 * in a private temp directory (0700), removed by `remove()` and at process exit. The files are the
 * only place the passwords go: never into arguments, records or messages.
 */
export class TempAuthFiles {
  private dir: string | undefined;

  /** write makes an auth.json for the source's registry with its credentials, and returns its path. */
  write(src: SyncSource): string {
    if (!src.credentials) throw new ImgError('USAGE', `registry ${src.key} has no credentials`);
    if (this.dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'img-sync-auth-'));
      removeAtExit(this.dir);
    }
    const file = join(this.dir, `${Buffer.from(src.key).toString('hex')}.json`);
    const auth = Buffer.from(`${src.credentials.username}:${src.credentials.password}`).toString('base64');
    writeFileSync(file, `${JSON.stringify({ auths: { [src.registry]: { auth } } })}\n`, { mode: 0o600 });
    return file;
  }

  remove(): void {
    if (this.dir === undefined) return;
    rmSync(this.dir, { recursive: true, force: true });
    forgetAtExit(this.dir);
    this.dir = undefined;
  }
}
