// img-sync and img-copy run their stages in one process; --explain prints the shell pipeline they
// are. Here the explained pipeline runs in a real shell and the command itself on the same source,
// and the two must give the same destination, byte for byte, and the same records. img-blob-put
// finishes images in whatever order their blobs land, so the order of records (and of the entries
// of an oci: index.json, written as records come) may differ from run to run either way: both are
// compared as sets.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { startFaultProxy } from '../helpers/faultproxy.js';
import { BIN, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-equivalence-');
const box = sandbox(work);
const NO_TLS = '--tls-verify=false';
let reg: Registry;
let H: string;

const ok = (r: Result, what: string) => {
  expect(r.status, `${what}: ${r.stderr}`).toBe(0);
  return r;
};

/** tree maps every file below `root` to its mode and bytes; an oci: index.json to its entries, sorted. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const mode = statSync(p).mode.toString(8);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'index.json') {
        const index = JSON.parse(readFileSync(p, 'utf8'));
        out[relative(root, p)] = `${mode} ${JSON.stringify({ ...index, manifests: index.manifests.map((m: unknown) => JSON.stringify(m)).sort() })}`;
      } else out[relative(root, p)] = `${mode} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(root);
  return out;
}

/** asSet is the records of an output, each as its JSON text, sorted. */
const asSet = (r: Result) =>
  records(r.stdout)
    .map((x) => JSON.stringify(x))
    .sort();

/** explained runs a command with --explain and gives the pipeline it printed, as one shell line. */
async function explained(command: string, args: string[]): Promise<string> {
  const r = ok(await box.img(command, [...args, '--explain']), `${command} --explain`);
  expect(r.stdout).toBe('');
  return r.stderr.trim();
}

/** bothWays runs `command args` itself and its explained pipeline in bash, each into a fresh `dest` directory, and returns both outputs and trees. */
async function bothWays(command: string, args: string[], dest: string) {
  const line = await explained(command, args);
  const shell = ok(await box.sh(line), `the explained pipeline\n${line}\n`);
  const shellTree = tree(dest);
  renameSync(dest, `${dest}.shell`);
  const own = ok(await box.img(command, args), command);
  return { line, shell, own, shellTree, ownTree: tree(dest) };
}

beforeAll(async () => {
  reg = await startRegistry();
  H = reg.host;
  const layout = join(work, 'src-layout');
  const children: { digest: string; size: number; arch: string }[] = [];
  for (const [i, arch] of ['amd64', 'arm64', 's390x'].entries()) {
    const image = writeDirImage(join(work, `src-${arch}`), { seed: arch });
    // the fixture's layer is uncompressed: kept so, so that the index names the source's digests
    ok(await box.img('img-copy', ['--dest-oci-accept-uncompressed-layers', `dir:${join(work, `src-${arch}`)}`, `oci:${layout}:${arch}`]), 'making the source');
    children.push({ digest: image.digest, size: image.manifest.length, arch });
    ok(await box.img('img-copy', [NO_TLS, `oci:${layout}:${arch}`, `docker://${H}/team/app:v${i}`]), 'pushing');
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
  writeFileSync(join(work, 'index.json'), JSON.stringify(index));
  ok(await box.img('img-manifest', ['put', `oci:${layout}:multi`], JSON.stringify({ raw: JSON.stringify(index) })), 'the index');
  ok(await box.img('img-copy', [NO_TLS, '--all', `oci:${layout}:multi`, `docker://${H}/team/app:multi`]), 'pushing the index');
  ok(await box.img('img-copy', [NO_TLS, `oci:${layout}:amd64`, `docker://${H}/tools/cli:1`]), 'pushing');
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe('the explained pipeline and the command give the same result', () => {
  it('img-sync registry → oci: --all: the same layout, byte for byte, and the same records', async () => {
    const dest = join(work, 'sync-oci');
    const r = await bothWays('img-sync', ['--src', 'docker', '--dest', 'oci', '--all', NO_TLS, `${H}/team/app`, dest], dest);
    expect(r.line).toMatch(/^img-tags .* \\\n {2}\| img-ref .*\| img-blob-put .*\| img-manifest put/s);
    expect(asSet(r.own)).toEqual(asSet(r.shell));
    expect(records(r.own.stdout).filter((x) => x.parent === undefined)).toHaveLength(4);
    expect(Object.keys(r.ownTree).length).toBeGreaterThan(10);
    expect(r.ownTree).toEqual(r.shellTree);
  });

  it('img-sync registry → dir: with --scoped and --append-suffix: the same directories and records', async () => {
    const dest = join(work, 'sync-dir');
    const r = await bothWays('img-sync', ['--src', 'docker', '--dest', 'dir', '--scoped', '--append-suffix=-m', NO_TLS, `${H}/tools/cli`, dest], dest);
    expect(asSet(r.own)).toEqual(asSet(r.shell));
    expect(r.ownTree).toEqual(r.shellTree);
  });

  it('img-copy of an index with --all and a conversion to v2s2: the same records and the same images', async () => {
    const dest = join(work, 'copy-dir');
    const r = await bothWays('img-copy', [NO_TLS, '--all', '--format', 'v2s2', `docker://${H}/team/app:multi`, `oci:${dest}:conv`], dest);
    expect(asSet(r.own)).toEqual(asSet(r.shell));
    expect(records(r.own.stdout).map((x) => x.status)).toEqual(['copied', 'copied', 'copied', 'copied']);
    expect(records(r.own.stdout).at(-1)!.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(r.ownTree).toEqual(r.shellTree);
  });

  it('a failing image: the same error records and exit status both ways, with --keep-going', async () => {
    const dest = join(work, 'sync-fail');
    const args = ['--src', 'yaml', '--dest', 'oci', '--keep-going', dest];
    writeFileSync(join(work, 'sync.yaml'), `${H}:\n  tls-verify: false\n  images:\n    team/app: [v0, no-such-tag, v2]\n`);
    const line = await explained('img-sync', [...args.slice(0, 5), join(work, 'sync.yaml'), dest]);
    const shell = await box.sh(line);
    renameSync(dest, `${dest}.shell`);
    const own = await box.img('img-sync', [...args.slice(0, 5), join(work, 'sync.yaml'), dest]);
    expect(own.status).toBe(1);
    expect(shell.status).toBe(1);
    expect(asSet(own)).toEqual(asSet(shell));
    expect(
      records(own.stdout)
        .map((x) => x.error?.code ?? x.status)
        .sort(),
    ).toEqual(['MANIFEST_UNKNOWN', 'copied', 'copied']);
    expect(own.stderr).toMatch(/no-such-tag/);
    expect(tree(dest)).toEqual(tree(`${dest}.shell`));
  });
});

/** processes lists the processes whose command line contains `marker`, with their parent pid. */
function processes(marker: string): { pid: number; ppid: number }[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .flatMap((p) => {
      try {
        if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) return [];
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return [{ pid: Number(p), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) }];
      } catch {
        return [];
      }
    });
}

/** childrenOf lists the pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('the stages run in the process of the command', () => {
  it.each([
    ['img-copy', (src: string) => [`docker://${src}/team/app:v0`, `dir:${join(work, 'killed-copy')}`]],
    ['img-sync', (src: string) => ['--src', 'docker', '--dest', 'oci', `${src}/team/app`, join(work, 'killed-sync')]],
  ])('%s: no child process holds the credentials, and after kill -9 nothing goes on downloading', async (command, args) => {
    // Blob reads stall: the command is caught mid-copy.
    const px = await startFaultProxy(H, { faults: [{ method: 'GET', path: /\/blobs\/sha256:/, stallMs: 60_000, times: 1000 }] });
    try {
      const secret = `s3cret-${command}-${process.pid}`;
      const child = spawn(join(BIN, command), [NO_TLS, `--src-creds=alice:${secret}`, `--dest-creds=bob:${secret}`, ...args(px.host)], {
        env: { ...process.env, ...box.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
      });
      const exited = new Promise<void>((res) => child.on('close', () => res()));
      const deadline = Date.now() + 30_000;
      while (!px.seen.some((r) => r.fault?.startsWith('stall') && /\/blobs\//.test(r.url))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${command} never reached a blob: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Only the command itself names the secret (the user put it there); it started no stage process.
      expect(processes(secret).map((p) => p.pid)).toEqual([child.pid]);
      expect(childrenOf(child.pid!)).toEqual([]);
      child.kill('SIGKILL');
      await exited;
      const requests = px.seen.length;
      await new Promise((r) => setTimeout(r, 1500));
      expect(processes(secret)).toEqual([]);
      expect(px.seen.length).toBe(requests);
    } finally {
      await px.stop();
    }
  });
});
