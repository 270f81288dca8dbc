import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { convertManifest, formatOf } from '../../oci/convert.js';
import { layerCompressionOf, layerMediaType } from '../../oci/compression.js';
import { digestOf } from '../../oci/digest.js';
import { parseManifest, type Descriptor } from '../../oci/manifest.js';
import { compressor } from '../../stream/compression.js';
import { DigestingStream } from '../../stream/verify.js';
import { tempPathIn } from '../../util/fs.js';
import type { StoredManifest, Transport } from '../types.js';
import { sourceBlob } from './common.js';
import { closeFd, fdReadStream, fdWriteStream, openFd } from './fd.js';

/**
 * compressedLayers gzips the layers of an image whose source holds them uncompressed, for an archive
 * that stores them compressed (oci-archive:): each layer into an anonymous temp file (unlinked at
 * once, so nothing is left after a kill), digested on the way. It returns the manifest naming them
 * as stored (the config is untouched), a source that serves them from the temp files (and the rest
 * from `source`), and close(), which lets the files go; undefined for an index or an image with no
 * such layer.
 */
export async function compressedLayers(
  m: StoredManifest,
  source: Transport,
): Promise<{ manifest: StoredManifest; source: Transport; close(): Promise<void> } | undefined> {
  const parsed = parseManifest(m.bytes, source.name, m.mediaType);
  if (parsed.kind !== 'image') return undefined;
  const layers = parsed.manifest.layers.filter((l) => layerCompressionOf(l.mediaType) !== undefined);
  if (layers.length === 0) return undefined;
  const files = new Map<string, { fd: number; size: number }>();
  const done = new Map<string, Descriptor>();
  const close = async () => {
    for (const f of files.values()) await closeFd(f.fd).catch(() => undefined);
  };
  try {
    for (const l of layers) {
      if (done.has(l.digest)) continue;
      const tmp = tempPathIn(tmpdir(), 'layer');
      const fd = await openFd(tmp, 'wx+', 0o600);
      await fsp.rm(tmp, { force: true });
      const check = new DigestingStream({}, `layer ${l.digest} of ${source.name} compressed`);
      files.set(l.digest, { fd, size: 0 });
      await pipeline(await sourceBlob(source, l), await compressor('gzip'), check, fdWriteStream(fd));
      files.set(l.digest, { fd, size: check.size });
      done.set(l.digest, { ...l, mediaType: layerMediaType(l.mediaType, 'gzip'), digest: check.digest!, size: check.size });
    }
    const edited = { ...parsed, manifest: { ...parsed.manifest, layers: parsed.manifest.layers.map((l) => done.get(l.digest) ?? l) } };
    const out = convertManifest(edited, formatOf(parsed.mediaType), source.name);
    const byNew = new Map([...done].map(([old, d]) => [d.digest, files.get(old)!]));
    const served: Transport = {
      name: source.name,
      getManifest: (d) => source.getManifest(d),
      putManifest: (x, o) => source.putManifest(x, o),
      statBlob: async (d) => byNew.get(d)?.size ?? source.statBlob(d),
      putBlob: (data, e) => source.putBlob(data, e),
      getBlob: async (b) => {
        const f = byNew.get(b.digest);
        return f ? (fdReadStream(f.fd, 0) as Readable) : source.getBlob(b);
      },
    };
    return { manifest: { ...out, digest: digestOf(out.bytes) }, source: served, close };
  } catch (e) {
    await close();
    throw e;
  }
}
