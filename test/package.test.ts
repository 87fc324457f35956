// The package as a user installs it: `npm pack`, the tarball unpacked into an empty project beside
// only the dependencies package.json declares (linked from this repo's node_modules: offline and
// fast; no tsx, no TypeScript compiler, no sources), then plain `node` imports every entry point,
// the shipped .d.ts files typecheck a consumer, and the `rankfold` bin runs.
// It packs the build in dist/: `npm test` runs `npm run build` first; run alone, this file builds
// when dist/ is missing or older than a source file.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The names each entry point exports, checked at run time and in its .d.ts. Extend it with the API. */
const PUBLIC_API: Record<string, readonly string[]> = {
  rankfold: [
    'loadSpec',
    'checkSpec',
    'compile',
    'targetFor',
    'specForModelType',
    'EXAMPLES_DIR',
    'createExecutor',
    'createGpu',
    'readSafetensorsFile',
    'readAdapterDir',
    'ModelFolder',
    'writeModelFolder',
    'HfTokenizer',
    'runTrainJob',
    'mergeAdapterIntoBase',
    'generateTexts',
    'Generator',
    'describePath',
    'verifyCase',
    'Engine',
    'loadModelFolder',
    'UserError',
  ],
  'rankfold/compiler': ['checkSpec', 'formatDiagnostics', 'planMemory', 'emitWgsl', 'printGraph', 'interpret', 'UserError', 'compile', 'makeTarget', 'OPS', 'RECOMPUTE_MODES'],
};

/** What may ship: the build, the launcher, the example specs the runtime loads, and the docs. */
const SHIPPED = /^(dist\/.+\.(js|d\.ts)|bin\/rankfold\.js|dsl-examples\/[\w-]+\.rf|README\.md|LICENSE|package\.json)$/;

interface PackedPackage {
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
}

/** The latest change under `dir`: a folder's mtime moves when a file in it is added or deleted. */
function newestMtime(dir: string): number {
  let newest = fs.statSync(dir).mtimeMs;
  for (const entry of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) newest = Math.max(newest, fs.statSync(path.join(dir, entry)).mtimeMs);
  return newest;
}

/** Builds dist/ unless it is newer than every source file and build setting. */
function ensureBuild(): void {
  const marker = path.join(REPO, 'dist/runtime/index.js');
  const built = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
  const sources = Math.max(
    ...['compiler', 'runtime', 'apps'].map((d) => newestMtime(path.join(REPO, d))),
    ...['tsconfig.json', 'tsconfig.build.json'].map((f) => fs.statSync(path.join(REPO, f)).mtimeMs),
  );
  if (built >= sources) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

/** Links `name` from this repo's node_modules into the project, as an install would place it. */
function linkDependency(project: string, name: string): void {
  const target = path.join(REPO, 'node_modules', name);
  if (!fs.existsSync(target)) throw new Error(`dependency ${name} is not installed in ${REPO}/node_modules`);
  const link = path.join(project, 'node_modules', name);
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(target, link, 'dir');
}

function run(file: string, args: string[], cwd: string, timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the packed package, installed into an empty project', () => {
  let project: string;
  let installed: string;
  let shipped: string[];
  let pkg: PackedPackage;

  beforeAll(() => {
    ensureBuild();
    // Outside the repo, so nothing resolves from its node_modules by walking up.
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'rankfold-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: REPO, encoding: 'utf8', timeout: 60_000 }),
    ) as { filename: string; files: { path: string }[] }[];
    shipped = packed[0]!.files.map((f) => f.path);
    installed = path.join(project, 'node_modules', 'rankfold');
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(project, packed[0]!.filename), '-C', installed, '--strip-components=1']);
    pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as PackedPackage;
    for (const name of Object.keys(pkg.dependencies)) linkDependency(project, name);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  }, 300_000);
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  it('ships the build, the bin and the example specs, and no TypeScript sources', () => {
    expect(shipped.filter((f) => !SHIPPED.test(f))).toEqual([]);
    const entryFiles = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e['types']!, e['default']!]));
    const required = [...entryFiles, ...Object.values(pkg.bin), 'dsl-examples/llama.rf', 'dsl-examples/char-gpt.rf'].map((f) => f.replace(/^\.\//, ''));
    expect(required.filter((f) => !shipped.includes(f))).toEqual([]);
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  it('imports only .js files from the built JavaScript', () => {
    const relative = /(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.\.?\/[^'"]+)['"]/g;
    const bad: string[] = [];
    for (const file of shipped.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
      for (const m of fs.readFileSync(path.join(installed, file), 'utf8').matchAll(relative)) {
        if (!m[1]!.endsWith('.js')) bad.push(`${file}: ${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('loads every public name on plain node, without tsx, and finds its example specs', () => {
    const script = `
      const report = { missing: [], tsx: true };
      const api = ${JSON.stringify(PUBLIC_API)};
      for (const [entry, names] of Object.entries(api)) {
        const mod = await import(entry);
        for (const name of names) if (mod[name] === undefined) report.missing.push(entry + ': ' + name);
      }
      try { import.meta.resolve('tsx'); } catch { report.tsx = false; }
      const { loadSpec, specForModelType, EXAMPLES_DIR } = await import('rankfold');
      const { checkSpec } = await import('rankfold/compiler');
      const { readFileSync } = await import('node:fs');
      report.llama = loadSpec(specForModelType('llama')).name;
      report.mlp = checkSpec(readFileSync(EXAMPLES_DIR + '/mlp.rf', 'utf8'), 'mlp.rf').model?.name;
      console.log(JSON.stringify(report));`;
    const r = run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { missing: string[]; tsx: boolean; llama: string; mlp: string };
    expect(report.missing).toEqual([]);
    expect(report.tsx).toBe(false);
    expect(report).toMatchObject({ llama: 'llama', mlp: 'mlp' });
  });

  it('types a consumer through the shipped .d.ts files', () => {
    // A consumer brings its own Node types; everything else must come from the package.
    linkDependency(project, '@types/node');
    const imports = Object.entries(PUBLIC_API).map(([entry, names], i) => `import { ${names.map((n) => `${n} as n${i}_${n}`).join(', ')} } from '${entry}';`);
    const uses = Object.entries(PUBLIC_API).flatMap(([, names], i) => names.map((n) => `n${i}_${n}`));
    fs.writeFileSync(path.join(project, 'use.ts'), `${imports.join('\n')}\nexport const used = [${uses.join(', ')}];\n`);
    const compilerOptions = { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
    // Checking every shipped .d.ts and Node's types takes ~6 s alone, much longer on a loaded machine.
    const r = run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', '.'], project, 200_000);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 240_000);

  it('runs the rankfold bin on plain node', () => {
    const bin = path.join(installed, pkg.bin['rankfold']!);
    expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const help = run(process.execPath, [bin, '--help'], project);
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rankfold /);
    for (const command of ['check', 'compile', 'train', 'merge', 'generate', 'verify']) expect(help.stdout).toContain(`  ${command} `);
    const check = run(process.execPath, [bin, 'check', 'node_modules/rankfold/dsl-examples/mlp.rf'], project);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('ok: model mlp');
  });
});
