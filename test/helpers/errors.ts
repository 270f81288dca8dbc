import { expect } from 'vitest';
import { ImgError } from '../../lib/errors.js';

/** caught runs fn and returns what it threw, failing the test if it did not throw an ImgError. */
export function caught(fn: () => unknown): ImgError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImgError);
    return e as ImgError;
  }
  throw new Error('expected an ImgError, nothing was thrown');
}
