import type { IncomingMessage } from 'node:http';
import { ImgError } from '../../errors.js';
import type { SinkOutput } from '../archive/sink.js';
import { engineError, type Engine } from './engine.js';

/** The load answer is a few JSON lines per image; more than this is not an answer to read. */
const MAX_ANSWER = 4 * 1024 * 1024;

/**
 * openLoad starts POST /images/load: the docker-archive tar written to the returned output's stream
 * is the request body, sent as it is written. commit() ends the body and reads the engine's answer,
 * a stream of JSON messages, failing on the first error message; it resolves with the "Loaded image"
 * lines. abort() cuts the connection before the body's end, so the engine, which unpacks the whole
 * tar before it loads anything, loads nothing.
 */
export async function openLoad(engine: Engine, target: string): Promise<SinkOutput & { loaded: () => string[] }> {
  const { req, response } = await engine.post('/images/load?quiet=1', { 'content-type': 'application/x-tar' });
  const loaded: string[] = [];
  const answer = response.then(async (res) => {
    if (res.statusCode !== 200) throw await engineError(res, engine.ep, `loading ${target} (POST /images/load)`);
    loaded.push(...(await readMessages(res, engine, target)));
  });
  // An engine that answers with an error before the body is sent refuses it: stop sending, with its reason.
  answer.catch((e) => {
    if (!req.writableEnded) req.destroy(e);
  });
  return {
    stream: req,
    commit: async () => {
      await new Promise<void>((res) => req.end(() => res()));
      await answer;
    },
    abort: async () => {
      if (!req.destroyed) req.destroy(new ImgError('IO', `loading ${target} was given up`));
    },
    loaded: () => loaded,
  };
}

/** readMessages reads the engine's JSON message stream (one object per line) and throws on an error message. */
async function readMessages(res: IncomingMessage, engine: Engine, target: string): Promise<string[]> {
  let text = '';
  for await (const chunk of res) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_ANSWER) throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} answered the load of ${target} with over ${MAX_ANSWER} bytes`);
  }
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let m: { stream?: unknown; status?: unknown; error?: unknown; errorDetail?: { message?: unknown } };
    try {
      m = JSON.parse(line);
    } catch {
      throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} answered the load of ${target} with a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
    }
    const error = typeof m.errorDetail?.message === 'string' ? m.errorDetail.message : typeof m.error === 'string' ? m.error : undefined;
    if (error !== undefined) throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} could not load the image, which was not loaded: ${error.replace(/\s*\n\s*/g, ' ').trim()}`);
    const said = typeof m.stream === 'string' ? m.stream : typeof m.status === 'string' ? m.status : '';
    if (said.trim() !== '') lines.push(said.trim());
  }
  return lines;
}
