import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeDirImage, type DirImage } from '../helpers/fixtures.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

// Issue 9 item 8: every output path a user names is written without destroying what is there.
// A regular file (or a new one) is replaced atomically; a character device, a FIFO, a socket or
// /dev/stdout is opened and written; a symlink stays and its target gets the bytes; a directory is
// refused. Real nodes made here: a character device with /dev/null's numbers (mknod, as root: the
// system's /dev/null is never touched), FIFOs with a reader, symlinks, a Unix socket.

const work = tempDir('imgpipe-outputs-');
const box = sandbox(work);
const env = { ...box.env, GNUPGHOME: join(work, 'gnupg') };
const run = (command: string, args: string[]) => exec(join(__dirname, '../../bin', command), args, undefined, env);
const SRC = join(work, 'src');
const SYNC_SRC = join(work, 'sync-src');
const MANIFEST = join(work, 'manifest.json');
const REF = 'registry.example.com/team/app:v1';
let image: DirImage;
let fpr = '';
const asRoot = process.getuid?.() === 0;

function ok(r: Result): Result {
  expect(r.stderr, r.stderr).toBe('');
  expect(r.status, r.stderr).toBe(0);
  return r;
}

/** tempsIn lists imgpipe temp files left in a directory. */
const tempsIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.imgpipe-tmp-'));

type Kind = 'chardev' | 'fifo' | 'symlink' | 'dangling' | 'regular';
const KINDS: Kind[] = ['chardev', 'fifo', 'symlink', 'dangling', 'regular'];

let seq = 0;
/**
 * through makes an output node of `kind` in a fresh directory, runs `write(path)` against it, checks
 * the node is what it was and returns the bytes that arrived (for the device: none can be seen).
 * A symlink points into another directory, so the rename must happen in its target's directory.
 */
async function through(kind: Kind, write: (path: string) => Promise<Result>): Promise<Buffer> {
  const dir = join(work, `out-${++seq}-${kind}`);
  const other = join(work, `out-${seq}-target`);
  mkdirSync(dir);
  mkdirSync(other);
  const out = join(dir, 'out');
  switch (kind) {
    case 'chardev': {
      expect(spawnSync('mknod', [out, 'c', '1', '3']).status).toBe(0);
      const before = lstatSync(out);
      ok(await write(out));
      const after = lstatSync(out);
      expect(after.isCharacterDevice()).toBe(true);
      expect(after.rdev).toBe(before.rdev);
      expect(after.ino).toBe(before.ino);
      expect(tempsIn(dir)).toEqual([]);
      return Buffer.alloc(0);
    }
    case 'fifo': {
      expect(spawnSync('mkfifo', [out]).status).toBe(0);
      // The reader is started first, as `cat FIFO > file &` would be.
      const reader = spawn('cat', [out], { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (b: Buffer) => chunks.push(b));
      const closed = new Promise<number | null>((res) => reader.on('close', res));
      const r = await write(out);
      if (r.status !== 0) reader.kill();
      ok(r);
      expect(await closed).toBe(0);
      expect(lstatSync(out).isFIFO()).toBe(true);
      expect(tempsIn(dir)).toEqual([]);
      return Buffer.concat(chunks);
    }
    case 'symlink':
    case 'dangling': {
      const target = join(other, 'real');
      if (kind === 'symlink') writeFileSync(target, 'old bytes\n');
      symlinkSync('../' + `out-${seq}-target/real`, out);
      const before = kind === 'symlink' ? statSync(target).ino : undefined;
      ok(await write(out));
      expect(lstatSync(out).isSymbolicLink()).toBe(true);
      expect(readlinkSync(out)).toBe(`../out-${seq}-target/real`);
      const st = lstatSync(target);
      expect(st.isFile()).toBe(true);
      // Replaced by a rename in the target's directory, not rewritten in place.
      if (before !== undefined) expect(st.ino).not.toBe(before);
      expect(tempsIn(dir)).toEqual([]);
      expect(tempsIn(other)).toEqual([]);
      return readFileSync(target);
    }
    case 'regular': {
      writeFileSync(out, 'old bytes\n');
      // A second name for the old file: an in-place rewrite would change what it holds, a rename does not.
      linkSync(out, join(dir, 'old'));
      ok(await write(out));
      expect(lstatSync(out).isFile()).toBe(true);
      expect(statSync(out).ino).not.toBe(statSync(join(dir, 'old')).ino);
      expect(readFileSync(join(dir, 'old'), 'utf8')).toBe('old bytes\n');
      expect(tempsIn(dir)).toEqual([]);
      return readFileSync(out);
    }
  }
}

/** refusesDirectory checks that a directory as output is refused with one line naming it, and left as it was. */
async function refusesDirectory(write: (path: string) => Promise<Result>, command: string): Promise<void> {
  const dir = join(work, `dir-${++seq}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'keep'), 'x');
  for (const p of [dir, `${dir}-link`]) {
    if (p !== dir) symlinkSync(dir, p);
    const r = await write(p);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^${command}: .*cannot write ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is a directory\\n$`));
  }
  expect(readdirSync(dir)).toEqual(['keep']);
  expect(lstatSync(`${dir}-link`).isSymbolicLink()).toBe(true);
}

/** saved writes bytes that arrived to a file, for the tools that read one. */
function saved(bytes: Buffer, name: string): string {
  const p = join(work, `${name}-${++seq}`);
  writeFileSync(p, bytes);
  return p;
}

beforeAll(async () => {
  image = writeDirImage(SRC, { seed: 'outputs' });
  writeDirImage(join(SYNC_SRC, 'app'), { seed: 'outputs' });
  writeFileSync(MANIFEST, image.manifest);
  mkdirSync(env.GNUPGHOME);
  chmodSync(env.GNUPGHOME, 0o700);
  const g = await exec(
    'gpg',
    ['--batch', '--status-fd', '1', '--gen-key'],
    '%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: imgpipe outputs\nExpire-Date: 0\n%commit\n',
    env,
  );
  fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(g.stdout)?.[1] ?? '';
  expect(fpr, g.stderr).not.toBe('');
});

afterAll(async () => {
  await exec('gpgconf', ['--kill', 'gpg-agent'], undefined, env);
});

describe.skipIf(!asRoot)('output paths keep what is there', () => {
  describe('img-sign sign -o', () => {
    const sign = (p: string) => run('img-sign', ['sign', '-o', p, MANIFEST, REF, fpr]);
    const verifies = async (bytes: Buffer) => {
      const v = ok(await run('img-sign', ['verify', MANIFEST, REF, fpr, saved(bytes, 'sig')]));
      expect(v.stdout).toBe(`Signature verified using fingerprint ${fpr}, digest ${image.digest}\n`);
    };
    it.each(KINDS)('%s', async (kind) => {
      const bytes = await through(kind, sign);
      if (kind !== 'chardev') await verifies(bytes);
    });
    it('/dev/stdout and /proc/self/fd/1 are written as they are', async () => {
      for (const p of ['/dev/stdout', '/proc/self/fd/1', '/dev/fd/1']) {
        const r = ok(await sign(p));
        await verifies(r.stdoutBytes);
      }
    });
    it('a Unix socket is connected to and written', async () => {
      const sock = join(work, 'sign.sock');
      const got: Buffer[] = [];
      let ended!: () => void;
      const done = new Promise<void>((res) => (ended = res));
      const server = createServer((c) => {
        c.on('data', (b: Buffer) => got.push(b));
        c.on('end', ended);
      });
      await new Promise<void>((res) => server.listen(sock, res));
      ok(await sign(sock));
      await done;
      expect(lstatSync(sock).isSocket()).toBe(true);
      server.close();
      await verifies(Buffer.concat(got));
    });
    it('a directory is refused', () => refusesDirectory(sign, 'img-sign'));
  });

  describe('img-copy --digestfile', () => {
    // the layer kept uncompressed: the digest written is the source's
    const copy = (p: string) =>
      run('img-copy', ['--digestfile', p, '--dest-oci-accept-uncompressed-layers', `dir:${SRC}`, `oci:${join(work, 'layout')}:digestfile`]);
    it.each(KINDS)('%s', async (kind) => {
      const bytes = await through(kind, copy);
      if (kind !== 'chardev') expect(bytes.toString()).toBe(image.digest);
    });
    it('a directory is refused', () => refusesDirectory(copy, 'img-copy'));
  });

  describe('img-sync --digestfile', () => {
    let n = 0;
    const dest = () => join(work, `synced-${++n}`);
    it.each(KINDS)('%s', async (kind) => {
      const d = dest();
      const bytes = await through(kind, (p) => run('img-sync', ['--src', 'dir', '--dest', 'dir', '--digestfile', p, SYNC_SRC, d]));
      if (kind !== 'chardev') expect(bytes.toString()).toBe(`${image.digest} dir:${d}/app\n`);
    });
    it('a directory is refused', () =>
      refusesDirectory((p) => run('img-sync', ['--src', 'dir', '--dest', 'dir', '--digestfile', p, SYNC_SRC, dest()]), 'img-sync'));
  });

  describe('archive destinations', () => {
    const toArchive = (transport: string) => (p: string) => run('img-copy', [`dir:${SRC}`, `${transport}:${p}`]);
    it.each(KINDS)('oci-archive: %s', async (kind) => {
      const bytes = await through(kind, toArchive('oci-archive'));
      if (kind === 'chardev') return;
      const g = ok(await run('img-manifest', ['get', `oci-archive:${saved(bytes, 'oci.tar')}`]));
      expect(records(g.stdout)[0]!.digest).toBe(image.digest);
    });
    it.each(KINDS)('docker-archive: %s', async (kind) => {
      const bytes = await through(kind, toArchive('docker-archive'));
      if (kind === 'chardev') return;
      const g = ok(await run('img-manifest', ['get', `docker-archive:${saved(bytes, 'docker.tar')}`]));
      expect(records(g.stdout)[0]!.manifest.layers[0].digest).toBe(sha256(image.layer));
      const t = ok(await exec('tar', ['-tf', saved(bytes, 'docker.tar')]));
      expect(t.stdout.split('\n')).toContain('manifest.json');
    });
    it('a directory is refused', async () => {
      const dir = join(work, `archive-dir-${++seq}`);
      mkdirSync(dir);
      const r = await toArchive('oci-archive')(dir);
      expect(r.status).toBe(1);
      // The stage that writes the archive says so; img-copy passes its one line on.
      expect(r.stderr).toBe(`img-manifest put: writing manifest oci-archive:${dir}: cannot write ${dir}: it is a directory\n`);
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  describe('img-blob-get -o', () => {
    const layerDigest = () => sha256(image.layer);
    const get = (p: string) => run('img-blob-get', ['-o', p, `dir:${SRC}@${layerDigest()}`]);
    it.each(KINDS)('%s', async (kind) => {
      const bytes = await through(kind, get);
      if (kind !== 'chardev') expect(bytes.equals(image.layer)).toBe(true);
    });
    it('a blob that fails its digest leaves a regular file and a symlink target untouched, with no temp file', async () => {
      const bad = join(work, 'bad-src');
      writeDirImage(bad, { seed: 'outputs' });
      writeFileSync(join(bad, layerDigest().slice(7)), 'not the layer');
      const dir = join(work, `blob-bad-${++seq}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'file'), 'old bytes\n');
      symlinkSync('file', join(dir, 'link'));
      for (const p of ['file', 'link']) {
        const r = await run('img-blob-get', ['-o', join(dir, p), `dir:${bad}@${layerDigest()}`]);
        expect(r.status).toBe(1);
        expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('old bytes\n');
      }
      expect(lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
      expect(tempsIn(dir)).toEqual([]);
    });
    it('a directory is refused', () => refusesDirectory(get, 'img-blob-get'));
    it('paths that cannot be written give one line naming them, and nothing is made', async () => {
      const dir = join(work, `bad-paths-${++seq}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'file'), 'x');
      symlinkSync('loop-b', join(dir, 'loop-a'));
      symlinkSync('loop-a', join(dir, 'loop-b'));
      const cases: [string, string][] = [
        [join(dir, 'missing', 'out'), `cannot write ${join(dir, 'missing', 'out')}: directory ${join(dir, 'missing')} does not exist`],
        [join(dir, 'file', 'out'), `cannot write ${join(dir, 'file', 'out')}: not a directory`],
        [join(dir, 'loop-a'), `cannot write ${join(dir, 'loop-a')}: too many levels of symbolic links`],
        ['/dev/fd/33', 'cannot write /dev/fd/33: file descriptor 33 is not open'],
      ];
      for (const [p, message] of cases) {
        const r = await get(p);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toBe(`img-blob-get: ${message}\n`);
      }
      expect(readdirSync(dir).sort()).toEqual(['file', 'loop-a', 'loop-b']);
    });
  });

  describe('img-sign keygen --output-prefix', () => {
    it('refuses a key path that is there, whatever it is, and leaves it as it was', async () => {
      const dir = join(work, `keys-${++seq}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'pass'), 'pw\n');
      expect(spawnSync('mknod', [join(dir, 'dev.pub'), 'c', '1', '3']).status).toBe(0);
      expect(spawnSync('mkfifo', [join(dir, 'fifo.private')]).status).toBe(0);
      writeFileSync(join(dir, 'real'), 'x');
      symlinkSync('real', join(dir, 'link.pub'));
      for (const prefix of ['dev', 'fifo', 'link']) {
        const r = await run('img-sign', ['keygen', '--output-prefix', join(dir, prefix), '--passphrase-file', join(dir, 'pass')]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/refusing to overwrite existing/);
      }
      expect(lstatSync(join(dir, 'dev.pub')).isCharacterDevice()).toBe(true);
      expect(lstatSync(join(dir, 'fifo.private')).isFIFO()).toBe(true);
      expect(lstatSync(join(dir, 'link.pub')).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(dir, 'real'), 'utf8')).toBe('x');
      // A prefix in a symlinked directory: the keys land in the real directory, the link stays.
      mkdirSync(join(dir, 'realdir'));
      symlinkSync('realdir', join(dir, 'dirlink'));
      ok(await run('img-sign', ['keygen', '--output-prefix', join(dir, 'dirlink', 'k'), '--passphrase-file', join(dir, 'pass')]));
      expect(lstatSync(join(dir, 'dirlink')).isSymbolicLink()).toBe(true);
      expect(statSync(join(dir, 'realdir', 'k.private')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, 'realdir', 'k.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
      expect(tempsIn(join(dir, 'realdir'))).toEqual([]);
    });
  });

  describe('img-login / img-logout --authfile', () => {
    let reg: Registry;
    beforeAll(async () => {
      reg = await startRegistry();
    });
    afterAll(async () => {
      await reg?.stop();
    });
    const login = async (authfile: string) => {
      const r = await run('img-login', ['--tls-verify=false', '--authfile', authfile, '-u', 'me', '-p', 'secret', reg.host]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe(`Login Succeeded! (credentials for ${reg.host} stored in ${authfile})\n`);
    };
    it('a symlinked auth.json stays a symlink; its target gets the credentials (0600), then loses them', async () => {
      const dir = join(work, `auth-${++seq}`);
      mkdirSync(join(dir, 'real'), { recursive: true });
      writeFileSync(join(dir, 'real', 'auth.json'), '{"auths":{"other.example":{"auth":"dTpw"}}}\n', { mode: 0o600 });
      symlinkSync('real/auth.json', join(dir, 'auth.json'));
      const before = statSync(join(dir, 'real', 'auth.json')).ino;
      await login(join(dir, 'auth.json'));
      expect(lstatSync(join(dir, 'auth.json')).isSymbolicLink()).toBe(true);
      const st = statSync(join(dir, 'real', 'auth.json'));
      expect(st.ino).not.toBe(before);
      expect(st.mode & 0o777).toBe(0o600);
      const doc = JSON.parse(readFileSync(join(dir, 'real', 'auth.json'), 'utf8'));
      expect(Object.keys(doc.auths).sort()).toEqual(['other.example', reg.host].sort());
      expect(Buffer.from(doc.auths[reg.host].auth, 'base64').toString()).toBe('me:secret');
      const out = await run('img-logout', ['--authfile', join(dir, 'auth.json'), reg.host]);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stderr).toBe(`Removed login credentials for ${reg.host}\n`);
      expect(lstatSync(join(dir, 'auth.json')).isSymbolicLink()).toBe(true);
      expect(Object.keys(JSON.parse(readFileSync(join(dir, 'real', 'auth.json'), 'utf8')).auths)).toEqual(['other.example']);
      expect(tempsIn(dir)).toEqual([]);
      expect(tempsIn(join(dir, 'real'))).toEqual([]);
    });
    it('a dangling symlink as auth.json: the file is made at its target', async () => {
      const dir = join(work, `auth-${++seq}`);
      mkdirSync(join(dir, 'real'), { recursive: true });
      symlinkSync('real/auth.json', join(dir, 'auth.json'));
      await login(join(dir, 'auth.json'));
      expect(lstatSync(join(dir, 'auth.json')).isSymbolicLink()).toBe(true);
      expect(existsSync(join(dir, 'real', 'auth.json'))).toBe(true);
      expect(Object.keys(JSON.parse(readFileSync(join(dir, 'real', 'auth.json'), 'utf8')).auths)).toEqual([reg.host]);
    });
  });
});
