// Item 1: memory at the paper's scale from the compiler alone. GPT-3 175B (dsl-examples/gpt3-175b.rf)
// is lowered for a training step twice, full fine-tuning with Adam and LoRA r=4 on Wq and Wv, and
// the memory plan is summed by category. The plan is symbolic: nothing is allocated. Our plan is
// f32 (4 bytes an element); the paper's figures are for fp16 weights, so the fp16 equivalent (2
// bytes an element) is given next to it for an apples-to-apples comparison.
import { join } from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { MEMORY_CATEGORIES } from '../../compiler/plan/memory-plan.ts';
import type { MemoryCategory } from '../../compiler/plan/types.ts';
import { makePeftConfig } from '../../runtime/io/peft.ts';
import { applyPeftConfig } from '../../runtime/adapters/apply-peft.ts';
import { EXAMPLES_DIR, loadSpec } from '../../runtime/model/load-spec.ts';
import { stripAdapters } from '../../runtime/adapters/merge-model.ts';
import { makeTarget, NO_SIZE_LIMITS } from '../../compiler/target.ts';
import { compile } from '../../compiler/compile.ts';

/** The paper's numbers (Hu et al. 2021, §4.2 "Practical benefits and limitations"). */
export const PAPER_SCALE = {
  fullFinetuneVramBytes: 1.2e12,
  loraVramBytes: 350e9,
  adapterParams: 18e6,
  adapterBytes: 35e6,
} as const;

export interface ScaleOptions {
  /** Spec parameter overrides (tests shrink layers; the report uses the spec as written). */
  overrides?: Record<string, number>;
  batch?: number;
  seq?: number;
  rank?: number;
}

export interface PlanSummary {
  totals: Record<MemoryCategory, number>;
  totalBytes: number;
  /** Weights + gradients + optimizer state: what does not depend on batch and sequence length. */
  modelStateBytes: number;
  /** Activations + scratch + inputs at the compiled batch and sequence length. */
  activationBytes: number;
  nodes: number;
  compileMs: number;
}

export interface ScaleResult {
  spec: string;
  params: Record<string, number | boolean | string>;
  batch: number;
  seq: number;
  rank: number;
  targets: string[];
  dtype: 'f32';
  baseParams: number;
  adapterParams: number;
  /** Adapter parameters per target module and layer: r·in + out·r. */
  adapterParamsPerModule: number;
  full: PlanSummary;
  lora: PlanSummary;
}

const STATE: MemoryCategory[] = ['frozen_weights', 'adapter_weights', 'trainable_weights', 'gradients', 'optimizer_state'];
const ACTIVATIONS: MemoryCategory[] = ['activations', 'scratch', 'inputs'];

function summarize(model: CheckedModel, batch: number, seq: number, fullFinetune: boolean): PlanSummary {
  const t0 = performance.now();
  // The compiler up to its memory plan: no kernels are emitted for a model this size, and no
  // device's binding limits apply (the question is how much memory it needs, unsplit).
  const { graph, plan } = compile(model, { mode: 'train', batch, seq, fullFinetune, stopAfter: 'plan', target: makeTarget('gpu', { limits: NO_SIZE_LIMITS }) });
  const compileMs = performance.now() - t0;
  const sum = (cs: MemoryCategory[]) => cs.reduce((a, c) => a + plan.totals[c], 0);
  return { totals: plan.totals, totalBytes: plan.totalBytes, modelStateBytes: sum(STATE), activationBytes: sum(ACTIVATIONS), nodes: graph.nodes.length, compileMs };
}

export function gpt3Spec(): string {
  return join(EXAMPLES_DIR, 'gpt3-175b.rf');
}

/** Compiles GPT-3 175B for full fine-tuning and for LoRA (r on Wq, Wv) and sums both memory plans. */
export function memoryAtScale(o: ScaleOptions = {}): ScaleResult {
  const spec = gpt3Spec();
  const batch = o.batch ?? 1;
  const seq = o.seq ?? 2048;
  const rank = o.rank ?? 4;
  const targets = ['q_proj', 'v_proj'];
  const plain = stripAdapters(loadSpec(spec, o.overrides ? { overrides: o.overrides } : {}));
  // alpha = r as in the spec; alpha does not change memory.
  const lora = applyPeftConfig(plain, makePeftConfig({ target_modules: targets, r: rank, lora_alpha: rank, lora_dropout: 0 }), 'gpt3 LoRA');
  const first = lora.lora[0]!;
  return {
    spec,
    params: plain.params,
    batch,
    seq,
    rank,
    targets,
    dtype: 'f32',
    baseParams: plain.counts.base,
    adapterParams: lora.counts.adapter,
    adapterParamsPerModule: rank * first.inFeatures + first.outFeatures * rank,
    full: summarize(plain, batch, seq, true),
    lora: summarize(lora, batch, seq, false),
  };
}

/** Bytes at 2 bytes an element instead of our 4 (every planned tensor is f32). */
export function fp16(bytes: number): number {
  return bytes / 2;
}

export { MEMORY_CATEGORIES };
