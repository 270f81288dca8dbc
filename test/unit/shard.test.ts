// Shards (issue 16): the K/N grammar, the key a destination is sharded by (its repository, for
// every transport), and the hash, checked against the shell one-liner docs/scale.md gives.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseShard, shardKey, shardOf } from '../../lib/ref/shard.js';

describe('parseShard', () => {
  it('reads K/N with 0 <= K < N', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(parseShard('99/100')).toEqual({ index: 99, count: 100 });
  });
  it('refuses anything else, naming the flag', () => {
    for (const bad of ['4/4', '1/0', '0/0', '-1/4', '1', '1/', '/4', 'a/b', '1/4/2', '1.5/4', '', '1234567/9999999']) {
      expect(() => parseShard(bad), bad).toThrow(/invalid --shard .*expected K\/N/);
    }
    expect(() => parseShard('x', '--only')).toThrow(/invalid --only "x"/);
  });
});

describe('shardKey', () => {
  it('is the destination repository, without tag or digest', () => {
    const D = 'sha256:2b758612d53963619d90973fe75b333955a31079df60f53de157b7d8d03c48a9';
    const cases: [string, string][] = [
      ['docker://localhost:5000/mirror/app:1.2', 'localhost:5000/mirror/app'],
      ['docker://localhost:5000/mirror/app:1.2@' + D, 'localhost:5000/mirror/app'],
      [`docker://localhost:5000/mirror/app@${D}`, 'localhost:5000/mirror/app'],
      ['docker://busybox', 'docker.io/library/busybox'],
      ['oci:/srv/mirror:app:1.2', 'oci:/srv/mirror:app'],
      ['oci:/srv/mirror:localhost:5000/team/app:v3', 'oci:/srv/mirror:localhost:5000/team/app'],
      ['oci:/srv/mirror:localhost:5000/team/app', 'oci:/srv/mirror:localhost:5000/team/app'],
      ['oci:/srv/mirror', 'oci:/srv/mirror'],
      ['dir:/backup/app:v3', 'dir:/backup/app'],
      ['dir:/backup/localhost:5000/team/app:v3', 'dir:/backup/localhost:5000/team/app'],
      ['dir:/backup/demo', 'dir:/backup/demo'],
      ['containers-storage:[overlay@/s+/r]localhost/mirror/app:1', 'containers-storage:[overlay@/s+/r]localhost/mirror/app'],
      ['containers-storage:localhost/mirror/app:1', 'containers-storage:localhost/mirror/app'],
      ['docker-daemon:app:1', 'docker-daemon:docker.io/library/app'],
      ['docker-archive:/t/a.tar:app:1', 'docker-archive:/t/a.tar:docker.io/library/app'],
    ];
    for (const [dest, key] of cases) expect(shardKey(dest), dest).toBe(key);
  });
});

describe('shardOf', () => {
  const shell = (key: string, n: number) =>
    Number(
      execFileSync('bash', ['-c', 'echo $(( 0x$(printf %s "$1" | sha256sum | cut -c1-8) % $2 ))', '_', key, String(n)])
        .toString()
        .trim(),
    );

  it('is the shell one-liner of docs/scale.md', () => {
    for (const [dest, n] of [
      ['docker://localhost:5000/mirror/r07:t3', 4],
      ['docker://mirror.example/hub/library/busybox:1.36', 8],
      ['oci:/srv/mirror:app:1', 3],
      ['dir:/backup/web:v1', 16],
    ] as const) {
      expect(shardOf(dest, n), dest).toBe(shell(shardKey(dest), n));
    }
  });
  it('puts every tag of a repository in one shard, and spreads repositories', () => {
    const counts = [0, 0, 0, 0];
    for (let r = 0; r < 1000; r++) {
      const shards = new Set(['1', '2', 'latest', '1.2.3-rc1'].map((t) => shardOf(`docker://m.example/team/r${r}:${t}`, 4)));
      expect(shards.size).toBe(1);
      counts[[...shards][0]!]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(200);
  });
  it('one shard of one is everything', () => {
    expect(shardOf('docker://m.example/a:1', 1)).toBe(0);
  });
});
