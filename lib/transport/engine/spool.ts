import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ImgError, toImgError } from '../../errors.js';
import { forgetAtExit, removeAtExit, tempPathIn } from '../../util/fs.js';
import { connectError, type EngineClient } from './client.js';

/**
 * spooled gives the path of a temp file holding an engine's image archive (a docker save, a podman
 * save): a tar stream gives its index last and blobs are asked for in any order, so it is read in
 * place afterwards. `open` asks the engine for the archive; its answer is written to os.tmpdir(), and
 * the file is removed at exit (also on SIGINT, SIGTERM, SIGHUP); a failed spool removes it at once.
 *
 * In the stages of one pipeline run by img-copy or img-sync (IMGPIPE_SPOOL_DIR, lib/cli/pipeline.ts)
 * the archive is kept in that shared directory under a name made of `key` (the engine and the image
 * ID), and a later stage reading the same image reads that copy instead of asking again.
 */
export async function spooled(engine: EngineClient, key: string, hint: string, what: string, open: () => Promise<IncomingMessage>): Promise<string> {
  const shared = process.env.IMGPIPE_SPOOL_DIR;
  const kept = shared ? join(shared, `${hint}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}.tar`) : undefined;
  if (kept !== undefined && (await fsp.stat(kept).catch(() => undefined))?.isFile()) return kept;
  const dir = shared ?? tmpdir();
  const res = await open();
  let path = tempPathIn(dir, `${hint}.tar`);
  removeAtExit(path);
  try {
    await pipeline(res, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    rmSync(path, { force: true });
    forgetAtExit(path);
    const sys = (e as NodeJS.ErrnoException).syscall;
    // A failed write (ENOSPC) is the temp file's; anything else is the engine's connection.
    throw sys === 'write' || sys === 'open'
      ? new ImgError('IO', `spooling ${what} from ${engine.label.at} into ${dir}: ${toImgError(e).message}`)
      : connectError(e, engine.ep, engine.label);
  }
  if (kept !== undefined) {
    // Complete: under its name for the stages after this one (the pipeline removes the directory).
    await fsp.rename(path, kept);
    forgetAtExit(path);
    path = kept;
  }
  return path;
}
