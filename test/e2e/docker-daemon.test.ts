/**
 * docker-daemon: against a real Docker Engine (Debian's docker.io, a private dockerd started by the
 * test as root), with skopeo 1.9.3 (--src-daemon-host, --dest-daemon-host) and the docker CLI
 * (DOCKER_HOST=unix://SOCK docker inspect) as the oracles. Without root the daemon cases are
 * skipped, and a skipped case says why.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerdUnavailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { writeDirImage } from '../helpers/fixtures.js';
import { must, umociImage } from '../helpers/images.js';
import { makePki } from '../helpers/pki.js';
import { freePort, startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, ROOT, tempDir } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';

const why = dockerdUnavailable();
const work = tempDir('imgpipe-daemon-');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let d: Dockerd;
let reg: Registry;
let s: Sandbox;
/** The source images in the registry: an OCI image (umoci, gzip layers) and its Docker schema 2 copy. */
let SRC: string;
let SRC_V2: string;
/** --cert-dir for the engine's TLS port: ca.pem, cert.pem and key.pem, as docker's and skopeo's; one with ca.pem only; one with the client certificate only. */
let TLS_DIR: string;
let CA_ONLY: string;
let CLIENT_ONLY: string;

/** inspectImage is what `docker inspect` says of an image: its ID and RootFS layers (diff IDs). */
async function inspectImage(name: string): Promise<{ Id: string; RootFS: { Layers: string[] }; RepoTags: string[] }> {
  const r = await must(d.docker(['image', 'inspect', name]), `docker image inspect ${name}`);
  return JSON.parse(r.stdout)[0];
}

/** images lists every image the engine holds (dangling ones included): ID and tags. */
async function images(): Promise<string[]> {
  const r = await must(d.docker(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']), 'docker images');
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** oneLine checks a failed command's stderr: one line, naming what it must name. */
function oneLine(stderr: string, ...parts: (string | RegExp)[]): void {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines, stderr).toHaveLength(1);
  for (const p of parts) {
    if (typeof p === 'string') expect(lines[0]).toContain(p);
    else expect(lines[0]).toMatch(p);
  }
}

const img = (cmd: string, args: string[], input?: string) => s.img(cmd, args, input);
const tmpLeft = () => readdirSync(s.env.TMPDIR!).filter((n) => n.startsWith('.imgpipe-tmp-'));

beforeAll(async () => {
  if (why) return;
  s = sandbox(work);
  const pki = makePki(join(work, 'pki'));
  const dirWith = (name: string, files: [string, string][]) => {
    const dir = join(work, name);
    mkdirSync(dir);
    for (const [from, to] of files) copyFileSync(from, join(dir, to));
    return dir;
  };
  TLS_DIR = dirWith('daemon-certs', [
    [pki.caCert, 'ca.pem'],
    [pki.clientCert, 'cert.pem'],
    [pki.clientKey, 'key.pem'],
  ]);
  CA_ONLY = dirWith('daemon-ca', [[pki.caCert, 'ca.pem']]);
  CLIENT_ONLY = dirWith('daemon-client', [
    [pki.clientCert, 'cert.pem'],
    [pki.clientKey, 'key.pem'],
  ]);
  const tls = { port: await freePort(), ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey };
  [d, reg] = await Promise.all([startDockerd({ tls }), startRegistry()]);
  const L = join(work, 'layout');
  await umociImage(work, L, 'app');
  SRC = `${reg.host}/src/app:1`;
  SRC_V2 = `${reg.host}/src/app:v2s2`;
  await s.sk(['copy', '--dest-tls-verify=false', `oci:${L}:app`, `docker://${SRC}`]);
  await s.sk(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${L}:app`, `docker://${SRC_V2}`]);
}, 120_000);

afterAll(async () => {
  await Promise.all([d?.stop(), reg?.stop()]);
}, 60_000);

it.runIf(why !== undefined)(`docker-daemon e2e skipped: ${why}`, () => undefined);

describe.skipIf(why !== undefined)('docker-daemon: with a real dockerd', () => {
  it.each([
    ['an OCI image', () => SRC, 'oci'],
    ['a Docker schema 2 image', () => SRC_V2, 'v2s2'],
  ])('registry → docker-daemon (%s): the engine has the image skopeo loads, same ID and diff IDs', async (_what, src, tag) => {
    const r = await img('img-copy', ['--src-tls-verify=false', '--dest-daemon-host', d.host, `docker://${src()}`, `docker-daemon:imgpipe/app:${tag}`]);
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ dest: `docker-daemon:docker.io/imgpipe/app:${tag}`, status: 'copied' });
    await s.sk(['copy', '--src-tls-verify=false', '--dest-daemon-host', d.host, `docker://${src()}`, `docker-daemon:skopeo/app:${tag}`]);
    const ours = await inspectImage(`imgpipe/app:${tag}`);
    const theirs = await inspectImage(`skopeo/app:${tag}`);
    expect(ours.Id).toBe(theirs.Id);
    expect(ours.RootFS.Layers).toEqual(theirs.RootFS.Layers);
    expect(ours.RepoTags).toContain(`imgpipe/app:${tag}`);
    // The record names the manifest the engine now serves, as skopeo reads it.
    const raw = await s.sk(['inspect', '--raw', '--daemon-host', d.host, `docker-daemon:imgpipe/app:${tag}`]);
    expect(rec!.digest).toBe(sha256(raw.stdoutBytes));
    expect(tmpLeft()).toEqual([]);
  });

  it('img-manifest get --raw equals skopeo inspect --raw, by NAME:TAG, by image ID, by NAME@DIGEST and through $DOCKER_HOST', async () => {
    const id = (await inspectImage('imgpipe/app:oci')).Id;
    await must(d.docker(['pull', '-q', SRC]), 'docker pull');
    const pulled = await inspectImage(SRC);
    const byDigest = (pulled as unknown as { RepoDigests: string[] }).RepoDigests[0]!;
    expect(byDigest).toMatch(/@sha256:/);
    for (const ref of [`docker-daemon:imgpipe/app:oci`, `docker-daemon:${id}`, `docker-daemon:${byDigest}`, `docker-daemon:${SRC}`]) {
      const ours = await img('img-manifest', ['get', '--raw', '--daemon-host', d.host, ref]);
      expect(ours.status, ours.stderr).toBe(0);
      const theirs = await s.sk(['inspect', '--raw', '--daemon-host', d.host, ref]);
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.stdoutBytes.equals(theirs.stdoutBytes)).toBe(true);
    }
    const viaEnv = await exec(join(ROOT, 'bin', 'img-manifest'), ['get', '--raw', 'docker-daemon:imgpipe/app:oci'], undefined, {
      ...s.env,
      DOCKER_HOST: d.host,
    });
    expect(viaEnv.status, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toBe((await s.sk(['inspect', '--raw', '--daemon-host', d.host, 'docker-daemon:imgpipe/app:oci'])).stdout);
    // The config is the engine's: its digest is the image ID.
    expect(JSON.parse(viaEnv.stdout).config.digest).toBe(id);
  });

  it('img-manifest get --inspect agrees with skopeo inspect --daemon-host on every key skopeo prints', async () => {
    for (const ref of ['docker-daemon:imgpipe/app:oci', 'docker-daemon:imgpipe/app:v2s2', `docker-daemon:${(await inspectImage('imgpipe/app:oci')).Id}`]) {
      const ours = await img('img-manifest', ['get', '--inspect', '--daemon-host', d.host, ref]);
      expect(ours.status, ours.stderr).toBe(0);
      const theirs = JSON.parse((await s.sk(['inspect', '--daemon-host', d.host, ref])).stdout);
      const mine = JSON.parse(ours.stdout);
      expect(Object.keys(theirs).length).toBeGreaterThan(5);
      for (const k of Object.keys(theirs)) expect(mine[k], `${ref}: ${k}`).toEqual(theirs[k]);
    }
  });

  it('img-blob-get reads the config (digest = image ID) and each layer (digest = diff ID) from the engine', async () => {
    const info = await inspectImage('imgpipe/app:oci');
    for (const digest of [info.Id, ...info.RootFS.Layers]) {
      const r = await img('img-blob-get', ['--daemon-host', d.host, `docker-daemon:imgpipe/app:oci@${digest}`]);
      expect(r.status, r.stderr).toBe(0);
      expect(sha256(r.stdoutBytes)).toBe(digest);
    }
  });

  it('docker-daemon → registry: skopeo reads the pushed image with the same config digest and diff IDs', async () => {
    const info = await inspectImage('imgpipe/app:oci');
    const r = await img('img-copy', [
      '--src-daemon-host',
      d.host,
      '--dest-tls-verify=false',
      'docker-daemon:imgpipe/app:oci',
      `docker://${reg.host}/back/app:1`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const raw = JSON.parse((await s.sk(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/back/app:1`])).stdout);
    expect(raw.config.digest).toBe(info.Id);
    const config = JSON.parse((await s.sk(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${reg.host}/back/app:1`])).stdout);
    expect(config.rootfs.diff_ids).toEqual(info.RootFS.Layers);
    // skopeo copies it on into a fresh engine tag: the same image.
    await s.sk(['copy', '--src-tls-verify=false', '--dest-daemon-host', d.host, `docker://${reg.host}/back/app:1`, 'docker-daemon:skopeo/back:1']);
    expect((await inspectImage('skopeo/back:1')).Id).toBe(info.Id);
  });

  it.each([
    ['dir:', (w: string) => `dir:${join(work, `rt-${w}-dir`)}`],
    ['docker-archive:', (w: string) => `docker-archive:${join(work, `rt-${w}.tar`)}:rt/app:1`],
    ['oci:', (w: string) => `oci:${join(work, `rt-${w}-oci`)}:app`],
    ['oci-archive:', (w: string) => `oci-archive:${join(work, `rt-${w}-oci.tar`)}:app`],
  ])('docker-daemon → %s → docker-daemon: the image skopeo brings back (same ID and diff IDs)', async (kind, mid) => {
    const info = await inspectImage('imgpipe/app:v2s2');
    const tag = kind.replace(/[^a-z]/g, '');
    const out = await img('img-copy', ['--src-daemon-host', d.host, 'docker-daemon:imgpipe/app:v2s2', mid('ours')]);
    expect(out.status, out.stderr).toBe(0);
    const back = await img('img-copy', ['--dest-daemon-host', d.host, mid('ours'), `docker-daemon:roundtrip/${tag}:1`]);
    expect(back.status, back.stderr).toBe(0);
    await s.sk(['copy', '--src-daemon-host', d.host, 'docker-daemon:imgpipe/app:v2s2', mid('skopeo')]);
    await s.sk(['copy', '--dest-daemon-host', d.host, mid('skopeo'), `docker-daemon:skopeo-roundtrip/${tag}:1`]);
    const again = await inspectImage(`roundtrip/${tag}:1`);
    const theirs = await inspectImage(`skopeo-roundtrip/${tag}:1`);
    expect(again.Id).toBe(theirs.Id);
    // oci: and oci-archive: hold OCI configs (rewritten on the way, as skopeo does): a new ID; the others keep the engine's.
    if (!kind.startsWith('oci')) expect(again.Id).toBe(info.Id);
    expect(again.RootFS.Layers).toEqual(info.RootFS.Layers);
    expect(tmpLeft()).toEqual([]);
  });

  it('img-manifest put docker-daemon:NAME:TAG loads a record from img-manifest get, and --explain passes the engine to every stage', async () => {
    const r = await s.sh(
      `img-manifest get --tls-verify=false docker://${SRC} | img-manifest put --src-tls-verify=false --dest-daemon-host ${d.host} docker-daemon:piped/app:1`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect((await inspectImage('piped/app:1')).Id).toBe((await inspectImage('imgpipe/app:oci')).Id);
    const ex = await img('img-copy', [
      '--explain',
      '--src-daemon-host',
      d.host,
      '--dest-daemon-host',
      'unix:///elsewhere.sock',
      'docker-daemon:a/b:1',
      'docker-daemon:c/d:1',
    ]);
    expect(ex.status, ex.stderr).toBe(0);
    expect(ex.stderr).toMatch(new RegExp(`img-manifest get docker-daemon:docker.io/a/b:1 .*--daemon-host=${d.host.replace(/[/.]/g, '\\$&')}`));
    expect(ex.stderr).toContain('--dest-daemon-host=unix:///elsewhere.sock');
  });

  it('img-copy saves the image once: its stages share the spooled save (IMGPIPE_SPOOL_DIR), removed at the end', async () => {
    // A counting proxy in front of the engine's socket.
    const sock = join(work, 'count.sock');
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const up = http.request({ socketPath: d.socket, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(sock, r));
    try {
      for (const dest of [`docker://${reg.host}/once/app:1`, `dir:${join(work, 'once-dir')}`]) {
        seen.length = 0;
        const r = await img('img-copy', ['--src-daemon-host', `unix://${sock}`, '--dest-tls-verify=false', 'docker-daemon:imgpipe/app:oci', dest]);
        expect(r.status, r.stderr).toBe(0);
        expect(
          seen.filter((x) => x.endsWith('/get')),
          seen.join('\n'),
        ).toHaveLength(1);
      }
    } finally {
      proxy.close();
    }
    expect(readdirSync(s.env.TMPDIR!).filter((n) => n.startsWith('imgpipe-spool-'))).toEqual([]);
  });

  it('tcp:// with TLS: ca.pem, cert.pem and key.pem from --cert-dir (--src-cert-dir, --dest-cert-dir), as skopeo', async () => {
    const tcp = d.tcpHost!;
    const ours = await img('img-manifest', ['get', '--raw', '--daemon-host', tcp, '--cert-dir', TLS_DIR, 'docker-daemon:imgpipe/app:oci']);
    expect(ours.status, ours.stderr).toBe(0);
    const theirs = await s.sk(['inspect', '--raw', '--daemon-host', tcp, '--cert-dir', TLS_DIR, 'docker-daemon:imgpipe/app:oci']);
    expect(ours.stdout).toBe(theirs.stdout);
    // --tls-verify=false: the server's certificate is not checked (the engine still wants the client's).
    const unverified = await img('img-manifest', [
      'get',
      '--raw',
      '--daemon-host',
      tcp,
      '--cert-dir',
      CLIENT_ONLY,
      '--tls-verify=false',
      'docker-daemon:imgpipe/app:oci',
    ]);
    expect(unverified.status, unverified.stderr).toBe(0);
    const copy = await img('img-copy', [
      '--src-daemon-host',
      tcp,
      '--src-cert-dir',
      TLS_DIR,
      '--dest-daemon-host',
      tcp,
      '--dest-cert-dir',
      TLS_DIR,
      'docker-daemon:imgpipe/app:oci',
      'docker-daemon:over/tls:1',
    ]);
    expect(copy.status, copy.stderr).toBe(0);
    expect((await inspectImage('over/tls:1')).Id).toBe((await inspectImage('imgpipe/app:oci')).Id);
    // Without the CA the engine's certificate is not trusted; without a client certificate the engine refuses.
    const untrusted = await img('img-manifest', ['get', '--raw', '--daemon-host', tcp, 'docker-daemon:imgpipe/app:oci']);
    expect(untrusted.status).toBe(1);
    oneLine(untrusted.stderr, tcp, 'docker-daemon:docker.io/imgpipe/app:oci', 'TLS', '--cert-dir');
    const noClient = await img('img-manifest', ['get', '--raw', '--daemon-host', tcp, '--cert-dir', CA_ONLY, 'docker-daemon:imgpipe/app:oci']);
    expect(noClient.status).toBe(1);
    oneLine(noClient.stderr, tcp, 'cert.pem');
  });

  describe('bad input: one line naming the engine and the reference and what to do, exit 1, nothing half-loaded', () => {
    it('no engine at the socket', async () => {
      const host = `unix://${join(work, 'none.sock')}`;
      const r = await img('img-manifest', ['get', '--daemon-host', host, 'docker-daemon:imgpipe/app:oci']);
      expect(r.status).toBe(1);
      oneLine(r.stderr, host, 'docker-daemon:docker.io/imgpipe/app:oci', 'start dockerd', '--daemon-host');
      const w = await img('img-copy', ['--src-tls-verify=false', '--dest-daemon-host', host, `docker://${SRC}`, 'docker-daemon:x/y:1']);
      expect(w.status).toBe(1);
      expect(w.stderr).toContain(host);
      expect(w.stderr).toContain('start dockerd');
      // The default engine, through $DOCKER_HOST.
      const e = await exec(join(ROOT, 'bin', 'img-manifest'), ['get', 'docker-daemon:imgpipe/app:oci'], undefined, { ...s.env, DOCKER_HOST: host });
      expect(e.status).toBe(1);
      oneLine(e.stderr, host, 'start dockerd');
    });

    it('a socket without permission', async () => {
      // As nobody: the engine's socket (in its 0700 directory) cannot be reached.
      const r = await exec(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          '--',
          process.execPath,
          join(ROOT, 'dist', 'img-manifest.mjs'),
          'get',
          '--daemon-host',
          d.host,
          'docker-daemon:imgpipe/app:oci',
        ],
        undefined,
        {
          ...s.env,
          HOME: '/nonexistent',
          TMPDIR: '/tmp',
        },
      );
      expect(r.status).toBe(1);
      oneLine(r.stderr, d.host, 'docker-daemon:docker.io/imgpipe/app:oci', 'permission denied', '--daemon-host');
    });

    it('an image the engine does not have', async () => {
      const r = await img('img-manifest', ['get', '--daemon-host', d.host, 'docker-daemon:imgpipe/nothing:1']);
      expect(r.status).toBe(1);
      oneLine(r.stderr, d.host, 'docker-daemon:docker.io/imgpipe/nothing:1', 'docker pull');
      expect(records(r.stdout)[0]!.error.code).toBe('MANIFEST_UNKNOWN');
      const b = await img('img-blob-get', ['--daemon-host', d.host, `docker-daemon:sha256:${'0'.repeat(64)}@sha256:${'1'.repeat(64)}`]);
      expect(b.status).toBe(1);
      oneLine(b.stderr, d.host, `docker-daemon:sha256:${'0'.repeat(64)}`, 'docker images');
    });

    it('an engine that answers with an error body', async () => {
      // A stand-in engine on a unix socket: /_ping answers, everything else gets a 500 with a message.
      const sock = join(work, 'fake.sock');
      const server = http.createServer((req, res) => {
        if (req.url === '/_ping') {
          res.writeHead(200, { 'API-Version': '1.40' });
          res.end('OK');
          return;
        }
        // As dockerd, the body (a load's tar) is read before the answer.
        req.on('end', () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: `engine broke on ${req.method} ${req.url}` }));
        });
        req.resume();
      });
      await new Promise<void>((r) => server.listen(sock, r));
      try {
        const r = await img('img-manifest', ['get', '--daemon-host', `unix://${sock}`, 'docker-daemon:imgpipe/app:oci']);
        expect(r.status).toBe(1);
        // The version was negotiated down to the engine's.
        oneLine(
          r.stderr,
          `unix://${sock}`,
          'docker-daemon:docker.io/imgpipe/app:oci',
          'engine broke on GET /v1.40/images/docker.io/imgpipe/app:oci/json',
          'HTTP 500',
        );
        const w = await img('img-copy', ['--src-tls-verify=false', '--dest-daemon-host', `unix://${sock}`, `docker://${SRC}`, 'docker-daemon:x/y:1']);
        expect(w.status).toBe(1);
        expect(w.stderr).toContain('engine broke on POST /v1.40/images/load');
      } finally {
        server.close();
      }
    });

    it('an image the engine refuses to load (its errorDetail), and a copy cut half way: nothing is loaded', async () => {
      const before = await images();
      // A layer that is not a tar: the engine reads the whole body, then refuses it.
      const bad = join(work, 'bad-dir');
      writeDirImage(bad, { seed: 'not a tar' });
      const r = await img('img-copy', ['--dest-daemon-host', d.host, `dir:${bad}`, 'docker-daemon:bad/image:1']);
      expect(r.status).toBe(1);
      oneLine(r.stderr, d.host, 'docker-daemon:docker.io/bad/image:1', 'refused the image (nothing was loaded)');
      // A source whose second layer is corrupt: the request is cut after the first layer was sent.
      const cut = join(work, 'cut-dir');
      mkdirSync(cut, { recursive: true });
      const sk = await img('img-copy', ['--src-tls-verify=false', `docker://${SRC}`, `dir:${cut}`]);
      expect(sk.status, sk.stderr).toBe(0);
      const m = JSON.parse((await exec('cat', [join(cut, 'manifest.json')])).stdout);
      expect(m.layers.length).toBeGreaterThan(1);
      writeFileSync(join(cut, m.layers[1].digest.slice(7)), Buffer.alloc(m.layers[1].size, 7));
      const c = await img('img-copy', ['--dest-daemon-host', d.host, `dir:${cut}`, 'docker-daemon:cut/image:1']);
      expect(c.status).toBe(1);
      expect(c.stderr).toContain('docker-daemon:docker.io/cut/image:1');
      expect(await images()).toEqual(before);
      expect(tmpLeft()).toEqual([]);
    });

    it('a destination that is not NAME:TAG, and an index without a platform picked', async () => {
      const id = (await inspectImage('imgpipe/app:oci')).Id;
      for (const dest of [`docker-daemon:${id}`, `docker-daemon:imgpipe/app@${id}`]) {
        const r = await img('img-copy', ['--src-tls-verify=false', '--dest-daemon-host', d.host, `docker://${SRC}`, dest]);
        expect(r.status).toBe(1);
        oneLine(r.stderr, 'must be NAME:TAG');
      }
      // An index of two images in an oci: layout.
      const L = join(work, 'multi');
      const children: { digest: string; size: number; arch: string }[] = [];
      for (const arch of ['amd64', 'arm64']) {
        const src = join(work, `multi-src-${arch}`);
        const im = writeDirImage(src, { seed: arch });
        // its layer kept uncompressed, so that the index below names the children as stored
        await must(
          s.sh(`img-manifest get dir:${src} | img-ref --dest oci:${L}:${arch} | img-blob-put --dest-oci-accept-uncompressed-layers | img-manifest put`),
          'multi child',
        );
        children.push({ digest: im.digest, size: im.manifest.length, arch });
      }
      const index = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: c.digest,
          size: c.size,
          platform: { os: 'linux', architecture: c.arch },
        })),
      };
      await must(img('img-manifest', ['put', `oci:${L}:multi`], JSON.stringify({ raw: JSON.stringify(index) })), 'index put');
      const r = await img('img-copy', ['--all', '--dest-daemon-host', d.host, `oci:${L}:multi`, 'docker-daemon:multi/image:1']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('--platform');
      expect(r.stderr).toContain('--multi-arch system');
      expect(r.stderr).toContain('docker-daemon:docker.io/multi/image:1');
    });

    it('an invalid engine host', async () => {
      for (const [host, says] of [
        ['ssh://me@example', 'ssh:// engines are not supported'],
        ['unix://relative.sock', 'must be absolute'],
        ['tcp://host:99999', 'out of range'],
      ]) {
        const r = await img('img-manifest', ['get', '--daemon-host', host!, 'docker-daemon:imgpipe/app:oci']);
        expect(r.status, r.stderr).not.toBe(0);
        oneLine(r.stderr, host!, says!);
      }
    });
  });

  it('the spooled save is removed when the reader is killed (SIGTERM) as when it ends', async () => {
    // img-blob-get spools the save, then opens its output: a FIFO nobody reads holds it there.
    const fifo = join(work, 'blob.fifo');
    await must(exec('mkfifo', [fifo]), 'mkfifo');
    const config = (await inspectImage('imgpipe/app:oci')).Id;
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'img-blob-get.mjs'), '--daemon-host', d.host, '-o', fifo, `docker-daemon:imgpipe/app:oci@${config}`],
      {
        env: { ...process.env, ...s.env },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<string | null>((res) => child.on('close', (_c, sig) => res(sig)));
    for (let i = 0; i < 100 && tmpLeft().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(tmpLeft().filter((n) => n.endsWith('docker-save.tar'))).toHaveLength(1);
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(tmpLeft()).toEqual([]);
  });
});
