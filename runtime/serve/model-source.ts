// What `rankfold serve` serves: a base model (its checked spec without adapters, its weights on the
// host until uploaded), its tokenizer and chat template, and how many positions it may use. Two
// sources: a Hugging Face model folder (config.json picks the shipped spec by model_type, weights
// from model.safetensors or its shards, tokenizer.json and the chat template beside them), or a
// spec with --weights, --tokenizer and --config for architectures without a shipped spec.
import * as path from 'node:path';
import type { CheckedModel } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import { stripAdapters } from '../adapters/merge-model.ts';
import { HfTokenizer } from '../data/hf-tokenizer.ts';
import { modelVocab } from '../data/job-data.ts';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.ts';
import { toFloat32 } from '../io/dtypes.ts';
import { ModelFolder, readTokenizerFiles } from '../io/model-folder.ts';
import { readSafetensorsFile } from '../io/node-fs.ts';
import { requireFinite } from '../model/finite.ts';
import { loadModelSpec, loadSpec, readConfigJson } from '../model/load-spec.ts';
import { maxPositions } from '../train/settings.ts';
import { baseWeights, readBaseWeights, type WeightMap } from '../model/weights.ts';

export interface ServeModel {
  /** The id clients use for the base model (`model` in requests, /v1/models). */
  name: string;
  /** The checked model without adapters (the serving graph adds stacked adapter slots). */
  model: CheckedModel;
  weights: WeightMap;
  tokenizer: Tokenizer;
  /** The most positions the model takes: learned positions, else config.json's max_position_embeddings. */
  maxPositions?: number;
  /** Where it came from, for messages. */
  source: string;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Every base weight of `model` from a model folder (a tied weight from whichever name the folder has). */
export async function readFolderWeights(model: CheckedModel, folder: ModelFolder): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const w of baseWeights(model)) {
    let name = w.name;
    if (!folder.has(name)) {
      const alias = model.weights.find((x) => x.tiedTo === w.name && folder.has(x.name));
      if (!alias) throw new UserError(`${folder.dir}: tensor "${w.name}" (shape [${w.shape.join(', ')}]) required by ${model.file} is missing`);
      name = alias.name;
    }
    const info = folder.info(name);
    if (!sameShape(info.shape, w.shape)) throw new UserError(`${folder.dir}: tensor "${name}" has shape [${info.shape.join(', ')}] but ${model.file} expects [${w.shape.join(', ')}]`);
    const data = toFloat32(await folder.read(name), `${folder.dir}: ${name}`);
    requireFinite(data, folder.dir, name, info.shape);
    out.set(w.name, data);
  }
  return out;
}

function checkVocab(model: CheckedModel, tok: Tokenizer, source: string): void {
  const vocab = modelVocab(model);
  if (tok.vocabSize > vocab) throw new UserError(`${source}: the tokenizer has ${tok.vocabSize} ids but the model's vocabulary is ${vocab}`);
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
    // The shipped spec of the folder's model_type, bound to its config.json (refusals by name).
    const model = stripAdapters(loadModelSpec(folder).model);
    const weights = await readFolderWeights(model, folder);
    const tokenizer = new HfTokenizer(folder.tokenizerFiles());
    checkVocab(model, tokenizer, dir);
    const positions = positionsFrom(model, folder.config);
    return { name: o.name ?? path.basename(path.resolve(dir)), model, weights, tokenizer, source: dir, ...(positions !== undefined ? { maxPositions: positions } : {}) };
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
  const weights = readBaseWeights(model, readSafetensorsFile(o.weights));
  const name = o.tokenizer ?? (modelVocab(model) === 256 ? 'bytes' : 'gpt2');
  const tokenizer = name === 'bytes' || name === 'gpt2' ? await loadTokenizer(name) : new HfTokenizer(readTokenizerFiles(name));
  checkVocab(model, tokenizer, o.tokenizer ?? name);
  const positions = positionsFrom(model, config);
  return { name: o.name ?? path.basename(o.weights).replace(/\.safetensors$/, ''), model, weights, tokenizer, source: o.spec, ...(positions !== undefined ? { maxPositions: positions } : {}) };
}
