// A tiny Llama whose embedding (300 x 16, 19,200 bytes in f32) and LM head exceed a 4 KiB storage
// binding, its weights and one batch: what the split-pass tests compile and run.
import { join } from 'node:path';
import { makeTarget } from '../../compiler/target.ts';
import { optimHyper } from '../../compiler/optim/adamw.ts';
import type { CheckedModel } from '../../compiler/check/model.ts';
import type { Executor } from '../../runtime/exec/executor.ts';
import { EXAMPLES_DIR, loadSpec } from '../../runtime/model/load-spec.ts';
import { initBaseWeights, type WeightMap } from '../../runtime/model/weights.ts';
import { initAdapterWeights } from '../../runtime/adapters/init.ts';
import { randInt } from '../compiler/emit/gpu/op-harness.ts';

export const LIMIT = 4096;
export const TINY_TARGET = makeTarget('cpu', { limits: { maxStorageBufferBindingSize: LIMIT } });
export const SHAPE = { batch: 2, seq: 4 };
const VOCAB = 300;

/** Llama with a 300 x 16 embedding (19,200 bytes in f32): split into 5 chunks at 4 KiB. */
export function tinyLlama(tie: boolean): CheckedModel {
  return loadSpec(join(EXAMPLES_DIR, 'llama.rf'), { overrides: { vocab: VOCAB, d: 16, layers: 1, heads: 2, kv_heads: 1, hidden: 24, tie } });
}

export function weightsFor(model: CheckedModel): WeightMap[] {
  const base = initBaseWeights(model, 3);
  // B starts at zero in PEFT; random B makes the adapters' gradients and updates non-trivial.
  const lora = initAdapterWeights(model, base, 4);
  for (const [name, w] of lora) if (name.includes('lora_B')) w.forEach((_, i) => (w[i] = Math.sin(i + 1) * 0.1));
  return [base, lora];
}

export function feed(exec: Executor): void {
  const { batch, seq } = SHAPE;
  exec.setInput('ids', randInt(batch * seq, 1, VOCAB));
  const labels = randInt(batch * seq, 2, VOCAB);
  labels[1] = -100;
  exec.setInput('labels', labels);
  exec.setInput('positions', Int32Array.from({ length: batch * seq }, (_, i) => i % seq));
  exec.setInput('offset', Int32Array.of(0));
  exec.setInput('optim', optimHyper(1e-2, 1, { beta1: 0.9, beta2: 0.999 }));
  exec.setInput('step', Int32Array.of(0));
}

