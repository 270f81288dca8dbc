/**
 * The sigstore subcommands of img-sign, kept apart from cmds/img-sign.ts (which only dispatches
 * here): `keygen` as skopeo generate-sigstore-key, `sign --sigstore-private-key` and
 * `verify --sigstore-public-key` on a registry image's `.sig` attachment.
 */
import { promises as fsp } from 'node:fs';
import { ImgError, wrap, wrapping } from '../errors.js';
import { readSecret } from './prompt.js';
import { registryOptions } from './registry-flags.js';
import { COMMAND_FLAGS, SIGSTORE_CLI_FLAGS } from './command-flags.js';
import { parseFlags, usage } from './run.js';
import { matchesSignedIdentity } from '../policy/identity.js';
import { formatDockerRef, parseDockerRef, withDefaultTag, type DockerRef } from '../ref/docker.js';
import { openTransport, type TransportOptions } from '../transport/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { invalidSignature } from '../signature/simple.js';
import { readPassphraseFile } from '../signature/standalone.js';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../signature/sigstore/keys.js';
import { dockerImageArg, getSigstoreSignatures, putSigstoreSignatures } from '../sign/sigstore/registry.js';
import {
  createSigstoreSignature,
  digestRule,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  signatureIdentity,
  verifySigstoreSignature,
} from '../signature/sigstore/signature.js';

export const SIGSTORE_HELP = `       img-sign keygen --output-prefix PREFIX [--passphrase-file FILE]
       img-sign sign --sigstore-private-key FILE [--passphrase-file FILE] [--sign-identity REF] DOCKER-REF
       img-sign verify --sigstore-public-key FILE[,FILE...] DOCKER-REF

Sigstore (cosign format), as skopeo generate-sigstore-key and copy --sign-by-sigstore-private-key:
keygen   writes PREFIX.private (an encrypted ECDSA P-256 key, cosign's format, mode 0600) and PREFIX.pub
         (PEM); refuses to overwrite either. The passphrase is the first line of --passphrase-file,
         else it is asked twice on the terminal.
sign     signs the registry image DOCKER-REF (docker://REPO:TAG or REPO@DIGEST) as itself (or as
         --sign-identity) and stores the signature in the attachment REPO:sha256-HEX.sig, appended to
         the signatures already there.
verify   checks that one of the image's sigstore signatures is by one of the public keys, for its
         manifest and for DOCKER-REF (a digest reference accepts any tag of the repository), and
         prints "Signature verified using sigstore public key FILE, digest DIGEST".
         sign and verify take the registry flags (--creds, --tls-verify=false, --authfile, ...).`;

const SIGSTORE_FLAGS = SIGSTORE_CLI_FLAGS;

/** isSigstoreInvocation says whether img-sign's arguments are for the sigstore subcommands. */
export function isSigstoreInvocation(argv: string[]): boolean {
  return argv.find((a) => !a.startsWith('-')) === 'keygen' || argv.some((a) => /^--sigstore-(private|public)-key(=|$)/.test(a));
}

/** sigstoreMain runs `img-sign keygen|sign|verify` for sigstore; returns the exit status. */
export async function sigstoreMain(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-sign sigstore']);
  const [sub, ...args] = flags._.map(String);
  const str = (k: string) => (flags[k] === undefined || flags[k] === '' ? undefined : String(flags[k]));
  const only = (allowed: string[]) => {
    for (const f of [...SIGSTORE_FLAGS, 'passphrase-file'])
      if (flags[f] !== undefined && !allowed.includes(f)) throw usage(`--${f} is not for img-sign ${sub}`);
  };
  if (sub === 'keygen') {
    only(['output-prefix', 'passphrase-file']);
    if (args.length !== 0) throw usage('img-sign keygen takes no arguments');
    const prefix = str('output-prefix');
    if (prefix === undefined) throw usage('--output-prefix must be specified');
    await keygen(prefix, str('passphrase-file'));
    return 0;
  }
  // verify only reads: registries.conf's mirrors may serve it; sign writes, so it goes where the reference says.
  const topts: TransportOptions = { registry: { ...registryOptions(flags), ...(sub === 'verify' ? { pull: true } : {}) } };
  if (sub === 'sign') {
    only(['sigstore-private-key', 'passphrase-file', 'sign-identity']);
    const keyFile = str('sigstore-private-key');
    if (args.length !== 1 || keyFile === undefined) throw usage('img-sign sign takes --sigstore-private-key FILE and one DOCKER-REF');
    await signImage(args[0]!, keyFile, str('passphrase-file'), str('sign-identity'), topts);
    return 0;
  }
  if (sub === 'verify') {
    only(['sigstore-public-key']);
    const keyFiles = str('sigstore-public-key');
    if (args.length !== 1 || keyFiles === undefined) throw usage('img-sign verify takes --sigstore-public-key FILE and one DOCKER-REF');
    const v = await verifyImage(args[0]!, keyFiles.split(','), topts);
    process.stdout.write(`Signature verified using sigstore public key ${v.keyFile}, digest ${v.digest}\n`);
    return 0;
  }
  throw usage(
    sub === undefined
      ? 'a subcommand is needed: keygen, sign or verify'
      : `unknown subcommand ${JSON.stringify(sub)} with sigstore flags: keygen, sign or verify`,
  );
}

/** keygen writes PREFIX.private (0600) and PREFIX.pub, refusing to overwrite either, as skopeo generate-sigstore-key. */
async function keygen(prefix: string, passphraseFile: string | undefined): Promise<void> {
  const priv = `${prefix}.private`;
  const pub = `${prefix}.pub`;
  for (const p of [pub, priv]) {
    const exists = await fsp.lstat(p).then(
      () => true,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(wrap(e, `checking existence of ${JSON.stringify(p)}`))),
    );
    if (exists) throw new ImgError('IO', `refusing to overwrite existing ${JSON.stringify(p)}`);
  }
  let passphrase: string;
  if (passphraseFile !== undefined) passphrase = await readPassphrase(passphraseFile);
  else {
    passphrase = await ask(`Enter a passphrase for ${JSON.stringify(priv)}: `);
    if ((await ask('Re-enter the passphrase: ')) !== passphrase) throw new ImgError('USAGE', 'the passphrases do not match');
  }
  const keys = await generateKeyPair(passphrase);
  await wrapping(writeFileAtomic(priv, keys.privateKey, 0o600), `writing private key to ${JSON.stringify(priv)}`);
  await wrapping(writeFileAtomic(pub, keys.publicKey, 0o644), `writing public key to ${JSON.stringify(pub)}`);
  process.stdout.write(`Key written to ${JSON.stringify(priv)} and ${JSON.stringify(pub)}\n`);
}

async function readPassphrase(path: string): Promise<string> {
  return wrapping(readPassphraseFile(path), 'reading the passphrase file');
}

/** ask reads a passphrase from the terminal without echo; without a terminal it is a usage error. */
async function ask(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new ImgError('USAGE', 'no passphrase: stdin is not a terminal (use --passphrase-file)');
  return readSecret(question, true);
}

/** signImage signs a registry image with a sigstore private key file and stores the signature in its attachment. */
export async function signImage(
  imageArg: string,
  keyFile: string,
  passphraseFile: string | undefined,
  signIdentity: string | undefined,
  topts: TransportOptions,
): Promise<void> {
  const image = withDefaultTag(dockerImageArg(imageArg));
  const identity = signatureIdentity(signIdentity ?? formatDockerRef(image));
  const pem = await wrapping(fsp.readFile(keyFile), `reading private key from ${keyFile}`);
  const passphrase = passphraseFile !== undefined ? await readPassphrase(passphraseFile) : await ask(`Enter the passphrase for ${JSON.stringify(keyFile)}: `);
  const key = await wrapping(loadPrivateKey(pem, passphrase), `initializing private key ${keyFile}`);
  const name = `docker://${formatDockerRef(image)}`;
  const manifest = await wrapping(openTransport(name, topts).getManifest(), `fetching manifest ${name}`);
  const sig = createSigstoreSignature(manifest.bytes, identity, key);
  await wrapping(putSigstoreSignatures(image, manifest.digest, [sig], topts), `storing the sigstore signature of ${name}`);
}

/** readPublicKeys loads PEM public keys from files. */
export async function readPublicKeys(files: string[]) {
  return Promise.all(
    files.map(async (f) => {
      const pem = await wrapping(fsp.readFile(f), `reading public key from ${f}`);
      try {
        return loadPublicKey(pem);
      } catch (e) {
        throw wrap(e, f);
      }
    }),
  );
}

/**
 * verifyImage checks the sigstore signatures attached to a registry image against public key files;
 * the first accepted one wins, else every reason is given. The identity rule is
 * matchRepoDigestOrExact: the signed reference equals DOCKER-REF (default tag :latest), or for a
 * digest reference names the same repository.
 */
export async function verifyImage(imageArg: string, keyFiles: string[], topts: TransportOptions): Promise<{ digest: string; keyFile: string }> {
  const parsed = dockerImageArg(imageArg);
  const image: DockerRef = parsed.digest !== undefined ? parsed : withDefaultTag(parsed);
  const keys = await readPublicKeys(keyFiles);
  const name = `docker://${formatDockerRef(image)}`;
  const manifest = await wrapping(openTransport(name, topts).getManifest(), `fetching manifest ${name}`);
  const sigs = (await wrapping(getSigstoreSignatures(image, manifest.digest, topts), `reading the sigstore signatures of ${name}`)).filter(
    (s) => s.mimeType === SIGSTORE_SIGNATURE_MIME_TYPE,
  );
  if (sigs.length === 0) throw invalidSignature(`${name} has no sigstore signature`);
  const reasons: string[] = [];
  for (const sig of sigs) {
    for (const [i, key] of keys.entries()) {
      try {
        verifySigstoreSignature([key], sig, {
          checkDigest: digestRule(manifest.bytes),
          checkReference: (ref) => {
            if (!matchesSignedIdentity({ type: 'matchRepoDigestOrExact' }, parseDockerRef(formatDockerRef(image)), ref)) {
              throw invalidSignature(`signature for identity ${JSON.stringify(ref)} does not match ${formatDockerRef(image)}`);
            }
          },
        });
        return { digest: manifest.digest, keyFile: keyFiles[i]! };
      } catch (e) {
        if (!(e instanceof ImgError) || e.code === 'USAGE') throw e;
        if (!reasons.includes(e.message)) reasons.push(e.message);
      }
    }
  }
  throw new ImgError(
    'SIGNATURE_INVALID',
    reasons.length === 1 ? reasons[0]! : `none of the ${sigs.length} sigstore signatures was accepted: ${reasons.join('; ')}`,
  );
}
