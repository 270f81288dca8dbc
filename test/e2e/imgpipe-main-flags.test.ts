// skopeo main's flags that skopeo 1.9.3 lacks, as imgpipe runs them: inspect --manifest-digest
// (compared with skopeo 1.9.3's Digest where 1.9.3 has one, and with skopeo main's documented
// behaviour: the config digest's algorithm by default), global --require-signed (containers/image's
// RequireSignatureVerification: a policy that verifies no signature refuses the image), global
// --tls-details (containers-tls-details.yaml(5)) against real TLS servers.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRegistry, type Registry } from '../helpers/registry.js';
import { certDir, makePki, type Pki } from '../helpers/pki.js';
import { BIN, exec, have, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const ready = ['skopeo'].every(have);
const work = tempDir('imgpipe-main-flags-');
const box = sandbox(work);
const hash = (alg: string, b: Buffer) => `${alg}:${createHash(alg).update(b).digest('hex')}`;

const link = join(work, 'bin', 'skopeo');
mkdirSync(join(work, 'bin'), { recursive: true });
symlinkSync(join(BIN, 'imgpipe'), link);

/** ip runs imgpipe as skopeo; sk runs skopeo 1.9.3; both in the sandbox (accept-anything policy). */
const ip = (args: string[]) => exec(link, args, undefined, box.env);
const sk = (args: string[]) => exec('skopeo', args, undefined, box.env);
const fatal = (r: Result) => /level=fatal msg="(.*)"\n$/.exec(r.stderr)?.[1];

/** layout writes an OCI layout at `dir` with one image tagged x whose config blob is named by `configAlg`; gives the manifest's bytes. */
function layout(dir: string, configAlg: 'sha256' | 'sha512'): Buffer {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-02T03:04:05Z',
      rootfs: { type: 'layers', diff_ids: [hash('sha256', Buffer.from('x'))] },
    }),
  );
  const layer = gzipSync(Buffer.from('x'));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: hash(configAlg, config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: hash('sha256', layer), size: layer.length }],
    }),
  );
  for (const [alg, b] of [
    [configAlg, config],
    ['sha256', layer],
    ['sha256', manifest],
  ] as const) {
    mkdirSync(join(dir, 'blobs', alg), { recursive: true });
    writeFileSync(join(dir, 'blobs', alg, hash(alg, b).slice(alg.length + 1)), b);
  }
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const ref = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: hash('sha256', manifest),
    size: manifest.length,
    annotations: { 'org.opencontainers.image.ref.name': 'x' },
  };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [ref] }));
  return manifest;
}

describe.skipIf(!ready)('inspect --manifest-digest', () => {
  const L256 = join(work, 'l256');
  const L512 = join(work, 'l512');
  const M256 = layout(L256, 'sha256');
  const M512 = layout(L512, 'sha512');

  it('without it, Digest (and the rest) is what skopeo 1.9.3 prints (a sha256 config: sha256 of the manifest)', async () => {
    const mine = await ip(['inspect', `oci:${L256}:x`]);
    const theirs = await sk(['inspect', `oci:${L256}:x`]);
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(mine.status, mine.stderr).toBe(0);
    // skopeo 1.9.3 predates LayersData, which skopeo main (and imgpipe) print
    const { LayersData, ...rest } = JSON.parse(mine.stdout);
    expect(LayersData).toHaveLength(1);
    expect(rest).toEqual(JSON.parse(theirs.stdout));
    expect(JSON.parse(mine.stdout).Digest).toBe(hash('sha256', M256));
  });

  it('by the algorithm given: sha512, sha384, sha256, and "" for sha256, as skopeo main', async () => {
    for (const alg of ['sha512', 'sha384', 'sha256']) {
      const r = await ip(['inspect', `--manifest-digest=${alg}`, '--format', '{{.Digest}}', `oci:${L256}:x`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${hash(alg, M256)}\n`);
    }
    const r = await ip(['inspect', '--manifest-digest=', '--format', 'Digest: {{.Digest}}', `oci:${L256}:x`]);
    expect(r.stdout).toBe(`Digest: ${hash('sha256', M256)}\n`);
    // the flag's value is the next argument, as pflag reads it
    const spaced = await ip(['inspect', '--manifest-digest', 'sha512', `oci:${L256}:x`]);
    expect(JSON.parse(spaced.stdout).Digest).toBe(hash('sha512', M256));
  });

  it('by default, the algorithm of the config digest (skopeo main; skopeo 1.9.3 cannot read a sha512 config)', async () => {
    const r = await ip(['inspect', `oci:${L512}:x`]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).Digest).toBe(hash('sha512', M512));
    const forced = await ip(['inspect', '--manifest-digest=sha256', `oci:${L512}:x`]);
    expect(JSON.parse(forced.stdout).Digest).toBe(hash('sha256', M512));
  });

  it('an algorithm skopeo has not fails in its words; with --raw or --config (no Digest printed) it is refused', async () => {
    const bad = await ip(['inspect', '--manifest-digest=md5', `oci:${L256}:x`]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(fatal(bad)).toBe('Error computing manifest digest: digest algorithm \\"md5\\" is not available');
    for (const f of ['--raw', '--config']) {
      const r = await ip(['inspect', f, '--manifest-digest=sha512', `oci:${L256}:x`]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(fatal(r)).toBe(`--manifest-digest does not go with ${f}: that output has no Digest`);
    }
  });
});

describe.skipIf(!ready || !have('gpg') || !have('docker-registry'))('--require-signed', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });
  const GNUPGHOME = join(work, 'gnupg');
  const env = { ...box.env, GNUPGHOME };
  const ipg = (args: string[]) => exec(link, args, undefined, env);
  const policies = join(work, 'policies');
  const SRC = join(work, 'l256');
  let signed = ''; // dir: copy of SRC signed by the key
  let ACCEPT = '';
  let SIGNED_BY = '';
  let NONE_VERIFY = ''; // signedBaseLayer is no signature verification either; reject is only a refusal

  it('setup: a gpg key, an image signed with it, and policies', async () => {
    mkdirSync(GNUPGHOME, { recursive: true, mode: 0o700 });
    mkdirSync(policies, { recursive: true });
    const gen = await exec(
      'gpg',
      ['--batch', '--pinentry-mode', 'loopback', '--status-fd', '1', '--gen-key'],
      '%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: rs\nExpire-Date: 0\n%commit\n',
      env,
    );
    expect(gen.status, gen.stderr).toBe(0);
    const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(gen.stdout)![1]!;
    const pub = join(work, 'pub.gpg');
    expect((await exec('gpg', ['--batch', '--output', pub, '--export', fpr], undefined, env)).status).toBe(0);
    ACCEPT = join(policies, 'accept.json');
    writeFileSync(ACCEPT, '{"default":[{"type":"insecureAcceptAnything"}]}');
    SIGNED_BY = join(policies, 'signed.json');
    writeFileSync(
      SIGNED_BY,
      JSON.stringify({
        default: [{ type: 'insecureAcceptAnything' }],
        transports: {
          dir: {
            '': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: pub, signedIdentity: { type: 'exactReference', dockerReference: 'example.com/app:1' } }],
          },
        },
      }),
    );
    NONE_VERIFY = join(policies, 'accept-dir.json');
    writeFileSync(NONE_VERIFY, JSON.stringify({ default: [{ type: 'reject' }], transports: { dir: { '': [{ type: 'insecureAcceptAnything' }] } } }));
    signed = join(work, 'signed');
    const s = await ipg(['copy', '--policy', ACCEPT, '--sign-by', fpr, '--sign-identity', 'example.com/app:1', `oci:${SRC}:x`, `dir:${signed}`]);
    expect(s.status, s.stderr).toBe(0);
  });

  it('copy: accepted by a policy that verifies nothing, refused with --require-signed (skopeo main’s words)', async () => {
    const plain = await ipg(['--policy', ACCEPT, 'copy', `oci:${SRC}:x`, `dir:${join(work, 'plain')}`]);
    expect(plain.status, plain.stderr).toBe(0);
    for (const args of [
      ['--policy', ACCEPT, '--require-signed', 'copy', `oci:${SRC}:x`, `dir:${join(work, 'never1')}`],
      // a persistent flag after the subcommand, as cobra reads it
      ['copy', '--policy', NONE_VERIFY, '--require-signed', `dir:${signed}`, `dir:${join(work, 'never2')}`],
    ]) {
      const r = await ipg(args);
      expect(r.status, r.stderr).toBe(1);
      expect(fatal(r)).toMatch(/^Source image rejected: .*No signature verification policy found for image /);
      expect(existsSync(args[args.length - 1]!.slice(4))).toBe(false);
    }
  });

  it('copy and sync: a signature the policy verified satisfies it', async () => {
    /** requireSignedSync syncs the signed dir: image into REPO of the registry under --require-signed and `policy`. */
    const requireSignedSync = (policy: string, repo: string) =>
      ipg([
        '--require-signed',
        'sync',
        '--policy',
        policy,
        '--remove-signatures',
        '--dest-tls-verify=false',
        '--src',
        'dir',
        '--dest',
        'docker',
        signed,
        `${reg.host}/${repo}`,
      ]);
    const c = await ipg(['--policy', SIGNED_BY, '--require-signed', 'copy', `dir:${signed}`, `dir:${join(work, 'verified')}`]);
    expect(c.status, c.stderr).toBe(0);
    const s = await requireSignedSync(SIGNED_BY, 'synced');
    expect(s.status, s.stderr).toBe(0);
    const refused = await requireSignedSync(ACCEPT, 'synced2');
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('No signature verification policy found for image');
  });

  it('with --insecure-policy every subcommand fails, as skopeo main; img-copy and img-sync refuse the pair', async () => {
    for (const args of [
      ['--insecure-policy', '--require-signed', 'inspect', `oci:${SRC}:x`],
      ['--require-signed', 'copy', '--insecure-policy', `oci:${SRC}:x`, `dir:${join(work, 'never3')}`],
    ]) {
      const r = await ipg(args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(fatal(r)).toBe('--insecure-policy and --require-signed are mutually exclusive');
    }
    for (const cmd of ['img-copy', 'img-sync']) {
      const args =
        cmd === 'img-copy'
          ? [`oci:${SRC}:x`, `dir:${join(work, 'never4')}`]
          : ['--dest-tls-verify=false', '--src', 'dir', '--dest', 'docker', signed, `${reg.host}/never5`];
      const r = await box.img(cmd, ['--insecure-policy', '--require-signed', ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('--insecure-policy and --require-signed are mutually exclusive');
    }
  });
});

// --tls-details: a TLS docker-registry (Go's TLS 1.2 and 1.3) for copies that must work, and
// `openssl s_server` (TLS 1.2 only) where what the client offered and what was negotiated is read
// from the server's own report ("Supported groups", "Shared ciphers", "CIPHER is").
describe.skipIf(!ready || !have('docker-registry') || !have('openssl'))('--tls-details', () => {
  let reg: Registry;
  let pki: Pki;
  let certs = '';
  const details = (name: string, text: string) => {
    const f = join(work, 'tls', name);
    mkdirSync(join(work, 'tls'), { recursive: true });
    writeFileSync(f, text);
    return f;
  };
  beforeAll(async () => {
    pki = makePki(join(work, 'pki'));
    certs = certDir(pki, join(work, 'tls-certs'));
    reg = await startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const push = await box.img('img-copy', ['--insecure-policy', '--dest-cert-dir', certs, `oci:${join(work, 'l256')}:x`, `docker://${reg.host}/app:1`]);
    expect(push.status, push.stderr).toBe(0);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  /** sServer runs openssl s_server (TLS 1.2 only) for one connection, while `client` runs; gives the client's result and the server's report. */
  async function sServer(client: (host: string) => Promise<Result>, versions = ['-tls1_2']): Promise<{ r: Result; report: string }> {
    const port = await freePort();
    const server = spawn(
      'openssl',
      ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', pki.serverCert, '-key', pki.serverKey, ...versions, '-naccept', '1'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let report = '';
    server.stdout.on('data', (b: Buffer) => (report += b.toString()));
    server.stderr.on('data', (b: Buffer) => (report += b.toString()));
    try {
      for (let i = 0; i < 50 && !report.includes('ACCEPT'); i++) await new Promise((res) => setTimeout(res, 100));
      const r = await client(`127.0.0.1:${port}`);
      return { r, report };
    } finally {
      server.kill();
    }
  }
  const quick = { ...box.env, IMGPIPE_REQUEST_TIMEOUT_MS: '1500' };
  const inspectAt = (host: string, file?: string) =>
    exec(link, [...(file ? ['--tls-details', file] : []), 'inspect', '--retry-times', '0', '--cert-dir', certs, `docker://${host}/app:1`], undefined, quick);

  it('applies to a TLS registry: copy and inspect work with settings the server offers', async () => {
    const f = details('ok.yaml', 'minVersion: "1.3"\nnamedGroups: [x25519, secp256r1]\n');
    const c = await ip(['--tls-details', f, 'copy', '--src-cert-dir', certs, `docker://${reg.host}/app:1`, `dir:${join(work, 'tls-copy')}`]);
    expect(c.status, c.stderr).toBe(0);
    const i = await ip(['inspect', '--tls-details', f, '--cert-dir', certs, '--format', '{{.Digest}}', `docker://${reg.host}/app:1`]);
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/^sha256:/);
  });

  it('minVersion the server does not offer: the handshake fails (and without the file it is made)', async () => {
    const plain = await sServer((h) => inspectAt(h));
    expect(plain.report).toContain('CIPHER is ');
    const f = details('v13.yaml', 'minVersion: "1.3"\n');
    const { r, report } = await sServer((h) => inspectAt(h, f));
    expect(r.status).toBe(1);
    expect(fatal(r)).toMatch(/TLS with 127\.0\.0\.1:\d+ failed/);
    expect(report).toMatch(/unsupported protocol/);
    expect(report).not.toContain('CIPHER is ');
  });

  it('cipherSuites and namedGroups are what the client offers, and what is negotiated', async () => {
    const f = details(
      'suites.yaml',
      'cipherSuites:\n  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n  - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\nnamedGroups: [secp384r1, secp256r1]\n',
    );
    const { report } = await sServer((h) => inspectAt(h, f));
    expect(report).toMatch(/^Supported groups: secp384r1:secp256r1$/m);
    // TLS 1.2 suites: only those listed (TLS 1.3's, not listed, keep node's defaults, as Go's)
    const shared = /^Shared ciphers:(.*)$/m
      .exec(report)![1]!
      .split(':')
      .filter((c) => !c.startsWith('TLS_'));
    expect(shared).toEqual(['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
    expect(report).toContain('CIPHER is ECDHE-ECDSA-AES256-GCM-SHA384');
    // TLS 1.3 suites listed restrict TLS 1.3 too (Go cannot): against a server that speaks 1.3
    const f13 = details('suites13.yaml', 'cipherSuites: [TLS_CHACHA20_POLY1305_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n');
    const t13 = await sServer((h) => inspectAt(h, f13), []);
    expect(t13.report).toMatch(/^Shared ciphers:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256$/m);
    expect(t13.report).toContain('CIPHER is TLS_CHACHA20_POLY1305_SHA256');
    // a list of RSA suites only cannot use the server's ECDSA certificate
    const rsa = details('rsa.yaml', 'cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n');
    const none = await sServer((h) => inspectAt(h, rsa));
    expect(none.r.status).toBe(1);
    expect(none.report).toContain('no shared cipher');
  });

  it('applies to a tcp:// Docker engine too', async () => {
    const engine = (h: string, file?: string) =>
      exec(
        link,
        [
          ...(file ? ['--tls-details', file] : []),
          '--command-timeout',
          '2s',
          'inspect',
          '--tls-verify=false',
          '--daemon-host',
          `tcp://${h}`,
          'docker-daemon:app:1',
        ],
        undefined,
        quick,
      );
    const plain = await sServer((h) => engine(h));
    expect(plain.report).toContain('CIPHER is ');
    const f = details('engine.yaml', 'minVersion: "1.3"\n');
    const { r, report } = await sServer((h) => engine(h, f));
    expect(r.status).toBe(1);
    expect(report).toMatch(/unsupported protocol/);
    expect(report).not.toContain('CIPHER is ');
  });

  it('applies to an https lookaside store (read through node:https, as fetch takes no TLS options)', async () => {
    // a gpg-signed image whose signature is staged in a directory that Python's http.server serves over TLS 1.2 only
    const GNUPGHOME = join(work, 'gnupg-tls');
    mkdirSync(GNUPGHOME, { recursive: true, mode: 0o700 });
    const genv = { ...box.env, GNUPGHOME, NODE_EXTRA_CA_CERTS: pki.caCert };
    const gen = await exec(
      'gpg',
      ['--batch', '--pinentry-mode', 'loopback', '--status-fd', '1', '--gen-key'],
      '%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: la\nExpire-Date: 0\n%commit\n',
      genv,
    );
    const fpr = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(gen.stdout)![1]!;
    const pub = join(work, 'la.gpg');
    expect((await exec('gpg', ['--batch', '--output', pub, '--export', fpr], undefined, genv)).status).toBe(0);
    const stage = join(work, 'lookaside');
    const write = join(work, 'rd-write');
    mkdirSync(write, { recursive: true });
    writeFileSync(join(write, 'default.yaml'), `default-docker:\n  lookaside-staging: file://${stage}\n`);
    const signed = await exec(
      link,
      [
        '--insecure-policy',
        '--registries.d',
        write,
        'copy',
        '--sign-by',
        fpr,
        '--dest-cert-dir',
        certs,
        `oci:${join(work, 'l256')}:x`,
        `docker://${reg.host}/la:1`,
      ],
      undefined,
      genv,
    );
    expect(signed.status, signed.stderr).toBe(0);
    const port = await freePort();
    const script = join(work, 'https-files.py');
    writeFileSync(
      script,
      [
        'import functools, http.server, ssl, sys',
        'ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.maximum_version = ssl.TLSVersion.TLSv1_2; ctx.load_cert_chain(sys.argv[2], sys.argv[3])',
        's = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[4]))',
        's.socket = ctx.wrap_socket(s.socket, server_side=True)',
        'print("READY", flush=True); s.serve_forever()',
      ].join('\n'),
    );
    const server = spawn('python3', [script, String(port), pki.serverCert, pki.serverKey, stage], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((res, rej) => {
        server.stdout.on('data', (b: Buffer) => b.toString().includes('READY') && res());
        server.on('exit', () => rej(new Error('the https file server did not start')));
      });
      const read = join(work, 'rd-read');
      mkdirSync(read, { recursive: true });
      writeFileSync(join(read, 'default.yaml'), `default-docker:\n  lookaside: https://127.0.0.1:${port}\n`);
      const policy = join(work, 'la-policy.json');
      writeFileSync(policy, JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: pub }] }));
      const copy = (file?: string) =>
        exec(
          link,
          [
            ...(file ? ['--tls-details', file] : []),
            '--policy',
            policy,
            '--registries.d',
            read,
            'copy',
            '--src-cert-dir',
            certs,
            `docker://${reg.host}/la:1`,
            `dir:${join(work, `la-${Math.random()}`)}`,
          ],
          undefined,
          genv,
        );
      const plain = await copy();
      expect(plain.status, plain.stderr).toBe(0);
      const suites = await copy(details('la-suites.yaml', 'cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256]\n'));
      expect(suites.status, suites.stderr).toBe(0);
      // the registry speaks TLS 1.3; the store does not
      const refused = await copy(details('la-13.yaml', 'minVersion: "1.3"\n'));
      expect(refused.status).toBe(1);
      expect(fatal(refused)).toMatch(new RegExp(`reading signature from https://127\\.0\\.0\\.1:${port}/la@sha256=.*/signature-1: .*(protocol|version)`, 'i'));
    } finally {
      server.kill();
    }
  });

  it('img-* commands take it from IMGPIPE_TLS_DETAILS', async () => {
    const f = details('v13b.yaml', 'minVersion: "1.3"\n');
    const { r, report } = await sServer((h) =>
      exec(join(BIN, 'img-manifest'), ['get', '--cert-dir', certs, '--retry-times', '0', `docker://${h}/app:1`], undefined, {
        ...quick,
        IMGPIPE_TLS_DETAILS: f,
      }),
    );
    expect(r.status).toBe(1);
    expect(report).toMatch(/unsupported protocol/);
  });

  it('strict: an unknown key, an unknown name, what node cannot do and an empty file fail naming the file and the key, before any connection', async () => {
    for (const [text, message] of [
      ['minVersion: "1.2"\nmaxVersion: "1.3"\n', 'unknown key \\"maxVersion\\" (known: minVersion, cipherSuites, namedGroups)'],
      ['minVersion: "1.4"\n', 'minVersion: unrecognized TLS minimum version \\"1.4\\" (1.0, 1.1, 1.2, 1.3)'],
      ['cipherSuites: [TLS_NOPE]\n', 'cipherSuites: unrecognized TLS cipher suite \\"TLS_NOPE\\"'],
      [
        'cipherSuites: [TLS_RSA_WITH_RC4_128_SHA]\n',
        `cipherSuites: \\"TLS_RSA_WITH_RC4_128_SHA\\" is not offered by node's OpenSSL (${process.versions.openssl})`,
      ],
      ['namedGroups: [X25519MLKEM768]\n', `namedGroups: \\"X25519MLKEM768\\" is not offered by node's OpenSSL (${process.versions.openssl})`],
      ['cipherSuites: []\n', 'cipherSuites: an empty list would allow no TLS connection at all'],
      ['', 'empty (write {} for no settings)'],
    ] as const) {
      const f = details('bad.yaml', text);
      const r = await ip(['--tls-details', f, 'inspect', 'docker://127.0.0.1:1/never:1']);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(fatal(r)).toBe(`--tls-details ${f}: ${message}`);
    }
    const missing = await ip(['--tls-details', join(work, 'nope.yaml'), 'inspect', 'docker://127.0.0.1:1/never:1']);
    expect(fatal(missing)).toMatch(/^--tls-details .*nope\.yaml: ENOENT/);
    // {} and empty lists of groups are the defaults, as containers/image's
    const ok = details('empty-map.yaml', '{}\n');
    expect((await ip(['--tls-details', ok, 'inspect', '--cert-dir', certs, `docker://${reg.host}/app:1`])).status).toBe(0);
  });
});
