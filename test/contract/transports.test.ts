/**
 * The transport contract, run over every transport (as go-containerregistry's validate package
 * runs over its images): blobs are verified while they are written and refused at EOF on a digest
 * or size mismatch, without becoming visible; reads are verified; unknown digests fail with the
 * same error code everywhere; a manifest whose blobs are missing is refused where the transport
 * can tell; each capability a transport declares does what it says. A transport added later gets
 * an entry in TRANSPORTS and nothing else.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { openTransport, type StoredManifest, type Transport } from '../../lib/transport/index.js';
import {
  canDelete,
  canHead,
  canListRepositories,
  canListArchiveTags,
  canListTags,
  canMount,
  canStoreSignatures,
  isArchiveWriter,
  isSingleFormat,
} from '../../lib/transport/capabilities.js';
import { stopAll as stopPodmanServices } from '../../lib/transport/containers-storage/service.js';
import { dockerdUnavailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { podmanStore, podmanUnavailable, type PodmanStore } from '../helpers/podman.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { tarOf } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/run.js';
import { makeSif, sifUnavailable } from '../helpers/sif.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const UNKNOWN = `sha256:${'0'.repeat(64)}`;

/** An image made of bytes alone: a layer (a tar of one file), a config and an OCI manifest naming them. */
function makeImage(seed: string) {
  const layer = tarOf('f', Buffer.from(`layer of ${seed}\n`.repeat(2000)));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const manifest: StoredManifest = { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes) };
  return { layer, config, manifest };
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImgError);
    return (e as ImgError).code;
  }
  return 'no error';
}

/** stored writes an image through the transport's own write path: blobs, then the manifest. */
async function stored(t: Transport, img: ReturnType<typeof makeImage>): Promise<void> {
  for (const b of [img.layer, img.config]) await t.putBlob(Readable.from([b]), { digest: sha256(b), size: b.length });
  await t.putManifest(img.manifest);
}

interface Kind {
  name: string;
  /** a fresh, empty location to write (undefined: the transport is read-only in this interface) */
  fresh?: () => string;
  /** a location that holds `img`, made with the transport's own writer */
  holding: (img: ReturnType<typeof makeImage>) => Promise<string>;
  /** whether putManifest can tell that blobs are missing */
  checksBlobs: boolean;
  /** whether it serves a manifest of its own (Docker schema 2 with uncompressed layers) rather than the bytes written */
  ownManifest?: boolean;
  /** whether it serves an image of its own made from what it holds (a SIF's file system becomes a layer and a config): reads are checked against that image's manifest */
  converts?: boolean;
  /** why it cannot be tested here (its cases are skipped, saying so) */
  unavailable?: string;
}

let registry: Registry;
let dockerd: Dockerd | undefined;
const daemonWhy = dockerdUnavailable();
let store: PodmanStore | undefined;
const podmanWhy = podmanUnavailable();
const sifWhy = sifUnavailable();
let work: string;
let n = 0;
const next = () => `${++n}`;

/** archiveHolding writes `img` into an archive through its ArchiveWriter, from a dir: copy. */
async function archiveHolding(scheme: string, img: ReturnType<typeof makeImage>, tag: string): Promise<string> {
  const src = openTransport(`dir:${join(work, `src-${next()}`)}`);
  await stored(src, img);
  const path = join(work, `a-${next()}.tar`);
  const w = openTransport(`${scheme}:${path}:${tag}`);
  if (!isArchiveWriter(w)) throw new Error(`${scheme}: is not an archive writer`);
  await w.addImage({ manifest: img.manifest }, src);
  await w.finish();
  return `${scheme}:${path}:${tag}`;
}

/** daemonHolding loads `img` into the test's dockerd through the ArchiveWriter of docker-daemon:, from a dir: copy. */
async function daemonHolding(img: ReturnType<typeof makeImage>): Promise<string> {
  const src = openTransport(`dir:${join(work, `src-${next()}`)}`);
  await stored(src, img);
  const ref = `docker-daemon:contract/d${next()}:t`;
  const w = open(ref);
  if (!isArchiveWriter(w)) throw new Error('docker-daemon: is not an archive writer');
  await w.addImage({ manifest: img.manifest }, src);
  await w.finish();
  return ref;
}

/** sifHolding writes a SIF file whose squashfs holds the one file of `img`'s layer. */
async function sifHolding(img: ReturnType<typeof makeImage>): Promise<string> {
  const size = Number.parseInt(img.layer.subarray(124, 135).toString('latin1'), 8);
  const path = join(work, `s-${next()}.sif`);
  makeSif(path, work, { f: { file: img.layer.subarray(512, 512 + size) } });
  return `sif:${path}`;
}

/** storageHolding loads `img` into the test's private podman store through the ArchiveWriter of containers-storage:, from a dir: copy. */
async function storageHolding(img: ReturnType<typeof makeImage>): Promise<string> {
  const src = openTransport(`dir:${join(work, `src-${next()}`)}`);
  await stored(src, img);
  const ref = `containers-storage:[${store!.spec}]contract/s${next()}:t`;
  const w = open(ref);
  if (!isArchiveWriter(w)) throw new Error('containers-storage: is not an archive writer');
  await w.addImage({ manifest: img.manifest }, src);
  await w.finish();
  return ref;
}

const KINDS: Kind[] = [
  {
    name: 'dir:',
    fresh: () => `dir:${join(work, `dir-${next()}`)}`,
    holding: async (img) => withImage(`dir:${join(work, `dir-${next()}`)}`, img),
    checksBlobs: true,
  },
  {
    name: 'oci:',
    fresh: () => `oci:${join(work, `oci-${next()}`)}:img`,
    holding: async (img) => withImage(`oci:${join(work, `oci-${next()}`)}:img`, img),
    checksBlobs: true,
  },
  {
    name: 'docker://',
    fresh: () => `docker://${registry.host}/contract/r${next()}:t`,
    holding: async (img) => withImage(`docker://${registry.host}/contract/r${next()}:t`, img),
    checksBlobs: true,
  },
  { name: 'oci-archive:', holding: (img) => archiveHolding('oci-archive', img, 'img'), checksBlobs: false },
  { name: 'docker-archive:', holding: (img) => archiveHolding('docker-archive', img, 'contract/img:t'), checksBlobs: false, ownManifest: true },
  { name: 'docker-daemon:', holding: daemonHolding, checksBlobs: false, ownManifest: true, ...(daemonWhy ? { unavailable: daemonWhy } : {}) },
  // Written through its ArchiveWriter (podman load); its layers here are uncompressed, so the stored manifest's blobs are all readable.
  { name: 'containers-storage:', holding: storageHolding, checksBlobs: false, ...(podmanWhy ? { unavailable: podmanWhy } : {}) },
  // Read only (no fresh location): a SIF file converted into an OCI image with one layer.
  { name: 'sif:', holding: sifHolding, checksBlobs: false, converts: true, ...(sifWhy ? { unavailable: sifWhy } : {}) },
];

const topts = () => ({ registry: { tlsVerify: false, credentials: {} }, ...(dockerd ? { daemonHost: dockerd.host } : {}) });
const open = (ref: string) => openTransport(ref, topts());

async function withImage(ref: string, img: ReturnType<typeof makeImage>): Promise<string> {
  await stored(open(ref), img);
  return ref;
}

beforeAll(async () => {
  work = tempDir('imgpipe-contract-');
  mkdirSync(work, { recursive: true });
  [registry, dockerd] = await Promise.all([
    startRegistry({ configure: (c) => (c.storage.delete = { enabled: true }) }),
    daemonWhy ? undefined : startDockerd(),
  ]);
  if (!podmanWhy) store = podmanStore(join(work, 'store'));
}, 90_000);
afterAll(async () => {
  await Promise.all([registry?.stop(), dockerd?.stop(), stopPodmanServices()]);
}, 60_000);

describe.each(KINDS)('transport contract: $name', (kind) => {
  if (kind.unavailable) {
    it.skip(`skipped: ${kind.unavailable}`, () => undefined);
    return;
  }

  it('reads back what it holds, and verifies what it reads', async () => {
    const img = makeImage(`read ${kind.name}`);
    const t = open(await kind.holding(img));
    const m = await t.getManifest();
    // docker-archive: and docker-daemon: serve a manifest of their own (Docker schema 2); the others serve the bytes written.
    if (!kind.ownManifest && !kind.converts) expect(m.bytes.equals(img.manifest.bytes)).toBe(true);
    expect(m.digest).toBe(sha256(m.bytes));
    expect((await t.getManifest(m.digest)).bytes.equals(m.bytes)).toBe(true);
    // A converting transport's blobs are those its own manifest names.
    const own = kind.converts
      ? (JSON.parse(m.bytes.toString('utf8')) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] })
      : undefined;
    const layer = own ? own.layers[0]! : { digest: sha256(img.layer), size: img.layer.length };
    const config = own ? own.config : { digest: sha256(img.config), size: img.config.length };
    expect(await t.statBlob(layer.digest)).toBe(layer.size);
    const configBytes = await readAll(await t.getBlob(config));
    expect(sha256(configBytes)).toBe(config.digest);
    if (!own) expect(configBytes.equals(img.config)).toBe(true);
    expect(sha256(await readAll(await t.getBlob(layer)))).toBe(layer.digest);
    // Asked for with the wrong size or under another digest, the stream fails at EOF.
    expect(await codeOf(t.getBlob({ digest: config.digest, size: config.size + 1 }).then(readAll))).toBe('SIZE_MISMATCH');
  });

  it('unknown digests: getBlob fails with BLOB_UNKNOWN, statBlob says undefined, getManifest fails with MANIFEST_UNKNOWN', async () => {
    const t = open(await kind.holding(makeImage(`unknown ${kind.name}`)));
    expect(await codeOf(t.getBlob({ digest: UNKNOWN }))).toBe('BLOB_UNKNOWN');
    expect(await t.statBlob(UNKNOWN)).toBeUndefined();
    expect(await codeOf(t.getManifest(UNKNOWN))).toBe('MANIFEST_UNKNOWN');
  });

  it('declares its capabilities truthfully', async () => {
    const img = makeImage(`caps ${kind.name}`);
    const ref = await kind.holding(img);
    const t = open(ref);
    if (canHead(t)) expect((await t.headManifest())?.digest).toBe((await t.getManifest()).digest);
    if (canListTags(t)) expect(await t.listTags()).toContain('t');
    // the names of the whole file (docker-archive:), each a NAME:TAG (or @N for an unnamed image)
    if (canListArchiveTags(t)) expect(await t.listArchiveTags()).toContain('docker.io/contract/img:t');
    if (canListRepositories(t)) expect(await t.listRepositories()).toContain(ref.replace(/^docker:\/\/[^/]+\//, '').replace(/:t$/, ''));
    if (canStoreSignatures(t)) {
      // A simple signature is an OpenPGP message: its first byte is a packet tag (0xa3, compressed data).
      const sig = Buffer.concat([Buffer.from([0xa3, 0x01]), Buffer.from(`signature of ${kind.name}`)]);
      await t.putSignatures(img.manifest.digest, [sig]);
      expect((await t.getSignatures(img.manifest.digest)).map((b) => b.toString('hex'))).toEqual([sig.toString('hex')]);
    }
    if (isSingleFormat(t)) {
      expect(['oci', 'v2s2']).toContain(t.manifestFormat);
      expect((await t.getManifest()).mediaType).toBe(
        t.manifestFormat === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
      );
    }
    if (isArchiveWriter(t)) {
      // An archive is written whole by its writer: blob by blob it refuses, and says so.
      expect(await codeOf(t.putBlob(Readable.from([img.layer])))).toBe('UNSUPPORTED');
      expect(await codeOf(t.putManifest(img.manifest))).toBe('UNSUPPORTED');
    }
    if (!kind.fresh && !isArchiveWriter(t)) {
      // Read only (sif:): every write is refused, saying so, and nothing is touched.
      expect(await codeOf(t.putBlob(Readable.from([img.layer])))).toBe('UNSUPPORTED');
      expect(await codeOf(t.putManifest(img.manifest))).toBe('UNSUPPORTED');
    }
    if (canMount(t)) {
      const other = open(kind.fresh!());
      if (!canMount(other)) throw new Error('the same transport must declare the same capabilities');
      const from = ref.replace(/^docker:\/\/[^/]+\//, '').replace(/:t$/, '');
      expect(await other.mountBlob(sha256(img.layer), from)).toBe(true);
      expect(await other.statBlob(sha256(img.layer))).toBe(img.layer.length);
    }
    if (canDelete(t)) {
      await t.deleteManifest();
      expect(await codeOf(t.getManifest())).toMatch(/^(MANIFEST_UNKNOWN|NAME_UNKNOWN)$/);
      expect(await codeOf(t.getManifest(img.manifest.digest))).toBe('MANIFEST_UNKNOWN');
    }
  });

  describe.runIf(kind.fresh !== undefined)('writing', () => {
    it('putBlob stores a verified blob; without expectations it reports the digest and size it saw', async () => {
      const t = open(kind.fresh!());
      const b = Buffer.from(`blob of ${kind.name}\n`.repeat(5000));
      expect(await t.putBlob(Readable.from([b]), { digest: sha256(b), size: b.length })).toEqual({ digest: sha256(b), size: b.length });
      expect(await t.statBlob(sha256(b))).toBe(b.length);
      expect((await readAll(await t.getBlob({ digest: sha256(b), size: b.length }))).equals(b)).toBe(true);
      const c = Buffer.from(`unannounced blob of ${kind.name}`);
      expect(await t.putBlob(Readable.from([c]))).toEqual({ digest: sha256(c), size: c.length });
      expect(await t.statBlob(sha256(c))).toBe(c.length);
    });

    it('putBlob refuses a digest or size mismatch at EOF, and nothing becomes visible', async () => {
      const t = open(kind.fresh!());
      const b = Buffer.from(`mismatched blob of ${kind.name}\n`.repeat(1000));
      const claimed = sha256(Buffer.from('something else'));
      expect(await codeOf(t.putBlob(Readable.from([b]), { digest: claimed, size: b.length }))).toBe('DIGEST_MISMATCH');
      expect(await t.statBlob(claimed)).toBeUndefined();
      expect(await t.statBlob(sha256(b))).toBeUndefined();
      for (const size of [b.length - 1, b.length + 1]) {
        expect(await codeOf(t.putBlob(Readable.from([b]), { digest: sha256(b), size }))).toBe('SIZE_MISMATCH');
        expect(await t.statBlob(sha256(b))).toBeUndefined();
      }
    });

    it.runIf(kind.checksBlobs)('putManifest refuses a manifest whose blobs are not stored, and stores one whose blobs are', async () => {
      const t = open(kind.fresh!());
      const img = makeImage(`missing ${kind.name}`);
      await t.putBlob(Readable.from([img.config]), { digest: sha256(img.config) });
      expect(await codeOf(t.putManifest(img.manifest))).toBe('MANIFEST_BLOB_UNKNOWN');
      expect(await codeOf(t.getManifest(img.manifest.digest))).toMatch(/^(MANIFEST_UNKNOWN|NAME_UNKNOWN)$/);
      await t.putBlob(Readable.from([img.layer]), { digest: sha256(img.layer) });
      await t.putManifest(img.manifest);
      expect((await t.getManifest()).bytes.equals(img.manifest.bytes)).toBe(true);
    });
  });
});

it('every transport the opener table knows is in the contract suite', async () => {
  const { OPENED_TRANSPORTS } = await import('../../lib/transport/index.js');
  expect([...OPENED_TRANSPORTS].map((t) => (t === 'docker' ? 'docker://' : `${t}:`)).sort()).toEqual(KINDS.map((k) => k.name).sort());
});
