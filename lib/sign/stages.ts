/**
 * img-sign's pipeline stages on records: `check` (policy.json on the source, before any blob
 * moves), `copy` (the source's signatures to the destination) and `sign --sign-by` (a new
 * signature at the destination). Each works on one record and throws the reason it refuses one.
 * Dry-run records (status `planned`) are returned untouched. Records whose destination had the
 * image already (status `exists`) are worked on as the others, as skopeo copies and signs an image
 * the destination has: only what is missing there is written, never a second copy of a signature.
 */
import { ImgError, wrap, wrapping } from '../errors.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { requireString, type ImageRecord } from '../oci/record.js';
import { checkPolicy } from '../policy/evaluate.js';
import { imageScopes } from '../policy/load.js';
import type { Policy } from '../policy/parse.js';
import { imageDockerReference, requirementsFor } from '../policy/scope.js';
import { formatRef, parseRef, type ImageRef } from '../ref/index.js';
import { manifestAt } from '../image/manifests.js';
import { canStoreFormattedSignatures, canStoreSignatures, isDigestAddressed } from '../transport/capabilities.js';
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import { gpgExportPublicKeys, gpgSign, gpgVerify, withPublicKeys } from '../signature/gpg.js';
import { signatureBlob, type FormattedSignature } from '../transport/signature-blob.js';
import { manifestMatchesDigest, parsePayload } from '../signature/simple.js';
import { signManifest } from '../signature/standalone.js';
import { namesTarget, signingManifest, signingTarget, type SigningTarget } from './target.js';
import { putDestSigstore, sourceSigstoreSignatures } from './sigstore/stages.js';

/**
 * passBy says whether an earlier stage marked the record as a plan only (`--dry-run`: status
 * `planned`), which no stage acts on. Status `exists` (the destination has the manifest, decision 9)
 * is passed by img-blob-put and img-manifest put, but not by these stages: the source is still
 * checked against the policy, its signatures still carried and the image still signed, as skopeo
 * does.
 */
export function passBy(r: ImageRecord): boolean {
  return r.status === 'planned';
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
export async function checkRecord(
  rec: ImageRecord,
  policy: { path: string; policy: Policy },
  srcTopts: TransportOptions,
  opts: { requireSigned?: boolean } = {},
): Promise<ImageRecord> {
  if (passBy(rec)) return rec;
  const ref = parseRef(requireString(rec, 'ref'));
  const name = formatRef(ref);
  const { requirements, section } = requirementsFor(policy.policy, await imageScopes(ref));
  // insecureAcceptAnything needs nothing of the image: its signatures are not read.
  // With --require-signed that is a refusal, which checkPolicy gives.
  if (!opts.requireSigned && requirements.length > 0 && requirements.every((r) => r.type === 'insecureAcceptAnything')) return rec;
  const digest = requireString(rec, 'digest');
  const src = openTransport(ref, srcTopts);
  const manifest = await sourceManifest(rec, src, digest, name);
  const signatures = await sourceSignatures(src, digest, isSourceChild(rec));
  // Sigstore attachments are read only for a sigstoreSigned requirement (and, as containers/image, only where registries.d turns them on).
  const sigstore = requirements.some((r) => r.type === 'sigstoreSigned')
    ? await sourceSigstoreSignatures(ref, digest, srcTopts, isSourceChild(rec))
    : undefined;
  try {
    await checkPolicy(
      requirements,
      { name, dockerReference: imageDockerReference(ref), manifest, signatures, sigstoreSignatures: sigstore?.signatures },
      { requireSigned: opts.requireSigned === true },
    );
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
 * sourceManifest is the source manifest a record names: its `raw`, which MUST have the record's
 * digest, or, for a record that carries none (status `exists` from `img-manifest get
 * --missing-at-dest`), the one the source has now, which must still have that digest.
 */
async function sourceManifest(rec: ImageRecord, src: Transport, digest: string, name: string): Promise<Buffer> {
  const { algorithm } = parseDigest(digest);
  if (typeof rec.raw === 'string' && rec.raw !== '') {
    const manifest = Buffer.from(rec.raw, 'utf8');
    if (digestOf(manifest, algorithm) !== digest) throw new ImgError('DIGEST_MISMATCH', `record for ${name}: "raw" does not have digest ${digest}`);
    return manifest;
  }
  // A registry serves any manifest by digest; the others are read by their reference (an index's child by digest).
  const byDigest = isDigestAddressed(src) || isSourceChild(rec);
  const stored = await wrapping(byDigest ? src.getManifest(digest) : src.getManifest(), `fetching manifest ${name}`, name);
  if (digestOf(stored.bytes, algorithm) !== digest)
    throw new ImgError('DIGEST_MISMATCH', `${name} has changed: its manifest is ${stored.digest}, not ${digest}`, { ref: name });
  return stored.bytes;
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
 * The destination's own signatures are kept, and a source signature it has already (the same
 * bytes) is not added again, so a destination that had the image (status `exists`) gets what it
 * lacks, and a re-run adds nothing.
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
  // A child is named by its digest; an image img-manifest get found at the destination already
  // (status exists, no manifest) carries the digest the source has: neither is looked up again.
  const known = child || (rec.status === 'exists' && rec.raw === undefined);
  const srcDigest = known ? digest : (await wrapping(manifestAt(src), `fetching manifest ${src.name}`))?.digest;
  if (srcDigest === undefined) throw new ImgError('MANIFEST_UNKNOWN', `no manifest at ${src.name} any more`);
  const all = await sourceAllSignatures(src, srcRef, srcDigest, child, srcTopts);
  const sigs = all.flatMap((s) => (s.format === 'simple-signing' ? [s.blob] : []));
  const sigstore = all.flatMap((s) => (s.format === 'sigstore-json' ? [s.sigstore] : []));
  if (all.length === 0) return rec;
  // the record says how many went along (imgpipe copy prints skopeo's "Storing signatures" for them)
  const carried: ImageRecord = { ...rec, signatures: all.length };
  const count = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const n = [sigs.length > 0 ? count(sigs.length, 'signature') : '', sigstore.length > 0 ? count(sigstore.length, 'sigstore signature') : '']
    .filter(Boolean)
    .join(' and ');
  if (srcDigest !== digest) {
    throw new ImgError(
      'SIGNATURE_INVALID',
      `${src.name} has digest ${srcDigest}, ${destName} gets ${digest}: its ${n} would not verify there (copy with --remove-signatures)`,
    );
  }
  const destRef = parseRef(destName);
  const dest = openTransport(destRef, destTopts);
  const destChild = typeof rec.parent === 'string';
  // dir: keeps both kinds in one ordered list, as the source gave them.
  if (canStoreFormattedSignatures(dest)) {
    const there = await wrapping(dest.getSignaturesWithFormat(digest, { child: destChild }), `reading signatures of ${destName}`);
    const held = there.map(signatureBlob);
    const missing = all.filter((s) => !held.some((b) => b.equals(signatureBlob(s))));
    if (missing.length === 0) return carried;
    await dest
      .putSignaturesWithFormat(digest, [...there, ...missing], { child: destChild })
      .catch((e) => Promise.reject(wrap(e, `writing signatures to ${destName}`)));
    return carried;
  }
  if (sigs.length > 0 && !canStoreSignatures(dest))
    throw new ImgError('UNSUPPORTED', `cannot copy ${n} of ${src.name} to ${destName}: it keeps no simple signatures (copy with --remove-signatures)`);
  // Sigstore first, as containers/image: a destination that refuses them gets neither kind.
  if (sigstore.length > 0) await putDestSigstore(destRef, digest, sigstore, destTopts, `copy ${n} of ${src.name} to`, ' (copy with --remove-signatures)');
  if (sigs.length > 0 && canStoreSignatures(dest)) {
    const there = await wrapping(dest.getSignatures(digest, { child: destChild }), `reading signatures of ${destName}`);
    const missing = sigs.filter((s) => !there.some((b) => b.equals(s)));
    if (missing.length > 0) await wrapping(dest.putSignatures(digest, [...there, ...missing], { child: destChild }), `writing signatures to ${destName}`);
  }
  return carried;
}

/**
 * sourceAllSignatures reads every signature of the source manifest `digest`, in containers/image's
 * order: dir: its `signature-N` files as they are numbered; docker:// the lookaside's simple
 * signatures, then the attachment's sigstore ones (where registries.d turns them on).
 */
async function sourceAllSignatures(
  src: Transport,
  srcRef: ImageRef,
  digest: string,
  child: boolean,
  srcTopts: TransportOptions,
): Promise<FormattedSignature[]> {
  if (canStoreFormattedSignatures(src)) return wrapping(src.getSignaturesWithFormat(digest, { child }), `reading signatures of ${src.name}`);
  const simple = await sourceSignatures(src, digest, child);
  const sigstore = (await sourceSigstoreSignatures(srcRef, digest, srcTopts, child)).signatures;
  return [
    ...simple.map((blob): FormattedSignature => ({ format: 'simple-signing', blob })),
    ...sigstore.map((s): FormattedSignature => ({ format: 'sigstore-json', sigstore: s })),
  ];
}

/** GpgSigner: a gpg key checked to sign, the primary key it signs for, and a keyring holding only its public keys. */
export interface GpgSigner {
  /** The key as the user named it (--sign-by). */
  keyIdentity: string;
  passphrase?: string;
  /** Fingerprint of the primary key of the key gpg signs with. */
  primaryFingerprint: string;
  /** A temporary GNUPGHOME with the public keys that keyIdentity names, to verify existing signatures in. */
  homedir: string;
}

/** PROBE is what withGpgSigner signs to check the key; the signature is thrown away. */
const PROBE = Buffer.from('imgpipe: checking the signing key\n');

/**
 * withGpgSigner checks the gpg key before any record is read: it signs a probe, so that a wrong
 * passphrase or a key missing from the keyring fails at once, also when every image turns out to be
 * signed already. The probe's signature says which key gpg signs with. fn runs with a temporary
 * keyring that holds only the key's public keys (removed afterwards): existing signatures are
 * verified there, so the user's keyring and its key servers are not involved.
 */
export async function withGpgSigner<T>(keyIdentity: string, passphrase: string | undefined, fn: (signer: GpgSigner) => Promise<T>): Promise<T> {
  const probe = await gpgSign(PROBE, keyIdentity, passphrase);
  const publicKeys = await gpgExportPublicKeys(keyIdentity);
  return withPublicKeys([publicKeys], async (homedir) => {
    const v = await wrapping(gpgVerify(probe, homedir), `checking the signing key ${keyIdentity}`);
    return fn({ keyIdentity, passphrase, primaryFingerprint: v.primaryKeyIdentity, homedir });
  });
}

/** SignOptions: the checked gpg key (withGpgSigner), the destination's options, and the identity to sign for (--sign-identity; else the destination's reference). */
export interface SignOptions {
  signer: GpgSigner;
  destTopts: TransportOptions;
  identity?: string;
}

/**
 * signRecord signs the record's destination image as the destination's docker reference (or
 * --sign-identity, which lets a dir: destination be signed too) and adds
 * the signature to those the destination has, as skopeo copy --sign-by: also when the destination
 * had the image already (status `exists`; a record without `raw` has its manifest fetched from the
 * destination). A signature there by the same key (its primary key) for this reference and digest
 * is enough: none is added then, so a re-run adds no duplicate. With --all each image of an index
 * is signed as well as the index (the check stage reads each one's own signatures). Dry-run records
 * (`planned`) are passed by.
 */
export async function signRecord(rec: ImageRecord, opts: SignOptions): Promise<ImageRecord> {
  if (passBy(rec)) return rec;
  const t = signingTarget(rec, opts.identity);
  const dest = openTransport(t.destRef, opts.destTopts);
  if (!canStoreSignatures(dest)) throw new ImgError('UNSUPPORTED', `cannot sign ${t.destName}: it keeps no simple signatures`);
  const manifest = await signingManifest(rec, t, opts.destTopts);
  const where = { child: t.child };
  // A destination that keeps both kinds in one list (dir:) keeps its sigstore signatures too.
  const all = canStoreFormattedSignatures(dest)
    ? await wrapping(dest.getSignaturesWithFormat(t.digest, where), `reading signatures of ${t.destName}`)
    : (await wrapping(dest.getSignatures(t.digest, where), `reading signatures of ${t.destName}`)).map(
        (blob): FormattedSignature => ({ format: 'simple-signing', blob }),
      );
  for (const s of all) if (s.format === 'simple-signing' && (await signedByKey(s.blob, opts.signer, t, manifest))) return rec;
  const { keyIdentity, passphrase } = opts.signer;
  const sig = await wrapping(signManifest(manifest, t.identity, keyIdentity, passphrase), `signing ${t.destName}`);
  const put = canStoreFormattedSignatures(dest)
    ? dest.putSignaturesWithFormat(t.digest, [...all, { format: 'simple-signing', blob: sig }], where)
    : dest.putSignatures(t.digest, [...all.flatMap((s) => (s.format === 'simple-signing' ? [s.blob] : [])), sig], where);
  await wrapping(put, `writing signatures to ${t.destName}`);
  return rec;
}

/**
 * signedByKey says whether a simple signature was made by the signer's key (the same primary key)
 * and names the target's reference and the manifest's digest. A signature gpg does not accept
 * (another key, expired, tampered) or whose payload is not readable does not count.
 */
async function signedByKey(sig: Buffer, signer: GpgSigner, t: SigningTarget, manifest: Buffer): Promise<boolean> {
  try {
    const v = await gpgVerify(sig, signer.homedir);
    if (v.primaryKeyIdentity.toUpperCase() !== signer.primaryFingerprint.toUpperCase()) return false;
    const payload = parsePayload(v.content);
    return manifestMatchesDigest(manifest, payload.dockerManifestDigest) && namesTarget(payload.dockerReference, t);
  } catch (e) {
    if (e instanceof ImgError && (e.code === 'SIGNATURE_INVALID' || e.code === 'DIGEST_INVALID')) return false;
    throw e;
  }
}
