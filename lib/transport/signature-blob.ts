/**
 * The stored form of a signature of either kind, as containers/image's internal/signature Blob and
 * FromBlob write and read it (dir: `signature-N` files): a simple signature is its raw OpenPGP
 * bytes (recognised by its first byte); any other kind is a zero byte, the format name, a newline
 * and the format's data. A sigstore signature's data is Go's json.Marshal of
 * {mimeType, payload (base64), annotations (keys sorted)}. No I/O. It lives with the transports,
 * below the signature formats, because dir: keeps signatures in this form (docs/decisions.md 17).
 */
import { ImgError } from '../errors.js';
import { goString } from '../util/gostring.js';
import { isObject, parseStrictJSON, StrictJSONError } from '../util/strict-json.js';

/**
 * SigstoreSignature: one sigstore signature, as containers/image keeps it (an attachment layer's
 * media type, its bytes and its annotations) — all untrusted until verified.
 */
export interface SigstoreSignature {
  mimeType: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** FormattedSignature: one signature of an image, of either kind (containers/image's signature.Signature). */
export type FormattedSignature = { format: 'simple-signing'; blob: Buffer } | { format: 'sigstore-json'; sigstore: SigstoreSignature };

/** The first bytes of an OpenPGP message that containers/image takes for a bare simple signature (compressed data, one-pass signature, signature packets). */
const OPENPGP_FIRST_BYTES = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0xc8, 0x90, 0x91, 0x92, 0x3d, 0xc4, 0x88, 0x89, 0x8a, 0x8b, 0xc2]);

/** sigstoreBlobChunk is a sigstore signature's data, byte for byte as containers/image's json.Marshal of sigstoreJSONRepresentation. */
export function sigstoreBlobChunk(s: SigstoreSignature): Buffer {
  const annotations = Object.keys(s.annotations)
    .sort()
    .map((k) => `${goString(k)}:${goString(s.annotations[k]!)}`)
    .join(',');
  return Buffer.from(`{"mimeType":${goString(s.mimeType)},"payload":"${s.payload.toString('base64')}","annotations":{${annotations}}}`, 'utf8');
}

/** signatureBlob is the stored form of a signature: a simple signature as is, a sigstore one as `\0sigstore-json\n` and its JSON. */
export function signatureBlob(sig: FormattedSignature): Buffer {
  if (sig.format === 'simple-signing') return sig.blob;
  return Buffer.concat([Buffer.from('\0sigstore-json\n', 'latin1'), sigstoreBlobChunk(sig.sigstore)]);
}

/** signatureFromBlob reads a stored signature (`what` names it in errors): an unknown or broken format is SIGNATURE_INVALID. */
export function signatureFromBlob(blob: Buffer, what: string): FormattedSignature {
  const bad = (reason: string) => new ImgError('SIGNATURE_INVALID', `reading signature ${what}: ${reason}`);
  if (blob.length === 0) throw bad('empty signature blob');
  if (OPENPGP_FIRST_BYTES.has(blob[0]!)) return { format: 'simple-signing', blob };
  if (blob[0] !== 0) throw bad(`unrecognized signature format, starting with binary 0x${blob[0]!.toString(16)}`);
  const nl = blob.indexOf(0x0a, 1);
  if (nl < 0) throw bad('invalid signature format, missing newline');
  const format = blob.subarray(1, nl);
  const nonAscii = format.find((b) => b < 32 || b >= 0x7f);
  if (nonAscii !== undefined) throw bad(`invalid signature format, non-ASCII byte 0x${nonAscii.toString(16)}`);
  const chunk = blob.subarray(nl + 1);
  switch (format.toString('latin1')) {
    case 'simple-signing':
      return { format: 'simple-signing', blob: Buffer.from(chunk) };
    case 'sigstore-json':
      return { format: 'sigstore-json', sigstore: parseSigstoreChunk(chunk, bad) };
    default:
      throw bad(`unrecognized signature format ${JSON.stringify(format.toString('latin1'))}`);
  }
}

/** parseSigstoreChunk reads {mimeType, payload, annotations}; a duplicate or unknown key, or a wrong type, is refused (null fields are empty, as Go reads them). */
function parseSigstoreChunk(chunk: Buffer, bad: (reason: string) => ImgError): SigstoreSignature {
  let doc: ReturnType<typeof parseStrictJSON>;
  try {
    doc = parseStrictJSON(chunk);
  } catch (e) {
    if (e instanceof StrictJSONError) throw bad(`sigstore-json: ${e.message}`);
    throw e;
  }
  if (!isObject(doc)) throw bad('sigstore-json: not a JSON object');
  for (const k of Object.keys(doc)) if (!['mimeType', 'payload', 'annotations'].includes(k)) throw bad(`sigstore-json: unknown key ${JSON.stringify(k)}`);
  const { mimeType = null, payload = null, annotations = null } = doc;
  if (mimeType !== null && typeof mimeType !== 'string') throw bad('sigstore-json: mimeType is not a string');
  if (payload !== null && (typeof payload !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(payload)))
    throw bad('sigstore-json: payload is not base64');
  const out: Record<string, string> = {};
  if (annotations !== null) {
    if (!isObject(annotations)) throw bad('sigstore-json: annotations is not an object');
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== 'string') throw bad(`sigstore-json: annotation ${JSON.stringify(k)} is not a string`);
      out[k] = v;
    }
  }
  return { mimeType: mimeType ?? '', payload: Buffer.from(payload ?? '', 'base64'), annotations: out };
}
