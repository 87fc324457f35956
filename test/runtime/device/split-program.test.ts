// A program compiled for a 4 KiB storage binding (its embedding and LM head split into row chunks,
// the loss over logit chunks) runs on WebGPU and equals the interpreter: the LoRA training step
// (loss, gradients, updated adapters), eval logits (joined from their parts), full fine-tuning's
// chunked embedding gradient, and with bf16 frozen weights uploaded as stored bytes.
import { describe, expect } from 'vitest';
import { gpuTest } from '../../helpers/gpu.ts';
import { expectClose } from '../../compiler/emit/gpu/op-harness.ts';
import { compile, type GraphMode, type ParamDtypes } from '../../../compiler/compile.ts';
import { makeTarget } from '../../../compiler/target.ts';
import type { CheckedModel } from '../../../compiler/check/model.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import type { Executor, ParamData } from '../../../runtime/exec/executor.ts';
import { getWeight } from '../../../runtime/exec/weight-slots.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { fromFloat32 } from '../../../runtime/io/dtypes.ts';
import { setWeights } from '../../../runtime/model/weights.ts';
import type { GpuContext } from '../../../runtime/device/device.ts';
import { LIMIT, SHAPE, feed, tinyLlama, weightsFor } from '../../helpers/tiny-split.ts';

interface Run {
  mode: GraphMode;
  full?: boolean;
  paramDtypes?: ParamDtypes;
}

function weights(model: CheckedModel, bf16: boolean): Map<string, ParamData>[] {
  const [base, lora] = weightsFor(model);
  // A bf16 base is uploaded as the file stores it: bytes, no conversion.
  const stored = new Map<string, ParamData>([...base!].map(([n, w]) => [n, bf16 ? fromFloat32(w, 'BF16', model.weights.find((x) => x.name === n)!.shape) : w]));
  return [stored, lora!];
}

async function both(gpu: GpuContext, model: CheckedModel, r: Run): Promise<[Executor, Executor]> {
  const target = makeTarget(targetFor(gpu).kind, { limits: { ...targetFor(gpu).limits, maxStorageBufferBindingSize: LIMIT }, features: targetFor(gpu).features });
  const options = { mode: r.mode, ...SHAPE, cacheLen: 8, fullFinetune: r.full, ...(r.paramDtypes ? { paramDtypes: r.paramDtypes } : {}) };
  const gpuExec = await createExecutor(compile(model, { ...options, target }), { backend: 'webgpu', gpu });
  const ref = new InterpExecutor(compile(model, { ...options, stopAfter: 'passes' }).graph, 'f64'); // unsplit
  for (const exec of [gpuExec, ref]) {
    for (const w of weights(model, r.paramDtypes !== undefined)) setWeights(exec, w);
    feed(exec);
    exec.run();
  }
  return [gpuExec, ref];
}

const tol = { rtol: 1e-3, atol: 1e-5 };

describe('a split program on the GPU', () => {
  for (const bf16 of [false, true]) {
    gpuTest(`LoRA step and eval logits equal the unsplit interpreter${bf16 ? ' (bf16 frozen weights)' : ''}`, async (gpu) => {
      const model = tinyLlama(true);
      const paramDtypes = bf16 ? Object.fromEntries(model.weights.map((w) => [w.name, 'bf16' as const])) : undefined;
      const [g, ref] = await both(gpu, model, { mode: 'train', ...(paramDtypes ? { paramDtypes } : {}) });
      expect(g.graph.nodes.some((n) => n.op === 'cross_entropy_chunked')).toBe(true);
      expectClose(await g.read('loss'), await ref.read('loss'), { rtol: 1e-5 }, 'loss');
      for (const p of Object.keys(ref.graph.grads)) {
        expectClose(await g.readGrad(p), await ref.readGrad(p), tol, `grad ${p}`);
        expectClose(await g.getParam(p), await ref.getParam(p), { atol: 1e-6 }, `updated ${p}`);
      }
      g.destroy();
      const [ge, refe] = await both(gpu, model, { mode: 'eval', ...(paramDtypes ? { paramDtypes } : {}) });
      expectClose(await ge.read('logits'), await refe.read('logits'), tol, 'logits');
      ge.destroy();
    }, 120_000);
  }

  gpuTest('full fine-tuning: the chunked embedding gradient and update equal the unsplit ones', async (gpu) => {
    const model = tinyLlama(false);
    const [g, ref] = await both(gpu, model, { mode: 'train', full: true });
    expectClose(await g.read('loss'), await ref.read('loss'), { rtol: 1e-5 }, 'loss');
    for (const w of ['model.embed_tokens.weight', 'lm_head.weight']) {
      expectClose(await getWeight(g, w, (p) => g.readGrad(p)), await ref.readGrad(w), tol, `grad ${w}`);
      expectClose(await getWeight(g, w), await ref.getParam(w), { atol: 1e-6 }, `updated ${w}`);
    }
    g.destroy();
  }, 120_000);
});
