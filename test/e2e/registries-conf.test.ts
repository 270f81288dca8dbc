// registries.conf against real registries (Debian's docker-registry, plain http): a prefix moved to
// another location, mirrors tried in order for reads and never for writes or tag listings,
// pull-from-mirror, blocked and insecure registries, strict parsing, drop-ins, and the ways to name
// the file. Each test writes the sandbox's HOME/.config/containers/registries.conf (which replaces
// the machine's /etc/containers/registries.conf and its drop-ins) or names a file; skopeo reads the
// same files where it is the oracle.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage, type DirImage } from '../helpers/fixtures.js';
import { must } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, img as imgRaw, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ready = ['docker-registry', 'skopeo'].every(have);
const work = tempDir('imgpipe-registries-conf-e2e-');
const box = sandbox(work);
const HOME = box.env.HOME!;
const USER_CONF = join(HOME, '.config/containers/registries.conf');
const USER_D = join(HOME, '.config/containers/registries.conf.d');
const env = { ...box.env, IMGPIPE_RETRY_DELAY_MS: '10' };
const img = (cmd: string, args: string[], input?: string, e: NodeJS.ProcessEnv = env) => imgRaw(cmd, args, input, e);

/** conf writes the user's registries.conf (the one every command here reads unless told otherwise). */
const conf = (text: string) => writeFileSync(USER_CONF, text);
/** named writes a registries.conf elsewhere and returns its path. */
let n = 0;
const named = (text: string) => {
  const p = join(work, `named-${++n}.conf`);
  writeFileSync(p, text);
  return p;
};
const lines = (s: string) => s.split('\n').filter((l) => l !== '');
/** digestOf runs img-manifest get and returns the record's digest, asserting success. */
async function digestOf(ref: string, flags: string[] = [], e: NodeJS.ProcessEnv = env): Promise<string> {
  const r = await img('img-manifest', ['get', ref, ...flags], undefined, e);
  expect(r.status, r.stderr).toBe(0);
  expect(
    lines(r.stderr).filter((l) => !l.startsWith('debug: ')),
    r.stderr,
  ).toEqual([]);
  const [rec] = records(r.stdout);
  expect(rec!.ref).toBe(ref);
  return rec!.digest;
}
/** oneLine asserts a failure with `status` and one line on stderr matching every pattern (a bad registries.conf fails the operation: 1). */
function oneLine(r: Result, status: number, ...patterns: (RegExp | string)[]): string {
  expect(r.status, r.stderr).toBe(status);
  const l = lines(r.stderr);
  expect(l, r.stderr).toHaveLength(1);
  for (const p of patterns) typeof p === 'string' ? expect(l[0]).toContain(p) : expect(l[0]).toMatch(p);
  expect(r.stderr).not.toMatch(/\n\s+at |node:internal/);
  return l[0]!;
}
/** has says whether an open registry holds a manifest under `reference`. */
async function has(reg: Registry, repo: string, reference: string): Promise<boolean> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  return res.status === 200;
}

let P: Registry; // the registry itself
let M1: Registry; // mirrors
let M2: Registry;
let A: DirImage; // on P
let B: DirImage; // on M1
let C: DirImage; // on M2
const dirOf: Record<string, string> = {};

beforeAll(async () => {
  if (!ready) return;
  [P, M1, M2] = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  for (const seed of ['a', 'b', 'c']) dirOf[seed] = join(work, `img-${seed}`);
  A = writeDirImage(dirOf.a!, { seed: 'a' });
  B = writeDirImage(dirOf.b!, { seed: 'b' });
  C = writeDirImage(dirOf.c!, { seed: 'c' });
  conf('');
  const push = (seed: string, dest: string) => must(img('img-copy', ['--dest-tls-verify=false', `dir:${dirOf[seed]}`, dest]), `push ${seed} to ${dest}`);
  await Promise.all([push('a', `docker://${P.host}/app:1`), push('b', `docker://${M1.host}/app:1`), push('c', `docker://${M2.host}/app:1`)]);
  await Promise.all([
    push('a', `docker://${P.host}/app:2`),
    push('c', `docker://${M2.host}/app:2`),
    push('a', `docker://${P.host}/app:3`),
    push('a', `docker://${P.host}/real/app:1`),
    push('b', `docker://${M1.host}/dst/app:1`),
    push('a', `docker://${P.host}/blocked/app:1`),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([P, M1, M2].filter(Boolean).map((r) => r.stop()));
});

/** mirrored is a registries.conf where P is insecure and has `mirrors` (insecure too unless told). */
const mirrored = (mirrors: Registry[], extra = '') =>
  `[[registry]]\nlocation = "${P.host}"\ninsecure = true\n${mirrors.map((m) => `[[registry.mirror]]\nlocation = "${m.host}"\ninsecure = true\n${extra}`).join('')}`;

describe.skipIf(!ready)('registries.conf', () => {
  it('reads through a prefix moved to another location, as skopeo does', async () => {
    conf(`[[registry]]\nprefix = "logical.invalid/team"\nlocation = "${P.host}/real"\ninsecure = true\n`);
    const ref = 'docker://logical.invalid/team/app:1';
    expect(await digestOf(ref)).toBe(A.digest);
    const sk = await must(box.skopeo(['inspect', '--raw', ref]), 'skopeo inspect');
    expect(sk.stdout).toBe(A.manifest.toString());
    // a blob and a whole copy read through the rewrite too
    const config = JSON.parse(A.manifest.toString()).config.digest;
    const blob = await img('img-blob-get', [`docker://logical.invalid/team/app@${config}`]);
    expect(blob.status, blob.stderr).toBe(0);
    expect(blob.stdoutBytes.equals(A.config)).toBe(true);
    const out = join(work, 'copied-rewrite');
    const r = await img('img-copy', [ref, `dir:${out}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(records(r.stdout)[0]).toMatchObject({ ref, status: 'copied', digest: A.digest });
    expect(readFileSync(join(out, 'manifest.json')).equals(A.manifest)).toBe(true);
  });

  it('writes and lists tags where the reference says, not at the location', async () => {
    conf(`[[registry]]\nlocation = "${P.host}"\ninsecure = true\n[[registry]]\nprefix = "${P.host}/src"\nlocation = "${M1.host}/dst"\ninsecure = true\n`);
    expect(await digestOf(`docker://${P.host}/src/app:1`)).toBe(B.digest);
    const r = await img('img-copy', [`dir:${dirOf.c}`, `docker://${P.host}/src/app:pushed`]);
    expect(r.status, r.stderr).toBe(0);
    expect(await has(P, 'src/app', 'pushed')).toBe(true);
    expect(await has(M1, 'dst/app', 'pushed')).toBe(false);
    const tags = await img('img-tags', ['--json', `docker://${P.host}/src/app`]);
    expect(tags.status, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout).Tags).toEqual(['pushed']);
  });

  it('tries the mirrors in order for reads, then the registry itself', async () => {
    conf(mirrored([M1, M2]));
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(B.digest); // M1 has it
    expect(await digestOf(`docker://${P.host}/app:2`)).toBe(C.digest); // M1 lacks it, M2 has it
    expect(await digestOf(`docker://${P.host}/app:3`)).toBe(A.digest); // only P has it
    // skopeo picks the same sources
    const sk = await must(box.skopeo(['inspect', '--raw', `docker://${P.host}/app:2`]), 'skopeo inspect');
    expect(sk.stdout).toBe(C.manifest.toString());
    // the blobs of B exist on M1 only: a copy reads them there
    const out = join(work, 'copied-mirror');
    const r = await img('img-copy', [`docker://${P.host}/app:1`, `dir:${out}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'manifest.json')).equals(B.manifest)).toBe(true);
    const layer = JSON.parse(C.manifest.toString()).layers[0].digest;
    const blob = await img('img-blob-get', [`docker://${P.host}/app@${layer}`]);
    expect(blob.status, blob.stderr).toBe(0);
    expect(blob.stdoutBytes.equals(C.layer)).toBe(true);
    // --debug names each place tried
    const dbg = await img('img-manifest', ['get', '--debug', `docker://${P.host}/app:3`]);
    expect(dbg.status, dbg.stderr).toBe(0);
    expect(dbg.stderr).toMatch(new RegExp(`trying mirror ${M1.host}/app:3[\\s\\S]*trying mirror ${M2.host}/app:3[\\s\\S]*trying ${P.host}/app:3`));
    // nowhere: the registry's own error, naming what the mirrors said
    const none = await img('img-manifest', ['get', `docker://${P.host}/app:none`]);
    oneLine(none, 1, /manifest unknown/i, `(mirrors also failed: ${M1.host}/app:none: `, `${M2.host}/app:none: `);
  });

  it('never writes to a mirror, and lists tags at the registry itself', async () => {
    conf(mirrored([M1]));
    const r = await img('img-copy', [`dir:${dirOf.c}`, `docker://${P.host}/app:pushed`]);
    expect(r.status, r.stderr).toBe(0);
    expect(await has(P, 'app', 'pushed')).toBe(true);
    expect(await has(M1, 'app', 'pushed')).toBe(false);
    const blob = await img('img-blob-put', [`docker://${P.host}/app`], 'a blob pushed with mirrors configured\n');
    expect(blob.status, blob.stderr).toBe(0);
    const tags = await img('img-tags', ['--json', `docker://${P.host}/app`]);
    expect(tags.status, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout).Tags.sort()).toEqual(['1', '2', '3', 'pushed']);
    // a sync of the tag copies what the mirror serves to where the destination says
    const sync = await img('img-sync', ['--src', 'docker', '--dest', 'docker', `${P.host}/app:1`, `${P.host}/synced`]);
    expect(sync.status, sync.stderr).toBe(0);
    expect(await has(P, 'synced/app', B.digest)).toBe(true);
    expect(await has(M1, 'synced/app', '1')).toBe(false);
  });

  it('uses a digest-only mirror for digests only, and a tag-only one for tags only', async () => {
    conf(mirrored([M1], 'pull-from-mirror = "digest-only"\n'));
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(A.digest); // a tag: not from M1
    expect(await digestOf(`docker://${P.host}/app@${B.digest}`)).toBe(B.digest); // only M1 has B
    expect(await digestOf(`docker://${P.host}/app@${A.digest}`)).toBe(A.digest); // M1 lacks A: P
    conf(mirrored([M1], 'pull-from-mirror = "tag-only"\n'));
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(B.digest);
    const r = await img('img-manifest', ['get', `docker://${P.host}/app@${B.digest}`]);
    oneLine(r, 1, /manifest unknown/i);
    expect(r.stderr).not.toContain('mirrors also failed');
  });

  it('refuses a blocked registry in one line naming it and the file', async () => {
    conf(`${mirrored([])}[[registry]]\nprefix = "${P.host}/blocked"\nlocation = "${P.host}/blocked"\nblocked = true\ninsecure = true\n`);
    const get = await img('img-manifest', ['get', `docker://${P.host}/blocked/app:1`]);
    oneLine(get, 1, `registry ${P.host}/blocked is blocked in ${USER_CONF}`);
    const copy = await img('img-copy', [`dir:${dirOf.b}`, `docker://${P.host}/blocked/app:2`]);
    expect(copy.status).toBe(1);
    expect(copy.stderr).toContain(`registry ${P.host}/blocked is blocked in ${USER_CONF}`);
    expect(await has(P, 'blocked/app', '2')).toBe(false);
    oneLine(await img('img-tags', [`docker://${P.host}/blocked/app`]), 1, `is blocked in ${USER_CONF}`);
    // the rest of the registry is not blocked
    expect(await digestOf(`docker://${P.host}/app:3`)).toBe(A.digest);
    // img-login asks the registry's own entry
    conf(`[[registry]]\nlocation = "${M2.host}"\nblocked = true\n`);
    const login = await img('img-login', ['-u', 'u', '-p', 'p', '--authfile', join(work, 'login.json'), M2.host]);
    oneLine(login, 1, `registry ${M2.host} is blocked in ${USER_CONF}`);
    // as in containers/image, a mirror of a blocked registry may still serve reads
    conf(`[[registry]]\nlocation = "${P.host}"\nblocked = true\n[[registry.mirror]]\nlocation = "${M1.host}"\ninsecure = true\n`);
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(B.digest);
    const none = await img('img-manifest', ['get', `docker://${P.host}/app:3`]);
    oneLine(none, 1, `registry ${P.host} is blocked in ${USER_CONF}`, `(mirrors also failed: ${M1.host}/app:3`);
  });

  it('reads an insecure registry over plain http without --tls-verify=false; --tls-verify=true wins', async () => {
    conf(`[[registry]]\nlocation = "${P.host}"\n`);
    oneLine(await img('img-manifest', ['get', `docker://${P.host}/app:3`]), 1, /does not speak TLS/);
    expect(await digestOf(`docker://${P.host}/app:3`, ['--tls-verify=false'])).toBe(A.digest);
    conf(`[[registry]]\nlocation = "${P.host}"\ninsecure = true\n`);
    expect(await digestOf(`docker://${P.host}/app:3`)).toBe(A.digest);
    const push = await img('img-copy', [`dir:${dirOf.b}`, `docker://${P.host}/app:insecure-push`]);
    expect(push.status, push.stderr).toBe(0);
    oneLine(await img('img-manifest', ['get', '--tls-verify=true', `docker://${P.host}/app:3`]), 1, /does not speak TLS/);
    const forced = await img('img-copy', ['--src-tls-verify=true', `docker://${P.host}/app:3`, `dir:${join(work, 'forced')}`]);
    expect(forced.status).toBe(1);
    expect(forced.stderr).toMatch(/does not speak TLS/);
    // a mirror is insecure only when its own entry says so: this one fails TLS and P serves
    conf(`[[registry]]\nlocation = "${P.host}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${M1.host}"\n`);
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(A.digest);
  });

  it('refuses an unknown key or a bad value, naming it and the file', async () => {
    conf(`[[registry]]\nlocation = "${P.host}"\nlocaton = "x.example"\n`);
    oneLine(await img('img-manifest', ['get', `docker://${P.host}/app:3`]), 1, USER_CONF, 'unknown key "locaton" in [[registry]] 1');
    oneLine(await img('img-tags', [`docker://${P.host}/app`]), 1, USER_CONF, '"locaton"');
    conf(`[[registry]]\nlocation = "${P.host}"\ninsecure = "yes"\n`);
    oneLine(await img('img-manifest', ['get', `docker://${P.host}/app:3`]), 1, USER_CONF, '"insecure" must be true or false');
    // a command that touches no registry does not read it
    const local = await img('img-manifest', ['get', `dir:${dirOf.a}`]);
    expect(local.status, local.stderr).toBe(0);
  });

  it('reads the drop-ins after the main file, in name order, the last prefix winning', async () => {
    conf(`[[registry]]\nlocation = "${P.host}"\nblocked = true\n`);
    mkdirSync(USER_D, { recursive: true });
    writeFileSync(join(USER_D, '10-first.conf'), mirrored([M1]));
    writeFileSync(join(USER_D, '20-second.conf'), mirrored([M2]));
    try {
      expect(await digestOf(`docker://${P.host}/app:1`)).toBe(C.digest);
      rmSync(join(USER_D, '20-second.conf'));
      expect(await digestOf(`docker://${P.host}/app:1`)).toBe(B.digest);
      writeFileSync(join(USER_D, '30-bad.conf'), '[registries.search]\nregistries = ["x.example"]\n');
      oneLine(await img('img-manifest', ['get', `docker://${P.host}/app:1`]), 1, join(USER_D, '30-bad.conf'), 'version 2');
    } finally {
      rmSync(USER_D, { recursive: true, force: true });
    }
  });

  it('takes the file from $CONTAINERS_REGISTRIES_CONF, and from --registries-conf before it', async () => {
    conf(`[[registry]]\nlocation = "${P.host}"\ninsecure = true\n`);
    const viaEnv = { ...env, CONTAINERS_REGISTRIES_CONF: named(mirrored([M1])) };
    expect(await digestOf(`docker://${P.host}/app:1`, [], viaEnv)).toBe(B.digest);
    const flag = named(mirrored([M2]));
    expect(await digestOf(`docker://${P.host}/app:1`, ['--registries-conf', flag], viaEnv)).toBe(C.digest);
    // img-copy hands it to its stages
    const out = join(work, 'copied-flag');
    const r = await img('img-copy', ['--registries-conf', flag, `docker://${P.host}/app:1`, `dir:${out}`], undefined, viaEnv);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'manifest.json')).equals(C.manifest)).toBe(true);
    const explain = await img('img-copy', ['--explain', '--registries-conf', flag, `docker://${P.host}/app:1`, `dir:${out}`]);
    expect(explain.status, explain.stderr).toBe(0);
    expect(explain.stderr).toMatch(new RegExp(`img-manifest get .* --registries-conf=${flag}`));
    // a named file must exist
    const missing = join(work, 'missing.conf');
    oneLine(await img('img-manifest', ['get', '--registries-conf', missing, `docker://${P.host}/app:1`]), 1, `${missing}: no such file`);
    oneLine(
      await img('img-manifest', ['get', `docker://${P.host}/app:1`], undefined, { ...env, CONTAINERS_REGISTRIES_CONF: missing }),
      1,
      `${missing}: no such file`,
    );
  });

  it('falls back to the registry when a mirror is down', async () => {
    conf(mirrored([M1, M2]));
    await M1.stop();
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(C.digest);
    conf(mirrored([M1]));
    expect(await digestOf(`docker://${P.host}/app:1`)).toBe(A.digest);
    const out = join(work, 'copied-down');
    const r = await img('img-copy', [`docker://${P.host}/app:1`, `dir:${out}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'manifest.json')).equals(A.manifest)).toBe(true);
  });
});
