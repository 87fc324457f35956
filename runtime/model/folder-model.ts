// A Hugging Face model folder as the flows (train, generate, merge, unmerge, verify) use it: its spec
// (loadModelSpec: the shipped spec of config.json's model_type, or a spec file the user gives),
// checked against the folder's tensors both ways, and its base weights: uploaded as stored
// (loadFolderBase: bf16 stays bf16 on the device, one tensor or row chunk at a time, through
// upload.ts), or read as float32 where a flow does arithmetic on them (readFolderWeights: merging,
// generation's adapter set, verification). The folder itself (files, shards, dtypes, tokenizer
// files) is runtime/io/model-folder.ts.
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import { mutatesBase } from '../../compiler/lora/index.ts';
import { isAdaptable } from '../adapters/apply-peft.ts';
import { storageName } from '../adapters/init.ts';
import { ModelFolder } from '../io/model-folder.ts';
import type { LoadedBase } from './base-weights.ts';
import { compareFolderTensors } from './folder-tensors.ts';
import { loadModelSpec } from './load-spec.ts';
import { baseParamDtypes, uploadBaseWeights } from './upload.ts';
import { streamBaseWeights, type WeightMap } from './weights.ts';

export interface FolderSpecOptions {
  /** A spec file to use instead of the shipped one for the folder's model_type. */
  spec?: string;
  /** Spec parameter overrides (`--set name=value`), over the config's values. */
  set?: Record<string, number | boolean | string>;
}

/**
 * The folder's model: its spec (loadModelSpec) bound to its config.json and any --set overrides,
 * checked against the folder's tensors (requireSameTensors). `unread` lists the config keys the spec
 * does not read, for the caller to report.
 */
export function loadFolderSpec(folder: ModelFolder, o: FolderSpecOptions = {}): { specFile: string; model: CheckedModel; unread: readonly string[] } {
  const loaded = loadModelSpec(folder, { ...(o.spec !== undefined ? { spec: o.spec } : {}), ...(o.set ? { overrides: o.set } : {}) });
  requireSameTensors(loaded.model, folder);
  return { specFile: loaded.spec, model: loaded.model, unread: loaded.model.unreadConfigKeys ?? [] };
}

/** Buffers that checkpoints may carry and transformers ignores on load (older Llama files). */
const IGNORED_TENSORS = /(^|\.)rotary_emb\.inv_freq$/;

/**
 * Every base weight of the spec is in the folder with its shape, and every tensor of the folder is
 * one the spec reads (or the tied twin of one). `rankfold check --model` reports an unused tensor as a
 * warning; a flow that computes with the model refuses it, since it means the spec is not this
 * architecture's (Qwen2's q/k/v biases under the Llama spec would be dropped and the logits wrong).
 */
export function requireSameTensors(model: CheckedModel, folder: ModelFolder): void {
  const r = compareFolderTensors(model, folder);
  const problems = [...r.missing.map((m) => `missing ${m}`), ...r.mismatched];
  if (problems.length > 0) {
    throw new UserError(`${folder.dir} does not match ${model.file}: ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? `; ... (${problems.length})` : ''}`);
  }
  const unused = r.unused.filter((n) => !IGNORED_TENSORS.test(n));
  if (unused.length > 0) {
    throw new UserError(
      `${folder.dir}: ${unused.length} tensor${unused.length > 1 ? 's' : ''} of the folder ${unused.length > 1 ? 'are' : 'is'} not in ${model.file} (${unused.slice(0, 4).join(', ')}${unused.length > 4 ? ', ...' : ''}): ` +
        `the spec does not describe this model${folder.modelType ? ` (model_type "${folder.modelType}")` : ''}`,
    );
  }
}

/**
 * The model's base weights from the folder (all of them, or those `only` accepts), shapes checked,
 * NaN/Inf refused, each read one at a time and widened to float32 from its stored dtype.
 */
export function readFolderWeights(model: CheckedModel, folder: ModelFolder, only?: (name: string) => boolean): Promise<WeightMap> {
  return streamBaseWeights(model, folder, only);
}

/**
 * The base of a training run from a folder (LoadedBase, as loadBase gives for a file): uploaded as
 * stored, one tensor or row chunk at a time (16-bit weights stay 16-bit: compile with paramDtypes);
 * as float32 on the host only the weights an adapter init reads (DoRA norms, PiSSA/OLoRA's SVD).
 */
export async function loadFolderBase(model: CheckedModel, folder: ModelFolder): Promise<LoadedBase> {
  const initReads = new Set<string>();
  for (const op of model.ops) {
    if (isAdaptable(op) && op.lora && (op.lora.dora || mutatesBase(op.lora.init))) initReads.add(storageName(model, op.weight));
  }
  const decoded = initReads.size > 0 ? await readFolderWeights(model, folder, (n) => initReads.has(n)) : new Map<string, Float32Array>();
  const dtypes = [...new Set(folder.tensors.map((t) => t.dtype))].join('/');
  return {
    description: `${folder.dir} (${folder.modelType ?? 'model'}, ${dtypes}, ${folder.files.length} file${folder.files.length > 1 ? 's' : ''})`,
    paramDtypes: baseParamDtypes(model, folder, folder.dir),
    decodedOnUse: () => decoded,
    upload: (exec) => uploadBaseWeights(exec, model, folder, folder.dir),
  };
}

/** Opens a folder, runs `body` and closes the folder's file handles, whatever happens. */
export async function withModelFolder<T>(dir: string, body: (folder: ModelFolder) => Promise<T>): Promise<T> {
  const folder = await ModelFolder.open(dir);
  try {
    return await body(folder);
  } finally {
    await folder.close();
  }
}
