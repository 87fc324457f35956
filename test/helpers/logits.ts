// Small numeric helpers the adapter tests share: the largest elementwise difference, and a model's
// logits on the interpreter in float64 (the oracle every merge/adapter comparison is measured against).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { compile } from '../../compiler/compile.ts';
import { InterpExecutor } from '../../runtime/exec/interp-executor.ts';
import { feedTokens } from '../../runtime/model/feeds.ts';
import { setWeights, type WeightMap } from '../../runtime/model/weights.ts';

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Logits of `model` for `ids` ([batch, seq]) with `weights` set in order (later maps win), in float64. */
export async function interpLogits(model: CheckedModel, weights: WeightMap[], ids: Int32Array, batch: number, seq: number): Promise<Float32Array> {
  const exec = new InterpExecutor(compile(model, { mode: 'eval', batch, seq, stopAfter: 'passes' }).graph, 'f64');
  for (const w of weights) setWeights(exec, w);
  feedTokens(exec, ids, batch, seq, ids);
  exec.run();
  return (await exec.read('logits')) as Float32Array;
}
