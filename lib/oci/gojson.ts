/**
 * How Go's encoding/json finds a struct field in a JSON object, for the places where imgpipe must
 * read a manifest as containers/image (and the other Go tools: registries, containerd, docker) do.
 * A key matches a field when the two are equal under Unicode simple case folding, so "FSLayers",
 * "fslayers" and "fſLayers" (U+017F LONG S) are all the field fsLayers; of several matching keys
 * the last one in the document wins. JSON.parse matches exactly, so without this a document could
 * be one thing to imgpipe and another to a Go tool.
 */

/**
 * goFoldName folds a key as encoding/json's foldName does, as far as comparing with ASCII field
 * names needs: ASCII letters upper-cased, U+212A KELVIN SIGN to K and U+017F LONG S to S (the only
 * runes outside ASCII whose simple fold set holds an ASCII letter). Other runes are kept: after
 * folding they can never equal an ASCII name.
 */
export function goFoldName(key: string): string {
  let out = '';
  for (const ch of key) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x61 && c <= 0x7a) out += String.fromCharCode(c - 0x20);
    else if (c === 0x212a) out += 'K';
    else if (c === 0x17f) out += 'S';
    else out += ch;
  }
  return out;
}

/** goKeys lists the keys of `obj` that Go decodes into the field tagged `name` (exact or folded), in key order. */
export function goKeys(obj: Record<string, unknown>, name: string): string[] {
  const folded = goFoldName(name);
  return Object.keys(obj).filter((k) => k === name || goFoldName(k) === folded);
}

/**
 * goField is the value Go decodes into the field `name`: that of the one matching key, or of the
 * last of several in key order. (JSON.parse keeps a repeated key at its first position with its
 * last value, so with repeated keys of different case the order is not the document's;
 * validateManifest refuses such documents before it reads them.)
 */
export function goField(obj: Record<string, unknown>, name: string): unknown {
  const keys = goKeys(obj, name);
  return keys.length === 0 ? undefined : obj[keys[keys.length - 1]!];
}

/** caseVariants lists the keys of `obj` that Go reads as one of `fields` but that are not spelled as it: [key, field] pairs. */
export function caseVariants(obj: Record<string, unknown>, fields: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const f of fields) for (const k of goKeys(obj, f)) if (k !== f) out.push([k, f]);
  return out;
}

// What Go accepts when it decodes a JSON value into a field of a given type. null (and a missing
// field) is always accepted: it leaves the field as it was. JSON.parse has already turned number
// literals into numbers, so "2.0" or "1e3", which Go refuses for an integer field, cannot be told
// from 2 or 1000 here.

export const goString = (v: unknown): boolean => v == null || typeof v === 'string';
export const goInt = (v: unknown): boolean => v == null || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63);
export const goStringSlice = (v: unknown): boolean => v == null || (Array.isArray(v) && v.every(goString));
export const goStringMap = (v: unknown): boolean => v == null || (isObject(v) && Object.values(v).every(goString));
/** goBytes: a []byte is base64 (standard alphabet, padded; Go skips \r and \n), or an array of bytes. */
export const goBytes = (v: unknown): boolean =>
  v == null ||
  (typeof v === 'string' && /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v.replace(/[\r\n]/g, ''))) ||
  (Array.isArray(v) && v.every((b) => b == null || (Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)));

/** goPlatform: image-spec's Platform struct (architecture, os, os.version, os.features, variant). */
export function goPlatform(v: unknown): boolean {
  if (v == null) return true;
  if (!isObject(v)) return false;
  return (
    goString(goField(v, 'architecture')) &&
    goString(goField(v, 'os')) &&
    goString(goField(v, 'os.version')) &&
    goStringSlice(goField(v, 'os.features')) &&
    goString(goField(v, 'variant'))
  );
}

/** goDescriptor: image-spec's Descriptor struct (v1.1, as containers/image uses it). */
export function goDescriptor(v: unknown): boolean {
  if (v == null) return true;
  if (!isObject(v)) return false;
  return (
    goString(goField(v, 'mediaType')) &&
    goString(goField(v, 'digest')) &&
    goInt(goField(v, 'size')) &&
    goStringSlice(goField(v, 'urls')) &&
    goStringMap(goField(v, 'annotations')) &&
    goBytes(goField(v, 'data')) &&
    goPlatform(goField(v, 'platform')) &&
    goString(goField(v, 'artifactType'))
  );
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
