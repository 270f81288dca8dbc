import { ImgError } from '../errors.js';
import { hostPlatform } from '../image/inspect.js';
import { formatPlatform } from '../oci/platform.js';
import { OVERRIDE_FLAGS } from './command-flags.js';
import { formatDockerRef, parseDockerRef, type DockerRef } from '../ref/index.js';

/** parseSize reads a non-negative byte count given for `flag`. */
export function parseSize(v: unknown, flag: string): number {
  const s = String(v);
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new ImgError('USAGE', `invalid ${flag} ${JSON.stringify(s)}: expected a number of bytes`);
  return Number(s);
}

/** parseJobs reads --jobs N: a positive number (0 would copy nothing, so it is refused rather than taken as 1). */
export function parseJobs(v: unknown, flag = '--jobs'): number {
  const s = String(v);
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) < 1)
    throw new ImgError('USAGE', `invalid ${flag} ${JSON.stringify(s)}: a positive number`);
  return Number(s);
}

export type ProgressMode = 'tty' | 'ndjson' | 'none';

/** parseProgress reads --progress and --quiet: tty (bars when stderr is a terminal; also "bars"), ndjson or none. */
export function parseProgress(flag: unknown, quiet: boolean): ProgressMode {
  const mode = flag === undefined ? undefined : String(flag) === 'bars' ? 'tty' : String(flag);
  if (mode !== undefined && !['tty', 'ndjson', 'none'].includes(mode))
    throw new ImgError('USAGE', `invalid --progress ${JSON.stringify(mode)}: tty, ndjson or none`);
  if (quiet && mode !== undefined && mode !== 'none') throw new ImgError('USAGE', `--quiet and --progress=${mode} contradict each other`);
  return quiet ? 'none' : ((mode ?? 'tty') as ProgressMode);
}

export type MultiArchMode = 'system' | 'all' | 'index-only';

/** parseMultiArch reads --multi-arch (with --all, which is --multi-arch all): system, all, index-only or not given. */
export function parseMultiArch(v: unknown, all = false): MultiArchMode | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (s !== 'system' && s !== 'all' && s !== 'index-only') throw new ImgError('USAGE', `invalid --multi-arch ${JSON.stringify(s)}: system, all or index-only`);
  if (all && s !== 'all') throw new ImgError('USAGE', `--all and --multi-arch ${s} exclude each other`);
  return s;
}

/** overridePlatform is the platform --override-os, --override-arch and --override-variant pick, as skopeo: the rest from this machine. */
export function overridePlatform(flags: Record<string, unknown>): string {
  const host = hostPlatform();
  const os = flags['override-os'] ?? host.os;
  const arch = flags['override-arch'] ?? host.architecture;
  const variant = flags['override-variant'] ?? (flags['override-arch'] === undefined ? host.variant : undefined);
  return formatPlatform({ os: String(os), architecture: String(arch), ...(variant ? { variant: String(variant) } : {}) });
}

/**
 * overridden is the platform (OS/ARCH[/VARIANT]) the --override-* flags pick, or undefined when none
 * is given. They choose the image of an index that is taken alone, as containers/image's
 * ArchitectureChoice and the rest: with --all, --multi-arch all or index-only nothing is chosen and
 * they change nothing (skopeo copy --all copies every image whatever they say). They and --platform
 * both name the image to pick: given together, a usage error.
 */
export function overridden(flags: Record<string, unknown>): string | undefined {
  const given = OVERRIDE_FLAGS.find((f) => flags[f] !== undefined);
  if (given === undefined) return undefined;
  if (([] as unknown[]).concat(flags.platform ?? []).length > 0)
    throw new ImgError('USAGE', `--platform and --${given} exclude each other: both name the image of an index to take`);
  const every = flags.all === true || flags['multi-arch'] === 'all' || flags['multi-arch'] === 'index-only';
  return every ? undefined : overridePlatform(flags);
}

/**
 * checkCopyFlags refuses the values img-copy and img-sync hand on to their stages before any stage
 * starts, so that a bad one is one usage error of the command rather than a stage's; and
 * --digestfile with --dry-run, which copies nothing and so has no digest to write.
 */
export function checkCopyFlags(flags: Record<string, unknown>): void {
  if (flags.format !== undefined && !['oci', 'v2s2'].includes(String(flags.format)))
    throw new ImgError('USAGE', `invalid --format ${JSON.stringify(String(flags.format))}: oci or v2s2`);
  parseMultiArch(flags['multi-arch'], flags.all === true);
  if (flags.jobs !== undefined) parseJobs(flags.jobs);
  parseProgress(flags.progress, false);
  if (flags.digestfile !== undefined && flags['dry-run'] === true)
    throw new ImgError('USAGE', '--digestfile and --dry-run exclude each other: a dry run copies nothing, so there is no digest to write');
}

/**
 * parseAdditionalTags reads --additional-tag values (repeated, or comma-separated as skopeo's string
 * slice) as skopeo copy does: each a docker reference with a tag, normalised (busybox:mine is
 * docker.io/library/busybox:mine), in skopeo's words when it is not. A digest is refused: a
 * docker-archive name cannot hold one (skopeo drops it silently).
 */
export function parseAdditionalTags(v: unknown): string[] {
  const values = ([] as unknown[])
    .concat(v ?? [])
    .flatMap((x) => String(x).split(','))
    .filter((s) => s !== '');
  return values.map((s) => {
    let d: DockerRef;
    try {
      d = parseDockerRef(s);
    } catch (e) {
      throw new ImgError('USAGE', `error parsing additional-tag '${s}': ${(e as Error).message}`);
    }
    if (d.tag === undefined) throw new ImgError('USAGE', `additional-tag '${s}' must be a tagged reference`);
    if (d.digest !== undefined) throw new ImgError('USAGE', `additional-tag '${s}' holds a digest: a docker-archive name is NAME:TAG`);
    return formatDockerRef(d);
  });
}
