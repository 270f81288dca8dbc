/**
 * The sigstoreSigned policy requirement, as containers/image's prSigstoreSigned: accepted when one
 * of the image's sigstore signatures verifies with one of the policy's public keys (keyPath,
 * keyPaths, keyData, keyDatas) and its digest and identity are accepted. Fulcio, PKI and Rekor
 * verification are not implemented and refused with UNSUPPORTED.
 */
import { promises as fsp } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { ImgError, wrap, wrapping } from '../errors.js';
import { loadPublicKey } from '../signature/sigstore/keys.js';
import { digestRule, SIGSTORE_SIGNATURE_MIME_TYPE, verifySigstoreSignature } from '../signature/sigstore/signature.js';
import { matchesSignedIdentity } from './identity.js';
import { rejected, type PolicyImage } from './image.js';
import type { Requirement } from './parse.js';

type SigstoreSigned = Extract<Requirement, { type: 'sigstoreSigned' }>;

async function policyKeys(req: SigstoreSigned): Promise<KeyObject[]> {
  const datas: { pem: Uint8Array; what: string }[] = [];
  if (req.keyData) datas.push({ pem: req.keyData, what: 'keyData' });
  for (const [i, d] of (req.keyDatas ?? []).entries()) datas.push({ pem: d, what: `keyDatas[${i}]` });
  const paths = req.keyPath !== undefined ? [req.keyPath] : (req.keyPaths ?? []);
  for (const p of paths) datas.push({ pem: await wrapping(fsp.readFile(p), 'reading the policy keys'), what: p });
  return datas.map(({ pem, what }) => {
    try {
      return loadPublicKey(pem);
    } catch (e) {
      throw wrap(e, `sigstoreSigned public key ${what}`);
    }
  });
}

/** checkSigstoreSigned resolves when the requirement accepts the image, else throws POLICY_DENIED with the reason (or UNSUPPORTED). */
export async function checkSigstoreSigned(req: SigstoreSigned, image: PolicyImage): Promise<void> {
  if (req.fulcio)
    throw new ImgError('UNSUPPORTED', 'sigstoreSigned with fulcio is not supported by imgpipe (only public keys: keyPath, keyPaths, keyData, keyDatas)');
  if (req.pki)
    throw new ImgError('UNSUPPORTED', 'sigstoreSigned with pki is not supported by imgpipe (only public keys: keyPath, keyPaths, keyData, keyDatas)');
  if (req.rekorPublicKeyPath || req.rekorPublicKeyPaths || req.rekorPublicKeyData || req.rekorPublicKeyDatas) {
    throw new ImgError('UNSUPPORTED', 'sigstoreSigned with a Rekor public key is not supported by imgpipe (Rekor SETs are not checked)');
  }
  const all = image.sigstoreSignatures ?? [];
  const sigs = all.filter((s) => s.mimeType === SIGSTORE_SIGNATURE_MIME_TYPE);
  const others = all.length - sigs.length;
  if (sigs.length === 0) {
    const nonSigstore = image.signatures.length;
    throw rejected(
      nonSigstore === 0 && others === 0
        ? 'a signature was required, but no signature exists'
        : `a signature was required, but no signature exists (${nonSigstore} non-sigstore signatures, ${others} sigstore non-signature attachments)`,
    );
  }
  // As containers/image: the keys are read only once there is a signature to check.
  const keys = await policyKeys(req);
  if (keys.length === 0) throw rejected('no public keys in the sigstoreSigned requirement');
  const reasons: string[] = [];
  for (const sig of sigs) {
    try {
      verifySigstoreSignature(keys, sig, {
        checkDigest: digestRule(image.manifest),
        checkReference: (ref) => {
          if (!matchesSignedIdentity(req.signedIdentity, image.dockerReference, ref))
            throw rejected(`signature for identity ${JSON.stringify(ref)} is not accepted`);
        },
      });
      return;
    } catch (e) {
      if (!(e instanceof ImgError) || e.code === 'USAGE' || e.code === 'UNSUPPORTED') throw e;
      reasons.push(e.message);
    }
  }
  throw rejected(reasons.length === 1 ? reasons[0]! : `none of the signatures were accepted, reasons: ${reasons.join('; ')}`);
}
