// NODE_EXTRA_CA_CERTS: bin/* pass it on as IMGPIPE_DEFERRED_CA_CERTS so that node does not parse the
// file as it starts (docs/decisions.md 28), and lib/auth/certs.ts trusts it when TLS is spoken. A
// real TLS registry whose CA is known only through that file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { certDir, makePki, type Pki } from '../helpers/pki.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { have, img, sh, tempDir } from '../helpers/run.js';
import { isolatedEnv } from '../helpers/sandbox.js';

const ok = have('docker-registry') && have('openssl');
const work = tempDir('imgpipe-extra-ca-');
const env = isolatedEnv(work);
let pki: Pki;
let other: Pki;
let reg: Registry;
let ref: string;

/** without runs a command with NODE_EXTRA_CA_CERTS unset (whatever the test runner has). */
const without = (cmd: string) => sh(`env -u NODE_EXTRA_CA_CERTS ${cmd}`, env);

beforeAll(async () => {
  if (!ok) return;
  pki = makePki(join(work, 'pki'));
  other = makePki(join(work, 'other'));
  reg = await startRegistry({ tls: { cert: pki.serverCert, key: pki.serverKey } });
  ref = `docker://${reg.host}/extra/ca:1`;
  writeDirImage(join(work, 'src'));
  const push = await sh(
    `img-manifest get dir:${work}/src | jq -c '.dest = "${ref}"' | img-blob-put --dest-cert-dir=${certDir(pki, join(work, 'certs'))} | img-manifest put --dest-cert-dir=${join(work, 'certs')}`,
    env,
  );
  expect(push.status, push.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe.skipIf(!ok)('NODE_EXTRA_CA_CERTS', () => {
  it('is trusted for a TLS registry, as node trusts it; without it the certificate is refused', async () => {
    const trusted = await img('img-manifest', ['get', '--raw', ref], undefined, { ...env, NODE_EXTRA_CA_CERTS: pki.caCert });
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(JSON.parse(trusted.stdout).schemaVersion).toBe(2);
    const refused = await without(`img-manifest get --raw ${ref}`);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/certificate/i);
  });

  it('is trusted beside a certs.d directory that holds another CA (node would drop it from an explicit CA list)', async () => {
    const dir = certDir(other, join(work, 'certs-other'));
    const r = await img('img-manifest', ['get', '--raw', `--cert-dir=${dir}`, ref], undefined, { ...env, NODE_EXTRA_CA_CERTS: pki.caCert });
    expect(r.status, r.stderr).toBe(0);
    const alone = await without(`img-manifest get --raw --cert-dir=${dir} ${ref}`);
    expect(alone.status).toBe(1);
  });

  it('is not read by a run that speaks no TLS, and programs started by a command get it back', async () => {
    // node warns as it starts when the file cannot be read; a deferred file is read only for TLS.
    const missing = join(work, 'no-such-ca.pem');
    const plain = await img('img-ref', ['docker://busybox'], undefined, { ...env, NODE_EXTRA_CA_CERTS: missing });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('');
    const tls = await img('img-manifest', ['get', '--raw', ref], undefined, { ...env, NODE_EXTRA_CA_CERTS: missing });
    expect(tls.status).toBe(1);
    expect(tls.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
    // A credential helper is a program the command starts: it sees the variable as the user set it.
    const bin = join(work, 'helper-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker-credential-envdump'),
      `#!/bin/sh\nenv | grep -E '^(NODE_EXTRA_CA_CERTS|IMGPIPE_DEFERRED_CA_CERTS)=' | sort > ${work}/seen\necho '{"Username":"u","Secret":"s"}'\n`,
      {
        mode: 0o755,
      },
    );
    writeFileSync(env.REGISTRY_AUTH_FILE!, JSON.stringify({ credHelpers: { [reg.host]: 'envdump' } }));
    const r = await sh(`PATH=${bin}:$PATH NODE_EXTRA_CA_CERTS=${pki.caCert} img-manifest get --raw ${ref} >/dev/null; cat ${work}/seen`, env);
    expect(r.stdout).toContain(`NODE_EXTRA_CA_CERTS=${pki.caCert}\n`);
    writeFileSync(env.REGISTRY_AUTH_FILE!, '{"auths":{}}\n');
  });
});
