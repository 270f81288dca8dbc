// Sigstore signatures in dir: images, kept as containers/image keeps them: `signature-N` files in its
// stored form (a simple signature as its raw OpenPGP bytes, a sigstore one as "\0sigstore-json\n"
// and Go's JSON of mimeType, base64 payload and annotations), both kinds in one ordered list.
// img-sign copy carries them registry → dir: → registry and dir: → dir:, img-sign check reads them
// for sigstoreSigned. Real registry; skopeo 1.9.3 (sigstore signing disabled in Debian) is the
// oracle for the file bytes: it still copies attachments into dir: and back.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { exec, records, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-sigstore-dir-');
const box = sandbox(work);
box.env.GNUPGHOME = join(work, 'gnupg');
const { img, sk } = box;
const path = (...p: string[]) => join(work, ...p);
const NO_TLS = '--tls-verify=false';
const RD = path('registries.d'); // attachments on everywhere
const RD_OFF = path('registries-off.d');
const ok = (r: Result) => {
  expect(r.status, r.stderr).toBe(0);
  return r;
};
const copy = (rd: string, ...args: string[]) => img('img-copy', [NO_TLS, `--registries.d=${rd}`, ...args]);
const sigFiles = (dir: string) =>
  readdirSync(path(dir))
    .filter((n) => n.includes('signature-'))
    .sort();
const sigTag = (d: string) => `${d.replace(':', '-')}.sig`;

let reg: Registry;
let H = '';
let D = '';
let FPR = '';

async function manifestBytes(repo: string, tag: string): Promise<Buffer | undefined> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  writeFileSync(path('pass'), 'dir pass\n');
  mkdirSync(RD);
  writeFileSync(join(RD, 'default.yaml'), `default-docker:\n  lookaside: file://${path('lookaside')}\n  use-sigstore-attachments: true\n`);
  mkdirSync(RD_OFF);
  writeFileSync(join(RD_OFF, 'default.yaml'), `default-docker:\n  lookaside: file://${path('lookaside')}\n`);
  mkdirSync(box.env.GNUPGHOME!, { recursive: true });
  chmodSync(box.env.GNUPGHOME!, 0o700);
  const params = '%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: dir signer\nExpire-Date: 0\n%commit\n';
  FPR = /KEY_CREATED [BP] ([0-9A-F]{40})/.exec(
    (await must(exec('gpg', ['--batch', '--status-fd', '1', '--gen-key'], params, box.env), 'gpg --gen-key')).stdout,
  )![1]!;
  writeFileSync(path('signer.pub'), (await must(exec('gpg', ['--batch', '--export', FPR], undefined, box.env), 'gpg --export')).stdoutBytes);
  for (const k of ['k', 'other']) ok(await img('img-sign', ['keygen', '--output-prefix', path(k), '--passphrase-file', path('pass')]));
  reg = await startRegistry();
  H = reg.host;
  const identity = { type: 'exactReference', dockerReference: `${H}/a/signed:1` };
  const sigstoreSigned = (key: string) => ({ type: 'sigstoreSigned', keyPath: path(key), signedIdentity: identity });
  // dir: has no docker reference of its own: the identity is named, as containers/image requires.
  for (const [file, key] of [
    ['sigstore.json', 'k.pub'],
    ['other.json', 'other.pub'],
  ] as const) {
    writeFileSync(
      path(file),
      JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { '': [sigstoreSigned(key)] }, dir: { '': [sigstoreSigned(key)] } } }),
    );
  }
  writeFileSync(
    path('gpg.json'),
    JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: path('signer.pub'), signedIdentity: identity }] }),
  );
  await umociImage(work, path('layout'), 'x');
  await sk(['copy', '-q', '--dest-tls-verify=false', `oci:${path('layout')}:x`, `docker://${H}/src/app:1`]);
  ok(
    await copy(
      RD,
      '--sign-by-sigstore-private-key',
      path('k.private'),
      '--sign-passphrase-file',
      path('pass'),
      `docker://${H}/src/app:1`,
      `docker://${H}/a/signed:1`,
    ),
  );
  D = `sha256:${createHash('sha256')
    .update((await manifestBytes('a/signed', '1'))!)
    .digest('hex')}`;
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

/** expectedBlob hand-builds containers/image's stored form of the attachment's only signature (signature.Blob of a Sigstore). */
async function expectedBlob(repo: string): Promise<Buffer> {
  const att = JSON.parse((await manifestBytes(repo, sigTag(D)))!.toString()) as {
    layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
  };
  expect(att.layers).toHaveLength(1);
  const layer = att.layers[0]!;
  const payload = Buffer.from(await (await fetch(`${reg.url}/v2/${repo}/blobs/${layer.digest}`)).arrayBuffer());
  const sig = layer.annotations['dev.cosignproject.cosign/signature']!;
  expect(Object.keys(layer.annotations)).toEqual(['dev.cosignproject.cosign/signature']);
  return Buffer.concat([
    Buffer.from([0]),
    Buffer.from('sigstore-json\n'),
    Buffer.from(
      `{"mimeType":"application/vnd.dev.cosign.simplesigning.v1+json","payload":"${payload.toString('base64')}","annotations":{"dev.cosignproject.cosign/signature":"${sig}"}}`,
    ),
  ]);
}

describe('sigstore signatures in dir:', () => {
  it('registry → dir: → registry keeps the signature, in containers/image’s file format; the end passes sigstoreSigned', async () => {
    ok(await copy(RD, `docker://${H}/a/signed:1`, `dir:${path('d1')}`));
    expect(sigFiles('d1')).toEqual(['signature-1']);
    const expected = await expectedBlob('a/signed');
    expect(readFileSync(path('d1', 'signature-1'))).toEqual(expected);

    // skopeo 1.9.3 still copies an attachment into dir: (sigstore signing is what Debian disabled): the same bytes.
    ok(await box.skopeo(['--registries.d', RD, 'copy', '-q', '--src-tls-verify=false', `docker://${H}/a/signed:1`, `dir:${path('sk-d1')}`]));
    expect(readFileSync(path('sk-d1', 'signature-1'))).toEqual(expected);
    // And skopeo reads imgpipe's file back into an attachment, byte for byte.
    ok(await box.skopeo(['--registries.d', RD, 'copy', '-q', '--dest-tls-verify=false', `dir:${path('d1')}`, `docker://${H}/s/back:1`]));
    expect(await manifestBytes('s/back', sigTag(D))).toEqual(await manifestBytes('a/signed', sigTag(D)));

    ok(await copy(RD, '--policy', path('sigstore.json'), `dir:${path('d1')}`, `docker://${H}/b/back:1`));
    expect(await manifestBytes('b/back', sigTag(D))).toEqual(await manifestBytes('a/signed', sigTag(D)));
    const end = ok(await copy(RD, '--policy', path('sigstore.json'), `docker://${H}/b/back:1`, `docker://${H}/b/end:1`));
    expect(records(end.stdout)[0]).toMatchObject({ status: 'copied', digest: D });
    ok(await img('img-sign', ['verify', NO_TLS, '--sigstore-public-key', path('k.pub'), `docker://${H}/a/signed:1`]));
  });

  it('dir: → dir: keeps the file byte for byte; img-sign check reads dir: sigstore signatures (another key is refused)', async () => {
    ok(await copy(RD, '--policy', path('sigstore.json'), `dir:${path('d1')}`, `dir:${path('d2')}`));
    expect(readFileSync(path('d2', 'signature-1'))).toEqual(readFileSync(path('d1', 'signature-1')));
    const bad = await copy(RD, '--policy', path('other.json'), `dir:${path('d1')}`, `dir:${path('d-bad')}`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`source image dir:${path('d1')} rejected by ${path('other.json')}`);
    expect(bad.stderr).toContain('cryptographic signature verification failed');
    expect(existsSync(path('d-bad'))).toBe(false);
    // Without signatures the refusal says none exists.
    ok(await copy(RD, '--remove-signatures', `dir:${path('d1')}`, `dir:${path('d-none')}`));
    const none = await copy(RD, '--policy', path('sigstore.json'), `dir:${path('d-none')}`, `dir:${path('d-none2')}`);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('a signature was required, but no signature exists');
  });

  it('dir: → registry where attachments are off is refused, as containers/image', async () => {
    const r = await copy(RD_OFF, `dir:${path('d1')}`, `docker://${H}/c/off:1`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('writing sigstore attachments is disabled by configuration');
    expect(await manifestBytes('c/off', sigTag(D))).toBeUndefined();
  });

  it('a dir: image with a simple and a sigstore signature keeps both, in order, through dir: and a registry', async () => {
    ok(await copy(RD, '--remove-signatures', `dir:${path('d1')}`, `dir:${path('mixed')}`));
    ok(await img('img-sign', ['sign', '-o', path('mixed', 'signature-1'), path('mixed', 'manifest.json'), `${H}/a/signed:1`, FPR]));
    copyFileSync(path('d1', 'signature-1'), path('mixed', 'signature-2'));
    const simple = readFileSync(path('mixed', 'signature-1'));
    const sigstore = readFileSync(path('mixed', 'signature-2'));
    // Both policies accept it: each kind is found among the two.
    ok(await copy(RD, '--policy', path('gpg.json'), `dir:${path('mixed')}`, `dir:${path('mixed2')}`));
    ok(await copy(RD, '--policy', path('sigstore.json'), `dir:${path('mixed')}`, `dir:${path('mixed2')}`));
    expect(sigFiles('mixed2')).toEqual(['signature-1', 'signature-2']);
    expect(readFileSync(path('mixed2', 'signature-1'))).toEqual(simple);
    expect(readFileSync(path('mixed2', 'signature-2'))).toEqual(sigstore);

    // The other order is kept too.
    ok(await copy(RD, '--remove-signatures', `dir:${path('d1')}`, `dir:${path('rev')}`));
    writeFileSync(path('rev', 'signature-1'), sigstore);
    writeFileSync(path('rev', 'signature-2'), simple);
    ok(await copy(RD, `dir:${path('rev')}`, `dir:${path('rev2')}`));
    expect([readFileSync(path('rev2', 'signature-1')), readFileSync(path('rev2', 'signature-2'))]).toEqual([sigstore, simple]);

    // Through a registry: the lookaside gets the simple one, the attachment the sigstore one; back in dir:, simple first (containers/image's order).
    ok(await copy(RD, `dir:${path('mixed')}`, `docker://${H}/m/mixed:1`));
    ok(await copy(RD, '--policy', path('gpg.json'), `docker://${H}/m/mixed:1`, `dir:${path('mixed3')}`));
    expect(sigFiles('mixed3')).toEqual(['signature-1', 'signature-2']);
    expect(readFileSync(path('mixed3', 'signature-1'))).toEqual(simple);
    expect(readFileSync(path('mixed3', 'signature-2'))).toEqual(sigstore);
  });

  it('a signature-N of an unknown format is an error that names the file', async () => {
    ok(await copy(RD, '--remove-signatures', `dir:${path('d1')}`, `dir:${path('u1')}`));
    copyFileSync(path('d1', 'signature-1'), path('u1', 'signature-1'));
    writeFileSync(path('u1', 'signature-2'), Buffer.concat([Buffer.from([0]), Buffer.from('future-format\n{}')]));
    const r = await copy(RD, `dir:${path('u1')}`, `dir:${path('u2')}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`reading signature ${path('u1', 'signature-2')}: unrecognized signature format "future-format"`);
    writeFileSync(path('u1', 'signature-2'), 'hello');
    const text = await copy(RD, '--policy', path('sigstore.json'), `dir:${path('u1')}`, `dir:${path('u3')}`);
    expect(text.status).toBe(1);
    expect(text.stderr).toContain(`reading signature ${path('u1', 'signature-2')}: unrecognized signature format, starting with binary 0x68`);
    expect(existsSync(path('u3'))).toBe(false);
  });
});
