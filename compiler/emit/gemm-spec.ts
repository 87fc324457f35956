// What both GEMM kernels (the tiled one in matmul.ts, the register-blocked one in gemm-reg.ts)
// compute: C = op(A)·op(B) with an optional low-rank term and bias, and the shared epilogue.
import type { OperandAccess } from './storage.ts';

export interface GemmSpec {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  /** How B (the weight) is read: f32, or 16-bit storage widened as it loads (compiler/emit/storage.ts). */
  b: OperandAccess;
  /** Low-rank term (r extra k-steps): rank, scale, transL, bias. */
  lowrank?: { r: number; scale: number; transL: boolean; hasBias: boolean };
}

/** Bias added to `val` at (`row`, `col`) (lowrank_matmul with a bias only). */
export function biasEpilogue(spec: GemmSpec): string {
  return spec.lowrank?.hasBias ? 'val += bias[col];' : '';
}
