import { posix } from 'node:path';
import { ImgError } from '../../errors.js';

/**
 * A header-only tar reader: scanTar walks the headers of a tar file (ustar, GNU and pax), skipping
 * each entry's data by offset, and returns every entry with the offset and length of its data, so
 * that a manifest or blob is later read as a byte range of the file. tar-stream's extract reads every
 * byte of the archive to find the next header; this reads 512 bytes per entry.
 *
 * Entry names are checked while scanning (see checkedName, checkedLink): an archive with an entry
 * that could escape the archive is refused as a whole, with a message naming the archive and entry.
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'link' | 'other';

export interface TarEntry {
  /** The normalised name: no leading "./", no trailing "/", no "." components. */
  name: string;
  type: EntryType;
  /** Offset of the entry's data in the file. */
  offset: number;
  /** Length of the entry's data (0 for links and directories). */
  size: number;
  /** For a link: the normalised name of the entry it points to (symlinks resolved against their directory). */
  target?: string;
}

/** Reads `length` bytes at `position`; fewer at end of file. */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

const BLOCK = 512;
/** pax and GNU long-name records are metadata: refuse absurd ones rather than reading them into memory. */
const MAX_META = 1024 * 1024;
const MAX_ENTRIES = 1_000_000;

/** scanTar lists the entries of the tar file of `fileSize` bytes that `read` reads; `archive` names it in errors. */
export async function scanTar(read: ReadAt, fileSize: number, archive: string): Promise<TarEntry[]> {
  const bad = (code: 'MANIFEST_INVALID' | 'IO', why: string) => new ImgError(code, `archive ${archive}: ${why}`);
  const entries: TarEntry[] = [];
  const seen = new Map<string, EntryType>();
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (pos === fileSize) break; // no end-of-archive blocks: accepted, as Go's archive/tar and GNU tar do
    const h = await read(pos, BLOCK);
    if (h.length < BLOCK) throw bad('IO', `truncated: the file ends inside the tar header at offset ${pos}`);
    if (h.every((b) => b === 0)) break; // end of archive
    if (!checksumOk(h)) {
      throw bad(
        'MANIFEST_INVALID',
        pos === 0 ? 'is not a tar archive (bad header checksum at offset 0)' : `corrupt tar header at offset ${pos} (bad checksum)`,
      );
    }
    const flag = String.fromCharCode(h[156]!);
    const size = pax.size !== undefined ? Number(pax.size) : parseNumeric(h.subarray(124, 136));
    if (!Number.isSafeInteger(size) || size < 0) throw bad('MANIFEST_INVALID', `corrupt tar header at offset ${pos} (invalid size)`);
    const dataStart = pos + BLOCK;
    const dataEnd = dataStart + size;
    const rawName = headerName(h);
    const shown = longName ?? pax.path ?? rawName;
    if (dataEnd > fileSize) {
      throw bad('IO', `truncated: entry ${JSON.stringify(shown)} needs ${size} bytes at offset ${dataStart}, the file has ${fileSize} bytes`);
    }
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    // Metadata entries that describe the next entry.
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw bad('MANIFEST_INVALID', `tar metadata entry at offset ${dataStart - BLOCK} is ${size} bytes, over the ${MAX_META}-byte limit`);
      const data = await read(dataStart, size);
      if (flag === 'x') pax = { ...pax, ...parsePax(data, archive) };
      else if (flag === 'L') longName = cString(data);
      else if (flag === 'K') longLink = cString(data);
      // 'g' (global pax) sets defaults for later entries; none of the keys imgpipe reads are honoured from it.
      continue;
    }
    if (flag === 'S') throw bad('MANIFEST_INVALID', `entry ${JSON.stringify(shown)} is a GNU sparse file, which imgpipe does not read`);
    const name = checkedName(shown, archive);
    const type: EntryType =
      flag === '0' || flag === '\0' || flag === '7'
        ? rawName.endsWith('/') && flag === '\0'
          ? 'dir'
          : 'file'
        : flag === '5'
          ? 'dir'
          : flag === '2'
            ? 'symlink'
            : flag === '1'
              ? 'link'
              : 'other';
    const linkRaw = longLink ?? pax.linkpath ?? cString(h.subarray(157, 257));
    pax = {};
    longName = undefined;
    longLink = undefined;
    if (name === '') continue; // "./": the archive root
    const prev = seen.get(name);
    if (prev !== undefined && !(prev === 'dir' && type === 'dir')) {
      throw bad('MANIFEST_INVALID', `entry ${JSON.stringify(name)} appears more than once`);
    }
    seen.set(name, type);
    const e: TarEntry = { name, type, offset: dataStart, size: type === 'file' ? size : 0 };
    if (type === 'symlink' || type === 'link') e.target = checkedLink(name, linkRaw, type, archive);
    entries.push(e);
    if (entries.length > MAX_ENTRIES) throw bad('MANIFEST_INVALID', `more than ${MAX_ENTRIES} entries`);
  }
  return entries;
}

/**
 * checkedName normalises an entry name ("./a//b/" → "a/b") and refuses an absolute name or one with
 * a ".." component: such an entry names something outside the archive.
 */
export function checkedName(raw: string, archive: string): string {
  if (raw.includes('\0')) throw new ImgError('MANIFEST_INVALID', `archive ${archive}: entry ${JSON.stringify(raw)} has a NUL byte in its name`);
  if (raw.startsWith('/')) throw new ImgError('MANIFEST_INVALID', `archive ${archive}: entry ${JSON.stringify(raw)} has an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ImgError('MANIFEST_INVALID', `archive ${archive}: entry ${JSON.stringify(raw)} has a ".." component`);
  return parts.join('/');
}

/**
 * checkedLink is the archive-relative name a link entry points to: a hard link's target is relative
 * to the archive root, a symlink's to the directory holding it. A target that leaves the archive
 * (absolute, or climbing above the root) is refused.
 */
function checkedLink(name: string, target: string, type: 'symlink' | 'link', archive: string): string {
  const bad = () =>
    new ImgError(
      'MANIFEST_INVALID',
      `archive ${archive}: ${type === 'symlink' ? 'symlink' : 'hard link'} ${JSON.stringify(name)} points outside the archive (to ${JSON.stringify(target)})`,
    );
  if (target === '' || target.startsWith('/') || target.includes('\0')) throw bad();
  const joined = type === 'symlink' ? posix.join(posix.dirname(name), target) : posix.normalize(target);
  if (joined === '..' || joined.startsWith('../') || joined.startsWith('/')) throw bad();
  return checkedName(joined, archive);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** headerName joins the ustar prefix (POSIX ustar only: GNU uses those bytes for times) and name. */
function headerName(h: Buffer): string {
  const name = cString(h.subarray(0, 100));
  const posixUstar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
  const prefix = posixUstar ? cString(h.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end === -1 ? b.length : end).toString('utf8');
}

function parseOctal(b: Buffer): number {
  const s = b.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

/** parseNumeric reads an octal field, or GNU base-256 when the high bit of the first byte is set. */
function parseNumeric(b: Buffer): number {
  if ((b[0]! & 0x80) === 0) return parseOctal(b);
  if (b[0] === 0xff) return NaN; // negative
  let n = b[0]! & 0x7f;
  for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!;
  return n;
}

/** parsePax reads "LEN key=value\n" records. */
function parsePax(data: Buffer, archive: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number(data.subarray(i, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) {
      throw new ImgError('MANIFEST_INVALID', `archive ${archive}: malformed pax header record`);
    }
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}
