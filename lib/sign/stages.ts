/**
 * img-sign's pipeline stages on records: `check` (policy.json on the source, before any blob
 * moves), `copy` (the source's simple signatures to the destination) and `sign --sign-by` (a new
 * signature at the destination). Each works on one record and throws the reason it refuses one;
 * records whose status says "pass me by" (exists, planned) are returned untouched.
 */
import { ImgError, wrap } from '../errors.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import type { ImageRecord } from '../oci/record.js';
import { checkPolicy } from '../policy/evaluate.js';
import { imageScopes } from '../policy/load.js';
import type { Policy } from '../policy/parse.js';
import { imageDockerReference, requirementsFor } from '../policy/scope.js';
import { formatRef, parseRef, type ImageRef } from '../ref/index.js';
import { requireString } from '../cli/records.js';
import { manifestAt } from '../image/manifests.js';
import { canStoreFormattedSignatures, canStoreSignatures } from '../transport/capabilities.js';
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import type { FormattedSignature } from './signature-blob.js';
import { signManifest } from './standalone.js';
import { signingTarget } from './target.js';
import { putDestSigstore, sourceSigstoreSignatures } from './sigstore/stages.js';

/** passBy says whether an earlier stage marked the record as nothing to do (decision 9). */
export function passBy(r: ImageRecord): boolean {
  return r.status === 'exists' || r.status === 'planned';
}

/** isSourceChild: the record is an instance of an index at its source (--all child, or the image picked by --multi-arch system). */
const isSourceChild = (r: ImageRecord) => typeof r.parent === 'string' || typeof r.index === 'string';

/** sourceSignatures reads the simple signatures of the source manifest `digest`; a transport that keeps none has none. */
async function sourceSignatures(src: Transport, digest: string, child: boolean): Promise<Buffer[]> {
  if (!canStoreSignatures(src)) return [];
  try {
    return await src.getSignatures(digest, { child });
  } catch (e) {
    throw wrap(e, `reading signatures of ${src.name}`);
  }
}

/** checkRecord passes a record whose source `ref` the policy allows, and throws POLICY_DENIED with the reason otherwise. */
export async function checkRecord(rec: ImageRecord, policy: { path: string; policy: Policy }, srcTopts: TransportOptions): Promise<ImageRecord> {
  if (passBy(rec)) return rec;
  const ref = parseRef(requireString(rec, 'ref'));
  const name = formatRef(ref);
  const { requirements, section } = requirementsFor(policy.policy, await imageScopes(ref));
  // insecureAcceptAnything needs nothing of the image: its signatures are not read.
  if (requirements.length > 0 && requirements.every((r) => r.type === 'insecureAcceptAnything')) return rec;
  const digest = requireString(rec, 'digest');
  const manifest = Buffer.from(requireString(rec, 'raw'), 'utf8');
  if (digestOf(manifest, parseDigest(digest).algorithm) !== digest) throw new ImgError('DIGEST_MISMATCH', `record for ${name}: "raw" does not have digest ${digest}`);
  const signatures = await sourceSignatures(openTransport(ref, srcTopts), digest, isSourceChild(rec));
  // Sigstore attachments are read only for a sigstoreSigned requirement (and, as containers/image, only where registries.d turns them on).
  const sigstore = requirements.some((r) => r.type === 'sigstoreSigned') ? await sourceSigstoreSignatures(ref, digest, srcTopts, isSourceChild(rec)) : undefined;
  try {
    await checkPolicy(requirements, { name, dockerReference: imageDockerReference(ref), manifest, signatures, sigstoreSignatures: sigstore?.signatures });
  } catch (e) {
    if (e instanceof ImgError && (e.code === 'POLICY_DENIED' || e.code === 'SIGNATURE_INVALID')) {
      const note = sigstore && 'notRead' in sigstore ? ` (${sigstore.notRead})` : '';
      throw new ImgError('POLICY_DENIED', `source image ${name} rejected by ${policy.path} (${section}): ${e.message}${note}`, { ref: name, cause: e });
    }
    throw wrap(e, `checking ${name} against ${policy.path}`, name);
  }
  return rec;
}

/**
 * copyRecordSignatures copies the signatures of the record's source to its destination, for the
 * manifest the record names: simple signatures, and sigstore ones (the `.sig` attachment of a
 * docker:// source where registries.d turns attachments on for it; a dir: source's sigstore
 * `signature-N` files). A dir: destination gets both kinds in the source's order. The source's current digest is asked for
 * again (a HEAD on a registry), so that a converted manifest or a tag moved since is caught:
 * signatures that would not verify at the destination are refused (SIGNATURE_INVALID), as is a
 * destination that cannot keep them (UNSUPPORTED: no simple signatures, or sigstore attachments
 * not turned on for it); both say to use --remove-signatures. No signatures: nothing to do.
 */
export async function copyRecordSignatures(rec: ImageRecord, srcTopts: TransportOptions, destTopts: TransportOptions): Promise<ImageRecord> {
  if (passBy(rec)) return rec;
  const srcRef = parseRef(requireString(rec, 'ref'));
  const src = openTransport(srcRef, srcTopts);
  const destName = formatRef(parseRef(requireString(rec, 'dest')));
  const digest = requireString(rec, 'digest');
  // oci:, oci-archive: and docker-archive: sources keep no signatures: nothing to carry.
  if (!canStoreSignatures(src)) return rec;
  const child = isSourceChild(rec);
  const srcDigest = child ? digest : (await manifestAt(src).catch((e) => Promise.reject(wrap(e, `fetching manifest ${src.name}`))))?.digest;
  if (srcDigest === undefined) throw new ImgError('MANIFEST_UNKNOWN', `no manifest at ${src.name} any more`);
  const all = await sourceAllSignatures(src, srcRef, srcDigest, child, srcTopts);
  const sigs = all.flatMap((s) => (s.format === 'simple-signing' ? [s.blob] : []));
  const sigstore = all.flatMap((s) => (s.format === 'sigstore-json' ? [s.sigstore] : []));
  if (all.length === 0) return rec;
  const count = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const n = [sigs.length > 0 ? count(sigs.length, 'signature') : '', sigstore.length > 0 ? count(sigstore.length, 'sigstore signature') : ''].filter(Boolean).join(' and ');
  if (srcDigest !== digest) {
    throw new ImgError('SIGNATURE_INVALID', `${src.name} has digest ${srcDigest}, ${destName} gets ${digest}: its ${n} would not verify there (copy with --remove-signatures)`);
  }
  const destRef = parseRef(destName);
  const dest = openTransport(destRef, destTopts);
  const destChild = typeof rec.parent === 'string';
  // dir: keeps both kinds in one ordered list, as the source gave them.
  if (canStoreFormattedSignatures(dest)) {
    await dest.putSignaturesWithFormat(digest, all, { child: destChild }).catch((e) => Promise.reject(wrap(e, `writing signatures to ${destName}`)));
    return rec;
  }
  if (sigs.length > 0 && !canStoreSignatures(dest)) throw new ImgError('UNSUPPORTED', `cannot copy ${n} of ${src.name} to ${destName}: it keeps no simple signatures (copy with --remove-signatures)`);
  // Sigstore first, as containers/image: a destination that refuses them gets neither kind.
  if (sigstore.length > 0) await putDestSigstore(destRef, digest, sigstore, destTopts, `copy ${n} of ${src.name} to`, ' (copy with --remove-signatures)');
  if (sigs.length > 0 && canStoreSignatures(dest)) {
    await dest.putSignatures(digest, sigs, { child: destChild }).catch((e) => Promise.reject(wrap(e, `writing signatures to ${destName}`)));
  }
  return rec;
}

/**
 * sourceAllSignatures reads every signature of the source manifest `digest`, in containers/image's
 * order: dir: its `signature-N` files as they are numbered; docker:// the lookaside's simple
 * signatures, then the attachment's sigstore ones (where registries.d turns them on).
 */
async function sourceAllSignatures(src: Transport, srcRef: ImageRef, digest: string, child: boolean, srcTopts: TransportOptions): Promise<FormattedSignature[]> {
  if (canStoreFormattedSignatures(src)) return src.getSignaturesWithFormat(digest, { child }).catch((e) => Promise.reject(wrap(e, `reading signatures of ${src.name}`)));
  const simple = await sourceSignatures(src, digest, child);
  const sigstore = (await sourceSigstoreSignatures(srcRef, digest, srcTopts, child)).signatures;
  return [...simple.map((blob): FormattedSignature => ({ format: 'simple-signing', blob })), ...sigstore.map((s): FormattedSignature => ({ format: 'sigstore-json', sigstore: s }))];
}

/** SignOptions: the gpg key, its passphrase (else gpg-agent asks), and the destination's options. */
export interface SignOptions {
  keyIdentity: string;
  passphrase?: string;
  destTopts: TransportOptions;
}

/**
 * signRecord signs the record's destination image (the manifest in `raw`, whose digest must be the
 * record's) as the destination's docker reference, and adds the signature to those the destination
 * has, as skopeo copy --sign-by. With --all each image of an index is signed as well as the index
 * (the check stage reads each one's own signatures).
 */
export async function signRecord(rec: ImageRecord, opts: SignOptions): Promise<ImageRecord> {
  if (passBy(rec)) return rec;
  const child = typeof rec.parent === 'string';
  const { destRef, destName, identity, digest, manifest } = signingTarget(rec);
  const dest = openTransport(destRef, opts.destTopts);
  if (!canStoreSignatures(dest)) throw new ImgError('UNSUPPORTED', `cannot sign ${destName}: it keeps no simple signatures`);
  const sig = await signManifest(manifest, identity, opts.keyIdentity, opts.passphrase).catch((e) => Promise.reject(wrap(e, `signing ${destName}`)));
  const existing = await dest.getSignatures(digest, { child }).catch((e) => Promise.reject(wrap(e, `reading signatures of ${destName}`)));
  await dest.putSignatures(digest, [...existing, sig], { child }).catch((e) => Promise.reject(wrap(e, `writing signatures to ${destName}`)));
  return rec;
}
