// Gradient rules of the matrix products. With y = x·op(W):
//   dx = dy·op(W)ᵀ (a matmul with the opposite transB), and
//   dW = xᵀ·dy for [K, N] storage (Conv1D) or dyᵀ·x for [N, K] storage (Linear, transB),
// both as transA matmuls that flatten the batch and time dims into one reduction.
import type { Value } from '../../ir/builder.ts';
import { sameShape } from '../../ir/types.ts';
import type { GradRule } from '../rule.ts';
import { unsupported, when } from '../rule.ts';

export const matmul: GradRule<'matmul'> = (c) => {
  const [a, w] = c.node.inputs as [number, number];
  const { transA, transB } = c.node.attrs;
  if (transA) {
    // y = aᵀ·b over rows (a weight gradient): only needed for second derivatives; supported when both
    // operands share their leading shape, since the IR has no reshape.
    if (!sameShape(c.b.shape(a).slice(0, -1), c.b.shape(w).slice(0, -1))) unsupported('matmul{transA}', 'operands with different leading shapes');
    return [when(c, 0, () => c.b.matmul(w, c.dy, true)), when(c, 1, () => c.b.matmul(a, c.dy, false))];
  }
  return [
    when(c, 0, () => c.b.matmul(c.dy, w, !transB)),
    when(c, 1, () => (transB ? c.b.matmulTN(c.dy, a) : c.b.matmulTN(a, c.dy))),
  ];
};

/** y = x·op(W) + scale·s·op(L) + bias: the two products as in matmul, the low-rank pair scaled. */
export const lowrankMatmul: GradRule<'lowrank_matmul'> = (c) => {
  const [x, w, s, l] = c.node.inputs as [number, number, number, number];
  const { transW, transL, scale, hasBias } = c.node.attrs;
  const n = c.b.shape(c.y)[c.b.shape(c.y).length - 1]!;
  const scaled = (v: Value): Value => (scale === 1 ? v : c.b.scale(v, scale));
  return [
    when(c, 0, () => c.b.matmul(c.dy, w, !transW)),
    when(c, 1, () => (transW ? c.b.matmulTN(c.dy, x) : c.b.matmulTN(x, c.dy))),
    when(c, 2, () => scaled(c.b.matmul(c.dy, l, !transL))),
    when(c, 3, () => scaled(transL ? c.b.matmulTN(c.dy, s) : c.b.matmulTN(s, c.dy))),
    ...(hasBias ? [when(c, 4, () => c.b.emit('sum_to', [c.dy], { shape: [n] }))] : []),
  ];
};
