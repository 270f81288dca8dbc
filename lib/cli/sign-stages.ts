/** img-sign's record stages (check, copy, sign --sign-by) as commands: flags in, exit status out. */
import { parseJobs } from './args.js';
import type { ParsedFlags as ParsedArgs } from './flags.js';
import { wrapping } from '../errors.js';
import { loadPolicy } from '../policy/load.js';
import { readPassphraseFile } from '../signature/standalone.js';
import { checkRecord, copyRecordSignatures, signRecord, withGpgSigner } from '../sign/stages.js';
import { signIdentityArg } from '../sign/target.js';
import { loadSigningKey, signRecordSigstore, sigstoreSigner } from '../sign/sigstore/stages.js';
import type { TransportOptions, TransportTraits } from '../transport/index.js';
import type { Stage } from './stage-io.js';
import { processRecordsInOrder, records, type StageIO } from './records.js';
import { usage } from './run.js';
import { transferOptions } from './transfer-flags.js';

/** registriesDirFlag reads --registries.d. */
export function registriesDirFlag(flags: ParsedArgs): string | undefined {
  const v = flags['registries.d'];
  if (v === undefined) return undefined;
  if (String(v) === '') throw usage('--registries.d needs a directory');
  return String(v);
}

function sides(flags: ParsedArgs): { src: TransportOptions; dest: TransportOptions } {
  const s = transferOptions(flags);
  const registriesDir = registriesDirFlag(flags);
  return registriesDir === undefined ? s : { src: { ...s.src, registriesDir }, dest: { ...s.dest, registriesDir } };
}

/** signIdentityFlag reads --sign-identity (skopeo copy's): a docker reference in full, with a tag or a digest (signIdentityArg). */
function signIdentityFlag(flags: ParsedArgs): string | undefined {
  return flags['sign-identity'] === undefined ? undefined : signIdentityArg(String(flags['sign-identity']));
}

function jobs(flags: ParsedArgs): number {
  return flags.jobs === undefined ? 8 : parseJobs(flags.jobs);
}

/**
 * runCheck is `img-sign check [--policy FILE] [--require-signed]`: records on stdin whose source the
 * policy allows (with --require-signed: by verifying a signature) pass; the rest become POLICY_DENIED error records.
 */
export async function runCheck(flags: ParsedArgs, args: string[], io: StageIO): Promise<number> {
  if (args.length > 0) throw usage('img-sign check reads records on stdin (from img-manifest get)');
  const policy = await loadPolicy(flags.policy === undefined ? undefined : String(flags.policy));
  const { src } = sides(flags);
  return processRecordsInOrder(
    'img-sign check',
    records([], 'img-sign check', io),
    async (r) => [await checkRecord(r, policy, src, { requireSigned: flags['require-signed'] === true })],
    io.out,
    jobs(flags),
  );
}

/** runCopy is `img-sign copy`: each record's source signatures are written at its destination. */
export async function runCopy(flags: ParsedArgs, args: string[], io: StageIO): Promise<number> {
  if (args.length > 0) throw usage('img-sign copy reads records on stdin (after img-manifest put)');
  const s = sides(flags);
  return processRecordsInOrder(
    'img-sign copy',
    records([], 'img-sign copy', io),
    async (r) => [await copyRecordSignatures(r, s.src, s.dest)],
    io.out,
    jobs(flags),
  );
}

/**
 * runSignStage is `img-sign sign --sign-by FPR`: each record's destination image gets a new
 * signature, unless it has one by that key for that reference already. The key is checked (signed
 * with once) before any record is read, so a wrong passphrase fails at once.
 */
export async function runSignStage(flags: ParsedArgs, args: string[], io: StageIO): Promise<number> {
  if (args.length > 0 || flags.output !== undefined) throw usage('img-sign sign --sign-by reads records on stdin; it takes no MANIFEST, reference or --output');
  const keyIdentity = String(flags['sign-by']);
  if (keyIdentity === '') throw usage('--sign-by needs a key fingerprint');
  const pf = flags['passphrase-file'];
  const passphrase = pf === undefined ? undefined : await wrapping(readPassphraseFile(String(pf)), 'reading the passphrase file');
  const identity = signIdentityFlag(flags);
  const { dest } = sides(flags);
  // One record at a time: gpg-agent may have to ask for the passphrase once.
  return withGpgSigner(keyIdentity, passphrase, (signer) =>
    processRecordsInOrder(
      'img-sign sign',
      records([], 'img-sign sign', io),
      async (r) => [await signRecord(r, { signer, destTopts: dest, ...(identity !== undefined ? { identity } : {}) })],
      io.out,
      1,
    ),
  );
}

/**
 * runSigstoreSignStage is `img-sign sign --sign-by-sigstore-private-key FILE --passphrase-file F`:
 * each record's destination image gets a sigstore signature in its .sig attachment, unless one by
 * that key for that reference is there already. The key is opened before any record is read, so a
 * wrong passphrase fails at once.
 */
export async function runSigstoreSignStage(flags: ParsedArgs, args: string[], io: StageIO): Promise<number> {
  if (args.length > 0 || flags.output !== undefined)
    throw usage('img-sign sign --sign-by-sigstore-private-key reads records on stdin; it takes no reference or --output');
  if (flags['sign-by'] !== undefined) throw usage('--sign-by and --sign-by-sigstore-private-key are separate stages (run img-sign sign once for each)');
  const keyFile = String(flags['sign-by-sigstore-private-key']);
  if (keyFile === '') throw usage('--sign-by-sigstore-private-key needs a key file');
  const pf = flags['passphrase-file'];
  // stdin carries the records, so the passphrase cannot be asked for.
  if (pf === undefined) throw usage('--sign-by-sigstore-private-key needs --passphrase-file in a pipeline (stdin holds the records)');
  const identity = signIdentityFlag(flags);
  const passphrase = await wrapping(readPassphraseFile(String(pf)), 'reading the passphrase file');
  const signer = sigstoreSigner(await loadSigningKey(keyFile, passphrase));
  const { dest } = sides(flags);
  // One record at a time: records of the same digest append to the same attachment.
  return processRecordsInOrder(
    'img-sign sign',
    records([], 'img-sign sign', io),
    async (r) => [await signRecordSigstore(r, signer, dest, identity)],
    io.out,
    1,
  );
}

export { SIGNATURE_FLAGS } from './command-flags.js';

export const SIGNATURE_HELP = `signatures and trust policy (stages of img-sign):
  --policy FILE                policy.json for img-sign check (default ~/.config/containers/policy.json,
                               then /etc/containers/policy.json; none found is an error, as in skopeo)
  --insecure-policy            leave out img-sign check: any source is accepted
  --require-signed             img-sign check refuses a source the policy accepts without verifying a
                               signature (insecureAcceptAnything), as skopeo --require-signed
  --remove-signatures          leave out img-sign copy: the source's signatures (simple, and sigstore
                               attachments) are not carried
  --sign-by FPR                sign each image at DEST (a docker:// destination) with this gpg key
  --sign-by-sigstore-private-key FILE   sign each image at DEST (docker://, with use-sigstore-attachments
                               in registries.d) with this sigstore key (from img-sign keygen)
  --sign-passphrase-file FILE  the key's passphrase is the first line of FILE (for one of the two;
                               needed with --sign-by-sigstore-private-key)
  --registries.d DIR           registries.d for docker:// lookaside signature storage and
                               use-sigstore-attachments`;

/** SignatureStages: where img-sign stages go in a copy pipeline (see signatureStages). */
export interface SignatureStages {
  /** img-sign check: right after img-manifest get, before any blob moves. */
  check?: Stage;
  /** img-sign copy for a destination that keeps no signatures: before img-blob-put, so that a signed source is refused before any blob moves. */
  beforeBlobs?: Stage;
  /** img-sign copy, img-sign sign --sign-by and img-sign sign --sign-by-sigstore-private-key, after img-manifest put. */
  afterPut: Stage[];
}

/**
 * signatureStages builds the img-sign stages of img-copy and img-sync from their flags. `dest` is
 * what the destination's transport is (transportTraits); `common` are the registry flags every stage gets.
 */
export function signatureStages(flags: ParsedArgs, dest: TransportTraits, common: string[]): SignatureStages {
  const rd = registriesDirFlag(flags);
  const shared = [...(rd === undefined ? [] : [`--registries.d=${rd}`]), ...common];
  // check reads only the source and sign writes only the destination: each gets the flags of its end.
  const srcOnly = shared.filter((a) => !a.startsWith('--dest-'));
  const destOnly = shared.filter((a) => !a.startsWith('--src-'));
  const out: SignatureStages = { afterPut: [] };
  if (flags['insecure-policy'] === true && flags['require-signed'] === true) throw usage('--insecure-policy and --require-signed are mutually exclusive');
  if (flags['insecure-policy'] !== true) {
    const policy = flags.policy === undefined ? [] : [`--policy=${String(flags.policy)}`];
    const signed = flags['require-signed'] === true ? ['--require-signed'] : [];
    out.check = { command: 'img-sign', args: ['check', ...policy, ...signed, ...srcOnly] };
  } else if (flags.policy !== undefined) throw usage('--policy and --insecure-policy exclude each other');
  const keeps = dest.keepsSignatures;
  if (flags['remove-signatures'] !== true) {
    const copy: Stage = { command: 'img-sign', args: ['copy', ...shared] };
    if (keeps) out.afterPut.push(copy);
    else out.beforeBlobs = copy;
  }
  const pf = flags['sign-passphrase-file'] === undefined ? undefined : String(flags['sign-passphrase-file']);
  const sigstoreKey = flags['sign-by-sigstore-private-key'] === undefined ? undefined : String(flags['sign-by-sigstore-private-key']);
  // As skopeo: one passphrase file, for one of the two kinds of signing.
  if (pf !== undefined && flags['sign-by'] !== undefined && sigstoreKey !== undefined)
    throw usage('only one of --sign-by and --sign-by-sigstore-private-key can be used with --sign-passphrase-file');
  // --sign-identity names what is signed for: then any destination that keeps signatures will do (dir: too).
  const identity = flags['sign-identity'] === undefined ? undefined : signIdentityArg(String(flags['sign-identity']));
  if (identity !== undefined && flags['sign-by'] === undefined && sigstoreKey === undefined)
    throw usage('--sign-identity goes with --sign-by or --sign-by-sigstore-private-key: it names what a new signature is for');
  const named = identity === undefined ? [] : [`--sign-identity=${identity}`];
  if (flags['sign-by'] !== undefined) {
    if (identity === undefined && dest.signedIdentity !== 'docker-reference')
      throw usage('--sign-by needs a docker:// destination (the signature names its docker reference), or --sign-identity');
    if (!dest.keepsSignatures) throw usage('--sign-by needs a destination that keeps signatures (docker://, dir:)');
    const gpgPass = sigstoreKey === undefined && pf !== undefined ? [`--passphrase-file=${pf}`] : [];
    out.afterPut.push({ command: 'img-sign', args: ['sign', `--sign-by=${String(flags['sign-by'])}`, ...gpgPass, ...named, ...destOnly] });
  }
  if (sigstoreKey !== undefined) {
    if (identity === undefined && dest.sigstore !== 'attachments')
      throw usage('--sign-by-sigstore-private-key needs a docker:// destination (the signature names its docker reference), or --sign-identity');
    if (dest.sigstore === undefined) throw usage('--sign-by-sigstore-private-key needs a destination that keeps sigstore signatures (docker://, dir:)');
    if (pf === undefined) throw usage('--sign-by-sigstore-private-key needs --sign-passphrase-file (the pipeline cannot ask on the terminal)');
    out.afterPut.push({
      command: 'img-sign',
      args: ['sign', `--sign-by-sigstore-private-key=${sigstoreKey}`, `--passphrase-file=${pf}`, ...named, ...destOnly],
    });
  }
  if (pf !== undefined && flags['sign-by'] === undefined && sigstoreKey === undefined)
    throw usage('--sign-passphrase-file goes with --sign-by or --sign-by-sigstore-private-key');
  return out;
}
