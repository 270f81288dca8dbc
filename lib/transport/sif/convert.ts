/**
 * The conversion of a SIF's squashfs partition into one layer tar, as containers/image's sif source
 * does it (sif/load.go): under fakeroot, unsquashfs unpacks the partition into a private directory
 * and GNU tar archives it. The tar streams into a temp file through a hash, so the layer is spooled
 * and digested in one pass and never held in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdtempSync, promises as fsp, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgError } from '../../errors.js';
import { runAtExit } from '../../util/fs.js';

/** The layer a conversion made: the tar file, its digest and size. */
export interface Layer {
  path: string;
  digest: string;
  size: number;
}

/** What is converted: the SIF file, where its squashfs lies in it, and the script to add to the image. */
export interface ConversionInput {
  /** the SIF file, as an absolute path */
  file: string;
  /** the offset of the squashfs partition in the file */
  offset: number;
  /** the script containers/image writes at /podman/runscript, if any */
  script?: Buffer;
  /** the time the script and its directory get (the image's "created"), in seconds */
  mtime: number;
  /** the SIF reference, for messages */
  what: string;
}

/** The tools the conversion runs, with the Debian package of each. */
const TOOLS: [string, string][] = [
  ['fakeroot', 'fakeroot'],
  ['unsquashfs', 'squashfs-tools'],
  ['tar', 'tar'],
];

/**
 * The conversion, run by `fakeroot -- sh -c CONVERT` in the private directory: the script first (as
 * containers/image writes it before unsquashfs, so a /podman/runscript of the squashfs wins), then
 * unsquashfs straight from the SIF at the partition's offset (containers/image copies the partition
 * to a file first), then tar to stdout. tar is containers/image's `tar --acls --xattrs -cpf` with
 * what makes the bytes depend on the image alone: names sorted, numeric owners, no atime and ctime.
 * The unpacked tree is removed before the script exits (writable first: a read-only directory of
 * the image would stop rm for a user other than root).
 */
const CONVERT = [
  'set -e',
  'umask 022',
  'file=$1; offset=$2; mtime=$3; script=$4',
  'if [ -n "$script" ]; then',
  '  mkdir -p rootfs/podman',
  '  cp runscript rootfs/podman/runscript',
  '  chmod 0755 rootfs/podman rootfs/podman/runscript',
  '  touch -d "@$mtime" rootfs/podman/runscript rootfs/podman',
  'fi',
  'unsquashfs -n -q -d rootfs -f -o "$offset" "$file" >&2',
  'set +e',
  'tar --acls --xattrs --sort=name --numeric-owner --pax-option=delete=atime,delete=ctime -C rootfs -cpf - ./',
  's=$?',
  'chmod -R u+rwX rootfs 2>/dev/null',
  'rm -rf rootfs',
  'exit $s',
].join('\n');

/** The variable that marks every process of one conversion (faked too, which leaves the process group), for the watchdog to find them. */
const MARK = 'IMGPIPE_SIF_RUN';

/**
 * The watchdog: reads a pipe from this process until it closes (this process ended, however: even
 * by SIGKILL), then ends every process that carries the conversion's mark (TERM, up to 5 s, KILL)
 * and removes the private directory. It ignores INT, TERM and HUP, so that a signal to the whole
 * process group does not stop it before it has cleaned up.
 */
const WATCHDOG = [
  'dir=$1; mark=$2',
  "trap '' INT TERM HUP",
  'while read -r _; do :; done',
  'marked() { grep -lzxF -e "$mark" /proc/[0-9]*/environ 2>/dev/null | sed -n "s|^/proc/\\([0-9]*\\)/environ$|\\1|p"; }',
  'ps=$(marked)',
  'if [ -n "$ps" ]; then',
  '  kill -TERM $ps 2>/dev/null',
  '  i=0',
  '  while [ $i -lt 50 ] && [ -n "$(marked)" ]; do sleep 0.1; i=$((i+1)); done',
  '  ps=$(marked); [ -n "$ps" ] && kill -KILL $ps 2>/dev/null',
  'fi',
  'chmod -R u+rwX "$dir" 2>/dev/null',
  'rm -rf "$dir"',
].join('\n');

/** checkTools fails in one line naming the first tool missing from $PATH and its Debian package. */
export function checkTools(what: string): void {
  for (const [tool, pkg] of TOOLS) {
    const found = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => d !== '')
      .some((d) => {
        try {
          accessSync(join(d, tool), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
    if (!found)
      throw new ImgError(
        'UNSUPPORTED',
        `reading ${what} needs ${tool}, which is not in $PATH: install it (Debian package ${pkg}), or put its directory in $PATH (skopeo needs it too)`,
      );
  }
}

/** removeTree removes a directory the conversion used, making it writable first; errors are ignored (the watchdog tries again). */
function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    try {
      const fix = spawn('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
      fix.unref();
    } catch {
      /* the watchdog removes it */
    }
  }
}

/** The conversions of this process still running, ended at exit (SIGTERM to their process groups). */
const running = new Set<ChildProcess>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  runAtExit(() => {
    for (const c of running) {
      try {
        if (c.pid !== undefined) process.kill(-c.pid, 'SIGTERM');
      } catch {
        /* gone already */
      }
    }
  });
}

/** Hashing counts and digests what goes through it, for the layer being spooled. */
class Hashing extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * PrivateDir is a directory of one conversion, under `base`: removed at exit, also on SIGINT, SIGTERM
 * and SIGHUP, and by a watchdog when this process is killed (which also ends the conversion).
 */
export interface PrivateDir {
  dir: string;
  /** mark is the value of MARK in the environment of the conversion's processes. */
  mark: string;
}

/** privateDir makes the directory of one conversion and starts its watchdog. */
export function privateDir(base: string): PrivateDir {
  const dir = mkdtempSync(join(base, 'imgpipe-sif-'));
  const mark = `${MARK}=${process.pid}-${randomBytes(8).toString('hex')}`;
  runAtExit(() => removeTree(dir));
  const env = { ...process.env };
  delete env[MARK];
  // A session of its own: a signal to our process group (Ctrl-C, kill of a whole pipeline) does not reach it.
  const dog = spawn('sh', ['-c', WATCHDOG, 'imgpipe-sif-watchdog', dir, mark], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env });
  dog.on('error', () => undefined);
  dog.stdin?.on('error', () => undefined);
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return { dir, mark };
}

/**
 * convert unpacks the squashfs at `input.offset` of `input.file` and archives it into
 * `priv.dir/layer.tar`, which it returns with its digest and size. A failure says which tool failed
 * and what it printed; the temp files go with the private directory.
 */
export async function convert(input: ConversionInput, priv: PrivateDir): Promise<Layer> {
  checkTools(input.what);
  hook();
  const { dir, mark } = priv;
  if (input.script) writeFileSync(join(dir, 'runscript'), input.script, { mode: 0o755 });
  const eq = mark.indexOf('=');
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', [mark.slice(0, eq)]: mark.slice(eq + 1) };
  // fakeroot refuses to run inside another fakeroot session; the conversion has its own.
  delete env.FAKEROOTKEY;
  const args = ['--', 'sh', '-c', CONVERT, 'imgpipe-sif', resolve(input.file), String(input.offset), String(input.mtime), input.script ? '1' : ''];
  // Its own process group, which the exit hook signals as a whole.
  const child = spawn('fakeroot', args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  running.add(child);
  let said = '';
  child.stderr!.on('data', (c: Buffer) => {
    said = (said + c.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal }));
  });
  exited.finally(() => running.delete(child)).catch(() => undefined);
  const path = join(dir, 'layer.tar');
  const hashing = new Hashing();
  const spool = pipeline(child.stdout!, hashing, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  let status: { code: number | null; signal: NodeJS.Signals | null };
  try {
    [status] = await Promise.all([exited, spool]);
  } catch (e) {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const sys = e as NodeJS.ErrnoException;
    throw new ImgError(
      'IO',
      `converting ${input.what}: ${sys.code === 'ENOENT' && sys.syscall?.startsWith('spawn') ? 'cannot start fakeroot' : `spooling the layer into ${dir}: ${sys.message}`}`,
    );
  }
  if (status.code !== 0) {
    await fsp.rm(path, { force: true });
    removeTree(join(dir, 'rootfs'));
    const lines = said
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const why = lines.slice(-3).join('; ') || (status.signal ? `killed by ${status.signal}` : `exit status ${status.code}`);
    throw new ImgError('IO', `converting ${input.what} from squashfs to a layer tar (fakeroot, unsquashfs, tar) failed: ${why}`);
  }
  return { path, digest: hashing.digest(), size: hashing.size };
}
