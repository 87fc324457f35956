// Base weights in and out of Hugging Face safetensors files, shared by train, merge and generate:
// load from --weights (or a seeded fresh init, said aloud), and write a full model back under the
// names the input file used (a tied pair once, under whichever name the file had).
import type { CheckedModel } from '../../compiler/check/model.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readSafetensorsFile } from '../io/node-fs.ts';
import { serializeSafetensors, type SafetensorsFile, type TensorInput } from '../io/safetensors.ts';
import { requireFinite } from './finite.ts';
import { baseWeights, initBaseWeights, setWeights, type WeightMap } from './weights.ts';
import { baseParamDtypes, readerOf, storedName, uploadBaseWeights } from './upload.ts';
import type { ParamDtypes } from '../../compiler/passes/storage.ts';
import type { Executor } from '../exec/executor.ts';

export interface LoadedBase {
  /** The file read, for writing back under its names; undefined for a fresh init. */
  file?: SafetensorsFile;
  /** One line for the user: where the base came from. */
  description: string;
  /** How the file stores each weight, for compile's paramDtypes (none for a fresh init: f32). */
  paramDtypes?: ParamDtypes;
  /** The base weights as f32, each decoded when first asked for (adapter inits read only the weights they adapt). */
  decodedOnUse(): WeightMap;
  /** Sets every base weight of the executor's graph, as stored (16-bit weights stay 16-bit); returns the parameters set. */
  upload(exec: Executor): Promise<string[]>;
}

/** A weight map that decodes each weight from its file when first read. */
class DecodedOnUse extends Map<string, Float32Array> {
  constructor(private readonly decode: (name: string) => Float32Array | undefined) {
    super();
  }
  override get(name: string): Float32Array | undefined {
    let v = super.get(name);
    if (v === undefined) {
      v = this.decode(name);
      if (v !== undefined) super.set(name, v);
    }
    return v;
  }
  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

export function loadBase(model: CheckedModel, weightsFile: string | undefined, seed: number): LoadedBase {
  if (weightsFile === undefined) {
    const weights = initBaseWeights(model, seed);
    return { decodedOnUse: () => weights, description: `fresh init (GPT-2 style, seed ${seed}): no --weights given, so the base model is random`, upload: async (exec) => setWeights(exec, weights) };
  }
  const file = readSafetensorsFile(weightsFile);
  const reader = readerOf(file);
  return {
    decodedOnUse: () => new DecodedOnUse((name) => {
      const w = model.weights.find((x) => x.name === name);
      if (!w) return undefined;
      const stored = storedName(model, w, reader, weightsFile);
      const data = file.getFloat32(stored);
      requireFinite(data, weightsFile, stored, w.shape);
      return data;
    }),
    file,
    description: weightsFile,
    paramDtypes: baseParamDtypes(model, reader, weightsFile),
    upload: (exec) => uploadBaseWeights(exec, model, reader, weightsFile),
  };
}

/**
 * The tensors of a full model under Hugging Face names. A weight the input file stored under its
 * tied alias (GPT-2's lm_head read from wte, or the reverse) is written under that alias; tensors of
 * the input the model does not use (buffers, a tied duplicate) are copied through unchanged, except
 * a second copy of a tied weight we already write.
 */
export function hfTensors(model: CheckedModel, weights: WeightMap, input?: SafetensorsFile): Map<string, TensorInput> {
  const out = new Map<string, TensorInput>();
  const covered = new Set<string>();
  for (const w of baseWeights(model)) {
    const data = weights.get(w.name);
    if (!data) throw new Error(`hfTensors: no value for ${w.name}`);
    let name = w.name;
    if (input && !input.has(w.name)) name = model.weights.find((x) => x.tiedTo === w.name && input.has(x.name))?.name ?? w.name;
    out.set(name, { shape: w.shape, data });
    covered.add(w.name);
    for (const x of model.weights) if (x.tiedTo === w.name) covered.add(x.name);
  }
  if (input) {
    for (const name of input.names) {
      if (covered.has(name) || out.has(name)) continue;
      const info = input.info(name);
      const isInt = /^(I|U)\d+$|^BOOL$/.test(info.dtype);
      out.set(name, { shape: info.shape, data: isInt ? input.getInt32(name) : input.getFloat32(name) });
    }
  }
  return out;
}

/** A full model's safetensors bytes; refuses NaN/Inf (a merge that overflowed, a diverged run). */
export function modelFileBytes(model: CheckedModel, weights: WeightMap, input?: SafetensorsFile, source = 'the model to write'): Uint8Array {
  for (const w of baseWeights(model)) {
    const data = weights.get(w.name);
    if (data) requireFinite(data, source, w.name, w.shape, 'nothing written');
  }
  return serializeSafetensors(hfTensors(model, weights, input), { format: 'pt' });
}

export function writeModelFile(file: string, model: CheckedModel, weights: WeightMap, input?: SafetensorsFile): void {
  writeFileAtomic(file, modelFileBytes(model, weights, input, file));
}
