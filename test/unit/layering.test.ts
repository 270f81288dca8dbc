import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** importsOf lists the module specifiers of a file's import/export-from statements and dynamic imports. */
function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of src.matchAll(re)) specs.push((m[1] ?? m[2])!);
  return specs;
}

const rel = (f: string) => relative(root, f).split(sep).join('/');

describe('layering', () => {
  const libFiles = tsFiles(join(root, 'lib'));

  it('finds the sources and their imports', () => {
    expect(libFiles.map(rel)).toContain('lib/ref/index.ts');
    expect(libFiles.map(rel)).toContain('lib/oci/manifest.ts');
    expect(importsOf(join(root, 'lib/ref/index.ts'))).toContain('../errors.js');
    expect(importsOf(join(root, 'lib/oci/digest.ts'))).toContain('node:crypto');
  });

  it('no file under lib/ imports from cmds/', () => {
    const bad = libFiles.flatMap((f) =>
      importsOf(f)
        .filter((s) => s.startsWith('.') && rel(resolve(dirname(f), s)).startsWith('cmds/'))
        .map((s) => `${rel(f)} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('lib/oci and lib/ref import only node: built-ins, each other and lib/errors.ts', () => {
    const allowed = (target: string) => target.startsWith('lib/oci/') || target.startsWith('lib/ref/') || target === 'lib/errors.js' || target === 'lib/errors.ts';
    const pure = libFiles.filter((f) => /^lib\/(oci|ref)\//.test(rel(f)));
    expect(pure.length).toBeGreaterThanOrEqual(8);
    const bad = pure.flatMap((f) =>
      importsOf(f)
        .filter((s) => !(s.startsWith('node:') || (s.startsWith('.') && allowed(rel(resolve(dirname(f), s))))))
        .map((s) => `${rel(f)} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });
});
