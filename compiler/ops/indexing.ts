// Indexing: slices along an axis and embedding lookups, with their gradients.
import * as grad from '../autodiff/rules/indexing.ts';
import { emitEmbedding, emitSlice, emitSliceGrad } from '../emit/elementwise.ts';
import { emitEmbeddingGrad } from '../emit/reduce.ts';
import * as interp from '../ir/interp/misc.ts';
import { shapeRules } from '../ir/ops.ts';
import type { OpTable } from './entry.ts';

export type IndexingOp = 'slice' | 'slice_grad' | 'embedding' | 'embedding_grad';

export const indexingOps: OpTable<IndexingOp> = {
  slice: { family: 'indexing', shape: shapeRules.slice, grad: grad.slice, interp: interp.slice, emit: emitSlice },
  slice_grad: { family: 'indexing', shape: shapeRules.slice_grad, grad: grad.sliceGrad, interp: interp.sliceGrad, emit: emitSliceGrad },
  embedding: { family: 'indexing', shape: shapeRules.embedding, grad: grad.embedding, interp: interp.embedding, emit: emitEmbedding },
  embedding_grad: { family: 'indexing', shape: shapeRules.embedding_grad, grad: null, interp: interp.embeddingGrad, emit: emitEmbeddingGrad },
};
