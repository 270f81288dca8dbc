// The Go text/template engine (lib/image/gotemplate.ts) and Go value printing (lib/image/govalue.ts).
// Expected texts were taken from real skopeo 1.9.3 (Go 1.19) runs of the same templates on an image
// holding the same data (test/e2e/inspect-format.test.ts compares against skopeo itself).
import { describe, expect, it } from 'vitest';
import { BUILTINS, REPORT_FUNCS, TemplateError, executeTemplate, parseTemplate } from '../../lib/image/gotemplate.js';
import {
  INT,
  STRING,
  formatTime,
  jsonDecode,
  jsonEncode,
  jsonIndent,
  mapOf,
  parseTime,
  ptrTo,
  sliceOf,
  sprint,
  sprintf,
  str,
  struct,
  timeString,
  val,
  type Val,
} from '../../lib/image/govalue.js';
import {
  V1_IMAGE,
  compileFormat,
  configJSON,
  configValue,
  inspectJSON,
  inspectValue,
  isJSONFormat,
  normalizeFormat,
  renderFormat,
  tabwrite,
} from '../../lib/image/inspect-format.js';
import type { InspectOutput } from '../../lib/image/inspect.js';
import { ImgError } from '../../lib/errors.js';

const DIGEST = 'sha256:d444b2c896b1bf7aeeba83372b1b1bc0606b410a0668b7ba3d4c93a8fde2f42d';
const LAYER = 'sha256:855cb2a69b4969ab8da4f2851c4d1039e180d2ecab21853203e9867c6f9127be';
const out: InspectOutput = {
  Digest: DIGEST,
  RepoTags: [],
  Created: '2026-12-02T09:16:17.39200113Z',
  DockerVersion: '',
  Labels: { version: '1.0', 'a.b': 'dotted', html: '<x>&' },
  Architecture: 'amd64',
  Os: 'linux',
  Layers: [LAYER],
  LayersData: [{ MIMEType: 'application/vnd.oci.image.layer.v1.tar+gzip', Digest: LAYER, Size: 130, Annotations: null }],
  Env: ['FOO=bar', 'B=2'],
};

/** fmt runs a --format template on `out` as img-manifest get --inspect --format does. */
const fmt = (format: string, o: InspectOutput = out) => renderFormat(compileFormat(format), inspectValue(o));
/** fails returns the message of a --format that fails (parse or execution). */
const fails = (format: string): string => {
  try {
    fmt(format);
  } catch (e) {
    expect(e).toBeInstanceOf(ImgError);
    expect((e as ImgError).code).toBe('USAGE');
    return (e as Error).message;
  }
  throw new Error(`${format} did not fail`);
};
/** run parses and runs a bare template (no skopeo wrapper) on data. */
const run = (text: string, data: Val) => executeTemplate(parseTemplate('t', text, { ...BUILTINS, ...REPORT_FUNCS }), data);

describe('inspect --format: fields, maps and Go printing', () => {
  it('fields, nested map keys, index with a dotted key, and the trailing newline', () => {
    expect(fmt('{{.Digest}}')).toBe(`${DIGEST}\n`);
    expect(fmt('{{.Labels.version}}')).toBe('1.0\n');
    expect(fmt('{{index .Labels "a.b"}}')).toBe('dotted\n');
    expect(fmt('{{.Name}}')).toBe('\n');
    expect(fmt('{{.Tag}}|')).toBe('|\n');
    expect(fmt('Name: {{.Name}} Digest: {{.Digest}}')).toBe(`Name:  Digest: ${DIGEST}\n`);
    expect(fmt('{{.Os}}\\n')).toBe('linux\n'); // a typed \n ends the text: no second newline
  });

  it('maps print with sorted keys, slices in brackets, time.Time as String()', () => {
    expect(fmt('{{.Labels}}')).toBe('map[a.b:dotted html:<x>& version:1.0]\n');
    expect(fmt('{{.Env}}')).toBe('[FOO=bar B=2]\n');
    expect(fmt('{{.RepoTags}}')).toBe('[]\n');
    expect(fmt('{{.Created}}')).toBe('2026-12-02 09:16:17.39200113 +0000 UTC\n');
    expect(fmt('{{.LayersData}}')).toBe(`[{application/vnd.oci.image.layer.v1.tar+gzip ${LAYER} 130 map[]}]\n`);
  });

  it('a missing map key is <no value>, index of one is the zero value, print of one <nil>', () => {
    expect(fmt('{{.Labels.nope}}|')).toBe('<no value>|\n');
    expect(fmt('{{.Labels.a.b}}')).toBe('<no value>\n');
    expect(fmt('{{index .Labels "zz"}}|')).toBe('|\n');
    expect(fmt('{{print .Labels.nope}}')).toBe('<nil>\n');
    expect(fmt('{{printf "%v|%s" .Labels.nope .Name}}')).toBe('<nil>|\n');
    expect(fmt('{{printf "%d" .Labels.nope}}')).toBe('%!d(<nil>)\n');
    expect(fmt('{{and .Labels.nope 1}}')).toBe('<no value>\n');
    expect(fmt('{{or .Labels.nope 1}}')).toBe('1\n');
    expect(fmt('{{not .Labels.nope}}')).toBe('true\n');
    expect(fmt('{{eq .Labels.nope "x"}}')).toBe('false\n');
    expect(fmt('{{if .Labels.nope}}y{{else}}n{{end}}')).toBe('n\n');
    expect(fmt('{{range .Labels.nope}}y{{else}}n{{end}}')).toBe('n\n');
  });

  it('a nil map, slice and pointer', () => {
    const bare = { ...out, Labels: null, Env: null, Created: null };
    expect(fmt('{{.Labels}}|{{.Env}}|{{.Created}}|{{.Labels.x}}|{{len .Env}}', bare)).toBe('map[]|[]|<nil>|<no value>|0\n');
    expect(fmt('{{printf "%v %s" .Created .Created}}', bare)).toBe('<nil> <nil>\n');
  });

  it('methods of time.Time and digest.Digest', () => {
    expect(fmt('{{.Created.Year}} {{.Created.Month}} {{.Created.Weekday}} {{.Created.Unix}} {{.Created.YearDay}}')).toBe(
      '2026 December Wednesday 1796202977 336\n',
    );
    expect(fmt('{{.Created.Format "Mon Jan _2 15:04:05.000 MST 2006 -07:00 pm .999"}}')).toBe('Wed Dec  2 09:16:17.392 UTC 2026 +00:00 am .392\n');
    expect(fmt('{{.Created.Format "2006-01-02"}}')).toBe('2026-12-02\n');
    expect(fmt('{{.Created.IsZero}} {{.Created.Nanosecond}} {{.Created.UnixNano}}')).toBe('false 392001130 1796202977392001130\n');
    expect(fmt('{{.Digest.Algorithm}} {{.Digest.Hex}}')).toBe(`sha256 ${DIGEST.slice(7)}\n`);
    expect(fmt('{{.Digest | len}} {{slice .Digest 0 6}}')).toBe('71 sha256\n');
    // Go's int64 wraps for the zero time
    expect(fmt('{{.Created.UnixNano}}', { ...out, Created: '0001-01-01T00:00:00Z' })).toBe('-6795364578871345152\n');
  });

  it('{{.}} and %+v print the struct; %T names the types', () => {
    expect(fmt('{{printf "%T %T %T" .Created .Labels .Digest}}')).toBe('*time.Time map[string]string digest.Digest\n');
    expect(fmt('{{printf "%+v" .RepoTags}}')).toBe('[]\n');
    expect(fmt('{{printf "%#v" .Env}}')).toBe('[]string{"FOO=bar", "B=2"}\n');
    expect(fmt('{{.}}')).toMatch(
      /^\{ {2}sha256:d444.* \[\] 2026-12-02 09:16:17.39200113 \+0000 UTC {2}map\[a.b:dotted html:<x>& version:1.0\] amd64 linux \[sha256:855c/,
    );
  });
});

describe('inspect --format: actions', () => {
  it('range over slices and maps, with $i, $e and $k, $v, nested ranges, break and continue', () => {
    expect(fmt('{{range .Env}}{{.}},{{end}}')).toBe('FOO=bar,B=2,\n');
    expect(fmt('{{range $i, $e := .Env}}{{$i}}={{$e}};{{end}}')).toBe('0=FOO=bar;1=B=2;\n');
    expect(fmt('{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}')).toBe('a.b=dotted;html=<x>&;version=1.0;\n');
    expect(fmt('{{range $i, $e := .Env}}{{if $i}}, {{end}}{{$e}}{{end}}')).toBe('FOO=bar, B=2\n');
    expect(fmt('{{range $i, $e := .Env}}{{if eq $i 1}}{{break}}{{end}}{{$e}}{{end}}')).toBe('FOO=bar\n');
    expect(fmt('{{range .Env}}{{if eq . "B=2"}}{{continue}}{{end}}{{.}} {{end}}')).toBe('FOO=bar \n');
    // $ is skopeo's []interface{} around the value, so $.Layers is an error in skopeo too; (index $ 0) is the value
    expect(fails('{{range .Env}}{{$.Layers}}{{end}}')).toContain("can't evaluate field Layers in type []interface {}");
    expect(fmt('{{range .Env}}{{len (index $ 0).Layers}}{{end}}')).toBe('11\n');
    expect(fmt('{{$o := .}}{{range $e := .Env}}{{range $o.Env}}{{$e}}/{{.}} {{end}}{{end}}')).toBe('FOO=bar/FOO=bar FOO=bar/B=2 B=2/FOO=bar B=2/B=2 \n');
  });

  it('if, else if, else, with, and, or, not, comparisons', () => {
    expect(fmt('{{if .Labels.nope}}y{{else if .Env}}e{{else}}n{{end}}')).toBe('e\n');
    expect(fmt('{{if eq .Os "windows"}}w{{else if eq .Os "darwin"}}d{{else}}other{{end}}')).toBe('other\n');
    expect(fmt('{{with .Labels}}{{.version}}{{end}}')).toBe('1.0\n');
    expect(fmt('{{with index .Labels "version"}}v={{.}}{{else}}none{{end}}')).toBe('v=1.0\n');
    expect(fmt('{{if and (eq .Os "linux") (ne .Architecture "arm64")}}ok{{end}}')).toBe('ok\n');
    expect(fmt('{{if ge (len .Env) 2}}many{{end}}')).toBe('many\n');
    expect(fmt('{{gt 3 2}} {{le 2 2}} {{ge "a" "b"}} {{ne 1 2}} {{lt .Os "m"}} {{eq .Os "linux" "x"}}')).toBe('true true false true true true\n');
    expect(fmt('{{and .Os .Env}} {{or "" .Env}} {{not .Env}}')).toBe('[FOO=bar B=2] [FOO=bar B=2] false\n');
  });

  it('trimming, comments, variables, pipelines, parentheses, block', () => {
    expect(fmt('  {{- .Os -}}  x')).toBe('linuxx\n');
    expect(fmt('{{ .Os }} {{/* c */}}')).toBe('linux \n');
    expect(fmt('a {{- /* c */ -}} b')).toBe('ab\n');
    expect(fmt('{{$x := .Os}}{{$x}}')).toBe('linux\n');
    expect(fmt('{{$x := 1}}{{$x = 2}}{{$x}}')).toBe('2\n');
    expect(fmt('{{.Name | printf "%q"}}')).toBe('""\n');
    expect(fmt('{{"a" | printf "%s-%s" "b"}}')).toBe('b-a\n');
    expect(fmt('{{index .Env 0 | printf "%.3s"}}')).toBe('FOO\n');
    expect(fmt('{{(index .Labels "a.b")}} {{(.Labels).version}}')).toBe('dotted 1.0\n');
    expect(fmt('{{printf "%s" | len}}')).toBe('12\n');
    expect(fmt('{{block "x" .}}b{{.Os}}{{end}}')).toBe('blinux\n');
  });

  it('builtins: len, index, slice, print, println, html, js, urlquery', () => {
    expect(fmt('{{len .Env}} {{len .Labels}} {{len "é"}}')).toBe('2 3 2\n');
    expect(fmt('{{index .Env 1}} {{index "abc" 1}} {{slice .Env 1}} {{slice .Os 1 3}}')).toBe('B=2 98 [B=2] in\n');
    expect(fmt('{{print 1 2 "a" 3 "b" "c" 4.5 true false}}')).toBe('1 2a3bc4.5 true false\n');
    expect(fmt('{{println 1 "a"}}x')).toBe('1 a\nx\n');
    expect(fmt('{{html .Labels}}')).toBe('map[a.b:dotted html:&lt;x&gt;&amp; version:1.0]\n');
    expect(fmt(`{{js "<a'b\\"c&=\\x01é"}}`)).toBe(`\\u003Ca\\'b\\"c\\u0026\\u003D\\u0001é\n`);
    expect(fmt(`{{html "<a'b\\"c&\\x00"}}`)).toBe('&lt;a&#39;b&#34;c&amp;\ufffd\n');
    expect(fmt('{{urlquery "a b&c=d/é~_.-"}}')).toBe('a+b%26c%3Dd%2F%C3%A9~_.-\n');
  });

  it('number constants print as Go prints them', () => {
    expect(fmt("{{1.5}} {{1e6}} {{0x1F}} {{'a'}} {{-3}} {{1_000}} {{.5}} {{100000.0}} {{1234567.0}} {{0.0001}} {{0.00001}}")).toBe(
      '1.5 1e+06 31 97 -3 1000 0.5 100000 1.234567e+06 0.0001 1e-05\n',
    );
  });

  it('the functions later skopeo has from containers/common: json, join, lower, upper, title, split, truncate, pad', () => {
    expect(fmt('{{json .Labels}}')).toBe('{"a.b":"dotted","html":"<x>&","version":"1.0"}\n');
    expect(fmt('{{json .Created}} {{json .Env}} {{json .Labels.nope}} {{json .Name}}')).toBe('"2026-12-02T09:16:17.39200113Z" ["FOO=bar","B=2"] null ""\n');
    expect(fmt('{{.Labels | json}}')).toBe('{"a.b":"dotted","html":"<x>&","version":"1.0"}\n');
    expect(fmt('{{join .Env ","}} {{lower "AbC"}} {{upper .Os}} {{title "hello wide-world"}}')).toBe('FOO=bar,B=2 abc LINUX Hello Wide-World\n');
    expect(fmt('{{split "a,b" ","}} {{truncate .Os 3}} [{{pad .Os 1 2}}]')).toBe('[a b] lin [ linux  ]\n');
    expect(fails('{{lower .Digest}}')).toContain('wrong type for value; expected string; got digest.Digest');
  });
});

describe('printf', () => {
  it("Go's verbs, flags, width and precision", () => {
    expect(
      fmt(
        '{{printf "%5s|%-5s|%05d|%x|%X|%q|%v|%+d|%t|%c|%U|%o|%b|%e|%f|%g|%.2f|%8.3f|%%|%v" "ab" "cd" 42 255 "hi" "q\\"x" 1.5 3 true 65 65 8 5 1234.5678 1.5 1e6 3.14159 2.5 1e21}}',
      ),
    ).toBe('   ab|cd   |00042|ff|6869|"q\\"x"|1.5|+3|true|A|U+0041|10|101|1.234568e+03|1.500000|1e+06|3.14|   2.500|%|1e+21\n');
    expect(fmt('{{printf "%6.2v|%-8v|%08.3f|% d|%#x|%#o|%x" 3.14159 "ab" 3.14159 5 255 8 "é"}}')).toBe('   3.1|ab      |0003.142| 5|0xff|010|c3a9\n');
    expect(fmt('{{printf "%[2]s %[1]s" "a" "b"}} {{printf "%*d" 5 3}}')).toBe('b a     3\n');
    expect(fmt('{{printf "%q" 65}} {{printf "%c|%q" 233 233}}')).toBe("'A' é|'é'\n");
  });

  it('floats: exact halves round to even, %g switches to %e as Go does, hex and binary forms', () => {
    expect(fmt('{{printf "%.0f %.0f %.0f %.1f %.2f %.3g %.3g %g %g %g" 0.5 1.5 2.5 0.25 1.005 1.5 1234.5 0.000012345 123456789.0 1e100}}')).toBe(
      '0 2 2 0.2 1.00 1.5 1.23e+03 1.2345e-05 1.23456789e+08 1e+100\n',
    );
    expect(fmt('{{printf "%6.2f|%-8.3e|%G|%E" 3.14159 1234.5 1e-7 1e-7}} {{printf "%5.1f" 2.25}}')).toBe('  3.14|1.234e+03|1E-07|1.000000E-07   2.2\n');
    expect(fmt('{{printf "%e %f %g %v %.3e %.0e %x %X %.2x %b" 0.0 0.0 0.0 0.0 0.0 5.5 0.1 1e300 1.999 3.5}}')).toBe(
      '0.000000e+00 0.000000 0 0 0.000e+00 6e+00 0x1.999999999999ap-04 0X1.7E43C8800759CP+996 0x1.00p+01 7881299347898368p-51\n',
    );
    expect(fmt('{{printf "%v %v %v %v %v" 1e20 1e21 123456.0 1234567.0 0.000123}}')).toBe('1e+20 1e+21 123456 1.234567e+06 0.000123\n');
  });

  it('values: maps, slices, Stringers; and the notes for bad verbs, missing and extra arguments', () => {
    expect(fmt('{{printf "%v|%s|%d|%q|%x" .Labels .Env .Env .Env .Os}}')).toBe(
      'map[a.b:dotted html:<x>& version:1.0]|[FOO=bar B=2]|[%!d(string=FOO=bar) %!d(string=B=2)]|["FOO=bar" "B=2"]|6c696e7578\n',
    );
    expect(fmt('{{printf "%q" .Labels}}')).toBe('map["a.b":"dotted" "html":"<x>&" "version":"1.0"]\n');
    expect(fmt('{{printf "%x" .Env}} {{printf "%5v" .Env}}')).toBe('[464f4f3d626172 423d32] [FOO=bar   B=2]\n');
    expect(fmt('{{printf "%v %v" .RepoTags .Created}}')).toBe('[] 2026-12-02 09:16:17.39200113 +0000 UTC\n');
    expect(fmt('{{printf "%d" .Digest}}')).toBe(`%!d(digest.Digest=${DIGEST})\n`);
    expect(fmt('{{printf "%s"}}|{{printf "%s" 1 2}}|{{printf "%d" "x"}}|{{printf "%!"}}|{{printf "%v" nil}}')).toBe(
      '%!s(MISSING)|%!s(int=1)%!(EXTRA int=2)|%!d(string=x)|%!!(MISSING)|<nil>\n',
    );
  });

  it('sprint and sprintf directly', () => {
    const m = val(
      mapOf(STRING, sliceOf(INT)),
      new Map([
        ['b', [1, 2]],
        ['a', null],
      ]),
    );
    expect(sprint([m])).toBe('map[a:[] b:[1 2]]');
    expect(
      sprintf('%+v', [
        val(
          struct('T', [
            ['A', STRING],
            ['B', ptrTo(INT)],
          ]),
          { A: 'x', B: null },
        ),
      ]),
    ).toBe('{A:x B:<nil>}');
    expect(sprint([str('a'), val(INT, 1), val(INT, 2), str('b')])).toBe('a1 2b');
  });
});

describe('errors are one line, as Go words them', () => {
  it('an unknown field names the field and the type', () => {
    expect(fails('{{.Foo}}')).toBe('template: inspect:1:14: executing "inspect" at <.Foo>: can\'t evaluate field Foo in type interface {}');
    expect(fails('{{.Labels.version.x}}')).toBe('template: inspect:1:21: executing "inspect" at <.Labels.version.x>: can\'t evaluate field x in type string');
    expect(fails('{{.Layers.x}}')).toContain("can't evaluate field x in type []string");
    expect(fails('{{.Created.Foo}}')).toContain("can't evaluate field Foo in type *time.Time");
    expect(fails('{{$.Name}}')).toBe('template: inspect:1:15: executing "inspect" at <$.Name>: can\'t evaluate field Name in type []interface {}');
    expect(fails('{{range .Nope}}{{end}}')).toBe('template: inspect:1:20: executing "inspect" at <.Nope>: can\'t evaluate field Nope in type interface {}');
  });

  it('execution errors', () => {
    const cases: [string, string][] = [
      ['{{index .Env 5}}', 'at <index .Env 5>: error calling index: index out of range: 5'],
      ['{{index .Env 2}}', 'at <index .Env 2>: error calling index: reflect: slice index out of range'],
      ['{{len .Labels.nope}}', 'error calling len: reflect: call of reflect.Value.Type on zero Value'],
      ['{{index .Labels.nope "a"}}', 'at <index .Labels.nope "a">: error calling index: index of untyped nil'],
      ['{{index .Labels 1}}', 'error calling index: value has type int; should be string'],
      ['{{eq 1 .Os}}', 'error calling eq: incompatible types for comparison'],
      ['{{lt 1 2.0}}', 'error calling lt: incompatible types for comparison'],
      ['{{.Os 1}}', 'at <.Os>: Os has arguments but cannot be invoked as function'],
      ['{{.Labels.a 1}}', 'at <.Labels.a>: a is not a method but has arguments'],
      ['{{nil}}', 'at <nil>: nil is not a command'],
      ['{{3 4}}', "at <3>: can't give argument to non-function 3"],
      ['{{range 3}}x{{end}}', "at <3>: range can't iterate over 3"],
      ['{{range .Os}}x{{end}}', "at <.Os>: range can't iterate over linux"],
      ['{{template "x"}}', 'template: inspect:1:23: executing "inspect" at <{{template "x"}}>: template "x" not defined'],
    ];
    for (const [format, msg] of cases) {
      const m = fails(format);
      expect(m, format).toContain(msg);
      expect(m).not.toContain('\n');
    }
  });

  it('parse errors', () => {
    const cases: [string, string][] = [
      ['{{.Os', 'template: inspect:2: unexpected "{" in operand'],
      ['{{with $x := .Os}}{{$x}}{{end}}{{$x}}', 'template: inspect:1: undefined variable "$x"'],
      ['{{if}}{{end}}', 'template: inspect:1: missing value for if'],
      ['{{end}}', 'template: inspect:2: unexpected {{end}}'],
      ['{{range .Env}}', 'template: inspect:2: unexpected EOF'],
      ['{{define "x"}}a{{end}}', 'template: inspect:1: unexpected <define> in command'],
      ['{{"a" | "b"}}', 'template: inspect:1: non executable command in pipeline stage 2'],
      ['{{"abc}}', 'template: inspect:1: unterminated quoted string'],
      ['{{nosuch .Os}}', 'template: inspect:1: function "nosuch" not defined'],
    ];
    for (const [format, msg] of cases) expect(fails(format), format).toBe(`invalid --format ${JSON.stringify(format)}: ${msg}`);
  });

  it('the bare engine throws TemplateError', () => {
    expect(() => run('{{.X}}', val(struct('T', []), {}))).toThrow(TemplateError);
    expect(() => run('{{.X}}', val(struct('T', []), {}))).toThrow('template: t:1:2: executing "t" at <.X>: can\'t evaluate field X in type T');
  });
});

describe('skopeo around the template', () => {
  it('json and {{json .}} mean the JSON output', () => {
    for (const f of ['json', ' {{ json . }} ', '{{json .}}', '{{json}}', '\tjson\n']) expect(isJSONFormat(f), f).toBe(true);
    for (const f of ['{{json .Labels}}', 'JSON', '{{.}}']) expect(isJSONFormat(f), f).toBe(false);
  });

  it('normalizeFormat: \\t and \\n escapes, "table ", the final newline', () => {
    expect(normalizeFormat('{{.Os}}\\t{{.Architecture}}')).toBe('{{.Os}}\t{{.Architecture}}\n');
    expect(normalizeFormat('a\\n')).toBe('a\n');
    expect(normalizeFormat('table {{.Os}} {{.Architecture}}')).toBe('{{.Os}}\t{{.Architecture}}\n');
  });

  it('tabwrite aligns tab-separated cells as Go tabwriter (8, 2, 2, space) does, and flushes', () => {
    expect(tabwrite('a\tb\nc\n')).toBe('a       b\nc\n');
    expect(tabwrite('linux\tamd64\n20.10.7\t3\nend\n')).toBe('linux    amd64\n20.10.7  3\nend\n');
    expect(tabwrite('a\tbbbbbbbbbbbbb\tc\nxx\ty\tz\nq\n1\t2\n')).toBe('a       bbbbbbbbbbbbb  c\nxx      y              z\nq\n1       2\n');
    expect(tabwrite('no tabs\nat all')).toBe('no tabs\nat all');
    expect(fmt('{{.Os}}\\t{{.Architecture}}\\nx')).toBe('linux   amd64\nx\n');
  });
});

describe('Go values', () => {
  it('time.Time: RFC 3339 in, String() and MarshalJSON out, offsets kept', () => {
    const t = parseTime('2023-01-02T15:04:05.1234567+02:00');
    expect(timeString(t)).toMatch(/^2023-01-02 15:04:05.1234567 \+0200 /);
    expect(formatTime(t, '2006-01-02T15:04:05.999999999Z07:00')).toBe('2023-01-02T15:04:05.1234567+02:00');
    expect(timeString(parseTime('2023-01-02T15:04:05Z'))).toBe('2023-01-02 15:04:05 +0000 UTC');
    expect(() => parseTime('2023-13-02T15:04:05Z')).toThrow(/month out of range/);
    expect(() => parseTime('yesterday')).toThrow(/RFC 3339/);
  });

  it('json: Go field order, omitempty, sorted maps, HTML escaped or not; MarshalIndent', () => {
    const T = struct('T', [
      ['B', STRING, 'b', true],
      ['A', mapOf(STRING, STRING), 'a'],
      ['L', sliceOf(STRING), 'l', true],
      ['E', sliceOf(STRING), 'e'],
    ]);
    const v = val(T, {
      B: '',
      A: new Map([
        ['z', '<'],
        ['a', '\u2028'],
      ]),
      L: [],
      E: null,
    });
    expect(jsonEncode(v)).toBe('{"a":{"a":"\\u2028","z":"\\u003c"},"e":null}');
    expect(jsonEncode(v, false)).toBe('{"a":{"a":"\\u2028","z":"<"},"e":null}');
    expect(jsonIndent('{"a":{},"b":[],"c":[1,{"d":"x,y:z"}]}', '    ')).toBe(
      '{\n    "a": {},\n    "b": [],\n    "c": [\n        1,\n        {\n            "d": "x,y:z"\n        }\n    ]\n}',
    );
  });

  it('json.Unmarshal into v1.Image: keys matched case-insensitively, unknown keys dropped, wrong types refused', () => {
    const raw = jsonDecode(ptrTo(V1_IMAGE), {
      Architecture: 'arm64',
      OS: 'linux',
      container_config: { Cmd: ['x'] },
      config: { labels: { b: '1', a: '2' }, Env: null },
      rootfs: { type: 'layers' },
    });
    const img = val(ptrTo(V1_IMAGE), raw);
    expect(configJSON(img)).toBe(
      '{\n    "architecture": "arm64",\n    "os": "linux",\n    "config": {\n        "Labels": {\n            "a": "2",\n            "b": "1"\n        }\n    },\n    "rootfs": {\n        "type": "layers",\n        "diff_ids": null\n    }\n}\n',
    );
    expect(() => configValue({ config: { User: 5 } }, 'config of x')).toThrow(
      'config of x: json: cannot unmarshal number into Go struct field Image.config.User of type string',
    );
    expect(() => configValue({ created: 'today' }, 'config of x')).toThrow(/config of x: parsing time "today"/);
    expect(() => configValue([], 'config of x')).toThrow('json: cannot unmarshal array into Go value of type v1.Image');
  });

  it('--config templates see v1.Image (Go field names, not JSON ones)', () => {
    const img = configValue(
      { architecture: 'amd64', os: 'linux', config: { ExposedPorts: { '80/tcp': {} }, Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: ['sha256:aa'] } },
      'c',
    );
    const f = (t: string) => renderFormat(compileFormat(t), img);
    expect(f('{{.OS}} {{.Config.ExposedPorts}} {{.RootFS.DiffIDs}} {{.Created}}')).toBe('linux map[80/tcp:{}] [sha256:aa] <nil>\n');
    expect(f('{{printf "%+v" .RootFS}}')).toBe('{Type:layers DiffIDs:[sha256:aa]}\n');
    expect(f('{{.}}')).toBe('{<nil>  amd64  linux  [] { map[80/tcp:{}] [] [] [/bin/sh] map[]  map[]  false} {layers [sha256:aa]} []}\n');
    expect(() => f('{{.Os}}')).toThrow("can't evaluate field Os in type interface {}");
  });

  it('inspect JSON: maps sorted, HTML escaped, LayersData', () => {
    const j = inspectJSON({ ...out, Labels: { b: '<', '10': 'x', '9': 'y' } });
    expect(j).toContain('"Labels": {\n        "10": "x",\n        "9": "y",\n        "b": "\\u003c"\n    },');
    expect(JSON.parse(j).LayersData).toEqual(out.LayersData);
    expect(j.endsWith('}\n')).toBe(true);
  });
});
