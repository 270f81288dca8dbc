/**
 * Go's encoding/json string encoding, for the documents imgpipe must write byte for byte as
 * containers/image's json.Marshal writes them (signature payloads, the stored form of sigstore
 * signatures, cosign attachments). Pure: no I/O.
 */

/** goString encodes a string as Go's encoding/json does (HTML-safe escaping). */
export function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
