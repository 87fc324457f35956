// Merging on disk (`rankfold merge`, and scripts): a spec, base weights and a PEFT adapter folder
// in, one plain safetensors model out, as PEFT's merge_and_unload followed by save_pretrained.
import * as path from 'node:path';
import { readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import { ADAPTER_CONFIG_NAME } from '../io/peft.ts';
import { loadSpec } from '../model/load-spec.ts';
import { writeModelFile } from '../model/base-weights.ts';
import { adapterWeights, readBaseWeights } from '../model/weights.ts';
import { applyPeftConfig } from './apply-peft.ts';
import { mergeAdapterWeights, stripAdapters } from './merge-model.ts';

export interface MergeFilesOptions {
  /** The model spec (.rf). */
  spec: string;
  /** A Hugging Face config.json's contents, bound through the spec's `config` block. */
  config?: Record<string, unknown>;
  /** Spec parameter overrides (like `rankfold merge --set`). */
  set?: Record<string, number | boolean | string>;
  /** Base weights: a Hugging Face safetensors file. */
  weights: string;
  /** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  adapter: string;
  /** The merged safetensors file to write. */
  out: string;
}

export interface MergeFilesResult {
  /** Adapted layers folded into their base weights. */
  mergedLayers: number;
  /** Tensors in the base file (all of them are written). */
  tensors: number;
}

/**
 * Merges an adapter into base weights and writes the merged model: W = W0 + scaling·B·A for every
 * adapted layer (DoRA: rescaled to its magnitude). The adapter's config decides what is
 * adapted, over the spec's own `lora` block. The output keeps the input's Hugging Face names (a tied
 * pair written once, under the name the input used) and its other tensors; every tensor is F32.
 */
export function mergeAdapterIntoBase(options: MergeFilesOptions): MergeFilesResult {
  const specModel = loadSpec(options.spec, { config: options.config, overrides: options.set });
  const adapter = readAdapterDir(options.adapter);
  const model = applyPeftConfig(specModel, adapter.config, path.join(options.adapter, ADAPTER_CONFIG_NAME));
  const input = readSafetensorsFile(options.weights);
  const base = readBaseWeights(model, input);
  const merged = mergeAdapterWeights(model, base, adapterWeights(model, adapter, options.adapter));
  writeModelFile(options.out, stripAdapters(model), merged, input);
  return { mergedLayers: model.lora.length, tensors: input.names.length };
}
