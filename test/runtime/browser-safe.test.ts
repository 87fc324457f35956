// The browser-safe entry (runtime/core.ts) and the playground page reach no Node-only module: no
// Node built-in, no Node-only package, no `process`/`Buffer` global, except Dawn behind
// device.ts's dynamic import (vite marks 'webgpu' external, and a page always has navigator.gpu).
// A bundler fails on some of these only at build time and on others only in the page; this walks
// the import graph (TypeScript's pre-processor, as test/architecture.test.ts does) instead.
import { describe, expect, it } from 'vitest';
import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Packages that only work in Node (Dawn's binding, a terminal progress bar). */
const NODE_ONLY_PACKAGES = new Set(['webgpu', 'cli-progress']);
/** device.ts loads Dawn with import('webgpu') only when there is no navigator.gpu. */
const ALLOWED_DYNAMIC = new Set(['webgpu']);
const NODE_GLOBALS = /\b(?:process\.(?:stdout|stderr|exit|argv|cwd|on)|Buffer\.|require\(|__dirname|__filename)/;

function isNodeBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec) || builtinModules.includes(spec.split('/')[0]!);
}

/** Every module reachable from `entry` (type-only imports included: harmless) and what each brings in. */
function walk(entry: string): { files: string[]; problems: string[] } {
  const seen = new Set<string>();
  const problems: string[] = [];
  const stack = [path.resolve(ROOT, entry)];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    const info = ts.preProcessFile(text, true, true);
    const dynamic = new Set([...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!));
    for (const { fileName } of info.importedFiles) {
      const spec = fileName.replace(/\?raw$/, '');
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        if (/\.(ts|mts|js|mjs)$/.test(target)) stack.push(target);
      } else if (isNodeBuiltin(spec)) problems.push(`${rel}: imports the Node built-in '${spec}'`);
      else if (NODE_ONLY_PACKAGES.has(spec) && !(dynamic.has(spec) && ALLOWED_DYNAMIC.has(spec))) problems.push(`${rel}: imports the Node-only package '${spec}'`);
    }
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const global = NODE_GLOBALS.exec(code);
    if (global) problems.push(`${rel}: uses the Node global ${global[0]}`);
  }
  return { files: [...seen].map((f) => path.relative(ROOT, f)), problems };
}

describe('browser-safe modules', () => {
  it('runtime/core.ts reaches nothing Node-only', () => {
    const { files, problems } = walk('runtime/core.ts');
    expect(problems).toEqual([]);
    // It does reach the compiler, the executors, the device, the PEFT writers and the charts.
    for (const f of ['compiler/compile.ts', 'runtime/exec/gpu-executor.ts', 'runtime/device/device.ts', 'runtime/io/peft.ts', 'runtime/io/safetensors-reader.ts', 'runtime/report/charts.ts']) {
      expect(files).toContain(f);
    }
  });

  it('the playground page (apps/playground/src/main.ts) reaches nothing Node-only', () => {
    const { files, problems } = walk('apps/playground/src/main.ts');
    expect(problems).toEqual([]);
    for (const f of ['apps/playground/src/engine.ts', 'runtime/core.ts', 'apps/tasks/demo.ts']) expect(files).toContain(f);
  });

  it('the walk finds a Node import where there is one', () => {
    expect(walk('runtime/index.ts').problems.join('\n')).toMatch(/runtime\/io\/node-fs\.ts: imports the Node built-in 'node:fs'/);
  });
});
