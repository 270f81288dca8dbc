import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { forgetAtExit, removeAtExit } from '../util/fs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImgError } from '../errors.js';
import type { SyncSource } from './source.js';

/** The sync source kinds (skopeo sync --src) and destination kinds (--dest). */
export const SYNC_SOURCES = ['docker', 'dir', 'oci', 'yaml'] as const;
export const SYNC_DESTS = ['docker', 'dir', 'oci', 'containers-storage'] as const;

/**
 * syncSourceArg turns skopeo sync's SOURCE for `--src KIND` into what img-tags reads: a docker
 * repository or image (REPO, REPO:TAG, with or without docker://), a registry HOST with
 * `catalog`, or a dir:/oci: path.
 */
export function syncSourceArg(kind: string, source: string, catalog: boolean): string {
  if (!(SYNC_SOURCES as readonly string[]).includes(kind)) throw new ImgError('USAGE', `invalid --src ${JSON.stringify(kind)}: expected one of ${SYNC_SOURCES.join(', ')}`);
  if (catalog && kind !== 'docker') throw new ImgError('USAGE', '--catalog needs --src docker');
  if (kind === 'docker') return `docker://${source.replace(/^docker:\/\//, '')}`;
  return kind === 'yaml' ? source : `${kind}:${source.replace(new RegExp(`^${kind}:`), '')}`;
}

/** syncDestPrefix turns skopeo sync's DESTINATION for `--dest KIND` into img-ref's --to PREFIX. */
export function syncDestPrefix(kind: string, dest: string): string {
  if (!(SYNC_DESTS as readonly string[]).includes(kind)) throw new ImgError('USAGE', `invalid --dest ${JSON.stringify(kind)}: expected one of ${SYNC_DESTS.join(', ')}`);
  if (kind === 'docker') return `docker://${dest.replace(/^docker:\/\//, '')}`;
  return `${kind}:${dest.replace(new RegExp(`^${kind}:`), '')}`;
}

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
