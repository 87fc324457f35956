// Matrix products (the GEMM kernels, tiled or register-blocked by Target.gemm) and the transpose.
import * as grad from '../autodiff/rules/linalg.ts';
import { transpose as transposeGrad } from '../autodiff/rules/indexing.ts';
import { emitMatmul, emitLowrankMatmul } from '../emit/matmul.ts';
import { emitTranspose } from '../emit/elementwise.ts';
import { emitGatheredLowrank } from '../emit/multi-lora.ts';
import * as interp from '../ir/interp/linalg.ts';
import { transpose as transposeKernel } from '../ir/interp/misc.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type LinalgOp = 'matmul' | 'lowrank_matmul' | 'gathered_lowrank' | 'transpose';

export const linalgOps: OpTable<LinalgOp> = {
  matmul: { family: 'linalg', shape: shapeRules.matmul, grad: grad.matmul, interp: interp.matmul, emit: (v, c) => emitMatmul(v, c.target) },
  lowrank_matmul: {
    family: 'linalg', shape: shapeRules.lowrank_matmul, grad: grad.lowrankMatmul, interp: interp.lowrankMatmul, emit: (v, c) => emitLowrankMatmul(v, c.target),
  },
  // Serving only (many adapters in one decoding batch): no gradient.
  gathered_lowrank: { family: 'linalg', shape: shapeRules.gathered_lowrank, grad: null, interp: interp.gatheredLowrank, emit: emitGatheredLowrank },
  transpose: { family: 'linalg', shape: shapeRules.transpose, grad: transposeGrad, interp: transposeKernel, emit: emitTranspose },
};
