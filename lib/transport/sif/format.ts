/**
 * The SIF file format (sylabs/sif v2, pkg/sif), as far as containers/image's sif transport reads it:
 * the global header, the descriptors, the primary system partition and the definition file. Pure
 * but for readSif, which reads the header and descriptors of a file.
 */
import { promises as fsp } from 'node:fs';
import { ImgError } from '../../errors.js';

/** The global header: launch script (32), magic (10), version (3), arch (3), UUID (16), eight int64s. */
export const HEADER_SIZE = 128;
/** A descriptor as stored: its common fields (105 bytes, packed), name (128) and type-specific extra (384). */
export const DESCRIPTOR_SIZE = 585;
/** More descriptor bytes than this are refused before reading them (singularity writes 48 descriptors, 28 KB). */
export const MAX_DESCRIPTORS_SIZE = 16 * 1024 * 1024;
/** A definition file larger than this is refused (they are a few KB). */
export const MAX_DEFFILE_SIZE = 4 * 1024 * 1024;

const MAGIC = Buffer.from('SIF_MAGIC\0', 'latin1');
/** A squashfs superblock: 96 bytes, magic "hsqs", bytes_used (the file system's size) at 40. */
const SQUASHFS_SUPERBLOCK = 96;
const SQUASHFS_MAGIC = Buffer.from('hsqs', 'latin1');
const VERSION = Buffer.from('01\0', 'latin1');

export const DATA_DEFFILE = 0x4001;
export const DATA_PARTITION = 0x4004;
export const FS_SQUASH = 1;
export const PART_PRIMSYS = 2;

const FS_NAMES: Record<number, string> = { 1: 'squashfs', 2: 'ext3', 3: 'an archive of immutable objects', 4: 'raw data', 5: 'encrypted squashfs' };

/** The architectures of a SIF header, by code, as sif's GoArch names them. */
const ARCHES: Record<string, string> = {
  '01': '386',
  '02': 'amd64',
  '03': 'arm',
  '04': 'arm64',
  '05': 'ppc64',
  '06': 'ppc64le',
  '07': 'mips',
  '08': 'mipsle',
  '09': 'mips64',
  '10': 'mips64le',
  '11': 's390x',
  '12': 'riscv64',
  '13': 'loong64',
};

/** A byte range of the SIF file. */
export interface Extent {
  offset: number;
  size: number;
}

/** SifImage is what the conversion needs of a SIF file. */
export interface SifImage {
  /** arch is the header's architecture as Go names it ("amd64"), or "unknown" (sif's PrimaryArch). */
  arch: string;
  /** id is the header's UUID, formatted as google/uuid does. */
  id: string;
  /** modifiedAt is the header's modification time, in seconds since the epoch (the image's "created"). */
  modifiedAt: number;
  /** rootfs is the primary system partition, a squashfs. */
  rootfs: Extent;
  /** deffile is the one definition file object, when there is exactly one (as GetDescriptor finds it). */
  deffile?: Extent;
}

interface RawDescriptor {
  dataType: number;
  used: boolean;
  offset: bigint;
  size: bigint;
  extra: Buffer;
}

/** parseHeader reads the global header; errors say what is wrong with `file` as sif's loader would. */
export function parseHeader(
  h: Buffer,
  file: string,
): { arch: string; id: string; modifiedAt: bigint; free: bigint; total: bigint; descOffset: bigint; descSize: bigint } {
  const bad = (why: string) => new ImgError('MANIFEST_INVALID', `loading SIF file ${file}: ${why}`);
  if (h.length < HEADER_SIZE) throw bad(`reading global header: the file is ${h.length} bytes, shorter than a SIF header (${HEADER_SIZE})`);
  if (!h.subarray(32, 42).equals(MAGIC)) throw bad('invalid SIF magic (not a SIF file)');
  if (!h.subarray(42, 45).equals(VERSION)) throw bad(`incompatible SIF version ${JSON.stringify(h.subarray(42, 45).toString('latin1').replace(/\0+$/, ''))}`);
  // sif compares all three bytes: two digits and a NUL.
  const arch = (h[47] === 0 ? ARCHES[h.subarray(45, 47).toString('latin1')] : undefined) ?? 'unknown';
  const hex = h.subarray(48, 64).toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return {
    arch,
    id,
    modifiedAt: h.readBigInt64LE(72),
    free: h.readBigInt64LE(80),
    total: h.readBigInt64LE(88),
    descOffset: h.readBigInt64LE(96),
    descSize: h.readBigInt64LE(104),
  };
}

/** parseDescriptor reads one stored descriptor (DESCRIPTOR_SIZE bytes, little endian, packed as Go's binary.Read reads it). */
export function parseDescriptor(b: Buffer): RawDescriptor {
  return {
    dataType: b.readInt32LE(0),
    used: b[4] !== 0,
    offset: b.readBigInt64LE(17),
    size: b.readBigInt64LE(25),
    extra: b.subarray(201, 585),
  };
}

/**
 * readSif reads the header and descriptors of the SIF file at `path` (a regular file; `shown` in
 * messages, the path as the user wrote it) and finds the
 * primary system partition and the definition file, as containers/image does with sylabs/sif:
 * GetDescriptor(WithPartitionType(PartPrimSys)) must find exactly one, and a definition file is used
 * when exactly one is there. Unlike containers/image, a partition that is not squashfs is refused
 * here, naming its type, rather than by unsquashfs.
 */
export async function readSif(path: string, shown = path): Promise<SifImage> {
  const fh = await fsp.open(path, 'r');
  try {
    const st = await fh.stat();
    const read = async (offset: bigint, length: number, what: string): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, Number(offset));
      if (bytesRead < length) throw new ImgError('MANIFEST_INVALID', `loading SIF file ${shown}: reading ${what}: unexpected end of file`);
      return buf;
    };
    const head = await fh.read(Buffer.alloc(HEADER_SIZE), 0, HEADER_SIZE, 0);
    const h = parseHeader(head.buffer.subarray(0, head.bytesRead), shown);
    const bad = (why: string) => new ImgError('MANIFEST_INVALID', `SIF file ${shown}: ${why}`);
    if (h.total < 0n || h.descOffset < 0n || h.total * BigInt(DESCRIPTOR_SIZE) > BigInt(MAX_DESCRIPTORS_SIZE))
      throw bad(
        `its header declares ${h.total} descriptors at offset ${h.descOffset}, beyond what imgpipe reads (${MAX_DESCRIPTORS_SIZE} bytes of descriptors)`,
      );
    if (h.descSize < h.total * BigInt(DESCRIPTOR_SIZE)) throw bad('reading descriptors: unexpected end of the descriptor section');
    const table = await read(h.descOffset, Number(h.total) * DESCRIPTOR_SIZE, 'descriptors');
    const used: RawDescriptor[] = [];
    for (let i = 0; i < Number(h.total); i++) {
      const d = parseDescriptor(table.subarray(i * DESCRIPTOR_SIZE, (i + 1) * DESCRIPTOR_SIZE));
      if (d.used) used.push(d);
    }
    if (h.free === h.total || used.length === 0) throw bad('looking up rootfs from SIF file: no objects in image');
    const extent = (d: RawDescriptor, what: string): Extent => {
      if (d.offset < 0n || d.size < 0n || d.offset + d.size > BigInt(st.size))
        throw bad(`its ${what} (offset ${d.offset}, ${d.size} bytes) lies outside the file (${st.size} bytes)`);
      return { offset: Number(d.offset), size: Number(d.size) };
    };
    const prim = used.filter((d) => d.dataType === DATA_PARTITION && d.extra.readInt32LE(4) === PART_PRIMSYS);
    if (prim.length === 0) throw bad('looking up rootfs from SIF file: object not found (no primary system partition)');
    if (prim.length > 1) throw bad(`looking up rootfs from SIF file: multiple objects found (${prim.length} primary system partitions)`);
    const fs = prim[0]!.extra.readInt32LE(0);
    if (fs !== FS_SQUASH)
      throw new ImgError(
        'UNSUPPORTED',
        `SIF file ${shown}: its primary system partition is ${FS_NAMES[fs] ?? `of file system type ${fs}`}, not squashfs: only squashfs partitions are converted (as skopeo does)`,
      );
    const rootfs = extent(prim[0]!, 'primary system partition');
    // unsquashfs reads the partition in place, from its offset: it must hold the whole file system.
    const sb = await read(BigInt(rootfs.offset), Math.min(SQUASHFS_SUPERBLOCK, rootfs.size), 'the squashfs superblock');
    if (sb.length < SQUASHFS_SUPERBLOCK || !sb.subarray(0, 4).equals(SQUASHFS_MAGIC))
      throw bad('its primary system partition is not a squashfs file system (no squashfs superblock at its start)');
    const fsSize = sb.readBigUInt64LE(40);
    if (fsSize > BigInt(rootfs.size)) throw bad(`its squashfs file system is ${fsSize} bytes, larger than its partition (${rootfs.size} bytes)`);
    const defs = used.filter((d) => d.dataType === DATA_DEFFILE);
    const deffile = defs.length === 1 ? extent(defs[0]!, 'definition file') : undefined;
    if (deffile && deffile.size > MAX_DEFFILE_SIZE) throw bad(`its definition file is ${deffile.size} bytes, over the ${MAX_DEFFILE_SIZE}-byte limit`);
    return { arch: h.arch, id: h.id, modifiedAt: Number(h.modifiedAt), rootfs, ...(deffile ? { deffile } : {}) };
  } finally {
    await fh.close();
  }
}

/** The path of the script a definition file's %environment and %runscript become, in the image. */
export const INJECTED_SCRIPT = '/podman/runscript';

/** bufio.Scanner's limit: a line with its newline longer than this fails, as Go's reader fails. */
const MAX_LINE = 64 * 1024;

/** UTF-8 encodings of the non-ASCII runes unicode.IsSpace knows (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
const WIDE_SPACES = [
  [0xc2, 0x85],
  [0xc2, 0xa0],
  [0xe1, 0x9a, 0x80],
  ...Array.from({ length: 11 }, (_, i) => [0xe2, 0x80, 0x80 + i]),
  [0xe2, 0x80, 0xa8],
  [0xe2, 0x80, 0xa9],
  [0xe2, 0x80, 0xaf],
  [0xe2, 0x81, 0x9f],
  [0xe3, 0x80, 0x80],
].map((b) => Buffer.from(b));

const asciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** trimSpace is Go's bytes.TrimSpace: Unicode white space off both ends, bytes kept as they are. */
export function trimSpace(b: Buffer): Buffer {
  let s = 0;
  let e = b.length;
  for (;;) {
    if (s < e && asciiSpace(b[s]!)) s++;
    else {
      const w = WIDE_SPACES.find((sp) => e - s >= sp.length && b.subarray(s, s + sp.length).equals(sp));
      if (!w) break;
      s += w.length;
    }
  }
  for (;;) {
    if (e > s && asciiSpace(b[e - 1]!)) e--;
    else {
      const w = WIDE_SPACES.find((sp) => e - s >= sp.length && b.subarray(e - sp.length, e).equals(sp));
      if (!w) break;
      e -= w.length;
    }
  }
  return b.subarray(s, e);
}

/**
 * parseDefFile reads a definition file as containers/image's parseDefFile does: lines (bufio's
 * ScanLines: split at \n, a \r before it dropped), each trimmed; the non-empty, non-comment lines of
 * %environment and every line of %runscript, up to the next line starting with %. Bytes are kept as
 * they are.
 */
export function parseDefFile(def: Buffer, what: string): { environment: Buffer[]; runscript: Buffer[] } {
  const environment: Buffer[] = [];
  const runscript: Buffer[] = [];
  let state: 'other' | 'environment' | 'runscript' = 'other';
  let at = 0;
  while (at < def.length) {
    let nl = def.indexOf(0x0a, at);
    if (nl === -1) nl = def.length;
    if (nl - at + 1 > MAX_LINE)
      throw new ImgError('MANIFEST_INVALID', `reading lines from SIF definition file object of ${what}: a line is longer than ${MAX_LINE - 1} bytes`);
    let line = def.subarray(at, nl);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    at = nl + 1;
    const s = trimSpace(line);
    const text = s.toString('latin1');
    if (text === '%environment') state = 'environment';
    else if (text === '%runscript') state = 'runscript';
    else if (text.startsWith('%')) state = 'other';
    else if (state === 'environment') {
      if (s.length > 0 && !text.startsWith('#')) environment.push(s);
    } else if (state === 'runscript') runscript.push(s);
  }
  return { environment, runscript };
}

/**
 * injectedScript is what containers/image makes of a definition file: the command to run and the
 * script written at INJECTED_SCRIPT, `#!/bin/bash`, the environment lines and the runscript lines;
 * with neither, the command is bash and there is no script.
 */
export function injectedScript(def: Buffer | undefined, what: string): { command: string; script?: Buffer } {
  const { environment, runscript } = def ? parseDefFile(def, what) : { environment: [], runscript: [] };
  if (environment.length === 0 && runscript.length === 0) return { command: 'bash' };
  const nl = Buffer.from('\n');
  const join = (lines: Buffer[]) => Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [nl, l])));
  return { command: INJECTED_SCRIPT, script: Buffer.concat([Buffer.from('#!/bin/bash\n'), join(environment), nl, join(runscript), nl]) };
}

/**
 * goLocalTime writes a Unix time as Go's json.Marshal writes time.Unix(s, 0): RFC 3339 in the local
 * time zone (TZ, else /etc/localtime, as Go and Node both read it), Z for UTC. A year outside
 * 0–9999 is refused, as Go refuses it.
 */
export function goLocalTime(seconds: number, what: string): string {
  const utc = new Date(seconds * 1000);
  const offsetMin = Number.isFinite(utc.getTime()) ? -utc.getTimezoneOffset() : 0;
  const local = new Date((seconds + offsetMin * 60) * 1000);
  const year = local.getUTCFullYear();
  if (!Number.isFinite(local.getTime()) || year < 0 || year > 9999)
    throw new ImgError('MANIFEST_INVALID', `${what}: its time ${seconds} is outside the years 0–9999 that an image config can hold`);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(year, 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
  if (offsetMin === 0) return `${date}Z`;
  const a = Math.abs(offsetMin);
  return `${date}${offsetMin < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** goJSON is JSON.stringify (objects in their key order, as Go writes struct fields) with what Go's encoder escapes besides. */
function goJSON(v: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    'utf8',
  );
}

/**
 * sifConfig is the image config containers/image's sif source writes for a converted SIF, byte for
 * byte (image-spec's Image struct through json.Marshal): created and both history entries at the
 * header's modification time, the header's architecture, os linux, Cmd, the one layer's diff ID.
 */
export function sifConfig(img: Pick<SifImage, 'arch' | 'id' | 'modifiedAt'>, command: string, layerDigest: string, what: string): Buffer {
  const created = goLocalTime(img.modifiedAt, what);
  return goJSON({
    created,
    architecture: img.arch,
    os: 'linux',
    config: { Cmd: [command] },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
    history: [
      {
        created,
        created_by: `/bin/sh -c #(nop) ADD file:${layerDigest.slice(layerDigest.indexOf(':') + 1)} in /`,
        comment: `imported from SIF, uuid: ${img.id}`,
      },
      { created, created_by: '/bin/sh -c #(nop) CMD ["bash"]', empty_layer: true },
    ],
  });
}

/** sifManifest is the OCI manifest containers/image's sif source writes: the config and one uncompressed layer. */
export function sifManifest(config: { digest: string; size: number }, layer: { digest: string; size: number }): Buffer {
  return goJSON({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  });
}
