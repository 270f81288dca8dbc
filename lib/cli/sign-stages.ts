/** img-sign's record stages (check, copy, sign --sign-by) as commands: flags in, exit status out. */
import type { ParsedArgs } from 'minimist';
import { wrap } from '../errors.js';
import { loadPolicy } from '../policy/load.js';
import { readPassphraseFile } from '../sign/standalone.js';
import { checkRecord, copyRecordSignatures, signRecord } from '../sign/stages.js';
import type { TransportOptions } from '../transport/index.js';
import type { Stage } from './pipeline.js';
import { processRecordsInOrder, records } from './records.js';
import { usage } from './run.js';
import { transferOptions } from './transfer-flags.js';

/** Flags of the record stages, besides the registry flags (TRANSFER_FLAGS). */
export const SIGN_STAGE_FLAGS = { string: ['sign-by', 'policy', 'registries.d', 'jobs'] };

/** registriesDirFlag reads --registries.d (minimist files a dotted flag under registries.d). */
export function registriesDirFlag(flags: ParsedArgs): string | undefined {
  const v = (flags.registries as { d?: unknown } | undefined)?.d ?? flags['registries.d'];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw usage('--registries.d is given more than once');
  if (String(v) === '') throw usage('--registries.d needs a directory');
  return String(v);
}

function sides(flags: ParsedArgs): { src: TransportOptions; dest: TransportOptions } {
  const s = transferOptions(flags);
  const registriesDir = registriesDirFlag(flags);
  return registriesDir === undefined ? s : { src: { ...s.src, registriesDir }, dest: { ...s.dest, registriesDir } };
}

function jobs(flags: ParsedArgs): number {
  if (flags.jobs === undefined) return 8;
  const n = Number(flags.jobs);
  if (!Number.isInteger(n) || n < 1) throw usage(`invalid --jobs ${JSON.stringify(flags.jobs)}: a positive number`);
  return n;
}

/** runCheck is `img-sign check [--policy FILE]`: records on stdin whose source the policy allows pass; the rest become POLICY_DENIED error records. */
export async function runCheck(flags: ParsedArgs, args: string[]): Promise<number> {
  if (args.length > 0) throw usage('img-sign check reads records on stdin (from img-manifest get)');
  const policy = await loadPolicy(flags.policy === undefined ? undefined : String(flags.policy));
  const { src } = sides(flags);
  return processRecordsInOrder('img-sign check', records([], 'img-sign check'), async (r) => [await checkRecord(r, policy, src)], jobs(flags));
}

/** runCopy is `img-sign copy`: each record's source signatures are written at its destination. */
export async function runCopy(flags: ParsedArgs, args: string[]): Promise<number> {
  if (args.length > 0) throw usage('img-sign copy reads records on stdin (after img-manifest put)');
  const s = sides(flags);
  return processRecordsInOrder('img-sign copy', records([], 'img-sign copy'), async (r) => [await copyRecordSignatures(r, s.src, s.dest)], jobs(flags));
}

/** runSignStage is `img-sign sign --sign-by FPR`: each record's destination image gets a new signature. */
export async function runSignStage(flags: ParsedArgs, args: string[]): Promise<number> {
  if (args.length > 0 || flags.output !== undefined) throw usage('img-sign sign --sign-by reads records on stdin; it takes no MANIFEST, reference or --output');
  const keyIdentity = String(flags['sign-by']);
  if (keyIdentity === '') throw usage('--sign-by needs a key fingerprint');
  const pf = flags['passphrase-file'];
  const passphrase = pf === undefined ? undefined : await readPassphraseFile(String(pf)).catch((e) => Promise.reject(wrap(e, 'reading the passphrase file')));
  const { dest } = sides(flags);
  // One record at a time: gpg-agent may have to ask for the passphrase once.
  return processRecordsInOrder('img-sign sign', records([], 'img-sign sign'), async (r) => [await signRecord(r, { keyIdentity, passphrase, destTopts: dest })], 1);
}

/** The signature and policy flags of img-copy and img-sync, as skopeo names them. */
export const SIGNATURE_FLAGS = {
  string: ['sign-by', 'sign-passphrase-file', 'policy', 'registries.d'],
  boolean: ['remove-signatures', 'insecure-policy'],
};

export const SIGNATURE_HELP = `signatures and trust policy (stages of img-sign):
  --policy FILE                policy.json for img-sign check (default ~/.config/containers/policy.json,
                               then /etc/containers/policy.json; none found is an error, as in skopeo)
  --insecure-policy            leave out img-sign check: any source is accepted
  --remove-signatures          leave out img-sign copy: the source's simple signatures are not carried
  --sign-by FPR                sign each image at DEST (a docker:// destination) with this gpg key
  --sign-passphrase-file FILE  the key's passphrase is the first line of FILE
  --registries.d DIR           registries.d for docker:// lookaside signature storage`;

/** SignatureStages: where img-sign stages go in a copy pipeline (see signatureStages). */
export interface SignatureStages {
  /** img-sign check: right after img-manifest get, before any blob moves. */
  check?: Stage;
  /** img-sign copy for a destination that keeps no signatures: before img-blob-put, so that a signed source is refused before any blob moves. */
  beforeBlobs?: Stage;
  /** img-sign copy and img-sign sign --sign-by, after img-manifest put. */
  afterPut: Stage[];
}

/**
 * signatureStages builds the img-sign stages of img-copy and img-sync from their flags. `destKind`
 * is the destination's transport; `common` are the registry flags every stage gets.
 */
export function signatureStages(flags: ParsedArgs, destKind: string, common: string[]): SignatureStages {
  const rd = registriesDirFlag(flags);
  const shared = [...(rd === undefined ? [] : [`--registries.d=${rd}`]), ...common];
  const out: SignatureStages = { afterPut: [] };
  if (flags['insecure-policy'] !== true) {
    out.check = { command: 'img-sign', args: ['check', ...(flags.policy === undefined ? [] : [`--policy=${String(flags.policy)}`]), ...shared] };
  } else if (flags.policy !== undefined) throw usage('--policy and --insecure-policy exclude each other');
  const keeps = destKind === 'docker' || destKind === 'dir';
  if (flags['remove-signatures'] !== true) {
    const copy: Stage = { command: 'img-sign', args: ['copy', ...shared] };
    if (keeps) out.afterPut.push(copy);
    else out.beforeBlobs = copy;
  }
  if (flags['sign-by'] !== undefined) {
    if (destKind !== 'docker') throw usage('--sign-by needs a docker:// destination (the signature names its docker reference)');
    const pf = flags['sign-passphrase-file'];
    out.afterPut.push({ command: 'img-sign', args: ['sign', `--sign-by=${String(flags['sign-by'])}`, ...(pf === undefined ? [] : [`--passphrase-file=${String(pf)}`]), ...shared] });
  } else if (flags['sign-passphrase-file'] !== undefined) throw usage('--sign-passphrase-file goes with --sign-by');
  return out;
}
