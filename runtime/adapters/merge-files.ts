// Merging on disk (`rankfold merge`, and scripts): a spec, base weights and a PEFT adapter folder
// in, one plain safetensors model out, as PEFT's merge_and_unload followed by save_pretrained.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { readAdapterDir, readSafetensorsFile } from '../io/node-fs.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import { loadSpec } from '../model/load-spec.ts';
import { writeModelFile } from '../model/base-weights.ts';
import { readBaseWeights } from '../model/weights.ts';
import { mergeAdapter, unmergeAdapter } from './merge-model.ts';

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
 * The model and weights file to work on: a spec (+ config) and a safetensors file. A model folder
 * (config.json + safetensors, runtime/io/model-folder.ts) plugs in here.
 */
function modelInput(options: MergeFilesOptions): { model: CheckedModel; file: SafetensorsFile } {
  return { model: loadSpec(options.spec, { config: options.config, overrides: options.set }), file: readSafetensorsFile(options.weights) };
}

/**
 * Merges an adapter into base weights and writes the merged model (PEFT's merge_and_unload,
 * runtime/adapters/merge-model.ts): LoRA deltas (DoRA rescaled to its magnitude), lora_bias,
 * modules_to_save copies, trained biases. The adapter's config decides what is adapted, over the
 * spec's own `lora` block. The output keeps the input's Hugging Face names (a tied pair written
 * once, under the name the input used) and its other tensors; every tensor is F32.
 */
export function mergeAdapterIntoBase(options: MergeFilesOptions): MergeFilesResult {
  const { model, file } = modelInput(options);
  const r = mergeAdapter(model, readBaseWeights(model, file), readAdapterDir(options.adapter), options.adapter);
  writeModelFile(options.out, r.plain, r.weights, file);
  return { mergedLayers: r.adapted.lora.length, tensors: file.names.length };
}

/**
 * Takes a merged adapter out of merged weights and writes the base (PEFT's unmerge_adapter): the
 * base back within float32 rounding; refused, naming why, where the merge lost information (DoRA,
 * PiSSA/OLoRA, modules_to_save copies, trained biases). `options.weights` is the merged file.
 */
export function unmergeAdapterFromBase(options: MergeFilesOptions): MergeFilesResult {
  const { model, file } = modelInput(options);
  const r = unmergeAdapter(model, readBaseWeights(model, file), readAdapterDir(options.adapter), options.adapter);
  writeModelFile(options.out, r.plain, r.weights, file);
  return { mergedLayers: r.adapted.lora.length, tensors: file.names.length };
}
