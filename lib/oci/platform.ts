import { ImgError } from '../errors.js';
import type { Platform } from './manifest.js';

/** parsePlatform reads "os/arch[/variant]" as --platform takes it. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new ImgError('USAGE', `invalid platform ${JSON.stringify(s)}: expected OS/ARCH[/VARIANT], e.g. linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** formatPlatform writes a platform as "os/arch[/variant]". */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
