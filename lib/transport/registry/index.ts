import { Readable } from 'node:stream';
import { ImgError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { MANIFEST_TYPES, SCHEMA1_TYPES, baseMediaType } from '../../oci/mediatype.js';
import { MAX_MANIFEST_SIZE } from '../../oci/manifest.js';
import { formatDockerRef, formatRef, repositoryOf, type DockerRef, type ImageRef } from '../../ref/index.js';
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
import { AUTH_FILES_HELPER } from '../../auth/credentials.js';
import { blockedBy, blockedError, findRegistry, loadRegistriesConf, pullSources, type RegistriesConf } from './registries-conf.js';

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

/** Endpoint is one place requests for the image go: the reference there and its client. */
interface Endpoint {
  docker: DockerRef;
  client: RegistryClient;
  /** HOST/PATH:TAG, for messages. */
  name: string;
  mirror: boolean;
  /** Set where registries.conf blocks it: every request there fails with it. */
  blocked?: ImgError;
}

/** Routes are where requests go: `direct` for writes, listings, deletes; `pull`, in order, for reads of a source. */
interface Routes {
  direct: Endpoint;
  pull: Endpoint[];
}

/** oneLine is an error's message on one line. */
function oneLine(e: unknown): string {
  return String((e as Error)?.message ?? e).replace(/\s*\n\s*/g, ' ');
}

/** notFound says whether an error means the image or blob is not at that endpoint. */
function notFound(e: unknown): boolean {
  return e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN' || e.code === 'BLOB_UNKNOWN' || e.status === 404);
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
  private readonly opts: RegistryOptions;
  private routes?: Promise<Routes>;
  /** The pull endpoint that served the last read: later reads try it first, as containers/image keeps the source it found. */
  private served?: Endpoint;
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
    this.opts = opts;
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

  /** routing reads registries.conf once, on the first request: where each kind of request goes. */
  private routing(): Promise<Routes> {
    this.routes ??= (async () => {
      const conf = await loadRegistriesConf(this.opts.registriesConf);
      const direct = this.endpoint(conf, this.docker, findRegistry(conf, repositoryOf(this.docker))?.insecure ?? false, false);
      if (!this.opts.pull) return { direct, pull: [direct] };
      return { direct, pull: pullSources(conf, this.docker).map((s) => this.endpoint(conf, s.ref, s.insecure, s.mirror)) };
    })();
    return this.routes;
  }

  /**
   * endpoint makes the client for one place: TLS skipped where registries.conf says insecure (an
   * explicit --tls-verify wins), the user's credentials flags kept for the reference's own registry
   * only (as containers/image: another host gets what auth.json holds for it), credentials looked up
   * with registries.conf's credential-helpers.
   */
  private endpoint(conf: RegistriesConf, docker: DockerRef, insecure: boolean, mirror: boolean): Endpoint {
    const { pull: _pull, registriesConf: _conf, ...opts } = this.opts;
    if (opts.tlsVerify === undefined && insecure) opts.tlsVerify = false;
    let credentials = opts.credentials ?? {};
    if (docker.domain !== this.docker.domain) credentials = credentials.authfile !== undefined ? { authfile: credentials.authfile } : {};
    if (conf.credentialHelpers.join() !== AUTH_FILES_HELPER) credentials = { ...credentials, helpers: conf.credentialHelpers };
    opts.credentials = credentials;
    const name = repositoryOf(docker);
    const block = blockedBy(conf, name);
    const out: Endpoint = { docker, client: clientFor(docker.domain, opts), name: formatDockerRef(docker), mirror };
    if (block) out.blocked = blockedError(block, name);
    return out;
  }

  /** direct is where writes, listings, deletes and a destination's reads go: the reference as written, unless blocked. */
  private async direct(): Promise<Endpoint> {
    const { direct } = await this.routing();
    if (direct.blocked) throw direct.blocked;
    return direct;
  }

  /**
   * read runs `op` at each pull endpoint in turn (mirrors, then the location; the one that served last
   * first) until one succeeds. When all fail, the error is the registry's own, naming the mirrors'.
   */
  private async read<T>(what: string, op: (ep: Endpoint) => Promise<T>): Promise<T> {
    const { pull } = await this.routing();
    const order = this.served ? [this.served, ...pull.filter((e) => e !== this.served)] : pull;
    const failed: { ep: Endpoint; e: unknown }[] = [];
    for (const ep of order) {
      try {
        if (ep.blocked) throw ep.blocked;
        if (order.length > 1) this.opts.debug?.(`${what}: trying ${ep.mirror ? 'mirror ' : ''}${ep.name}`);
        const v = await op(ep);
        this.served = ep;
        return v;
      } catch (e) {
        if (order.length === 1) throw e;
        this.opts.debug?.(`${what}: ${ep.name} failed: ${oneLine(e)}`);
        failed.push({ ep, e });
      }
    }
    const main = failed.find((f) => !f.ep.mirror) ?? failed[failed.length - 1]!;
    const err = main.e instanceof ImgError ? main.e : networkError(main.e, main.ep.docker.domain, what);
    const others = failed.filter((f) => f !== main).map((f) => `${f.ep.name}: ${oneLine(f.e)}`);
    if (others.length === 0) throw err;
    throw new ImgError(err.code, `${err.message} (mirrors also failed: ${others.join('; ')})`, {
      ...(err.status !== undefined ? { status: err.status } : {}),
      cause: err,
    });
  }

  /** source is where a read goes: through the mirrors for an image opened to be read (RegistryOptions.pull), else direct. */
  private async source<T>(what: string, op: (ep: Endpoint) => Promise<T>): Promise<T> {
    return this.opts.pull ? this.read(what, op) : op(await this.direct());
  }

  async getManifest(digest?: string): Promise<StoredManifest> {
    if (digest !== undefined) parseDigest(digest);
    return this.source(`manifest ${digest ?? reference(this.docker)}`, (ep) => this.fetchManifest(ep, digest));
  }

  private async fetchManifest(ep: Endpoint, digest?: string): Promise<StoredManifest> {
    const target = digest ?? reference(ep.docker);
    const res = await ep.client.request({
      method: 'GET',
      path: `/v2/${ep.docker.path}/manifests/${target}`,
      headers: { accept: ACCEPT },
      scopes: scopes(ep, 'pull'),
      ok: [200],
      what: `manifest ${target}`,
    });
    const length = Number(header(res, 'content-length') ?? '0');
    if (length > MAX_MANIFEST_SIZE) {
      res.body.destroy();
      throw new ImgError('TOO_LARGE', `manifest ${target} is ${length} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`);
    }
    const bytes = await this.readBody(ep, res, MAX_MANIFEST_SIZE, `manifest ${target}`);
    const expected = target.includes(':') ? target : headerDigest(res);
    const contentType = header(res, 'content-type');
    return strip(storedManifest(bytes, target, expected, contentType ? baseMediaType(contentType) : undefined));
  }

  async headManifest(): Promise<{ digest: string; mediaType?: string; size?: number } | undefined> {
    try {
      return await this.source(`manifest ${reference(this.docker)}`, (ep) => this.headAt(ep));
    } catch (e) {
      if (e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN')) return undefined;
      throw e;
    }
  }

  /** headAt asks one endpoint for the manifest's digest; none there is MANIFEST_UNKNOWN (or NAME_UNKNOWN). */
  private async headAt(ep: Endpoint): Promise<{ digest: string; mediaType?: string; size?: number }> {
    const ref = reference(ep.docker);
    const res = await ep.client.request({
      method: 'HEAD',
      path: `/v2/${ep.docker.path}/manifests/${ref}`,
      headers: { accept: ACCEPT },
      scopes: scopes(ep, 'pull'),
      ok: [200],
      what: `manifest ${ref}`,
    });
    await res.body.dump();
    const digest = headerDigest(res) ?? (ep.docker.digest !== undefined ? ep.docker.digest : undefined);
    if (!digest) return await this.fetchManifest(ep).then((m) => ({ digest: m.digest, mediaType: m.mediaType, size: m.bytes.length }));
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
    const ep = await this.direct();
    const res = await ep.client.request({
      method: 'PUT',
      path: `/v2/${ep.docker.path}/manifests/${target}`,
      headers: { 'content-type': m.mediaType },
      body: m.bytes,
      scopes: scopes(ep, 'pull,push'),
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
    const ep = await this.direct();
    let digest = this.docker.digest;
    if (digest === undefined) {
      try {
        digest = (await this.headAt(ep)).digest;
      } catch (e) {
        if (!(e instanceof ImgError && (e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN'))) throw e;
        throw new ImgError(
          'MANIFEST_UNKNOWN',
          `manifest unknown: no manifest tagged ${JSON.stringify(reference(this.docker))} in ${repositoryOf(this.docker)}`,
        );
      }
    }
    let res: Res;
    try {
      res = await ep.client.request({
        method: 'DELETE',
        path: `/v2/${ep.docker.path}/manifests/${digest}`,
        scopes: scopes(ep, 'delete'),
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
      return await this.source(`blob ${digest}`, (ep) => this.statAt(ep, digest));
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  /** statAt is a blob's size at one endpoint (undefined when the registry gives none); none there is an error with status 404. */
  private async statAt(ep: Endpoint, digest: string): Promise<number | undefined> {
    const res = await ep.client.request({
      method: 'HEAD',
      path: `/v2/${ep.docker.path}/blobs/${digest}`,
      scopes: scopes(ep, 'pull'),
      ok: [200],
      what: `blob ${digest}`,
    });
    await res.body.dump();
    const len = header(res, 'content-length');
    return len === undefined ? undefined : Number(len);
  }

  /**
   * getBlob streams a blob, verified. Its size is the one given, else the GET's Content-Length, else
   * the one a HEAD answers; a body longer than that fails at the first byte too many. With no size anywhere the body is
   * capped (unknownSizeCap, IMGPIPE_UNKNOWN_SIZE_CAP) and says so.
   */
  async getBlob(wanted: { digest: string; size?: number }): Promise<Readable> {
    parseDigest(wanted.digest);
    return this.source(`blob ${wanted.digest}`, (ep) => this.blobAt(ep, wanted));
  }

  /** blobAt streams a blob from one endpoint; the first request's failure is thrown, later ones end the stream. */
  private async blobAt(ep: Endpoint, wanted: { digest: string; size?: number }): Promise<Readable> {
    const path = `/v2/${ep.docker.path}/blobs/${wanted.digest}`;
    const what = `blob ${wanted.digest}`;
    const first = await ep.client.request({ method: 'GET', path, scopes: scopes(ep, 'pull'), ok: [200], what, stream: true });
    const length = header(first, 'content-length');
    const announced = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    if (wanted.size !== undefined && announced !== undefined && announced > wanted.size) {
      first.body.destroy();
      throw new ImgError('SIZE_MISMATCH', `${what}: ${ep.docker.domain} announces ${announced} bytes, expected ${wanted.size}`);
    }
    // No size given (img-blob-get without --size) and a body of no announced length: a HEAD tells the size.
    let size = wanted.size ?? announced;
    if (size === undefined) {
      try {
        size = await this.statAt(ep, wanted.digest);
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
            why: `${ep.docker.domain} gave no size for it (no Content-Length, none on HEAD) and none was given (--size); the cap for a blob of unknown size is IMGPIPE_UNKNOWN_SIZE_CAP`,
          });
    const body = Readable.from(this.resumable(ep, first, path, what));
    body.on('error', (e) => check.destroy(e));
    // The bytes flow at once and may fail before the caller reads: DigestingStream keeps that for it.
    return body.pipe(check);
  }

  /**
   * resumable yields a blob body, held to the client's minimum rate; a body cut short (or too slow)
   * is resumed with Range only on a 206 that starts where it was cut.
   */
  private async *resumable(ep: Endpoint, first: Res, path: string, what: string): AsyncGenerator<Buffer> {
    let res = first;
    let offset = 0;
    let cause: ImgError | undefined;
    for (let attempt = 0; ; attempt++) {
      const guard = ep.client.rateGuard(res);
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
        cause = networkError(e, ep.docker.domain, `downloading ${what}`);
        if (attempt >= this.retries) throw cause;
      } finally {
        guard.stop();
      }
      res = await ep.client.request({
        method: 'GET',
        path,
        headers: { range: `bytes=${offset}-` },
        scopes: scopes(ep, 'pull'),
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
    const ep = await this.direct();
    const start = await this.startUpload(ep);
    if (expected.digest !== undefined && expected.size !== undefined && expected.size <= MONOLITHIC_MAX) {
      const bytes = await readCapped(checked(data, expected, `blob ${expected.digest}`), MONOLITHIC_MAX, `blob ${expected.digest}`);
      return this.finishUpload(ep, start, expected.digest, bytes);
    }
    const check = checked(data, expected, `blob ${expected.digest ?? 'from input'}`);
    let location: string;
    try {
      const res = await ep.client.request({
        method: 'PATCH',
        path: start,
        // With its length known the body goes as it is, not chunked: less work at both ends (skopeo sends it too).
        headers: { 'content-type': 'application/octet-stream', ...(expected.size !== undefined ? { 'content-length': String(expected.size) } : {}) },
        body: check,
        scopes: scopes(ep, 'pull,push'),
        ok: [202, 204],
        what: 'uploading blob',
      });
      await res.body.dump();
      location = await ep.client.resolveUrl(header(res, 'location') ?? start);
    } catch (e) {
      await this.cancelUpload(ep, start);
      throw check.errored ?? e;
    }
    if (check.errored) {
      await this.cancelUpload(ep, location);
      throw check.errored;
    }
    return this.finishUpload(ep, location, check.digest!, undefined, check.size);
  }

  private async startUpload(ep: Endpoint, mount?: { digest: string; from: string }): Promise<string> {
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const wanted = mount ? [...scopes(ep, 'pull,push'), `repository:${mount.from}:pull`] : scopes(ep, 'pull,push');
    const res = await ep.client.request({
      method: 'POST',
      path: `/v2/${ep.docker.path}/blobs/uploads/${query}`,
      scopes: wanted,
      ok: [201, 202],
      what: 'starting an upload',
    });
    await res.body.dump();
    const location = header(res, 'location');
    if (res.statusCode === 201) return '';
    if (!location) throw new ImgError('HTTP', `${ep.docker.domain} started an upload without a Location`);
    return ep.client.resolveUrl(location);
  }

  private async finishUpload(ep: Endpoint, location: string, digest: string, body?: Buffer, size?: number): Promise<BlobInfo> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await ep.client.request({
      method: 'PUT',
      path: url.toString(),
      headers: { 'content-type': 'application/octet-stream' },
      ...(body ? { body } : {}),
      scopes: scopes(ep, 'pull,push'),
      ok: [201, 204],
      what: `finishing upload of blob ${digest}`,
    });
    await res.body.dump();
    return { digest, size: body?.length ?? size ?? 0 };
  }

  private async cancelUpload(ep: Endpoint, location: string): Promise<void> {
    try {
      const res = await ep.client.request({
        method: 'DELETE',
        path: location,
        scopes: scopes(ep, 'pull,push'),
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
    const ep = await this.direct();
    const location = await this.startUpload(ep, { digest, from: fromRepository });
    if (location === '') return true;
    await this.cancelUpload(ep, location);
    return false;
  }

  /** listTags lists the repository as written: mirrors and locations are for reading images only, as in containers/image. */
  async listTags(): Promise<string[]> {
    const ep = await this.direct();
    return this.paginate(ep, `/v2/${ep.docker.path}/tags/list`, 'tags', scopes(ep, 'pull'), `listing tags of ${repositoryOf(this.docker)}`);
  }

  async listRepositories(): Promise<string[]> {
    const ep = await this.direct();
    return this.paginate(ep, '/v2/_catalog', 'repositories', ['registry:catalog:*'], `listing repositories of ${this.docker.domain}`);
  }

  /**
   * paginate follows Link: <…>; rel="next" on the same origin, within LISTING_CAPS: each page is read
   * up to its cap and parsed, and only the names are kept.
   */
  private async paginate(ep: Endpoint, first: string, field: 'tags' | 'repositories', scopes: string[], what: string): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = first;
    let total = 0;
    const origin = new URL(await ep.client.resolveUrl('/')).origin;
    const over = (cap: string) => new ImgError('TOO_LARGE', `${this.docker.domain} sent ${cap} (a cap of imgpipe against endless listings)`);
    for (let page = 0; path !== undefined; page++) {
      if (page >= LISTING_CAPS.pages) throw over(`more than ${LISTING_CAPS.pages} pages of ${field}`);
      const res = await ep.client.request({ method: 'GET', path, scopes, ok: [200], what });
      const length = Number(header(res, 'content-length') ?? '0');
      if (length > LISTING_CAPS.pageBytes) {
        res.body.destroy();
        throw over(`a page of ${field} of ${length} bytes, over the ${LISTING_CAPS.pageBytes}-byte cap of a page`);
      }
      let body: Buffer;
      try {
        body = await this.readBody(ep, res, LISTING_CAPS.pageBytes, what);
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

  private async readBody(ep: Endpoint, res: Res, max: number, what: string): Promise<Buffer> {
    try {
      return await readCapped(res.body as AsyncIterable<Buffer>, max, what);
    } catch (e) {
      res.body.destroy();
      throw e instanceof ImgError ? e : networkError(e, ep.docker.domain, `reading ${what}`);
    }
  }
}

/** reference is what a reference points at: its digest, else its tag. */
function reference(d: DockerRef): string {
  return d.digest ?? d.tag ?? 'latest';
}

function scopes(ep: Endpoint, actions: string): string[] {
  return [`repository:${ep.docker.path}:${actions}`];
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
