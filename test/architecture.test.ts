// The layering rules of spec/architecture.md, checked on the import graph of every source file
// (static imports, `export ... from`, `import type` and `import()` alike, read with TypeScript's own
// pre-processor so comments and strings never count):
//  - no import cycles anywhere;
//  - compiler/ runs in browsers: no Node built-ins, no `process` (environment variables) or other
//    Node globals, and no import of runtime/ or apps/;
//  - the library (compiler/, runtime/) never imports apps/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TREES = ['compiler', 'runtime', 'apps', 'bench', 'tools', 'bin'];
const SOURCE = /\.(ts|mts|js|mjs)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

const files = TREES.flatMap((t) => sourceFiles(join(ROOT, t))).map((f) => relative(ROOT, f));
const text = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));

/** Every module specifier a file imports or re-exports. */
const specifiers = new Map(files.map((f) => [f, ts.preProcessFile(text.get(f)!, true, true).importedFiles.map((i) => i.fileName)]));

/** Repository-relative targets of a file's relative imports (a vite `?raw` import names the file it reads as text). */
const edges = new Map(
  files.map((f) => [f, specifiers.get(f)!.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(f), s.replace(/\?raw$/, ''))))]),
);

const under = (tree: string) => (f: string) => f.startsWith(`${tree}/`);

/** One cycle per strongly connected component of more than one file (or a file importing itself). */
function findCycles(): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of edges.get(f) ?? []) {
      if (!edges.has(to)) continue;
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

function violations(from: (f: string) => boolean, bad: (target: string) => boolean): string[] {
  return files.filter(from).flatMap((f) => edges.get(f)!.filter(bad).map((to) => `${f} -> ${to}`));
}

const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', '__dirname', '__filename', 'global']);

/** Identifiers naming Node globals, with their line (comments and strings excluded). */
function nodeGlobalUses(file: string): string[] {
  const source = ts.createSourceFile(file, text.get(file)!, ts.ScriptTarget.Latest, true);
  const uses: string[] = [];
  const walk = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      uses.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${node.parent.getText().slice(0, 80)}`);
    }
    ts.forEachChild(node, walk);
  };
  walk(source);
  return uses;
}

describe('architecture', () => {
  it('reads the import graph of every source tree', () => {
    expect(files.filter(under('compiler')).length).toBeGreaterThan(50);
    expect(edges.get('compiler/compile.ts')).toContain('compiler/emit/index.ts');
    // import() and `export ... from` count as edges too.
    expect(edges.get('runtime/exec/create.ts')).toContain('runtime/exec/gpu-executor.ts');
    expect(edges.get('compiler/ir/types.ts')).toContain('compiler/ir/tensor.ts');
    // Every relative import names a source file that exists (so no edge is silently dropped); the
    // launcher's import of the build (dist/, absent from a checkout) is the one exception.
    const built = (to: string) => to.startsWith('dist/');
    const missing = files.flatMap((f) => edges.get(f)!.filter((to) => !text.has(to) && !built(to) && !statSafe(join(ROOT, to))).map((to) => `${f} -> ${to}`));
    expect(missing).toEqual([]);
  });

  it('has no import cycles', () => {
    const cycles = findCycles().map((c) => c.join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('compiler/ uses no Node API: no node: or built-in imports, no process.env or other Node globals', () => {
    const builtins = new Set(builtinModules);
    const imports = files
      .filter(under('compiler'))
      .flatMap((f) => specifiers.get(f)!.filter((s) => s.startsWith('node:') || builtins.has(s.split('/')[0]!)).map((s) => `${f} -> ${s}`));
    expect(imports).toEqual([]);
    expect(files.filter(under('compiler')).flatMap(nodeGlobalUses)).toEqual([]);
  });

  it('compiler/ never imports runtime/ or apps/; runtime/ never imports apps/', () => {
    expect(violations(under('compiler'), (to) => under('runtime')(to) || under('apps')(to))).toEqual([]);
    expect(violations(under('runtime'), under('apps'))).toEqual([]);
  });

  it('the checks can fail: a cycle and a Node global are found where they exist', () => {
    edges.set('compiler/__probe_a.ts', ['compiler/__probe_b.ts']);
    edges.set('compiler/__probe_b.ts', ['compiler/__probe_a.ts']);
    files.push('compiler/__probe_a.ts', 'compiler/__probe_b.ts');
    text.set('compiler/__probe_a.ts', "const seed = process.env['SEED'];\n");
    try {
      expect(findCycles().map((c) => c.join(' -> '))).toContainEqual('compiler/__probe_a.ts -> compiler/__probe_b.ts -> compiler/__probe_a.ts');
      expect(nodeGlobalUses('compiler/__probe_a.ts')).toEqual(["compiler/__probe_a.ts:1 process.env"]);
    } finally {
      files.splice(files.indexOf('compiler/__probe_a.ts'), 2);
      edges.delete('compiler/__probe_a.ts');
      edges.delete('compiler/__probe_b.ts');
      text.delete('compiler/__probe_a.ts');
    }
  });
});

function statSafe(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
