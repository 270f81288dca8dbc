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

/** readSecret asks on the terminal (stderr) and reads one line from it, without echo when `hidden`. */
export async function readSecret(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY)
    throw new ImgError('USAGE', `${question.replace(/:\s*$/, '').toLowerCase()} not given and stdin is not a terminal (use -u, -p or --password-stdin)`);
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let line = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer) => {
        for (const ch of b.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            resolve();
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new ImgError('USAGE', 'interrupted'));
            return;
          }
          if (ch === '\u007f') line = line.slice(0, -1);
          else line += ch;
          if (!hidden) process.stderr.write(ch);
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
  return line;
}
