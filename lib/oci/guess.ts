import { goDescriptor, goField, goInt, goString, isObject } from './gojson.js';
import { MediaType } from './mediatype.js';

/** The manifest types GuessMIMEType takes from a document's own mediaType. */
const RECOGNIZED: readonly string[] = [MediaType.dockerManifest, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.ociIndex];
/** GuessMIMEType reads JSON as Go does: invalid UTF-8 in strings is replaced, not refused, and a byte order mark is a syntax error. */
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * guessManifestType is containers/image's manifest.GuessMIMEType (internal/manifest/manifest.go)
 * for an already parsed document: the type of a manifest that says nothing about its type, or ''
 * when that cannot be told. Step by step as it:
 *
 * - a document that Go cannot decode into {mediaType string, schemaVersion int, signatures any}
 *   (not an object, a mediaType that is not a string, a schemaVersion that is not an integer) is '';
 * - its own mediaType, when that is one of the four schema 2 and OCI types;
 * - schemaVersion 1: Docker schema 1, signed when `signatures` is there and not null;
 * - schemaVersion 2: OCI manifest when config.mediaType is the OCI config type, Docker schema 2
 *   when it is the Docker one; else, with a non-empty `manifests`, an OCI index when the config
 *   has no mediaType (and the config's own mediaType when it has one: containers/image's FIXME,
 *   kept so the table stays theirs); else OCI manifest (an artifact with a config type of its own).
 *   A config that is not an object, or `manifests` that is not an array of descriptors Go can
 *   decode, is '';
 * - any other schemaVersion is ''.
 *
 * Fields are found as Go finds them (case-insensitively, lib/oci/gojson.ts).
 */
export function guessManifestType(doc: unknown): string {
  if (!isObject(doc)) return ''; // null decodes to the zero struct (schemaVersion 0), anything else fails
  const mediaType = goField(doc, 'mediaType');
  const schemaVersion = goField(doc, 'schemaVersion');
  if (!goString(mediaType) || !goInt(schemaVersion)) return '';
  if (typeof mediaType === 'string' && RECOGNIZED.includes(mediaType)) return mediaType;
  if (schemaVersion === 1) return goField(doc, 'signatures') != null ? MediaType.dockerSchema1Signed : MediaType.dockerSchema1;
  if (schemaVersion !== 2) return '';
  const config = goField(doc, 'config');
  if (config != null && !isObject(config)) return '';
  const configType = config == null ? undefined : goField(config, 'mediaType');
  if (!goString(configType)) return '';
  if (configType === MediaType.ociConfig) return MediaType.ociManifest;
  if (configType === MediaType.dockerConfig) return MediaType.dockerManifest;
  const manifests = goField(doc, 'manifests');
  if (manifests != null && !(Array.isArray(manifests) && manifests.every(goDescriptor))) return '';
  if (Array.isArray(manifests) && manifests.length > 0) return typeof configType === 'string' && configType !== '' ? configType : MediaType.ociIndex;
  return MediaType.ociManifest;
}

/** guessMIMEType is GuessMIMEType on bytes: '' for what is not JSON. */
export function guessMIMEType(bytes: Uint8Array): string {
  let doc: unknown;
  try {
    doc = JSON.parse(lenient.decode(bytes));
  } catch {
    return '';
  }
  return guessManifestType(doc);
}
