import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { ImgError } from '../../errors.js';
import type { SinkOutput } from '../archive/sink.js';
import { connectError, engineError, type Engine } from './engine.js';

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
    if (res.statusCode !== 200) throw await engineError(res, engine.ep, 'the load (POST /images/load)');
    loaded.push(...(await readMessages(res, engine, target)));
  });
  answer.catch(() => undefined);
  // The body goes through a stream of our own, so that a write refused because the engine answered
  // early (an error, then a closed connection: EPIPE) fails with the engine's reason.
  const body = new Writable({
    write(chunk, _enc, cb) {
      if (req.write(chunk)) cb();
      else req.once('drain', () => cb());
    },
    final(cb) {
      req.end(() => cb());
    },
    // Destroyed after final() too (autoDestroy): only an error cuts the request.
    destroy(err, cb) {
      if (err && !req.destroyed) req.destroy(err);
      cb(err);
    },
  });
  req.on('error', (e) => {
    void reason(answer, e, engine).then((why) => body.destroy(why));
  });
  // An engine that answers with an error before the body is sent refuses it: stop sending, with its reason.
  answer.catch((e) => {
    if (!body.writableFinished) body.destroy(e);
  });
  return {
    stream: body,
    commit: async () => {
      await new Promise<void>((res, rej) => {
        body.end(() => res());
        body.once('error', rej);
      });
      await answer;
    },
    abort: async () => {
      if (!body.destroyed) body.destroy(new ImgError('IO', `loading ${target} was given up`));
    },
    loaded: () => loaded,
  };
}

/** reason is why the request failed: the engine's answer when it gave one (waited for briefly), else the connection error. */
async function reason(answer: Promise<void>, e: Error, engine: Engine): Promise<ImgError> {
  const said = await Promise.race([answer.then(() => undefined, (err: unknown) => err), new Promise((r) => setTimeout(() => r(undefined), 2000))]);
  return said instanceof ImgError ? said : connectError(e, engine.ep);
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
    if (error !== undefined) throw new ImgError('HTTP', `the Docker engine at ${engine.ep.host} refused the image (nothing was loaded): ${error.replace(/\s*\n\s*/g, ' ').trim()}`);
    const said = typeof m.stream === 'string' ? m.stream : typeof m.status === 'string' ? m.status : '';
    if (said.trim() !== '') lines.push(said.trim());
  }
  return lines;
}
