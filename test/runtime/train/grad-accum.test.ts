// Gradient accumulation: K micro-batches of B rows then one AdamW step must equal one step on the
// K·B rows (the loss is a mean over equally many targets per row, so the mean of micro-batch means
// is the big batch's mean), and micro-steps before the last must not move the weights.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Executor } from '../../../runtime/exec/executor.ts';
import { InterpExecutor } from '../../../runtime/exec/interp-executor.ts';
import { BatchLoader } from '../../../runtime/data/loader.ts';
import { Rng } from '../../../runtime/data/rng.ts';
import { compile } from '../../../compiler/compile.ts';
import { createExecutor } from '../../../runtime/exec/create.ts';
import { targetFor } from '../../../runtime/device/target.ts';
import { EXAMPLES_DIR, loadSpec } from '../../../runtime/model/load-spec.ts';
import { initBaseWeights, setWeights } from '../../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../../runtime/adapters/init.ts';
import { feedBatch, trainLoop } from '../../../runtime/train/trainer.ts';
import { optimFlags, optimHyper } from '../../../compiler/optim/adamw.ts';
import { gpuTest } from '../../helpers/gpu.ts';

const SEQ = 12;
const ROWS = 8;

function setup() {
  const model = loadSpec(join(EXAMPLES_DIR, 'char-gpt.rf'));
  const base = initBaseWeights(model, 1);
  const lora = initAdapterWeights(model, base, 2);
  const rng = new Rng(3);
  const ids = Int32Array.from({ length: ROWS * SEQ }, () => rng.int(256));
  return { model, weights: [base, lora], rows: { count: ROWS, seqLen: SEQ, ids, labels: ids.slice() } };
}

async function train(make: (batch: number, accum: number) => Promise<Executor>, batch: number, accum: number, steps: number) {
  const { model, weights, rows } = setup();
  const exec = await make(batch, accum);
  for (const w of weights) setWeights(exec, w);
  const adamw = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1, gradAccum: accum };
  const history = await trainLoop(exec, new BatchLoader(rows, { batchSize: batch, shuffle: false }), {
    steps, schedule: { kind: 'constant', lr: 1e-2, warmupSteps: 0, totalSteps: steps }, adamw, logEvery: 1, evalEvery: 0,
  });
  const params = new Map<string, Float32Array>();
  for (const t of model.lora) for (const p of ['lora_A', 'lora_B']) params.set(`${t.module}.${p}.weight`, await exec.getParam(`${t.module}.${p}.weight`));
  exec.destroy();
  return { params, losses: history.map((h) => h.loss), model };
}

function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    const scale = Math.max(...Array.from(y, Math.abs));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / scale);
  }
  return worst;
}

async function compare(make: (batch: number, accum: number) => Promise<Executor>, tol: number): Promise<void> {
  const big = await train(make, 4, 1, 2);
  const accumulated = await train(make, 2, 2, 2);
  expect(maxRelDiff(accumulated.params, big.params)).toBeLessThan(tol);
  accumulated.losses.forEach((l, i) => expect(l).toBeCloseTo(big.losses[i]!, 5));
}

describe('gradient accumulation', () => {
  const interp = (batch: number, accum: number) => {
    const { model } = setup();
    return Promise.resolve(new InterpExecutor(compile(model, { mode: 'train', batch, seq: SEQ, adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1, gradAccum: accum }, stopAfter: 'passes' }).graph, 'f64'));
  };

  it('two micro-batches of 2 rows equal one batch of 4 (interpreter, f64)', async () => {
    await compare(interp, 1e-9);
  });

  it('does not update the weights before the last micro-batch', async () => {
    const { model, weights, rows } = setup();
    const exec = await interp(2, 3);
    for (const w of weights) setWeights(exec, w);
    const name = `${model.lora[0]!.module}.lora_A.weight`;
    const before = Array.from(await exec.getParam(name));
    const loader = new BatchLoader(rows, { batchSize: 2, shuffle: false });
    const adamw = { beta1: 0.9, beta2: 0.999 };
    for (let micro = 0; micro < 3; micro++) {
      feedBatch(exec, loader.next());
      exec.setInput('optim', optimHyper(1e-2, 1, adamw, optimFlags(micro, 3)));
      exec.run();
      const now = Array.from(await exec.getParam(name));
      if (micro < 2) expect(now, `micro-batch ${micro}`).toEqual(before);
      else expect(now).not.toEqual(before);
    }
    // The accumulator is a gradients-category state of the memory plan, not optimizer state.
    expect(exec.graph.nodes.some((n) => n.op === 'state' && (n.attrs as { kind?: string }).kind === 'grad_accum')).toBe(true);
  });

  gpuTest('two micro-batches of 2 rows equal one batch of 4 (WebGPU)', async (gpu) => {
    const { model } = setup();
    await compare((batch, accum) => createExecutor(compile(model, { mode: 'train', batch, seq: SEQ, adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1, gradAccum: accum }, target: targetFor(gpu) }), { backend: 'webgpu', gpu }), 2e-4);
  });
});
