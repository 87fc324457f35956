// Synthetic PEFT adapters for measurements and tests: random A and B (B not zero, so every adapter
// changes the output), written as PEFT folders (adapter_config.json + adapter_model.safetensors).
import type { CheckedModel } from '../compiler/check/model.ts';
import { applyPeftConfig } from '../runtime/adapters/apply-peft.ts';
import { Rng } from '../runtime/data/rng.ts';
import { writeAdapterDir } from '../runtime/io/node-fs.ts';
import { makePeftConfig, type LoraModuleWeights } from '../runtime/io/peft.ts';

export interface RandomAdapterOptions {
  targets: string[] | 'all-linear';
  r: number;
  alpha?: number;
  seed: number;
  /** Factor entries are uniform in [-scale, scale). */
  scale?: number;
  rank_pattern?: Record<string, number>;
}

/** A PEFT adapter folder with random factors for `model` (a model without adapters); returns `dir`. */
export function writeRandomAdapter(dir: string, model: CheckedModel, o: RandomAdapterOptions): string {
  const config = makePeftConfig({ r: o.r, lora_alpha: o.alpha ?? 2 * o.r, target_modules: o.targets, ...(o.rank_pattern ? { rank_pattern: o.rank_pattern } : {}) });
  const adapted = applyPeftConfig(model, config);
  const rng = new Rng(o.seed);
  const scale = o.scale ?? 0.5;
  const rand = (n: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
  const tensors = new Map<string, LoraModuleWeights>();
  for (const l of adapted.lora) {
    const r = l.config.rank;
    tensors.set(l.module, { kind: 'linear', A: { shape: [r, l.inFeatures], data: rand(r * l.inFeatures) }, B: { shape: [l.outFeatures, r], data: rand(l.outFeatures * r) } });
  }
  writeAdapterDir(dir, { config, tensors, others: new Map() });
  return dir;
}
