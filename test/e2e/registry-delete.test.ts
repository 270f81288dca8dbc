// img-manifest delete against a real registry (CNCF distribution) started without deletes enabled:
// the error says that the registry does not allow deletes and how distribution is told to, with a
// stable code and the HTTP status, instead of the registry's "The operation is unsupported."
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umociImage } from '../helpers/images.js';
import { startRegistry, type Registry } from '../helpers/registry.js';
import { records, tempDir } from '../helpers/run.js';
import { sandbox } from '../helpers/sandbox.js';

const work = tempDir('imgpipe-registry-delete-e2e-');
const L = join(work, 'layout');
const box = sandbox(work);
const NO_TLS = '--tls-verify=false';

let reg: Registry;

beforeAll(async () => {
  reg = await startRegistry({ configure: (c) => delete c.storage.delete });
  await umociImage(work, L, 'base');
  await box.sk(['copy', '-q', '--dest-tls-verify=false', `oci:${L}:base`, `docker://${reg.host}/app:1`]);
}, 60_000);

afterAll(async () => {
  await reg?.stop();
});

describe('img-manifest delete where the registry does not allow deletes', () => {
  it('says so, names the setting, keeps code UNSUPPORTED, and the image stays', async () => {
    const ref = `docker://${reg.host}/app:1`;
    const r = await box.img('img-manifest', ['delete', NO_TLS, ref]);
    expect(r.status).toBe(1);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toEqual([
      `img-manifest delete: deleting manifest ${ref}: the registry does not allow deletes (HTTP 405); for distribution (docker-registry) set storage.delete.enabled: true or REGISTRY_STORAGE_DELETE_ENABLED=true`,
    ]);
    const [rec] = records(r.stdout);
    expect(rec).toMatchObject({ ref, error: { code: 'UNSUPPORTED', stage: 'img-manifest delete' } });
    expect(rec!.error.message).toContain('(HTTP 405)');
    // Nothing was deleted: skopeo still reads the image.
    await box.sk(['inspect', NO_TLS, ref]);
  });
});
