import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../../lib/ref/index.js';

/**
 * Code outside lib/transport/ never decides anything by a transport's name: it asks the transport
 * for a capability (lib/transport/capabilities.ts) or, before one is opened, for the traits of its
 * kind (transportTraits in lib/transport/index.ts). This test reads every file of cmds/ and lib/
 * except lib/transport/ and lib/ref/ (the reference grammar, which parses and formats references
 * and so names every transport) and fails naming each place that does, by these rules
 * (docs/architecture.md, "Where to add"):
 *
 *  1. no read of a reference's `transport` field (`ref.transport`, `r['transport']`,
 *     `const { transport } = ref`); building a reference (`{ transport: 'oci', path }`) is fine;
 *  2. no transport name as a string compared (`=== 'docker'`, `!==`, `==`, `!=`), as a `case`
 *     label, or in an array literal that `.includes`/`.indexOf` is asked of. 'oci' alone is
 *     left out: it is also the name of a manifest format (`--format oci`), and a transport kind
 *     reaches code only through rule 1;
 *  3. no test of a string for a transport's prefix (`x.startsWith('docker://')`, a comparison with
 *     `'oci-archive:…'`, a regex literal naming `docker://` or `…-archive:`), except a regex that
 *     `.replace` strips a prefix with;
 *  4. no import from a transport's own folder: only lib/transport/index.ts, types.ts,
 *     capabilities.ts and signature-blob.ts are imported from outside (so no class to cast to or
 *     test with `instanceof`), and no `instanceof …Transport`.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const rel = (f: string) => relative(root, f).split(sep).join('/');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const EXEMPT = ['lib/transport/', 'lib/ref/'];
const PUBLIC_FACE = ['index', 'types', 'capabilities', 'signature-blob'].map((f) => `lib/transport/${f}.ts`);
/** Rule 2's names: every transport but 'oci', which is also a manifest format. */
const NAMES = new Set<string>(TRANSPORTS.filter((t) => t !== 'oci'));
/** Rule 3's prefixes: how a reference of each transport starts. */
const PREFIXES = TRANSPORTS.map((t) => (t === 'docker' ? 'docker://' : `${t}:`));
const COMPARISONS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

const textOf = (n: ts.Node): string | undefined => (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) ? n.text : undefined);
const namesPrefix = (s: string) => PREFIXES.some((p) => s.startsWith(p));
/** A regex's source names a transport's prefix: docker://, KIND:, or …-archive: as in (?:oci|docker)-archive:. */
const regexNamesPrefix = (source: string) => {
  const plain = source.replace(/\\(.)/g, '$1');
  return PREFIXES.some((p) => plain.includes(p)) || plain.includes('-archive:');
};
const calledMethod = (call: ts.Node | undefined): string | undefined =>
  call && ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : undefined;

/** violations lists `line: what` for each place of one file's source that breaks a rule. */
export function violations(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const report = (n: ts.Node, why: string) =>
    out.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}: ${why}: ${n.getText(sf).slice(0, 80)}`);
  const visit = (n: ts.Node): void => {
    // Rule 1: the transport field of a reference.
    if (ts.isPropertyAccessExpression(n) && n.name.text === 'transport') report(n, "reads a reference's transport");
    if (ts.isElementAccessExpression(n) && textOf(n.argumentExpression) === 'transport') report(n, "reads a reference's transport");
    if (
      ts.isBindingElement(n) &&
      ((n.propertyName && ts.isIdentifier(n.propertyName) && n.propertyName.text === 'transport') ||
        (!n.propertyName && ts.isIdentifier(n.name) && n.name.text === 'transport'))
    ) {
      report(n, "reads a reference's transport");
    }
    // Rules 2 and 3 on comparisons and case labels.
    if (ts.isBinaryExpression(n) && COMPARISONS.has(n.operatorToken.kind)) {
      for (const side of [n.left, n.right]) {
        const s = textOf(side);
        if (s !== undefined && NAMES.has(s)) report(n, `compares with the transport name '${s}'`);
        else if (s !== undefined && namesPrefix(s)) report(n, `compares with a transport prefix '${s}'`);
      }
    }
    if (ts.isCaseClause(n)) {
      const s = textOf(n.expression);
      if (s !== undefined && NAMES.has(s)) report(n.expression, `case on the transport name '${s}'`);
    }
    if (ts.isArrayLiteralExpression(n) && ts.isPropertyAccessExpression(n.parent) && ['includes', 'indexOf'].includes(n.parent.name.text)) {
      const named = n.elements.map(textOf).filter((s): s is string => s !== undefined && NAMES.has(s));
      if (named.length > 0) report(n, `looks a value up among transport names (${named.join(', ')})`);
    }
    // Rule 3: prefix tests.
    if (ts.isCallExpression(n) && ['startsWith', 'endsWith', 'includes', 'indexOf'].includes(calledMethod(n) ?? '')) {
      const s = n.arguments[0] && textOf(n.arguments[0]);
      if (s !== undefined && namesPrefix(s)) report(n, `tests a string for the transport prefix '${s}'`);
    }
    if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const lit = n as ts.RegularExpressionLiteral;
      const source = lit.text.slice(1, lit.text.lastIndexOf('/'));
      const strips = ts.isCallExpression(n.parent) && calledMethod(n.parent) === 'replace' && n.parent.arguments[0] === n;
      if (regexNamesPrefix(source) && !strips) report(n, 'matches a transport prefix with a regex');
    }
    // Rule 4: a transport's own module, or its class.
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      checkImport(n, n.moduleSpecifier.text);
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && textOf(n.arguments[0]) !== undefined)
      checkImport(n, textOf(n.arguments[0])!);
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword && /Transport$/.test(n.right.getText(sf)))
      report(n, 'tests for a transport class');
    ts.forEachChild(n, visit);
  };
  const checkImport = (n: ts.Node, spec: string) => {
    if (!spec.startsWith('.')) return;
    const target = rel(resolve(dirname(resolve(root, file)), spec)).replace(/\.js$/, '.ts');
    if (target.startsWith('lib/transport/') && !PUBLIC_FACE.includes(target))
      report(n, `imports a transport's own module ${target} (import lib/transport/index.ts, types.ts or capabilities.ts)`);
  };
  visit(sf);
  return out;
}

describe('no code outside lib/transport decides by a transport name', () => {
  it('cmds/ and lib/ (but lib/transport/ and lib/ref/) name no transport kind in a comparison, a case, a prefix test or an import', () => {
    const files = [...tsFiles(join(root, 'cmds')), ...tsFiles(join(root, 'lib'))].map(rel).filter((f) => !EXEMPT.some((e) => f.startsWith(e)));
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => violations(f, readFileSync(join(root, f), 'utf8')));
    expect(found).toEqual([]);
  });

  it('finds each kind of check it is meant to find', () => {
    const file = 'lib/image/example.ts';
    const found = violations(
      file,
      [
        "if (ref.transport === 'dir') go();", // 1, 2
        'const { transport } = ref;', // 1
        "const k = r['transport'];", // 1
        "if (kind !== 'docker') stop();", // 2
        "switch (k) { case 'oci-archive': break; }", // 2
        "if (['docker-archive', 'oci-archive'].includes(k)) go();", // 2
        "if (arg.startsWith('docker://')) go();", // 3
        'const STDOUT = /^(?:oci|docker)-archive:\\/dev\\/stdout/;', // 3
        "import { OciLayoutTransport } from '../transport/oci-layout/index.js';", // 4
        'if (t instanceof OciLayoutTransport) go();', // 4
      ].join('\n'),
    );
    const lines = found.map((f) => Number(f.split(':')[1]));
    expect(new Set(lines)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  });

  it('leaves alone what is not a check of a transport', () => {
    const found = violations(
      'lib/image/example.ts',
      [
        "openTransport({ transport: 'docker', docker: repo });", // building a reference
        "if (format === 'oci') convert();", // the manifest format
        "const host = arg.replace(/^docker:\\/\\//, '');", // stripping a prefix
        'const name = `docker://${repo}`;', // formatting a reference
        "import { openTransport } from '../transport/index.js';",
        "import { canMount } from '../transport/capabilities.js';",
      ].join('\n'),
    );
    expect(found).toEqual([]);
  });
});
