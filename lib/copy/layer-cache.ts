import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Compression } from '../oci/compression.js';
import type { LayerUpdate } from '../image/layers.js';

/**
 * LayerCache remembers what a layer became when img-blob-put (re)compressed it: source digest and
 * compression (with its level) → the digest and size stored. A re-run looks the stored blob up at
 * the destination by it instead of compressing the layer again, as containers/image's blob-info
 * cache lets skopeo do. It is a file of JSON lines, appended to (one short line per write, so
 * processes running at once do not tear each other's lines), in $IMGPIPE_CACHE_DIR, else
 * $XDG_CACHE_HOME/imgpipe, else ~/.cache/imgpipe. An entry is only a hint: the destination must have
 * a blob of that digest and size (a registry checked both when it took it), else the layer is
 * compressed again. A cache that cannot be read or written is no cache.
 */

/** Past this size the file is started afresh (the old one kept as .old, once). */
const MAX_FILE = 8 * 1024 * 1024;
const FILE = 'layer-compression.jsonl';

/** cacheDir is where the cache lives. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IMGPIPE_CACHE_DIR) return env.IMGPIPE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'imgpipe');
  return join(homedir(), '.cache', 'imgpipe');
}

/** compressionKey names a compression with its level: gzip-6, zstd-3, none. */
export function compressionKey(c: Compression, level?: number): string {
  return c === 'none' ? c : `${c}-${level ?? 'default'}`;
}

export class LayerCache {
  private entries?: Map<string, LayerUpdate>;
  private readonly file: string;

  constructor(private readonly dir = cacheDir()) {
    this.file = join(dir, FILE);
  }

  private load(): Map<string, LayerUpdate> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return this.entries;
    }
    for (const line of text.split('\n')) {
      try {
        const e = JSON.parse(line) as { from?: unknown; to?: unknown; digest?: unknown; size?: unknown; compression?: unknown };
        if (typeof e.from !== 'string' || typeof e.to !== 'string' || typeof e.digest !== 'string' || !Number.isSafeInteger(e.size)) continue;
        if (!['none', 'gzip', 'zstd'].includes(e.compression as string) || !/^sha256:[a-f0-9]{64}$/.test(e.digest)) continue;
        this.entries.set(`${e.from}|${e.to}`, { digest: e.digest, size: e.size as number, compression: e.compression as Compression });
      } catch {
        // A torn or foreign line is skipped.
      }
    }
    return this.entries;
  }

  /** get is what the layer `from` became with compression `to` (compressionKey), if known. */
  get(from: string, to: string): LayerUpdate | undefined {
    return this.load().get(`${from}|${to}`);
  }

  /** put remembers what the layer `from` became with compression `to`. */
  put(from: string, to: string, u: LayerUpdate): void {
    this.load().set(`${from}|${to}`, u);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const size = statSync(this.file, { throwIfNoEntry: false })?.size ?? 0;
      if (size > MAX_FILE) renameSync(this.file, `${this.file}.old`);
      appendFileSync(this.file, `${JSON.stringify({ from, to, digest: u.digest, size: u.size, compression: u.compression })}\n`, { mode: 0o600 });
    } catch {
      // No cache: the next run compresses again.
    }
  }
}
