// lib/auth/credentials.ts lookups with temp auth files and a temp credential helper: the order
// skopeo (containers/image) uses — flags, then each auth file in turn; in a file credHelpers for the
// host, then `auths` most specific key first, then credsStore.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  authFilePaths,
  candidateKeys,
  lookupCredentials,
  normaliseKey,
  parseCredsFlag,
  removeCredentials,
  storeCredentials,
} from '../../lib/auth/credentials.js';
import { certDirFor } from '../../lib/auth/certs.js';
import { loginFile } from '../../lib/auth/login.js';

const dir = mkdtempSync(join(tmpdir(), 'imgpipe-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
let n = 0;
/** env makes a fresh HOME/XDG/DOCKER_CONFIG tree; files maps a path below it to JSON */
function env(files: Record<string, unknown> = {}, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const root = join(dir, `e${++n}`);
  const e: NodeJS.ProcessEnv = {
    HOME: join(root, 'home'),
    XDG_RUNTIME_DIR: join(root, 'run'),
    XDG_CONFIG_HOME: join(root, 'config'),
    DOCKER_CONFIG: join(root, 'docker'),
    ...extra,
  };
  for (const [rel, doc] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  }
  return e;
}
const RUN = 'run/containers/auth.json';
const CONF = 'config/containers/auth.json';
const DOCKER = 'docker/config.json';

describe('auth.json keys', () => {
  it('most specific first: host/ns/repo, host/ns, host', async () => {
    const e = env({
      [RUN]: {
        auths: {
          'reg.example:5000': { auth: b64('host', 'h') },
          'reg.example:5000/team': { auth: b64('ns', 'n') },
          'reg.example:5000/team/app': { auth: b64('repo', 'r') },
        },
      },
    });
    expect(await lookupCredentials('reg.example:5000', 'team/app', {}, e)).toEqual({ username: 'repo', password: 'r' });
    expect(await lookupCredentials('reg.example:5000', 'team/other', {}, e)).toEqual({ username: 'ns', password: 'n' });
    expect(await lookupCredentials('reg.example:5000', 'teamx/app', {}, e)).toEqual({ username: 'host', password: 'h' });
    expect(await lookupCredentials('reg.example:5000', 'team/app/sub', {}, e)).toEqual({ username: 'repo', password: 'r' });
    expect(await lookupCredentials('other.example', 'team/app', {}, e)).toBeUndefined();
    expect(candidateKeys('h', 'a/b')).toEqual(['h/a/b', 'h/a', 'h']);
  });

  it('a password may hold colons; legacy http(s):// keys mean the host; docker.io has its legacy names', async () => {
    const e = env({ [RUN]: { auths: { 'https://reg.example/v1/': { auth: b64('u', 'a:b:c') }, 'https://index.docker.io/v1/': { auth: b64('d', 'x') } } } });
    expect(await lookupCredentials('reg.example', 'x', {}, e)).toEqual({ username: 'u', password: 'a:b:c' });
    expect(await lookupCredentials('docker.io', 'library/alpine', {}, e)).toEqual({ username: 'd', password: 'x' });
    expect(normaliseKey('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseKey('http://reg:5000/some/path')).toBe('reg:5000');
  });

  it('identitytoken entries, and an entry that is not base64 USER:PASS is an error naming the file', async () => {
    const e = env({ [RUN]: { auths: { a: { identitytoken: 'refresh-me' }, b: { auth: Buffer.from('nocolon').toString('base64') } } } });
    expect(await lookupCredentials('a', 'r', {}, e)).toEqual({ identityToken: 'refresh-me', username: '<token>' });
    await expect(lookupCredentials('b', 'r', {}, e)).rejects.toThrow(/auth file .*auth\.json: the entry for b is not base64/);
    const bad = env({ [RUN]: '{not json' });
    await expect(lookupCredentials('a', 'r', {}, bad)).rejects.toThrow(/auth file .* is not valid/);
  });
});

describe('the order of sources', () => {
  const all = () => ({
    [RUN]: { auths: { reg: { auth: b64('run', '1') } } },
    [CONF]: { auths: { reg: { auth: b64('conf', '2') } } },
    [DOCKER]: { auths: { reg: { auth: b64('docker', '3') } } },
  });

  it('$XDG_RUNTIME_DIR, then $XDG_CONFIG_HOME, then $DOCKER_CONFIG/config.json (the last fallback)', async () => {
    expect((await lookupCredentials('reg', 'r', {}, env(all())))?.username).toBe('run');
    const { [RUN]: _a, ...noRun } = all();
    expect((await lookupCredentials('reg', 'r', {}, env(noRun)))?.username).toBe('conf');
    expect((await lookupCredentials('reg', 'r', {}, env({ [DOCKER]: all()[DOCKER] })))?.username).toBe('docker');
    // a file without the host does not stop the search
    expect((await lookupCredentials('reg', 'r', {}, env({ [RUN]: { auths: { other: { auth: b64('o', 'o') } } }, [DOCKER]: all()[DOCKER] })))?.username).toBe(
      'docker',
    );
    // without XDG_CONFIG_HOME: $HOME/.config; without DOCKER_CONFIG: $HOME/.docker
    const e = env({ 'home/.config/containers/auth.json': { auths: { reg: { auth: b64('homeconf', '4') } } } });
    delete e.XDG_CONFIG_HOME;
    expect((await lookupCredentials('reg', 'r', {}, e))?.username).toBe('homeconf');
    const d = env({ 'home/.docker/config.json': { auths: { reg: { auth: b64('homedocker', '5') } } } });
    delete d.DOCKER_CONFIG;
    expect((await lookupCredentials('reg', 'r', {}, d))?.username).toBe('homedocker');
  });

  it('--authfile, else $REGISTRY_AUTH_FILE, is the only file searched', async () => {
    const only = join(dir, 'only.json');
    writeFileSync(only, JSON.stringify({ auths: { reg: { auth: b64('only', '9') } } }));
    expect((await lookupCredentials('reg', 'r', { authfile: only }, env(all())))?.username).toBe('only');
    expect((await lookupCredentials('reg', 'r', {}, env(all(), { REGISTRY_AUTH_FILE: only })))?.username).toBe('only');
    expect(await lookupCredentials('reg', 'r', {}, env(all(), { REGISTRY_AUTH_FILE: join(dir, 'missing.json') }))).toBeUndefined();
    expect(authFilePaths(undefined, { REGISTRY_AUTH_FILE: only })).toEqual([only]);
    expect(authFilePaths('/x', { REGISTRY_AUTH_FILE: only })).toEqual(['/x']);
  });

  it('command-line credentials come first; --no-creds is anonymous', async () => {
    const e = env(all());
    expect(await lookupCredentials('reg', 'r', { creds: 'me:pa:ss' }, e)).toEqual({ username: 'me', password: 'pa:ss' });
    expect(await lookupCredentials('reg', 'r', { username: 'u', password: 'p' }, e)).toEqual({ username: 'u', password: 'p' });
    expect(await lookupCredentials('reg', 'r', { registryToken: 'tok' }, e)).toEqual({ registryToken: 'tok' });
    expect(await lookupCredentials('reg', 'r', { noCreds: true }, e)).toBeUndefined();
    expect(parseCredsFlag('solo')).toEqual({ username: 'solo', password: '' });
    expect(() => parseCredsFlag(':p')).toThrow(/user name is empty/);
  });
});

describe('credential helpers', () => {
  const bin = join(dir, 'bin');
  const log = join(dir, 'helper.log');
  mkdirSync(bin, { recursive: true });
  // docker-credential-testhelper: knows reg.example and docker.io's legacy server URL; logs what it is asked
  writeFileSync(
    join(bin, 'docker-credential-testhelper'),
    `#!/bin/sh
read server
echo "$1 $server" >> '${log}'
case "$server" in
  reg.example) echo '{"ServerURL":"reg.example","Username":"helper-user","Secret":"helper-secret"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"<token>","Secret":"identity"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  chmodSync(join(bin, 'docker-credential-testhelper'), 0o755);
  const withPath = async <T>(f: () => Promise<T>): Promise<T> => {
    const old = process.env.PATH;
    process.env.PATH = `${bin}:${old}`;
    try {
      return await f();
    } finally {
      process.env.PATH = old;
    }
  };

  it('credHelpers for the host wins over auths in the same file', async () => {
    writeFileSync(log, '');
    const e = env({ [RUN]: { auths: { 'reg.example': { auth: b64('file', 'f') } }, credHelpers: { 'reg.example': 'testhelper' } } });
    expect(await withPath(() => lookupCredentials('reg.example', 'team/app', {}, e))).toEqual({ username: 'helper-user', password: 'helper-secret' });
    expect(readFileSync(log, 'utf8')).toBe('get reg.example\n');
  });

  it('"credentials not found" from the helper goes on to the next file', async () => {
    const e = env({ [RUN]: { credHelpers: { 'other.example': 'testhelper' } }, [DOCKER]: { auths: { 'other.example': { auth: b64('docker', 'd') } } } });
    expect(await withPath(() => lookupCredentials('other.example', 'r', {}, e))).toEqual({ username: 'docker', password: 'd' });
  });

  it('credsStore is asked after auths; <token> answers are identity tokens; docker.io is asked by its legacy URL', async () => {
    const e = env({ [DOCKER]: { auths: { 'reg.example': { auth: b64('file', 'f') } }, credsStore: 'testhelper' } });
    expect(await withPath(() => lookupCredentials('reg.example', 'r', {}, e))).toEqual({ username: 'file', password: 'f' });
    expect(await withPath(() => lookupCredentials('docker.io', 'library/alpine', {}, e))).toEqual({ identityToken: 'identity', username: '<token>' });
    expect(await withPath(() => lookupCredentials('nowhere.example', 'r', {}, e))).toBeUndefined();
  });

  it('a helper that is not installed is one clear error', async () => {
    const e = env({ [RUN]: { credHelpers: { 'reg.example': 'nosuchhelper' } } });
    await expect(lookupCredentials('reg.example', 'r', {}, e)).rejects.toThrow(/docker-credential-nosuchhelper is not installed/);
  });

  it("asks registries.conf's credential-helpers in order, containers-auth.json standing for the auth files", async () => {
    const e = env({ [RUN]: { auths: { 'reg.example': { auth: b64('file', 'f') }, 'other.example': { auth: b64('other', 'o') } } } });
    const look = (host: string, helpers: string[]) => withPath(() => lookupCredentials(host, 'r', { helpers }, e));
    expect(await look('reg.example', ['testhelper', 'containers-auth.json'])).toEqual({ username: 'helper-user', password: 'helper-secret' });
    expect(await look('reg.example', ['containers-auth.json', 'testhelper'])).toEqual({ username: 'file', password: 'f' });
    // "not found" from a helper goes on to the next; without containers-auth.json the files are not read
    expect(await look('other.example', ['testhelper', 'containers-auth.json'])).toEqual({ username: 'other', password: 'o' });
    expect(await look('other.example', ['testhelper'])).toBeUndefined();
    // the flags still come first
    expect(await withPath(() => lookupCredentials('reg.example', 'r', { helpers: ['testhelper'], creds: 'u:p' }, e))).toEqual({ username: 'u', password: 'p' });
  });
});

describe('storing and removing', () => {
  it('storeCredentials makes the directory and a 0600 file, keeping other keys; removeCredentials takes one or all', async () => {
    const file = join(dir, 'store', 'deep', 'auth.json');
    await storeCredentials(file, 'reg.example', 'u', 'p');
    await storeCredentials(file, 'reg.example/team', 'v', 'q');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).auths).toEqual({ 'reg.example': { auth: b64('u', 'p') }, 'reg.example/team': { auth: b64('v', 'q') } });
    expect(await removeCredentials(file, 'reg.example')).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths)).toEqual(['reg.example/team']);
    expect(await removeCredentials(file, 'reg.example')).toBe(false);
    expect(await removeCredentials(file, undefined)).toBe(true);
    expect(await removeCredentials(file, undefined)).toBe(false);
    expect(await removeCredentials(join(dir, 'nofile.json'), 'x')).toBe(false);
  });

  it("storeCredentials says where they went; in Docker's form (compat) Docker Hub is https://index.docker.io/v1/ and a namespace is refused", async () => {
    const file = join(dir, 'store', 'config.json');
    writeFileSync(file, JSON.stringify({ auths: { 'old.example': { auth: b64('o', 'p'), email: 'kept@example' } }, psFormat: 'table' }));
    expect(await storeCredentials(file, 'docker.io', 'hub', 'pw', true)).toBe(file);
    expect(await storeCredentials(file, 'reg.example:5000', 'u', 'p', true)).toBe(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      auths: {
        'old.example': { auth: b64('o', 'p'), email: 'kept@example' },
        'https://index.docker.io/v1/': { auth: b64('hub', 'pw') },
        'reg.example:5000': { auth: b64('u', 'p') },
      },
      psFormat: 'table',
    });
    const refused = expect.objectContaining({
      code: 'USAGE',
      message: 'Credentials cannot be recorded in Docker-compatible format with namespaced key "reg.example/team"',
    });
    await expect(storeCredentials(file, 'reg.example/team', 'u', 'p', true)).rejects.toEqual(refused);
    await expect(removeCredentials(file, 'reg.example/team', true)).rejects.toEqual(refused);
    // auth.json's form takes a namespace, and Docker Hub as docker.io
    expect(await storeCredentials(file, 'docker.io', 'a', 'b')).toBe(file);
    expect(await removeCredentials(file, 'docker.io', true)).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths)).toEqual(['old.example', 'reg.example:5000']);
  });

  it('an identity token entry names the user of its "auth", as containers/image reads it', async () => {
    const e = env({ [RUN]: { auths: { a: { identitytoken: 't', auth: b64('alice', 'ignored') }, b: { identitytoken: 'u' } } } });
    expect(await lookupCredentials('a', '', {}, e)).toEqual({ identityToken: 't', username: 'alice' });
    expect(await lookupCredentials('b', '', {}, e)).toEqual({ identityToken: 'u', username: '<token>' });
  });
});

describe('loginFile: the file login and logout write, as containers/common picks it', () => {
  const home = { HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' };
  it("--authfile, --compat-auth-file, $REGISTRY_AUTH_FILE, $DOCKER_CONFIG (Docker's form), else the default auth.json", () => {
    expect(loginFile({}, home)).toEqual({ path: '/run/user/1/containers/auth.json', compat: false, explicit: false });
    expect(loginFile({ authfile: '/a.json' }, { ...home, REGISTRY_AUTH_FILE: '/r.json', DOCKER_CONFIG: '/d' })).toEqual({
      path: '/a.json',
      compat: false,
      explicit: true,
    });
    expect(loginFile({ compatAuthFile: '/c.json' }, { ...home, REGISTRY_AUTH_FILE: '/r.json' })).toEqual({ path: '/c.json', compat: true, explicit: true });
    expect(loginFile({}, { ...home, REGISTRY_AUTH_FILE: '/r.json', DOCKER_CONFIG: '/d' })).toEqual({ path: '/r.json', compat: false, explicit: true });
    expect(loginFile({}, { ...home, REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: '/d' })).toEqual({ path: '/d/config.json', compat: true, explicit: true });
  });
  it("refuses both files; warns of Docker's config.json written as auth.json", () => {
    expect(() => loginFile({ authfile: '/a', compatAuthFile: '/c' }, home)).toThrowError(
      'options for paths to the credential file and to the Docker-compatible credential file can not be set simultaneously',
    );
    expect(loginFile({ authfile: '/h/.docker/config.json' }, home).warning).toBe(
      'saving credentials to ~/.docker/config.json, but not using Docker-compatible file format',
    );
    expect(loginFile({}, { ...home, REGISTRY_AUTH_FILE: '/h/.docker/config.json' }).warning).toMatch(
      /^\$REGISTRY_AUTH_FILE points to ~\/\.docker\/config\.json/,
    );
    expect(loginFile({ compatAuthFile: '/h/.docker/config.json' }, home).warning).toBeUndefined();
  });
});

describe('certs.d lookup', () => {
  it('$XDG_CONFIG_HOME/containers/certs.d/HOST:PORT, else $HOME/.config/…; --cert-dir wins', async () => {
    const e = env();
    mkdirSync(join(e.XDG_CONFIG_HOME!, 'containers', 'certs.d', 'reg:5000'), { recursive: true });
    expect(await certDirFor('reg:5000', undefined, e)).toBe(join(e.XDG_CONFIG_HOME!, 'containers', 'certs.d', 'reg:5000'));
    expect(await certDirFor('reg:5001', undefined, e)).toBeUndefined();
    expect(await certDirFor('reg:5000', '/given', e)).toBe('/given');
    const h = env();
    delete h.XDG_CONFIG_HOME;
    mkdirSync(join(h.HOME!, '.config', 'containers', 'certs.d', 'reg:5000'), { recursive: true });
    expect(await certDirFor('reg:5000', undefined, h)).toBe(join(h.HOME!, '.config', 'containers', 'certs.d', 'reg:5000'));
    // an empty XDG_CONFIG_HOME is unset, as for the containers tools (not a path relative to the working directory)
    expect(await certDirFor('reg:5000', undefined, { ...h, XDG_CONFIG_HOME: '' })).toBe(join(h.HOME!, '.config', 'containers', 'certs.d', 'reg:5000'));
    expect(authFilePaths(undefined, { HOME: '/h', XDG_CONFIG_HOME: '', XDG_RUNTIME_DIR: '' })).toEqual([
      '/h/.config/containers/auth.json',
      '/h/.docker/config.json',
    ]);
  });
});
