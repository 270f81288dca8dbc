import type { IncomingMessage } from 'node:http';
import { ImgError } from '../../errors.js';
import type { SinkOutput } from '../archive/sink.js';
import { readJSON } from '../engine/client.js';
import { openUpload } from '../engine/upload.js';
import type { PodmanService } from './service.js';
import type { StoreLocation } from './store.js';

/** How long a small call (a lookup, a tag, the store's location) may wait for its answer: a store locked by another process holds podman up. */
const CALL_TIMEOUT_MS = Number(process.env.IMGPIPE_PODMAN_CALL_TIMEOUT_MS) || 120_000;

/** What GET /libpod/images/{name}/json says of an image (the parts imgpipe reads). */
export interface ImageInfo {
  /** the image ID: 64 hex digits (the config's digest for images that podman and skopeo store) */
  Id: string;
  /** the digest of the manifest stored with the image (what `podman images --digests` shows) */
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  ManifestType?: string;
}

const hex64 = /^[a-f0-9]{64}$/;

function locked(svc: PodmanService, what: string) {
  return (e: unknown): never => {
    if (e instanceof ImgError && e.code === 'TIMEOUT') {
      throw new ImgError(
        'TIMEOUT',
        `${svc.client.label.at} did not answer ${what} within ${CALL_TIMEOUT_MS / 1000} s: is ${svc.store} locked by another process (a pull, a build)? Try again when it is done`,
      );
    }
    throw e;
  };
}

/** image looks an image up by name, NAME@DIGEST or ID; undefined when the store has none. */
export async function imageInfo(svc: PodmanService, name: string): Promise<ImageInfo | undefined> {
  let gone = false;
  const doc = (await svc.client
    .getJSON(
      `/images/${name}/json`,
      `to look up ${name}`,
      () => {
        gone = true;
        return new ImgError('MANIFEST_UNKNOWN', 'no such image');
      },
      CALL_TIMEOUT_MS,
    )
    .catch((e: unknown) => (gone ? undefined : locked(svc, `the lookup of ${name}`)(e)))) as Partial<Record<keyof ImageInfo, unknown>> | undefined;
  if (doc === undefined) return undefined;
  if (typeof doc.Id !== 'string' || !hex64.test(doc.Id.replace(/^sha256:/, '')))
    throw new ImgError('HTTP', `${svc.client.label.at} gave no image ID for ${name}`);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    Id: doc.Id.replace(/^sha256:/, ''),
    Digest: typeof doc.Digest === 'string' ? doc.Digest : '',
    RepoTags: strings(doc.RepoTags),
    RepoDigests: strings(doc.RepoDigests),
    ...(typeof doc.ManifestType === 'string' ? { ManifestType: doc.ManifestType } : {}),
  };
}

/** storeLocation asks the service where its store is (GET /libpod/info), for the read-only reads of store.ts. */
export async function storeLocation(svc: PodmanService): Promise<StoreLocation | undefined> {
  const doc = (await svc.client.getJSON('/info', 'GET /libpod/info', undefined, CALL_TIMEOUT_MS).catch(locked(svc, 'GET /libpod/info'))) as {
    store?: { graphRoot?: unknown; runRoot?: unknown; graphDriverName?: unknown };
  };
  const s = doc?.store;
  if (typeof s?.graphRoot !== 'string' || typeof s.graphDriverName !== 'string') return undefined;
  return { graphRoot: s.graphRoot, driver: s.graphDriverName, ...(typeof s.runRoot === 'string' ? { runRoot: s.runRoot } : {}) };
}

/** save asks for `podman save --format docker-archive` of an image by ID: uncompressed layers named by diff ID, and the config as stored. */
export function save(svc: PodmanService, id: string, what: string): Promise<IncomingMessage> {
  return svc.client.get(`/images/${id}/get?format=docker-archive`, `to save ${what}`);
}

/**
 * openLoad starts POST /libpod/images/load: the archive written to the returned stream is the
 * request body. podman reads the whole body into a temp file (in its TMPDIR) before it loads
 * anything, so a body cut before its end loads nothing. The answer is {"Names": [...]}.
 */
export async function openLoad(svc: PodmanService, target: string): Promise<SinkOutput & { answer: Promise<string[]> }> {
  return openUpload(svc.client, '/images/load', { refused: `the load of ${target} (POST /libpod/images/load)`, target }, async (res) => {
    const doc = (await readJSON(res, svc.client.label, `the load of ${target}`)) as { Names?: unknown };
    return Array.isArray(doc?.Names) ? doc.Names.filter((n): n is string => typeof n === 'string') : [];
  });
}

/** tag names an image REPO:TAG (POST /libpod/images/{id}/tag); the name moves from any image that had it. */
export async function tag(svc: PodmanService, id: string, repo: string, tagName: string): Promise<void> {
  const q = `repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tagName)}`;
  const res = await svc.client
    .call('POST', `/images/${id}/tag?${q}`, `to tag image ${id} as ${repo}:${tagName}`, [200, 201], CALL_TIMEOUT_MS)
    .catch(locked(svc, `the tag of ${id}`));
  res.resume();
}

/**
 * removeImage is `podman rmi NAME` (DELETE /libpod/images/{name}), never forced: by NAME:TAG the name
 * goes, and the image with it when that was its last name; by ID the image goes, refused while it
 * has several names. An image a container uses is refused either way.
 */
export async function removeImage(svc: PodmanService, name: string): Promise<void> {
  const res = await svc.client
    .call('DELETE', `/images/${name}`, `to remove ${name}`, [200], CALL_TIMEOUT_MS)
    .catch(locked(svc, `the removal of ${name}`))
    .catch((e: unknown) => {
      if (e instanceof ImgError && e.code !== 'TIMEOUT')
        throw new ImgError(
          e.code,
          `${e.message}; imgpipe never forces a removal (podman rmi --force would also remove containers): remove the other names or the containers first`,
          { cause: e },
        );
      throw e;
    });
  const doc = (await readJSON(res, svc.client.label, `the removal of ${name}`)) as { Errors?: unknown };
  const errors = Array.isArray(doc?.Errors) ? doc.Errors.filter((x) => typeof x === 'string' && x !== '') : [];
  if (errors.length > 0) throw new ImgError('HTTP', `${svc.client.label.at} did not remove ${name}: ${errors.join('; ')}`);
}
