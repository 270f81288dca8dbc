import { readFile } from 'node:fs/promises';
import { wrapping } from '../../errors.js';
import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { readPassphraseFile, signManifest, verifyManifestSignature } from '../../signature/standalone.js';
import { isSigstoreInvocation, SIGSTORE_HELP, sigstoreMain } from '../sigstore.js';
import { writeFileAtomic } from '../../util/fs.js';
import { runCheck, runCopy, runSignStage, runSigstoreSignStage } from '../sign-stages.js';
import { REGISTRY_HELP } from '../registry-flags.js';
import { TRANSFER_FLAGS } from '../transfer-flags.js';

export const SIGN_HELP = `usage: img-sign sign --output|-o SIGNATURE [--passphrase-file FILE] MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT
       img-sign verify [--public-key-file FILE] MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE
stages on records (stdin → stdout):
       img-sign check [--policy FILE] [--require-signed]   pass records whose source policy.json allows (else POLICY_DENIED)
       img-sign copy                          copy each record's source signatures to its dest (after img-manifest put)
       img-sign sign --sign-by FPR [--passphrase-file FILE]   sign each record's dest image and store the signature there
       img-sign sign --sign-by-sigstore-private-key FILE --passphrase-file FILE   the same with a sigstore key
                                              (the signature goes to the dest's .sig attachment)
       (all three: --registries.d DIR for docker:// lookaside signature storage, --jobs N, registry flags,
        --src-daemon-host/--dest-daemon-host/--daemon-host for a docker-daemon: source read by check)

Simple signing ("atomic container signature", OpenPGP through gpg), as skopeo standalone-sign and
standalone-verify do it; either tool verifies the other's signatures.
sign     signs the manifest file as DOCKER-REFERENCE with the gpg key KEY-FINGERPRINT from the keyring
         in GNUPGHOME (or ~/.gnupg) and writes the signature to SIGNATURE.
         --passphrase-file  the key's passphrase is the first line of FILE (else gpg-agent asks)
verify   checks SIGNATURE over the manifest file for DOCKER-REFERENCE (compared after normalising,
         with no tag added) by one of KEY-FINGERPRINTS (comma-separated), and prints
         "Signature verified using fingerprint FPR, digest DIGEST".
         --public-key-file  trust only the public keys in FILE (gpg --export output); then
                            KEY-FINGERPRINTS may be "any". Without it the GNUPGHOME keyring is used.
check    policy.json from --policy, else ~/.config/containers/policy.json, else /etc/containers/policy.json;
         the source's simple signatures are read from dir: signature-N files or the lookaside store;
         for a sigstoreSigned requirement, the .sig attachment of a docker:// source whose
         registries.d namespace sets use-sigstore-attachments: true.
         --require-signed  also refuse a source no requirement verified a signature of
                   (insecureAcceptAnything alone), as skopeo --require-signed
copy     also carries the .sig attachment (use-sigstore-attachments at source and dest); fails a record
         whose source signatures cannot go along (the manifest changed, or dest keeps none of that
         kind: oci:, archives, dir: for sigstore); records with status exists or planned are passed by.
sign     the identity signed is the record's dest (a docker:// reference), or --sign-identity REF (a docker
         reference in full, with a tag or digest, as skopeo copy's; then a dir: dest can be signed too);
         the digest is the record's.

${REGISTRY_HELP}
The stages also take --src-X and --dest-X forms of those flags.

${SIGSTORE_HELP}`;

/** signMain is img-sign's work (see SIGN_HELP); cmds/img-sign.ts runs it over stdin and stdout, img-copy and img-sync as a stage. */
export async function signMain(argv: string[], io: StageIO): Promise<number | void> {
  if (isSigstoreInvocation(argv)) return sigstoreMain(argv);
  const flags = parseFlags(argv, COMMAND_FLAGS['img-sign']);
  const [sub, ...args] = flags._.map(String);
  if (sub === 'check') return runCheck(flags, args, io);
  if (sub === 'copy') return runCopy(flags, args, io);
  if (sub === 'sign' && flags['sign-by-sigstore-private-key'] !== undefined) return runSigstoreSignStage(flags, args, io);
  if (sub === 'sign' && flags['sign-by'] !== undefined) return runSignStage(flags, args, io);
  if (sub === 'sign') {
    const output = flags.output === undefined ? '' : String(flags.output);
    if (args.length !== 3 || output === '') throw usage('img-sign sign takes MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT and --output SIGNATURE');
    if (flags['public-key-file'] !== undefined) throw usage('--public-key-file is for img-sign verify');
    if (flags['sign-identity'] !== undefined)
      throw usage('--sign-identity is for the record stages (img-sign sign --sign-by FPR reading records): a MANIFEST file is signed for its DOCKER-REFERENCE');
    // Signing a MANIFEST file talks to no registry: the registry flags are for the record stages.
    const stageFlag = [...TRANSFER_FLAGS.string, ...TRANSFER_FLAGS.boolean, 'registries.d'].find(
      (f) => flags[f] !== undefined && !(f === 'tls-verify' && flags[f] === true),
    );
    if (stageFlag !== undefined)
      throw usage(`--${stageFlag} is for the record stages (img-sign sign --sign-by FPR reading records), not for signing a MANIFEST file`);
    const [manifestPath, ref, fingerprint] = args as [string, string, string];
    const manifest = await wrapping(readFile(manifestPath), `reading ${manifestPath}`);
    const pf = flags['passphrase-file'];
    const passphrase = pf === undefined ? undefined : await wrapping(readPassphraseFile(String(pf)), 'reading the passphrase file');
    const sig = await wrapping(signManifest(manifest, ref, fingerprint, passphrase), 'creating signature');
    await wrapping(writeFileAtomic(output, sig, 0o644), `writing signature to ${output}`);
    return 0;
  }
  if (sub === 'verify') {
    if (args.length !== 4) throw usage('img-sign verify takes MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE');
    if (flags.output !== undefined || flags['passphrase-file'] !== undefined) throw usage('--output and --passphrase-file are for img-sign sign');
    const [manifestPath, ref, fprs, sigPath] = args as [string, string, string, string];
    const fingerprints = fprs === 'any' ? 'any' : fprs.split(',');
    const manifest = await wrapping(readFile(manifestPath), `reading manifest from ${manifestPath}`);
    const signature = await wrapping(readFile(sigPath), `reading signature from ${sigPath}`);
    const kf = flags['public-key-file'];
    const publicKeys = kf === undefined ? undefined : await wrapping(readFile(String(kf)), `reading public keys from ${kf}`);
    const v = await wrapping(verifyManifestSignature(signature, manifest, ref, fingerprints, { publicKeys }), 'verifying signature');
    process.stdout.write(`Signature verified using fingerprint ${v.keyIdentity}, digest ${v.dockerManifestDigest}\n`);
    return 0;
  }
  throw usage(
    sub === undefined ? 'a subcommand is needed: sign, verify, check or copy' : `unknown subcommand ${JSON.stringify(sub)}: sign, verify, check or copy`,
  );
}
