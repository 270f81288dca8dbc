import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = resolve(__dirname, '../..');
export const BIN = join(ROOT, 'bin');

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** img runs an img-* command as a real process, with `input` on stdin. */
export function img(command: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return exec(join(BIN, command), args, input, env);
}

/**
 * inherited is the test runner's environment less what would point the commands at another
 * registries.conf than the test's (the machine's own files are still read unless a test's HOME
 * holds .config/containers/registries.conf, as the sandbox's does).
 */
function inherited(): NodeJS.ProcessEnv {
  const { CONTAINERS_REGISTRIES_CONF: _c, REGISTRIES_CONFIG_PATH: _r, ...rest } = process.env;
  return rest;
}

/** exec runs any program and collects its output. */
export function exec(file: string, args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((res, rej) => {
    const child = spawn(file, args, { env: { ...inherited(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', rej);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      res({ status: code ?? (signal ? 128 : -1), stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** sh runs a shell pipeline with the img-* commands on PATH. */
export function sh(script: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return exec('/bin/bash', ['-o', 'pipefail', '-c', script], undefined, { PATH: `${BIN}:${process.env.PATH}`, ...env });
}

/** records parses NDJSON output. */
export function records(stdout: string): Record<string, any>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** tempDir makes a directory removed after the test file. */
export function tempDir(prefix = 'imgpipe-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** have says whether a program is on PATH. */
export function have(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}
