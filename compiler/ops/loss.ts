// The loss: mean cross-entropy over labels (ignore_index skipped) and its gradient.
import { crossEntropy as crossEntropyGrad } from '../autodiff/rules/indexing.ts';
import { emitCrossEntropy, emitCrossEntropyGrad } from '../emit/reduce.ts';
import * as interp from '../ir/interp/misc.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type LossOp = 'cross_entropy' | 'cross_entropy_grad';

export const lossOps: OpTable<LossOp> = {
  cross_entropy: { family: 'loss', shape: shapeRules.cross_entropy, grad: crossEntropyGrad, interp: interp.crossEntropy, emit: emitCrossEntropy },
  cross_entropy_grad: { family: 'loss', shape: shapeRules.cross_entropy_grad, grad: null, interp: interp.crossEntropyGrad, emit: emitCrossEntropyGrad },
};
