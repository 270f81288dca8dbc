import { isDeepStrictEqual } from 'node:util';
import { ImgError, wrap } from '../errors.js';
import { isIndexType } from '../oci/mediatype.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { formatPlatform } from '../oci/platform.js';
import { manifestOfRecord, type ImageRecord } from '../oci/record.js';
import { formatRef, parseRef } from '../ref/index.js';
import { openTransport, type Transport, type TransportOptions } from '../transport/index.js';
import type { StoredManifest } from '../transport/types.js';
import { canDelete, canHead, hasLayersForCopy, isArchiveWriter } from '../transport/capabilities.js';
import type { Platform } from '../oci/manifest.js';
import { chooseInstance, hostPlatform, imageOf, readConfig } from './inspect.js';
import { Limiter } from '../util/limiter.js';

/** Child manifests of an index fetched at once by get --all. */
const CHILD_FETCHES = 8;

export type MultiArch = 'system' | 'all' | 'index-only';

export interface GetOptions {
  /** For an index, emit every child (depth first, with platform and parent) before the index. Same as multiArch "all". */
  all?: boolean;
  /**
   * What to take from an index, as skopeo copy --multi-arch means it: "system" the one image for
   * this machine (or the one `platforms` names) as a record of its own, "all" every child then the
   * index, "index-only" the index alone. Unset: the manifest as it is (an index alone).
   */
  multiArch?: MultiArch;
  /** Platforms to take from an index. One: that image (as "system"). Several: those children, then the index edited to list only them. */
  platforms?: Platform[];
  /** Add the parsed image config of each image manifest as `config`. */
  config?: boolean;
  /** Look the record's `dest` up first: when it holds the same manifest, emit one record with status "exists" that later stages pass by. */
  missingAtDest?: boolean;
}

type Mode = 'as-is' | 'system' | 'all' | 'subset';

function modeOf(opts: GetOptions): Mode {
  const platforms = opts.platforms ?? [];
  const multi = opts.all ? 'all' : opts.multiArch;
  if (multi === 'index-only' && platforms.length > 0) throw new ImgError('USAGE', '--platform cannot be used with --multi-arch index-only');
  if (platforms.length > 1 || (platforms.length === 1 && multi === 'all')) return 'subset';
  if (platforms.length === 1 || multi === 'system') return 'system';
  return multi === 'all' ? 'all' : 'as-is';
}

/**
 * getManifestRecords reads the manifest a record's `ref` names and returns it as records, each with
 * digest, mediaType, size, manifest and raw: for an index, what `multiArch`/`platforms` select
 * (children first, each with platform and parent). With `missingAtDest` a record whose `dest`
 * already holds the same top-level manifest comes back alone, with status "exists".
 */
export async function getManifestRecords(
  rec: ImageRecord,
  opts: GetOptions = {},
  topts: TransportOptions = {},
  destTopts: TransportOptions = topts,
): Promise<ImageRecord[]> {
  const ref = formatRef(parseRef(requireRef(rec)));
  const mode = modeOf(opts);
  const src = openTransport(ref, topts);
  let destDigest: string | undefined;
  /** other manifests the destination holds under that reference too (ManifestHead's `also`) */
  let atDestToo = new Set<string>();
  if (opts.missingAtDest) {
    if (typeof rec.dest !== 'string' || rec.dest === '')
      throw new ImgError('RECORD_INVALID', `record for ${ref} has no "dest" for --missing-at-dest (add one with img-ref --to or --dest)`);
    const dest = formatRef(parseRef(rec.dest));
    // Both sides at once: a HEAD on the source can settle it without fetching anything, unless an image must be picked from an index.
    const srcHead = canHead(src) && mode !== 'subset';
    const [atDest, head] = await Promise.allSettled([manifestAt(openTransport(dest, destTopts)), srcHead ? src.headManifest() : Promise.resolve(undefined)]);
    if (atDest.status === 'rejected') throw wrap(atDest.reason, `checking manifest ${dest}`, dest);
    destDigest = atDest.value?.digest;
    if (atDest.value) atDestToo = new Set(atDest.value.also ?? []);
    if (destDigest !== undefined && srcHead) {
      if (head.status === 'rejected') throw wrap(head.reason, `fetching manifest ${ref}`, ref);
      const h = head.value;
      if (
        h !== undefined &&
        (h.digest === destDigest || atDestToo.has(h.digest)) &&
        (mode !== 'system' || (h.mediaType !== undefined && !isIndexType(h.mediaType)))
      ) {
        const out: ImageRecord = { ...rec, ref, digest: h.digest, status: 'exists' };
        if (h.mediaType !== undefined) out.mediaType = h.mediaType;
        if (h.size !== undefined) out.size = h.size;
        return [out];
      }
    }
  }
  const out: ImageRecord[] = [];
  const recordOf = (m: StoredManifest, parsed: ParsedManifest, extra: Partial<ImageRecord>): ImageRecord => ({
    ...rec,
    ref,
    ...extra,
    digest: m.digest,
    mediaType: m.mediaType,
    size: m.bytes.length,
    manifest: parsed.manifest,
    raw: m.bytes.toString('utf8'),
  });
  const push = async (r: ImageRecord, parsed: ParsedManifest): Promise<void> => {
    if (opts.config && parsed.kind === 'image') r.config = (await readConfig(src, parsed.manifest)).config;
    // A store that cannot give back the layers its manifest names (containers-storage:) says which to copy instead: the record's manifest is edited to name them.
    if (parsed.kind === 'image' && hasLayersForCopy(src)) {
      const layers = await src.layersForCopy({ bytes: Buffer.from(r.raw as string, 'utf8'), digest: r.digest as string, mediaType: r.mediaType as string });
      if (layers) r.manifest = { ...parsed.manifest, layers };
    }
    out.push(r);
  };
  // Each distinct manifest is fetched once, and the children of an index several at a time; the records still come in order.
  const limiter = new Limiter(CHILD_FETCHES);
  const fetched = new Map<string, Promise<StoredManifest>>();
  const fetch = (digest: string): Promise<StoredManifest> => {
    let p = fetched.get(digest);
    if (!p) {
      p = limiter.run(() => src.getManifest(digest));
      // Awaited in order below; a failure of one fetched ahead is reported there, not as unhandled.
      p.catch(() => undefined);
      fetched.set(digest, p);
    }
    return p;
  };
  const visited = new Set<string>();
  const visit = async (digest: string | undefined, extra: Partial<ImageRecord>, depth: number): Promise<void> => {
    const m = digest === undefined ? await src.getManifest() : await fetch(digest);
    const what = digest ? `${ref}@${digest}` : ref;
    const parsed = parseManifest(m.bytes, what, m.mediaType);
    if (parsed.kind === 'index' && depth === 0 && mode !== 'as-is') {
      const children = parsed.manifest.manifests;
      if (mode === 'system') {
        const want = opts.platforms?.[0] ?? hostPlatform();
        const chosen = chooseInstance(children, want, ref);
        const cm = await src.getManifest(chosen.digest);
        const cparsed = parseManifest(cm.bytes, `${ref}@${chosen.digest}`, cm.mediaType);
        if (cparsed.kind !== 'image') throw new ImgError('MANIFEST_UNSUPPORTED', `${ref}: the image for ${formatPlatform(want)} is itself an index`);
        const r = recordOf(cm, cparsed, chosen.platform ? { platform: chosen.platform } : {});
        r.index = m.digest;
        return push(r, cparsed);
      }
      if (mode === 'subset') {
        const picked = new Set(opts.platforms!.map((p) => chooseInstance(children, p, ref)));
        const chosen = children.filter((c) => picked.has(c));
        for (const c of chosen) await visit(c.digest, { parent: m.digest, ...(c.platform ? { platform: c.platform } : {}) }, depth + 1);
        const r = recordOf(m, parsed, extra);
        r.manifest = { ...parsed.manifest, manifests: chosen };
        return push(r, parsed);
      }
    }
    if (parsed.kind === 'index' && (mode === 'all' || (mode === 'subset' && depth > 0))) {
      if (depth > 4) throw new ImgError('MANIFEST_INVALID', `${ref}: indexes nested more than 4 deep`);
      // A child listed twice (or in two indexes) is one record: the first listing's platform and parent.
      const children = parsed.manifest.manifests.filter((c) => {
        if (visited.has(c.digest)) return false;
        visited.add(c.digest);
        return true;
      });
      for (const child of children) void fetch(child.digest);
      for (const child of children) {
        await visit(child.digest, { parent: m.digest, ...(child.platform ? { platform: child.platform } : {}) }, depth + 1);
      }
    }
    return push(recordOf(m, parsed, extra), parsed);
  };
  try {
    await visit(undefined, {}, 0);
  } catch (e) {
    throw wrap(e, `fetching manifest ${ref}`, ref);
  }
  const top = out[out.length - 1]!;
  if (destDigest !== undefined && (destDigest === top.digest || atDestToo.has(top.digest as string)) && (mode !== 'subset' || !isEdited(top))) {
    return [{ ...rec, ref, digest: top.digest, mediaType: top.mediaType, size: top.size, status: 'exists' }];
  }
  // An edited image manifest (layers as a store gives them) is at the destination when the destination has what put would write.
  if (destDigest !== undefined && mode !== 'subset' && isEdited(top)) {
    const written = manifestOfRecord(top, ref);
    if (written.digest === destDigest || atDestToo.has(written.digest))
      return [{ ...rec, ref, digest: written.digest, mediaType: written.mediaType, size: written.bytes.length, status: 'exists' }];
  }
  return out;
}

/** isEdited says whether a record's manifest no longer matches its raw text (its digest will change when put). */
function isEdited(r: ImageRecord): boolean {
  return typeof r.raw === 'string' && !isDeepStrictEqual(JSON.parse(r.raw), r.manifest);
}

/** manifestAt is the digest of the manifest a transport's reference names, or undefined when there is none. */
export async function manifestAt(t: Transport): Promise<{ digest: string; also?: string[] } | undefined> {
  // An archive is written whole, so nothing in it counts as there; a writer that can tell what a reference names (containers-storage:) says so.
  if (canHead(t)) return t.headManifest();
  if (isArchiveWriter(t)) return undefined;
  try {
    return await t.getManifest();
  } catch (e) {
    if (e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN')) return undefined;
    throw e;
  }
}

/**
 * getRawManifest reads the exact manifest bytes a reference names, or with `config` its config
 * blob's bytes. For an index, the config is that of the child for `platform` (default: this
 * machine's), as `skopeo inspect --config --raw` picks it.
 */
export async function getRawManifest(refString: string, topts: TransportOptions = {}, config = false, platform?: Platform): Promise<Buffer> {
  const ref = formatRef(parseRef(refString));
  try {
    const t = openTransport(ref, topts);
    if (!config) return (await t.getManifest()).bytes;
    const { manifest } = await imageOf(t, platform ?? hostPlatform());
    return (await readConfig(t, manifest)).raw;
  } catch (e) {
    throw wrap(e, `fetching ${config ? 'config' : 'manifest'} ${ref}`, ref);
  }
}

// Writing manifests (img-manifest put) is ManifestPutter in put.ts: conversions and archives need state across records.

/** deleteManifestRecord deletes the manifest a record's `ref` names (by digest, as skopeo delete does). */
export async function deleteManifestRecord(rec: ImageRecord, topts: TransportOptions = {}): Promise<ImageRecord> {
  const ref = formatRef(parseRef(requireRef(rec)));
  const t = openTransport(ref, topts);
  if (!canDelete(t)) throw new ImgError('UNSUPPORTED', `deleting manifest ${ref}: the ${ref.split(':')[0]}: transport cannot delete images`);
  try {
    return { ...rec, ref, digest: await t.deleteManifest(), status: 'deleted' };
  } catch (e) {
    throw wrap(e, `deleting manifest ${ref}`, ref);
  }
}

function requireRef(rec: ImageRecord): string {
  if (rec.ref === undefined) throw new ImgError('RECORD_INVALID', 'record has no "ref" field');
  if (typeof rec.ref !== 'string' || rec.ref === '')
    throw new ImgError('RECORD_INVALID', `record field "ref" must be a non-empty string, not ${JSON.stringify(rec.ref)}`);
  return rec.ref;
}
