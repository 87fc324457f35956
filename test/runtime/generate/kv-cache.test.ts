// Decoding with a KV cache must give the logits a full forward pass gives at the same position,
// for learned positions (char-gpt, GPT-2 style), RoPE with grouped-query attention (llama) and every
// shipped architecture (test/helpers/architectures.ts): llama3 RoPE, qwen2's biases and per-layer
// window, mistral's sliding window (shorter than the prompt), phi3's fused projections, partial
// rotary and longrope, gemma's norms and scaled embedding.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { OFFSET_INPUT, POSITIONS_INPUT } from '../../../compiler/lower/lower-model.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { stateNames, type Executor } from '../../../runtime/exec/executor.ts';
import { Generator } from '../../../runtime/generate/generator.ts';
import { compile } from '../../../compiler/compile.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { EXAMPLES_DIR, loadSpec, readConfigJson } from '../../../runtime/model/load-spec.ts';
import { initBaseWeights, setWeights } from '../../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { conformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { tinyArchitectures } from '../../helpers/architectures.ts';

function models(): Record<string, CheckedModel> {
  const llamaConfig = readConfigJson(join(conformanceCase('llama_qv_r4'), 'config.json'));
  return {
    'char-gpt': loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf')),
    llama: loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { config: llamaConfig }),
    ...Object.fromEntries(Object.entries(tinyArchitectures()).map(([k, m]) => [`tiny ${k}`, m])),
  };
}

const PROMPT = [5, 17, 3, 40, 8, 1, 22, 9];

/** Logits of every position from one full forward pass. */
async function fullLogits(exec: Executor, ids: number[]): Promise<Float32Array> {
  feedTokens(exec, Int32Array.from(ids), 1, ids.length, Int32Array.from(ids));
  exec.run();
  return (await exec.read('logits')) as Float32Array;
}

/** Logits of each position from the decoding graph, one token per run. */
async function cachedLogits(exec: Executor, ids: number[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let t = 0; t < ids.length; t++) {
    exec.setInput('ids', Int32Array.of(ids[t]!));
    exec.setInput(POSITIONS_INPUT, Int32Array.of(t));
    exec.setInput(OFFSET_INPUT, Int32Array.of(t));
    exec.run();
    out.push((await exec.read('logits')) as Float32Array);
  }
  return out;
}

async function compare(make: (m: CheckedModel, mode: 'eval' | 'decode') => Promise<Executor>, tol: number): Promise<void> {
  for (const [name, model] of Object.entries(models())) {
    const base = initBaseWeights(model, 3);
    const lora = initAdapterWeights(model, base, 4);
    const full = await make(model, 'eval');
    const dec = await make(model, 'decode');
    for (const e of [full, dec]) {
      setWeights(e, base);
      setWeights(e, lora);
    }
    const ref = await fullLogits(full, PROMPT);
    const steps = await cachedLogits(dec, PROMPT);
    const vocab = steps[0]!.length;
    steps.forEach((logits, t) => {
      let worst = 0;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(logits[v]! - ref[t * vocab + v]!));
      expect(worst, `${name} position ${t}`).toBeLessThan(tol);
    });
  }
}

/**
 * Prefill: the first `len` positions in one run of a decoding graph of width len, its cache copied
 * into the one-token graph, which goes on from there. Logits of every position, in order.
 */
async function prefilledLogits(wide: Executor, dec: Executor, ids: number[], len: number): Promise<Float32Array[]> {
  wide.setInput('ids', Int32Array.from(ids.slice(0, len)));
  wide.setInput(POSITIONS_INPUT, Int32Array.from(ids.slice(0, len), (_, t) => t));
  wide.setInput(OFFSET_INPUT, Int32Array.of(0));
  wide.run();
  const first = (await wide.read('logits')) as Float32Array;
  const vocab = first.length / len;
  const out: Float32Array[] = Array.from({ length: len }, (_, t) => first.slice(t * vocab, (t + 1) * vocab));
  for (const name of stateNames(wide.graph)) dec.setState(name, await wide.getState(name));
  for (let t = len; t < ids.length; t++) {
    dec.setInput('ids', Int32Array.of(ids[t]!));
    dec.setInput(POSITIONS_INPUT, Int32Array.of(t));
    dec.setInput(OFFSET_INPUT, Int32Array.of(t));
    dec.run();
    out.push((await dec.read('logits')) as Float32Array);
  }
  return out;
}

async function comparePrefill(make: (m: CheckedModel, mode: 'eval' | 'decode', seq: number) => Promise<Executor>, tol: number): Promise<void> {
  const len = 5;
  for (const [name, model] of Object.entries(models())) {
    const base = initBaseWeights(model, 3);
    const lora = initAdapterWeights(model, base, 4);
    const execs = [await make(model, 'eval', PROMPT.length), await make(model, 'decode', len), await make(model, 'decode', 1)] as const;
    for (const e of execs) {
      setWeights(e, base);
      setWeights(e, lora);
    }
    const ref = await fullLogits(execs[0], PROMPT);
    const steps = await prefilledLogits(execs[1], execs[2], PROMPT, len);
    const vocab = steps[0]!.length;
    expect(steps).toHaveLength(PROMPT.length);
    steps.forEach((logits, t) => {
      let worst = 0;
      for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(logits[v]! - ref[t * vocab + v]!));
      expect(worst, `${name} position ${t}`).toBeLessThan(tol);
    });
  }
}

describe('KV-cache decoding', () => {
  it('prefills several positions in one run like a full forward pass (interpreter)', async () => {
    // Executor state crosses as f32 (getState/setState), so the copied cache rounds the f64 run.
    await comparePrefill(async (m, mode, seq) => new InterpExecutor(compile(m, { mode, batch: 1, seq, cacheLen: 16, stopAfter: 'passes' }).graph, 'f64'), 1e-6);
  });

  gpuTest('prefills several positions in one run like a full forward pass (WebGPU)', async (gpu) => {
    await comparePrefill((m, mode, seq) => createExecutor(compile(m, { mode, batch: 1, seq, cacheLen: 16, target: targetFor(gpu) }), { backend: 'webgpu', gpu }), 1e-4);
  });

  it('matches the full forward pass at every position (interpreter)', async () => {
    await compare(async (m, mode) => new InterpExecutor(compile(m, { mode, batch: 1, seq: mode === 'eval' ? PROMPT.length : 1, cacheLen: 16, stopAfter: 'passes' }).graph, 'f64'), 1e-10);
  });

  gpuTest('matches the full forward pass at every position (WebGPU)', async (gpu) => {
    await compare((m, mode) => createExecutor(compile(m, { mode, batch: 1, seq: mode === 'eval' ? PROMPT.length : 1, cacheLen: 16, target: targetFor(gpu) }), { backend: 'webgpu', gpu }), 1e-4);
  });

  it('generates batched prompts of different lengths like one prompt at a time', async () => {
    const model = loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf'));
    const base = initBaseWeights(model, 3);
    const lora = initAdapterWeights(model, base, 4);
    const batched = await Generator.create(model, [base, lora], { backend: 'interp', batch: 3, cacheLen: 16 });
    const single = await Generator.create(model, [base, lora], { backend: 'interp', batch: 1, cacheLen: 16 });
    const prompts = [[1, 2, 3], [7], [9, 8, 7, 6, 5]];
    const a = await batched.generate(prompts, { maxNewTokens: 5 });
    const b = await single.generate(prompts, { maxNewTokens: 5 });
    expect(a).toEqual(b);
    expect(a.every((g) => g.length === 5)).toBe(true);
  });

  it('generates the same tokens with and without prefill, across batches and adapter swaps', async () => {
    const model = loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf'));
    const base = initBaseWeights(model, 3);
    const lora = initAdapterWeights(model, base, 4);
    const other = initAdapterWeights(model, base, 5);
    const o = { backend: 'interp' as const, precision: 'f64' as const, batch: 2, cacheLen: 56 };
    const fast = await Generator.create(model, [base, lora], o);
    const slow = await Generator.create(model, [base, lora], { ...o, prefill: false });
    // Shortest prompts 40 and 19: prefills of 32 and 16 positions (PREFILL_BLOCK = 16).
    const prompts = [40, 47, 19, 33].map((n, i) => Array.from({ length: n }, (_, t) => (t * 7 + i * 13) % 64));
    const opts = { maxNewTokens: 6 };
    expect(await fast.generate(prompts, opts)).toEqual(await slow.generate(prompts, opts));
    fast.setWeights(other);
    slow.setWeights(other);
    expect(await fast.generate(prompts, opts)).toEqual(await slow.generate(prompts, opts));
  });
});
