// imgpipe login and logout against real skopeo 1.9.3, side by side, on a real registry with
// htpasswd auth: --get-login, -v ("Used:  FILE"), stored credentials checked again ("Already logged
// in"), new ones asked for on a terminal (a real pty) when the registry refuses the stored ones,
// an identity token, $DOCKER_CONFIG. --compat-auth-file is newer than 1.9.3: its config.json is
// checked by what it holds and by skopeo reading it. img-login and img-logout take the same flags.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onTerminal } from '../helpers/pty.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { BIN, exec, have, tempDir, type Result } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';
import { seedRegistry } from '../helpers/seed.js';

const ready = ['docker-registry', 'skopeo', 'htpasswd', 'script'].every(have);
const work = tempDir('imgpipe-login-');
const box = sandbox(work);
const USER = 'carol';
const PASS = 'pw-Login-Reuse-4k';
const b64 = (s: string) => Buffer.from(s).toString('base64');
let reg: Registry;
let REG = '';

const link = join(work, 'bin', 'skopeo');
mkdirSync(join(work, 'bin'), { recursive: true });
symlinkSync(join(BIN, 'imgpipe'), link);
/** AUTH is the auth file of every run but those that name another; each test writes what it needs into it. */
const AUTH = join(work, 'auth.json');

/** ip runs imgpipe as skopeo, sk skopeo 1.9.3, both in the sandbox; img an img-* command. */
const ip = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => exec(link, args, input, { ...box.env, ...env });
const sk = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => exec('skopeo', args, input, { ...box.env, ...env });
const img = (cmd: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => exec(join(BIN, cmd), args, input, { ...box.env, ...env });
const logs = (r: Result) => r.stderr.replace(/^time="[^"]*" /gm, '');
/** same asserts stdout, stderr (time left out) and exit status are skopeo's. */
function same(o: Result, t: Result, what: string): void {
  expect({ status: o.status, stdout: o.stdout, stderr: logs(o) }, what).toEqual({ status: t.status, stdout: t.stdout, stderr: logs(t) });
}
/** both runs `args` with imgpipe and with skopeo from the same auth file contents, and compares what they print and what the file holds after. */
async function both(args: string[], auth: object | undefined, input?: string, file = AUTH): Promise<{ o: Result; t: Result }> {
  const reset = () => (auth === undefined ? writeFileSync(file, '{"auths":{}}\n') : writeFileSync(file, JSON.stringify(auth)));
  reset();
  const t = await sk(args, input);
  const theirs = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  reset();
  const o = await ip(args, input);
  const ours = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  same(o, t, args.join(' '));
  expect(ours, `${args.join(' ')}: the auth file after`).toEqual(theirs);
  return { o, t };
}
const entry = (user: string, pass: string) => ({ auth: b64(`${user}:${pass}`) });
const storedAuth = (file = AUTH) => JSON.parse(readFileSync(file, 'utf8'));

beforeAll(async () => {
  if (!ready) return;
  reg = await startRegistry({ auth: 'htpasswd', users: { [USER]: PASS } });
  REG = reg.host;
  seedRegistry(reg.storage, ['app'], ['1']);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
});

describe.skipIf(!ready)('imgpipe login and logout, side by side with skopeo 1.9.3', () => {
  it('--get-login: the stored user (a namespace finds its registry), else "not logged into", exit 1', async () => {
    const none = await both(['login', '--get-login', REG], undefined);
    expect([none.o.status, logs(none.o)]).toEqual([1, `level=fatal msg="not logged into ${REG}"\n`]);
    const one = await both(['login', '--get-login', REG], { auths: { [REG]: entry(USER, 'whatever') } });
    expect(one.o.stdout).toBe(`${USER}\n`);
    await both(['login', '--get-login', `${REG}/team/app`], { auths: { [REG]: entry(USER, 'whatever') } });
    await both(['login', '--get-login', 'other.example'], { auths: { [REG]: entry(USER, 'whatever') } });
    // an identity token's entry names its user too
    await both(['login', '--get-login', REG], { auths: { [REG]: { ...entry(USER, 'x'), identitytoken: 'tok' } } });
  });

  it('-v says which file it wrote ("Used:  FILE", two spaces as Go\'s Println)', async () => {
    const { o } = await both(['login', '-v', '--tls-verify=false', '-u', USER, '--password-stdin', REG], undefined, `${PASS}\n`);
    expect(o.stdout).toBe(`Used:  ${AUTH}\nLogin Succeeded!\n`);
    expect(storedAuth().auths[REG]).toEqual(entry(USER, PASS));
    await both(['login', '--verbose', '--tls-verify=false', '-u', USER, '-p', PASS, REG], { auths: { 'other.example': entry('x', 'y') } });
  });

  it('no -u and -p: stored credentials are checked again; still good, nothing is asked or written', async () => {
    const good = { auths: { [REG]: entry(USER, PASS), 'other.example': entry('x', 'y') } };
    const { o } = await both(['login', '--tls-verify=false', REG], good);
    expect(o.stdout).toBe(`Authenticating with existing credentials for ${REG}\nExisting credentials are valid. Already logged in to ${REG}\n`);
    // for a namespace, the registry's entry; the line names the key, then the registry
    const ns = await both(['login', '-v', '--tls-verify=false', `${REG}/team`], good);
    expect(ns.o.stdout).toBe(`Authenticating with existing credentials for ${REG}/team\nExisting credentials are valid. Already logged in to ${REG}\n`);
    // a password alone (-p, --password-stdin needs -u) is new credentials: no check of the stored ones
    expect((await ip(['login', '--tls-verify=false', '-p', 'wrong', REG], undefined)).stdout).not.toMatch(/existing credentials/);
  });

  it('stored credentials the registry refuses: asked again on the terminal, the stored user offered', async () => {
    const screens: string[] = [];
    for (const run of [link, 'skopeo']) {
      writeFileSync(AUTH, JSON.stringify({ auths: { [REG]: entry(USER, 'not-any-more') } }));
      const r = await onTerminal(
        run,
        ['login', '--tls-verify=false', REG],
        [
          [/Username \(carol\): $/, '\r'],
          [/Password: $/, `${PASS}\r`],
        ],
        box.env,
      );
      expect(r.status, r.screen).toBe(0);
      expect(storedAuth().auths[REG]).toEqual(entry(USER, PASS));
      screens.push(r.screen);
    }
    expect(screens[0]).toBe(
      `Authenticating with existing credentials for ${REG}\nExisting credentials are invalid, please enter valid username and password\nUsername (carol): \nPassword: \nLogin Succeeded!\n`,
    );
    // skopeo writes "Password: " before it turns the echo off, so an answer typed as soon as the
    // prompt shows may be echoed (a race imgpipe does not have: no echo before the question)
    expect(screens[0]).toBe(screens[1]!.replace(`Password: ${PASS}\n\n`, 'Password: \n'));
    expect(screens[0]).not.toContain(PASS);
    // a new user typed at the prompt replaces the stored one; a wrong password fails, the file is left
    writeFileSync(AUTH, JSON.stringify({ auths: { [REG]: entry('dave', 'gone') } }));
    const wrong = await onTerminal(
      link,
      ['login', '--tls-verify=false', REG],
      [
        [/Username \(dave\): $/, `${USER}\r`],
        [/Password: $/, 'nope\r'],
      ],
      box.env,
    );
    expect(wrong.status).toBe(1);
    // on a terminal, logrus's FATA[0000] form
    expect(wrong.screen.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(new RegExp(`FATA\\[\\d+\\] logging into "${REG}": invalid username/password`));
    expect(storedAuth().auths[REG]).toEqual(entry('dave', 'gone'));
  });

  it('…and without a terminal, imgpipe says so instead of reading a secret from a pipe (skopeo: EOF or an ioctl error)', async () => {
    const stale = { auths: { [REG]: entry(USER, 'not-any-more') } };
    writeFileSync(AUTH, JSON.stringify(stale));
    const [o, t] = [await ip(['login', '--tls-verify=false', REG]), await sk(['login', '--tls-verify=false', REG])];
    expect([o.status, t.status]).toEqual([1, 1]);
    const lead = `Authenticating with existing credentials for ${REG}\nExisting credentials are invalid, please enter valid username and password\n`;
    expect(o.stdout).toBe(lead);
    expect(t.stdout.startsWith(lead)).toBe(true);
    expect(logs(o)).toBe('level=fatal msg="getting username and password: username not given and stdin is not a terminal (use -u, -p or --password-stdin)"\n');
    expect(logs(t)).toMatch(/^level=fatal msg="getting username and password: reading username: EOF"/);
    expect(storedAuth()).toEqual(stale);
  });

  it('an identity token stored: refused as containers/common refuses it', async () => {
    const { o } = await both(['login', '--tls-verify=false', REG], { auths: { [REG]: { ...entry(USER, PASS), identitytoken: 'tok' } } });
    expect(logs(o)).toBe('level=fatal msg="currently logged in, auth file contains an Identity token"\n');
  });

  it('$DOCKER_CONFIG without $REGISTRY_AUTH_FILE: login and logout use its config.json', async () => {
    const dir = join(work, 'docker-config');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'config.json');
    const env = { REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: dir };
    const runs: Result[] = [];
    for (const run of [ip, sk]) {
      writeFileSync(file, JSON.stringify({ auths: {}, psFormat: 'table' }));
      runs.push(await run(['login', '-v', '--tls-verify=false', '-u', USER, '--password-stdin', REG], `${PASS}\n`, env));
      // Docker's other settings stay (skopeo 1.9.3 writes the file as an auth.json and drops them; current skopeo keeps them)
      const kept = run === ip ? { psFormat: 'table' } : {};
      expect(storedAuth(file)).toEqual({ auths: { [REG]: entry(USER, PASS) }, ...kept });
      runs.push(await run(['logout', REG], undefined, env));
      expect(storedAuth(file)).toEqual({ auths: {}, ...kept });
    }
    same(runs[0]!, runs[2]!, 'login');
    same(runs[1]!, runs[3]!, 'logout');
    expect(runs[0]!.stdout).toBe(`Used:  ${file}\nLogin Succeeded!\n`);
  });
});

/** config writes a Docker config.json of its own for a test. */
const config = (name: string, doc: object) => {
  const f = join(work, `${name}.json`);
  writeFileSync(f, JSON.stringify(doc));
  return f;
};

describe.skipIf(!ready)('--compat-auth-file (containers/common, newer than skopeo 1.9.3)', () => {
  it("login writes Docker's config.json and keeps what else it holds; skopeo reads it; logout removes the entry", async () => {
    writeFileSync(AUTH, '{"auths":{}}');
    const f = config('compat', { auths: { 'https://index.docker.io/v1/': entry('hub', 'x') }, credsStore: '', HttpHeaders: { 'X-Team': 'a' } });
    const r = await ip(['login', '-v', '--tls-verify=false', '-u', USER, '--password-stdin', '--compat-auth-file', f, REG], `${PASS}\n`);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `Used:  ${f}\nLogin Succeeded!\n`, '']);
    expect(storedAuth(f)).toEqual({
      auths: { 'https://index.docker.io/v1/': entry('hub', 'x'), [REG]: entry(USER, PASS) },
      credsStore: '',
      HttpHeaders: { 'X-Team': 'a' },
    });
    expect(storedAuth(AUTH)).toEqual({ auths: {} });
    // skopeo finds the credentials there
    const inspect = await sk(['inspect', '--tls-verify=false', '--authfile', f, `docker://${REG}/app:1`]);
    expect(inspect.status, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).Name).toBe(`${REG}/app`);
    // --get-login reads it (Docker Hub under Docker's key), and the stored credentials are reused
    expect((await ip(['login', '--get-login', '--compat-auth-file', f, 'docker.io'])).stdout).toBe('hub\n');
    expect((await ip(['login', '--tls-verify=false', '--compat-auth-file', f, REG])).stdout).toMatch(/Already logged in to /);
    const out = await ip(['logout', '--compat-auth-file', f, REG]);
    expect([out.status, out.stdout]).toEqual([0, `Removed login credentials for ${REG}\n`]);
    expect(storedAuth(f).auths).toEqual({ 'https://index.docker.io/v1/': entry('hub', 'x') });
    expect((await ip(['logout', '--compat-auth-file', f, 'docker.io'])).status).toBe(0);
    expect(storedAuth(f)).toEqual({ auths: {}, credsStore: '', HttpHeaders: { 'X-Team': 'a' } });
  });

  it('refused: with --authfile, a namespaced key (before anything is asked), a file logout cannot find', async () => {
    const f = config('compat-refusals', { auths: {} });
    const twice = await ip(['login', '--compat-auth-file', f, '--authfile', AUTH, '-u', USER, '-p', PASS, REG]);
    expect([twice.status, logs(twice)]).toEqual([
      1,
      'level=fatal msg="options for paths to the credential file and to the Docker-compatible credential file can not be set simultaneously"\n',
    ]);
    const ns = await ip(['login', '--tls-verify=false', '--compat-auth-file', f, `${REG}/team`]);
    expect([ns.status, ns.stdout, logs(ns)]).toEqual([
      1,
      '',
      `level=fatal msg="Credentials cannot be recorded in Docker-compatible format with namespaced key \\"${REG}/team\\""\n`,
    ]);
    const nsOut = await ip(['logout', '--compat-auth-file', f, `${REG}/team`]);
    expect(logs(nsOut)).toBe(
      `level=fatal msg="logging out of \\"${REG}/team\\": Credentials cannot be recorded in Docker-compatible format with namespaced key \\"${REG}/team\\""\n`,
    );
    for (const flag of ['--compat-auth-file', '--authfile']) {
      const gone = await ip(['logout', flag, join(work, 'no-such.json'), REG]);
      expect([gone.status, logs(gone)]).toEqual([
        1,
        `level=fatal msg="credential file is not accessible: faccessat ${join(work, 'no-such.json')}: no such file or directory"\n`,
      ]);
    }
    expect(storedAuth(f)).toEqual({ auths: {} });
    // --authfile naming Docker's own file: written, with containers/common's warning
    const home = join(box.env.HOME!, '.docker');
    mkdirSync(home, { recursive: true });
    const w = await ip(['login', '--tls-verify=false', '-u', USER, '-p', PASS, '--authfile', join(home, 'config.json'), REG]);
    expect([w.status, w.stdout, logs(w)]).toEqual([
      0,
      'Login Succeeded!\n',
      'level=warning msg="saving credentials to ~/.docker/config.json, but not using Docker-compatible file format"\n',
    ]);
  });
});

describe.skipIf(!ready)('img-login and img-logout take the same', () => {
  it('--get-login on stdout, stored credentials reused, --compat-auth-file; img-logout --compat-auth-file', async () => {
    writeFileSync(AUTH, JSON.stringify({ auths: { [REG]: entry(USER, PASS) } }));
    const who = await img('img-login', ['--get-login', REG]);
    expect([who.status, who.stdout, who.stderr]).toEqual([0, `${USER}\n`, '']);
    const nobody = await img('img-login', ['--get-login', 'other.example']);
    expect([nobody.status, nobody.stdout, nobody.stderr]).toEqual([1, '', 'img-login: not logged into other.example\n']);
    const again = await img('img-login', ['--tls-verify=false', REG]);
    expect([again.status, again.stdout, again.stderr]).toEqual([
      0,
      '',
      `Authenticating with existing credentials for ${REG}\nExisting credentials are valid. Already logged in to ${REG}\n`,
    ]);
    const f = config('img-compat', { auths: {} });
    const r = await img('img-login', ['--tls-verify=false', '-u', USER, '-p', PASS, '--compat-auth-file', f, REG]);
    expect([r.status, r.stderr]).toEqual([0, `Login Succeeded! (credentials for ${REG} stored in ${f})\n`]);
    expect(storedAuth(f)).toEqual({ auths: { [REG]: entry(USER, PASS) } });
    const refused = await img('img-login', ['--compat-auth-file', f, '--authfile', AUTH, '-u', USER, '-p', PASS, REG]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/can not be set simultaneously/);
    const out = await img('img-logout', ['--compat-auth-file', f, REG]);
    expect([out.status, out.stderr]).toEqual([0, `Removed login credentials for ${REG}\n`]);
    expect(storedAuth(f)).toEqual({ auths: {} });
    expect(storedAuth(AUTH)).toEqual({ auths: { [REG]: entry(USER, PASS) } });
  });
});
