// What `rankfold serve` serves: a base model (its checked spec without adapters, and how its weights
// are stored: they go from the file to the device tensor by tensor, 16-bit ones as stored, never
// decoded to f32 on the host), its tokenizer and chat template, and how many positions it may use.
// Two sources: a Hugging Face model folder (config.json picks the shipped spec by model_type, weights
// from model.safetensors or its shards, tokenizer.json and the chat template beside them), or a
// spec with --weights, --tokenizer and --config for architectures without a shipped spec.
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { stripAdapters } from '../adapters/merge-model.ts';
import { tokenizerFor } from '../data/job-data.ts';
import type { Tokenizer } from '../data/tokenizer.ts';
import { toFloat32 } from '../io/dtypes.ts';
import { ModelFolder } from '../io/model-folder.ts';
import { openSafetensors } from '../io/safetensors-node.ts';
import type { ParamDtypes } from '../../compiler/passes/storage.ts';
import type { Executor } from '../exec/executor.ts';
import { requireFinite } from '../model/finite.ts';
import { loadSpec, readConfigJson } from '../model/load-spec.ts';
import { loadFolderSpec } from '../model/folder-model.ts';
import { baseParamDtypes, storedName, uploadBaseWeights, type TensorReader } from '../model/upload.ts';
import { maxPositions } from '../train/settings.ts';
import { baseWeights, type WeightMap } from '../model/weights.ts';

export interface ServeModel {
  /** The id clients use for the base model (`model` in requests, /v1/models). */
  name: string;
  /** The checked model without adapters (the serving graph adds stacked adapter slots). */
  model: CheckedModel;
  /** How the source stores each base weight, for compile's paramDtypes: frozen bf16/f16 matrices stay 16-bit on the device. */
  paramDtypes: ParamDtypes;
  /**
   * Sets every base weight of each executor's graph as stored (uploadBaseWeights: one tensor, or one
   * row chunk of a split weight, read at a time; checked finite), reading the source again; returns
   * the parameters set.
   */
  uploadWeights(execs: readonly Executor[]): Promise<string[]>;
  /** The base weights decoded to f32 on the host (comparisons, benchmarks): serving never needs them. */
  decodeWeights(): Promise<WeightMap>;
  tokenizer: Tokenizer;
  /** The most positions the model takes: learned positions, else config.json's max_position_embeddings. */
  maxPositions?: number;
  /** Where it came from, for messages. */
  source: string;
}

/** A source of base weights that is opened for each use and closed after it (a model folder, a safetensors file). */
type OpenReader = () => Promise<TensorReader & { close(): Promise<void> }>;

/** What ServeModel needs of its weights: how they are stored (checked now), uploads and decodes (each reopening the source). */
async function weightAccess(model: CheckedModel, open: OpenReader, label: string): Promise<Pick<ServeModel, 'paramDtypes' | 'uploadWeights' | 'decodeWeights'>> {
  const using = async <T>(f: (r: TensorReader) => Promise<T>): Promise<T> => {
    const reader = await open();
    try {
      return await f(reader);
    } finally {
      await reader.close();
    }
  };
  // Every base weight present, shaped as the spec says and a float dtype: refused by name before anything compiles.
  const paramDtypes = await using(async (r) => baseParamDtypes(model, r, label));
  return {
    paramDtypes,
    uploadWeights: (execs) =>
      using(async (r) => {
        const set: string[] = [];
        for (const e of execs) set.push(...(await uploadBaseWeights(e, model, r, label)));
        return set;
      }),
    decodeWeights: () =>
      using(async (r) => {
        const out: WeightMap = new Map();
        for (const w of baseWeights(model)) {
          const name = storedName(model, w, r, label);
          const data = toFloat32(await r.read(name), `${label}: ${name}`);
          requireFinite(data, label, name, w.shape);
          out.set(w.name, data);
        }
        return out;
      }),
  };
}

function positionsFrom(model: CheckedModel, config: Record<string, unknown> | undefined): number | undefined {
  const learned = maxPositions(model);
  if (learned !== undefined) return learned;
  const v = config?.['max_position_embeddings'];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** A Hugging Face model folder: config.json, weights, tokenizer.json (+ chat template). */
export async function loadModelFolder(dir: string, o: { name?: string } = {}): Promise<ServeModel> {
  const folder = await ModelFolder.open(dir);
  try {
    // The shipped spec of the folder's model_type bound to its config.json, its tensors checked both ways.
    const model = stripAdapters(loadFolderSpec(folder).model);
    const weights = await weightAccess(model, () => ModelFolder.open(dir), dir);
    const tokenizer = await tokenizerFor(model, undefined, { folder: dir });
    const positions = positionsFrom(model, folder.config);
    return { name: o.name ?? path.basename(path.resolve(dir)), model, ...weights, tokenizer, source: dir, ...(positions !== undefined ? { maxPositions: positions } : {}) };
  } finally {
    await folder.close();
  }
}

export interface SpecSourceOptions {
  spec: string;
  /** Base weights: a Hugging Face safetensors file. */
  weights: string;
  /** A folder with tokenizer.json (and its chat template), or `bytes` / `gpt2`. */
  tokenizer?: string;
  /** A Hugging Face config.json, bound through the spec's `config` block. */
  config?: string;
  set?: Record<string, number | boolean | string>;
  name?: string;
}

/** A spec with --weights and --tokenizer: for architectures whose folders `--model` does not read yet. */
export async function loadSpecModel(o: SpecSourceOptions): Promise<ServeModel> {
  const config = o.config !== undefined ? readConfigJson(o.config) : undefined;
  const model = stripAdapters(loadSpec(o.spec, { config, overrides: o.set }));
  const weights = await weightAccess(model, () => openSafetensors(o.weights), o.weights);
  // The rules of train and generate: bytes, gpt2 or a tokenizer folder; no default beyond bytes and GPT-2-sized vocabularies.
  const tokenizer = await tokenizerFor(model, o.tokenizer);
  const positions = positionsFrom(model, config);
  return { name: o.name ?? path.basename(o.weights).replace(/\.safetensors$/, ''), model, ...weights, tokenizer, source: o.spec, ...(positions !== undefined ? { maxPositions: positions } : {}) };
}
