import { createHash } from 'node:crypto';
import { ImgError } from '../errors.js';

/** Digest algorithms imgpipe can verify, with the length of their lowercase hex encoding. */
const ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };
/** The OCI digest grammar: algorithm ":" encoded. */
const DIGEST_SHAPE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type Algorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: Algorithm;
  hex: string;
}

/**
 * parseDigest validates a digest against its algorithm's grammar (sha256: 64, sha512: 128 lowercase
 * hex). It MUST be called before a digest is used in a path or URL. `what` names the input in errors.
 */
export function parseDigest(digest: string, what = 'digest'): ParsedDigest {
  if (typeof digest !== 'string' || !DIGEST_SHAPE.test(digest)) {
    throw new ImgError('DIGEST_INVALID', `invalid ${what} ${JSON.stringify(digest)}: expected ALGORITHM:HEX, e.g. sha256:<64 hex digits>`);
  }
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const len = ALGORITHMS[algorithm];
  if (len === undefined) {
    throw new ImgError('DIGEST_INVALID', `invalid ${what} ${JSON.stringify(digest)}: unsupported algorithm "${algorithm}" (sha256 and sha512 are supported)`);
  }
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex)) {
    throw new ImgError('DIGEST_INVALID', `invalid ${what} ${JSON.stringify(digest)}: ${algorithm} needs exactly ${len} lowercase hex digits`);
  }
  return { algorithm: algorithm as Algorithm, hex };
}

/** isDigest says whether s is a valid, supported digest. */
export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** digestOf computes the digest of bytes held in memory (manifests, configs: never whole blobs). */
export function digestOf(bytes: Uint8Array, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
