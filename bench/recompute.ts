// Section "recompute": block recompute (gradient checkpointing) against plain LoRA and full
// fine-tuning at seq 1024: the plan's peak bytes (every buffer the program allocates), the program's
// measured peak, and the training step's time, on a Llama-shaped model small enough for a CPU
// adapter; and the planned peaks of Llama-3.2-1B at seq 1024, batch 4 (compiled only: no weights).
import * as path from 'node:path';
import type { CheckedModel } from '../compiler/check/model.ts';
import { compile, type RecomputeMode } from '../compiler/compile.ts';
import { OPTIM_INPUT, optimHyper } from '../compiler/optim/adamw.ts';
import type { Target } from '../compiler/target.ts';
import { stripAdapters } from '../runtime/adapters/merge-model.ts';
import { initAdapterWeights } from '../runtime/adapters/init.ts';
import type { GpuContext } from '../runtime/device/device.ts';
import { GpuExecutor } from '../runtime/exec/gpu-executor.ts';
import { feedTokens } from '../runtime/model/feeds.ts';
import { EXAMPLES_DIR, loadSpec } from '../runtime/model/load-spec.ts';
import { initBaseWeights, setWeights } from '../runtime/model/weights.ts';
import type { RecomputePlanRow, RecomputeRow } from './format.ts';
import { timeInterleaved } from './timing.ts';

/** Hidden 256, 4 layers: at seq 1024 its activations outweigh its weights, as a 1B model's do. */
export const RECOMPUTE_MODEL = {
  model_type: 'llama', hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2,
  head_dim: 64, vocab_size: 4096, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000.0, tie_word_embeddings: true,
};
export const QUICK_RECOMPUTE_MODEL = { ...RECOMPUTE_MODEL, hidden_size: 64, intermediate_size: 172, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 512 };

/** Llama-3.2-1B's config.json (shapes only). */
export const LLAMA_3_2_1B = {
  model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8,
  head_dim: 64, vocab_size: 128256, max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000.0, tie_word_embeddings: true,
};

interface Variant {
  name: string;
  full: boolean;
  recompute: RecomputeMode;
}
const VARIANTS: Variant[] = [
  { name: 'LoRA (q, v; r 8)', full: false, recompute: 'none' },
  { name: 'LoRA + recompute blocks', full: false, recompute: 'blocks' },
  { name: 'full fine-tuning', full: true, recompute: 'none' },
  { name: 'full fine-tuning + recompute blocks', full: true, recompute: 'blocks' },
];

function llama(config: Record<string, unknown>): CheckedModel {
  return loadSpec(path.join(EXAMPLES_DIR, 'llama.rf'), { config });
}

/** The planned peak of each variant for Llama-3.2-1B at seq 1024, batch 4. */
export function planLlama1B(): RecomputePlanRow[] {
  const model = llama(LLAMA_3_2_1B);
  return VARIANTS.map((v) => {
    const plan = compile(v.full ? stripAdapters(model) : model, { mode: 'train', batch: 4, seq: 1024, fullFinetune: v.full, recompute: v.recompute, stopAfter: 'plan' }).plan;
    return { name: v.name, peakBytes: plan.totalBytes, activationBytes: plan.totals.activations };
  });
}

export async function benchRecompute(gpu: GpuContext, target: Target, quick: boolean, log: (s: string) => void): Promise<RecomputeRow[]> {
  const seq = quick ? 256 : 1024;
  const model = llama(quick ? QUICK_RECOMPUTE_MODEL : RECOMPUTE_MODEL);
  const base = initBaseWeights(model, 1);
  const adapters = initAdapterWeights(model, base, 2);
  const ids = Int32Array.from({ length: seq }, (_, i) => (i * 7919) % (quick ? 512 : 4096));
  const runs = [];
  for (const v of VARIANTS) {
    const m = v.full ? stripAdapters(model) : model;
    const program = compile(m, { mode: 'train', batch: 1, seq, fullFinetune: v.full, recompute: v.recompute, dropoutSeed: 1, target });
    const exec = await GpuExecutor.create(gpu, program);
    setWeights(exec, base);
    if (!v.full) setWeights(exec, adapters);
    feedTokens(exec, ids, 1, seq, ids);
    let t = 0;
    runs.push({ v, exec, plan: program.plan, step: () => {
      exec.setInput(OPTIM_INPUT, optimHyper(1e-5, ++t, { beta1: 0.9, beta2: 0.999 }));
      exec.setInput('step', Int32Array.of(t));
      exec.run();
    } });
    log(`recompute: compiled ${v.name} (${exec.stats.dispatchesPerRun} dispatches)`);
  }
  const timings = await timeInterleaved(runs.map((r) => ({ step: r.step, sync: () => gpu.device.queue.onSubmittedWorkDone() })), { warmup: 1, reps: quick ? 5 : 3, minSampleMs: 0, maxInner: 1 });
  const rows = runs.map((r, i): RecomputeRow => ({
    name: r.v.name,
    seq,
    msPerStep: timings[i]!.ms,
    bestMs: timings[i]!.min,
    planPeakBytes: r.plan.totalBytes,
    activationBytes: r.plan.totals.activations,
    programPeakBytes: r.exec.stats.peakBytes,
  }));
  for (const r of runs) r.exec.destroy();
  return rows;
}
