import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { ImgError } from '../../errors.js';
import type { SinkOutput } from '../archive/sink.js';
import { connectError, engineError, type EngineClient } from './client.js';

/**
 * openUpload starts POST {path} with a streamed body (an image archive for an engine's load): what
 * is written to the returned output's stream is sent as it is written. commit() ends the body and
 * waits for the engine's answer, which `readAnswer` reads (and fails on); an error answer is
 * `ENGINE refused REFUSED: message`. abort() cuts the connection
 * before the body's end, so an engine that reads the whole body before it loads anything (dockerd,
 * podman) loads nothing. A body refused early (the engine answered with an error, then closed the
 * connection) fails with the engine's reason, not with EPIPE.
 */
export async function openUpload<T>(
  engine: EngineClient,
  path: string,
  names: { refused: string; target: string },
  readAnswer: (res: IncomingMessage) => Promise<T>,
): Promise<SinkOutput & { answer: Promise<T> }> {
  const { req, response } = await engine.post(path, { 'content-type': 'application/x-tar' });
  const answer = response.then(async (res) => {
    if (res.statusCode !== 200) throw await engineError(res, engine.label, names.refused);
    return readAnswer(res);
  });
  answer.catch(() => undefined);
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
      if (!body.destroyed) body.destroy(new ImgError('IO', `loading ${names.target} was given up`));
    },
    answer,
  };
}

/** reason is why the request failed: the engine's answer when it gave one (waited for briefly), else the connection error. */
async function reason(answer: Promise<unknown>, e: Error, engine: EngineClient): Promise<ImgError> {
  const said = await Promise.race([
    answer.then(
      () => undefined,
      (err: unknown) => err,
    ),
    new Promise((r) => setTimeout(() => r(undefined), 2000)),
  ]);
  return said instanceof ImgError ? said : connectError(e, engine.ep, engine.label);
}
