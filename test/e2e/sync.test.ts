// img-sync against real registries (CNCF distribution), with real skopeo sync as the oracle:
// YAML filters, naming under docker/dir/oci destinations, re-runs that move nothing, a sync
// killed with SIGKILL and run again, --keep-going, and YAML credentials kept out of sight.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { startFaultProxy, type FaultProxy } from '../helpers/faultproxy.js';
import { BIN, exec, img as imgRaw, records, tempDir, type Result } from '../helpers/run.js';
import { isolatedEnv, writeUserPolicy } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-sync-e2e-');
const L = join(work, 'layout');
const NO_TLS = '--tls-verify=false';

/** Credentials and temp files isolated in the work dir: nothing from the user's auth.json. */
const env: NodeJS.ProcessEnv = isolatedEnv(work, { TMPDIR: join(work, 'tmp') });
const img = (cmd: string, args: string[], input?: string) => imgRaw(cmd, args, input, env);
const sync = (args: string[]) => img('img-sync', args);
const skopeo = (args: string[]) => {
  const [sub, ...rest] = args;
  return exec('skopeo', ['--policy', join(work, 'policy.json'), sub!, ...rest], undefined, env);
};
const sk = (args: string[]) => must(skopeo(args), `skopeo ${args.join(' ')}`);
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let src: Registry;
let dst: Registry;
let px: FaultProxy; // in front of dst: counts what we send
let spx: FaultProxy; // in front of src: slows blob reads for the kill test
let S: string;

const APP_TAGS: Record<string, string> = {
  '1.0.0': 'i1',
  '1.2.0': 'i2',
  '1.10.0': 'i3',
  '2.0.0-rc1': 'i4',
  '2.1.0': 'i5',
  latest: 'i5',
  v3: 'i6',
  'dev-x': 'i1',
};
const CLI_TAGS: Record<string, string> = { a: 'i2', b: 'i3' };

/** tagsAt lists a repository's tags, sorted. */
async function tagsAt(repo: string): Promise<string[]> {
  const r = await img('img-tags', [NO_TLS, `docker://${repo}`]);
  if (r.status !== 0) return [];
  return records(r.stdout)
    .map((x) => x.ref.slice(x.ref.lastIndexOf(':') + 1))
    .sort();
}

/** digestOf is the digest of the manifest at a reference. */
async function digestOf(ref: string): Promise<string> {
  return records(ok(await img('img-manifest', ['get', NO_TLS, ref])).stdout)[0]!.digest;
}

/** layoutNames maps each named image of an oci: layout to its digest, checking index.json is whole. */
function layoutNames(layout: string): Record<string, string> {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const out: Record<string, string> = {};
  for (const m of index.manifests) {
    const blob = join(layout, 'blobs', ...m.digest.split(':'));
    expect(sha256(readFileSync(blob)), `blob of ${m.digest}`).toBe(m.digest.split(':')[1]);
    expect(statSync(blob).size).toBe(m.size);
    out[m.annotations['org.opencontainers.image.ref.name']] = m.digest;
  }
  return out;
}

/** imageDirs lists the directories below `root` that hold a manifest.json, relative to it. */
function imageDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (existsSync(join(d, 'manifest.json'))) return void out.push(relative(root, d));
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(root);
  return out.sort();
}

/** killAfterFirstRecord runs img-sync in a process group of its own and SIGKILLs the whole group once a first record is out. */
async function killAfterFirstRecord(args: string[]): Promise<void> {
  const child = spawn(join(BIN, 'img-sync'), args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((res) => child.on('close', () => res()));
  let out = '';
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no record within 60 s: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) {
        clearTimeout(t);
        res();
      }
    });
    child.on('close', () => rej(new Error(`img-sync ended before it was killed: ${out}`)));
  });
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

beforeAll(async () => {
  for (const d of ['home', 'run', 'config', 'docker', 'tmp']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}\n');
  writeFileSync(join(work, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  writeUserPolicy(env.HOME!); // img-sync's img-sign check, like skopeo, fails without a policy.json
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  S = src.host;
  [px, spx] = await Promise.all([startFaultProxy(dst.host), startFaultProxy(src.host)]);
  for (const name of ['i1', 'i2', 'i3', 'i4', 'i5', 'i6']) await umociImage(work, L, name);
  const push = (image: string, to: string) => sk(['copy', '--dest-tls-verify=false', `oci:${L}:${image}`, `docker://${to}`]);
  // One at a time: concurrent pushes of images sharing blobs into one repository can race in the
  // registry (a manifest PUT finding a blob another upload has not linked yet: "manifest blob unknown").
  for (const [tag, image] of Object.entries(APP_TAGS)) await push(image, `${S}/team/app:${tag}`);
  for (const [tag, image] of Object.entries(CLI_TAGS)) await push(image, `${S}/tools/cli:${tag}`);
}, 120_000);

afterAll(async () => {
  await Promise.all([px?.stop(), spx?.stop()]);
  await Promise.all([src?.stop(), dst?.stop()]);
});

const YAML = (host: string) => `${host}:
  tls-verify: false
  images:
    team/app: [dev-x]
  images-by-semver:
    team/app: ">= 1.1, < 2.1"
  images-by-tag-regex:
    tools/cli: '\\A[ab]\\z'
`;

describe('img-tags as the source stage', () => {
  it('lists repositories, tags and single images, with filters, keeping the fields of stdin records', async () => {
    const refs = (r: Result) => records(ok(r).stdout).map((x) => x.ref);
    // The registry lists tags in lexical order; semver leaves out the prerelease, --exclude 2.1.0.
    expect(refs(await img('img-tags', [NO_TLS, `docker://${S}/team/app`, '--semver', '>=1.1 <3', '--exclude', '^2\\.1']))).toEqual(
      ['1.10.0', '1.2.0'].map((t) => `docker://${S}/team/app:${t}`),
    );
    expect(refs(await img('img-tags', [NO_TLS, `docker://${S}/team/app`, '--newest', '3']))).toEqual(
      ['v3', '2.1.0', '2.0.0-rc1'].map((t) => `docker://${S}/team/app:${t}`),
    );
    expect(refs(await img('img-tags', [NO_TLS, `docker://${S}/team/app:v3`, `docker://${S}/team/app:v3`, '--regex', '^1']))).toEqual([]);
    const piped = records(ok(await img('img-tags', [NO_TLS, '--regex', '^a$'], `{"ref":"docker://${S}/tools/cli","ticket":"OPS-1"}\n`)).stdout);
    expect(piped).toEqual([{ ref: `docker://${S}/tools/cli:a`, ticket: 'OPS-1' }]);
    expect(refs(await img('img-tags', [NO_TLS, '--catalog', `docker://${S}`]))).toEqual([`docker://${S}/team/app`, `docker://${S}/tools/cli`]);
    const bad = await img('img-tags', [NO_TLS, `docker://${S}/team/app`, '--regex', '(?=x)']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
  });
});

describe('img-sync from a skopeo sync YAML file', () => {
  it('syncs exactly the tags the regex and semver filters select, as skopeo sync does', async () => {
    const y = join(work, 'sync.yml');
    writeFileSync(y, YAML(S));
    const r = ok(await sync(['--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', y, `${px.host}/mirror`]));
    const out = records(r.stdout);
    expect(out.map((x) => x.status).sort()).toEqual(Array(5).fill('copied'));
    // Hand-written: semver >= 1.1, < 2.1 leaves out 1.0.0, the prerelease 2.0.0-rc1, 2.1.0 and non-versions.
    expect(await tagsAt(`${dst.host}/mirror/app`)).toEqual(['1.10.0', '1.2.0', 'dev-x']);
    expect(await tagsAt(`${dst.host}/mirror/cli`)).toEqual(['a', 'b']);
    for (const tag of ['1.10.0', '1.2.0', 'dev-x'])
      expect(await digestOf(`docker://${dst.host}/mirror/app:${tag}`)).toBe(await digestOf(`docker://${S}/team/app:${tag}`));
    for (const x of out) expect(x.dest).toMatch(new RegExp(`^docker://${px.host}/mirror/(app|cli):`));
    // skopeo 1.9 predates images-by-semver (and ignores the key it does not know): it is the
    // oracle for the rest of the file, images and the RE2 regex.
    const y2 = join(work, 'sync-nosemver.yml');
    writeFileSync(y2, YAML(S).replace(/ {2}images-by-semver:\n.*\n/, ''));
    ok(await sync(['--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', y2, `${px.host}/mirror2`]));
    await sk(['sync', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', y2, `${dst.host}/sk`]);
    for (const repo of ['app', 'cli']) expect(await tagsAt(`${dst.host}/mirror2/${repo}`)).toEqual(await tagsAt(`${dst.host}/sk/${repo}`));
    expect(await tagsAt(`${dst.host}/sk/app`)).toEqual(['dev-x']);
    expect(await tagsAt(`${dst.host}/sk/cli`)).toEqual(['a', 'b']);
  });

  it('a re-run with nothing changed moves nothing: every record "exists", no upload, no manifest put', async () => {
    const y = join(work, 'sync.yml');
    px.seen.length = 0;
    const r = ok(await sync(['--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', '--progress=ndjson', y, `${px.host}/mirror`]));
    expect(records(r.stdout).map((x) => x.status)).toEqual(Array(5).fill('exists'));
    expect(px.seen.filter((s) => s.method !== 'GET' && s.method !== 'HEAD')).toEqual([]);
    expect(r.stderr).not.toMatch(/"event":"start"/);
  });

  it('an unknown key is a one-line error naming it, and nothing is created', async () => {
    const y = join(work, 'typo.yml');
    writeFileSync(y, `${S}:\n  tls_verify: false\n  images:\n    team/app: []\n`);
    const r = await sync(['--src', 'yaml', '--dest', 'dir', y, join(work, 'typo-out')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown key "tls_verify"/);
    expect(existsSync(join(work, 'typo-out'))).toBe(false);
  });

  it('without --keep-going the first failed image stops the sync; with it the rest goes on, exit 1', async () => {
    const y = join(work, 'keep.yml');
    writeFileSync(
      y,
      `${S}:\n  tls-verify: false\n  images:\n    team/app: ["1.0.0", no-such-tag]\n${S}/tools:\n  tls-verify: false\n  images:\n    cli: [a]\n`,
    );
    const stop = await sync(['--src', 'yaml', '--dest', 'oci', y, join(work, 'keep-stop')]);
    expect(stop.status).toBe(1);
    expect(stop.stderr).toMatch(/no-such-tag/);
    // The second registry key never ran (the layout may not even exist: the first image may not have landed).
    const stopped = join(work, 'keep-stop');
    expect(existsSync(join(stopped, 'index.json')) ? Object.keys(layoutNames(stopped)) : []).not.toContain('cli:a');
    expect(records(stop.stdout).some((x) => x.ref.endsWith('/cli:a'))).toBe(false);
    const go = await sync(['--src', 'yaml', '--dest', 'oci', '--keep-going', y, join(work, 'keep-go')]);
    expect(go.status).toBe(1);
    expect(go.stderr).toMatch(/no-such-tag/);
    expect(records(go.stdout).find((x) => x.ref.endsWith(':no-such-tag'))?.error?.code).toBe('MANIFEST_UNKNOWN');
    expect(Object.keys(layoutNames(join(work, 'keep-go'))).sort()).toEqual(['app:1.0.0', 'cli:a']);
  });

  it('uses the file credentials through a 0600 temp authfile that never shows and is removed', async () => {
    const user = 'syncer';
    const password = 'pa55-Secret-word';
    const areg = await startRegistry({ auth: 'htpasswd', users: { [user]: password } });
    try {
      await sk(['copy', '--dest-tls-verify=false', `--dest-creds=${user}:${password}`, `oci:${L}:i1`, `docker://${areg.host}/priv/app:1`]);
      const y = join(work, 'creds.yml');
      const yaml = (creds: string) => `${areg.host}:\n  tls-verify: false\n${creds}  images:\n    priv/app: []\n`;
      writeFileSync(y, yaml(`  credentials:\n    username: ${user}\n    password: ${password}\n`));
      const explain = ok(await sync(['--src', 'yaml', '--dest', 'oci', '--explain', y, join(work, 'creds-out')]));
      expect(explain.stderr).toMatch(/--src-authfile=/);
      const r = ok(await sync(['--src', 'yaml', '--dest', 'oci', y, join(work, 'creds-out')]));
      expect(Object.keys(layoutNames(join(work, 'creds-out')))).toEqual(['app:1']);
      for (const text of [explain.stdout, explain.stderr, r.stdout, r.stderr]) expect(text).not.toContain(password);
      expect(readdirSync(join(work, 'tmp')).filter((f) => f.startsWith('img-sync-auth-'))).toEqual([]);
      // Without the credentials the same sync is refused: they were what let it in.
      writeFileSync(y, yaml(''));
      const anon = await sync(['--src', 'yaml', '--dest', 'oci', y, join(work, 'creds-anon')]);
      expect(anon.status).toBe(1);
      expect(anon.stderr).toMatch(/UNAUTHORIZED|unauthorized|credentials|401/i);
    } finally {
      await areg.stop();
    }
  });
});

describe('img-sync naming and destinations', () => {
  it('registry → dir gives the directory names of skopeo sync --dest dir, plain and --scoped, with the same manifests', async () => {
    for (const scoped of [[], ['--scoped']]) {
      const ours = join(work, `dir-ours${scoped.length}`);
      const theirs = join(work, `dir-sk${scoped.length}`);
      ok(await sync(['--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...scoped, `${S}/team/app`, ours]));
      await sk(['sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...scoped, `${S}/team/app`, theirs]);
      const names = imageDirs(ours);
      expect(names).toEqual(imageDirs(theirs));
      expect(names).toHaveLength(Object.keys(APP_TAGS).length);
      for (const n of names) expect(readFileSync(join(ours, n, 'manifest.json'))).toEqual(readFileSync(join(theirs, n, 'manifest.json')));
    }
    expect(imageDirs(join(work, 'dir-ours1'))).toContain(`${S}/team/app:1.2.0`);
  });

  it('dir → registry pushes each image directory under its name, as skopeo sync --src dir does', async () => {
    ok(await sync(['--src', 'dir', '--dest', 'docker', '--dest-tls-verify=false', join(work, 'dir-ours0'), `${px.host}/fromdir`]));
    await sk(['sync', '--src', 'dir', '--dest', 'docker', '--dest-tls-verify=false', join(work, 'dir-ours0'), `${dst.host}/skfromdir`]);
    expect(await tagsAt(`${dst.host}/fromdir/app`)).toEqual(Object.keys(APP_TAGS).sort());
    expect(await tagsAt(`${dst.host}/fromdir/app`)).toEqual(await tagsAt(`${dst.host}/skfromdir/app`));
    expect(await digestOf(`docker://${dst.host}/fromdir/app:v3`)).toBe(await digestOf(`docker://${dst.host}/skfromdir/app:v3`));
    // --scoped: names are the image directories' paths below SOURCE, as skopeo's.
    const scopedSrc = join(work, 'scoped-src');
    mkdirSync(scopedSrc);
    cpSync(join(work, 'dir-ours0'), join(scopedSrc, 'team'), { recursive: true });
    ok(await sync(['--src', 'dir', '--dest', 'docker', '--dest-tls-verify=false', '--scoped', scopedSrc, `${dst.host}/scoped-ours`]));
    await sk(['sync', '--src', 'dir', '--dest', 'docker', '--dest-tls-verify=false', '--scoped', scopedSrc, `${dst.host}/scoped-sk`]);
    const repo = 'team/app';
    expect(await tagsAt(`${dst.host}/scoped-ours/${repo}`)).toEqual(Object.keys(APP_TAGS).sort());
    expect(await tagsAt(`${dst.host}/scoped-ours/${repo}`)).toEqual(await tagsAt(`${dst.host}/scoped-sk/${repo}`));
  });

  it('registry → oci: one layout holds a whole registry (--catalog) by name, each blob once, read by skopeo and umoci', async () => {
    const layout = join(work, 'oci-all');
    const r = ok(await sync(['--src', 'docker', '--catalog', '--dest', 'oci', '--src-tls-verify=false', S, layout]));
    expect(records(r.stdout)).toHaveLength(10);
    const names = layoutNames(layout);
    const expected = [...Object.keys(APP_TAGS).map((t) => `app:${t}`), ...Object.keys(CLI_TAGS).map((t) => `cli:${t}`)].sort();
    expect(Object.keys(names).sort()).toEqual(expected);
    // Every blob the images need, stored once: six distinct images, each a manifest, a config and two layers.
    const needed = new Set<string>();
    for (const [name, digest] of Object.entries(names)) {
      const [repo, tag] = name.split(':');
      expect(digest).toBe(await digestOf(`docker://${S}/${repo === 'app' ? 'team/app' : 'tools/cli'}:${tag}`));
      const m = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
      for (const d of [digest, m.config.digest, ...m.layers.map((l: any) => l.digest)]) needed.add(d.slice(7));
    }
    expect(needed.size).toBe(6 * 4);
    expect(readdirSync(join(layout, 'blobs', 'sha256')).sort()).toEqual([...needed].sort());
    const inspect = await sk(['inspect', '--raw', `oci:${layout}:app:1.2.0`]);
    expect(`sha256:${sha256(inspect.stdoutBytes)}`).toBe(names['app:1.2.0']);
    const ls = await must(exec('umoci', ['ls', '--layout', layout]), 'umoci ls');
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual(expected);
  });

  it('--append-suffix and --scoped name destinations as skopeo sync does', async () => {
    ok(
      await sync([
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--append-suffix=-m',
        `${S}/tools/cli`,
        `${px.host}/suf`,
      ]),
    );
    expect(await tagsAt(`${dst.host}/suf/cli`)).toEqual(['a-m', 'b-m']);
    const layout = join(work, 'oci-scoped');
    ok(await sync(['--src', 'docker', '--dest', 'oci', '--src-tls-verify=false', '--scoped', '--append-suffix=-m', `${S}/tools/cli:a`, layout]));
    expect(Object.keys(layoutNames(layout))).toEqual([`${S}/tools/cli:a-m`]);
    // An oci: layout as the source, to a registry: its names become repositories and tags.
    ok(await sync(['--src', 'oci', '--dest', 'docker', '--dest-tls-verify=false', join(work, 'oci-all'), `${px.host}/fromoci`]));
    expect(await tagsAt(`${dst.host}/fromoci/cli`)).toEqual(['a', 'b']);
    expect(await digestOf(`docker://${dst.host}/fromoci/app:v3`)).toBe(await digestOf(`docker://${S}/team/app:v3`));
  });
});

describe('img-sync killed with SIGKILL and run again', () => {
  it('ends as an uninterrupted sync, with nothing torn and no blob that had landed sent again', async () => {
    const layout = join(work, 'oci-killed');
    const args = ['--src', 'docker', '--catalog', '--dest', 'oci', '--src-tls-verify=false', '--jobs=2', spx.host, layout];
    spx.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, stallMs: 250, times: Infinity }]);
    await killAfterFirstRecord(args);
    spx.setFaults([]);
    // Killed midway: some images are there, not all; what index.json names is whole.
    const before = layoutNames(layout);
    expect(Object.keys(before).length).toBeGreaterThan(0);
    expect(Object.keys(before).length).toBeLessThan(10);
    const landed = readdirSync(join(layout, 'blobs', 'sha256')).filter((f) => /^[0-9a-f]{64}$/.test(f));
    for (const f of landed) expect(sha256(readFileSync(join(layout, 'blobs', 'sha256', f)))).toBe(f);

    const again = await sync([...args.slice(0, -2), '--progress=ndjson', spx.host, layout]);
    // stderr holds the progress events; a failure shows the other lines.
    expect(
      again.status,
      again.stderr
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
    ).toBe(0);
    const started = again.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'start')
      .map((e) => e.digest.slice(7));
    expect(started.filter((d) => landed.includes(d))).toEqual([]);
    expect(layoutNames(layout)).toEqual(layoutNames(join(work, 'oci-all')));
    const leftovers = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? leftovers(join(d, e.name)) : e.name.startsWith('.imgpipe-tmp') ? [e.name] : [],
      );
    expect(leftovers(layout)).toEqual([]);
    expect(readdirSync(join(layout, 'blobs', 'sha256')).sort()).toEqual(readdirSync(join(work, 'oci-all', 'blobs', 'sha256')).sort());
  }, 120_000);
});

describe('img-sync to a registry killed with SIGKILL and run again', () => {
  it('re-sends no blob the destination repository had, and ends with the same tags and digests', async () => {
    const args = ['--src', 'docker', '--catalog', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', '--jobs=2'];
    spx.setFaults([{ method: 'GET', path: /\/blobs\/sha256:/, stallMs: 250, times: Infinity }]);
    await killAfterFirstRecord([...args, spx.host, `${px.host}/killed`]);
    spx.setFaults([]);
    const repos = join(dst.storage, 'docker', 'registry', 'v2', 'repositories', 'killed');
    const linked = (repo: string): string[] => {
      const d = join(repos, repo, '_layers', 'sha256');
      return existsSync(d) ? readdirSync(d) : [];
    };
    const before = { app: linked('app'), cli: linked('cli') };
    expect(before.app.length + before.cli.length).toBeGreaterThan(0);
    const again = ok(await sync([...args, '--progress=ndjson', spx.host, `${px.host}/killed`]));
    const started = again.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'start');
    // e.dest is docker://HOST/killed/cli:TAG: cli shares images with app, so the repository must be told apart.
    for (const e of started) expect(before[/\/cli(?::|@|$)/.test(e.dest) ? 'cli' : 'app']).not.toContain(e.digest.slice(7));
    expect(await tagsAt(`${dst.host}/killed/app`)).toEqual(Object.keys(APP_TAGS).sort());
    expect(await tagsAt(`${dst.host}/killed/cli`)).toEqual(Object.keys(CLI_TAGS).sort());
    for (const [tag] of Object.entries(APP_TAGS))
      expect(await digestOf(`docker://${dst.host}/killed/app:${tag}`)).toBe(await digestOf(`docker://${S}/team/app:${tag}`));
  }, 120_000);
});

describe('img-sync of a multi-arch index', () => {
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  let M: string;
  beforeAll(async () => {
    for (const arch of ['amd64', 'arm64']) {
      await umociImage(work, L, `ma-${arch}`);
      await must(exec('umoci', ['config', '--image', `${L}:ma-${arch}`, '--architecture', arch, '--os', 'linux']), 'umoci config');
    }
    const index = JSON.parse(readFileSync(join(L, 'index.json'), 'utf8'));
    const entry = (name: string) => index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: ['amd64', 'arm64'].map((arch) => ({
        mediaType: entry(`ma-${arch}`).mediaType,
        digest: entry(`ma-${arch}`).digest,
        size: entry(`ma-${arch}`).size,
        platform: { architecture: arch, os: 'linux' },
      })),
    };
    ok(await img('img-manifest', ['put', `oci:${L}:ma`], JSON.stringify({ raw: JSON.stringify(doc) })));
    // The source lives on the destination registry, away from the catalog the other tests sync.
    M = `${dst.host}/ma/app`;
    await sk(['copy', '--dest-tls-verify=false', '--all', `oci:${L}:ma`, `docker://${M}:1`]);
  }, 60_000);

  it("takes this machine's image by default and the whole index with --all, as skopeo sync; re-runs move nothing", async () => {
    for (const all of [[], ['--all']]) {
      const ours = join(work, `ma-oci${all.length}`);
      const theirs = join(work, `ma-sk${all.length}`);
      const r = ok(await sync(['--src', 'docker', '--dest', 'oci', '--src-tls-verify=false', ...all, M, ours]));
      await sk(['sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...all, M, theirs]);
      const expected = `sha256:${sha256(readFileSync(join(theirs, 'app:1', 'manifest.json')))}`;
      expect(layoutNames(ours)).toEqual({ 'app:1': expected });
      const top = records(r.stdout).filter((x) => x.parent === undefined);
      expect(top.map((x) => x.digest)).toEqual([expected]);
      if (all.length) {
        expect(records(r.stdout)).toHaveLength(3);
        const m = JSON.parse(readFileSync(join(ours, 'blobs', 'sha256', expected.slice(7)), 'utf8'));
        for (const c of m.manifests) expect(existsSync(join(ours, 'blobs', 'sha256', c.digest.slice(7)))).toBe(true);
      } else {
        const m = JSON.parse(readFileSync(join(ours, 'blobs', 'sha256', expected.slice(7)), 'utf8'));
        const config = JSON.parse(readFileSync(join(ours, 'blobs', 'sha256', m.config.digest.slice(7)), 'utf8'));
        expect(config.architecture).toBe(hostArch);
      }
      const again = ok(await sync(['--src', 'docker', '--dest', 'oci', '--src-tls-verify=false', ...all, M, ours]));
      expect(records(again.stdout).map((x) => x.status)).toEqual(['exists']);
    }
  });
});
