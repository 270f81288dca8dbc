import { createHash } from 'node:crypto';
import { ImgError } from '../../errors.js';

/**
 * The legacy (pre-manifest.json) metadata skopeo writes into a docker-archive, computed as
 * containers/image's docker/internal/tarfile Writer.writeLegacyMetadataLocked does, so that the
 * files are byte for byte those skopeo writes: one directory per layer, named by a digest of the
 * layer's json (which holds the chain ID while the name is computed), with the top layer's json
 * carrying seven fields of the image config as Go's encoding/json writes them (compacted,
 * HTML-escaped, map keys sorted).
 */

const TOP_FIELDS = ['architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os'];

export interface LegacyLayer {
  id: string;
  /** The layer's json file. */
  json: string;
}

export function legacyLayers(diffIDs: string[], configBytes: Buffer): LegacyLayer[] {
  const out: LegacyLayer[] = [];
  let chain = '';
  let last = '';
  const top = diffIDs.length > 0 ? topLevelRaw(configBytes.toString('utf8')) : new Map<string, string>();
  for (const [i, diffID] of diffIDs.entries()) {
    // Values are raw JSON text, as Go's map[string]any of json.RawMessage.
    const fields = new Map<string, string>();
    if (last !== '') fields.set('parent', JSON.stringify(last));
    if (i === diffIDs.length - 1) for (const k of TOP_FIELDS) fields.set(k, compact(top.get(k) ?? 'null'));
    chain = chain === '' ? diffID : `sha256:${createHash('sha256').update(`${chain} ${diffID}`).digest('hex')}`;
    const id = createHash('sha256')
      .update(goMap(new Map([...fields, ['layer_id', JSON.stringify(chain)]])))
      .digest('hex');
    fields.set('id', JSON.stringify(id));
    out.push({ id, json: goMap(fields) });
    last = id;
  }
  return out;
}

/** goMap writes a map of raw JSON values as Go's json.Marshal does: keys sorted. */
function goMap(m: Map<string, string>): string {
  return `{${[...m.keys()]
    .sort()
    .map((k) => `${JSON.stringify(k)}:${m.get(k)}`)
    .join(',')}}`;
}

/** compact removes insignificant whitespace and escapes <, >, &, U+2028 and U+2029 in strings, as Go's json.Compact with HTML escaping. */
function compact(raw: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === '\\') {
        out += c + raw[++i];
        continue;
      }
      if (c === '"') inString = false;
      out += c === '<' ? '\\u003c' : c === '>' ? '\\u003e' : c === '&' ? '\\u0026' : c === '\u2028' ? '\\u2028' : c === '\u2029' ? '\\u2029' : c;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

/** topLevelRaw maps each key of a JSON object to the raw text of its value (the last one for a repeated key, as Go). */
function topLevelRaw(text: string): Map<string, string> {
  const bad = () => new ImgError('MANIFEST_INVALID', 'image config is not a JSON object');
  JSON.parse(text); // validity
  const out = new Map<string, string>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  const value = () => {
    const start = i;
    if (text[i] === '"') str();
    else if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        if (text[i] === '"') {
          str();
          continue;
        }
        if (text[i] === '{' || text[i] === '[') depth++;
        if (text[i] === '}' || text[i] === ']') depth--;
        i++;
      } while (depth > 0);
    } else while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  ws();
  if (text[i] !== '{') throw bad();
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = JSON.parse(str()) as string;
    ws();
    i++; // ':'
    ws();
    out.set(key, value());
    ws();
    if (text[i] === ',') i++;
  }
  return out;
}
