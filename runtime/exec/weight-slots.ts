// Where a model weight lives in a compiled graph: one parameter of its name, or, when the compiler
// split it to fit the device's bindings (compiler/passes/split.ts), row chunks named
// `<weight>[start:end]`. Weights go in and out by their model name through these helpers, which
// slice rows on the way in and join them on the way out, so callers never see the chunks.
import type { OpAttrs } from '../../compiler/ir/ops.ts';
import { numel, type Graph, type Shape } from '../../compiler/ir/types.ts';
import type { StoredTensor } from '../io/dtypes.ts';
import type { Executor, ParamData } from './executor.ts';

/** One parameter holding rows [start, start + rows) of a weight (all of it when not split). */
export interface WeightSlot {
  param: string;
  start: number;
  rows: number;
  /** The parameter's shape ([rows, ...] for a chunk). */
  shape: Shape;
}

/** Every weight of the graph by name, each with its parameter(s) in row order. */
export function weightSlots(graph: Graph): Map<string, WeightSlot[]> {
  const out = new Map<string, WeightSlot[]>();
  for (const node of graph.nodes) {
    if (node.op !== 'param') continue;
    const a = node.attrs as OpAttrs['param'];
    const slot = { param: a.name, start: a.rows?.start ?? 0, rows: a.shape[0] ?? 1, shape: a.shape };
    const name = a.rows?.of ?? a.name;
    out.set(name, [...(out.get(name) ?? []), slot]);
  }
  for (const slots of out.values()) slots.sort((a, b) => a.start - b.start);
  return out;
}

/** Rows [start, start + rows) of a weight's value whose whole has `totalRows` rows. */
export function rowsOf(data: ParamData, start: number, rows: number, totalRows: number): ParamData {
  if (data instanceof Float32Array) {
    const per = data.length / totalRows;
    return data.subarray(start * per, (start + rows) * per);
  }
  const per = data.bytes.byteLength / totalRows;
  const t: StoredTensor = { dtype: data.dtype, shape: [rows, ...data.shape.slice(1)], bytes: data.bytes.subarray(start * per, (start + rows) * per) };
  return t;
}

/**
 * Sets a weight (whole or chunk by chunk) given its slots; returns the parameters set (none when
 * the graph lacks it). `write` sets one parameter's companion tensor instead (AdamW moments).
 */
export function setWeight(exec: Executor, slots: readonly WeightSlot[] | undefined, data: ParamData, write: (param: string, data: ParamData) => void = (p, d) => exec.setParam(p, d)): string[] {
  if (!slots) return [];
  if (slots.length === 1 && slots[0]!.start === 0) {
    write(slots[0]!.param, data);
    return [slots[0]!.param];
  }
  const total = slots.reduce((a, s) => a + s.rows, 0);
  for (const s of slots) write(s.param, rowsOf(data, s.start, s.rows, total));
  return slots.map((s) => s.param);
}

/**
 * Reads weight `name` as f32, joining its chunks; `read` reads one parameter's companion tensor
 * instead (AdamW moments: `(p) => exec.getState(`${p}.exp_avg`)`).
 */
export async function getWeight(exec: Executor, name: string, read: (param: string) => Promise<Float32Array> = (p) => exec.getParam(p)): Promise<Float32Array> {
  const slots = weightSlots(exec.graph).get(name);
  if (!slots) throw new Error(`the graph has no weight "${name}"`);
  if (slots.length === 1) return read(slots[0]!.param);
  const parts = await Promise.all(slots.map((s) => read(s.param)));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The weight's whole shape (chunk rows summed). */
export function weightShape(slots: readonly WeightSlot[]): number[] {
  return [slots.reduce((a, s) => a + s.rows, 0), ...slots[0]!.shape.slice(1)];
}

export { numel };
