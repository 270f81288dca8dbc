/**
 * containers-storage: against real podman (Debian's podman 4.3, rootful, vfs, private stores made
 * here: --root DIR --runroot DIR --storage-driver vfs), with skopeo 1.9.3 writing and reading the
 * same stores (`containers-storage:[vfs@ROOT+RUNROOT]NAME`) and the podman CLI as the oracles.
 * Without root (or podman) these cases are skipped, and a skipped case says why.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarOf } from '../helpers/fixtures.js';
import { dockerdUnavailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { must, umociImage } from '../helpers/images.js';
import { killServices, podmanServices, podmanStore, podmanUnavailable, type PodmanStore } from '../helpers/podman.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, ROOT, tempDir } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';

const why = podmanUnavailable();
const work = tempDir('imgpipe-cs-');
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let reg: Registry;
let s: Sandbox;
/** imgpipe writes into `ours`, skopeo into `theirs` (the oracle). */
let ours: PodmanStore;
let theirs: PodmanStore;
/** a store holding the OCI image alone, as example.com/app:oci-only */
let only: PodmanStore;
/**
 * The source images in the registry: an OCI image (umoci, gzip layers), a Docker schema 2 image (of
 * another umoci image), and the OCI image's Docker schema 2 copy, which has the same config: in a
 * store that is one image (one ID) holding two manifests.
 */
let SRC: string;
let SRC_V2: string;
let SRC_SAME: string;

const img = (cmd: string, args: string[], input?: string) => s.img(cmd, args, input);
const TLS = '--src-tls-verify=false';

/** oneLine checks a failed command's stderr: one line, naming what it must name. */
function oneLine(stderr: string, ...parts: (string | RegExp)[]): void {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines, stderr).toHaveLength(1);
  for (const p of parts) {
    if (typeof p === 'string') expect(lines[0]).toContain(p);
    else expect(lines[0]).toMatch(p);
  }
}

/** leftovers are what imgpipe must not leave behind: its services' private dirs and temp files in TMPDIR, podman services on the test's stores. */
function leftovers(): string[] {
  const tmp = readdirSync(s.env.TMPDIR!).filter((n) => n.startsWith('imgpipe-podman-') || n.startsWith('.imgpipe-tmp-'));
  return [...tmp, ...podmanServices(work).map((p) => `podman service ${p}`)];
}

/** noLeftovers waits a little (a killed run's watchdog stops podman within seconds) and checks. */
async function noLeftovers(waitMs = 0): Promise<void> {
  const until = Date.now() + waitMs;
  while (leftovers().length > 0 && Date.now() < until) await sleep(100);
  expect(leftovers()).toEqual([]);
}

beforeAll(async () => {
  if (why) return;
  s = sandbox(work);
  ours = podmanStore(join(work, 'ours'), s.env);
  theirs = podmanStore(join(work, 'theirs'), s.env);
  reg = await startRegistry();
  const L = join(work, 'layout');
  await umociImage(work, L, 'app');
  await umociImage(work, L, 'other');
  SRC = `${reg.host}/src/app:1`;
  SRC_V2 = `${reg.host}/src/app:v2s2`;
  SRC_SAME = `${reg.host}/src/app:same-config`;
  await s.sk(['copy', '--dest-tls-verify=false', `oci:${L}:app`, `docker://${SRC}`]);
  await s.sk(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${L}:other`, `docker://${SRC_V2}`]);
  await s.sk(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${L}:app`, `docker://${SRC_SAME}`]);
  only = podmanStore(join(work, 'only'), s.env);
  await s.sk(['copy', TLS, `docker://${SRC}`, only.ref('example.com/app:oci-only')]);
}, 120_000);

afterAll(async () => {
  killServices(work);
  await reg?.stop();
}, 60_000);

it.runIf(why !== undefined)(`containers-storage e2e skipped: ${why}`, () => undefined);

describe.skipIf(why !== undefined)('containers-storage: with real podman', () => {
  it.each([
    ['an OCI image', () => SRC, 'oci'],
    ['a Docker schema 2 image', () => SRC_V2, 'v2s2'],
  ])('registry → containers-storage (%s): the image skopeo stores, same ID, diff IDs and manifest digest', async (_what, src, tag) => {
    const r = await img('img-copy', [TLS, `docker://${src()}`, ours.ref(`example.com/app:${tag}`)]);
    expect(r.status, r.stderr).toBe(0);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ dest: ours.ref(`example.com/app:${tag}`), status: 'copied' });
    await s.sk(['copy', TLS, `docker://${src()}`, theirs.ref(`example.com/app:${tag}`)]);
    const a = await ours.inspect(`example.com/app:${tag}`);
    const b = await theirs.inspect(`example.com/app:${tag}`);
    expect(a.Id).toBe(b.Id);
    expect(a.RootFS.Layers).toEqual(b.RootFS.Layers);
    // The registry's manifest is kept, as skopeo keeps it: podman images --digests shows its digest.
    const registryRaw = await s.sk(['inspect', '--raw', '--tls-verify=false', `docker://${src()}`]);
    expect(a.Digest).toBe(sha256(registryRaw.stdoutBytes));
    expect(b.Digest).toBe(a.Digest);
    expect(rec!.digest).toBe(a.Digest);
    expect(a.RepoTags).toEqual([`example.com/app:${tag}`]);
    await noLeftovers(5000);
  });

  it('the same config under another manifest: one image holding both manifests, as skopeo stores it', async () => {
    const r = await img('img-copy', [TLS, `docker://${SRC_SAME}`, ours.ref('example.com/app:same')]);
    expect(r.status, r.stderr).toBe(0);
    await s.sk(['copy', TLS, `docker://${SRC_SAME}`, theirs.ref('example.com/app:same')]);
    const a = await ours.inspect('example.com/app:same');
    const b = await theirs.inspect('example.com/app:same');
    expect(a.Id).toBe((await ours.inspect('example.com/app:oci')).Id);
    expect(a.Id).toBe(b.Id);
    const digest = sha256((await s.sk(['inspect', '--raw', '--tls-verify=false', `docker://${SRC_SAME}`])).stdoutBytes);
    expect(records(r.stdout)[0]!.digest).toBe(digest);
    for (const x of [a, b]) expect((x as unknown as { RepoDigests: string[] }).RepoDigests).toContain(`example.com/app@${digest}`);
    // podman names the image by its first manifest's digest, for both names: as with skopeo's copy.
    expect(a.Digest).toBe(b.Digest);
  });

  it('img-manifest get --raw equals skopeo inspect --raw: by NAME:TAG, @ID, NAME@ID and NAME@DIGEST, on a store skopeo wrote and on ours', async () => {
    for (const store of [ours, theirs]) {
      const info = await store.inspect('example.com/app:oci');
      const same = sha256((await s.sk(['inspect', '--raw', '--tls-verify=false', `docker://${SRC_SAME}`])).stdoutBytes);
      for (const name of [
        'example.com/app:oci',
        `@${info.Id}`,
        info.Id,
        `example.com/app@${info.Id}`,
        `example.com/app@${info.Digest}`,
        `example.com/app@${same}`,
        'example.com/app:v2s2',
        'example.com/app:same',
      ]) {
        const ours_ = await img('img-manifest', ['get', '--raw', store.ref(name)]);
        expect(ours_.status, `${name}: ${ours_.stderr}`).toBe(0);
        const theirs_ = await s.sk(['inspect', '--raw', store.ref(name)]);
        expect(ours_.stdoutBytes.equals(theirs_.stdoutBytes), name).toBe(true);
      }
    }
  });

  it('img-manifest get --inspect agrees with skopeo inspect on every key skopeo prints', async () => {
    const id = (await theirs.inspect('example.com/app:oci')).Id;
    for (const ref of [theirs.ref('example.com/app:oci'), theirs.ref('example.com/app:v2s2'), ours.ref('example.com/app:oci'), theirs.ref(`@${id}`)]) {
      const mine = await img('img-manifest', ['get', '--inspect', ref]);
      expect(mine.status, mine.stderr).toBe(0);
      const sk = JSON.parse((await s.sk(['inspect', ref])).stdout);
      const got = JSON.parse(mine.stdout);
      expect(Object.keys(sk).length).toBeGreaterThan(5);
      for (const k of Object.keys(sk)) expect(got[k], `${ref}: ${k}`).toEqual(sk[k]);
    }
  });

  it('img-manifest get: the record keeps the stored manifest and digest, and its manifest names the layers the store gives (uncompressed, by diff ID)', async () => {
    for (const [name, layerType] of [
      ['example.com/app:v2s2', 'application/vnd.docker.image.rootfs.diff.tar'],
      [`example.com/app@${(await ours.inspect('example.com/app:oci')).Digest}`, 'application/vnd.oci.image.layer.v1.tar'],
    ] as const) {
      const info = await ours.inspect(name);
      const r = await img('img-manifest', ['get', ours.ref(name)]);
      expect(r.status, r.stderr).toBe(0);
      const [rec] = records(r.stdout);
      const raw = await s.sk(['inspect', '--raw', ours.ref(name)]);
      expect(rec!.raw).toBe(raw.stdout);
      expect(rec!.digest).toBe(sha256(raw.stdoutBytes));
      expect(rec!.manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(info.RootFS.Layers);
      expect(rec!.manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(info.RootFS.Layers.map(() => layerType));
    }
    const info = await ours.inspect('example.com/app:v2s2');
    // img-blob-get: the config (digest = image ID) and each layer by diff ID; a compressed layer the store does not keep, in one line.
    for (const digest of [`sha256:${info.Id}`, ...info.RootFS.Layers]) {
      const b = await img('img-blob-get', [`${ours.ref('example.com/app:v2s2')}@${digest}`]);
      expect(b.status, b.stderr).toBe(0);
      expect(sha256(b.stdoutBytes)).toBe(digest);
    }
    const compressed = JSON.parse((await s.sk(['inspect', '--raw', ours.ref('example.com/app:v2s2')])).stdout).layers[0].digest;
    const bad = await img('img-blob-get', [`${ours.ref('example.com/app:v2s2')}@${compressed}`]);
    expect(bad.status).toBe(1);
    oneLine(bad.stderr, compressed, 'compressed layer', 'img-manifest get');
  });

  it('containers-storage → registry: skopeo reads the pushed image with the same config digest and diff IDs, and it comes back as the same image', async () => {
    const info = await ours.inspect('example.com/app:v2s2');
    const back = `docker://${reg.host}/back/app:1`;
    const r = await img('img-copy', ['--dest-tls-verify=false', ours.ref('example.com/app:v2s2'), back]);
    expect(r.status, r.stderr).toBe(0);
    const raw = JSON.parse((await s.sk(['inspect', '--raw', '--tls-verify=false', back])).stdout);
    expect(raw.config.digest).toBe(`sha256:${info.Id}`);
    const config = JSON.parse((await s.sk(['inspect', '--config', '--raw', '--tls-verify=false', back])).stdout);
    expect(config.rootfs.diff_ids).toEqual(info.RootFS.Layers);
    expect(raw.layers).toHaveLength(info.RootFS.Layers.length);
    const again = await img('img-copy', [TLS, back, ours.ref('example.com/back:1')]);
    expect(again.status, again.stderr).toBe(0);
    const b = await ours.inspect('example.com/back:1');
    expect(b.Id).toBe(info.Id);
    expect(b.RootFS.Layers).toEqual(info.RootFS.Layers);
    // skopeo takes the pushed image into its store as the same image.
    await s.sk(['copy', TLS, back, theirs.ref('example.com/back:1')]);
    expect((await theirs.inspect('example.com/back:1')).Id).toBe(info.Id);
  });

  it.each([
    ['dir:', (p: string) => `dir:${p}`, 'v2s2', true],
    ['oci:', (p: string) => `oci:${p}:x`, 'oci-only', true],
    ['docker-archive:', (p: string) => `docker-archive:${p}.tar:example.com/x:1`, 'v2s2', true],
    // A Docker image written to oci: is converted to OCI (its config rewritten, as skopeo does): same diff IDs, another ID.
    ['oci: (a Docker image)', (p: string) => `oci:${p}:x`, 'v2s2', false],
  ])('containers-storage → %s and back: the same diff IDs (and image ID)', async (name, dest, tag, sameID) => {
    // oci-only: a store where the OCI image holds its OCI manifest only (in `ours` it holds the Docker one too, and serves the last stored, as skopeo does).
    const store = tag === 'oci-only' ? only : ours;
    const info = await store.inspect(`example.com/app:${tag}`);
    const at = dest(join(work, `via-${name.replace(/\W+/g, '-')}`));
    const out = await img('img-copy', [store.ref(`example.com/app:${tag}`), at]);
    expect(out.status, out.stderr).toBe(0);
    const back = ours.ref(`example.com/via:${name.replace(/\W+/g, '')}`);
    const r = await img('img-copy', [at, back]);
    expect(r.status, r.stderr).toBe(0);
    const b = await ours.inspect(`example.com/via:${name.replace(/\W+/g, '')}`);
    expect(b.RootFS.Layers).toEqual(info.RootFS.Layers);
    if (sameID) expect(b.Id).toBe(info.Id);
    else expect(b.Id).not.toBe(info.Id);
    // skopeo reads what imgpipe stored.
    await s.sk(['inspect', back]);
  });

  it('img-manifest delete: by NAME:TAG the name goes (the image with its last name), by ID the image, refused while it has other names', async () => {
    const store = podmanStore(join(work, 'del'), s.env);
    for (const t of ['1', '2']) expect((await img('img-copy', [TLS, `docker://${SRC}`, store.ref(`example.com/del:${t}`)])).status).toBe(0);
    const id = (await store.inspect('example.com/del:1')).Id;
    const refused = await img('img-manifest', ['delete', store.ref(`@${id}`)]);
    expect(refused.status).toBe(1);
    oneLine(refused.stderr, 'more than one tag', 'never forces');
    const one = await img('img-manifest', ['delete', store.ref('example.com/del:1')]);
    expect(one.status, one.stderr).toBe(0);
    expect(await store.images()).toEqual([`sha256:${id} example.com/del:2 ${(await store.inspect('example.com/del:2')).Digest}`]);
    const all = await img('img-manifest', ['delete', store.ref(`@${id}`)]);
    expect(all.status, all.stderr).toBe(0);
    expect(await store.images()).toEqual([]);
  });

  describe.skipIf(dockerdUnavailable() !== undefined)('with a Docker engine', () => {
    let d: Dockerd;
    beforeAll(async () => {
      d = await startDockerd();
    }, 90_000);
    afterAll(async () => {
      await d?.stop();
    }, 60_000);
    it('containers-storage → docker-daemon: and back: the same image ID and diff IDs', async () => {
      const info = await ours.inspect('example.com/app:oci');
      const out = await img('img-copy', ['--dest-daemon-host', d.host, ours.ref('example.com/app:oci'), 'docker-daemon:imgpipe/cs:1']);
      expect(out.status, out.stderr).toBe(0);
      const r = await img('img-copy', ['--src-daemon-host', d.host, 'docker-daemon:imgpipe/cs:1', ours.ref('example.com/from-daemon:1')]);
      expect(r.status, r.stderr).toBe(0);
      const b = await ours.inspect('example.com/from-daemon:1');
      expect(b.Id).toBe(info.Id);
      expect(b.RootFS.Layers).toEqual(info.RootFS.Layers);
    });
  });

  it('img-sync --dest containers-storage names images PREFIX/NAME:TAG with the registry digests; a re-run moves nothing', async () => {
    const store = podmanStore(join(work, 'sync'), s.env);
    const prefix = `containers-storage:[${store.spec}]localhost/mirror`;
    const r = await img('img-sync', ['--src', 'docker', '--dest', 'containers-storage', TLS, `${reg.host}/src/app`, prefix]);
    expect(r.status, r.stderr).toBe(0);
    const recs = records(r.stdout);
    const tags = ['1', 'same-config', 'v2s2'];
    expect(recs.map((x) => x.dest).sort()).toEqual(tags.map((t) => store.ref(`localhost/mirror/app:${t}`)));
    expect(recs.every((x) => x.status === 'copied')).toBe(true);
    for (const tag of tags) {
      const raw = await s.sk(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/src/app:${tag}`]);
      const info = await store.inspect(`localhost/mirror/app:${tag}`);
      expect((info as unknown as { RepoDigests: string[] }).RepoDigests).toContain(`localhost/mirror/app@${sha256(raw.stdoutBytes)}`);
      expect(recs.find((x) => x.dest === store.ref(`localhost/mirror/app:${tag}`))!.digest).toBe(sha256(raw.stdoutBytes));
    }
    const before = await store.images();
    const again = await img('img-sync', ['--src', 'docker', '--dest', 'containers-storage', TLS, `${reg.host}/src/app`, prefix]);
    expect(again.status, again.stderr).toBe(0);
    // Two tags share one image there (same config): it holds both manifests, and neither is copied again.
    expect(records(again.stdout).map((x) => x.status)).toEqual(['exists', 'exists', 'exists']);
    expect(await store.images()).toEqual(before);
    await noLeftovers(5000);
  });

  it('kill -9 during a write, then a re-run: no service or temp dir is left, and the store lists the image once, complete', async () => {
    const store = podmanStore(join(work, 'kill'), s.env);
    const slow = await slowRegistry();
    try {
      const src = `docker://${slow.host}/slow/img:1`;
      const dest = store.ref('example.com/slow:1');
      const varTmp = new Set(readdirSync('/var/tmp'));
      const child = spawn(join(ROOT, 'bin', 'img-copy'), [TLS, src, dest], { env: { ...process.env, ...s.env }, stdio: 'ignore', detached: true });
      // Half the layer is sent, and podman is receiving the archive (its load temp file grows): kill the whole run.
      const deadline = Date.now() + 30_000;
      while (!(slow.halfSent() && loadReceiving()) && Date.now() < deadline) await sleep(20);
      expect(slow.halfSent() && loadReceiving()).toBe(true);
      process.kill(-child.pid!, 'SIGKILL');
      await noLeftovers(15_000);
      expect(await store.images()).toEqual([]);
      // Nor anything of podman's in /var/tmp (where podman 4.3 unpacks an archive it loads, whatever TMPDIR says).
      expect(readdirSync('/var/tmp').filter((n) => !varTmp.has(n) && /^(oci|storage)\d+$/.test(n))).toEqual([]);
      slow.release();
      const r = await img('img-copy', [TLS, src, dest]);
      expect(r.status, r.stderr).toBe(0);
      const listed = await store.images();
      expect(listed).toHaveLength(1);
      expect(listed[0]).toContain('example.com/slow:1');
      const info = await store.inspect('example.com/slow:1');
      expect(info.Id).toBe(slow.configDigest.slice('sha256:'.length));
      expect(info.RootFS.Layers).toEqual([slow.layerDigest]);
      const sk = JSON.parse((await s.sk(['inspect', dest])).stdout);
      expect(sk.Digest).toBe(info.Digest);
      await noLeftovers(5000);
    } finally {
      slow.release();
      await slow.stop();
    }
  });

  it('a running service: $CONTAINER_HOST=unix://… is used for references without a store specifier (no service of our own)', async () => {
    const store = podmanStore(join(work, 'svc'), s.env);
    // Fill the service's store with skopeo, then start a service on it, as systemd would.
    await s.sk(['copy', TLS, `docker://${SRC}`, store.ref('example.com/svc:1')]);
    const sock = join(work, 'svc', 'api.sock');
    const svc = spawn(
      'podman',
      [
        '--root',
        store.root,
        '--runroot',
        store.runroot,
        '--storage-driver',
        'vfs',
        '--events-backend',
        'none',
        'system',
        'service',
        '--time=0',
        `unix://${sock}`,
      ],
      {
        env: { ...process.env, ...s.env },
        stdio: 'ignore',
      },
    );
    try {
      const until = Date.now() + 30_000;
      while (!existsSync(sock) && Date.now() < until) await sleep(50);
      const env = { ...s.env, CONTAINER_HOST: `unix://${sock}` };
      const r = await exec(join(ROOT, 'bin', 'img-manifest'), ['get', '--raw', 'containers-storage:example.com/svc:1'], undefined, env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdoutBytes.equals((await s.sk(['inspect', '--raw', store.ref('example.com/svc:1')])).stdoutBytes)).toBe(true);
      expect(readdirSync(s.env.TMPDIR!).filter((n) => n.startsWith('imgpipe-podman-'))).toEqual([]);
      const gone = await exec(join(ROOT, 'bin', 'img-manifest'), ['get', 'containers-storage:example.com/svc:1'], undefined, {
        ...s.env,
        CONTAINER_HOST: `unix://${join(work, 'nothing.sock')}`,
      });
      expect(gone.status).toBe(1);
      oneLine(gone.stderr, 'CONTAINER_HOST', 'nothing.sock');
    } finally {
      svc.kill('SIGTERM');
      await new Promise((r) => svc.on('close', r));
    }
  });

  describe('bad input: one line naming the reference and what to do', () => {
    it('no podman binary in $PATH (exit 1)', async () => {
      const env = { ...s.env, PATH: `${join(ROOT, 'bin')}:/nonexistent` };
      const r = await exec(process.execPath, [join(ROOT, 'dist', 'img-manifest.mjs'), 'get', ours.ref('example.com/app:oci')], undefined, env);
      expect(r.status).toBe(1);
      oneLine(r.stderr, 'podman', '$PATH', 'Debian package podman');
    });

    it('an unknown image, an unknown image ID, an ID under another name (exit 1)', async () => {
      const info = await ours.inspect('example.com/app:oci');
      for (const [name, says] of [
        ['example.com/nope:1', 'no image example.com/nope:1'],
        [`@${'0'.repeat(64)}`, `no image with ID ${'0'.repeat(64)}`],
        [`example.com/other@${info.Id}`, 'no image example.com/other'],
      ] as const) {
        const r = await img('img-manifest', ['get', ours.ref(name)]);
        expect(r.status, name).toBe(1);
        oneLine(r.stderr, `[${ours.spec}]`, says, 'images lists what it has');
      }
      await noLeftovers(5000);
    });

    it('a malformed store specifier is a malformed reference (exit 2, as every malformed reference); a store podman refuses fails its start (exit 1)', async () => {
      for (const [ref, says] of [
        ['containers-storage:[vfs@relative+/r]x:1', 'not an absolute path'],
        ['containers-storage:[vfs@/r', 'unterminated'],
        ['containers-storage:[]x', 'is empty'],
        ['containers-storage:[@/r]x', 'empty driver'],
      ]) {
        const r = await img('img-manifest', ['get', ref!]);
        expect(r.status, ref).toBe(2);
        oneLine(r.stderr, says!);
      }
      const r = await img('img-manifest', ['get', `containers-storage:[nosuchdriver@${join(work, 'bad')}+${join(work, 'badrun')}]x:1`]);
      expect(r.status).toBe(1);
      oneLine(r.stderr, 'podman service imgpipe started for [nosuchdriver@', 'nosuchdriver');
      await noLeftovers(5000);
    });

    it('a store locked by another process for too long (exit 1)', async () => {
      const store = podmanStore(join(work, 'locked'), s.env);
      await must(store.podman(['images']), 'podman images');
      // Hold every lock file of the store, as a long pull would (fcntl locks, as containers/storage takes them).
      const locks = lockFiles(store.root).concat(lockFiles(store.runroot));
      const holder = spawn(
        'python3',
        [
          '-c',
          'import fcntl,sys\nfs=[open(p,"a") for p in sys.argv[1:]]\n[fcntl.lockf(f, fcntl.LOCK_EX) for f in fs]\nprint("held", flush=True)\nsys.stdin.read()',
          ...locks,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
        const env = { ...s.env, IMGPIPE_PODMAN_START_TIMEOUT_MS: '4000', IMGPIPE_PODMAN_CALL_TIMEOUT_MS: '4000' };
        const r = await exec(join(ROOT, 'bin', 'img-manifest'), ['get', store.ref('example.com/any:1')], undefined, env);
        expect(r.status).toBe(1);
        oneLine(r.stderr, `[${store.spec}]`, /locked by another process/);
      } finally {
        holder.stdin!.end();
        await new Promise((r) => holder.on('close', r));
      }
      await noLeftovers(15_000);
    });

    it('a destination that is not NAME[:TAG], and an index without a platform picked', async () => {
      const info = await ours.inspect('example.com/app:oci');
      for (const dest of [ours.ref(`@${info.Id}`), ours.ref(`example.com/x@${info.Digest}`)]) {
        const r = await img('img-copy', [TLS, `docker://${SRC}`, dest]);
        expect(r.status, dest).not.toBe(0);
        oneLine(r.stderr, 'NAME[:TAG]');
      }
      // An index in an OCI layout: copied without --platform (--multi-arch all) it is refused, saying how to pick one.
      const L = join(work, 'multi');
      await umociImage(work, L, 'amd');
      const idx = join(work, 'idx');
      await s.sk(['copy', `oci:${L}:amd`, `dir:${idx}`]);
      const m = readFileSync(join(idx, 'manifest.json'));
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m), size: m.length, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      });
      writeFileSync(join(idx, `${sha256(m).slice(7)}.manifest.json`), m);
      writeFileSync(join(idx, 'manifest.json'), index);
      const r = await img('img-copy', ['--multi-arch', 'all', `dir:${idx}`, ours.ref('example.com/multi:1')]);
      expect(r.status).toBe(1);
      // One line per record (the child, held for its index, fails with it).
      for (const line of r.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/multi-platform index.*--platform OS\/ARCH/);
      expect(await ours.podman(['image', 'exists', 'example.com/multi:1']).then((x) => x.status)).toBe(1);
    });
  });
});

/** lockFiles lists the *.lock files below a store directory. */
function lockFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 2) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.lock')) out.push(p);
    }
  };
  walk(dir, 0);
  return out;
}

/** loadReceiving says whether a podman service of ours is receiving a load: its temp file in the private TMPDIR has bytes. */
function loadReceiving(): boolean {
  for (const d of readdirSync(s.env.TMPDIR!).filter((n) => n.startsWith('imgpipe-podman-'))) {
    const tmp = join(s.env.TMPDIR!, d, 'tmp');
    try {
      for (const f of readdirSync(tmp)) if (f.startsWith('libpod-images-load') && statSync(join(tmp, f)).size > 0) return true;
    } catch {
      /* not yet */
    }
  }
  return false;
}

/**
 * slowRegistry serves one image (an uncompressed 4 MiB layer) over the registry API and sends the
 * first half of the layer, then holds the rest until release(): a copy from it stays in the middle
 * of its write for as long as the test needs.
 */
async function slowRegistry() {
  const tar = tarOf;
  const layer = tar(
    'big',
    Buffer.from(
      createHash('sha512')
        .update('slow')
        .digest('hex')
        .repeat(32 * 1024),
    ),
  );
  const layerDigest = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  let half = false;
  let released = false;
  const waiting: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const send = (status: number, body: Buffer, type: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'docker-content-digest': sha256(body), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url === '/v2/' || url === '/v2') return send(200, Buffer.from('{}'), 'application/json');
    if (/\/manifests\//.test(url)) return send(200, manifest, 'application/vnd.oci.image.manifest.v1+json');
    if (url.endsWith(`/blobs/${configDigest}`)) return send(200, config, 'application/octet-stream');
    if (url.endsWith(`/blobs/${layerDigest}`)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(layer.length), 'docker-content-digest': layerDigest });
      if (req.method === 'HEAD') return res.end();
      if (released) return res.end(layer);
      res.write(layer.subarray(0, layer.length / 2), () => (half = true));
      waiting.push(() => res.end(layer.subarray(layer.length / 2)));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"NOT_FOUND"}]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    layerDigest,
    configDigest,
    halfSent: () => half,
    release: () => {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
