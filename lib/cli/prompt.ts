import { ImgError } from '../errors.js';

/** readStdin reads all of stdin as text (for --password-stdin); capped at 64 KiB. */
export async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > 65536) throw new ImgError('USAGE', 'stdin holds more than 64 KiB: not a password');
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** What was typed after the end of the line a question read (answers typed ahead), for the next question. */
let typed = '';

/**
 * readSecret asks `question` on `out` (stderr; imgpipe asks on stdout, as skopeo) and reads one
 * line from the terminal, without echo when `hidden`.
 */
export async function readSecret(question: string, hidden: boolean, out: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!process.stdin.isTTY) {
    const what = question
      .replace(/\s*\(.*\)/, '')
      .replace(/:\s*$/, '')
      .toLowerCase();
    throw new ImgError('USAGE', `${what} not given and stdin is not a terminal (use -u, -p or --password-stdin)`);
  }
  const stdin = process.stdin;
  // Raw (no echo) before the question is out: an answer typed as soon as it shows is not echoed.
  stdin.setRawMode(true);
  out.write(question);
  let line = '';
  /** take reads typed characters into `line`; true at the end of the line, the rest kept for the next question. */
  const take = (text: string): boolean => {
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === '\r' || ch === '\n') {
        // a CR LF is one end of line
        typed = chars.slice(ch === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1).join('');
        return true;
      }
      if (ch === '\u0003') throw new ImgError('USAGE', 'interrupted');
      if (ch === '\u007f') line = line.slice(0, -1);
      else line += ch;
      if (!hidden) out.write(ch);
    }
    typed = '';
    return false;
  };
  try {
    const early = typed;
    typed = '';
    if (!take(early)) {
      stdin.resume();
      await new Promise<void>((resolve, reject) => {
        const onData = (b: Buffer) => {
          try {
            if (!take(b.toString('utf8'))) return;
            resolve();
          } catch (e) {
            reject(e);
          }
          stdin.off('data', onData);
        };
        stdin.on('data', onData);
      });
    }
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    out.write('\n');
  }
  return line;
}
