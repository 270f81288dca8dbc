import { ImgError } from '../errors.js';

/** parseSize reads a non-negative byte count given for `flag`. */
export function parseSize(v: unknown, flag: string): number {
  const s = String(v);
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new ImgError('USAGE', `invalid ${flag} ${JSON.stringify(s)}: expected a number of bytes`);
  return Number(s);
}
