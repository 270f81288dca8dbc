/**
 * Nesting limits of the JSON documents imgpipe reads (docs/protocol.md, "Size limits"). JSON.parse
 * reads any depth, but what is done with the result afterwards (JSON.stringify for the record
 * writer, deep comparisons) recurses and dies with "Maximum call stack size exceeded" a few
 * thousand levels down. So documents are measured before they are parsed and refused past these.
 */

/** The deepest nesting of arrays and objects in a manifest, an index or an image config. Real ones nest 5 or 6 deep. */
export const MAX_DOCUMENT_DEPTH = 128;

/** The deepest nesting in a record (a stdin line): room for a document at its limit, and the record around it. */
export const MAX_RECORD_DEPTH = 256;

/**
 * jsonDepth is the deepest nesting of arrays and objects in JSON text (bytes or a string), counted
 * without parsing (brackets inside strings do not count), stopping once it passes `stopAt`. Text
 * that is not JSON gets a number too; the parser refuses it afterwards.
 */
export function jsonDepth(text: Uint8Array | string, stopAt = Infinity): number {
  const code = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  const n = text.length;
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = code(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** tooDeep says whether JSON text nests deeper than `limit`. */
export function tooDeep(text: Uint8Array | string, limit: number): boolean {
  return jsonDepth(text, limit) > limit;
}
