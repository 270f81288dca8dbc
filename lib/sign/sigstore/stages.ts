/**
 * Sigstore `.sig` attachments in img-sign's record stages (lib/sign/stages.ts): whether registries.d
 * turns them on for a docker:// image, reading a source's, carrying them to a destination, and
 * signing a destination image, as containers/image's docker transport does with
 * use-sigstore-attachments (read from a source only when on for it; writing to a destination where
 * it is off is refused).
 */
import type { KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ImgError, wrap } from '../../errors.js';
import type { ImageRecord } from '../../oci/record.js';
import type { DockerRef } from '../../ref/docker.js';
import { formatRef, type ImageRef } from '../../ref/index.js';
import { canStoreFormattedSignatures } from '../../transport/capabilities.js';
import { openTransport, type TransportOptions } from '../../transport/index.js';
import { loadPrivateKey } from './keys.js';
import { getSigstoreSignatures, putSigstoreSignatures } from './registry.js';
import { createSigstoreSignature, type SigstoreSignature } from './signature.js';
import { signingTarget } from '../target.js';

/** AttachmentConfig: whether registries.d turns on sigstore attachments for an image, and which directory said so. */
export interface AttachmentConfig {
  enabled: boolean;
  registriesDir: string;
}

/** attachmentConfig reads registries.d (--registries.d, else the containers tools' default) for a docker reference's use-sigstore-attachments. */
export async function attachmentConfig(ref: DockerRef, topts: TransportOptions): Promise<AttachmentConfig> {
  const { loadRegistriesD, registriesDirPath, useSigstoreAttachments } = await import('../../transport/registry/registries-d.js');
  const registriesDir = await registriesDirPath(topts.registriesDir);
  return { enabled: useSigstoreAttachments(await loadRegistriesD(registriesDir), ref), registriesDir };
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
  if (src.transport === 'dir') {
    const t = openTransport(src, topts);
    if (!canStoreFormattedSignatures(t)) return { signatures: [], notRead: `${name} keeps no sigstore signatures` };
    const all = await t.getSignaturesWithFormat(digest, { child }).catch((e) => Promise.reject(wrap(e, `reading the signatures of ${name}`)));
    return { signatures: all.flatMap((s) => (s.format === 'sigstore-json' ? [s.sigstore] : [])) };
  }
  if (src.transport !== 'docker') return { signatures: [], notRead: `${name} keeps no sigstore signatures (only docker:// and dir: do)` };
  const cfg = await attachmentConfig(src.docker, topts);
  if (!cfg.enabled) return { signatures: [], notRead: disabledNote(name, cfg) };
  try {
    return { signatures: await getSigstoreSignatures(src.docker, digest, topts) };
  } catch (e) {
    throw wrap(e, `reading the sigstore signatures of ${name}`);
  }
}

/**
 * putDestSigstore adds signatures to the attachment of `digest` at a docker:// destination, where
 * registries.d must turn attachments on (containers/image: "writing sigstore attachments is
 * disabled by configuration"); elsewhere it is UNSUPPORTED. `hint` ends the refusal's message.
 */
export async function putDestSigstore(dest: ImageRef, digest: string, sigs: SigstoreSignature[], topts: TransportOptions, what: string, hint = ''): Promise<void> {
  const name = formatRef(dest);
  if (dest.transport !== 'docker') throw new ImgError('UNSUPPORTED', `cannot ${what} ${name}: it keeps no sigstore signatures (only docker:// and dir: do)${hint}`);
  const cfg = await attachmentConfig(dest.docker, topts);
  if (!cfg.enabled) throw new ImgError('UNSUPPORTED', `cannot ${what} ${name}: writing sigstore attachments is disabled by configuration (registries.d ${cfg.registriesDir} does not set use-sigstore-attachments for it)${hint}`);
  await putSigstoreSignatures(dest.docker, digest, sigs, topts).catch((e) => Promise.reject(wrap(e, `writing the sigstore attachment of ${name}`)));
}

/** loadSigningKey reads and decrypts a sigstore private key file (cosign's format) with its passphrase. */
export async function loadSigningKey(keyFile: string, passphrase: string): Promise<KeyObject> {
  const pem = await fsp.readFile(keyFile).catch((e) => Promise.reject(wrap(e, `reading private key from ${keyFile}`)));
  return loadPrivateKey(pem, passphrase).catch((e) => Promise.reject(wrap(e, `initializing private key ${keyFile}`)));
}

/**
 * signRecordSigstore signs the record's destination image (the manifest in `raw`, whose digest must
 * be the record's) as the destination's docker reference (`:latest` added when there is no tag),
 * and appends the signature to the destination's attachment, as skopeo copy
 * --sign-by-sigstore-private-key. With --all each image of an index is signed as well as the index.
 */
export async function signRecordSigstore(rec: ImageRecord, key: KeyObject, destTopts: TransportOptions): Promise<ImageRecord> {
  const { destRef, identity, digest, manifest } = signingTarget(rec);
  const sig = createSigstoreSignature(manifest, identity, key);
  await putDestSigstore(destRef, digest, [sig], destTopts, 'sign');
  return rec;
}
