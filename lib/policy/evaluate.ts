/**
 * Policy evaluation for one image, as containers/image's IsRunningImageAllowed: every requirement
 * of the applicable list must accept the image. signedBy checks simple signatures with a fresh
 * keyring of the policy's keys; sigstoreSigned checks sigstore signatures with the policy's public
 * keys (lib/signature/sigstore); Fulcio, PKI and Rekor, and signedBaseLayer, are refused as not supported.
 */
import { promises as fsp } from 'node:fs';
import { ImgError, wrap } from '../errors.js';
import type { DockerRef } from '../ref/docker.js';
import { gpgVerify, withPublicKeys } from '../signature/gpg.js';
import { manifestMatchesDigest, parsePayload } from '../signature/simple.js';
import { acceptedKeyIdentity } from '../signature/standalone.js';
import { checkSigstoreSigned } from '../sign/sigstore/policy.js';
import type { SigstoreSignature } from '../signature/sigstore/signature.js';
import { matchesSignedIdentity } from './identity.js';
import type { Requirement } from './parse.js';

/** PolicyImage: what evaluation needs to know of an image. */
export interface PolicyImage {
  /** For messages: the image as the user named it. */
  name: string;
  /** The docker reference it is known by (none for dir: and oci: images). */
  dockerReference: DockerRef | undefined;
  manifest: Uint8Array;
  /** Its simple signatures (binary OpenPGP messages). */
  signatures: Uint8Array[];
  /** Its sigstore signatures (the layers of its `.sig` attachment); undefined when not read. */
  sigstoreSignatures?: SigstoreSignature[];
}

/** rejected is the error for an image the policy does not allow; the message gives the reason. */
function rejected(reason: string): ImgError {
  return new ImgError('POLICY_DENIED', reason);
}

/** checkPolicy resolves if every requirement accepts the image, and throws POLICY_DENIED with the first reason otherwise. */
export async function checkPolicy(requirements: Requirement[], image: PolicyImage): Promise<void> {
  if (requirements.length === 0) throw rejected('policy requirements list is empty');
  for (const req of requirements) await checkRequirement(req, image);
}

async function checkRequirement(req: Requirement, image: PolicyImage): Promise<void> {
  switch (req.type) {
    case 'insecureAcceptAnything':
      return;
    case 'reject':
      throw rejected(`running image ${image.name} is rejected by policy`);
    case 'signedBy':
      return checkSignedBy(req, image);
    case 'signedBaseLayer':
      throw new ImgError('UNSUPPORTED', 'the signedBaseLayer requirement is not implemented (as in containers/image)');
    case 'sigstoreSigned':
      return checkSigstoreSigned(req, image);
  }
}

async function keyBlobs(req: Extract<Requirement, { type: 'signedBy' }>): Promise<Uint8Array[]> {
  if (req.keyData) return [req.keyData];
  const paths = req.keyPath !== undefined ? [req.keyPath] : (req.keyPaths ?? []);
  return Promise.all(paths.map((p) => fsp.readFile(p).catch((e) => Promise.reject(wrap(e, 'reading the policy keys')))));
}

async function checkSignedBy(req: Extract<Requirement, { type: 'signedBy' }>, image: PolicyImage): Promise<void> {
  if (req.keyType !== 'GPGKeys') throw new ImgError('UNSUPPORTED', `unimplemented keyType value ${JSON.stringify(req.keyType)}`);
  const blobs = await keyBlobs(req);
  await withPublicKeys(blobs, async (homedir, trusted) => {
    if (trusted.length === 0) throw rejected('no public keys imported');
    if (image.signatures.length === 0) throw rejected('a signature was required, but no signature exists');
    const reasons: string[] = [];
    for (const sig of image.signatures) {
      try {
        const v = await gpgVerify(sig, homedir);
        acceptedKeyIdentity(v, trusted);
        const payload = parsePayload(v.content);
        if (!manifestMatchesDigest(image.manifest, payload.dockerManifestDigest)) throw rejected(`signature for digest ${payload.dockerManifestDigest} does not match`);
        if (!matchesSignedIdentity(req.signedIdentity, image.dockerReference, payload.dockerReference)) {
          throw rejected(`signature for identity ${JSON.stringify(payload.dockerReference)} is not accepted`);
        }
        return;
      } catch (e) {
        if (!(e instanceof ImgError) || !['POLICY_DENIED', 'SIGNATURE_INVALID', 'UNSUPPORTED'].includes(e.code)) throw e;
        reasons.push(e.message);
      }
    }
    throw rejected(reasons.length === 1 ? reasons[0]! : `none of the signatures were accepted, reasons: ${reasons.join('; ')}`);
  });
}
