/**
 * Reading and writing an image's sigstore attachment (`REPO:sha256-HEX.sig`) through the registry
 * transport's public methods (getManifest, getBlob, putBlob, putManifest), as containers/image's
 * docker transport does with use-sigstore-attachments.
 */
import { Readable } from 'node:stream';
import { ImgError, wrapping } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { parseManifest, type ImageManifest } from '../../oci/manifest.js';
import { MediaType } from '../../oci/mediatype.js';
import { formatDockerRef, type DockerRef } from '../../ref/index.js';
import { dockerImageArg as dockerArg } from '../../ref/args.js';
import { readCapped } from '../../stream/verify.js';
import { openTransport, type Transport, type TransportOptions } from '../../transport/index.js';
import { appendSignatures, attachmentTag } from '../../signature/sigstore/attachment.js';
import type { SigstoreSignature } from '../../signature/sigstore/signature.js';

/** Attachment configs and signature payloads larger than this are refused (containers/image's limits: 4 MiB). */
const MAX_ATTACHMENT_BLOB = 4 * 1024 * 1024;

/** attachmentRef names the attachment of `manifestDigest` in the repository of `image`. */
export function attachmentRef(image: DockerRef, manifestDigest: string): DockerRef {
  return { domain: image.domain, path: image.path, tag: attachmentTag(manifestDigest) };
}

function openAttachment(image: DockerRef, manifestDigest: string, topts: TransportOptions): Transport {
  return openTransport(`docker://${formatDockerRef(attachmentRef(image, manifestDigest))}`, topts);
}

async function readBlob(t: Transport, d: { digest: string; size: number }, what: string): Promise<Buffer> {
  if (d.size > MAX_ATTACHMENT_BLOB) throw new ImgError('TOO_LARGE', `${what} is ${d.size} bytes, over the ${MAX_ATTACHMENT_BLOB}-byte limit`);
  return readCapped(await t.getBlob(d), MAX_ATTACHMENT_BLOB, what);
}

/** readAttachment returns the attachment manifest, or undefined when the registry has none; it must be an OCI image manifest. */
async function readAttachment(t: Transport): Promise<ImageManifest | undefined> {
  let stored: Awaited<ReturnType<Transport['getManifest']>>;
  try {
    stored = await t.getManifest();
  } catch (e) {
    if (e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN')) return undefined;
    throw e;
  }
  if (stored.mediaType !== MediaType.ociManifest)
    throw new ImgError('MANIFEST_INVALID', `unexpected MIME type for sigstore attachment manifest ${t.name}: ${JSON.stringify(stored.mediaType)}`);
  const parsed = parseManifest(stored.bytes, t.name, stored.mediaType);
  if (parsed.kind !== 'image') throw new ImgError('MANIFEST_INVALID', `sigstore attachment manifest ${t.name} is not an image manifest`);
  return parsed.manifest;
}

/**
 * getSigstoreSignatures reads the sigstore signatures attached to the manifest `manifestDigest` of
 * `image` (a docker reference, normalised): one per attachment layer, payloads digest-verified;
 * [] when there is no attachment.
 */
export async function getSigstoreSignatures(image: DockerRef, manifestDigest: string, topts: TransportOptions = {}): Promise<SigstoreSignature[]> {
  const t = openAttachment(image, manifestDigest, topts);
  const m = await readAttachment(t);
  if (!m) return [];
  const out: SigstoreSignature[] = [];
  for (const [i, layer] of m.layers.entries()) {
    const payload = await readBlob(t, layer, `sigstore attachment ${i + 1}/${m.layers.length} (${layer.digest})`);
    out.push({ mimeType: layer.mediaType, payload, annotations: { ...(layer.annotations ?? {}) } });
  }
  return out;
}

/**
 * putSigstoreSignatures attaches signatures to the manifest `manifestDigest` of `image`: a new
 * attachment, or the existing one with the new signatures appended (those already there are not
 * added twice). Blobs are stored before the manifest. Returns how many were added.
 */
export async function putSigstoreSignatures(
  image: DockerRef,
  manifestDigest: string,
  sigs: SigstoreSignature[],
  topts: TransportOptions = {},
): Promise<number> {
  const t = openAttachment(image, manifestDigest, topts);
  const existing = await readAttachment(t);
  const config = existing ? await readBlob(t, existing.config, `sigstore attachment config ${existing.config.digest}`) : undefined;
  const update = appendSignatures(existing && config ? { manifest: existing, config } : undefined, sigs);
  // Every signature is there already: the attachment stays as it is.
  if (existing && update.added === 0) return 0;
  for (const b of update.blobs) {
    await wrapping(t.putBlob(Readable.from([b.bytes]), { digest: b.digest, size: b.size }), `writing blob ${b.digest}`);
  }
  await t.putManifest({ bytes: update.manifest, mediaType: MediaType.ociManifest, digest: digestOf(update.manifest, 'sha256') });
  return update.added;
}

/** dockerImageArg reads a DOCKER-REF argument: `docker://REF` or a bare reference; normalised, no tag added. */
export function dockerImageArg(arg: string): DockerRef {
  return dockerArg(arg, 'sigstore attachments are kept in registries');
}
