// Base weights straight from a file to the device, one tensor at a time: each is read from its byte
// range (ModelFolder, a streamed SafetensorsReader, or a file already in memory), checked finite in
// its own dtype, and uploaded as stored. A frozen 16-bit weight keeps its bytes (the compiler kept it
// 16-bit: compile with `paramDtypes: baseParamDtypes(model, source)`); an f32 parameter (a vector,
// a trained weight) is converted. A weight the compiler split into row chunks is read chunk by
// chunk (readBytes of each row range), so host memory stays near one tensor, or one chunk of the
// largest, plus overhead.
import type { CheckedModel, Weight } from '../../compiler/check/model.ts';
import { UserError } from '../../compiler/errors.ts';
import type { ParamDtypes } from '../../compiler/passes/storage.ts';
import type { Executor } from '../exec/executor.ts';
import { weightSlots } from '../exec/weight-slots.ts';
import { isFloatDtype, type StoredTensor } from '../io/dtypes.ts';
import type { SafetensorsFile, TensorInfo } from '../io/safetensors.ts';
import { requireFiniteStored } from './finite.ts';
import { baseWeights } from './weights.ts';

/** What base weights are read from: ModelFolder and SafetensorsReader fit as they are (readerOf adapts a file in memory). */
export interface TensorReader {
  has(name: string): boolean;
  info(name: string): TensorInfo;
  read(name: string): Promise<StoredTensor>;
  readBytes(name: string, start: number, length: number): Promise<Uint8Array>;
}

/** A safetensors file already in memory as a TensorReader (views of its bytes, no copies). */
export function readerOf(file: SafetensorsFile): TensorReader {
  return {
    has: (name) => file.has(name),
    info: (name) => file.info(name),
    read: async (name) => {
      const info = file.info(name);
      return { dtype: info.dtype, shape: [...info.shape], bytes: file.raw(name) };
    },
    readBytes: async (name, start, length) => file.raw(name).subarray(start, start + length),
  };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The name `w` is stored under: its own, or (a tied pair) its alias's; a missing or misshapen tensor is a UserError. */
export function storedName(model: CheckedModel, w: Weight, source: TensorReader, label: string): string {
  let name = w.name;
  if (!source.has(name)) {
    const alias = model.weights.find((x) => x.tiedTo === w.name && source.has(x.name));
    if (!alias) throw new UserError(`${label}: tensor "${w.name}" (shape [${w.shape.join(', ')}]) required by ${model.file} is missing`);
    name = alias.name;
  }
  const info = source.info(name);
  if (!sameShape(info.shape, w.shape)) throw new UserError(`${label}: tensor "${name}" has shape [${info.shape.join(', ')}] but ${model.file} expects [${w.shape.join(', ')}]`);
  if (!isFloatDtype(info.dtype)) throw new UserError(`${label}: tensor "${name}" is ${info.dtype}; weights are F32, F16 or BF16`);
  return name;
}

/** How the base weights are stored in `source`, for compile's paramDtypes (16-bit ones stay 16-bit when frozen). */
export function baseParamDtypes(model: CheckedModel, source: TensorReader, label = 'weights'): ParamDtypes {
  const out: Record<string, 'bf16' | 'f16' | 'f32'> = {};
  for (const w of baseWeights(model)) {
    const dtype = source.info(storedName(model, w, source, label)).dtype;
    out[w.name] = dtype === 'BF16' ? 'bf16' : dtype === 'F16' ? 'f16' : 'f32';
  }
  return out;
}

/**
 * Reads every base weight the executor's graph has from `source` and sets it, one tensor (or row
 * chunk) at a time; returns the parameter names set. `label` names the source in errors.
 */
export async function uploadBaseWeights(exec: Executor, model: CheckedModel, source: TensorReader, label: string): Promise<string[]> {
  const slots = weightSlots(exec.graph);
  const set: string[] = [];
  for (const w of baseWeights(model)) {
    const mine = slots.get(w.name);
    if (!mine) continue; // the graph does not read it (removed as dead code)
    const name = storedName(model, w, source, label);
    const info = source.info(name);
    if (mine.length === 1 && mine[0]!.start === 0) {
      const t = await source.read(name);
      requireFiniteStored(t, label, name, info.shape);
      exec.setParam(mine[0]!.param, t);
      set.push(mine[0]!.param);
      continue;
    }
    const rowBytes = info.byteLength / info.shape[0]!;
    for (const slot of mine) {
      const t: StoredTensor = { dtype: info.dtype, shape: [slot.rows, ...info.shape.slice(1)], bytes: await source.readBytes(name, slot.start * rowBytes, slot.rows * rowBytes) };
      requireFiniteStored(t, label, name, info.shape, slot.start);
      exec.setParam(slot.param, t);
      set.push(slot.param);
    }
  }
  return set;
}
