/**
 * OpenPGP signing and verification through the gpg binary, as containers/image does through gpgme:
 * signing uses the user's keyring (GNUPGHOME, gpg-agent, smartcards); verification against given
 * public keys uses a fresh temporary GNUPGHOME holding only those keys. gpg's verdict is read from
 * --status-fd, never from its messages. A passphrase goes to gpg over a file descriptor, never argv.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ImgError } from '../errors.js';
import { forgetAtExit, removeAtExit } from '../util/fs.js';
import { invalidSignature } from './simple.js';

interface GpgResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  status: string[][];
}

interface GpgOptions {
  homedir?: string;
  input?: Uint8Array;
  passphrase?: string;
}

/** runGpg runs gpg in batch mode with status lines on fd 3 and, when given, the passphrase on fd 4. */
function runGpg(args: string[], opts: GpgOptions = {}): Promise<GpgResult> {
  const base = ['--batch', '--no-tty', '--status-fd', '3'];
  if (opts.homedir !== undefined) base.push('--homedir', opts.homedir, '--no-autostart');
  if (opts.passphrase !== undefined) base.push('--pinentry-mode', 'loopback', '--passphrase-fd', '4');
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', [...base, ...args], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', opts.passphrase !== undefined ? 'pipe' : 'ignore'],
      env: { ...process.env, LC_ALL: 'C', LANGUAGE: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const st: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.stdio[3]!.on('data', (b: Buffer) => st.push(b));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new ImgError('UNSUPPORTED', 'gpg is not installed (Debian: apt-get install gnupg)')
          : new ImgError('IO', `running gpg: ${e.message}`),
      ),
    );
    child.on('close', (code) => {
      const status = Buffer.concat(st)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('[GNUPG:] '))
        .map((l) => l.slice(9).split(' '));
      resolve({ code: code ?? 2, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), status });
    });
    for (const s of [child.stdin, child.stdio[4]] as (Writable | null)[]) s?.on('error', () => undefined);
    if (opts.passphrase !== undefined) (child.stdio[4] as Writable).end(`${opts.passphrase}\n`);
    child.stdin!.end(opts.input ?? Buffer.alloc(0));
  });
}

/** lastGpgMessage is gpg's last stderr line, for errors (gpg never prints a passphrase). */
function lastGpgMessage(r: GpgResult): string {
  const lines = r.stderr
    .split('\n')
    .map((l) => l.replace(/^gpg: /, '').trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? `gpg exited with status ${r.code}`;
}

/**
 * gpgSign makes a binary (non-detached) OpenPGP signed message of `payload` with the key `keyIdentity`
 * from the user's keyring. With a passphrase, gpg gets it in loopback mode; without, gpg-agent and its
 * pinentry decide, as with gpgme. A passphrase with a line break is refused, as containers/image does.
 */
export async function gpgSign(payload: Uint8Array, keyIdentity: string, passphrase?: string): Promise<Buffer> {
  if (passphrase !== undefined && /[\n\r]/.test(passphrase)) throw new ImgError('USAGE', 'invalid passphrase: must not contain a line break');
  if (keyIdentity.trim() === '' || /[\n\r]/.test(keyIdentity)) throw new ImgError('USAGE', `invalid key identity ${JSON.stringify(keyIdentity)}`);
  const r = await runGpg(['--local-user', keyIdentity, '--sign'], { input: payload, passphrase: passphrase || undefined });
  const has = (kw: string) => r.status.some((s) => s[0] === kw);
  if (r.code === 0 && has('SIG_CREATED')) return r.stdout;
  const doing = `signing with key ${keyIdentity}`;
  // FAILURE sign N: the low 16 bits are the gpg-error code.
  const failure = r.status.find((s) => s[0] === 'FAILURE');
  const code = failure?.[2] !== undefined ? Number(failure[2]) % 65536 : undefined;
  if (code === 11 || has('BAD_PASSPHRASE') || /bad passphrase/i.test(r.stderr)) throw new ImgError('UNAUTHORIZED', `${doing}: bad passphrase`);
  if (code === 17 || has('INV_SGNR') || /no secret key|secret key not available/i.test(r.stderr))
    throw new ImgError('IO', `${doing}: no secret key for it in the keyring (GNUPGHOME)`);
  if (code === 177 || code === 85 || code === 99 || has('MISSING_PASSPHRASE') || /pinentry|no passphrase|canceled/i.test(r.stderr)) {
    throw new ImgError('UNAUTHORIZED', `${doing}: the key needs a passphrase (--passphrase-file) or a gpg-agent that has it`);
  }
  throw new ImgError('IO', `${doing}: ${lastGpgMessage(r)}`);
}

/** gpgExportPublicKeys exports the public keys (binary) that `keyIdentity` names in the user's keyring. */
export async function gpgExportPublicKeys(keyIdentity: string): Promise<Buffer> {
  if (keyIdentity.trim() === '' || /[\n\r]/.test(keyIdentity)) throw new ImgError('USAGE', `invalid key identity ${JSON.stringify(keyIdentity)}`);
  const r = await runGpg(['--export', '--', keyIdentity]);
  if (r.code !== 0 || r.stdout.length === 0)
    throw new ImgError('IO', `exporting the public key ${keyIdentity}: ${r.stdout.length === 0 ? 'gpg exported nothing' : lastGpgMessage(r)}`);
  return r.stdout;
}

/** Verified is what gpg vouched for: the signed content and the fingerprints of the key that signed it. */
export interface Verified {
  content: Buffer;
  /** Fingerprint of the (sub)key that made the signature. */
  keyIdentity: string;
  /** Fingerprint of its primary key (the same for a signature by a primary key). */
  primaryKeyIdentity: string;
}

/**
 * gpgVerify checks an OpenPGP signed message in `homedir` (the user's GNUPGHOME when undefined). It
 * accepts only one good signature (gpgme's check, key trust aside): a bad, expired or revoked one,
 * a missing key, more than one signature, or an encrypted message is refused with the reason.
 */
export async function gpgVerify(signature: Uint8Array, homedir?: string): Promise<Verified> {
  const r = await runGpg(['--output', '-', '--verify'], { input: signature, homedir });
  const lines = r.status;
  const find = (kw: string) => lines.find((s) => s[0] === kw);
  if (find('BEGIN_DECRYPTION') || find('ENC_TO')) throw invalidSignature('the message is encrypted, not only signed');
  const sigs = lines.filter((s) => s[0] === 'NEWSIG').length;
  if (sigs === 0) throw invalidSignature(find('NODATA') ? 'not an OpenPGP signed message' : `gpg found no signature: ${lastGpgMessage(r)}`);
  if (sigs !== 1) throw invalidSignature(`unexpected GPG signature count ${sigs}`);
  const bad = find('BADSIG');
  if (bad) throw invalidSignature(`bad signature by key ID ${bad[1]}: the signed data does not match the signature (tampered)`);
  const errsig = find('ERRSIG');
  if (errsig) {
    if (find('NO_PUBKEY') || errsig[6] === '9') throw invalidSignature(`signed by key ID ${errsig[1]}, which is not among the trusted public keys`);
    throw invalidSignature(`gpg could not check the signature by key ID ${errsig[1]}: ${lastGpgMessage(r)}`);
  }
  for (const [kw, why] of [
    ['EXPSIG', 'the signature has expired'],
    ['EXPKEYSIG', 'the signing key has expired'],
    ['REVKEYSIG', 'the signing key has been revoked'],
    ['TRUST_NEVER', 'the signing key is marked as never to be trusted'],
  ] as const) {
    const l = find(kw);
    if (l) throw invalidSignature(`${why} (key ID ${l[1] ?? '?'})`);
  }
  const valid = find('VALIDSIG');
  if (r.code !== 0 || !find('GOODSIG') || !valid || !valid[1]) throw invalidSignature(`gpg did not accept the signature: ${lastGpgMessage(r)}`);
  return { content: r.stdout, keyIdentity: valid[1], primaryKeyIdentity: valid[10] ?? valid[1] };
}

/**
 * withPublicKeys runs fn with a fresh temporary GNUPGHOME that holds only the public keys in `blobs`
 * (binary or armored) and the fingerprints imported, as containers/image's ephemeral mechanism; the
 * directory is removed afterwards.
 */
export async function withPublicKeys<T>(blobs: Uint8Array[], fn: (homedir: string, fingerprints: string[]) => Promise<T>): Promise<T> {
  const homedir = await fsp.mkdtemp(join(tmpdir(), 'imgpipe-gpg-'));
  // A stage may hold it for a whole pipeline, and be stopped with SIGTERM.
  removeAtExit(homedir);
  try {
    await fsp.chmod(homedir, 0o700);
    const fingerprints: string[] = [];
    for (const blob of blobs) {
      const r = await runGpg(['--import'], { homedir, input: blob });
      for (const s of r.status) if (s[0] === 'IMPORT_OK' && s[2] && !fingerprints.includes(s[2])) fingerprints.push(s[2]);
      if (r.code !== 0 && !r.status.some((s) => s[0] === 'IMPORT_OK')) throw new ImgError('IO', `importing public keys: ${lastGpgMessage(r)}`);
    }
    return await fn(homedir, fingerprints);
  } finally {
    await fsp.rm(homedir, { recursive: true, force: true });
    forgetAtExit(homedir);
  }
}
