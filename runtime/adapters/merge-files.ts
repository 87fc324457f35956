// Merging on disk (`rankfold merge` / `unmerge`, and scripts), as PEFT's merge_and_unload (or
// unmerge_adapter) followed by save_pretrained. Two forms of the model:
// - a Hugging Face model folder: the output is a model folder with the input's tensor names, shapes
//   and dtypes (bf16 stays bf16), sharded with an index as save_pretrained shards, config.json and the
//   tokenizer and generation files carried over. Only the weights the adapter changes are read into
//   memory (as float32, merged, rounded back to their dtype); every other tensor is copied through
//   byte for byte, one at a time.
// - a spec (+ config) and one safetensors file: the output is one safetensors file, every tensor F32.
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import { fromFloat32, isFloatDtype, type StoredTensor } from '../io/dtypes.ts';
import { CONFIG_NAME } from '../io/hf-config.ts';
import { ModelFolder } from '../io/model-folder.ts';
import { writeModelFolder, type TensorSource } from '../io/model-folder-write.ts';
import { readAdapterDir, readSafetensorsFile, readTextFile } from '../io/node-fs.ts';
import type { Adapter } from '../io/peft.ts';
import { loadFolderSpec, readFolderWeights, withModelFolder } from '../model/folder-model.ts';
import { requireFinite } from '../model/finite.ts';
import { loadSpec } from '../model/load-spec.ts';
import { writeModelFile } from '../model/base-weights.ts';
import { readBaseWeights, storedNames, type WeightMap } from '../model/weights.ts';
import { applyPeftConfig } from './apply-peft.ts';
import { mergeAdapter, mergeTouches, unmergeAdapter, type MergeResult } from './merge-model.ts';

export interface MergeFilesOptions {
  /** The model spec (.rf); with `model`, it overrides the shipped spec of the folder's model_type. */
  spec?: string;
  /**
   * A Hugging Face model folder: its config.json picks and binds the spec, and it is the base (merge)
   * or, without `weights`, the merged model (unmerge). The output is then a model folder.
   */
  model?: string;
  /** A Hugging Face config.json's contents, bound through the spec's `config` block (not with `model`). */
  config?: Record<string, unknown>;
  /** Spec parameter overrides (like `rankfold merge --set`). */
  set?: Record<string, number | boolean | string>;
  /**
   * With a spec: the base (merge) or merged (unmerge) weights, a safetensors file. With `model`
   * (unmerge only): the merged model's folder, when it is not the `model` folder itself.
   */
  weights?: string;
  /** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  adapter: string;
  /** The file (spec form) or model folder (`model` form) to write. */
  out: string;
  /** `model` form: replace an existing model folder at `out` (only if it holds nothing but model-folder files). */
  overwrite?: boolean;
  /** `model` form: the largest shard, bytes or "5GB" (default: save_pretrained's 5GB). */
  maxShardSize?: number | string;
}

export interface MergeFilesResult {
  /** Adapted layers folded into (or taken out of) their base weights. */
  mergedLayers: number;
  /** Tensors written (all of the input's). */
  tensors: number;
  /** `model` form: the weight files written (one model.safetensors, or the shards of the index). */
  shards?: string[];
}

type Direction = 'merge' | 'unmerge';

/** The spec form: a spec (+ config) and a safetensors file. A model folder goes through mergeFolder. */
function fileInput(options: MergeFilesOptions): { model: CheckedModel; weights: string } {
  if (options.spec === undefined) throw new UserError('no model: give a spec file and --weights, or --model with a Hugging Face model folder');
  if (options.weights === undefined) throw new UserError('--weights is required with a spec file (or give --model with a Hugging Face model folder)');
  return { model: loadSpec(options.spec, { config: options.config, overrides: options.set }), weights: options.weights };
}

function run(direction: Direction, spec: CheckedModel, base: WeightMap, adapter: Adapter, source: string): MergeResult {
  return direction === 'merge' ? mergeAdapter(spec, base, adapter, source) : unmergeAdapter(spec, base, adapter, source);
}

async function mergeFiles(options: MergeFilesOptions, direction: Direction): Promise<MergeFilesResult> {
  if (options.model !== undefined) return mergeFolder(options, direction);
  const { model, weights } = fileInput(options);
  const file = readSafetensorsFile(weights);
  const r = run(direction, model, readBaseWeights(model, file), readAdapterDir(options.adapter), options.adapter);
  writeModelFile(options.out, r.plain, r.weights, file);
  return { mergedLayers: r.adapted.lora.length, tensors: file.names.length };
}

/**
 * A model folder in, a model folder out: the adapter's touched weights (mergeTouches) are read as
 * float32, merged (or unmerged), checked finite and rounded back to each tensor's stored dtype;
 * every other tensor of the input is copied as stored. The written folder lists the same tensors in
 * the same order, so names, shapes and dtypes equal the input's.
 */
async function mergeFolder(options: MergeFilesOptions, direction: Direction): Promise<MergeFilesResult> {
  const dir = options.model!;
  if (options.config !== undefined) throw new UserError(`--config cannot be used with --model: the folder's config.json is used (${dir})`);
  if (direction === 'merge' && options.weights !== undefined) throw new UserError(`--weights cannot be used with merge --model: the base weights are the folder's (${dir})`);
  return withModelFolder(dir, async (folder) => {
    const { model: spec } = loadFolderSpec(folder, { spec: options.spec, set: options.set });
    const adapter = readAdapterDir(options.adapter);
    const adapted = applyPeftConfig(spec, adapter.config, `${options.adapter}/adapter_config.json`);
    const touched = mergeTouches(adapted, adapter, options.adapter);
    const weightsDir = options.weights ?? dir;
    const input = weightsDir === dir ? folder : await ModelFolder.open(weightsDir);
    try {
      const r = run(direction, spec, await readFolderWeights(spec, input, (n) => touched.has(n)), adapter, options.adapter);
      // Stored name -> the changed value (a tied weight may be stored under either name of its pair).
      const changed = new Map<string, Float32Array>();
      for (const [w, stored] of storedNames(spec, input, (n) => touched.has(n))) {
        const value = r.weights.get(w.name)!;
        requireFinite(value, `${direction === 'merge' ? 'merged' : 'unmerged'} weights`, w.name, w.shape, `nothing written to ${options.out}`);
        changed.set(stored, value);
      }
      const sources: TensorSource[] = input.tensors.map((t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        read: async (): Promise<StoredTensor> => {
          const value = changed.get(t.name);
          if (value === undefined) return input.read(t.name);
          if (!isFloatDtype(t.dtype)) throw new Error(`merge: ${t.name} is ${t.dtype}, not a float tensor`);
          return fromFloat32(value, t.dtype, t.shape);
        },
      }));
      const written = await writeModelFolder(options.out, sources, {
        config: readTextFile(path.join(folder.dir, CONFIG_NAME)),
        files: folder.auxiliaryFiles(),
        omit: [], // exactly the input's tensors: a tied head the input stores stays, one it leaves out stays out
        ...(options.maxShardSize !== undefined ? { maxShardSize: options.maxShardSize } : {}),
        ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
      });
      return { mergedLayers: r.adapted.lora.length, tensors: sources.length, shards: written.shards };
    } finally {
      if (input !== folder) await input.close();
    }
  });
}

/**
 * Merges an adapter into base weights and writes the merged model (PEFT's merge_and_unload,
 * runtime/adapters/merge-model.ts): LoRA deltas (DoRA rescaled to its magnitude), lora_bias,
 * modules_to_save copies, trained biases. The adapter's config decides what is adapted, over the
 * spec's own `lora` block. A model folder gives a model folder in the input's dtypes; a spec and a
 * safetensors file give one F32 safetensors file under the input's names (a tied pair written once,
 * under the name the input used) with its other tensors.
 */
export function mergeAdapterIntoBase(options: MergeFilesOptions): Promise<MergeFilesResult> {
  return mergeFiles(options, 'merge');
}

/**
 * Takes a merged adapter out of merged weights and writes the base (PEFT's unmerge_adapter): the
 * base back within the rounding of the weights' dtype; refused, naming why, where the merge lost
 * information (DoRA, PiSSA/OLoRA, modules_to_save copies, trained biases). The merged weights are
 * `options.weights` (a file with a spec; a folder, or the `model` folder itself, with `model`).
 */
export function unmergeAdapterFromBase(options: MergeFilesOptions): Promise<MergeFilesResult> {
  return mergeFiles(options, 'unmerge');
}
