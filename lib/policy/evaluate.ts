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
