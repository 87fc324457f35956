// The optimizer step (compiler/optim): the gradient-clipping coefficient, gradient accumulation
// and AdamW, the last two in place. Nothing differentiates through them.
import { emitAdamw, emitClipCoef, emitGradAccumulate } from '../emit/elementwise.ts';
import { clipCoef } from '../ir/interp/norm.ts';
import { adamw, gradAccumulate } from '../ir/interp/misc.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type OptimizerOp = 'clip_coef' | 'grad_accumulate' | 'adamw';

export const optimizerOps: OpTable<OptimizerOp> = {
  clip_coef: { family: 'optimizer', shape: shapeRules.clip_coef, grad: null, interp: clipCoef, emit: emitClipCoef },
  grad_accumulate: { family: 'optimizer', shape: shapeRules.grad_accumulate, grad: null, interp: gradAccumulate, emit: emitGradAccumulate },
  adamw: { family: 'optimizer', shape: shapeRules.adamw, grad: null, interp: adamw, emit: emitAdamw },
};
