import { spawn } from 'node:child_process';

/**
 * onTerminal runs `file args` with a real terminal (a pty made by util-linux's `script`) as its
 * stdin and stdout, as a user at a terminal runs it: each answer is typed once its prompt has
 * shown (not before, so nothing typed is echoed by the terminal while a program asks for a secret).
 * Gives the exit status and everything the terminal showed, with its CRs taken out.
 */
export function onTerminal(
  file: string,
  args: string[],
  answers: Array<[prompt: RegExp, typed: string]>,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<{ status: number; screen: string }> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [file, ...args].map(q).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let seen = 0;
    const pending = [...answers];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`onTerminal: ${file} did not finish; the screen so far:\n${screen}`));
    }, timeoutMs);
    const answer = () => {
      const next = pending[0];
      if (!next) return;
      const m = next[0].exec(screen.slice(seen));
      if (!m) return;
      seen += m.index + m[0].length;
      pending.shift();
      child.stdin.write(next[1]);
      answer();
    };
    const shown = (b: Buffer) => {
      screen += b.toString('utf8').replace(/\r/g, '');
      answer();
    };
    child.stdout.on('data', shown);
    child.stderr.on('data', shown);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, screen });
    });
  });
}
