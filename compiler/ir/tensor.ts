// Tensor types of the IR (dtype and static shape), the shape helpers every phase uses, and the
// IR's error class. No imports: every other IR module builds on this one.

/**
 * 16-bit float storage of frozen weights: kept as the file stores them and widened to f32 inside the
 * kernels that read them (spec/ir.md "Storage dtypes"); no op computes in 16 bits.
 */
export type HalfDType = 'bf16' | 'f16';
export type DType = 'f32' | 'i32' | HalfDType;

export const HALF_DTYPES: readonly HalfDType[] = ['bf16', 'f16'];

export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'bf16' || dtype === 'f16';
}

/** Bytes per element of a dtype. */
export function dtypeBytes(dtype: DType): number {
  return isHalf(dtype) ? 2 : 4;
}
export type Shape = readonly number[];

export interface TensorType {
  dtype: DType;
  shape: Shape;
}

/** What a parameter is, for the memory plan and for autodiff. */
export type ParamRole = 'frozen' | 'adapter' | 'trainable';

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
