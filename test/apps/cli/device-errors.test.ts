// Issue 18's device cases as a user runs them (spec/reliability.md "loud device errors"): a vocabulary
// whose embedding exceeds one storage binding trains (split by the compiler); a batch whose
// activations cannot fit is refused before anything runs, naming the tensor and the limit (LoRA and
// --full); a device error in the middle of a run stops it with a nonzero exit and writes no adapter or
// checkpoint; generate after a device error prints nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, vi } from 'vitest';
import { runCli as run } from '../../helpers/cli.ts';
import { GpuExecutor } from '../../../runtime/exec/gpu-executor.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { CHAR_GPT, TINY_SET_FLAGS, tmpDir, writeBase, writeText } from '../../runtime/train/fixtures.ts';

const TRAIN = ['train', CHAR_GPT, '--backend', 'webgpu', '--eval-every', '0', '--no-progress'];

/** Makes the n-th GpuExecutor.run destroy the buffer of `output` first: the submit then fails validation. */
function breakRun(n: number, output: string): void {
  const original = GpuExecutor.prototype.run;
  let runs = 0;
  vi.spyOn(GpuExecutor.prototype, 'run').mockImplementation(function (this: GpuExecutor) {
    if (++runs === n) {
      const id = this.graph.outputs[output] ?? this.graph.outputs[this.graph.outputParts?.[output]?.[0] ?? ''];
      this.program.bufferOf(id!)!.destroy();
    }
    original.call(this);
  });
}

afterEach(() => vi.restoreAllMocks());

describe('device limits and errors, from the command line', () => {
  gpuTest('train --set vocab=50257 --set d=1024 (GPT-2\'s tokenizer): the 206 MB embedding and LM head are split to fit, and it trains', async () => {
    const dir = tmpDir('dev-vocab');
    const out = path.join(dir, 'out');
    const r = await run([...TRAIN, '--set', 'vocab=50257', '--set', 'd=1024', '--tokenizer', 'gpt2', '--data', writeText(dir), '--out', out, '--steps', '1', '--batch', '1', '--seq', '8']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const loss = Number(/done: step 1, loss ([\d.]+)/.exec(r.out)?.[1]);
    // A random 50257-way classifier starts near log(50257) = 10.8.
    expect(loss).toBeGreaterThan(9);
    expect(loss).toBeLessThan(13);
    expect(fs.existsSync(path.join(out, 'adapter_model.safetensors'))).toBe(true);
  }, 300_000);

  for (const full of [false, true]) {
    gpuTest(`train --batch 4096 --seq 64${full ? ' --full' : ''}: refused before running, naming the tensor and the limit; nothing written`, async () => {
      const dir = tmpDir('dev-batch');
      const out = path.join(dir, 'out');
      const r = await run([...TRAIN, '--data', writeText(dir), '--out', out, '--steps', '1', '--batch', '4096', '--seq', '64', ...(full ? ['--full'] : [])]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/^rankfold: tensor "[^"]+" \(%\d+ \w+, f32\[4096, 64, \d+\]\) needs [\d,]+ bytes \([\d.]+ MiB\), more than the device's maxStorageBufferBindingSize of [\d,]+ bytes .*: use a smaller --batch or --seq/);
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  for (const full of [false, true]) {
    gpuTest(`a device error during train${full ? ' --full' : ''} stops it: nonzero exit, the buffer named, no adapter or checkpoint`, async () => {
      const dir = tmpDir('dev-fail');
      const out = path.join(dir, 'out');
      breakRun(2, 'loss');
      const r = await run([...TRAIN, ...TINY_SET_FLAGS, '--data', writeText(dir), '--out', out, '--steps', '3', '--batch', '2', '--seq', '8', '--save-every', '1', ...(full ? ['--full'] : [])]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/^rankfold: GPU validation error while running step 2 .*\[Buffer "loss"\] used in submit while destroyed.*nothing written from this run/);
      expect(r.out).not.toMatch(/done:/);
      // Step 1 succeeded and may be checkpointed; nothing after the failure, and no final adapter or model.
      expect(fs.existsSync(path.join(out, full ? 'model.safetensors' : 'adapter_model.safetensors'))).toBe(false);
      const state = path.join(out, 'checkpoint', 'trainer_state.json');
      if (fs.existsSync(state)) expect(JSON.parse(fs.readFileSync(state, 'utf8')).step).toBe(1);
    });
  }

  gpuTest('generate after a device error exits nonzero and prints no token', async () => {
    const weights = writeBase(tmpDir('dev-gen'));
    breakRun(2, 'logits');
    const r = await run(['generate', CHAR_GPT, ...TINY_SET_FLAGS, '--weights', weights, '--backend', 'webgpu', '--prompt', 'ab', '--max-new-tokens', '5']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/^rankfold: GPU validation error/);
    expect(r.out).not.toMatch(/\0/);
    expect(r.out).not.toMatch(/^ab/m);
  });
});
