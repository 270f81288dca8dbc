// img-manifest get --inspect --format and --inspect --config against real skopeo 1.9.3 as the
// oracle: images pushed to a real registry by skopeo, then each template run by both, stdout
// compared byte for byte.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-inspect-format-');
const L = join(work, 'layout');
const NO_TLS = '--tls-verify=false';
const box = sandbox(work);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let reg: Registry;
/** the images: an OCI one, the same as Docker schema 2 (skopeo's conversion), and one with a Docker-made config */
const refs: Record<'oci' | 'v2s2' | 'docker', string> = { oci: '', v2s2: '', docker: '' };

const ours = (args: string[], ref: string) => box.img('img-manifest', ['get', '--inspect', NO_TLS, ...args, ref]);
const theirs = (args: string[], ref: string) => box.skopeo(['inspect', NO_TLS, ...args, ref]);

/** same asserts both succeeded and printed the same bytes. */
function same(o: Result, t: Result, what: string): void {
  expect(t.status, `skopeo: ${what}: ${t.stderr}`).toBe(0);
  expect(o.status, `ours: ${what}: ${o.stderr}`).toBe(0);
  expect(o.stdout, what).toBe(t.stdout);
}

/** dockerDirImage writes, by hand, a dir: image whose config is what Docker writes: docker_version, container_config, an offset time. */
function dockerDirImage(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const layers = [1, 2, 3].map((i) => gzipSync(Buffer.from(`layer ${i}\n`.repeat(i * 10))));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      author: 'Someone <someone@example.com>',
      created: '2023-01-02T15:04:05.1234567+02:00',
      docker_version: '20.10.7',
      container: 'c0ffee',
      container_config: { Hostname: 'c0ffee', Cmd: ['/bin/sh', '-c', '#(nop) CMD ["sh"]'] },
      config: {
        Hostname: '',
        User: 'app',
        ExposedPorts: { '8080/tcp': {}, '443/tcp': {} },
        Env: ['PATH=/usr/local/bin:/usr/bin', 'LANG=C.UTF-8', 'HTML=<b>&amp;</b>'],
        Cmd: ['sh'],
        Entrypoint: null,
        Volumes: { '/data': {} },
        WorkingDir: '/srv',
        Labels: { 'org.example.version': '2.1', maintainer: 'ops', '10': 'ten', '9': 'nine' },
        OnBuild: null,
        StopSignal: 'SIGTERM',
        Image: 'sha256:0000',
      },
      rootfs: { type: 'layers', diff_ids: layers.map(() => sha256(Buffer.from('not checked'))) },
      history: [
        { created: '2023-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
        { created: '2023-01-01T00:00:01.5Z', created_by: '/bin/sh -c #(nop)  ENV LANG=C.UTF-8', empty_layer: true },
        { created: '2023-01-02T15:04:05.1234567+02:00', created_by: 'RUN make', comment: 'buildkit' },
      ],
    }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.length, digest: sha256(l) })),
  };
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  for (const b of [config, ...layers]) writeFileSync(join(dir, sha256(b).slice(7)), b);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

beforeAll(async () => {
  reg = await startRegistry();
  // An OCI image made by umoci: three layers, labels (a dotted key, HTML characters), an env list, ports, a volume.
  await umociImage(work, L, 'app');
  writeFileSync(join(work, 'third'), 'third layer\n');
  await must(exec('umoci', ['insert', '--image', `${L}:app`, join(work, 'third'), '/third']), 'umoci insert');
  await must(
    exec('umoci', [
      'config',
      '--image',
      `${L}:app`,
      '--config.label',
      'org.example.version=1.2.3',
      '--config.label',
      'team=web',
      '--config.label',
      'html=<b>&amp;</b>',
      '--config.label',
      'a.b.c=dotted',
      '--config.env',
      'PATH=/usr/bin:/bin',
      '--config.env',
      'LANG=C.UTF-8',
      '--config.exposedports',
      '8080/tcp',
      '--config.volume',
      '/data',
      '--config.workingdir',
      '/srv',
      '--config.user',
      'app',
      '--config.entrypoint',
      '/bin/app',
      '--author',
      'Someone <someone@example.com>',
    ]),
    'umoci config',
  );
  const H = reg.host;
  for (const tag of ['1', 'latest']) await box.sk(['copy', '--dest-tls-verify=false', `oci:${L}:app`, `docker://${H}/app:${tag}`]);
  await box.sk(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${L}:app`, `docker://${H}/app-v2s2:1`]);
  dockerDirImage(join(work, 'docker-dir'));
  await box.sk(['copy', '--dest-tls-verify=false', `dir:${join(work, 'docker-dir')}`, `docker://${H}/docker-made:1`]);
  refs.oci = `docker://${H}/app:1`;
  refs.v2s2 = `docker://${H}/app-v2s2:1`;
  refs.docker = `docker://${H}/docker-made:1`;
});

afterAll(async () => {
  await reg?.stop();
});

/** Templates skopeo users write; each must print all of its output in skopeo 1.9.3 (see the last test). */
const TEMPLATES = [
  '{{.Name}}',
  '{{.Digest}}',
  'Name: {{.Name}} Digest: {{.Digest}}',
  '{{.RepoTags}}',
  '{{.Created}}',
  '{{.Created.Format "2006-01-02 15:04"}} {{.Created.Year}} {{.Created.Month}}',
  '{{.Labels}}',
  '{{index .Labels "org.example.version"}}',
  '{{.Labels.team}}|{{.Labels.nope}}|{{index .Labels "nope"}}|',
  '{{.Env}}',
  '{{range .Env}}{{.}}\\n{{end}}',
  '{{range $i, $l := .Layers}}{{$i}}: {{$l}}\\n{{end}}',
  '{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}',
  '{{len .Layers}} layers, {{len .Env}} env, {{len .RepoTags}} tags',
  '{{if eq .Os "windows"}}windows{{else if eq .Os "linux"}}linux{{else}}other{{end}}',
  '{{with .Labels.team}}team {{.}}{{else}}no team{{end}} {{with .Labels.nope}}x{{else}}none{{end}}',
  '{{printf "%s/%s" .Os .Architecture}} {{printf "%q|%v|%5d|%-6s|" .DockerVersion .RepoTags 42 .Os}}',
  '  {{- .Architecture -}}  \\n  {{- .Os}}',
  '{{.Digest.Algorithm}} {{.Digest.Encoded}}',
  '{{/* a comment */}}{{.Name | printf "%q"}} {{$o := .}}{{range .Env}}{{$o.Os}}:{{.}} {{end}}',
  '{{html .Labels}} {{html .Env}}',
  '{{printf "%v" .Labels.nope}} {{not .Env}} {{and .Os .Env}} {{or .DockerVersion "none"}}',
  '{{.Os}}\\t{{.Architecture}}\\n{{.DockerVersion}}\\t{{len .Layers}}\\nend',
  '{{.}}',
];

describe('get --inspect --format: what skopeo inspect --format prints, byte for byte', () => {
  for (const kind of ['oci', 'v2s2', 'docker'] as const) {
    it(`${kind} image`, async () => {
      for (const t of TEMPLATES) {
        // {{.}} prints every field: ours has LayersData too (as later skopeo), so compare it without
        const [o, th] = await Promise.all([ours(['--format', t], refs[kind]), theirs(['--format', t], refs[kind])]);
        if (t === '{{.}}') {
          expect(o.status, o.stderr).toBe(0);
          expect(o.stdout.replace(/ \[(\{application\/\S+ sha256:[0-9a-f]{64} \d+ map\[[^\]]*\]\} ?)+\]/, '')).toBe(th.stdout);
        } else same(o, th, `${kind}: ${t}`);
      }
    });
  }

  it('-f is --format, and "json" / "{{json .}}" print the plain output', async () => {
    same(await ours(['-f', '{{.Digest}}'], refs.oci), await theirs(['-f', '{{.Digest}}'], refs.oci), '-f');
    const plain = await ours([], refs.oci);
    for (const f of ['json', '{{json .}}', ' {{ json . }} ']) expect((await ours(['--format', f], refs.oci)).stdout).toBe(plain.stdout);
  });

  it('an unknown field: both fail, ours with one line on stderr naming the field, as Go words it', async () => {
    for (const [t, field, type] of [
      ['{{.Foo}}', 'Foo', 'interface {}'],
      ['{{.Labels.team.x}}', 'x', 'string'],
      ['{{range .Nope}}{{end}}', 'Nope', 'interface {}'],
    ]) {
      const [o, th] = await Promise.all([ours(['--format', t!], refs.oci), theirs(['--format', t!], refs.oci)]);
      expect(th.status, th.stderr).not.toBe(0);
      expect(o.status).toBe(1);
      const lines = o.stderr.split('\n').filter((l) => l !== '');
      expect(lines, o.stderr).toHaveLength(1);
      const msg = `can't evaluate field ${field} in type ${type}`;
      expect(lines[0]).toContain(msg);
      expect(lines[0]).toContain(refs.oci.slice('docker://'.length));
      expect(th.stderr).toContain(msg);
      // the rest of Go's message, from "template:", is skopeo's but for the template's name
      expect(lines[0]!.slice(lines[0]!.indexOf('template:'))).toBe(
        JSON.parse(`"${/msg="(.*)"/.exec(th.stderr)![1]!}"`).replaceAll('skopeo inspect', 'inspect'),
      );
    }
  });

  it('a template that does not parse is a usage error before anything is fetched', async () => {
    for (const t of ['{{.Os', '{{if}}{{end}}', '{{nosuch .Os}}']) {
      const o = await ours(['--format', t], 'docker://127.0.0.1:1/never/fetched:1');
      expect(o.status, o.stderr).toBe(2);
      expect(o.stderr.trim().split('\n')).toHaveLength(1);
      expect(o.stderr).toContain(`invalid --format ${JSON.stringify(t)}: template: inspect:`);
      expect(o.stdout).toBe('');
      expect((await theirs(['--format', t], refs.oci)).status).not.toBe(0);
    }
  });

  it('--format belongs to --inspect (and not to --raw)', async () => {
    const noInspect = await box.img('img-manifest', ['get', NO_TLS, '--format', '{{.Digest}}', refs.oci]);
    expect(noInspect.status).toBe(2);
    expect(noInspect.stderr).toMatch(/--format only with --inspect/);
    const raw = await box.img('img-manifest', ['get', '--inspect', '--raw', NO_TLS, '--format', '{{.Digest}}', refs.oci]);
    expect(raw.status).toBe(2);
    expect(raw.stderr).toMatch(/--raw does not take --format/);
    expect((await theirs(['--raw', '--format', '{{.Digest}}'], refs.oci)).status).not.toBe(0);
  });

  it('known difference: skopeo 1.9.3 never flushes its tabwriter, so a last line holding a tab (or no newline) is lost there; ours prints it', async () => {
    for (const t of ['{{.Os}}\\t{{.Architecture}}', 'table {{.Os}} {{.Architecture}}', '{{- .Os -}}  ']) {
      const [o, th] = await Promise.all([ours(['--format', t], refs.oci), theirs(['--format', t], refs.oci)]);
      expect(th.status).toBe(0);
      expect(th.stdout).toBe('');
      expect(o.stdout.startsWith('linux')).toBe(true);
    }
  });
});

describe('get --inspect --config: what skopeo inspect --config prints, byte for byte', () => {
  for (const kind of ['oci', 'v2s2', 'docker'] as const) {
    it(`${kind} image: --config, --config --raw and --config --format`, async () => {
      same(await ours(['--config'], refs[kind]), await theirs(['--config'], refs[kind]), `${kind} --config`);
      const [o, th] = await Promise.all([ours(['--config', '--raw'], refs[kind]), theirs(['--config', '--raw'], refs[kind])]);
      expect(th.status).toBe(0);
      expect(o.status, o.stderr).toBe(0);
      expect(o.stdoutBytes.equals(th.stdoutBytes)).toBe(true);
      for (const t of [
        '{{.Created}} {{.Author}} {{.Architecture}}/{{.OS}}',
        '{{.Config.Labels}} {{.Config.Env}} {{.Config.ExposedPorts}} {{.Config.Volumes}}',
        '{{index .Config.Labels "org.example.version"}} {{.Config.User}} {{.Config.WorkingDir}} {{.Config.Entrypoint}} {{.Config.Cmd}}',
        '{{range .History}}{{.Created}}|{{.CreatedBy}}|{{.EmptyLayer}}\\n{{end}}',
        '{{.RootFS.Type}} {{len .RootFS.DiffIDs}}',
        '{{printf "%+v" .Config}}',
        '{{.}}',
        'json',
      ])
        same(await ours(['--config', '--format', t], refs[kind]), await theirs(['--config', '--format', t], refs[kind]), `${kind} --config --format ${t}`);
      const bad = await ours(['--config', '--format', '{{.Os}}'], refs[kind]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain("can't evaluate field Os in type interface {}");
    });
  }
});
