/**
 * ImgError is the one error type of imgpipe: a stable `code`, the reference it concerns and the
 * HTTP status where there is one. Messages are one line, name the input and never hold secrets.
 */
export type ErrorCode =
  | 'USAGE'
  | 'REF_INVALID'
  | 'DIGEST_INVALID'
  | 'RECORD_INVALID'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNSUPPORTED'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  | 'NOT_IMAGE_DIR'
  | 'NAME_AMBIGUOUS'
  | 'UNSUPPORTED'
  | 'LOCKED'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NAME_UNKNOWN'
  | 'UNREACHABLE'
  | 'TLS'
  | 'TIMEOUT'
  | 'HTTP'
  | 'POLICY_DENIED'
  | 'SIGNATURE_INVALID'
  | 'IO';

export class ImgError extends Error {
  readonly code: ErrorCode;
  readonly ref?: string;
  readonly status?: number;
  constructor(code: ErrorCode, message: string, opts: { ref?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ImgError';
    this.code = code;
    if (opts.ref !== undefined) this.ref = opts.ref;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** isUsageCode says whether a code means the user's input was wrong (exit status 2). */
export function isUsageCode(code: string): boolean {
  return code === 'USAGE' || code === 'REF_INVALID' || code === 'DIGEST_INVALID';
}

/** wrap prefixes an error's message with what was being done ("fetching manifest REF"), keeping its code. */
export function wrap(err: unknown, doing: string, ref?: string): ImgError {
  const e = toImgError(err);
  const out = new ImgError(e.code, `${doing}: ${e.message}`, { ref: e.ref ?? ref, status: e.status, cause: err });
  return out;
}

/** wrapping is `p` with its error wrapped as `wrap` does it: `await wrapping(readFile(f), 'reading the key file')`. */
export function wrapping<T>(p: Promise<T>, doing: string, ref?: string): Promise<T> {
  return p.catch((e: unknown) => Promise.reject(wrap(e, doing, ref)));
}

/** toImgError turns anything thrown into an ImgError; node system errors keep their path in the message. */
export function toImgError(err: unknown): ImgError {
  if (err instanceof ImgError) return err;
  if (err instanceof Error) {
    const sys = err as NodeJS.ErrnoException;
    if (typeof sys.code === 'string' && sys.syscall) {
      const where = sys.path ? ` ${sys.path}` : '';
      return new ImgError('IO', `${sys.syscall}${where}: ${describeErrno(sys.code)}`, { cause: err });
    }
    return new ImgError('IO', err.message.split('\n')[0] ?? String(err), { cause: err });
  }
  return new ImgError('IO', String(err));
}

function describeErrno(code: string): string {
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EEXIST: 'already exists',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
    ENOSPC: 'no space left on device',
    EROFS: 'read-only file system',
    EPIPE: 'broken pipe',
  };
  return known[code] ?? code;
}
