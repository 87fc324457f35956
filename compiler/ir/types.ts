// Core types of Rankfold's IR: a graph of tensor operations with static shapes and dtypes.
// Every node produces one tensor. Nodes are stored in topological order (inputs before users),
// which the builder guarantees and the verifier checks.
import type { OpAttrs, OpName } from './ops.ts';

export type DType = 'f32' | 'i32';
export type Shape = readonly number[];

export interface TensorType {
  dtype: DType;
  shape: Shape;
}

/** What a parameter is, for the memory plan and for autodiff. */
export type ParamRole = 'frozen' | 'adapter' | 'trainable';

export interface Node<K extends OpName = OpName> {
  id: number;
  op: K;
  inputs: number[];
  attrs: OpAttrs[K];
  type: TensorType;
  /** Human-readable name for printing and debugging (e.g. "layers.0.q_proj.out"). */
  label?: string;
}

export interface Graph {
  nodes: Node[];
  /** Named results the runtime reads or keeps (e.g. "loss", "logits"). */
  outputs: Record<string, number>;
  /** d(loss)/d(param) for each trainable parameter, by parameter name (set by autodiff). */
  grads: Record<string, number>;
  /** Nodes run for their side effects (in-place optimizer updates); never removed by DCE. */
  effects: number[];
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** True when `suffix` equals the trailing dimensions of `shape` (numpy-style broadcast of a bias). */
export function isSuffix(suffix: Shape, shape: Shape): boolean {
  if (suffix.length > shape.length) return false;
  const off = shape.length - suffix.length;
  return suffix.every((d, i) => d === shape[off + i]);
}

export class IrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IrError';
  }
}
