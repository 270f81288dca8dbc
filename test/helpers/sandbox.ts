import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './images.js';
import { exec, img, sh, type Result } from './run.js';

/**
 * Sandbox is a test file's isolated world below `work`: HOME, XDG and docker config dirs, an empty
 * auth.json, TMPDIR and an accept-anything policy.json (also as HOME/.config/containers/policy.json,
 * where img-copy and img-sync look first, as skopeo does: without one they fail), and an empty
 * HOME/.config/containers/registries.conf (which replaces the machine's registries.conf and its
 * drop-ins, for imgpipe and skopeo alike), so that neither imgpipe nor skopeo reads the user's
 * credentials, policy or registries or leaves files elsewhere. The runners below use that environment.
 */
export interface Sandbox {
  env: NodeJS.ProcessEnv;
  /** an img-* command */
  img(command: string, args: string[], input?: string | Buffer): Promise<Result>;
  /** a bash -o pipefail script with the img-* commands on PATH */
  sh(script: string): Promise<Result>;
  /** real skopeo, with the sandbox's policy */
  skopeo(args: string[]): Promise<Result>;
  /** skopeo that must succeed */
  sk(args: string[]): Promise<Result>;
}

export const ACCEPT_ANYTHING = '{"default":[{"type":"insecureAcceptAnything"}]}';

/** writeUserPolicy writes an accept-anything policy.json where img-copy, img-sync and skopeo look first: HOME/.config/containers. */
export function writeUserPolicy(home: string): void {
  mkdirSync(join(home, '.config/containers'), { recursive: true });
  writeFileSync(join(home, '.config/containers/policy.json'), ACCEPT_ANYTHING);
}

/** isolatedEnv is the environment that points HOME, XDG dirs, the docker config and the auth file below `work` (it creates nothing). */
export function isolatedEnv(work: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: join(work, 'home'),
    XDG_RUNTIME_DIR: join(work, 'run'),
    XDG_CONFIG_HOME: join(work, 'config'),
    DOCKER_CONFIG: join(work, 'docker'),
    REGISTRY_AUTH_FILE: join(work, 'auth.json'),
    ...extra,
  };
}

/** sandbox makes the dirs and files of a Sandbox below `work` and returns its runners. */
export function sandbox(work: string): Sandbox {
  const env = isolatedEnv(work, { TMPDIR: join(work, 'tmp') });
  for (const d of ['home', 'run', 'config', 'docker', 'tmp']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'auth.json'), '{"auths":{}}\n');
  writeFileSync(join(work, 'policy.json'), ACCEPT_ANYTHING);
  writeUserPolicy(env.HOME!);
  writeFileSync(join(env.HOME!, '.config/containers/registries.conf'), '');
  const skopeo = (args: string[]) => {
    const [sub, ...rest] = args;
    return exec('skopeo', ['--policy', join(work, 'policy.json'), sub!, ...rest], undefined, env);
  };
  return {
    env,
    img: (command, args, input) => img(command, args, input, env),
    sh: (script) => sh(script, env),
    skopeo,
    sk: (args) => must(skopeo(args), `skopeo ${args.join(' ')}`),
  };
}
