// imgpipe against real skopeo 1.9.3, side by side: each subcommand run by both on the same images
// in a real registry, stdout, stderr (the logrus lines without their time) and exit status
// compared. imgpipe runs through a link named skopeo, as `alias skopeo=imgpipe` would, so its
// messages name skopeo. Where current skopeo (main) differs from 1.9.3, imgpipe follows main and
// the test says how 1.9.3 differs:
//  - inspect prints LayersData (skopeo 1.10 on);
//  - copy prints "Storing signatures" only when there are signatures (1.9.3: always);
//  - an image that is not there exits 2 (1.9.3: 1);
//  - standalone-verify prints "Signature verified using fingerprint FPR, digest D" (1.9.3: "Signature verified, digest D");
//  - generate-sigstore-key does not exist in 1.9.3.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { BIN, exec, have, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ready = ['docker-registry', 'skopeo', 'gpg', 'htpasswd'].every(have);
const work = tempDir('imgpipe-vs-skopeo-');
const box = sandbox(work);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const USER = 'bob';
const PASS = 'pw-Vs-Skopeo-9z';

let reg: Registry; // open, plain http
let auth: Registry; // htpasswd, plain http
let IMG = ''; // docker://reg/app:1, a Docker schema 2 image
let INDEX = ''; // docker://reg/multi:1, an index of two images

const link = join(work, 'bin', 'skopeo');
mkdirSync(join(work, 'bin'), { recursive: true });
symlinkSync(join(BIN, 'imgpipe'), link);

/** ip runs imgpipe as skopeo; sk runs skopeo 1.9.3; both in the sandbox (accept-anything policy, no credentials). */
const ip = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => exec(link, args, input, { ...box.env, ...env });
const sk = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => exec('skopeo', args, input, { ...box.env, ...env });
/** logs are stderr's lines without logrus's time field. */
const logs = (r: Result) => r.stderr.replace(/^time="[^"]*" /gm, '');
const out = (name: string) => join(work, 'out', name);
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** same asserts stdout, stderr (time left out) and exit status are skopeo's. */
function same(o: Result, t: Result, what: string): void {
  expect({ status: o.status, stdout: o.stdout, stderr: logs(o) }, what).toEqual({ status: t.status, stdout: t.stdout, stderr: logs(t) });
}

/** dirImage writes a dir: image: a Docker schema 2 manifest, one gzip layer, a config for `arch`. */
function dirImage(dir: string, arch: string, text: string): Buffer {
  mkdirSync(dir, { recursive: true });
  const layer = gzipSync(Buffer.from(`${text}\n`.repeat(20)));
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      created: '2024-03-04T05:06:07.5Z',
      config: { Env: ['PATH=/bin'], Labels: { b: '2', a: '1' } },
      rootfs: { type: 'layers', diff_ids: [sha256(text)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
    }),
  );
  writeFileSync(join(dir, sha256(layer).slice(7)), layer);
  writeFileSync(join(dir, sha256(config).slice(7)), config);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  return manifest;
}

beforeAll(async () => {
  if (!ready) return;
  [reg, auth] = await Promise.all([startRegistry(), startRegistry({ auth: 'htpasswd', users: { [USER]: PASS } })]);
  mkdirSync(out(''), { recursive: true });
  dirImage(join(work, 'app'), 'amd64', 'app');
  IMG = `docker://${reg.host}/app:1`;
  await must(sk(['copy', '--dest-tls-verify=false', `dir:${join(work, 'app')}`, IMG]), 'push app');
  await must(sk(['copy', '--dest-tls-verify=false', `dir:${join(work, 'app')}`, `docker://${reg.host}/app:2`]), 'push app:2');
  // an index of an amd64 and an arm64 image
  const entries = [];
  for (const arch of ['amd64', 'arm64']) {
    const m = dirImage(join(work, `multi-${arch}`), arch, `multi ${arch}`);
    await must(sk(['copy', '--dest-tls-verify=false', `dir:${join(work, `multi-${arch}`)}`, `docker://${reg.host}/multi:${arch}`]), `push ${arch}`);
    entries.push({
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: m.length,
      digest: sha256(m),
      platform: { architecture: arch, os: 'linux' },
    });
  }
  const list = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: entries });
  INDEX = `docker://${reg.host}/multi:1`;
  await must(box.img('img-manifest', ['put', '--tls-verify=false', INDEX], JSON.stringify({ raw: list })), 'put index');
}, 120_000);

afterAll(async () => {
  await Promise.all([reg?.stop(), auth?.stop()]);
});

describe.skipIf(!ready)('imgpipe and skopeo 1.9.3, side by side', () => {
  it('inspect: the JSON (LayersData aside: current skopeo prints it), --raw, --config, --format', async () => {
    const [o, t] = await Promise.all([ip(['inspect', '--tls-verify=false', IMG]), sk(['inspect', '--tls-verify=false', IMG])]);
    expect(o.status, o.stderr).toBe(0);
    expect(o.stdout.replace(/ {4}"LayersData": \[\n[\s\S]*?\n {4}\],\n/, '')).toBe(t.stdout);
    expect(JSON.parse(o.stdout).LayersData).toEqual([
      expect.objectContaining({ MIMEType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', Annotations: null }),
    ]);
    for (const args of [['--raw'], ['--config'], ['--config', '--raw'], ['--format', '{{.Name}} {{.Digest}} {{.Architecture}}'], ['--no-tags']]) {
      const a = ['inspect', '--tls-verify=false', ...args, IMG];
      if (args[0] === '--no-tags') {
        const [x, y] = await Promise.all([ip(a), sk(a)]);
        expect(x.stdout.replace(/ {4}"LayersData": \[\n[\s\S]*?\n {4}\],\n/, '')).toBe(y.stdout);
      } else same(await ip(a), await sk(a), a.join(' '));
    }
    // global flags before the subcommand: the platform of an index, the deprecated --tls-verify
    for (const args of [
      ['--override-arch', 'arm64', 'inspect', '--format', '{{.Architecture}}', '--tls-verify=false', INDEX],
      ['--tls-verify=false', 'inspect', '--raw', IMG],
    ])
      same(await ip(args), await sk(args), args.join(' '));
  });

  it('inspect: failures in skopeo words; a missing image exits 2 as current skopeo (1.9.3: 1)', async () => {
    for (const args of [['inspect'], ['inspect', 'a', 'b'], ['inspect', '--raw', '--format', 'x', IMG], ['inspect', '--bogus', IMG], ['inspct', IMG], []])
      same(await ip(args), await sk(args), args.join(' '));
    const a = ['inspect', '--tls-verify=false', `docker://${reg.host}/app:nope`];
    const [o, t] = await Promise.all([ip(a), sk(a)]);
    expect([o.status, t.status]).toEqual([2, 1]);
    for (const r of [o, t])
      expect(logs(r)).toMatch(new RegExp(`^level=fatal msg="Error parsing image name \\\\"docker://${reg.host}/app:nope\\\\": .*manifest unknown`));
    // a containers-storage: image that is not there (main's systemtest "inspect: image unknown"): exit 2, skopeo's words
    if (have('podman')) {
      const cs = ['inspect', 'containers-storage:imgpipe-non-existing-tag'];
      const [c, d] = await Promise.all([ip(cs), sk(cs)]);
      expect([c.status, d.status]).toEqual([2, 1]);
      for (const r of [c, d]) expect(logs(r)).toContain('does not resolve to an image ID');
    }
    // an index without this machine's platform: exit 1 for both, skopeo's words
    const i = ['--override-arch', 's390x', 'inspect', '--tls-verify=false', INDEX];
    const [x, y] = await Promise.all([ip(i), sk(i)]);
    expect([x.status, y.status]).toEqual([1, 1]);
    expect(logs(x)).toContain(
      'Error parsing manifest for image: choosing image instance: no image found in manifest list for architecture \\"s390x\\", variant \\"\\", OS \\"linux\\"',
    );
    expect(logs(y)).toContain('Error parsing manifest for image: choosing image instance: no image found in manifest list for architecture s390x');
  });

  it('copy: the same lines on stdout (but 1.9.3\'s "Storing signatures" with none), the same image; -q prints nothing', async () => {
    const a = (d: string) => ['copy', '--src-tls-verify=false', IMG, `dir:${out(d)}`];
    const [o, t] = await Promise.all([ip(a('c-ours')), sk(a('c-theirs'))]);
    expect(t.stdout).toMatch(/Storing signatures\n$/);
    expect({ status: o.status, stdout: o.stdout, stderr: o.stderr }).toEqual({ status: 0, stdout: t.stdout.replace('Storing signatures\n', ''), stderr: '' });
    expect(lines(o.stdout)[0]).toBe('Getting image source signatures');
    for (const f of readdirSync(out('c-theirs'))) expect(readFileSync(join(out('c-ours'), f)).equals(readFileSync(join(out('c-theirs'), f))), f).toBe(true);
    same(await ip(['copy', '-q', ...a('q-ours').slice(1)]), await sk(['copy', '-q', ...a('q-theirs').slice(1)]), 'copy -q');
    // --all of an index into a registry (no conversion: the same digests): the list's lines, but
    // 1.9.3 words the count "Copying 2 of 2 images in list", current skopeo "Copying 2 images generated from 2 images in list"
    const all = (name: string) => ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', INDEX, `docker://${reg.host}/${name}:1`];
    const [x, y] = await Promise.all([ip(all('all-ours')), sk(all('all-theirs'))]);
    expect(x.status, x.stderr).toBe(0);
    expect(lines(x.stdout)).toEqual(
      lines(y.stdout)
        .filter((l) => !l.startsWith('Storing'))
        .map((l) => l.replace(/^Copying (\d+) of (\d+) images in list$/, 'Copying $1 images generated from $2 images in list')),
    );
    // usage errors: current skopeo prints copy's help on stderr, then the error, exit 1 (1.9.3: the help on stdout, exit 0)
    const u = await ip(['copy', 'a']);
    expect([u.status, u.stdout]).toEqual([1, '']);
    expect(u.stderr).toMatch(
      /^Copy an IMAGE-NAME from one location to another[\s\S]*\nUsage:\n {2}skopeo copy \[command options\] SOURCE-IMAGE DESTINATION-IMAGE\ntime="[^"]*" level=fatal msg="Exactly two arguments expected"\n$/,
    );
    expect((await sk(['copy', 'a'])).status).toBe(0);
    for (const args of [['copy', '--multi-arch', 'all', '--all', IMG, `dir:${out('x')}`]]) same(await ip(args), await sk(args), args.join(' '));
  });

  it('copy: a missing source, refused flags (exit 2, encryption out of scope), and --explain', async () => {
    const a = ['copy', '--src-tls-verify=false', `docker://${reg.host}/app:nope`, `dir:${out('nope')}`];
    const [o, t] = await Promise.all([ip(a), sk(a)]);
    expect([o.status, o.stdout]).toEqual([2, '']);
    for (const r of [o, t]) expect(logs(r)).toMatch(/^level=fatal msg=".*manifest unknown/);
    for (const [flag, word] of [
      ['--encryption-key=jwe:k.pem', 'out of scope'],
      ['--decryption-key=k.pem', 'out of scope'],
      ['--sign-by-sq-fingerprint=0123', "needs Sequoia-PGP's key store"],
      ['--sign-by-sigstore=params.yaml', 'keyless signing needs an OIDC provider, a Fulcio and a Rekor server'],
    ]) {
      const r = await ip(['copy', flag!, IMG, `dir:${out('never')}`]);
      expect(r.status, r.stderr).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(logs(r)).toMatch(new RegExp(`^level=fatal msg="${flag!.split('=')[0]}: .*${word}`));
    }
    const e = await ip(['copy', '--explain', '--src-tls-verify=false', IMG, `dir:${out('never')}`]);
    expect(e.status).toBe(0);
    expect(e.stdout).toBe('');
    expect(e.stderr).toMatch(/^img-manifest get docker:\/\/.* --tls-verify=false --multi-arch=system \\\n/);
  });

  it('sync: the same log lines, copy lines and summary; --dry-run; an image the destination has', async () => {
    const a = (d: string, extra: string[] = []) => ['sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', ...extra, `${reg.host}/app`, out(d)];
    const norm = (r: Result, d: string) => ({
      status: r.status,
      stdout: r.stdout.replace(/Storing signatures\n/g, ''),
      stderr: logs(r).replaceAll(out(d), 'OUT'),
    });
    for (const extra of [['--dry-run'], [], ['--scoped']]) {
      const d = `s-${extra.join('') || 'plain'}`;
      const [o, t] = await Promise.all([ip(a(`${d}-ours`, extra)), sk(a(`${d}-theirs`, extra))]);
      expect(norm(o, `${d}-ours`), extra.join(' ')).toEqual(norm(t, `${d}-theirs`));
    }
    // skopeo makes the directories even with --dry-run, and refuses existing ones: so does imgpipe
    const [o, t] = await Promise.all([ip(a('s---dry-run-ours')), sk(a('s---dry-run-theirs'))]);
    expect(norm(o, 's---dry-run-ours')).toEqual(norm(t, 's---dry-run-theirs'));
    expect(o.status).toBe(1);
    // a YAML source: "Processing repo" for each repository
    const yaml = out('sync.yaml');
    writeFileSync(yaml, `${reg.host}:\n  tls-verify: false\n  images:\n    app:\n      - "1"\n`);
    const y = (d: string) => ['sync', '--src', 'yaml', '--dest', 'dir', yaml, out(d)];
    const [yo, yt] = await Promise.all([ip(y('y-ours')), sk(y('y-theirs'))]);
    expect(norm(yo, 'y-ours')).toEqual(norm(yt, 'y-theirs'));
    expect(logs(yo)).toMatch(/^level=info msg="Processing repo" registry="127\.0\.0\.1:\d+" repo=app$/m);
    // to a registry, twice: the second run passes both images by
    const r = (name: string) => [
      'sync',
      '--src',
      'docker',
      '--dest',
      'docker',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `${reg.host}/app`,
      `${reg.host}/${name}`,
    ];
    for (let i = 0; i < 2; i++) {
      const o = await ip(r('mirror-ours'));
      const t = await sk(r('mirror-theirs'));
      expect({ ...norm(o, ''), stderr: logs(o).replaceAll('mirror-ours', 'M') }).toEqual({ ...norm(t, ''), stderr: logs(t).replaceAll('mirror-theirs', 'M') });
      if (i === 1) expect(o.stdout).toContain('Skipping: image already present at destination');
    }
    // --override-arch: the index's image for that platform, as skopeo sync without --all picks it
    const ov = (d: string) => ['--override-arch', 'arm64', 'sync', '--src', 'docker', '--dest', 'dir', '--src-tls-verify=false', INDEX.slice(9), out(d)];
    const [vo, vt] = [await ip(ov('ov-ours')), await sk(ov('ov-theirs'))];
    expect(norm(vo, 'ov-ours')).toEqual(norm(vt, 'ov-theirs'));
    expect(readFileSync(join(out('ov-ours'), 'multi:1', 'manifest.json')).equals(readFileSync(join(out('ov-theirs'), 'multi:1', 'manifest.json')))).toBe(true);
    for (const args of [
      ['sync', '--src', 'oci', '--dest', 'dir', 'a', 'b'],
      ['sync', '--src', 'docker', 'a', 'b'],
      ['sync', '--src', 'dir', '--dest', 'dir', 'a', 'b'],
    ])
      same(await ip(args), await sk(args), args.join(' '));
  });

  it('delete, list-tags, manifest-digest', async () => {
    same(
      await ip(['list-tags', '--tls-verify=false', `docker://${reg.host}/app`]),
      await sk(['list-tags', '--tls-verify=false', `docker://${reg.host}/app`]),
      'list-tags',
    );
    same(
      await ip(['manifest-digest', join(work, 'app', 'manifest.json')]),
      await sk(['manifest-digest', join(work, 'app', 'manifest.json')]),
      'manifest-digest',
    );
    same(await ip(['manifest-digest', out('none.json')]), await sk(['manifest-digest', out('none.json')]), 'manifest-digest of nothing');
    for (const name of ['del-ours', 'del-theirs'])
      await must(sk(['copy', '--dest-tls-verify=false', `dir:${join(work, `multi-arm64`)}`, `docker://${reg.host}/${name}:1`]), 'push');
    const [o, t] = await Promise.all([
      ip(['delete', '--tls-verify=false', `docker://${reg.host}/del-ours:1`]),
      sk(['delete', '--tls-verify=false', `docker://${reg.host}/del-theirs:1`]),
    ]);
    same(o, t, 'delete');
    const [x, y] = await Promise.all([
      ip(['delete', '--tls-verify=false', `docker://${reg.host}/del-ours:1`]),
      sk(['delete', '--tls-verify=false', `docker://${reg.host}/del-ours:1`]),
    ]);
    same(x, y, 'delete of nothing');
  });

  it('login and logout: the same lines, the same auth.json', async () => {
    const files = { ours: out('auth-ours.json'), theirs: out('auth-theirs.json') };
    const login = (run: typeof ip, f: string, pw = PASS) =>
      run(['login', '--tls-verify=false', '-u', USER, '--password-stdin', '--authfile', f, auth.host], `${pw}\n`);
    same(await login(ip, files.ours), await login(sk, files.theirs), 'login');
    expect(JSON.parse(readFileSync(files.ours, 'utf8'))).toEqual(JSON.parse(readFileSync(files.theirs, 'utf8')));
    const [o, t] = await Promise.all([login(ip, out('bad-ours.json'), 'wrong'), login(sk, out('bad-theirs.json'), 'wrong')]);
    expect([o.status, t.status]).toEqual([1, 1]);
    for (const r of [o, t]) expect(logs(r)).toContain(`logging into \\"${auth.host}\\": invalid username/password`);
    same(await ip(['logout', '--authfile', files.ours, auth.host]), await sk(['logout', '--authfile', files.theirs, auth.host]), 'logout');
    same(await ip(['logout', '--authfile', files.ours, auth.host]), await sk(['logout', '--authfile', files.theirs, auth.host]), 'logout again');
    same(await ip(['logout', '--all', '--authfile', files.ours]), await sk(['logout', '--all', '--authfile', files.theirs]), 'logout --all');
  });

  it("standalone-sign and standalone-verify: each verifies the other's signature", async () => {
    const env = { GNUPGHOME: join(work, 'gnupg') };
    mkdirSync(env.GNUPGHOME, { recursive: true, mode: 0o700 });
    const gen = await must(
      exec(
        'gpg',
        ['--batch', '--pinentry-mode', 'loopback', '--status-fd', '1', '--gen-key'],
        '%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: vs\nExpire-Date: 0\n%commit\n',
        env,
      ),
      'gpg',
    );
    const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(gen.stdout)![1]!;
    const m = join(work, 'app', 'manifest.json');
    const d = sha256(readFileSync(m));
    const ref = 'registry.example/app:1';
    same(await ip(['standalone-sign', m, ref, fpr], undefined, env), await sk(['standalone-sign', m, ref, fpr], undefined, env), 'sign without -o');
    await must(ip(['standalone-sign', '-o', out('sig-ours'), m, ref, fpr], undefined, env), 'sign');
    await must(sk(['standalone-sign', '-o', out('sig-theirs'), m, ref, fpr], undefined, env), 'sign');
    for (const sig of ['sig-ours', 'sig-theirs']) {
      const o = await ip(['standalone-verify', m, ref, fpr, out(sig)], undefined, env);
      const t = await sk(['standalone-verify', m, ref, fpr, out(sig)], undefined, env);
      expect(o.stdout).toBe(`Signature verified using fingerprint ${fpr}, digest ${d}\n`);
      expect(t.stdout).toBe(`Signature verified, digest ${d}\n`);
    }
    same(await ip(['standalone-verify', m, ref, fpr]), await sk(['standalone-verify', m, ref, fpr]), 'verify usage');
    // a signed source: the signature goes along, and both say so in the same lines
    const signed = join(work, 'signed');
    await must(exec('cp', ['-r', join(work, 'app'), signed]), 'cp');
    await must(sk(['standalone-sign', '-o', join(signed, 'signature-1'), join(signed, 'manifest.json'), ref, fpr], undefined, env), 'sign');
    const [o, t] = await Promise.all([
      ip(['copy', `dir:${signed}`, `dir:${out('signed-ours')}`]),
      sk(['copy', `dir:${signed}`, `dir:${out('signed-theirs')}`]),
    ]);
    same(o, t, 'copy of a signed image');
    expect(lines(o.stdout)).toContain('Storing signatures');
    expect(readFileSync(join(out('signed-ours'), 'signature-1')).equals(readFileSync(join(signed, 'signature-1')))).toBe(true);

    // copy --sign-by --sign-identity: a dir: destination signed for the identity by both (1.9.3
    // words the signing line "Signing manifest using simple signing"); each verifies the other's
    const id = 'registry.example/signed/as:2';
    const si = (d: string, identity = id) => ['copy', '--sign-by', fpr, '--sign-identity', identity, `dir:${join(work, 'app')}`, `dir:${out(d)}`];
    const so = await ip(si('si-ours'), undefined, env);
    const st = await sk(si('si-theirs'), undefined, env);
    expect(so.status, so.stderr).toBe(0);
    expect(lines(so.stdout)).toEqual(
      lines(st.stdout).map((l) => (l === 'Signing manifest using simple signing' ? 'Creating signature: Signing image using simple signing' : l)),
    );
    for (const dir of ['si-ours', 'si-theirs']) {
      const args = ['standalone-verify', join(out(dir), 'manifest.json'), id, fpr, join(out(dir), 'signature-1')];
      expect((await ip(args, undefined, env)).stdout, dir).toBe(`Signature verified using fingerprint ${fpr}, digest ${d}\n`);
      expect((await sk(args, undefined, env)).stdout, dir).toBe(`Signature verified, digest ${d}\n`);
    }
    // a name that is not written in full: skopeo's fatal line, with the name in full added, before anything is copied
    const [co, ct] = [await ip(si('si-short-ours', 'busybox:1'), undefined, env), await sk(si('si-short-theirs', 'busybox:1'), undefined, env)];
    expect([co.status, co.stdout]).toEqual([ct.status, ct.stdout]);
    expect(logs(ct)).toBe('level=fatal msg="Could not parse --sign-identity: repository name must be canonical"\n');
    expect(logs(co)).toBe(`${logs(ct).slice(0, -2)} (\\"busybox:1\\" is docker.io/library/busybox:1 in full)"\n`);
    expect(existsSync(out('si-short-ours'))).toBe(false);
    // a name without a tag: skopeo's words, but skopeo finds it when it signs, after the copy (its
    // lines on stdout, the image at the destination, unsigned); imgpipe before anything moves
    const [no, nt] = [
      await ip(si('si-name-ours', 'registry.example/signed/as'), undefined, env),
      await sk(si('si-name-theirs', 'registry.example/signed/as'), undefined, env),
    ];
    expect([no.status, nt.status]).toEqual([1, 1]);
    expect(logs(no)).toBe(logs(nt));
    expect(logs(no)).toBe('level=fatal msg="Sign identity must be a fully specified reference registry.example/signed/as"\n');
    expect([no.stdout, existsSync(out('si-name-ours'))]).toEqual(['', false]);
    expect(existsSync(join(out('si-name-theirs'), 'manifest.json'))).toBe(true);
  });

  it('--version, help, and what 1.9.3 lacks: generate-sigstore-key', async () => {
    expect((await ip(['--version'])).stdout).toMatch(/^skopeo version \d+\.\d+\.\d+ \(imgpipe\)\n$/);
    expect((await sk(['--version'])).stdout).toMatch(/^skopeo version 1\.9\.3\n$/);
    const h = await ip(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/^Available Commands:$/m);
    const prefix = out('sigkey');
    writeFileSync(out('pass'), 'pass\n');
    const g = await ip(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', out('pass')]);
    expect(g.stdout).toBe(`Key written to "${prefix}.private" and "${prefix}.pub"\n`);
    expect((await sk(['generate-sigstore-key', '--output-prefix', prefix])).status).toBe(1);
  });
});
