// Generating from files (`rankfold generate`, and scripts): a spec, base weights and any number of
// PEFT adapter folders in, one completion per adapter out. The adapters may differ in ranks and
// target modules: they sit over the one loaded base in an AdapterSet, one graph holds them all, and
// switching uploads only their 0/1 gates (and any modules_to_save copies).
import * as path from 'node:path';
import { UserError } from '../../compiler/errors.ts';
import type { GpuContext } from '../device/device.ts';
import type { BackendName } from '../exec/executor.ts';
import { tokenizerFor } from '../data/job-data.ts';
import { readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import { AdapterSet } from '../adapters/adapter-set.ts';
import { loadSpec } from '../model/load-spec.ts';
import { readBaseWeights } from '../model/weights.ts';
import { maxPositions } from '../train/settings.ts';
import { Generator } from './generator.ts';
import { checkSamplingOptions, type SamplingOptions } from './sampling.ts';

export interface GenerateTextsOptions extends SamplingOptions {
  /** The model spec (.rf). */
  spec: string;
  /** A Hugging Face config.json's contents, bound through the spec's `config` block. */
  config?: Record<string, unknown>;
  /** Spec parameter overrides (like `rankfold generate --set`). */
  set?: Record<string, number | boolean | string>;
  /** Base (or merged) weights: a Hugging Face safetensors file. */
  weights: string;
  /** PEFT adapter folders, each generating in turn over the one loaded base; none: the base alone. */
  adapters?: string[];
  prompt: string;
  maxNewTokens: number;
  /** Sampling seed (default 0). */
  seed?: number;
  /** `bytes` or `gpt2` (default: bytes for a 256-token vocabulary, else gpt2). */
  tokenizer?: string;
  backend: BackendName;
  gpu?: GpuContext;
}

export interface GeneratedText {
  /** The adapter folder that generated it; absent for the base alone. */
  adapter?: string;
  /** The completion after the prompt, decoded, without the end-of-text token. */
  text: string;
}

/** Distinct adapter names from their folders' names (PEFT adapter names: letters, digits, '_', '-'). */
function adapterNames(dirs: string[]): string[] {
  const names: string[] = [];
  for (const d of dirs) {
    const stem = path.basename(path.resolve(d)).replace(/[^A-Za-z0-9_-]/g, '_') || 'adapter';
    let name = stem;
    for (let i = 2; names.includes(name); i++) name = `${stem}_${i}`;
    names.push(name);
  }
  return names;
}

/**
 * Generates a completion of `prompt` with a KV cache, once per adapter (or once with the base
 * alone). Stops at the tokenizer's end-of-text token or after `maxNewTokens`; refuses a prompt plus
 * completion longer than the model's positions.
 */
export async function generateTexts(options: GenerateTextsOptions): Promise<GeneratedText[]> {
  checkSamplingOptions(options); // before the work of loading, not after
  const specModel = loadSpec(options.spec, { config: options.config, overrides: options.set });
  const dirs = options.adapters ?? [];
  const set = new AdapterSet(specModel, readBaseWeights(specModel, readSafetensorsFile(options.weights)));
  const names = adapterNames(dirs);
  dirs.forEach((d, i) => set.add(names[i]!, readAdapterDir(d), d));
  const model = set.model();
  const tok = await tokenizerFor(model, options.tokenizer);
  const prompt = tok.encode(options.prompt);
  if (prompt.length === 0) throw new UserError('the prompt is empty');
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1)) throw new UserError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
  const positions = maxPositions(model);
  const cacheLen = prompt.length + options.maxNewTokens;
  if (positions !== undefined && cacheLen > positions) {
    throw new UserError(`prompt (${prompt.length} tokens) + ${options.maxNewTokens} new tokens exceeds the ${positions} positions of ${model.file}`);
  }
  const exec = { backend: options.backend, ...(options.gpu ? { gpu: options.gpu } : {}) };
  const gen = await Generator.create(model, [set.weights()], { ...exec, batch: 1, cacheLen });
  try {
    const results: GeneratedText[] = [];
    const sampling = {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      seed: options.seed ?? 0,
      ...(tok.eos !== undefined ? { stopToken: tok.eos } : {}),
    };
    for (let i = 0; i < Math.max(1, dirs.length); i++) {
      // Only the gates (and any modules_to_save copies) are uploaded; the rest stays on the device.
      if (i > 0) {
        set.setActive([names[i]!]);
        gen.setWeights(set.switchWeights());
      }
      const [ids] = await gen.generate([prompt], sampling);
      const out = ids!.filter((t) => t !== tok.eos);
      results.push({ ...(dirs[i] !== undefined ? { adapter: dirs[i] } : {}), text: tok.decode(out) });
    }
    return results;
  } finally {
    gen.destroy();
  }
}
