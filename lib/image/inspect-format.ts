/**
 * `skopeo inspect --format` and `--config`, as skopeo 1.9.3 does them: the Go types the template
 * sees (skopeo's inspect.Output, image-spec's v1.Image), the handling of the --format text
 * (report.IsJSON, report.NormalizeFormat, the "{{range . }}…{{end}}" wrapper) and the tabwriter
 * the output goes through. Pure: no I/O.
 */
import { ImgError } from '../errors.js';
import {
  BOOL,
  DIGEST,
  EMPTY_STRUCT,
  IFACE,
  INT64,
  STRING,
  TIME,
  jsonDecode,
  jsonEncode,
  jsonIndent,
  mapOf,
  parseTime,
  ptrTo,
  sliceOf,
  struct,
  val,
  type TypedVal,
} from './govalue.js';
import { BUILTINS, REPORT_FUNCS, TemplateError, executeTemplate, parseTemplate, type Template } from './gotemplate.js';

const STRINGS = sliceOf(STRING);
const LABELS = mapOf(STRING, STRING);

/** containers/image's types.ImageInspectLayer */
const INSPECT_LAYER = struct('types.ImageInspectLayer', [
  ['MIMEType', STRING],
  ['Digest', DIGEST],
  ['Size', INT64],
  ['Annotations', LABELS],
]);

/** What `skopeo inspect` prints (key for key, and LayersData, which skopeo 1.9 lacks; its Go type is INSPECT_OUTPUT below). */
export interface InspectOutput {
  Name?: string;
  Digest: string;
  RepoTags: string[] | null;
  Created: string | null;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Os: string;
  Layers: string[];
  LayersData: { MIMEType: string; Digest: string; Size: number; Annotations: Record<string, string> | null }[];
  Env: string[] | null;
}

/**
 * skopeo's inspect.Output. skopeo 1.9.3's has no LayersData (later ones have, after Layers); it is
 * here because our --inspect prints it.
 */
export const INSPECT_OUTPUT = struct('inspect.Output', [
  ['Name', STRING, 'Name', true],
  ['Tag', STRING, 'Tag', true],
  ['Digest', DIGEST],
  ['RepoTags', STRINGS],
  ['Created', ptrTo(TIME)],
  ['DockerVersion', STRING],
  ['Labels', LABELS],
  ['Architecture', STRING],
  ['Os', STRING],
  ['Layers', STRINGS],
  ['LayersData', sliceOf(INSPECT_LAYER)],
  ['Env', STRINGS],
]);

const SET = mapOf(STRING, EMPTY_STRUCT);
/** image-spec's v1.Image as Debian's skopeo 1.9.3 has it (ImageConfig with ArgsEscaped, no embedded Platform). */
export const V1_IMAGE = struct('v1.Image', [
  ['Created', ptrTo(TIME), 'created', true],
  ['Author', STRING, 'author', true],
  ['Architecture', STRING, 'architecture'],
  ['Variant', STRING, 'variant', true],
  ['OS', STRING, 'os'],
  ['OSVersion', STRING, 'os.version', true],
  ['OSFeatures', STRINGS, 'os.features', true],
  [
    'Config',
    struct('v1.ImageConfig', [
      ['User', STRING, 'User', true],
      ['ExposedPorts', SET, 'ExposedPorts', true],
      ['Env', STRINGS, 'Env', true],
      ['Entrypoint', STRINGS, 'Entrypoint', true],
      ['Cmd', STRINGS, 'Cmd', true],
      ['Volumes', SET, 'Volumes', true],
      ['WorkingDir', STRING, 'WorkingDir', true],
      ['Labels', LABELS, 'Labels', true],
      ['StopSignal', STRING, 'StopSignal', true],
      ['ArgsEscaped', BOOL, 'ArgsEscaped', true],
    ]),
    'config',
    true,
  ],
  [
    'RootFS',
    struct('v1.RootFS', [
      ['Type', STRING, 'type'],
      ['DiffIDs', sliceOf(DIGEST), 'diff_ids'],
    ]),
    'rootfs',
  ],
  [
    'History',
    sliceOf(
      struct('v1.History', [
        ['Created', ptrTo(TIME), 'created', true],
        ['CreatedBy', STRING, 'created_by', true],
        ['Author', STRING, 'author', true],
        ['Comment', STRING, 'comment', true],
        ['EmptyLayer', BOOL, 'empty_layer', true],
      ]),
    ),
    'history',
    true,
  ],
]);
const V1_IMAGE_PTR = ptrTo(V1_IMAGE);

/** isJSONFormat is report.IsJSON: "json" or "{{json .}}" (spaces allowed) asks for the JSON output. */
export function isJSONFormat(format: string): boolean {
  return /^[\t\n\f\r ]*(json|\{\{[\t\n\f\r ]*json[\t\n\f\r ]*(\.)?[\t\n\f\r ]*\}\})[\t\n\f\r ]*$/.test(format);
}

/**
 * normalizeFormat is report.NormalizeFormat: the two-character escapes \t and \n become a tab
 * and a newline; with a "table " prefix every "table " goes and spaces become tabs too; and the
 * text gets a final newline.
 */
export function normalizeFormat(format: string): string {
  const table = format.startsWith('table ');
  const pairs: [string, string][] = table
    ? [
        ['table ', ''],
        ['\\t', '\t'],
        [' ', '\t'],
        ['\\n', '\n'],
      ]
    : [
        ['\\t', '\t'],
        ['\\n', '\n'],
      ];
  let out = '';
  for (let i = 0; i < format.length; ) {
    const hit = pairs.find(([from]) => format.startsWith(from, i));
    if (hit) {
      out += hit[1];
      i += hit[0].length;
    } else out += format[i++];
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}

/**
 * tabwrite is Go's text/tabwriter as skopeo 1.9.3 sets it up (minwidth 8, tabwidth 2, padding 2,
 * padded with spaces, no flags): tab-terminated cells of consecutive lines are aligned in
 * columns. Unlike skopeo 1.9.3, which never flushes its tabwriter and so loses a last line that
 * holds a tab or lacks a newline, all of the text is written (as later skopeo does).
 */
export function tabwrite(text: string, minwidth = 8, padding = 2): string {
  let out = '';
  text.split('\f').forEach((part, k) => {
    if (k > 0) out += '\n';
    const rows = part.split('\n');
    const lines = rows.map((r) => r.split(/[\t\v]/));
    const width = (s: string) => [...s].length;
    const widths: number[] = [];
    const writeLines = (line0: number, line1: number) => {
      for (let i = line0; i < line1; i++) {
        const cells = lines[i]!;
        cells.forEach((c, j) => {
          out += c;
          if (j < widths.length) out += ' '.repeat(Math.max(widths[j]! - width(c), 0));
        });
        if (i + 1 < lines.length) out += '\n';
      }
    };
    const format = (line0: number, line1: number) => {
      const column = widths.length;
      for (let i = line0; i < line1; i++) {
        if (column >= lines[i]!.length - 1) continue;
        writeLines(line0, i);
        line0 = i;
        let w = minwidth;
        for (; i < line1 && column < lines[i]!.length - 1; i++) w = Math.max(w, width(lines[i]![column]!) + padding);
        widths.push(w);
        format(line0, i);
        widths.pop();
        line0 = i;
      }
      writeLines(line0, line1);
    };
    format(0, lines.length);
  });
  return out;
}

const NAME = 'inspect';

/** compileFormat parses a --format template as skopeo does (inside "{{range . }}…{{end}}"); a bad one is a usage error. */
export function compileFormat(format: string): Template {
  try {
    return parseTemplate(NAME, `{{range . }}${normalizeFormat(format)}{{end}}`, { ...BUILTINS, ...REPORT_FUNCS });
  } catch (e) {
    if (e instanceof TemplateError) throw new ImgError('USAGE', `invalid --format ${JSON.stringify(format)}: ${e.message}`);
    throw e;
  }
}

/** renderFormat runs a compiled --format on one value (skopeo's data is []interface{}{value}) and aligns its output. */
export function renderFormat(tmpl: Template, value: TypedVal): string {
  try {
    return tabwrite(executeTemplate(tmpl, val(sliceOf(IFACE), [value])));
  } catch (e) {
    if (e instanceof TemplateError) throw new ImgError('USAGE', e.message);
    throw e;
  }
}

/** inspectJSON is `skopeo inspect`'s output: json.MarshalIndent of inspect.Output (maps sorted), and a newline. */
export function inspectJSON(out: InspectOutput): string {
  return `${jsonIndent(jsonEncode(inspectValue(out)), '    ')}\n`;
}

/** inspectValue is our --inspect output as the Go value skopeo's template sees (a label or Env entry that is not a string is refused, as Go's json does). */
export function inspectValue(out: InspectOutput): TypedVal {
  const bad = Object.entries(out.Labels ?? {}).find(([, v]) => typeof v !== 'string');
  if (bad) throw new ImgError('MANIFEST_INVALID', `the config's label ${JSON.stringify(bad[0])} is not a string`);
  if (out.Env?.some((e) => typeof e !== 'string')) throw new ImgError('MANIFEST_INVALID', `the config's Env holds a value that is not a string`);
  let created = null;
  if (out.Created !== null) {
    try {
      created = parseTime(out.Created);
    } catch (e) {
      throw new ImgError('MANIFEST_INVALID', `the config's "created" is not an RFC 3339 time: ${(e as Error).message}`);
    }
  }
  const labels = out.Labels === null ? null : new Map(Object.entries(out.Labels));
  return val(INSPECT_OUTPUT, {
    Name: out.Name ?? '',
    Tag: '',
    Digest: out.Digest,
    RepoTags: out.RepoTags,
    Created: created,
    DockerVersion: out.DockerVersion,
    Labels: labels,
    Architecture: out.Architecture,
    Os: out.Os,
    Layers: out.Layers,
    LayersData: out.LayersData.map((l) => ({ ...l, Annotations: l.Annotations === null ? null : new Map(Object.entries(l.Annotations)) })),
    Env: out.Env,
  });
}

/**
 * configValue reads an image config (OCI or Docker, already parsed) as containers/image's
 * OCIConfig does: json.Unmarshal into image-spec's v1.Image, which drops what OCI has not.
 */
export function configValue(config: unknown, what: string): TypedVal {
  try {
    return val(V1_IMAGE_PTR, jsonDecode(V1_IMAGE_PTR, config));
  } catch (e) {
    throw new ImgError('MANIFEST_INVALID', `${what}: ${(e as Error).message}`);
  }
}

/** configJSON is `skopeo inspect --config`'s output: json.MarshalIndent with four spaces, and a newline. */
export function configJSON(config: TypedVal): string {
  return `${jsonIndent(jsonEncode(config), '    ')}\n`;
}
