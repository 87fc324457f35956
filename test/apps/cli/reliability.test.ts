// Issue 18's hostile and careless cases, as a user runs them (spec/reliability.md): users' files in
// output folders survive, readers change nothing, non-finite weights are refused by name, absurd
// flags are refused with their range, one run per output folder, no empty folder after a failed
// run, and `ulimit -f` gives a plain error instead of a Bus error. In-process through main() where
// the exit code and stderr suffice; child processes for limits and raw crashes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { MANIFEST_NAME } from '../../../runtime/io/atomic.ts';
import { readAdapterDir, writeAdapterDir } from '../../../runtime/io/node-fs.ts';
import { loadSpec } from '../../../runtime/model/load-spec.ts';
import { writeModelFile } from '../../../runtime/model/base-weights.ts';
import { initBaseWeights } from '../../../runtime/model/weights.ts';
import { runTrainJob } from '../../../runtime/train/train-job.ts';
import { getGpu } from '../../helpers/gpu.ts';
import { CHAR_GPT, REPO, TINY_SET, TINY_SET_FLAGS, tmpDir, writeBase, writeText } from '../../runtime/train/fixtures.ts';

/** Runs the CLI in a child bash, after `pre` (e.g. a ulimit). */
function shell(pre: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${pre}; exec "${process.execPath}" bin/rankfold.js ${quoted}`], { cwd: REPO, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry under `dir` with its size and mtime: what "changed nothing" compares. */
function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const p = path.join(e.parentPath, e.name);
    const st = fs.statSync(p);
    return `${path.relative(dir, p)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`;
  }).sort();
}

const DEAD = 99999999;
const TRAIN = ['train', CHAR_GPT, ...TINY_SET_FLAGS, '--backend', 'interp', '--batch', '4', '--seq', '16', '--eval-every', '0', '--no-progress'];
const GEN = ['generate', CHAR_GPT, ...TINY_SET_FLAGS, '--backend', 'interp', '--prompt', 'ab', '--max-new-tokens', '3'];

/** A trained adapter in DIR/ad and its base weights. */
async function trained(tag: string): Promise<{ dir: string; adapter: string; weights: string; data: string }> {
  const dir = tmpDir(tag);
  const weights = writeBase(dir);
  const data = writeText(dir);
  const adapter = path.join(dir, 'ad');
  await runTrainJob({ spec: CHAR_GPT, set: TINY_SET, data, weights, out: adapter, backend: 'interp', batch: 4, seq: 16, steps: 2, evalEvery: 0 });
  return { dir, adapter, weights, data };
}

describe('output folders never destroy users\' files', () => {
  it('train --out keeps every file it did not make, in the folder and in checkpoint/, across --resume', async () => {
    const dir = tmpDir('rel-keep');
    const out = path.join(dir, 'X');
    fs.mkdirSync(path.join(out, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(out, 'checkpoint', 'notes.txt'), 'precious');
    fs.writeFileSync(path.join(out, 'README'), 'mine');
    const data = writeText(dir);
    expect(await run([...TRAIN, '--data', data, '--out', out, '--steps', '2'])).toMatchObject({ code: 0, err: '' });
    expect(await run([...TRAIN, '--data', data, '--out', out, '--steps', '3', '--resume'])).toMatchObject({ code: 0, err: '' });
    expect(fs.readFileSync(path.join(out, 'checkpoint', 'notes.txt'), 'utf8')).toBe('precious');
    expect(fs.readFileSync(path.join(out, 'README'), 'utf8')).toBe('mine');
    expect(fs.readdirSync(out).sort()).toEqual([MANIFEST_NAME, 'README', 'adapter_config.json', 'adapter_model.safetensors', 'checkpoint', 'loss.csv', 'loss.svg']);
    expect(fs.readdirSync(path.join(out, 'checkpoint')).sort()).toEqual([MANIFEST_NAME, 'adapter_config.json', 'adapter_model.safetensors', 'notes.txt', 'optimizer.safetensors', 'trainer_state.json']);
  });

  it('a file of the user\'s under an output name is refused before any work, and left as it was', async () => {
    const dir = tmpDir('rel-foreign');
    const out = path.join(dir, 'X');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'loss.csv'), 'my own log');
    const r = await run([...TRAIN, '--data', writeText(dir), '--out', out, '--steps', '2']);
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toBe(`rankfold: ${out}: loss.csv exists but Rankfold did not write it (not in ${MANIFEST_NAME}); Rankfold never replaces files it did not make: move it away or choose another output folder\n`);
    expect(fs.readdirSync(out)).toEqual(['loss.csv']);
    // demo --out likewise, for its adapter/ folder (refused before pretraining starts).
    fs.mkdirSync(path.join(dir, 'D', 'adapter'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'D', 'adapter', 'adapter_config.json'), '{}');
    const demo = await run(['demo', '--out', path.join(dir, 'D'), '--backend', 'interp', '--pretrain-steps', '1', '--lora-steps', '1']);
    expect(demo.err).toMatch(/D\/adapter: adapter_config\.json exists but Rankfold did not write it/);
  });

  it('an adapter folder written again keeps the user\'s files in it (as demo writes OUT/adapter)', async () => {
    const { adapter } = await trained('rel-adapter');
    fs.writeFileSync(path.join(adapter, 'notes.txt'), 'mine');
    writeAdapterDir(adapter, readAdapterDir(adapter));
    expect(fs.readFileSync(path.join(adapter, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('read commands change nothing', () => {
  it('inspect, generate, merge and verify leave leftovers alone and refuse a half-finished write', async () => {
    const { dir, adapter, weights } = await trained('rel-read');
    // Leftovers of killed writers: a staging folder (before its commit point) and a sibling.
    fs.mkdirSync(path.join(adapter, `.rankfold-staging-${DEAD}-00000000`));
    fs.mkdirSync(path.join(dir, 'ad.old-1234'));
    const merged = path.join(dir, 'merged.safetensors');
    const before = snapshot(dir);
    expect((await run(['inspect', adapter])).code).toBe(0);
    expect((await run([...GEN, '--weights', weights, '--adapter', adapter])).code).toBe(0);
    expect(snapshot(dir)).toEqual(before);
    expect((await run(['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--adapter', adapter, '--out', merged])).code).toBe(0);
    expect(snapshot(dir).filter((e) => !e.startsWith('merged.safetensors '))).toEqual(before);

    // Killed after its commit point: the adapter's files may not belong together.
    const commit = path.join(adapter, `.rankfold-commit-${DEAD}-00000000`);
    fs.mkdirSync(path.join(commit, 'files'), { recursive: true });
    fs.writeFileSync(path.join(commit, 'intent.json'), JSON.stringify({ files: [], remove: [] }));
    const pending = snapshot(dir);
    for (const args of [['inspect', adapter], [...GEN, '--weights', weights, '--adapter', adapter], ['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--adapter', adapter, '--out', merged]]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^rankfold: .*\/ad: a Rankfold write into this folder was interrupted \(\.rankfold-commit-99999999-00000000 holds its new files\)/);
    }
    const caseDir = path.join(dir, 'case');
    fs.cpSync(path.join(REPO, 'test/fixtures/conformance/llama_qv_r4'), caseDir, { recursive: true });
    fs.cpSync(commit, path.join(caseDir, 'adapter', path.basename(commit)), { recursive: true });
    const caseBefore = snapshot(caseDir);
    expect((await run(['verify', caseDir, '--backend', 'interp'])).err).toMatch(/was interrupted/);
    expect(snapshot(caseDir)).toEqual(caseBefore);
    expect(snapshot(dir).filter((e) => !e.startsWith('case'))).toEqual(pending);
  });
});

describe('non-finite weights are refused on load, by tensor name', () => {
  it('a NaN in the base: train, merge and generate name the tensor; nothing is written', async () => {
    const { dir, adapter, weights, data } = await trained('rel-nan');
    const model = loadSpec(CHAR_GPT, { overrides: TINY_SET });
    const w = initBaseWeights(model, 3);
    w.get('blocks.0.mlp.fc_in.weight')![17] = NaN;
    const nan = path.join(dir, 'nan.safetensors');
    // Written as another tool would write it (writeModelFile itself refuses NaN).
    const st = await import('../../../runtime/io/safetensors.ts');
    fs.writeFileSync(nan, st.serializeSafetensors(new Map([...w].map(([n, d]) => [n, { shape: model.weights.find((x) => x.name === n)!.shape, data: d }]))));
    const expected = `rankfold: ${nan}: tensor "blocks.0.mlp.fc_in.weight" holds NaN at index 17 (element [1, 1]); non-finite weights are refused (a corrupt, overflowed or diverged file)\n`;
    const out = path.join(dir, 'out');
    expect(await run([...TRAIN, '--data', data, '--weights', nan, '--out', out, '--steps', '2'])).toMatchObject({ code: 1, err: expected });
    expect(fs.existsSync(out)).toBe(false);
    const merged = path.join(dir, 'm.safetensors');
    expect(await run(['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', nan, '--adapter', adapter, '--out', merged])).toMatchObject({ code: 1, err: expected });
    expect(fs.existsSync(merged)).toBe(false);
    expect(await run([...GEN, '--weights', nan])).toMatchObject({ code: 1, out: '', err: expected });
    expect(writeModelFile).toBeDefined();
    expect(() => writeModelFile(path.join(dir, 'w.safetensors'), model, w)).toThrow(/w\.safetensors: tensor "blocks\.0\.mlp\.fc_in\.weight" holds NaN at index 17 .*; nothing written/);
    expect(fs.existsSync(path.join(dir, 'w.safetensors'))).toBe(false);
  });

  it('an Inf in an adapter: generate and merge name the adapter tensor', async () => {
    const { dir, adapter, weights } = await trained('rel-inf');
    const ad = readAdapterDir(adapter);
    ad.tensors.get('blocks.0.attn.v_proj')!.B.data[3] = -Infinity;
    writeAdapterDir(adapter, ad);
    const expected = `rankfold: ${adapter}: tensor "base_model.model.blocks.0.attn.v_proj.lora_B.weight" holds -Infinity at index 3 (element [0, 3]); non-finite weights are refused (a corrupt, overflowed or diverged file)\n`;
    expect(await run([...GEN, '--weights', weights, '--adapter', adapter])).toMatchObject({ code: 1, out: '', err: expected });
    const merged = path.join(dir, 'm.safetensors');
    expect(await run(['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--adapter', adapter, '--out', merged])).toMatchObject({ code: 1, err: expected });
    expect(fs.existsSync(merged)).toBe(false);
  });
});

describe('absurd flags are refused with their range', () => {
  it('train: --rank above what a module can use, --lr above 1; no --out folder is left behind', async () => {
    const dir = tmpDir('rel-flags');
    const data = writeText(dir);
    const out = path.join(dir, 'new', 'out');
    const rank = await run([...TRAIN, '--data', data, '--out', out, '--rank', '1000000000']);
    expect(rank).toMatchObject({ code: 1, err: 'rankfold: --rank 1000000000 is above 16, the most blocks.0.attn.q_proj (16 -> 16 features) can use: a LoRA update has rank at most min(in, out)\n' });
    const lr = await run([...TRAIN, '--data', data, '--out', out, '--lr', '1e30']);
    expect(lr.err).toBe('rankfold: --lr 1e+30 is above 1: an AdamW step moves every weight by about lr, so this would overwrite the weights at every step (LoRA rates are typically 1e-5 to 1e-2)\n');
    const seq = await run([...TRAIN, '--data', data, '--out', out, '--seq', '100']);
    expect(seq.err).toMatch(/--seq 100 is longer than the 64 positions/);
    expect(fs.readdirSync(dir)).toEqual(['ab.txt']);
  });

  it('generate: temperature, top-k and top-p outside their ranges', async () => {
    const dir = tmpDir('rel-sampling');
    const weights = writeBase(dir);
    const cases: [string[], string][] = [
      [['--temperature', '-1'], 'temperature must be a number >= 0 (0 = greedy), got -1'],
      [['--top-p', '2'], 'top-p must be in (0, 1] (1 = off), got 2'],
      [['--top-p', '0'], 'top-p must be in (0, 1] (1 = off), got 0'],
      [['--top-k', '-5'], 'top-k must be an integer >= 0 (0 = off), got -5'],
    ];
    for (const [flags, message] of cases) expect(await run([...GEN, '--weights', weights, ...flags])).toMatchObject({ code: 1, out: '', err: `rankfold: ${message}\n` });
  });

  it('demo --seed abc is refused, not read as 0', async () => {
    const dir = tmpDir('rel-seed');
    for (const seed of ['abc', '-1', '1.5', '']) {
      const r = await run(['demo', '--out', path.join(dir, 'D'), '--backend', 'interp', '--seed', seed]);
      expect(r).toMatchObject({ code: 1, err: `rankfold: --seed must be an integer from 0 to 4294967295, got "${seed}"\n` });
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a folder where a file is expected (spec, config, data, weights) is one plain line', async () => {
    const dir = tmpDir('rel-dir');
    const data = writeText(dir);
    const out = path.join(dir, 'out');
    expect((await run(['train', dir, '--data', data, '--out', out])).err).toBe(`rankfold: ${dir}: is a folder, expected a file\n`);
    expect((await run([...TRAIN, '--config', dir, '--data', data, '--out', out])).err).toBe(`rankfold: ${dir}: is a folder, expected a file\n`);
    expect((await run([...TRAIN, '--weights', dir, '--data', data, '--out', out])).err).toBe(`rankfold: ${dir}: is a folder, expected a file\n`);
    expect((await run(['check', dir])).code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('one run per output folder', () => {
  it('a second train into a folder in use is refused naming the pid; the first finishes', async () => {
    const dir = tmpDir('rel-race');
    const o = { spec: CHAR_GPT, set: TINY_SET, data: writeText(dir), out: path.join(dir, 'out'), backend: 'interp' as const, batch: 4, seq: 16, evalEvery: 0, steps: 3 };
    const first = runTrainJob(o); // takes the folder synchronously, before its first await
    await expect(runTrainJob(o)).rejects.toThrow(new RegExp(`^${o.out} is in use by pid ${process.pid} \\(this process\\) \\(rankfold train, started `));
    expect((await first).history).toHaveLength(3);
    expect(fs.existsSync(path.join(o.out, '.rankfold-lock'))).toBe(false);
  });
});

describe('a killed writer\'s temporary file', () => {
  it('merge --out removes the one a killed merge left (a dead pid), and keeps a live writer\'s', async () => {
    const { dir, adapter, weights } = await trained('rel-merge-tmp');
    const merged = path.join(dir, 'merged.safetensors');
    const dead = path.join(dir, `.merged.safetensors.rankfold-tmp-${DEAD}-00000000`);
    const live = path.join(dir, `.merged.safetensors.rankfold-tmp-${process.pid}-00000000`);
    fs.writeFileSync(dead, 'half a model');
    fs.writeFileSync(live, 'being written');
    expect((await run(['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--adapter', adapter, '--out', merged])).code).toBe(0);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});

describe('ulimit -f', () => {
  it('a write past the file-size limit is a plain EFBIG error, not a crash', () => {
    const dir = tmpDir('rel-fsize');
    const out = path.join(dir, 'kernels.wgsl'); // several KiB of WGSL
    const r = shell('ulimit -f 2', ['compile', CHAR_GPT, ...TINY_SET_FLAGS, '--emit', 'wgsl', '--out', out]);
    expect(r).toMatchObject({ code: 1, stderr: `rankfold: ${out}: file too large: the file size limit (ulimit -f) is 2048 bytes\n` });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('the GPU path on a CPU driver is refused up front instead of dying with a Bus error', async () => {
    const gpu = await getGpu();
    if (gpu instanceof Error || !/llvmpipe|lavapipe|swiftshader|software/i.test(gpu.adapterName)) return; // hardware drivers are not limited
    const r = shell('ulimit -f 100', ['doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rankfold: the file size limit \(ulimit -f\) is 102400 bytes, and the WebGPU adapter .* is a CPU driver .* Raise the limit \(ulimit -f unlimited\) or use --backend interp\n$/);
  });
});

describe('held-out evaluation is bounded', () => {
  it('evaluates at most --eval-rows rows and says so', async () => {
    const dir = tmpDir('rel-eval');
    const data = path.join(dir, 'long.txt');
    fs.writeFileSync(data, 'ab'.repeat(4000)); // one line: 500 rows of 16, 50 held out
    const r = await run([...TRAIN.filter((a, i, all) => a !== '--eval-every' && all[i - 1] !== '--eval-every'), '--eval-every', '1', '--eval-rows', '8', '--data', data, '--out', path.join(dir, 'out'), '--steps', '1']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('50 held out (evaluating 8 evenly spaced of them: --eval-rows)');
  });
});
