import type { IncomingMessage } from 'node:http';
import { ImgError } from '../../errors.js';
import type { SinkOutput } from '../archive/sink.js';
import { openUpload } from '../engine/upload.js';
import type { Engine } from './engine.js';

/** The load answer is a few JSON lines per image; more than this is not an answer to read. */
const MAX_ANSWER = 4 * 1024 * 1024;

/**
 * openLoad starts POST /images/load (through the shared openUpload, lib/transport/engine/upload.ts):
 * the docker-archive tar written to the returned output's stream is the request body, sent as it is
 * written. commit() ends the body and reads the engine's answer, a stream of JSON messages, failing
 * on the first error message; it resolves with the "Loaded image" lines. abort() cuts the connection
 * before the body's end, so the engine, which unpacks the whole tar before it loads anything, loads nothing.
 */
export async function openLoad(engine: Engine, target: string): Promise<SinkOutput & { loaded: () => string[] }> {
  const loaded: string[] = [];
  const up = await openUpload(engine, '/images/load?quiet=1', { refused: 'the load (POST /images/load)', target }, async (res) => {
    loaded.push(...(await readMessages(res, engine, target)));
  });
  return { ...up, loaded: () => loaded };
}

/** readMessages reads the engine's JSON message stream (one object per line) and throws on an error message. */
async function readMessages(res: IncomingMessage, engine: Engine, target: string): Promise<string[]> {
  let text = '';
  for await (const chunk of res) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_ANSWER)
      throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} answered the load of ${target} with over ${MAX_ANSWER} bytes`);
  }
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let m: { stream?: unknown; status?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
    try {
      m = JSON.parse(line);
    } catch {
      throw new ImgError(
        'HTTP',
        `the Docker engine at ${engine.ep.host} answered the load of ${target} with a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`,
      );
    }
    const error = typeof m.errorDetail?.message === 'string' ? m.errorDetail.message : typeof m.error === 'string' ? m.error : undefined;
    if (error !== undefined)
      throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} refused the image (nothing was loaded): ${error.replace(/\s*\n\s*/g, ' ').trim()}`);
    const said = typeof m.stream === 'string' ? m.stream : typeof m.status === 'string' ? m.status : '';
    if (said.trim() !== '') lines.push(said.trim());
  }
  return lines;
}
