import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, type Result } from './run.js';

export async function must(p: Promise<Result>, what: string): Promise<Result> {
  const r = await p;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r;
}

/**
 * umociImage makes an OCI image with two layers and a config in layout `layout` named `name`,
 * entirely with umoci, so that the fixture owes nothing to imgpipe.
 */
export async function umociImage(work: string, layout: string, name: string): Promise<void> {
  const src = join(work, `src-${name}`);
  mkdirSync(join(src, 'etc'), { recursive: true });
  writeFileSync(join(src, 'etc', 'greeting'), `hello from ${name}\n`);
  writeFileSync(join(work, `f2-${name}`), `second layer of ${name}\n`);
  await must(
    exec('umoci', ['init', '--layout', layout]).then((r) => (r.stderr.includes('exists') ? { ...r, status: 0 } : r)),
    'umoci init',
  );
  await must(exec('umoci', ['new', '--image', `${layout}:${name}`]), 'umoci new');
  await must(exec('umoci', ['insert', '--image', `${layout}:${name}`, join(src, 'etc'), '/etc']), 'umoci insert');
  await must(exec('umoci', ['insert', '--image', `${layout}:${name}`, join(work, `f2-${name}`), '/f2']), 'umoci insert');
  await must(exec('umoci', ['config', '--image', `${layout}:${name}`, '--config.env', 'FOO=bar', '--config.cmd', '/bin/sh']), 'umoci config');
}

/** skopeo runs real skopeo with a policy that accepts anything (local test images are unsigned). */
export function skopeo(args: string[], policyDir: string): Promise<Result> {
  const policy = join(policyDir, 'policy.json');
  writeFileSync(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  const [sub, ...rest] = args;
  return exec('skopeo', ['--policy', policy, sub!, ...rest]);
}
