import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDirImage } from '../helpers/fixtures.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { tempDir } from '../helpers/run.js';
import { sandbox, type Sandbox } from '../helpers/sandbox.js';

// decision 3: docker://NAME:TAG@DIGEST is written under TAG only when the manifest has DIGEST.
describe('docker://NAME:TAG@DIGEST as a destination', () => {
  let registry: Registry;
  let sb: Sandbox;
  let work: string;
  beforeAll(async () => {
    work = tempDir();
    sb = sandbox(work);
    registry = await startRegistry();
  });
  afterAll(async () => registry?.stop());

  it('tags only the manifest the digest names, and refuses another before anything is tagged', async () => {
    const a = writeDirImage(join(work, 'a'), { seed: 'a' });
    writeDirImage(join(work, 'b'), { seed: 'b' });
    const base = `docker://${registry.host}/pin/app`;
    const wrong = await sb.img('img-copy', ['--dest-tls-verify=false', `dir:${join(work, 'b')}`, `${base}:v1@${a.digest}`]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`the destination reference asks for ${a.digest}`);
    const tags = await sb.img('img-tags', ['--tls-verify=false', '--json', base]);
    expect(tags.status, tags.stderr).not.toBe(0); // the repository has no tag at all
    const right = await sb.img('img-copy', ['--dest-tls-verify=false', `dir:${join(work, 'a')}`, `${base}:v1@${a.digest}`]);
    expect(right.status, right.stderr).toBe(0);
    const raw = await sb.img('img-manifest', ['get', '--raw', '--tls-verify=false', `${base}:v1`]);
    expect(raw.stdoutBytes.equals(a.manifest)).toBe(true);
  });
});
