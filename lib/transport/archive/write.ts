import { ImgError, wrap } from '../../errors.js';
import { parseManifest } from '../../oci/manifest.js';
import { formatRef, parseRef } from '../../ref/index.js';
import { isArchiveWriter } from '../capabilities.js';
import { openTransport, type TransportOptions } from '../index.js';
import type { StoredManifest, Transport } from '../types.js';

/**
 * writeArchive writes the images `images` name (each `{ref, name?}`: a source reference and the
 * name it gets in the archive) into the archive `dest` (`oci-archive:PATH[:NAME]`,
 * `docker-archive:PATH[:REF]`), in one pass: every blob streamed from its source, verified, then
 * index.json / manifest.json. Nothing appears at PATH unless all of it succeeded.
 */
export async function writeArchive(dest: string, images: { ref: string; name?: string }[], topts: TransportOptions = {}): Promise<void> {
  const target = openTransport(dest, topts);
  if (!isArchiveWriter(target)) throw new ImgError('USAGE', `${dest} is not an archive (oci-archive: or docker-archive:)`);
  try {
    for (const img of images) {
      const ref = formatRef(parseRef(img.ref));
      const source = openTransport(ref, topts);
      let image: { manifest: StoredManifest; children?: StoredManifest[] };
      try {
        const manifest = await source.getManifest();
        image = { manifest, children: await childrenOf(source, manifest) };
      } catch (e) {
        throw wrap(e, `fetching manifest ${ref}`, ref);
      }
      try {
        await target.addImage(image, source, img.name);
      } catch (e) {
        throw wrap(e, `writing ${ref} to ${target.name}`, ref);
      }
    }
    await target.finish();
  } catch (e) {
    await target.abort();
    throw e;
  }
}

/** childrenOf fetches every manifest an index names, depth first (none for an image manifest). */
async function childrenOf(source: Transport, m: StoredManifest, depth = 0): Promise<StoredManifest[]> {
  const parsed = parseManifest(m.bytes, source.name, m.mediaType);
  if (parsed.kind !== 'index') return [];
  if (depth > 4) throw new ImgError('MANIFEST_INVALID', `${source.name}: indexes nested more than 4 deep`);
  const out: StoredManifest[] = [];
  for (const d of parsed.manifest.manifests) {
    const c = await source.getManifest(d.digest);
    out.push(...(await childrenOf(source, c, depth + 1)), c);
  }
  return out;
}
