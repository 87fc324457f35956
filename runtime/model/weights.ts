// Moving base weights between files and an executor: from a Hugging Face safetensors file (by
// name, tied pairs from either name), a fresh GPT-2-style initialization, into an executor.
// Adapters: runtime/adapters/ (init.ts, adapter-weights.ts).
import type { CheckedModel, Weight } from '../../compiler/check/model.ts';
import { Rng } from '../data/rng.ts';
import { UserError } from '../../compiler/errors.ts';
import type { Executor, ParamData } from '../exec/executor.ts';
import { setWeight, weightSlots } from '../exec/weight-slots.ts';
import { paramNames } from '../exec/executor.ts';
import type { SafetensorsFile } from '../io/safetensors.ts';
import { toFloat32, type StoredTensor } from '../io/dtypes.ts';
import { requireFinite } from './finite.ts';

export type WeightMap = Map<string, Float32Array>;

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Base weights of the model (not adapters, not tied aliases), by checkpoint name. */
export function baseWeights(model: CheckedModel): Weight[] {
  return model.weights.filter((w) => w.role !== 'adapter' && w.tiedTo === undefined);
}

/** Where tensors come from by name: a whole safetensors file, or a streamed folder (HfFolder). */
interface TensorIndex {
  readonly source: string;
  has(name: string): boolean;
  info(name: string): { readonly shape: readonly number[] };
}

/**
 * Which stored tensor each base weight (or each that `only` accepts) comes from, shapes checked: its
 * own name, or either name of a tied pair (GPT-2 stores only wte).
 */
export function storedNames(model: CheckedModel, src: TensorIndex, only?: (weight: string) => boolean): [Weight, string][] {
  return baseWeights(model).filter((w) => !only || only(w.name)).map((w) => {
    let name = w.name;
    if (!src.has(name)) {
      const alias = model.weights.find((x) => x.tiedTo === w.name && src.has(x.name));
      if (!alias) throw new UserError(`${src.source}: tensor "${w.name}" (shape [${w.shape.join(', ')}]) required by ${model.file} is missing`);
      name = alias.name;
    }
    const shape = src.info(name).shape;
    if (!sameShape(shape, w.shape)) {
      throw new UserError(`${src.source}: tensor "${name}" has shape [${shape.join(', ')}] but ${model.file} expects [${w.shape.join(', ')}]`);
    }
    return [w, name];
  });
}

/** Reads every base weight the model needs from a safetensors file, checking shapes and finiteness. */
export function readBaseWeights(model: CheckedModel, file: SafetensorsFile): WeightMap {
  const out: WeightMap = new Map();
  for (const [w, name] of storedNames(model, file)) {
    const data = file.getFloat32(name);
    requireFinite(data, file.source, name, file.info(name).shape);
    out.set(w.name, data);
  }
  return out;
}

/**
 * The same, one tensor at a time from a streamed folder (HfFolder: a Hugging Face folder on disk or
 * picked in a page), converted to float32 from its stored dtype; all base weights, or those `only` accepts.
 */
export async function streamBaseWeights(model: CheckedModel, folder: TensorIndex & { read(name: string): Promise<StoredTensor> }, only?: (weight: string) => boolean): Promise<WeightMap> {
  const out: WeightMap = new Map();
  for (const [w, name] of storedNames(model, folder, only)) {
    const data = toFloat32(await folder.read(name), `${folder.source}: ${name}`);
    requireFinite(data, folder.source, name, folder.info(name).shape);
    out.set(w.name, data);
  }
  return out;
}

/** GPT-2's initialization: N(0, 0.02) matrices and embeddings, ones for norm scales, zero biases. */
export function initBaseWeights(model: CheckedModel, seed: number): WeightMap {
  const rng = new Rng(seed);
  const out: WeightMap = new Map();
  for (const w of baseWeights(model)) {
    const data = new Float32Array(w.numel);
    if (w.layout === 'vector') data.fill(w.name.endsWith('.bias') ? 0 : 1);
    else for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.02;
    out.set(w.name, data);
  }
  return out;
}

/**
 * Sets every weight of the executor's graph that `weights` has (a weight the compiler split into row
 * chunks is sliced into them); returns the parameter names it set.
 */
export function setWeights(exec: Executor, weights: ReadonlyMap<string, ParamData>): string[] {
  const set: string[] = [];
  for (const [name, slots] of weightSlots(exec.graph)) {
    const w = weights.get(name);
    if (w) set.push(...setWeight(exec, slots, w));
  }
  return set;
}

/** Fails naming every parameter of the graph that was never given a value. */
export function requireAllSet(exec: Executor, set: Iterable<string>): void {
  const have = new Set(set);
  const missing = paramNames(exec.graph).filter((n) => !have.has(n));
  if (missing.length > 0) throw new UserError(`no value for parameter(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
}

/** Weights with their shapes from the model, ready for writeSafetensorsFile (HF names). */
export function weightTensors(model: CheckedModel, weights: WeightMap): Map<string, { shape: number[]; data: Float32Array }> {
  const shapes = new Map(model.weights.map((w) => [w.name, w.shape]));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, data] of weights) {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`weightTensors: ${model.file} has no weight "${name}"`);
    out.set(name, { shape, data });
  }
  return out;
}
