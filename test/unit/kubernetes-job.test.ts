// The Kubernetes recipe of docs/scale.md (issue 16): the Indexed Job manifest has the fields the
// recipe relies on, its command turns JOB_COMPLETION_INDEX into --shard K/N (run by a real sh, with
// a stand-in img-sync that prints its arguments), the Secret is mounted where REGISTRY_AUTH_FILE
// points, the re-run of one shard (retry-index.jq, run by jq) syncs that shard alone, and the
// manifest and filter in docs/scale.md are these files.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/run.js';

const JOB = join(ROOT, 'deploy/kubernetes/img-sync-job.yaml');
const RETRY = join(ROOT, 'deploy/kubernetes/retry-index.jq');
const jobText = readFileSync(JOB, 'utf8');
const job = parse(jobText);
const pod = job.spec.template.spec;
const container = pod.containers[0];
const envOf = (c: any): Record<string, string> => Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));

const fake = mkdtempSync(join(tmpdir(), 'imgpipe-k8s-'));
afterAll(() => rmSync(fake, { recursive: true, force: true }));
writeFileSync(join(fake, 'img-sync'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
chmodSync(join(fake, 'img-sync'), 0o755);

/** runContainer runs the container's command and args as the kubelet would (no $(VAR) in them), with the pod's env and `extra`: img-sync's arguments. */
function runContainer(c: any, extra: Record<string, string>): string[] {
  expect(JSON.stringify([...c.command, ...c.args])).not.toMatch(/\$\(/);
  const out = execFileSync(c.command[0], [...c.command.slice(1), ...c.args], {
    env: { PATH: `${fake}:/usr/bin:/bin`, ...envOf(c), ...extra },
  });
  return out.toString().trim().split('\n');
}
const shardArg = (args: string[]) => args[args.indexOf('--shard') + 1];

describe('deploy/kubernetes/img-sync-job.yaml', () => {
  it('is an Indexed Job of N completions, all at once, one shard each', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(Number.isInteger(job.spec.completions) && job.spec.completions > 1).toBe(true);
    expect(job.spec.parallelism).toBe(job.spec.completions);
    expect(envOf(container).SHARDS).toBe(String(job.spec.completions));
    // a failed index is retried on its own and does not stop the others
    expect(job.spec.backoffLimitPerIndex).toBeGreaterThan(0);
    expect(job.spec.maxFailedIndexes).toBeLessThanOrEqual(job.spec.completions);
    expect(job.spec.backoffLimit).toBeUndefined();
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers).toHaveLength(1);
    expect(container.image).toMatch(/imgpipe/);
  });

  it('gives pod K the arguments --shard K/N of img-sync, from JOB_COMPLETION_INDEX', () => {
    expect(container.args.join(' ')).toContain('JOB_COMPLETION_INDEX');
    const n = job.spec.completions;
    for (let k = 0; k < n; k++) {
      const args = runContainer(container, { JOB_COMPLETION_INDEX: String(k) });
      expect(args[0]).toBe('--src');
      expect(shardArg(args)).toBe(`${k}/${n}`);
      expect(args).toContain('--catalog');
      expect(args).toContain('--keep-going');
      expect(args[args.indexOf('--rate') + 1]).toBe(envOf(container).RATE);
      expect(args.slice(-2)).toEqual([envOf(container).SOURCE, envOf(container).DESTINATION]);
    }
  });

  it('mounts the Secret read-only where REGISTRY_AUTH_FILE points, readable by the pod user only', () => {
    const file = envOf(container).REGISTRY_AUTH_FILE!;
    const mount = container.volumeMounts.find((m: any) => m.mountPath === dirname(file));
    expect(mount, `a volume mounted at ${dirname(file)}`).toBeDefined();
    expect(mount.readOnly).toBe(true);
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    expect(volume.secret.secretName).toBe('imgpipe-auth');
    expect(volume.secret.items).toEqual([{ key: 'auth.json', path: basename(file) }]);
    expect(volume.secret.defaultMode).toBe(0o440);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
  });

  it('retry-index.jq makes a Job of that one shard, named for it', () => {
    const out = execFileSync('jq', ['--arg', 'shard', '3', '-f', RETRY], { input: JSON.stringify(job) });
    const retry = JSON.parse(out.toString());
    expect(retry.metadata.name).toBe('img-sync-shard-3');
    expect(retry.spec).toMatchObject({ completionMode: 'Indexed', completions: 1, parallelism: 1 });
    expect(retry.spec.maxFailedIndexes).toBeUndefined();
    const c = retry.spec.template.spec.containers[0];
    // its one pod has index 0, and syncs shard 3 of the original N
    expect(shardArg(runContainer(c, { JOB_COMPLETION_INDEX: '0' }))).toBe(`3/${job.spec.completions}`);
  });

  it('is what docs/scale.md shows, and the Containerfile builds the image it runs', () => {
    const doc = readFileSync(join(ROOT, 'docs/scale.md'), 'utf8');
    expect(doc).toContain(`\`\`\`yaml\n${jobText}\`\`\``);
    expect(doc).toContain(readFileSync(RETRY, 'utf8'));
    const containerfile = readFileSync(join(ROOT, 'Containerfile'), 'utf8');
    expect(containerfile).toMatch(/^ARG NODE_IMAGE=\S*node:20/m);
    expect(containerfile).toMatch(/scripts\/install\.mjs install --destdir \/stage --prefix \/usr\/local/);
    // the image runs as the user the Job asks for (node, uid 1000 in the node images)
    expect(containerfile).toMatch(/^USER node$/m);
  });
});
