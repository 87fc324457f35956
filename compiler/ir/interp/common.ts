// Shared types and helpers of the CPU reference interpreter's kernels.
import { numel, type Shape, type TensorType } from '../types.ts';

/** A tensor on the host: f32 values in Float32Array (or Float64Array in f64 mode), i32 in Int32Array. */
export type HostTensor = Float32Array | Float64Array | Int32Array;
export type FloatTensor = Float32Array | Float64Array;
export type Precision = 'f32' | 'f64';

/** One operand of a kernel: its data and its shape (the data carries no shape of its own). */
export interface HostArg {
  data: HostTensor;
  shape: Shape;
}

export interface KernelCtx {
  precision: Precision;
  /** The training step that dropout masks depend on. */
  step: number;
  /** Output storage of the precision: storing into a Float32Array is what rounds a result to f32. */
  alloc(n: number): FloatTensor;
}

export type Kernel<A> = (ctx: KernelCtx, xs: HostArg[], attrs: A, out: TensorType) => HostTensor;

export function makeCtx(precision: Precision, step = 0): KernelCtx {
  return {
    precision,
    step,
    alloc: (n) => (precision === 'f32' ? new Float32Array(n) : new Float64Array(n)),
  };
}

export function lastDim(shape: Shape): number {
  return shape[shape.length - 1] ?? 1;
}

export function rowCount(shape: Shape): number {
  const d = lastDim(shape);
  return d === 0 ? 0 : numel(shape) / d;
}

export { numel };
