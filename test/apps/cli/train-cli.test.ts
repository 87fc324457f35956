// The train, merge, generate and compile commands as the user runs them. Flag handling runs
// in-process through main(); what needs a real process (exit codes and stderr of a failing run, a
// SIGKILL in the middle of training) spawns `node bin/rankfold.js`, which costs ~1.5-3 s each.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { readCheckpointDir } from '../../../runtime/io/node-fs.ts';
import { runTrainJob } from '../../../runtime/train/train-job.ts';
import { CHAR_GPT, REPO, TINY_SET, TINY_SET_FLAGS, tmpDir, writeBase, writeJsonl, writeText } from '../../runtime/train/fixtures.ts';

function spawnCli(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/rankfold.js'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const TRAIN = ['train', CHAR_GPT, ...TINY_SET_FLAGS, '--backend', 'interp', '--batch', '4', '--seq', '16', '--eval-every', '0'];

describe('rankfold train (in-process)', () => {
  it('applies flags over the spec and says when the base is a fresh init', async () => {
    const dir = tmpDir('cli-train');
    const out = path.join(dir, 'out');
    const r = await run([...TRAIN, '--data', writeJsonl(dir), '--out', out, '--steps', '3', '--rank', '2', '--alpha', '4', '--lr', '1e-2', '--seed', '5']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('weights:  fresh init (GPT-2 style, seed 5): no --weights given');
    expect(r.out).toContain('training: LoRA r=2 alpha=4 on 2 modules (q_proj, v_proj)');
    expect(r.out).toMatch(/run: +3 steps, batch 4, AdamW lr 0.01 \(cosine, warm-up 20\)/);
    expect(r.out).toMatch(/train step 3\/3 \(100%\) loss \d+\.\d{4} \| \d+ tok\/s \| ETA 0s/);
    expect(r.out).toMatch(/done: step 3, loss/);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 2, lora_alpha: 4 });
  });

  it('rejects bad flag values with one-line errors', async () => {
    const dir = tmpDir('cli-bad');
    const data = writeJsonl(dir);
    expect((await run([...TRAIN, '--data', data, '--out', dir, '--steps', 'x'])).err).toMatch(/option '--steps <n>' argument 'x' is invalid\. expected an integer/);
    const seq = await run([...TRAIN, '--data', data, '--out', dir, '--seq', '100']);
    expect(seq).toMatchObject({ code: 1, err: `rankfold: --seq 100 is longer than the 64 positions ${CHAR_GPT} has\n` });
    const tok = await run([...TRAIN, '--data', data, '--out', dir, '--tokenizer', 'gpt2']);
    expect(tok.err).toMatch(/^rankfold: tokenizer gpt2 has 50257 ids but .* has a vocabulary of 256: the tokenizer is not this model's\n$/);
  });
});

describe('rankfold merge / generate / compile (in-process)', () => {
  it('merges, and generates with several adapters over one base', async () => {
    const dir = tmpDir('cli-gen');
    const weights = writeBase(dir);
    const data = writeText(dir);
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const common = { spec: CHAR_GPT, set: TINY_SET, data, weights, backend: 'interp' as const, batch: 4, seq: 16, steps: 5, lr: 5e-2, warmup: 0, evalEvery: 0 };
    await runTrainJob({ ...common, out: a, seed: 1 });
    await runTrainJob({ ...common, out: b, seed: 2, rank: 8, alpha: 16 });
    const merged = path.join(dir, 'merged.safetensors');
    const m = await run(['merge', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--adapter', a, '--out', merged]);
    expect(m).toMatchObject({ code: 0, err: '' });
    expect(m.out).toBe(`merged ${a} into 2 layers of ${weights}; wrote ${merged}\n`);
    const gen = ['generate', CHAR_GPT, ...TINY_SET_FLAGS, '--backend', 'interp', '--prompt', 'ab', '--max-new-tokens', '6'];
    const both = await run([...gen, '--weights', weights, '--adapter', a, '--adapter', b]);
    expect(both.code).toBe(0);
    const lines = both.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`=== ${a}`);
    expect(lines[2]).toBe(`=== ${b}`);
    const fromMerged = await run([...gen, '--weights', merged]);
    // The merged model reproduces adapter a's greedy output.
    expect(fromMerged.out).toBe(lines[1] + '\n');
    const onlyB = await run([...gen, '--weights', weights, '--adapter', b]);
    expect(onlyB.out).toBe(lines[3] + '\n');
  });

  it('compile --emit ir (after each graph stage), wgsl, plan and dot', async () => {
    const base = ['compile', CHAR_GPT, ...TINY_SET_FLAGS, '--batch', '2', '--seq', '8'];
    const ir = await run([...base, '--emit', 'ir']);
    expect(ir.out).toMatch(/^%0 = input\(\) \{name="ids", dtype="i32", shape=\[2, 8\]\}/);
    expect(ir.out).toContain('adamw');
    expect((await run([...base, '--emit', 'ir', '--mode', 'eval'])).out).not.toContain('adamw');
    // --after STAGE: the graph as each stage leaves it; gradients appear with autodiff, AdamW with the optimizer.
    const after = async (stage: string) => (await run([...base, '--emit', 'ir', '--after', stage])).out;
    const lowered = await after('lower');
    expect(lowered).toMatch(/^%0 = input\(\)/);
    expect(lowered).not.toMatch(/_grad\(/);
    const differentiated = await after('autodiff');
    expect(differentiated).toMatch(/_grad\(/);
    expect(differentiated).not.toContain('adamw');
    expect(await after('optimizer')).toContain('adamw');
    expect(await after('passes')).toBe(ir.out);
    expect((await run([...base, '--emit', 'ir', '--after', 'emit'])).err).toBe('rankfold: --after must be one of lower, split, autodiff, optimizer, passes, got "emit"\n');
    expect((await run([...base, '--emit', 'plan', '--after', 'lower'])).err).toBe('rankfold: --after applies to --emit ir or dot (--emit plan runs to the plan stage)\n');
    expect((await run([...base, '--emit', 'wgsl'])).out).toMatch(/@compute @workgroup_size/);
    const plan = await run([...base, '--emit', 'plan']);
    expect(plan.out).toMatch(/^frozen_weights +\d+ B/m);
    expect(plan.out).toMatch(/^optimizer_state +\d+ B/m);
    expect(plan.out).toMatch(/^total +\d+ B .* buffers for \d+ nodes$/m);
    // bf16 weights: frozen matrices at 2 bytes per element; a 4 KiB binding splits the 256 x 16 embedding
    // (16 KiB in f32, 8 KiB in bf16) and the LM head into row chunks, listed after the totals; the LM
    // head in chunks of 64 rows, so that each chunk of its [2, 8, 64] f32 logits fits too.
    const frozen = (text: string) => Number(/^frozen_weights +(\d+) B/m.exec(text)?.[1]);
    const bf16 = await run([...base, '--emit', 'plan', '--dtype', 'bf16']);
    expect(frozen(bf16.out)).toBeLessThan(frozen(plan.out) * 0.6);
    const small = await run([...base, '--emit', 'plan', '--dtype', 'bf16', '--max-binding', '4096']);
    expect(small.out).toMatch(/^split: wte\.weight \(256 rows\) into 2 chunks of <= 128 rows to fit maxStorageBufferBindingSize 4,096$/m);
    expect(small.out).toMatch(/^split: lm_head\.weight \(256 rows\) into 4 chunks of <= 64 rows/m);
    expect((await run([...base, '--emit', 'plan', '--dtype', 'f8'])).err).toBe('rankfold: --dtype must be one of f32, bf16, f16, got "f8"\n');
    const dot = await run([...base, '--emit', 'dot', '--no-fuse']);
    expect(dot.out).toMatch(/^digraph "char_gpt" \{/);
    expect((await run([...base, '--emit', 'svg'])).err).toBe('rankfold: --emit must be one of ir, wgsl, plan, dot, got "svg"\n');
  });
});

describe('rankfold train (child process)', () => {
  it('corrupt and truncated --weights files give one-line errors, exit 1, no stack trace', async () => {
    const dir = tmpDir('cli-corrupt');
    const data = writeJsonl(dir);
    const good = fs.readFileSync(writeBase(dir));
    const truncated = path.join(dir, 'truncated.safetensors');
    fs.writeFileSync(truncated, good.subarray(0, good.length - 100));
    const corrupt = path.join(dir, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, Buffer.concat([Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": not json!}'), good.subarray(24)]));
    const [t, c] = await Promise.all(
      [truncated, corrupt].map((w, i) => spawnCli([...TRAIN, '--data', data, '--out', path.join(dir, `o${i}`), '--weights', w]).done),
    );
    for (const [r, file] of [[t!, truncated], [c!, corrupt]] as const) {
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^rankfold: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('a run killed mid-training leaves a valid checkpoint, and --resume continues the same loss curve', async () => {
    const dir = tmpDir('cli-kill');
    const data = writeText(dir);
    const flags = ['--steps', '40', '--lr', '3e-2', '--warmup', '5', '--seed', '7', '--save-every', '1', '--data', data];
    const out = path.join(dir, 'killed');
    const { child, done } = spawnCli([...TRAIN, ...flags, '--out', out]);
    const ck = path.join(out, 'checkpoint');
    // SIGKILL as soon as the first checkpoint lands, while later ones are being written.
    while (!fs.existsSync(path.join(ck, 'trainer_state.json'))) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // A reader sees a whole checkpoint, or (killed after a checkpoint's commit point) refuses to
    // read a half-moved one; either way it changes nothing. The resuming writer finishes it.
    const before = fs.readdirSync(ck).sort();
    let readable: number | undefined;
    try {
      readable = readCheckpointDir(ck).state.step;
    } catch (err) {
      expect((err as Error).message).toMatch(/a Rankfold write into this folder was interrupted/);
    }
    expect(fs.readdirSync(ck).sort()).toEqual(before);
    expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(false);

    const resumed = await spawnCli([...TRAIN, ...flags, '--out', out, '--resume']).done;
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const step = Number(new RegExp(`resuming from ${ck} at step (\\d+)`).exec(resumed.stdout)?.[1]);
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(40);
    if (readable !== undefined) expect(step).toBe(readable);

    const whole = path.join(dir, 'whole');
    await runTrainJob({ spec: CHAR_GPT, set: TINY_SET, data, out: whole, backend: 'interp', batch: 4, seq: 16, evalEvery: 0, steps: 40, lr: 3e-2, warmup: 5, seed: 7, saveEvery: 40 });
    expect(fs.readFileSync(path.join(out, 'loss.csv'), 'utf8')).toBe(fs.readFileSync(path.join(whole, 'loss.csv'), 'utf8'));
    expect(fs.readFileSync(path.join(out, 'adapter_model.safetensors'))).toEqual(fs.readFileSync(path.join(whole, 'adapter_model.safetensors')));
  });
});
