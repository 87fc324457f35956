// Normalizations and reductions: rmsnorm and layernorm with their fused gradients, row norms
// (DoRA), sums over leading dimensions and sums of squares (gradient clipping).
import * as grad from '../autodiff/rules/norm.ts';
import * as emit from '../emit/reduce.ts';
import * as interp from '../ir/interp/norm.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type NormOp =
  | 'rmsnorm' | 'rmsnorm_grad' | 'rmsnorm_grad_w' | 'layernorm' | 'layernorm_grad' | 'layernorm_grad_w'
  | 'row_norm' | 'row_norm_grad' | 'sum_to' | 'sumsq';

export const normOps: OpTable<NormOp> = {
  rmsnorm: { family: 'norm', shape: shapeRules.rmsnorm, grad: grad.rmsnorm, interp: interp.rmsnorm, emit: emit.emitRmsnorm },
  rmsnorm_grad: { family: 'norm', shape: shapeRules.rmsnorm_grad, grad: null, interp: interp.rmsnormGrad, emit: emit.emitRmsnormGrad },
  rmsnorm_grad_w: { family: 'norm', shape: shapeRules.rmsnorm_grad_w, grad: null, interp: interp.rmsnormGradW, emit: emit.emitRmsnormGradW },
  layernorm: { family: 'norm', shape: shapeRules.layernorm, grad: grad.layernorm, interp: interp.layernorm, emit: emit.emitLayernorm },
  layernorm_grad: { family: 'norm', shape: shapeRules.layernorm_grad, grad: null, interp: interp.layernormGrad, emit: emit.emitLayernormGrad },
  layernorm_grad_w: { family: 'norm', shape: shapeRules.layernorm_grad_w, grad: null, interp: interp.layernormGradW, emit: emit.emitLayernormGradW },
  row_norm: { family: 'norm', shape: shapeRules.row_norm, grad: grad.rowNorm, interp: interp.rowNorm, emit: emit.emitRowNorm },
  row_norm_grad: { family: 'norm', shape: shapeRules.row_norm_grad, grad: null, interp: interp.rowNormGrad, emit: emit.emitRowNormGrad },
  sum_to: { family: 'norm', shape: shapeRules.sum_to, grad: grad.sumTo, interp: interp.sumTo, emit: emit.emitSumTo },
  sumsq: { family: 'norm', shape: shapeRules.sumsq, grad: grad.sumsq, interp: interp.sumsq, emit: emit.emitSumsq },
};
