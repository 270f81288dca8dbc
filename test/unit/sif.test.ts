/**
 * The SIF format as imgpipe reads it (lib/transport/sif/format.ts), against what sylabs/sif v2 and
 * containers/image's sif transport do: the header, the choice of partition and definition file,
 * the definition file's sections, and the config and manifest bytes (checked against skopeo 1.9.3's
 * output for the same SIF and layer).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgError } from '../../lib/errors.js';
import { goLocalTime, injectedScript, parseDefFile, parseHeader, readSif, sifConfig, sifManifest, trimSpace } from '../../lib/transport/sif/format.js';
import { tempDir } from '../helpers/run.js';
import { sifBytes } from '../helpers/sif.js';

const work = tempDir('imgpipe-sif-unit-');
let n = 0;
const file = (b: Buffer) => {
  const p = join(work, `f${++n}.sif`);
  writeFileSync(p, b);
  return p;
};

/** A squashfs superblock alone, of `size` bytes (bytes_used at 40): enough for readSif, which reads no further. */
function squashfs(size = 4096, used = size): Buffer {
  const b = Buffer.alloc(size);
  b.write('hsqs', 0, 'latin1');
  b.writeBigUInt64LE(BigInt(used), 40);
  return b;
}

async function failure(p: Promise<unknown>): Promise<ImgError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImgError);
    return e as ImgError;
  }
  throw new Error('no error');
}

let tz: string | undefined;
beforeAll(() => {
  tz = process.env.TZ;
  process.env.TZ = 'UTC';
});
afterAll(() => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
});

describe('header', () => {
  const header = (o: Parameters<typeof sifBytes>[1]) => sifBytes([{ type: 0x4004, data: squashfs() }], o).subarray(0, 128);

  it('architecture codes as sif names them (two digits and a NUL), the UUID as google/uuid writes it', () => {
    expect(parseHeader(header({ arch: '02', uuid: '123456781234567812345678123456ab' }), 'x')).toMatchObject({
      arch: 'amd64',
      id: '12345678-1234-5678-1234-5678123456ab',
    });
    expect(parseHeader(header({ arch: '04' }), 'x').arch).toBe('arm64');
    expect(parseHeader(header({ arch: '11' }), 'x').arch).toBe('s390x');
    expect(parseHeader(header({ arch: '99' }), 'x').arch).toBe('unknown');
    const h = header({ arch: '02' });
    h[47] = 0x31; // "021": no NUL, no known code
    expect(parseHeader(h, 'x').arch).toBe('unknown');
  });

  it('refuses a wrong magic, another version, a short file', () => {
    expect(() => parseHeader(header({ magic: 'NOT_MAGIC\0' }), 'f.sif')).toThrow(/f\.sif: invalid SIF magic/);
    expect(() => parseHeader(header({ version: '02\0' }), 'f.sif')).toThrow(/incompatible SIF version "02"/);
    expect(() => parseHeader(Buffer.alloc(20), 'f.sif')).toThrow(/shorter than a SIF header/);
  });
});

describe('readSif: which objects are used', () => {
  it('the primary system partition and the one definition file; unused descriptors are skipped', async () => {
    const def = Buffer.from('%runscript\necho hi\n');
    const img = await readSif(
      file(
        sifBytes(
          [
            { type: 0x4004, data: squashfs(), partType: 2, used: false },
            { type: 0x4001, data: def },
            { type: 0x4004, data: squashfs(8192), partType: 3 },
            { type: 0x4004, data: squashfs(4096) },
          ],
          { modified: 1_234_567_890, arch: '04' },
        ),
      ),
    );
    expect(img).toMatchObject({ arch: 'arm64', modifiedAt: 1_234_567_890, rootfs: { size: 4096 }, deffile: { size: def.length } });
    expect(img.rootfs.offset % 4096).toBe(0);
  });

  it('two definition files: none is used (GetDescriptor finds several)', async () => {
    const img = await readSif(
      file(
        sifBytes([
          { type: 0x4001, data: Buffer.from('a') },
          { type: 0x4001, data: Buffer.from('b') },
          { type: 0x4004, data: squashfs() },
        ]),
      ),
    );
    expect(img.deffile).toBeUndefined();
  });

  it('refuses no primary partition, two of them, another file system, a partition that is no squashfs or too short for it', async () => {
    expect((await failure(readSif(file(sifBytes([{ type: 0x4004, data: squashfs(), partType: 1 }]))))).message).toMatch(/no primary system partition/);
    expect(
      (
        await failure(
          readSif(
            file(
              sifBytes([
                { type: 0x4004, data: squashfs() },
                { type: 0x4004, data: squashfs() },
              ]),
            ),
          ),
        )
      ).message,
    ).toMatch(/multiple objects found \(2 primary system partitions\)/);
    const ext3 = await failure(readSif(file(sifBytes([{ type: 0x4004, data: squashfs(), fsType: 2 }]))));
    expect(ext3.code).toBe('UNSUPPORTED');
    expect(ext3.message).toMatch(/is ext3, not squashfs/);
    expect((await failure(readSif(file(sifBytes([{ type: 0x4004, data: Buffer.alloc(4096) }]))))).message).toMatch(/not a squashfs file system/);
    expect((await failure(readSif(file(sifBytes([{ type: 0x4004, data: squashfs(4096, 9000) }]))))).message).toMatch(
      /squashfs file system is 9000 bytes, larger than its partition \(4096 bytes\)/,
    );
    expect((await failure(readSif(file(sifBytes([]))))).message).toMatch(/no objects in image/);
  });

  it('refuses a partition beyond the end of the file, and a descriptor table too large to read', async () => {
    const whole = sifBytes([{ type: 0x4004, data: squashfs(8192) }]);
    expect((await failure(readSif(file(whole.subarray(0, whole.length - 100))))).message).toMatch(/lies outside the file/);
    const huge = Buffer.from(whole);
    huge.writeBigInt64LE(10n ** 9n, 88);
    expect((await failure(readSif(file(huge)))).message).toMatch(/declares 1000000000 descriptors/);
  });
});

describe('definition file', () => {
  const lines = (def: string) => {
    const r = parseDefFile(Buffer.from(def, 'utf8'), 'x');
    return { environment: r.environment.map((b) => b.toString('utf8')), runscript: r.runscript.map((b) => b.toString('utf8')) };
  };

  it('%environment: trimmed, without blank lines and comments; %runscript: every line, trimmed; other sections end them', () => {
    expect(
      lines(
        'Bootstrap: docker\n%environment\n  export A=1\n\n  # no\nexport B=2  \n%runscript\n  echo "$A"\n\n  exit 0\n%labels\n  x y\n%runscript\n  again\n',
      ),
    ).toEqual({ environment: ['export A=1', 'export B=2'], runscript: ['echo "$A"', '', 'exit 0', 'again'] });
  });

  it('lines as bufio.ScanLines splits them (\\r\\n, a last line without a newline), spaces as unicode.IsSpace (not a byte order mark)', () => {
    expect(lines('%runscript\r\n\techo a\r\n\u00a0echo b\u3000\necho c')).toEqual({ environment: [], runscript: ['echo a', 'echo b', 'echo c'] });
    expect(lines('\ufeff%runscript\necho no')).toEqual({ environment: [], runscript: [] });
    expect(lines('  %environment  \nA=1')).toEqual({ environment: ['A=1'], runscript: [] });
    expect(trimSpace(Buffer.from([0xc2, 0x85, 0x41, 0xe2, 0x80, 0x8a])).toString('latin1')).toBe('A');
    // Bytes that are not UTF-8 stay as they are.
    expect(parseDefFile(Buffer.from([0x25, 0x72, 0x75, 0x6e, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x0a, 0xff, 0x20]), 'x').runscript).toEqual([
      Buffer.from([0xff]),
    ]);
  });

  it('refuses a line longer than bufio.Scanner reads', () => {
    expect(() => parseDefFile(Buffer.from(`%runscript\n${'x'.repeat(70_000)}\n`), 'sif:a.sif')).toThrow(/sif:a\.sif: a line is longer than 65535 bytes/);
  });

  it('the script and command containers/image makes of it', () => {
    expect(injectedScript(undefined, 'x')).toEqual({ command: 'bash' });
    expect(injectedScript(Buffer.from('%environment\n# only a comment\n%runscript\n'), 'x')).toEqual({ command: 'bash' });
    const { command, script } = injectedScript(Buffer.from('%environment\nexport A=1\nexport B=2\n%runscript\necho hi\nexec "$@"\n'), 'x');
    expect(command).toBe('/podman/runscript');
    expect(script!.toString()).toBe('#!/bin/bash\nexport A=1\nexport B=2\necho hi\nexec "$@"\n');
    expect(injectedScript(Buffer.from('%runscript\necho hi\n'), 'x').script!.toString()).toBe('#!/bin/bash\n\necho hi\n');
  });
});

describe('config and manifest', () => {
  it("are skopeo 1.9.3's bytes for the same SIF and layer", () => {
    // skopeo copy sif:a.sif dir:d (TZ=UTC): the config and manifest it wrote, with its layer.
    const layer = { digest: 'sha256:f934dcf6741758276512cc184a0f4cbbdffddffc31d2dd1e81e73a223107a18f', size: 20480 };
    const skopeoConfig =
      '{"created":"2023-11-14T22:13:20Z","architecture":"amd64","os":"linux","config":{"Cmd":["bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:f934dcf6741758276512cc184a0f4cbbdffddffc31d2dd1e81e73a223107a18f"]},"history":[{"created":"2023-11-14T22:13:20Z","created_by":"/bin/sh -c #(nop) ADD file:f934dcf6741758276512cc184a0f4cbbdffddffc31d2dd1e81e73a223107a18f in /","comment":"imported from SIF, uuid: 12345678-1234-5678-1234-567812345678"},{"created":"2023-11-14T22:13:20Z","created_by":"/bin/sh -c #(nop) CMD [\\"bash\\"]","empty_layer":true}]}';
    const skopeoManifest =
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c1b0ba67349ca31088828b208e0ae0bd9eed4ab8192158961547d40de5c53d7b","size":545},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:f934dcf6741758276512cc184a0f4cbbdffddffc31d2dd1e81e73a223107a18f","size":20480}]}';
    const config = sifConfig({ arch: 'amd64', id: '12345678-1234-5678-1234-567812345678', modifiedAt: 1_700_000_000 }, 'bash', layer.digest, 'x');
    expect(config.toString()).toBe(skopeoConfig);
    expect(sifManifest({ digest: 'sha256:c1b0ba67349ca31088828b208e0ae0bd9eed4ab8192158961547d40de5c53d7b', size: config.length }, layer).toString()).toBe(
      skopeoManifest,
    );
  });

  it('times as Go marshals time.Unix: local zone, Z for UTC; out of range refused', () => {
    expect(goLocalTime(0, 'x')).toBe('1970-01-01T00:00:00Z');
    expect(goLocalTime(-1, 'x')).toBe('1969-12-31T23:59:59Z');
    expect(() => goLocalTime(300_000_000_000, 'sif:a.sif')).toThrow(/sif:a\.sif: its time 300000000000 is outside the years 0–9999/);
  });
});
