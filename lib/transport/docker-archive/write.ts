import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { repositoryOf, type DockerRef } from '../../ref/index.js';
import { DigestingStream } from '../../stream/verify.js';
import { decompressor } from '../../stream/compression.js';
import { tempPathIn } from '../../util/fs.js';
import { readSourceBlob, SinkHolder, sourceBlob } from '../archive/common.js';
import { MAX_CONFIG_SIZE } from '../archive/reader.js';
import { closeFd, fdReadStream, fdWriteStream, openFd } from '../archive/fd.js';
import { TarSink } from '../archive/sink.js';
import { storedManifest } from '../manifest.js';
import type { StoredManifest, Transport } from '../types.js';
import { legacyLayers } from './legacy.js';
import { compressionOf, diffIDsOf, synthesisedManifest, type DockerManifestItem } from './format.js';

const FILE_MODE = 0o444;

/**
 * DockerArchiveBuilder writes a docker-archive as skopeo 1.9 does: per image, its uncompressed
 * layers as HEX.tar (HEX of the diff ID) and its config as HEX.json in the archive root, then the
 * legacy per-layer directories (ID/layer.tar symlink, ID/VERSION, ID/json) that old `docker load`
 * wants; manifest.json and repositories at finish. Blobs and files shared by several images are
 * written once; an image added twice (same config) gets its tags merged into one manifest.json item.
 */
export class DockerArchiveBuilder {
  private readonly holder: SinkHolder;
  private readonly written = new Set<string>();
  /** Uncompressed size of each layer written, by diff ID. */
  private readonly layerSizes = new Map<string, number>();
  private readonly items: DockerManifestItem[] = [];
  private readonly repositories = new Map<string, Map<string, string>>();

  /** `open` opens where the archive goes (default: the file at `path`; docker-daemon: gives an engine's load request). */
  constructor(
    path: string,
    private readonly name: string,
    open: () => Promise<TarSink> = () => TarSink.open(path),
  ) {
    this.holder = new SinkHolder(open);
  }

  /**
   * addImage writes one image and returns the manifest the archive will serve for it (its digest is
   * what reading it back gives). It is named `tag`, then each of `more` (skopeo's --additional-tag),
   * each name once, in manifest.json's RepoTags and the repositories file alike.
   */
  async addImage(manifest: StoredManifest, source: Transport, tag?: DockerRef, more: readonly DockerRef[] = []): Promise<StoredManifest> {
    // Checks first: a refusal before any byte is written leaves the archive usable.
    const m = storedManifest(manifest.bytes, source.name, manifest.digest, manifest.mediaType);
    if (m.parsed.kind === 'index') {
      throw new ImgError(
        'UNSUPPORTED',
        `cannot write ${source.name} to ${this.name}: it is a multi-platform index and a docker-archive holds single-platform images (pick one platform, e.g. with --platform linux/amd64)`,
        { ref: source.name },
      );
    }
    const config = m.parsed.manifest.config;
    const layers = m.parsed.manifest.layers;
    const configBytes = await readSourceBlob(source, config, MAX_CONFIG_SIZE, 'config');
    const diffIDs = diffIDsOf(configBytes, `config ${config.digest} of ${source.name}`);
    if (diffIDs.length !== layers.length) {
      throw new ImgError(
        'MANIFEST_INVALID',
        `${source.name}: the manifest has ${layers.length} layers but config ${config.digest} has ${diffIDs.length} diff IDs`,
      );
    }
    const configName = `${parseDigest(config.digest).hex}.json`;
    const layerNames = diffIDs.map((d) => `${parseDigest(d).hex}.tar`);
    const tags = [...(tag ? [tag] : []), ...more];

    for (const [i, layer] of layers.entries()) await this.addLayer(layer, diffIDs[i]!, layerNames[i]!, source, i);
    await this.addFile(configName, configBytes);
    const top = await this.addLegacy(diffIDs, configBytes);

    const same = this.items.find((it) => it.Config === configName);
    const item = same ?? { Config: configName, RepoTags: [], Layers: layerNames };
    if (!same) this.items.push(item);
    for (const t of tags) {
      const repoTag = `${repositoryOf(t)}:${t.tag}`;
      if (!item.RepoTags.includes(repoTag)) item.RepoTags.push(repoTag);
      if (!top) continue;
      const repo = repositoryOf(t);
      if (!this.repositories.has(repo)) this.repositories.set(repo, new Map());
      this.repositories.get(repo)!.set(t.tag!, top);
    }
    return synthesisedManifest(
      { digest: config.digest, size: configBytes.length },
      diffIDs.map((d) => ({ diffID: d, size: this.layerSizes.get(d)! })),
    );
  }

  /** addLayer writes one layer uncompressed, checking it against its diff ID. */
  private async addLayer(layer: Descriptor, diffID: string, entry: string, source: Transport, i: number): Promise<void> {
    if (this.written.has(entry)) return;
    await this.holder.run(async (sink) => {
      const { first, stream } = await peek(await sourceBlob(source, layer));
      const kind = compressionOf(first, `layer ${i} (${layer.digest}) of ${source.name}`, source.name);
      if (kind === 'none') {
        if (layer.digest !== diffID) {
          throw new ImgError(
            'DIGEST_MISMATCH',
            `layer ${i} of ${source.name} is uncompressed with digest ${layer.digest}, but the config's diff ID is ${diffID}`,
          );
        }
        await sink.addStream(entry, layer.size, stream, FILE_MODE);
        this.layerSizes.set(diffID, layer.size);
        return;
      }
      // Decompress into an anonymous temp file (unlinked at once: nothing is left after a kill),
      // checking the diff ID, since the tar header needs the uncompressed size before the data.
      const tmp = tempPathIn(tmpdir(), 'layer');
      const fd = await openFd(tmp, 'wx+', 0o600);
      await fsp.rm(tmp, { force: true });
      try {
        const check = new DigestingStream({ digest: diffID }, `layer ${i} (${layer.digest}) of ${source.name} uncompressed, against the config's diff ID`);
        await pipeline(stream, await decompressor(kind), check, fdWriteStream(fd));
        await sink.addStream(entry, check.size, fdReadStream(fd, 0), FILE_MODE);
        this.layerSizes.set(diffID, check.size);
      } finally {
        await closeFd(fd).catch(() => undefined);
      }
    });
    this.written.add(entry);
  }

  private async addFile(name: string, data: Buffer | string): Promise<void> {
    if (this.written.has(name)) return;
    await this.holder.run((sink) => sink.addBuffer(name, data, FILE_MODE));
    this.written.add(name);
  }

  /** addLegacy writes skopeo's legacy layer directories (see legacy.ts) and returns the top layer's ID. */
  private async addLegacy(diffIDs: string[], configBytes: Buffer): Promise<string | undefined> {
    let top: string | undefined;
    for (const [i, l] of legacyLayers(diffIDs, configBytes).entries()) {
      const link = `${l.id}/layer.tar`;
      if (!this.written.has(link)) {
        await this.holder.run((sink) => sink.addSymlink(link, `../${parseDigest(diffIDs[i]!).hex}.tar`));
        this.written.add(link);
      }
      await this.addFile(`${l.id}/VERSION`, '1.0');
      await this.addFile(`${l.id}/json`, l.json);
      top = l.id;
    }
    return top;
  }

  async finish(): Promise<void> {
    // Written by hand, not with JSON.stringify of an object, which would put tags like "10" before "2".
    const obj = (m: Map<string, string>) =>
      `{${[...m.keys()]
        .sort()
        .map((k) => `${JSON.stringify(k)}:${m.get(k)}`)
        .join(',')}}`;
    const repos = obj(new Map([...this.repositories].map(([repo, tags]) => [repo, obj(new Map([...tags].map(([t, id]) => [t, JSON.stringify(id)])))])));
    await this.holder.run(async (sink) => {
      await sink.addBuffer('manifest.json', JSON.stringify(this.items), FILE_MODE);
      await sink.addBuffer('repositories', repos, FILE_MODE);
      await sink.finish();
    });
  }

  abort(): Promise<void> {
    return this.holder.abort();
  }
}

/** peek reads a stream's first chunk (for magic bytes) and gives back a stream of all of it. */
async function peek(src: Readable): Promise<{ first: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head = await it.next();
  const first = head.done ? Buffer.alloc(0) : head.value;
  async function* all(): AsyncGenerator<Buffer> {
    if (!head.done) yield head.value;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { first, stream: Readable.from(all(), { objectMode: false }) };
}
