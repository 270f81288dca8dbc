/** What a policy requirement is checked against (evaluate.ts, signed-by.ts, sigstore-signed.ts), and how it refuses an image. */
import { ImgError } from '../errors.js';
import type { DockerRef } from '../ref/docker.js';
import type { SigstoreSignature } from '../signature/sigstore/signature.js';

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
export function rejected(reason: string): ImgError {
  return new ImgError('POLICY_DENIED', reason);
}
