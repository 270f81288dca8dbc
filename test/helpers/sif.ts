import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { have } from './run.js';

/**
 * SIF files for tests, written by hand as sylabs/sif v2 lays them out (pkg/sif: a 128-byte global
 * header, a table of 585-byte descriptors, then the data objects), around a squashfs that mksquashfs
 * makes from a small tree. Nothing is fetched: singularity and apptainer are not in Debian bookworm.
 */

/** sifUnavailable says why SIF tests cannot run here, or undefined when they can. */
export function sifUnavailable(): string | undefined {
  for (const [tool, pkg] of [
    ['mksquashfs', 'squashfs-tools'],
    ['unsquashfs', 'squashfs-tools'],
    ['fakeroot', 'fakeroot'],
  ])
    if (!have(tool)) return `${tool} is not installed (Debian package ${pkg}; make test installs it)`;
  return undefined;
}

/** An entry of a test tree: a file (content, mode), a directory, a symlink, a hard link to an earlier path, or a FIFO. */
export type TreeEntry =
  | { file: string | Buffer; mode?: number; uid?: number; gid?: number; xattrs?: Record<string, string> }
  | { dir: true; mode?: number; uid?: number; gid?: number }
  | { symlink: string }
  | { hardlink: string }
  | { fifo: true };

/** writeTree makes `tree` (path → entry, in order) under `root`, every entry's mtime `mtime`. */
export function writeTree(root: string, tree: Record<string, TreeEntry>, mtime: number): void {
  mkdirSync(root, { recursive: true });
  const dirs: [string, TreeEntry][] = [];
  for (const [path, e] of Object.entries(tree)) {
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    if ('file' in e) {
      writeFileSync(p, e.file);
      if (e.mode !== undefined) chmodSync(p, e.mode);
      if (e.uid !== undefined) chownSync(p, e.uid, e.gid ?? e.uid);
      for (const [k, v] of Object.entries(e.xattrs ?? {})) {
        const r = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', p, k, v]);
        if (r.status !== 0) throw new Error(`setxattr ${k} on ${p}: ${r.stderr}`);
      }
    } else if ('dir' in e) {
      mkdirSync(p, { recursive: true });
      if (e.uid !== undefined) chownSync(p, e.uid, e.gid ?? e.uid);
      dirs.push([p, e]);
    } else if ('symlink' in e) symlinkSync(e.symlink, p);
    else if ('hardlink' in e) linkSync(join(root, e.hardlink), p);
    else if (spawnSync('mkfifo', [p]).status !== 0) throw new Error(`mkfifo ${p}`);
  }
  // Modes last (a 0500 directory could not be written into), then times, deepest first.
  for (const [p, e] of dirs) if (e.mode !== undefined) chmodSync(p, e.mode);
  const all = spawnSync('find', [root, '-depth', '-print0']).stdout.toString().split('\0').filter(Boolean);
  for (const p of all) spawnSync('touch', ['-h', '-d', `@${mtime}`, p]);
  utimesSync(root, mtime, mtime);
}

/** mksquashfs makes a squashfs of the tree at `root` (gzip, ownership and times as they are). */
export function mksquashfs(root: string, out: string): Buffer {
  rmSync(out, { force: true });
  const r = spawnSync('mksquashfs', [root, out, '-noappend', '-quiet', '-no-progress'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mksquashfs: ${r.stderr}${r.stdout}`);
  return readFileSync(out);
}

/** A data object of a SIF file. */
export interface SifObject {
  /** the data type: 0x4001 definition file, 0x4004 partition, … */
  type: number;
  data: Buffer;
  /** a partition's file system type (1 squashfs) and partition type (2 primary system); its arch code */
  fsType?: number;
  partType?: number;
  arch?: string;
  used?: boolean;
}

export interface SifOptions {
  /** the header's architecture code: '02' amd64, '04' arm64, … */
  arch?: string;
  /** the header's UUID, as 32 hex digits */
  uuid?: string;
  created?: number;
  modified?: number;
  /** descriptors in the table (48, as singularity writes) */
  descriptors?: number;
  /** the magic, to write a broken file */
  magic?: string;
  version?: string;
}

const ALIGN = 4096;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** sifBytes lays out a SIF file: header, descriptor table, then each object (partitions aligned to 4 KiB, as sif does). */
export function sifBytes(objects: SifObject[], opts: SifOptions = {}): Buffer {
  const total = opts.descriptors ?? 48;
  const descOffset = ALIGN;
  const dataOffset = align(descOffset + total * 585);
  const table = Buffer.alloc(total * 585);
  const chunks: Buffer[] = [];
  let at = dataOffset;
  const time = opts.modified ?? 1_700_000_000;
  objects.forEach((o, i) => {
    if (o.type === 0x4004) {
      const pad = align(at) - at;
      chunks.push(Buffer.alloc(pad));
      at += pad;
    }
    const d = table.subarray(i * 585, (i + 1) * 585);
    d.writeInt32LE(o.type, 0);
    d[4] = o.used === false ? 0 : 1;
    d.writeUInt32LE(i + 1, 5);
    d.writeUInt32LE(0xf0000001, 9);
    d.writeBigInt64LE(BigInt(at), 17);
    d.writeBigInt64LE(BigInt(o.data.length), 25);
    d.writeBigInt64LE(BigInt(o.data.length), 33);
    d.writeBigInt64LE(BigInt(time), 41);
    d.writeBigInt64LE(BigInt(time), 49);
    if (o.type === 0x4004) {
      d.writeInt32LE(o.fsType ?? 1, 201);
      d.writeInt32LE(o.partType ?? 2, 205);
      d.write(`${o.arch ?? opts.arch ?? '02'}\0`, 209, 'latin1');
    }
    chunks.push(o.data);
    at += o.data.length;
  });
  const h = Buffer.alloc(descOffset);
  h.write('#!/usr/bin/env run-singularity\n', 0, 'latin1');
  h.write(opts.magic ?? 'SIF_MAGIC\0', 32, 'latin1');
  h.write(opts.version ?? '01\0', 42, 'latin1');
  h.write(`${opts.arch ?? '02'}\0`, 45, 'latin1');
  Buffer.from(opts.uuid ?? randomBytes(16).toString('hex'), 'hex').copy(h, 48);
  h.writeBigInt64LE(BigInt(opts.created ?? time), 64);
  h.writeBigInt64LE(BigInt(time), 72);
  h.writeBigInt64LE(BigInt(total - objects.filter((o) => o.used !== false).length), 80);
  h.writeBigInt64LE(BigInt(total), 88);
  h.writeBigInt64LE(BigInt(descOffset), 96);
  h.writeBigInt64LE(BigInt(total * 585), 104);
  h.writeBigInt64LE(BigInt(dataOffset), 112);
  h.writeBigInt64LE(BigInt(at - dataOffset), 120);
  return Buffer.concat([h, table, Buffer.alloc(dataOffset - descOffset - table.length), ...chunks]);
}

/**
 * makeSif writes a SIF file at `path` holding `tree` as its primary system partition (a squashfs),
 * after a definition file when `deffile` is given, as `singularity build` orders them. `work` is a
 * scratch directory.
 */
export function makeSif(path: string, work: string, tree: Record<string, TreeEntry>, opts: SifOptions & { deffile?: string; mtime?: number } = {}): void {
  const root = join(work, `tree-${randomBytes(4).toString('hex')}`);
  writeTree(root, tree, opts.mtime ?? 1_650_000_000);
  const squash = mksquashfs(root, `${root}.sqfs`);
  rmSync(root, { recursive: true, force: true });
  rmSync(`${root}.sqfs`, { force: true });
  const objects: SifObject[] = [];
  if (opts.deffile !== undefined) objects.push({ type: 0x4001, data: Buffer.from(opts.deffile) });
  objects.push({ type: 0x4004, data: squash });
  writeFileSync(path, sifBytes(objects, opts));
}
