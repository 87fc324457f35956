// Issue 17's "done when", as a person runs it from a fresh clone (real sizes, so not in the unit suite):
//
//   npx tsx tools/real-model-e2e.ts [--backend webgpu|interp] [--only qwen,llama] [--work DIR]
//                                   [--qwen-layers N] [--llama-layers N] [--rebuild]
//
// 1. Qwen2.5-0.5B-shaped folder (real vocabulary and widths, 2 layers, bf16, two shards + index, the
//    real Qwen2.5 tokenizer): `rankfold train --model DIR --data chat.jsonl` (a few steps), generate
//    with the adapter, merge into a bf16 folder whose tensor names, shapes and dtypes equal the input's.
// 2. Llama-3.2-1B-shaped folder (16 layers, one 2.47 GB bf16 file, rope_scaling llama3, the real
//    Llama-3.2 tokenizer): generate a few tokens with a peak RSS well below the weights' F32 size.
//
// Every step runs the CLI as a user would (node bin/rankfold.js under /usr/bin/time -v for the peak
// RSS), streams its output here, and gets PASS or FAIL with the command's own error. Folders are kept in --work (default $TMPDIR/rankfold-real-e2e) and reused
// by the next run unless --rebuild. Exit status 0 only when every step passes.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFolder } from '../runtime/io/model-folder.ts';
import { buildRealModelFolder, f32Bytes, realModelTensors, REAL_MODELS, writeChatData, type BuildOptions, type RealModel } from './real-models.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** "Well below its F32 size": the peak RSS of generation at most this share of the weights in float32. */
const RSS_SHARE = 0.7;

interface Args {
  backend: string;
  only: Set<string>;
  work: string;
  qwenLayers: number;
  llamaLayers: number;
  rebuild: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { backend: 'webgpu', only: new Set(['qwen', 'llama']), work: path.join(os.tmpdir(), 'rankfold-real-e2e'), qwenLayers: 2, llamaLayers: 16, rebuild: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--backend') a.backend = v();
    else if (k === '--only') a.only = new Set(v().split(','));
    else if (k === '--work') a.work = path.resolve(v());
    else if (k === '--qwen-layers') a.qwenLayers = Number(v());
    else if (k === '--llama-layers') a.llamaLayers = Number(v());
    else if (k === '--rebuild') a.rebuild = true;
    else if (k !== '--') throw new Error(`unknown argument ${k} (known: --backend --only qwen,llama --work DIR --qwen-layers N --llama-layers N --rebuild)`);
  }
  return a;
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set of the process, bytes (from /usr/bin/time -v). */
  maxRss?: number;
  seconds: number;
}

/** Runs `rankfold ARGS` in a child process, echoing its output as it comes. */
function rankfold(args: string[]): Promise<CliRun> {
  const stats = path.join(os.tmpdir(), `rankfold-e2e-time-${process.pid}-${Date.now()}.txt`);
  const haveTime = fs.existsSync('/usr/bin/time');
  const cmd = haveTime ? '/usr/bin/time' : process.execPath;
  const argv = [...(haveTime ? ['-v', '-o', stats, process.execPath] : []), path.join(REPO, 'bin/rankfold.js'), ...args];
  console.log(`\n$ rankfold ${args.map((x) => (/\s/.test(x) ? JSON.stringify(x) : x)).join(' ')}`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      let maxRss: number | undefined;
      if (haveTime && fs.existsSync(stats)) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(fs.readFileSync(stats, 'utf8'));
        if (m) maxRss = Number(m[1]) * 1024;
        fs.rmSync(stats, { force: true });
      }
      resolve({ code: code ?? 1, stdout, stderr, ...(maxRss !== undefined ? { maxRss } : {}), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
}

const results: StepResult[] = [];
function record(step: string, ok: boolean, detail: string): boolean {
  results.push({ step, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${step}: ${detail}`);
  return ok;
}

const mib = (b: number | undefined) => (b === undefined ? '?' : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** WebGPU errors printed by a run that still exits 0 (they must fail the step, whatever the exit status). */
const DEVICE_ERROR = /WebGPU error|^validation:|Binding size \(\d+\)/m;

function cliStep(step: string, r: CliRun, extra = ''): boolean {
  const mem = `${r.seconds.toFixed(0)} s, peak RSS ${mib(r.maxRss)}`;
  const device = DEVICE_ERROR.exec(r.stderr + '\n' + r.stdout);
  if (r.code === 0 && device) {
    const line = (r.stderr + '\n' + r.stdout).split('\n').find((l) => /Binding size|WebGPU error/.test(l)) ?? device[0];
    return record(step, false, `exit 0 but the device failed (${mem}): ${line.slice(0, 200)} (a device error must exit nonzero)`);
  }
  if (r.code === 0) return record(step, true, `${mem}${extra}`);
  const err = r.stderr.trim().split('\n').filter((l) => l.startsWith('rankfold:') || /Error/.test(l))[0] ?? r.stderr.trim().split('\n').pop() ?? '';
  return record(step, false, `exit ${r.code} (${mem}): ${err.slice(0, 300)}`);
}

/** Builds the folder unless a previous run left one of the same shape (a marker records the options). */
async function ensureFolder(which: RealModel, dir: string, o: BuildOptions, rebuild: boolean): Promise<void> {
  const marker = path.join(path.dirname(dir), `.${path.basename(dir)}.built.json`);
  const want = JSON.stringify({ which, ...o });
  if (!rebuild && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want && fs.existsSync(path.join(dir, 'config.json'))) {
    console.log(`\nreusing ${dir} (--rebuild to write it again)`);
    return;
  }
  fs.rmSync(marker, { force: true });
  console.log(`\nwriting ${which} (${o.layers} layers, bf16, random weights) to ${dir} ...`);
  const t0 = performance.now();
  const { written } = await buildRealModelFolder(which, dir, { ...o, overwrite: true });
  console.log(`  ${written.shards.join(', ')}: ${(written.totalSize / 1e9).toFixed(3)} GB in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  fs.writeFileSync(marker, want);
}

async function layoutOf(dir: string): Promise<{ tensors: string[]; files: string[]; indexed: boolean }> {
  const f = await ModelFolder.open(dir);
  try {
    return { tensors: f.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape.join(', ')}]`).sort(), files: f.files, indexed: f.index !== undefined };
  } finally {
    await f.close();
  }
}

async function qwen(a: Args): Promise<void> {
  const dir = path.join(a.work, 'qwen2.5-0.5b');
  const maxShardSize = '300MB'; // the 272 MB embedding in the first shard, the layers in the second
  await ensureFolder('qwen2.5-0.5b', dir, { layers: a.qwenLayers, maxShardSize }, a.rebuild);
  const input = await layoutOf(dir);
  record('qwen: folder', input.files.length === 2 && input.indexed, `${input.files.join(' + ')}${input.indexed ? ' + model.safetensors.index.json' : ''}, ${input.tensors.length} tensors, bf16`);
  const data = writeChatData(path.join(a.work, 'chat.jsonl'));
  const adapter = path.join(a.work, 'qwen-adapter');
  fs.rmSync(adapter, { recursive: true, force: true });
  const trained = cliStep(
    'qwen: train --model DIR --data chat.jsonl',
    await rankfold(['train', '--model', dir, '--data', data, '--out', adapter, '--steps', '3', '--batch', '1', '--seq', '64', '--eval-every', '0', '--lr', '1e-3', '--no-progress', '--backend', a.backend]),
  );
  if (!trained) return;
  const g = await rankfold(['generate', '--model', dir, '--adapter', adapter, '--chat', '--prompt', 'What is 2 plus 3?', '--max-new-tokens', '8', '--backend', a.backend]);
  cliStep('qwen: generate --model DIR --adapter A --chat', g, `, printed ${JSON.stringify(g.stdout.trim().slice(0, 60))}`);
  const merged = path.join(a.work, 'qwen-merged');
  fs.rmSync(merged, { recursive: true, force: true });
  const m = await rankfold(['merge', '--model', dir, '--adapter', adapter, '--out', merged, '--max-shard-size', maxShardSize]);
  if (!cliStep('qwen: merge --model DIR --adapter A --out DIR2', m)) return;
  const out = await layoutOf(merged);
  const same = out.tensors.join('\n') === input.tensors.join('\n');
  const diff = input.tensors.filter((t) => !out.tensors.includes(t)).concat(out.tensors.filter((t) => !input.tensors.includes(t)));
  record('qwen: merged folder = input (names, shapes, dtypes)', same && out.indexed, same ? `${out.tensors.length} tensors, ${out.files.join(' + ')} + index` : `differ: ${diff.slice(0, 4).join('; ')}`);
}

async function llama(a: Args): Promise<void> {
  const dir = path.join(a.work, 'llama-3.2-1b');
  await ensureFolder('llama-3.2-1b', dir, { layers: a.llamaLayers }, a.rebuild);
  const input = await layoutOf(dir);
  const single = fs.statSync(path.join(dir, 'model.safetensors'), { throwIfNoEntry: false });
  record('llama: folder', input.files.length === 1 && single !== undefined, `${input.files.join(', ')}: ${((single?.size ?? 0) / 1e9).toFixed(2)} GB, ${input.tensors.length} tensors, rope_scaling llama3`);
  const f32 = f32Bytes(realModelTensors({ ...REAL_MODELS['llama-3.2-1b'].config, num_hidden_layers: a.llamaLayers }));
  const g = await rankfold(['generate', '--model', dir, '--prompt', 'The capital of France is', '--max-new-tokens', '4', '--backend', a.backend]);
  if (!cliStep('llama: generate --model DIR', g, `, printed ${JSON.stringify(g.stdout.trim().slice(0, 60))}`)) return;
  const ok = g.maxRss !== undefined && g.maxRss <= RSS_SHARE * f32;
  record(
    'llama: peak RSS well below the F32 size',
    ok,
    `${mib(g.maxRss)} vs ${mib(f32)} of float32 weights (limit ${Math.round(RSS_SHARE * 100)}%: ${mib(RSS_SHARE * f32)})`,
  );
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  fs.mkdirSync(a.work, { recursive: true });
  console.log(`real-model end-to-end check: backend ${a.backend}, work folder ${a.work}`);
  if (a.only.has('qwen')) await qwen(a);
  if (a.only.has('llama')) await llama(a);
  console.log('\n| step | result | detail |\n| --- | --- | --- |');
  for (const r of results) console.log(`| ${r.step} | ${r.ok ? 'PASS' : 'FAIL'} | ${r.detail.replace(/\|/g, '\\|')} |`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(failed === 0 ? `\nall ${results.length} steps pass` : `\n${failed} of ${results.length} steps FAIL`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  },
);
