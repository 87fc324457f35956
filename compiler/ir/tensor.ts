// Tensor types of the IR (dtype and static shape), the shape helpers every phase uses, and the
// IR's error class. No imports: every other IR module builds on this one.

export type DType = 'f32' | 'i32';
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
