/**
 * Sigstore `.sig` attachments in img-sign's record stages (lib/sign/stages.ts): whether registries.d
 * turns them on for a docker:// image, reading a source's, carrying them to a destination, and
 * signing a destination image, as containers/image's docker transport does with
 * use-sigstore-attachments (read from a source only when on for it; writing to a destination where
 * it is off is refused).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ImgError, wrap, wrapping } from '../../errors.js';
import type { ImageRecord } from '../../oci/record.js';
import type { DockerRef } from '../../ref/docker.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { canStoreFormattedSignatures } from '../../transport/capabilities.js';
import { openTransport, sigstoreAttachmentsFor, transportTraits, type TransportOptions } from '../../transport/index.js';
import { imageDockerReference } from '../../ref/policy.js';
import { loadPrivateKey } from '../../signature/sigstore/keys.js';
import { getSigstoreSignatures, putSigstoreSignatures } from './registry.js';
import { createSigstoreSignature, digestRule, verifySigstoreSignature, type SigstoreSignature } from '../../signature/sigstore/signature.js';
import { invalidSignature } from '../../signature/simple.js';
import { namesTarget, signingManifest, signingTarget, type SigningTarget } from '../target.js';

/** AttachmentConfig: whether registries.d turns on sigstore attachments for an image, and which directory said so. */
export interface AttachmentConfig {
  enabled: boolean;
  registriesDir: string;
}

/** attachmentConfig reads registries.d (--registries.d, else the containers tools' default) for a docker reference's use-sigstore-attachments. */
export async function attachmentConfig(ref: DockerRef, topts: TransportOptions): Promise<AttachmentConfig> {
  return sigstoreAttachmentsFor(ref, topts.registriesDir);
}

/** disabledNote says why an image's attachments are not read or written. */
export function disabledNote(name: string, cfg: AttachmentConfig): string {
  return `sigstore attachments of ${name} are not used: registries.d ${cfg.registriesDir} does not set use-sigstore-attachments for it`;
}

/**
 * SourceSigstore: a source's sigstore signatures (docker://: the layers of its attachment for
 * `digest`; dir: its sigstore `signature-N` files), or why none were read: the other transports
 * keep none, and docker:// only where registries.d turns attachments on.
 */
export type SourceSigstore = { signatures: SigstoreSignature[] } | { signatures: []; notRead: string };

/** sourceSigstoreSignatures reads the sigstore signatures of the source manifest `digest` (`child`: an index's child, for dir:), as containers/image's GetSignaturesWithFormat. */
export async function sourceSigstoreSignatures(src: ImageRef, digest: string, topts: TransportOptions, child = false): Promise<SourceSigstore> {
  const name = formatRef(src);
  const kept = transportTraits(src).sigstore;
  if (kept === 'files') {
    const t = openTransport(src, topts);
    if (!canStoreFormattedSignatures(t)) return { signatures: [], notRead: `${name} keeps no sigstore signatures` };
    const all = await wrapping(t.getSignaturesWithFormat(digest, { child }), `reading the signatures of ${name}`);
    return { signatures: all.flatMap((s) => (s.format === 'sigstore-json' ? [s.sigstore] : [])) };
  }
  const docker = kept === 'attachments' ? imageDockerReference(src) : undefined;
  if (docker === undefined) return { signatures: [], notRead: `${name} keeps no sigstore signatures (only docker:// and dir: do)` };
  const cfg = await attachmentConfig(docker, topts);
  if (!cfg.enabled) return { signatures: [], notRead: disabledNote(name, cfg) };
  try {
    return { signatures: await getSigstoreSignatures(docker, digest, topts) };
  } catch (e) {
    throw wrap(e, `reading the sigstore signatures of ${name}`);
  }
}

/**
 * destAttachments checks that a destination can take sigstore signatures: docker://, with registries.d
 * turning attachments on for it (containers/image: "writing sigstore attachments is disabled by
 * configuration"); elsewhere it is UNSUPPORTED. `hint` ends the refusal's message.
 */
export async function destAttachments(dest: ImageRef, topts: TransportOptions, what: string, hint = ''): Promise<DockerRef> {
  const name = formatRef(dest);
  const docker = transportTraits(dest).sigstore === 'attachments' ? imageDockerReference(dest) : undefined;
  if (docker === undefined) throw new ImgError('UNSUPPORTED', `cannot ${what} ${name}: it keeps no sigstore signatures (only docker:// and dir: do)${hint}`);
  const cfg = await attachmentConfig(docker, topts);
  if (!cfg.enabled)
    throw new ImgError(
      'UNSUPPORTED',
      `cannot ${what} ${name}: writing sigstore attachments is disabled by configuration (registries.d ${cfg.registriesDir} does not set use-sigstore-attachments for it)${hint}`,
    );
  return docker;
}

/**
 * putDestSigstore adds signatures to the attachment of `digest` at a docker:// destination (see
 * destAttachments for where); those already there are not added twice.
 */
export async function putDestSigstore(
  dest: ImageRef,
  digest: string,
  sigs: SigstoreSignature[],
  topts: TransportOptions,
  what: string,
  hint = '',
): Promise<void> {
  const docker = await destAttachments(dest, topts, what, hint);
  await wrapping(putSigstoreSignatures(docker, digest, sigs, topts), `writing the sigstore attachment of ${formatRef(dest)}`);
}

/** loadSigningKey reads and decrypts a sigstore private key file (cosign's format) with its passphrase. */
export async function loadSigningKey(keyFile: string, passphrase: string): Promise<KeyObject> {
  const pem = await wrapping(fsp.readFile(keyFile), `reading private key from ${keyFile}`);
  return wrapping(loadPrivateKey(pem, passphrase), `initializing private key ${keyFile}`);
}

/** SigstoreSigner: a decrypted private key and the public key derived from it (to recognise its signatures). */
export interface SigstoreSigner {
  key: KeyObject;
  publicKey: KeyObject;
}

/** sigstoreSigner derives the public key of a private key. */
export function sigstoreSigner(key: KeyObject): SigstoreSigner {
  return { key, publicKey: createPublicKey(key) };
}

/**
 * signRecordSigstore signs the record's destination image as the destination's docker reference
 * (`:latest` added when there is no tag) and appends the signature to the destination's attachment,
 * as skopeo copy --sign-by-sigstore-private-key: also when the destination had the image already
 * (status `exists`; a record without `raw` has its manifest fetched from the destination). A
 * signature already in the attachment that verifies with the signer's public key and names this
 * reference and digest is enough: none is added then. With --all each image of an index is signed
 * as well as the index. Dry-run records (`planned`) are passed by.
 */
export async function signRecordSigstore(rec: ImageRecord, signer: SigstoreSigner, destTopts: TransportOptions, identity?: string): Promise<ImageRecord> {
  if (rec.status === 'planned') return rec;
  const t = signingTarget(rec, identity);
  if (transportTraits(t.destRef).sigstore === 'files') return signInFiles(rec, t, signer, destTopts);
  const docker = await destAttachments(t.destRef, destTopts, 'sign');
  const manifest = await signingManifest(rec, t, destTopts);
  const existing = await getSigstoreSignatures(docker, t.digest, destTopts).catch((e) =>
    Promise.reject(wrap(e, `reading the sigstore attachment of ${t.destName}`)),
  );
  if (existing.some((s) => signedByKey(s, signer, t, manifest))) return rec;
  const sig = createSigstoreSignature(manifest, t.identity, signer.key);
  await wrapping(putSigstoreSignatures(docker, t.digest, [sig], destTopts), `writing the sigstore attachment of ${t.destName}`);
  return rec;
}

/**
 * signInFiles signs for a destination that keeps sigstore signatures with its simple ones
 * (FormattedSignatureStore: dir:, which has no docker reference of its own, so only with
 * --sign-identity): appended to the list, unless one by this key for this identity and digest is there.
 */
async function signInFiles(rec: ImageRecord, t: SigningTarget, signer: SigstoreSigner, destTopts: TransportOptions): Promise<ImageRecord> {
  const dest = openTransport(t.destRef, destTopts);
  if (!canStoreFormattedSignatures(dest)) throw new ImgError('UNSUPPORTED', `cannot sign ${t.destName}: it keeps no sigstore signatures`);
  const manifest = await signingManifest(rec, t, destTopts);
  const where = { child: t.child };
  const all = await wrapping(dest.getSignaturesWithFormat(t.digest, where), `reading signatures of ${t.destName}`);
  if (all.some((s) => s.format === 'sigstore-json' && signedByKey(s.sigstore, signer, t, manifest))) return rec;
  const sig = createSigstoreSignature(manifest, t.identity, signer.key);
  await wrapping(dest.putSignaturesWithFormat(t.digest, [...all, { format: 'sigstore-json', sigstore: sig }], where), `writing signatures to ${t.destName}`);
  return rec;
}

/** signedByKey says whether an attachment's signature verifies with the signer's public key and names the target's reference and the manifest's digest. */
function signedByKey(sig: SigstoreSignature, signer: SigstoreSigner, t: SigningTarget, manifest: Buffer): boolean {
  try {
    verifySigstoreSignature([signer.publicKey], sig, {
      checkDigest: digestRule(manifest),
      checkReference: (ref) => {
        if (!namesTarget(ref, t)) throw invalidSignature(`signature for identity ${JSON.stringify(ref)} is not for ${t.identity}`);
      },
    });
    return true;
  } catch (e) {
    if (e instanceof ImgError && e.code === 'SIGNATURE_INVALID') return false;
    throw e;
  }
}
