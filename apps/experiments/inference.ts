// Item 7: merged vs unmerged inference. The merged weights W0 + (alpha/r)·B·A run through the
// plain model (stripAdapters), which is the base model's graph, so merged inference should cost
// exactly what the base model costs; the unmerged adapter model runs the extra low-rank products.
// Outputs are compared as logits (max abs difference) and as greedy generations; latency as the
// median of interleaved forward passes, reported as ratios to the base model.
import type { CheckedModel } from '../../compiler/check/model.ts';
import type { Rows } from '../../runtime/data/dataset.ts';
import { evalBatches } from '../../runtime/data/loader.ts';
import type { Task, TaskExample } from '../tasks/types.ts';
import type { Executor } from '../../runtime/exec/executor.ts';
import type { GpuContext } from '../../runtime/device/device.ts';
import type { ProgramStats } from '../../runtime/device/program.ts';
import { compile } from '../../compiler/compile.ts';
import { createExecutor } from '../../runtime/exec/create.ts';
import { targetFor } from '../../runtime/device/target.ts';
import { mergeAdapterWeights } from '../../runtime/adapters/merge-model.ts';
import { setWeights, type WeightMap } from '../../runtime/model/weights.ts';
import { feedBatch } from '../../runtime/train/trainer.ts';
import { evaluateTask } from './lab.ts';
import type { InferenceResult } from './types.ts';

async function forwardExecutor(gpu: GpuContext, model: CheckedModel, weights: WeightMap[], batch: number, seq: number): Promise<Executor> {
  const exec = await createExecutor(compile(model, { mode: 'eval', batch, seq, target: targetFor(gpu) }), { backend: 'webgpu', gpu });
  for (const w of weights) setWeights(exec, w);
  return exec;
}

async function timedForward(exec: Executor): Promise<number> {
  const t0 = performance.now();
  exec.run();
  await exec.read('loss');
  return performance.now() - t0;
}

function maxAbs(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - (b ? b[i]! : 0)));
  return m;
}

export async function compareMerged(
  gpu: GpuContext,
  plain: CheckedModel,
  lora: CheckedModel,
  config: string,
  base: WeightMap,
  adapter: WeightMap,
  task: Task,
  evalExamples: readonly TaskExample[],
  rows: Rows,
  o: { batch: number; warmup: number; reps: number },
): Promise<InferenceResult> {
  const merged = mergeAdapterWeights(lora, base, adapter);
  const seq = rows.seqLen;
  const execs = {
    base: await forwardExecutor(gpu, plain, [base], o.batch, seq),
    merged: await forwardExecutor(gpu, plain, [merged], o.batch, seq),
    unmerged: await forwardExecutor(gpu, lora, [base, adapter], o.batch, seq),
  };
  try {
    const batch = evalBatches(rows, o.batch).next().value!;
    for (const e of Object.values(execs)) feedBatch(e, batch);
    execs.merged.run();
    execs.unmerged.run();
    const lm = (await execs.merged.read('logits')) as Float32Array;
    const lu = (await execs.unmerged.read('logits')) as Float32Array;
    const forwardMs = { base: [] as number[], merged: [] as number[], unmerged: [] as number[] };
    const order = ['base', 'merged', 'unmerged'] as const;
    for (let rep = 0; rep < o.warmup + o.reps; rep++) {
      // Rotate the order each repetition so no executor always runs first (or right after another).
      for (let k = 0; k < order.length; k++) {
        const which = order[(k + rep) % order.length]!;
        const ms = await timedForward(execs[which]);
        if (rep >= o.warmup) forwardMs[which].push(ms);
      }
    }
    const dispatches = (e: Executor) => ((e as { stats?: ProgramStats }).stats?.dispatchesPerRun ?? NaN);
    // Greedy generations through both forms must agree token for token (up to float ties).
    const genMerged = await evaluateTask(gpu, plain, [merged], task, evalExamples, seq);
    const genUnmerged = await evaluateTask(gpu, lora, [base, adapter], task, evalExamples, seq);
    let same = 0;
    genMerged.predictions.forEach((p, i) => (same += p === genUnmerged.predictions[i] ? 1 : 0));
    return {
      task: task.name,
      config,
      batch: o.batch,
      seq,
      maxAbsLogitDiff: maxAbs(lm, lu),
      maxAbsLogit: maxAbs(lu),
      sameGenerations: same,
      generations: evalExamples.length,
      forwardMs,
      dispatches: { plain: dispatches(execs.base), adapter: dispatches(execs.unmerged) },
      generateMs: { merged: genMerged.wallMs, unmerged: genUnmerged.wallMs },
    };
  } finally {
    for (const e of Object.values(execs)) e.destroy();
  }
}
