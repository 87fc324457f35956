// The loss: mean cross-entropy over labels (ignore_index skipped) and its gradient, whole or over the
// column chunks of a split LM head (online logsumexp statistics chained over the chunks).
import { crossEntropy as crossEntropyGrad, crossEntropyChunked as crossEntropyChunkedGrad } from '../autodiff/rules/indexing.ts';
import { emitCrossEntropy, emitCrossEntropyChunked, emitCrossEntropyChunkedGrad, emitCrossEntropyGrad, emitLogitStats } from '../emit/reduce.ts';
import * as interp from '../ir/interp/misc.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type LossOp = 'cross_entropy' | 'cross_entropy_grad' | 'logit_stats' | 'cross_entropy_chunked' | 'cross_entropy_chunked_grad';

export const lossOps: OpTable<LossOp> = {
  cross_entropy: { family: 'loss', shape: shapeRules.cross_entropy, grad: crossEntropyGrad, interp: interp.crossEntropy, emit: emitCrossEntropy },
  cross_entropy_grad: { family: 'loss', shape: shapeRules.cross_entropy_grad, grad: null, interp: interp.crossEntropyGrad, emit: emitCrossEntropyGrad },
  // Statistics are not differentiated: cross_entropy_chunked's rule sends the gradient to each chunk.
  logit_stats: { family: 'loss', shape: shapeRules.logit_stats, grad: null, interp: interp.logitStats, emit: emitLogitStats },
  cross_entropy_chunked: {
    family: 'loss', shape: shapeRules.cross_entropy_chunked, grad: crossEntropyChunkedGrad, interp: interp.crossEntropyChunked, emit: emitCrossEntropyChunked,
  },
  cross_entropy_chunked_grad: {
    family: 'loss', shape: shapeRules.cross_entropy_chunked_grad, grad: null, interp: interp.crossEntropyChunkedGrad, emit: emitCrossEntropyChunkedGrad,
  },
};
