import { ImgError } from '../../errors.js';
import type { Descriptor, ParsedManifest } from '../../oci/manifest.js';
import { storedManifest } from '../manifest.js';

/** How deep nested indexes are followed (an index of indexes of …) before the layout is refused. */
const MAX_DEPTH = 8;

/** ReadManifest reads a manifest of the layout by digest; undefined when there is no such blob. */
export type ReadManifest = (digest: string) => Promise<Buffer | undefined>;

/**
 * blobsOf adds to `out` every blob an index.json entry keeps alive, as containers/image's
 * countBlobsForDescriptor counts them: the manifest itself, its config and layers (foreign ones
 * too: kept when stored); for an index, each child manifest and its blobs, nested indexes
 * followed. A manifest that is not there counts as itself (nothing can be read below it); one that
 * is there but is no image manifest or index imgpipe reads is an error naming it, for what it
 * keeps alive cannot be told.
 */
export async function blobsOf(desc: Descriptor, read: ReadManifest, out: Set<string>, what: string, depth = 0): Promise<Set<string>> {
  if (out.has(desc.digest)) return out;
  out.add(desc.digest);
  const bytes = await read(desc.digest);
  if (bytes === undefined) return out;
  let parsed: ParsedManifest;
  try {
    parsed = storedManifest(bytes, desc.digest, desc.digest).parsed;
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `cannot tell which blobs ${what} uses: manifest ${desc.digest}: ${(e as Error).message}`);
  }
  if (parsed.kind === 'image') {
    for (const d of [parsed.manifest.config, ...parsed.manifest.layers]) out.add(d.digest);
    return out;
  }
  if (depth >= MAX_DEPTH) throw new ImgError('MANIFEST_INVALID', `cannot tell which blobs ${what} uses: its indexes nest deeper than ${MAX_DEPTH} levels`);
  for (const child of parsed.manifest.manifests) await blobsOf(child, read, out, what, depth + 1);
  return out;
}

/**
 * unusedAfterDelete lists the blobs that removing entry `at` of index.json leaves unused: those the
 * entry keeps alive (blobsOf) that no other entry does, as containers/image's DeleteImage finds them
 * (its use counts of the whole index less the image's). `name` says how an entry is named in errors.
 */
export async function unusedAfterDelete(entries: readonly Descriptor[], at: number, read: ReadManifest, name: (i: number) => string): Promise<string[]> {
  const mine = await blobsOf(entries[at]!, read, new Set(), name(at));
  const kept = new Set<string>();
  for (const [i, d] of entries.entries()) if (i !== at) await blobsOf(d, read, kept, name(i));
  return [...mine].filter((d) => !kept.has(d));
}
