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

/**
 * The layers, top to bottom (docs/decisions.md 17). A file may import its own layer and the layers
 * below it, never one above; within a layer the imports must not form a circle (the last test).
 * Every folder of lib/ must be named here, so a new one is placed on purpose.
 */
const LAYERS: { name: string; folders: string[] }[] = [
  { name: 'cmds', folders: ['cmds'] },
  { name: 'cli', folders: ['lib/cli'] },
  { name: 'stages', folders: ['lib/image', 'lib/copy', 'lib/sign'] },
  { name: 'policy', folders: ['lib/policy'] },
  { name: 'signature', folders: ['lib/signature'] },
  { name: 'sync', folders: ['lib/sync'] },
  { name: 'transport', folders: ['lib/transport'] },
  { name: 'auth', folders: ['lib/auth'] },
  { name: 'base', folders: ['lib/stream', 'lib/oci', 'lib/ref', 'lib/util'] },
  { name: 'errors', folders: ['lib/errors.ts'] },
];

/** layerOf gives the rank (0 = top) and name of a file's layer, undefined for a path outside the map. */
function layerOf(path: string): { rank: number; name: string } | undefined {
  const rank = LAYERS.findIndex((l) => l.folders.some((f) => path === f || path.startsWith(`${f}/`)));
  return rank < 0 ? undefined : { rank, name: LAYERS[rank]!.name };
}

/** localImports maps each file to the repository paths (.ts) of the files it imports by relative specifier, with the specifier. */
function localImports(files: string[]): Map<string, { spec: string; target: string }[]> {
  return new Map(
    files.map((f) => [
      rel(f),
      importsOf(f)
        .filter((s) => s.startsWith('.'))
        .map((spec) => ({ spec, target: rel(resolve(dirname(f), spec)).replace(/\.js$/, '.ts') })),
    ]),
  );
}

/** upwardImports names every import of `graph` that points to a higher layer than its file's. */
function upwardImports(graph: Map<string, { spec: string; target: string }[]>): string[] {
  const bad: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    for (const { spec, target } of imports) {
      const to = layerOf(target);
      if (from && to && to.rank < from.rank) bad.push(`${file} imports ${spec}: ${to.name} may not be imported by ${from.name}`);
    }
  }
  return bad;
}

/** cycles finds the import circles among `graph`'s files: one path per strongly connected component (Tarjan), as a → b → a. */
function cycles(graph: Map<string, { target: string }[]>): string[] {
  const next = (f: string) => [...new Set((graph.get(f) ?? []).map((i) => i.target).filter((t) => graph.has(t)))];
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || next(v).includes(v)) components.push(c);
    }
  };
  for (const f of [...graph.keys()].sort()) if (!index.has(f)) visit(f);
  // Name one circle through each component: the shortest path back to its first file (breadth first).
  return components.map((c) => {
    const members = new Set(c);
    const start = [...c].sort()[0]!;
    const from = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      for (const w of next(queue[i]!).filter((t) => members.has(t))) {
        if (w === start) {
          const path = [start];
          for (let p: string | undefined = queue[i]; p !== undefined && p !== start; p = from.get(p)) path.splice(1, 0, p);
          return [...path, start].join(' → ');
        }
        if (!from.has(w)) {
          from.set(w, queue[i]!);
          queue.push(w);
        }
      }
    }
    return c.join(' → ');
  });
}

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
    const allowed = (target: string) =>
      target.startsWith('lib/oci/') || target.startsWith('lib/ref/') || target === 'lib/errors.js' || target === 'lib/errors.ts';
    const pure = libFiles.filter((f) => /^lib\/(oci|ref)\//.test(rel(f)));
    expect(pure.length).toBeGreaterThanOrEqual(8);
    const bad = pure.flatMap((f) =>
      importsOf(f)
        .filter((s) => !(s.startsWith('node:') || (s.startsWith('.') && allowed(rel(resolve(dirname(f), s))))))
        .map((s) => `${rel(f)} imports ${s}`),
    );
    expect(bad).toEqual([]);
  });

  it('every folder of lib/ has a layer', () => {
    const unmapped = [...new Set(libFiles.map(rel).filter((f) => layerOf(f) === undefined))];
    expect(unmapped.map((f) => `${f} is in no layer of the map`)).toEqual([]);
  });

  it('imports point down the layers, never up', () => {
    expect(upwardImports(localImports([...libFiles, ...tsFiles(join(root, 'cmds'))]))).toEqual([]);
  });

  it('the files under lib/ import each other in no circle', () => {
    expect(cycles(localImports(libFiles)).map((c) => `import circle: ${c}`)).toEqual([]);
  });

  it('the checks find an upward import and a circle', () => {
    expect(layerOf('lib/transport/registry/client.ts')?.name).toBe('transport');
    expect(layerOf('lib/errors.ts')?.name).toBe('errors');
    expect(layerOf('lib/nowhere/x.ts')).toBeUndefined();
    const imports = new Map([
      [
        'lib/transport/x.ts',
        [
          { spec: '../cli/y.js', target: 'lib/cli/y.ts' },
          { spec: '../oci/z.js', target: 'lib/oci/z.ts' },
        ],
      ],
      [
        'lib/sign/a.ts',
        [
          { spec: '../image/b.js', target: 'lib/image/b.ts' },
          { spec: '../policy/c.js', target: 'lib/policy/c.ts' },
        ],
      ],
      [
        'lib/util/d.ts',
        [
          { spec: '../errors.js', target: 'lib/errors.ts' },
          { spec: '../stream/e.js', target: 'lib/stream/e.ts' },
          { spec: '../auth/f.js', target: 'lib/auth/f.ts' },
        ],
      ],
    ]);
    expect(upwardImports(imports)).toEqual([
      'lib/transport/x.ts imports ../cli/y.js: cli may not be imported by transport',
      'lib/util/d.ts imports ../auth/f.js: auth may not be imported by base',
    ]);
    const g = new Map([
      ['lib/a.ts', [{ target: 'lib/b.ts' }]],
      ['lib/b.ts', [{ target: 'lib/c.ts' }]],
      ['lib/c.ts', [{ target: 'lib/a.ts' }, { target: 'lib/d.ts' }]],
      ['lib/d.ts', []],
    ]);
    expect(cycles(g)).toEqual(['lib/a.ts → lib/b.ts → lib/c.ts → lib/a.ts']);
  });
});
