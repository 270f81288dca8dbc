/**
 * How imgpipe words a stage's failure as skopeo does: skopeo's leading words, the registry error
 * code's text where skopeo shows it, and imgpipe's own detail after them.
 */
import { ImgError, toImgError } from '../../errors.js';

/** StageError is what a stage said went wrong: an error record's `error`, or a thrown error's code and message. */
export interface StageError {
  code: string;
  message: string;
  stage?: string;
}

/** The text a registry's error code has in skopeo's messages (docker/distribution's errcode messages). */
const CODE_TEXT: Record<string, string> = {
  MANIFEST_UNKNOWN: 'manifest unknown',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  NAME_UNKNOWN: 'repository name not known to registry',
};

const NO_INSTANCE = /no image in the index for ([^/\s]+)\/([^/\s]+)(?:\/(\S+))?/;
const POLICY = /^source image \S+ rejected by .+? \([^)]*\): (.*)$/;

/** asStageError takes a thrown error as a StageError. */
export function asStageError(err: unknown): StageError {
  const e = toImgError(err);
  return { code: e.code, message: e.message.replace(/\s*\n\s*/g, ' ') };
}

/** choosingInstance is skopeo's message for an index without the wanted platform, or undefined. */
export function choosingInstance(e: StageError): string | undefined {
  const m = NO_INSTANCE.exec(e.message);
  if (!m) return undefined;
  return `choosing image instance: no image found in manifest list for architecture ${JSON.stringify(m[2])}, variant ${JSON.stringify(m[3] ?? '')}, OS ${JSON.stringify(m[1])}`;
}

/** reason is the error's message with the registry code's text skopeo would show in front, unless it holds it already. */
export function reason(e: StageError): string {
  const words = CODE_TEXT[e.code];
  // gpg's words for a wrong passphrase, as skopeo passes them on.
  const message = e.message.replace(/\bbad passphrase\b/, 'Bad passphrase');
  // a store's missing image is not a registry's "manifest unknown"
  if (message.includes('does not resolve to an image ID')) return message;
  return words === undefined || message.includes(words) ? message : `${words}: ${message}`;
}

/** policyReason is skopeo's "Source image rejected: …" for a policy refusal, or undefined. */
export function policyReason(e: StageError): string | undefined {
  if (e.code !== 'POLICY_DENIED') return undefined;
  const m = POLICY.exec(e.message);
  let why = m ? m[1]! : e.message;
  why = why.replace(/^invalid signature: /, 'Invalid GPG signature: ').replace(/^(running image .* is rejected by policy)$/, '$1.');
  return `Source image rejected: ${why.charAt(0).toUpperCase()}${why.slice(1)}`;
}

/** isNotFound says whether skopeo exits 2 for this error: the image is not there (not an index without the platform). */
export function isNotFound(e: StageError): boolean {
  // A dir: image without its manifest.json, or an oci: layout without the manifest blob its
  // index.json names (in blobs/ or a shared blob directory), is a file that is not there, as for skopeo.
  return (
    e.code === 'MANIFEST_UNKNOWN' &&
    choosingInstance(e) === undefined &&
    !/no manifest at .*(?:manifest\.json|\/sha(?:256|512)\/[0-9a-f]+)(?: \(|$)/.test(e.message)
  );
}

/** SkopeoError is a failure worded as skopeo words it, with skopeo's exit status. */
export class SkopeoError extends ImgError {
  readonly exitStatus: number;
  /** showUsage: skopeo prints the subcommand's help on stderr before the message (its errorShouldDisplayUsage). */
  readonly showUsage: boolean;
  constructor(message: string, exitStatus = 1, showUsage = false) {
    super('IO', message);
    this.exitStatus = exitStatus;
    this.showUsage = showUsage;
  }
}

/** imageError is a SkopeoError for a failure with an image: `lead` (skopeo's words) and the reason; exit 2 when the image is not there. */
export function imageError(lead: string, e: StageError): SkopeoError {
  const policy = policyReason(e);
  if (policy !== undefined) return new SkopeoError(policy);
  return new SkopeoError(`${lead}${reason(e)}`, isNotFound(e) ? 2 : 1);
}
