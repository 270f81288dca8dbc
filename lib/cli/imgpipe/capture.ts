/**
 * capture runs img-* stage code in this process and keeps what it writes to stderr for imgpipe to
 * say as skopeo does: the stages' own lines ("img-manifest get: …") and --progress=ndjson events.
 */

/** Captured: the stages' lines ("img-X: message", prefix removed) and their JSON events, in order. */
export interface Captured {
  lines: { command: string; message: string }[];
  events: Record<string, unknown>[];
}

const STAGE_LINE = /^(img-[a-z-]+(?: [a-z]+)?): (.*)$/;

/**
 * capture runs `fn` with process.stderr's writes split into lines: a stage's line or a JSON event
 * is kept in `captured` (and `onEvent` sees each event as it comes); anything else (debug lines,
 * gpg's prompts) goes to stderr as it came. Returns fn's result and what was kept.
 */
export async function capture<T>(
  fn: () => Promise<T>,
  onEvent?: (e: Record<string, unknown>) => void,
  captured: Captured = { lines: [], events: [] },
): Promise<{ result: T; captured: Captured }> {
  const stderr = process.stderr;
  const write = stderr.write;
  let partial = '';
  const take = (line: string): boolean => {
    if (line.startsWith('{')) {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        // a blob's progress events are many and tell nothing the lines need
        if (e.event !== 'progress') captured.events.push(e);
        onEvent?.(e);
        return true;
      } catch {
        return false;
      }
    }
    const m = STAGE_LINE.exec(line);
    if (!m) return false;
    captured.lines.push({ command: m[1]!, message: m[2]! });
    return true;
  };
  stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const parts = text.split('\n');
    partial = parts.pop()!;
    const passed = parts.filter((l) => !take(l));
    if (passed.length > 0) return write.call(stderr, `${passed.join('\n')}\n`, ...(rest as []));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof stderr.write;
  try {
    const result = await fn();
    return { result, captured };
  } finally {
    stderr.write = write;
    if (partial !== '' && !take(partial)) write.call(stderr, partial);
  }
}
