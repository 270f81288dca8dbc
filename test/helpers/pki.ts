import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Pki is the set of PEM files makePki writes (all keys are unencrypted PKCS#8, EC P-256). */
export interface Pki {
  dir: string;
  /** the test CA: signs the server and the client certificate */
  caCert: string;
  caKey: string;
  /** server certificate for 127.0.0.1 and localhost (subjectAltName IP:127.0.0.1, DNS:localhost), EKU serverAuth */
  serverCert: string;
  serverKey: string;
  /** client certificate (CN=imgpipe-test-client), EKU clientAuth */
  clientCert: string;
  clientKey: string;
  /** token signing key (EC P-256 → ES256) and its self-signed certificate (the registry's rootcertbundle) */
  tokenCert: string;
  tokenKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e: any) {
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** makePki makes a CA, a server and a client certificate signed by it, and a separate token signing key + cert, in `dir`. */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  // CA
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=imgpipe-test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  // leaf certificates signed by the CA
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(p(`${name}.ext`), ext);
    openssl(['req', ...EC, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        p(`${name}.csr`),
        '-CA',
        p('ca.crt'),
        '-CAkey',
        p('ca.key'),
        '-CAcreateserial',
        '-out',
        p(`${name}.crt`),
        '-days',
        '825',
        '-sha256',
        '-extfile',
        p(`${name}.ext`),
      ],
      dir,
    );
  };
  leaf(
    'server',
    'localhost',
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  leaf(
    'client',
    'imgpipe-test-client',
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth', ''].join('\n'),
  );
  // token signing: a self-signed certificate whose key signs the JWTs; the registry trusts it as its rootcertbundle
  openssl(['req', '-x509', ...EC, '-keyout', p('token.key'), '-out', p('token.crt'), '-days', '3650', '-subj', '/CN=imgpipe-test-token-signer'], dir);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    tokenCert: p('token.crt'),
    tokenKey: p('token.key'),
  };
}

/**
 * certDir lays out a containers/docker style certs directory (what skopeo's --cert-dir and
 * /etc/containers/certs.d/HOST/ hold): ca.crt, and with `client` also client.cert + client.key.
 */
export function certDir(pki: Pki, dir: string, opts: { client?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(pki.caCert, join(dir, 'ca.crt'));
  if (opts.client) {
    copyFileSync(pki.clientCert, join(dir, 'client.cert'));
    copyFileSync(pki.clientKey, join(dir, 'client.key'));
  }
  return dir;
}
