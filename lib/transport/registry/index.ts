import { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { MANIFEST_TYPES, SCHEMA1_TYPES, baseMediaType } from '../../oci/mediatype.js';
import { MAX_MANIFEST_SIZE } from '../../oci/manifest.js';
import { formatRef, repositoryOf, type DockerRef, type ImageRef } from '../../ref/index.js';
import { checked, DigestingStream, readCapped } from '../../stream/verify.js';
import { storedManifest } from '../manifest.js';
import type { BlobInfo, StoredManifest, Transport } from '../types.js';
import type {
  BlobScope,
  Catalog,
  DigestAddressed,
  DockerNamed,
  ManifestDeleter,
  ManifestHead,
  BlobMounter,
  TagLister,
  SignatureStore,
  TransportTraits,
  WantsCompressedLayers,
} from '../capabilities.js';
import { readLookaside, writeLookaside } from './lookaside.js';
import { RegistryClient, header, type RegistryOptions, type Res } from './client.js';
import { deleteRefused, networkError } from './errors.js';

/** Blobs up to this size with a known digest are verified in memory and sent in one PUT. */
const MONOLITHIC_MAX = 1024 * 1024;
/** The most bytes read of a blob whose size nobody knows (no --size, no descriptor, no Content-Length). */
export const DEFAULT_UNKNOWN_SIZE_CAP = 16 * 1024 ** 3;
/**
 * Caps of a tag or repository listing (docs/protocol.md, "Size limits"): a registry's Link headers
 * can lead on forever, and each page can be of any size. Past a cap the listing fails, naming it.
 */
export const LISTING_CAPS = {
  /** bytes of one page */
  pageBytes: 4 * 1024 * 1024,
  /** bytes of all pages together */
  totalBytes: 16 * 1024 * 1024,
  /** names in the whole listing */
  entries: 500_000,
  /** pages followed */
  pages: 10_000,
};
const ACCEPT = [...MANIFEST_TYPES, ...SCHEMA1_TYPES].join(', ');

const clients = new Map<string, RegistryClient>();
/** clientFor shares one client (connections, tokens) per registry and options within a process. */
function clientFor(domain: string, opts: RegistryOptions): RegistryClient {
  const key = `${domain}|${JSON.stringify({ ...opts, debug: undefined })}`;
  let c = clients.get(key);
  if (!c) {
    c = new RegistryClient(domain, opts);
    clients.set(key, c);
  }
  return c;
}

/**
 * RegistryTransport is an image in a registry speaking the Registry HTTP API v2 (OCI distribution).
 * Besides the Transport interface it lists tags and repositories, deletes manifests, mounts blobs
 * across repositories and answers HEAD for manifests.
 */
export class RegistryTransport
  implements
    Transport,
    TagLister,
    Catalog,
    ManifestDeleter,
    ManifestHead,
    BlobMounter,
    BlobScope,
    DigestAddressed,
    SignatureStore,
    DockerNamed,
    WantsCompressedLayers
{
  static readonly traits: TransportTraits = { keepsSignatures: true, signedIdentity: 'docker-reference', sigstore: 'attachments' };
  readonly name: string;
  readonly digestAddressed = true;
  /** Layers are pushed compressed, as skopeo pushes them. */
  readonly wantsCompressedLayers = true;
  readonly docker: DockerRef;
  readonly dockerName: string;
  private readonly client: RegistryClient;
  private readonly retries: number;
  private readonly unknownSizeCap: number;

  /** registriesDir is --registries.d (else the containers tools' default), for the lookaside signature store. */
  constructor(
    ref: Extract<ImageRef, { transport: 'docker' }>,
    opts: RegistryOptions = {},
    private readonly registriesDir?: string,
  ) {
    this.name = formatRef(ref);
    this.docker = ref.docker;
    this.dockerName = repositoryOf(ref.docker);
    this.client = clientFor(ref.docker.domain, opts);
    this.retries = opts.retryTimes ?? 3;
    this.unknownSizeCap = opts.unknownSizeCap ?? DEFAULT_UNKNOWN_SIZE_CAP;
  }

  get blobRepository(): { registry: string; repository: string } {
    return { registry: this.docker.domain, repository: this.docker.path };
  }

  /** Every tag of a repository shares its blobs. */
  get blobScope(): string {
    return `docker://${repositoryOf(this.docker)}`;
  }

  private get repo(): string {
    return this.docker.path;
  }

  private scopes(actions: string): string[] {
    return [`repository:${this.repo}:${actions}`];
  }

  /** reference is what the image reference points at: its digest, else its tag. */
  private get reference(): string {
    return this.docker.digest ?? this.docker.tag ?? 'latest';
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    const target = digest ?? this.reference;
    if (digest !== undefined) parseDigest(digest);
    const res = await this.client.request({
      method: 'GET',
      path: `/v2/${this.repo}/manifests/${target}`,
      headers: { accept: ACCEPT },
      scopes: this.scopes('pull'),
      ok: [200],
      what: `manifest ${target}`,
    });
    const length = Number(header(res, 'content-length') ?? '0');
    if (length > MAX_MANIFEST_SIZE) {
      res.body.destroy();
      throw new ImgError('TOO_LARGE', `manifest ${target} is ${length} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`);
    }
    const bytes = await this.readBody(res, MAX_MANIFEST_SIZE, `manifest ${target}`);
    const expected = target.includes(':') ? target : headerDigest(res);
    const contentType = header(res, 'content-type');
    return strip(storedManifest(bytes, target, expected, contentType ? baseMediaType(contentType) : undefined));
  }

  async headManifest(): Promise<{ digest: string; mediaType?: string; size?: number } | undefined> {
    let res: Res;
    try {
      res = await this.client.request({
        method: 'HEAD',
        path: `/v2/${this.repo}/manifests/${this.reference}`,
        headers: { accept: ACCEPT },
        scopes: this.scopes('pull'),
        ok: [200],
        what: `manifest ${this.reference}`,
      });
    } catch (e) {
      if (e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN')) return undefined;
      throw e;
    }
    await res.body.dump();
    const digest = headerDigest(res) ?? (this.docker.digest !== undefined ? this.docker.digest : undefined);
    if (!digest) return await this.getManifest().then((m) => ({ digest: m.digest, mediaType: m.mediaType, size: m.bytes.length }));
    const out: { digest: string; mediaType?: string; size?: number } = { digest };
    const ct = header(res, 'content-type');
    if (ct) out.mediaType = baseMediaType(ct);
    const len = header(res, 'content-length');
    if (len) out.size = Number(len);
    return out;
  }

  async putManifest(m: StoredManifest, opts: { child?: boolean } = {}): Promise<void> {
    storedManifest(m.bytes, m.digest, m.digest, m.mediaType);
    let target = m.digest;
    if (!opts.child) {
      // NAME:TAG@DIGEST is written under the tag, and only when the manifest has that digest.
      if (this.docker.digest !== undefined && this.docker.digest !== m.digest) {
        throw new ImgError('DIGEST_MISMATCH', `the manifest has digest ${m.digest}, but the destination reference asks for ${this.docker.digest}`);
      }
      if (this.docker.tag !== undefined) target = this.docker.tag;
    }
    const res = await this.client.request({
      method: 'PUT',
      path: `/v2/${this.repo}/manifests/${target}`,
      headers: { 'content-type': m.mediaType },
      body: m.bytes,
      scopes: this.scopes('pull,push'),
      ok: [200, 201, 202],
      what: `manifest ${target}`,
    });
    await res.body.dump();
    const stored = headerDigest(res);
    if (stored !== undefined && stored !== m.digest) {
      throw new ImgError('DIGEST_MISMATCH', `the registry stored the manifest as ${stored}, not ${m.digest}`);
    }
  }

  /** getSignatures reads the manifest's simple signatures from the lookaside store that registries.d names. */
  async getSignatures(digest: string): Promise<Buffer[]> {
    parseDigest(digest);
    return readLookaside(await this.lookaside(false), digest);
  }

  /** putSignatures writes them to the lookaside store's file:// staging place (lookaside-staging, else lookaside). */
  async putSignatures(digest: string, signatures: Uint8Array[]): Promise<void> {
    parseDigest(digest);
    await writeLookaside(await this.lookaside(true), digest, signatures);
  }

  private async lookaside(write: boolean): Promise<URL> {
    // Loaded only here: registries.d (and its YAML parser) matters only for signatures.
    const { loadRegistriesD, lookasideBase, registriesDirPath } = await import('./registries-d.js');
    return lookasideBase(await loadRegistriesD(await registriesDirPath(this.registriesDir)), this.docker, write);
  }

  async deleteManifest(): Promise<string> {
    const digest = this.docker.digest ?? (await this.headManifest())?.digest;
    if (!digest)
      throw new ImgError('MANIFEST_UNKNOWN', `manifest unknown: no manifest tagged ${JSON.stringify(this.reference)} in ${this.docker.domain}/${this.repo}`);
    let res: Res;
    try {
      res = await this.client.request({
        method: 'DELETE',
        path: `/v2/${this.repo}/manifests/${digest}`,
        scopes: this.scopes('delete'),
        ok: [200, 202],
        what: `deleting manifest ${digest}`,
      });
    } catch (e) {
      throw deleteRefused(e);
    }
    await res.body.dump();
    return digest;
  }

  async statBlob(digest: string): Promise<number | undefined> {
    parseDigest(digest);
    try {
      const res = await this.client.request({
        method: 'HEAD',
        path: `/v2/${this.repo}/blobs/${digest}`,
        scopes: this.scopes('pull'),
        ok: [200],
        what: `blob ${digest}`,
      });
      await res.body.dump();
      const len = header(res, 'content-length');
      return len === undefined ? undefined : Number(len);
    } catch (e) {
      if (e instanceof ImgError && (e.status === 404 || e.code === 'BLOB_UNKNOWN')) return undefined;
      throw e;
    }
  }

  /**
   * getBlob streams a blob, verified. Its size is the one given, else the GET's Content-Length, else
   * the one a HEAD answers; a body longer than that fails at the first byte too many. With no size anywhere the body is
   * capped (unknownSizeCap, IMGPIPE_UNKNOWN_SIZE_CAP) and says so.
   */
  async getBlob(wanted: { digest: string; size?: number }): Promise<Readable> {
    parseDigest(wanted.digest);
    const path = `/v2/${this.repo}/blobs/${wanted.digest}`;
    const what = `blob ${wanted.digest}`;
    const first = await this.client.request({ method: 'GET', path, scopes: this.scopes('pull'), ok: [200], what, stream: true });
    const length = header(first, 'content-length');
    const announced = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (wanted.size !== undefined && announced !== undefined && announced > wanted.size) {
      first.body.destroy();
      throw new ImgError('SIZE_MISMATCH', `${what}: ${this.docker.domain} announces ${announced} bytes, expected ${wanted.size}`);
    }
    // No size given (img-blob-get without --size) and a body of no announced length: a HEAD tells the size.
    let size = wanted.size ?? announced;
    if (size === undefined) {
      try {
        size = await this.statBlob(wanted.digest);
      } catch (e) {
        first.body.destroy();
        throw e;
      }
    }
    const check =
      size !== undefined
        ? new DigestingStream({ digest: wanted.digest, size }, what)
        : new DigestingStream({ digest: wanted.digest }, what, undefined, {
            max: this.unknownSizeCap,
            why: `${this.docker.domain} gave no size for it (no Content-Length, none on HEAD) and none was given (--size); the cap for a blob of unknown size is IMGPIPE_UNKNOWN_SIZE_CAP`,
          });
    const body = Readable.from(this.resumable(first, path, what));
    body.on('error', (e) => check.destroy(e));
    // The bytes flow at once, and a body too long fails at once, maybe before the caller listens
    // (it may be opening its output): kept in `errored` for the caller's read, not thrown as uncaught.
    check.on('error', () => undefined);
    return body.pipe(check);
  }

  /**
   * resumable yields a blob body, held to the client's minimum rate; a body cut short (or too slow)
   * is resumed with Range only on a 206 that starts where it was cut.
   */
  private async *resumable(first: Res, path: string, what: string): AsyncGenerator<Buffer> {
    let res = first;
    let offset = 0;
    let cause: ImgError | undefined;
    for (let attempt = 0; ; attempt++) {
      const guard = this.client.rateGuard(res);
      try {
        const it = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
        for (;;) {
          // Only the time spent waiting for the registry counts against the rate, not the consumer's.
          guard.wait();
          const next = await it.next();
          if (next.done) return;
          guard.got(next.value.length);
          offset += next.value.length;
          yield next.value;
        }
      } catch (e) {
        cause = networkError(e, this.docker.domain, `downloading ${what}`);
        if (attempt >= this.retries) throw cause;
      } finally {
        guard.stop();
      }
      res = await this.client.request({
        method: 'GET',
        path,
        headers: { range: `bytes=${offset}-` },
        scopes: this.scopes('pull'),
        ok: [200, 206],
        what,
        stream: true,
      });
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
      if (res.statusCode !== 206 || !range || Number(range[1]) !== offset) {
        res.body.destroy();
        throw new ImgError(
          cause?.code ?? 'UNREACHABLE',
          `downloading ${what}: ${cause?.message ?? 'the connection was cut'}; the registry cannot resume at byte ${offset}`,
        );
      }
    }
  }

  async putBlob(data: Readable, expected: { digest?: string; size?: number } = {}): Promise<BlobInfo> {
    // No HEAD first: callers that may skip a present blob (the mover, img-blob-put) ask statBlob themselves.
    const start = await this.startUpload();
    if (expected.digest !== undefined && expected.size !== undefined && expected.size <= MONOLITHIC_MAX) {
      const bytes = await readCapped(checked(data, expected, `blob ${expected.digest}`), MONOLITHIC_MAX, `blob ${expected.digest}`);
      return this.finishUpload(start, expected.digest, bytes);
    }
    const check = checked(data, expected, `blob ${expected.digest ?? 'from input'}`);
    let location: string;
    try {
      const res = await this.client.request({
        method: 'PATCH',
        path: start,
        headers: { 'content-type': 'application/octet-stream' },
        body: check,
        scopes: this.scopes('pull,push'),
        ok: [202, 204],
        what: 'uploading blob',
      });
      await res.body.dump();
      location = await this.client.resolveUrl(header(res, 'location') ?? start);
    } catch (e) {
      await this.cancelUpload(start);
      throw check.errored ?? e;
    }
    if (check.errored) {
      await this.cancelUpload(location);
      throw check.errored;
    }
    return this.finishUpload(location, check.digest!, undefined, check.size);
  }

  private async startUpload(mount?: { digest: string; from: string }): Promise<string> {
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const scopes = mount ? [...this.scopes('pull,push'), `repository:${mount.from}:pull`] : this.scopes('pull,push');
    const res = await this.client.request({
      method: 'POST',
      path: `/v2/${this.repo}/blobs/uploads/${query}`,
      scopes,
      ok: [201, 202],
      what: 'starting an upload',
    });
    await res.body.dump();
    const location = header(res, 'location');
    if (res.statusCode === 201) return '';
    if (!location) throw new ImgError('HTTP', `${this.docker.domain} started an upload without a Location`);
    return this.client.resolveUrl(location);
  }

  private async finishUpload(location: string, digest: string, body?: Buffer, size?: number): Promise<BlobInfo> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.client.request({
      method: 'PUT',
      path: url.toString(),
      headers: { 'content-type': 'application/octet-stream' },
      ...(body ? { body } : {}),
      scopes: this.scopes('pull,push'),
      ok: [201, 204],
      what: `finishing upload of blob ${digest}`,
    });
    await res.body.dump();
    return { digest, size: body?.length ?? size ?? 0 };
  }

  private async cancelUpload(location: string): Promise<void> {
    try {
      const res = await this.client.request({
        method: 'DELETE',
        path: location,
        scopes: this.scopes('pull,push'),
        ok: [200, 202, 204, 404],
        what: 'cancelling an upload',
      });
      await res.body.dump();
    } catch {
      // The registry expires abandoned uploads; nothing was made visible.
    }
  }

  async mountBlob(digest: string, fromRepository: string): Promise<boolean> {
    parseDigest(digest);
    const location = await this.startUpload({ digest, from: fromRepository });
    if (location === '') return true;
    await this.cancelUpload(location);
    return false;
  }

  async listTags(): Promise<string[]> {
    return this.paginate(`/v2/${this.repo}/tags/list`, 'tags', this.scopes('pull'), `listing tags of ${this.docker.domain}/${this.repo}`);
  }

  async listRepositories(): Promise<string[]> {
    return this.paginate('/v2/_catalog', 'repositories', ['registry:catalog:*'], `listing repositories of ${this.docker.domain}`);
  }

  /**
   * paginate follows Link: <…>; rel="next" on the same origin, within LISTING_CAPS: each page is read
   * up to its cap and parsed, and only the names are kept.
   */
  private async paginate(first: string, field: 'tags' | 'repositories', scopes: string[], what: string): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = first;
    let total = 0;
    const origin = new URL(await this.client.resolveUrl('/')).origin;
    const over = (cap: string) => new ImgError('TOO_LARGE', `${this.docker.domain} sent ${cap} (a cap of imgpipe against endless listings)`);
    for (let page = 0; path !== undefined; page++) {
      if (page >= LISTING_CAPS.pages) throw over(`more than ${LISTING_CAPS.pages} pages of ${field}`);
      const res = await this.client.request({ method: 'GET', path, scopes, ok: [200], what });
      const length = Number(header(res, 'content-length') ?? '0');
      if (length > LISTING_CAPS.pageBytes) {
        res.body.destroy();
        throw over(`a page of ${field} of ${length} bytes, over the ${LISTING_CAPS.pageBytes}-byte cap of a page`);
      }
      let body: Buffer;
      try {
        body = await this.readBody(res, LISTING_CAPS.pageBytes, what);
      } catch (e) {
        if (e instanceof ImgError && e.code === 'TOO_LARGE') throw over(`a page of ${field} over the ${LISTING_CAPS.pageBytes}-byte cap of a page`);
        throw e;
      }
      total += body.length;
      if (total > LISTING_CAPS.totalBytes) throw over(`more than ${LISTING_CAPS.totalBytes} bytes of ${field} pages, the cap of a whole listing`);
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(body.toString('utf8'));
      } catch {
        throw new ImgError('HTTP', `${what}: the registry answered with something that is not JSON`);
      }
      const items = doc[field];
      if (items !== null && items !== undefined && !Array.isArray(items)) throw new ImgError('HTTP', `${what}: "${field}" is not a list`);
      for (const t of (items as unknown[] | null) ?? []) {
        if (typeof t !== 'string') continue;
        if (out.length >= LISTING_CAPS.entries) throw over(`more than ${LISTING_CAPS.entries} ${field}, the cap of a listing`);
        out.push(t);
      }
      path = undefined;
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
      if (next) {
        const url = new URL(next[1]!, `${origin}/`);
        if (url.origin !== origin) throw new ImgError('HTTP', `${what}: the registry's next page is on another host (${url.origin}); not followed`);
        path = `${url.pathname}${url.search}`;
      }
    }
    return out;
  }

  private async readBody(res: Res, max: number, what: string): Promise<Buffer> {
    try {
      return await readCapped(res.body as AsyncIterable<Buffer>, max, what);
    } catch (e) {
      res.body.destroy();
      throw e instanceof ImgError ? e : networkError(e, this.docker.domain, `reading ${what}`);
    }
  }
}

function headerDigest(res: Res): string | undefined {
  const d = header(res, 'docker-content-digest');
  if (!d) return undefined;
  try {
    parseDigest(d);
    return d;
  } catch {
    return undefined;
  }
}

function strip(m: StoredManifest & { parsed?: unknown }): StoredManifest {
  return { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest };
}
