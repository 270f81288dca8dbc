/**
 * sif: against skopeo 1.9.3 reading the same SIF files (written by test/helpers/sif.ts around a
 * squashfs from mksquashfs; singularity and apptainer are not in Debian). skopeo's layer tar changes
 * on every read (GNU tar's pax atime and ctime of a fresh unpacking), so the layer is compared by
 * structure, and the config and manifest byte for byte once skopeo's layer digest is put in place of
 * ours (docs/decisions.md, 23).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, img, records, ROOT, tempDir, type Result } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';
import { makeSif, sifUnavailable, type TreeEntry } from '../helpers/sif.js';

const why = sifUnavailable();
const work = tempDir('imgpipe-sif-');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let s: Sandbox;
let reg: Registry;
/** A SIF without a definition file (Cmd bash), amd64; one with %environment and %runscript, arm64; a larger one to kill a conversion of. */
let PLAIN: string;
let DEF: string;
let BIG: string;

const TREE: Record<string, TreeEntry> = {
  'etc/motd': { file: 'hello from a SIF\n' },
  'etc/owned': { file: 'owned by 1000\n', uid: 1000, gid: 1000 },
  'bin/hi': { file: '#!/bin/sh\necho hi\n', mode: 0o755 },
  'bin/su-ish': { file: 'setuid\n', mode: 0o4755 },
  'usr/share/motd': { symlink: '../../etc/motd' },
  'usr/share/motd-hard': { hardlink: 'etc/motd' },
  'var/private': { dir: true, mode: 0o700, uid: 1000, gid: 1000 },
  'var/empty': { dir: true },
  'run/fifo': { fifo: true },
  'data/with-xattr': { file: 'x\n', xattrs: { 'user.imgpipe': 'yes' } },
  [`deep/${'n'.repeat(120)}/${'m'.repeat(90)}`]: { file: 'a long path\n' },
};
const DEFFILE =
  'Bootstrap: docker\nFrom: alpine\n\n%environment\n    export FOO=bar\n    # a comment\n\n%runscript\n    echo "hello <&>"\n    exec "$@"\n%labels\n    A b\n';

const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...s.env, ...extra });
const ours = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, input?: string) => img(cmd, args, input, env(extra));
const skopeo = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
  const [sub, ...rest] = args;
  return exec('skopeo', ['--policy', join(work, 'policy.json'), sub!, ...rest], undefined, env(extra));
};
const ok = (r: Result, what: string) => {
  expect(r.status, `${what}: ${r.stderr}`).toBe(0);
  return r;
};
let n = 0;
const fresh = (name: string) => join(work, `${name}-${++n}`);

/** oneLine checks a failed command's stderr: one line, naming what it must name. */
function oneLine(r: Result, ...parts: string[]): void {
  expect(r.status).not.toBe(0);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
}

/** dirImage reads a dir: image: manifest, config and layer bytes (the layer is a plain tar there, as both tools keep it). */
function dirImage(dir: string) {
  const manifest = readFileSync(join(dir, 'manifest.json'));
  const m = JSON.parse(manifest.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number; mediaType: string }[] };
  const blob = (d: string) => readFileSync(join(dir, d.slice('sha256:'.length)));
  return { manifest, m, config: blob(m.config.digest), layer: blob(m.layers[0]!.digest), layerPath: join(dir, m.layers[0]!.digest.slice('sha256:'.length)) };
}

/**
 * tarEntries lists a tar's entries by name with what a container runtime uses (python's tarfile):
 * type, mode, owner numbers, mtime, size, link target, device numbers, xattrs and PAX records, and
 * the content's digest. A hard link is listed as the file it links to, since which of two linked
 * names comes first depends on the order of the archive.
 */
function tarEntries(path: string): Record<string, Record<string, unknown>> {
  const py = `
import hashlib, json, sys, tarfile
out = {}
with tarfile.open(sys.argv[1]) as t:
    ms = t.getmembers()
    by = {m.name: m for m in ms}
    for m in ms:
        src = by[m.linkname] if m.islnk() else m
        e = {'type': 'file' if m.islnk() else m.type.decode('latin1'), 'mode': oct(src.mode), 'uid': src.uid, 'gid': src.gid,
             'mtime': int(src.mtime), 'size': src.size, 'linkname': '' if m.islnk() else m.linkname,
             'dev': [m.devmajor, m.devminor], 'pax': {k: v for k, v in m.pax_headers.items()}}
        if src.isfile():
            e['sha'] = hashlib.sha256(t.extractfile(src).read()).hexdigest()
        out[m.name] = e
print(json.dumps({'entries': out, 'order': [m.name for m in ms], 'unames': sorted({m.uname for m in ms})}))
`;
  const r = spawnSync('python3', ['-c', py, path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** marked lists the processes whose environment holds a conversion mark of process `pid` (IMGPIPE_SIF_RUN=PID-…). */
function marked(pid: number): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (
        readFileSync(`/proc/${p}/environ`, 'latin1')
          .split('\0')
          .some((v) => v.startsWith(`IMGPIPE_SIF_RUN=${pid}-`))
      )
        out.push(p);
    } catch {
      /* gone, or a zombie */
    }
  }
  return out;
}

const sifDirs = () => readdirSync(s.env.TMPDIR!).filter((f) => f.startsWith('imgpipe-sif-'));

beforeAll(async () => {
  if (why) return;
  s = sandbox(work);
  PLAIN = join(work, 'plain.sif');
  DEF = join(work, 'def.sif');
  BIG = join(work, 'big.sif');
  makeSif(PLAIN, work, TREE, { uuid: '12345678123456781234567812345678', modified: 1_700_000_000 });
  makeSif(DEF, work, TREE, { arch: '04', uuid: 'aaaaaaaabbbbccccddddeeeeeeeeeeee', modified: 1_600_000_000, deffile: DEFFILE });
  // Incompressible, so that unpacking takes long enough to be killed midway.
  const big: Record<string, TreeEntry> = {};
  for (let i = 0; i < 12; i++) big[`data/f${i}`] = { file: randomBytes(6 << 20) };
  makeSif(BIG, work, big);
  reg = await startRegistry();
}, 120_000);

afterAll(async () => {
  await reg?.stop();
}, 60_000);

it.runIf(why !== undefined)(`sif e2e skipped: ${why}`, () => undefined);

describe.skipIf(why !== undefined)('sif: against skopeo', () => {
  it.each([
    ['no definition file', () => PLAIN, 'UTC'],
    ['a definition file', () => DEF, 'UTC'],
    ['no definition file', () => PLAIN, 'Asia/Kolkata'],
    ['a definition file', () => DEF, 'America/St_Johns'],
  ])("config and manifest (%s, TZ=%s): skopeo's bytes once its layer digest is replaced by ours", async (_what, sif, tz) => {
    const mine = fresh('ours');
    const theirs = fresh('skopeo');
    ok(await ours('img-copy', [`sif:${sif()}`, `dir:${mine}`], { TZ: tz }), 'img-copy');
    ok(await skopeo(['copy', '-q', `sif:${sif()}`, `dir:${theirs}`], { TZ: tz }), 'skopeo copy');
    const a = dirImage(mine);
    const b = dirImage(theirs);
    const [la, lb] = [a.m.layers[0]!, b.m.layers[0]!];
    const config = b.config.toString().split(lb.digest.slice(7)).join(la.digest.slice(7));
    expect(a.config.toString()).toBe(config);
    const manifest = b.manifest
      .toString()
      .replace(b.m.config.digest, a.m.config.digest)
      .replace(`"digest":"${lb.digest}","size":${lb.size}`, `"digest":"${la.digest}","size":${la.size}`);
    expect(a.manifest.toString()).toBe(manifest);
    expect(la.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    const cfg = JSON.parse(a.config.toString());
    expect(cfg.architecture).toBe(sif() === DEF ? 'arm64' : 'amd64');
    expect(cfg.config.Cmd).toEqual([sif() === DEF ? '/podman/runscript' : 'bash']);
    if (tz !== 'UTC') expect(cfg.created).toMatch(/[+-]\d\d:\d\d$/);
  });

  it("the layer holds what skopeo's holds: names, types, modes, owners, times, contents, links, xattrs", async () => {
    for (const sif of [PLAIN, DEF]) {
      const mine = fresh('ours');
      const theirs = fresh('skopeo');
      ok(await ours('img-copy', [`sif:${sif}`, `dir:${mine}`]), 'img-copy');
      ok(await skopeo(['copy', '-q', `sif:${sif}`, `dir:${theirs}`]), 'skopeo copy');
      const a = tarEntries(dirImage(mine).layerPath) as unknown as { entries: Record<string, any>; order: string[]; unames: string[] };
      const b = tarEntries(dirImage(theirs).layerPath) as unknown as { entries: Record<string, any>; order: string[]; unames: string[] };
      // skopeo's PAX records hold the unpacking's atime and ctime (and sub-second mtimes of what it wrote itself): ours hold neither.
      for (const e of Object.values(b.entries)) {
        delete e.pax.atime;
        delete e.pax.ctime;
        delete e.pax.mtime;
      }
      // The script and its directory: skopeo's are dated when it wrote them; ours at the SIF's modification time.
      if (sif === DEF) {
        for (const p of ['./podman', './podman/runscript']) {
          expect(a.entries[p].mtime).toBe(1_600_000_000);
          b.entries[p].mtime = 1_600_000_000;
        }
        expect(a.entries['./podman/runscript'].mode).toBe('0o755');
      }
      expect(a.entries).toEqual(b.entries);
      expect(Object.keys(a.entries)).toContain('./data/with-xattr');
      expect(a.entries['./data/with-xattr'].pax['SCHILY.xattr.user.imgpipe']).toBe('yes');
      expect(a.entries['./etc/owned'].uid).toBe(1000);
      expect(a.entries['./bin/su-ish'].mode).toBe('0o4755');
      // Ours: sorted by name, owners by number only.
      expect(a.order).toEqual([...a.order].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
      expect(a.unames).toEqual(['']);
    }
  });

  it('reads give the same bytes every time, in separate processes (skopeo: a new layer digest on each read)', async () => {
    const get = async () => JSON.parse(ok(await ours('img-manifest', ['get', '--raw', `sif:${PLAIN}`]), 'get').stdout);
    const [m1, m2] = [await get(), await get()];
    expect(m1).toEqual(m2);
    // A blob asked for by itself, in a process of its own: converted again, and verified against its digest.
    const layer = await ours('img-blob-get', [`sif:${PLAIN}@${m1.layers[0].digest}`]);
    expect(layer.status, layer.stderr).toBe(0);
    expect(sha256(layer.stdoutBytes)).toBe(m1.layers[0].digest);
    const config = await ours('img-blob-get', [`sif:${PLAIN}@${m1.config.digest}`]);
    expect(sha256(config.stdoutBytes)).toBe(m1.config.digest);
    // A shell pipeline of separate processes (no shared spool) copies it.
    const dest = fresh('piped');
    const r = ok(
      await exec(
        '/bin/bash',
        ['-o', 'pipefail', '-c', `img-manifest get sif:${PLAIN} | img-ref --dest dir:${dest} | img-blob-put | img-manifest put`],
        undefined,
        {
          ...s.env,
          PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`,
        },
      ),
      'pipeline',
    );
    expect(records(r.stdout)[0]).toMatchObject({ status: 'copied', dest: `dir:${dest}` });
    expect(JSON.parse(readFileSync(join(dest, 'manifest.json'), 'utf8'))).toEqual(m1);
    const sk = async () => JSON.parse(ok(await skopeo(['inspect', '--raw', `sif:${PLAIN}`]), 'skopeo inspect').stdout).layers[0].digest;
    expect(await sk()).not.toBe(await sk());
  });

  it("in a pipeline's spool directory (IMGPIPE_SPOOL_DIR) the layer is kept, and a later stage reads it without converting again", async () => {
    const spool = fresh('spool');
    mkdirSync(spool);
    const m = JSON.parse(ok(await ours('img-manifest', ['get', '--raw', `sif:${PLAIN}`], { IMGPIPE_SPOOL_DIR: spool }), 'get').stdout);
    expect(readdirSync(spool).sort()).toEqual([expect.stringMatching(/^sif-[0-9a-f]{32}\.json$/), expect.stringMatching(/^sif-[0-9a-f]{32}\.tar$/)]);
    // Without unsquashfs (nor fakeroot) in $PATH: only the kept layer can serve it.
    const bin = fresh('nodeonly');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    const layer = await ours('img-blob-get', [`sif:${PLAIN}@${m.layers[0].digest}`], { IMGPIPE_SPOOL_DIR: spool, PATH: bin });
    expect(layer.status, layer.stderr).toBe(0);
    expect(sha256(layer.stdoutBytes)).toBe(m.layers[0].digest);
  });

  it('img-copy into oci: (gzip, as skopeo) and a registry, which skopeo reads back; --inspect', async () => {
    const layout = fresh('layout');
    const r = ok(await ours('img-copy', [`sif:${DEF}`, `oci:${layout}:def`]), 'img-copy to oci:');
    const [rec] = records(r.stdout);
    expect(Object.values(rec!.layerUpdates as Record<string, { compression: string }>)[0]!.compression).toBe('gzip');
    const raw = JSON.parse(ok(await skopeo(['inspect', '--raw', `oci:${layout}:def`]), 'skopeo inspect').stdout);
    expect(raw.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const direct = JSON.parse(ok(await ours('img-manifest', ['get', '--raw', `sif:${DEF}`]), 'get').stdout);
    // The config, and so the diff ID and the image ID, stays.
    expect(raw.config.digest).toBe(direct.config.digest);
    const back = fresh('back');
    ok(await skopeo(['copy', '-q', `oci:${layout}:def`, `dir:${back}`]), 'skopeo copy back');
    expect(sha256(gunzipSync(dirImage(back).layer))).toBe(direct.layers[0].digest);

    const ref = `docker://${reg.host}/sif/def:1`;
    ok(await ours('img-copy', ['--dest-tls-verify=false', `sif:${DEF}`, ref]), 'img-copy to docker://');
    const cfg = JSON.parse(ok(await skopeo(['inspect', '--tls-verify=false', '--config', ref]), 'skopeo inspect --config').stdout);
    expect(cfg.rootfs.diff_ids).toEqual([direct.layers[0].digest]);

    const inspect = JSON.parse(ok(await ours('img-manifest', ['get', '--inspect', `sif:${DEF}`], { TZ: 'UTC' }), '--inspect').stdout);
    expect(inspect).toMatchObject({
      Digest: sha256(Buffer.from(JSON.stringify(direct))),
      Architecture: 'arm64',
      Os: 'linux',
      Created: '2020-09-13T12:26:40Z',
      Layers: [direct.layers[0].digest],
    });
    expect(inspect.Name).toBeUndefined();
  });

  it('is refused as a destination in one line, as skopeo refuses it, and the file is not touched', async () => {
    const layout = fresh('layout');
    ok(await ours('img-copy', [`sif:${PLAIN}`, `oci:${layout}:p`]), 'img-copy');
    const missing = join(work, 'new.sif');
    oneLine(await ours('img-copy', [`oci:${layout}:p`, `sif:${missing}`]), `sif:${missing}`, '"sif:" locations can only be read from, not written to');
    expect(existsSync(missing)).toBe(false);
    const before = sha256(readFileSync(DEF));
    oneLine(await ours('img-copy', [`oci:${layout}:p`, `sif:${DEF}`]), `sif:${DEF}`, 'can only be read from, not written to');
    const put = await ours('img-manifest', ['put', `sif:${missing}`], {}, ok(await ours('img-manifest', ['get', `oci:${layout}:p`]), 'get').stdout);
    oneLine(put, 'cannot write a manifest to', 'can only be read from');
    expect(sha256(readFileSync(DEF))).toBe(before);
    const sk = await skopeo(['copy', `oci:${layout}:p`, `sif:${missing}`]);
    expect(sk.stderr).toContain('locations can only be read from, not written to');
    // Before the source is opened (a source that is not there is not what fails), in skopeo's words:
    // imgpipe copy says what skopeo says, byte for byte but for the time.
    const gone = `dir:${join(work, 'no-such-image')}`;
    oneLine(await ours('img-copy', [gone, `sif:${missing}`]), `initializing destination sif:${missing}: "sif:" locations can only be read from`);
    const args = ['copy', gone, `sif:${missing}`];
    const [o, t] = await Promise.all([ours('imgpipe', ['--policy', join(work, 'policy.json'), ...args]), skopeo(args)]);
    const logs = (r: Result) => r.stderr.replace(/^time="[^"]*" /gm, '');
    expect({ status: o.status, stdout: o.stdout, stderr: logs(o) }).toEqual({ status: t.status, stdout: t.stdout, stderr: logs(t) });
    expect(logs(o)).toContain('initializing destination');
    // img-blob-put given a record bound for sif: moves nothing: its error record names the destination, not the missing source.
    const rec = JSON.stringify({ ref: gone, dest: `sif:${missing}`, raw: '{}' });
    const moved = await ours('img-blob-put', [], {}, rec);
    expect(moved.status).toBe(1);
    expect(records(moved.stdout)[0]!.error).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining(`initializing destination sif:${missing}`) });
    expect(existsSync(missing)).toBe(false);
  });

  it('bad input: one line naming the file and what is wrong', async () => {
    oneLine(await ours('img-manifest', ['get', `sif:${join(work, 'none.sif')}`]), 'there is no SIF file at', 'none.sif');
    const junk = join(work, 'junk.sif');
    writeFileSync(junk, 'not a SIF file\n'.repeat(20));
    oneLine(await ours('img-manifest', ['get', `sif:${junk}`]), 'junk.sif', 'invalid SIF magic');
    oneLine(await ours('img-manifest', ['get', `sif:${work}`]), 'is a directory, not a regular file');
    oneLine(await ours('img-ref', ['sif:']), 'sif: needs a path');
    // Without unsquashfs in $PATH: what to install.
    const bin = fresh('bin');
    mkdirSync(bin);
    for (const [name, target] of [
      ['node', process.execPath],
      ['fakeroot', '/usr/bin/fakeroot'],
      ['tar', '/usr/bin/tar'],
    ] as const)
      symlinkSync(target, join(bin, name));
    oneLine(await ours('img-manifest', ['get', `sif:${PLAIN}`], { PATH: bin }), 'needs unsquashfs', 'Debian package squashfs-tools');
  });

  it('leaves nothing behind: its temp directory goes at the end, and killed midway its processes end too', async () => {
    ok(await ours('img-manifest', ['get', `sif:${PLAIN}`]), 'get');
    expect(sifDirs()).toEqual([]);
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const { spawn } = await import('node:child_process');
      const child = spawn(join(ROOT, 'bin', 'img-manifest'), ['get', `sif:${BIG}`], { env: { ...process.env, ...env() }, stdio: 'ignore' });
      // Once unsquashfs has started writing the tree.
      const deadline = Date.now() + 20_000;
      while (!sifDirs().some((d) => existsSync(join(s.env.TMPDIR!, d, 'rootfs'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(marked(child.pid!).length, 'conversion processes running').toBeGreaterThan(0);
      child.kill(signal);
      await new Promise((r) => child.on('close', r));
      const until = Date.now() + 8_000;
      while ((marked(child.pid!).length > 0 || sifDirs().length > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(marked(child.pid!), `processes of the conversion after ${signal}`).toEqual([]);
      expect(sifDirs(), `temp dirs after ${signal}`).toEqual([]);
    }
  });
});
