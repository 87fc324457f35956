// Block recompute: the training step with `recompute: 'blocks'` gives the loss and every gradient
// of the step without it (interpreter and WebGPU), keeps fewer activation bytes in the plan, and
// recomputes each block from its input alone (no forward value of a block but its output is read
// by the backward).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { compile, type CompiledProgram } from '../../../compiler/compile.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { planRecompute } from '../../../compiler/passes/recompute.ts';
import { forwardPart } from '../../../compiler/plan/memory-plan.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { optimHyper, OPTIM_INPUT } from '../../../compiler/optim/adamw.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import type { Executor } from '../../../runtime/exec/executor.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { feedTokens } from '../../../runtime/model/feeds.ts';
import { EXAMPLES_DIR, loadSpec, readConfigJson } from '../../../runtime/model/load-spec.ts';
import { initBaseWeights, setWeights } from '../../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { stripAdapters } from '../../../runtime/adapters/merge-model.ts';
import { conformanceCase } from '../../helpers/conformance.ts';
import { gpuTest } from '../../helpers/gpu.ts';
import { SHAPE as TINY_SHAPE, TINY_TARGET, tinyLlama } from '../../helpers/tiny-split.ts';
import type { OpAttrs } from '../../../compiler/ir/ops.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';

const [BATCH, SEQ] = [2, 6];

function llama(): CheckedModel {
  return loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { config: readConfigJson(join(conformanceCase('llama_qv_r4'), 'config.json')) });
}

function program(model: CheckedModel, recompute: 'none' | 'blocks', o: { full?: boolean; gpu?: GpuContext } = {}): CompiledProgram {
  // Dropout on: the recomputed masks must be the forward's.
  return compile(model, { mode: 'train', batch: BATCH, seq: SEQ, recompute, fullFinetune: o.full, dropoutSeed: 3, ...(o.gpu ? { target: targetFor(o.gpu) } : {}) });
}

/** One training step's loss and gradients (before the update is visible: gradients are their own buffers). */
async function step(exec: Executor, model: CheckedModel): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const base = initBaseWeights(model, 1);
  setWeights(exec, base);
  // Random B too (PEFT's init has B = 0, which leaves A without a gradient).
  const adapters = initAdapterWeights(model, base, 2);
  let seed = 5;
  for (const data of adapters.values()) for (let i = 0; i < data.length; i++) data[i] = Math.sin(seed++) * 0.1;
  setWeights(exec, adapters);
  const ids = Int32Array.from({ length: BATCH * SEQ }, (_, i) => (i * 7 + 3) % 96);
  feedTokens(exec, ids, BATCH, SEQ, ids);
  exec.setInput(OPTIM_INPUT, optimHyper(1e-3, 1, { beta1: 0.9, beta2: 0.999 }));
  exec.setInput('step', Int32Array.of(4));
  exec.run();
  const loss = (await exec.read('loss'))[0]!;
  const grads = new Map<string, Float32Array>();
  for (const name of Object.keys(exec.graph.grads)) grads.set(name, await exec.readGrad(name));
  return { loss, grads };
}

function expectSameStep(a: { loss: number; grads: Map<string, Float32Array> }, b: typeof a): void {
  expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(a.loss));
  expect([...b.grads.keys()]).toEqual([...a.grads.keys()]);
  for (const [name, g] of a.grads) {
    const h = b.grads.get(name)!;
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    expect(scale, `${name} has a gradient`).toBeGreaterThan(0);
    for (let i = 0; i < g.length; i++) expect(Math.abs(g[i]! - h[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * scale);
  }
}

describe('block recompute', () => {
  it('recomputes each layer from its input: the backward reads no other forward value of a block', () => {
    const model = llama();
    const plain = program(model, 'none');
    const re = program(model, 'blocks');
    verifyGraph(re.graph);
    const blocks = (g: CompiledProgram['graph']) => new Set(g.nodes.flatMap((n) => (n.block === undefined ? [] : [n.block])));
    expect(blocks(plain.graph)).toEqual(new Set([0, 1]));
    // Without recompute the backward reads many values inside each block; with it, none but the
    // block outputs (which are the next block's input or the final norm's).
    const plans = planRecompute(plain.graph);
    expect([...plans.keys()].sort()).toEqual([0, 1]);
    expect(plans.get(0)!.copies.length).toBeGreaterThan(5);
    const fwd = forwardPart(re.graph);
    for (const n of re.graph.nodes) {
      if (fwd[n.id]) continue;
      for (const i of n.inputs) {
        const src = re.graph.nodes[i]!;
        if (!fwd[i] || src.block === undefined) continue;
        const readOutside = re.graph.nodes.some((u) => fwd[u.id] && u.inputs.includes(i) && u.block !== src.block);
        expect(readOutside, `backward %${n.id} ${n.op} reads %${i} ${src.label} inside block ${src.block}`).toBe(true);
      }
    }
    expect(planRecompute(re.graph).size).toBe(0);
  });

  it('keeps fewer activation bytes, and the plan total drops for LoRA and full fine-tuning', () => {
    const model = llama();
    for (const full of [false, true]) {
      const m = full ? stripAdapters(model) : model;
      const plain = program(m, 'none', { full }).plan;
      const re = program(m, 'blocks', { full }).plan;
      expect(re.totals.activations, `full ${full}`).toBeLessThan(plain.totals.activations);
      expect(re.totalBytes, `full ${full}`).toBeLessThan(plain.totalBytes);
      expect(re.totals.frozen_weights + re.totals.trainable_weights + re.totals.adapter_weights).toBe(plain.totals.frozen_weights + plain.totals.trainable_weights + plain.totals.adapter_weights);
    }
  });

  it('still applies when the split stage chunks the embedding and LM head (their readers keep their blocks)', () => {
    const model = tinyLlama(false);
    const compileWith = (recompute: 'none' | 'blocks') => compile(model, { mode: 'train', ...TINY_SHAPE, recompute, target: TINY_TARGET });
    const [plain, re] = [compileWith('none'), compileWith('blocks')];
    expect(plain.graph.nodes.some((n) => n.op === 'param' && (n.attrs as OpAttrs['param']).rows)).toBe(true);
    expect(new Set(plain.graph.nodes.flatMap((n) => (n.block === undefined ? [] : [n.block])))).toEqual(new Set([0]));
    expect(planRecompute(plain.graph).size).toBe(1);
    expect(re.plan.totals.activations).toBeLessThan(plain.plan.totals.activations);
  });

  it('gives the loss and gradients of the plain step on the interpreter (dropout on)', async () => {
    const model = llama();
    const run = async (mode: 'none' | 'blocks') => step(await createExecutor(program(model, mode), { backend: 'interp' }), model);
    expectSameStep(await run('none'), await run('blocks'));
  });

  it('refuses recompute outside training and unknown modes', () => {
    const model = llama();
    expect(() => compile(model, { mode: 'eval', batch: 1, seq: 4, recompute: 'blocks' })).toThrow(/recompute 'blocks' is for training graphs/);
    expect(() => compile(model, { mode: 'train', batch: 1, seq: 4, recompute: 'layers' as 'blocks' })).toThrow(/recompute must be one of none, blocks/);
  });

  gpuTest('gives the loss and gradients of the plain step on WebGPU', async (gpu) => {
    const model = llama();
    const run = async (mode: 'none' | 'blocks') => {
      const exec = await createExecutor(program(model, mode, { gpu }), { backend: 'webgpu', gpu });
      try {
        return await step(exec, model);
      } finally {
        exec.destroy();
      }
    };
    expectSameStep(await run('none'), await run('blocks'));
  });
});
