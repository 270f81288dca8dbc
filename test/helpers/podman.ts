import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './images.js';
import { exec, have, type Result } from './run.js';

/**
 * A private containers/storage store for tests (Debian's podman, rootful, vfs): its graph root and
 * run root below the test's work dir, so nothing touches the machine's /var/lib/containers. `spec` is
 * the store specifier of containers-storage: references (`vfs@ROOT+RUNROOT`); `podman` runs the podman
 * CLI on it (with --events-backend none, so that no event goes to the shared /run/libpod).
 */
export interface PodmanStore {
  root: string;
  runroot: string;
  spec: string;
  /** containers-storage:[spec]NAME */
  ref(name: string): string;
  podman(args: string[]): Promise<Result>;
  /** `podman image inspect NAME`: ID, digest, names, diff IDs */
  inspect(name: string): Promise<{ Id: string; Digest: string; RepoTags: string[]; RootFS: { Layers: string[] } }>;
  /** every image of the store: `ID NAME…` lines (dangling ones included), sorted */
  images(): Promise<string[]>;
  /** removes the store (vfs layer directories are read-only, but root can remove them) */
  remove(): void;
}

/** podmanUnavailable says why containers-storage tests cannot run here (not root, no podman), or undefined when they can. */
export function podmanUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: these containers-storage: cases use rootful podman with a private vfs store (they are skipped)';
  if (!have('podman')) return 'podman is not installed (Debian package podman; make test installs it)';
  return undefined;
}

/** podmanStore makes a private store below `dir`; `env` is the environment of the podman CLI (the test's TMPDIR). */
export function podmanStore(dir: string, env: NodeJS.ProcessEnv = {}): PodmanStore {
  const root = join(dir, 'root');
  const runroot = join(dir, 'runroot');
  mkdirSync(dir, { recursive: true });
  const spec = `vfs@${root}+${runroot}`;
  const podman = (args: string[]) =>
    exec('podman', ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs', '--events-backend', 'none', ...args], undefined, env);
  return {
    root,
    runroot,
    spec,
    ref: (name) => `containers-storage:[${spec}]${name}`,
    podman,
    inspect: async (name) => JSON.parse((await must(podman(['image', 'inspect', name]), `podman image inspect ${name}`)).stdout)[0],
    images: async () => {
      const r = await must(podman(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}} {{.Digest}}']), 'podman images');
      return r.stdout.split('\n').filter(Boolean).sort();
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** podmanServices lists the pids of `podman … system service` processes whose command line names `needle` (a store's root, a socket). */
export function podmanServices(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (state.slice(state.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (cmd.some((a) => a.endsWith('podman')) && cmd.includes('service') && cmd.some((a) => a.includes(needle))) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** killServices stops what a test may have left (SIGKILL): for cleanup only. */
export function killServices(needle: string): void {
  for (const pid of podmanServices(needle)) spawnSync('kill', ['-9', String(pid)]);
}
