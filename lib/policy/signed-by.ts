/**
 * The signedBy policy requirement, as containers/image's prSignedBy: accepted when one of the
 * image's simple signatures verifies with a fresh keyring of the policy's GPG keys (keyPath,
 * keyPaths, keyData) and its digest and identity are accepted.
 */
import { promises as fsp } from 'node:fs';
import { ImgError, wrapping } from '../errors.js';
import { gpgVerify, withPublicKeys } from '../signature/gpg.js';
import { manifestMatchesDigest, parsePayload } from '../signature/simple.js';
import { acceptedKeyIdentity } from '../signature/standalone.js';
import { matchesSignedIdentity } from './identity.js';
import { rejected, type PolicyImage } from './image.js';
import type { Requirement } from './parse.js';

async function keyBlobs(req: Extract<Requirement, { type: 'signedBy' }>): Promise<Uint8Array[]> {
  if (req.keyData) return [req.keyData];
  const paths = req.keyPath !== undefined ? [req.keyPath] : (req.keyPaths ?? []);
  return Promise.all(paths.map((p) => wrapping(fsp.readFile(p), 'reading the policy keys')));
}

/** checkSignedBy resolves when the requirement accepts the image, else throws POLICY_DENIED with the reason (or UNSUPPORTED). */
export async function checkSignedBy(req: Extract<Requirement, { type: 'signedBy' }>, image: PolicyImage): Promise<void> {
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
        if (!manifestMatchesDigest(image.manifest, payload.dockerManifestDigest))
          throw rejected(`signature for digest ${payload.dockerManifestDigest} does not match`);
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
