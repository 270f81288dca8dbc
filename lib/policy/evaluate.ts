/**
 * Policy evaluation for one image, as containers/image's IsRunningImageAllowed: every requirement
 * of the applicable list must accept the image. signedBy checks simple signatures with a fresh
 * keyring of the policy's keys (signed-by.ts); sigstoreSigned checks sigstore signatures with the
 * policy's public keys (sigstore-signed.ts); Fulcio, PKI and Rekor, and signedBaseLayer, are refused
 * as not supported.
 */
import { ImgError } from '../errors.js';
import { rejected, type PolicyImage } from './image.js';
import type { Requirement } from './parse.js';
import { checkSignedBy } from './signed-by.js';
import { checkSigstoreSigned } from './sigstore-signed.js';

/**
 * checkPolicy resolves if every requirement accepts the image, and throws POLICY_DENIED with the
 * first reason otherwise. With `requireSigned` (skopeo's --require-signed, containers/image's
 * RequireSignatureVerification) one of the requirements must also have verified a signature
 * (signedBy, sigstoreSigned): insecureAcceptAnything alone, or signedBaseLayer, is not enough.
 */
export async function checkPolicy(requirements: Requirement[], image: PolicyImage, opts: { requireSigned?: boolean } = {}): Promise<void> {
  if (requirements.length === 0) throw rejected('policy requirements list is empty');
  for (const req of requirements) await checkRequirement(req, image);
  if (opts.requireSigned && !requirements.some(verifiesSignatures)) throw rejected(`No signature verification policy found for image ${image.name}`);
}

/** verifiesSignatures says whether a requirement that accepted an image verified a signature of it (containers/image's verifiesSignatures). */
export function verifiesSignatures(req: Requirement): boolean {
  return req.type === 'signedBy' || req.type === 'sigstoreSigned';
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
