import { describe, expect, it } from 'vitest';
import { parseArgs, specFlags } from '../../lib/cli/flags.js';
import { COMMAND_FLAGS } from '../../lib/cli/command-flags.js';
import { sideArgs, sideFlags, transferArgs, transferOptions } from '../../lib/cli/transfer-flags.js';
import { caught } from '../helpers/errors.js';

const spec = {
  string: ['append-suffix', 'creds', 'output'],
  list: ['platform'],
  boolean: ['all', 'quiet', 'no-creds', 'tls-verify'],
  alias: { a: 'all', q: 'quiet', o: 'output', p: 'creds' },
  default: { 'tls-verify': true },
  only: { all: ['get'], output: ['get', 'put'] },
};

describe('parseArgs', () => {
  it('takes the next argument as a value even when it starts with "-", as pflag does', () => {
    expect(parseArgs(['get', '--append-suffix', '-mirror', 'x'], spec)).toMatchObject({ _: ['get', 'x'], 'append-suffix': '-mirror' });
    expect(parseArgs(['get', '-p', '-xsecret'], spec)).toMatchObject({ creds: '-xsecret' });
    expect(parseArgs(['get', '--creds', '--all'], spec)).toMatchObject({ creds: '--all' });
  });

  it('reads --flag=VALUE, -fVALUE, -f=VALUE and bundled one-letter booleans', () => {
    expect(parseArgs(['get', '--output=a=b'], spec).output).toBe('a=b');
    expect(parseArgs(['get', '-ofile'], spec).output).toBe('file');
    expect(parseArgs(['get', '-o=file'], spec).output).toBe('file');
    expect(parseArgs(['get', '-aq'], spec)).toMatchObject({ all: true, quiet: true });
    expect(parseArgs(['get', '-qo', 'f'], spec)).toMatchObject({ quiet: true, output: 'f' });
  });

  it('--no-creds is a flag of its own, not the negation of --creds', () => {
    const f = parseArgs(['get', '--no-creds'], spec);
    expect(f['no-creds']).toBe(true);
    expect(f.creds).toBeUndefined();
  });

  it('booleans take =true/=false in strconv.ParseBool spellings, and keep defaults', () => {
    expect(parseArgs(['get'], spec)['tls-verify']).toBe(true);
    expect(parseArgs(['get', '--tls-verify=false'], spec)['tls-verify']).toBe(false);
    expect(parseArgs(['get', '--tls-verify=0'], spec)['tls-verify']).toBe(false);
    expect(parseArgs(['get', '--tls-verify=T'], spec)['tls-verify']).toBe(true);
    // A boolean never takes the next argument.
    expect(parseArgs(['get', '--all', 'false'], spec)).toMatchObject({ all: true, _: ['get', 'false'] });
    expect(caught(() => parseArgs(['get', '--all=maybe'], spec)).message).toBe('invalid --all=maybe: true or false');
  });

  it('lists collect every value; other flags may be given once', () => {
    expect(parseArgs(['get', '--platform', 'linux/amd64', '--platform=linux/arm64'], spec).platform).toEqual(['linux/amd64', 'linux/arm64']);
    expect(caught(() => parseArgs(['get', '--creds', 'a', '--creds=b'], spec)).message).toBe('--creds is given more than once');
  });

  it('refuses unknown flags, missing values and flags for another subcommand, naming them', () => {
    expect(caught(() => parseArgs(['get', '--bogus'], spec))).toMatchObject({ code: 'USAGE', message: 'unknown flag --bogus' });
    expect(caught(() => parseArgs(['get', '-z'], spec)).message).toBe('unknown flag -z');
    expect(caught(() => parseArgs(['get', '--creds'], spec)).message).toBe('--creds needs a value');
    expect(caught(() => parseArgs(['put', '--all'], spec)).message).toBe('--all is not for the put subcommand (only get)');
    expect(caught(() => parseArgs(['delete', '-o', 'x'], spec)).message).toBe('--output is not for the delete subcommand (only get, put)');
  });

  it('"--" ends the flags and "-" is an argument', () => {
    expect(parseArgs(['get', '-', '--', '--all', '-q'], spec)._).toEqual(['get', '-', '--all', '-q']);
  });

  it('every command spec names each flag once, and every alias names a declared flag', () => {
    for (const [cmd, s] of Object.entries(COMMAND_FLAGS)) {
      const names = specFlags(s);
      expect(new Set(names).size, cmd).toBe(names.length);
      for (const long of Object.values((s as { alias?: Record<string, string> }).alias ?? {})) expect(names, cmd).toContain(long);
      for (const f of Object.keys((s as { only?: Record<string, string[]> }).only ?? {})) expect(names, `${cmd} only ${f}`).toContain(f);
    }
  });
});

describe('transfer flags', () => {
  it('--src-no-creds and --dest-no-creds reach their side only', () => {
    const f = parseArgs(['--src-no-creds', '--dest-creds', 'u:p'], COMMAND_FLAGS['img-copy']);
    const t = transferOptions(f);
    expect(t.src.registry?.credentials).toMatchObject({ noCreds: true });
    expect(t.dest.registry?.credentials).toMatchObject({ creds: 'u:p' });
    expect(t.dest.registry?.credentials?.noCreds).toBeUndefined();
  });

  it("a side's own credentials replace the shared ones; tls-verify falls back to the shared flag", () => {
    const f = parseArgs(['--creds', 'a:b', '--src-registry-token', 'T', '--tls-verify=false'], COMMAND_FLAGS['img-copy']);
    expect(sideFlags(f, 'src')).toMatchObject({ 'registry-token': 'T', 'tls-verify': false });
    expect(sideFlags(f, 'src').creds).toBeUndefined();
    expect(sideArgs(f, 'src')).toEqual(['--registry-token=T', '--tls-verify=false']);
    expect(sideArgs(f, 'dest')).toEqual(['--creds=a:b', '--tls-verify=false']);
    expect(sideArgs(parseArgs(['--src-tls-verify=false'], COMMAND_FLAGS['img-copy']), 'src')).toEqual(['--tls-verify=false']);
    // an explicit --tls-verify(=true) is passed on: it wins over registries.conf's insecure, as in skopeo
    expect(sideArgs(parseArgs(['--tls-verify=false', '--dest-tls-verify'], COMMAND_FLAGS['img-copy']), 'dest')).toEqual(['--tls-verify']);
    expect(sideArgs(parseArgs([], COMMAND_FLAGS['img-copy']), 'dest')).toEqual([]);
    expect(transferOptions(parseArgs(['--src-tls-verify=true'], COMMAND_FLAGS['img-copy'])).src.registry?.tlsVerify).toBe(true);
    expect(transferOptions(parseArgs([], COMMAND_FLAGS['img-copy'])).src.registry?.tlsVerify).toBeUndefined();
  });

  it("transferArgs forwards every side's flags as given, and the stage parses them back alike", () => {
    const argv = ['--src-no-creds', '--dest-creds', 'u:-p', '--src-tls-verify=false', '--retry-times', '0', '--debug', '--registries-conf', 'r.conf'];
    const f = parseArgs(argv, COMMAND_FLAGS['img-copy']);
    const forwarded = transferArgs(f);
    expect(forwarded).toEqual(['--src-tls-verify=false', '--src-no-creds', '--dest-creds=u:-p', '--retry-times=0', '--debug', '--registries-conf=r.conf']);
    // the source is read through registries.conf's mirrors, the destination is not
    expect(transferOptions(f).src.registry).toMatchObject({ pull: true, registriesConf: 'r.conf' });
    expect(transferOptions(f).dest.registry?.pull).toBeUndefined();
    // (debug is a function: compare the options as JSON)
    expect(JSON.stringify(transferOptions(parseArgs(forwarded, COMMAND_FLAGS['img-blob-put'])))).toBe(JSON.stringify(transferOptions(f)));
  });
});
