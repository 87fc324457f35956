// Gradient rules of normalizations and reductions. Norm input gradients are single fused ops that
// recompute the row statistics (cheaper in memory than keeping them from the forward pass).
import type { GradRule } from '../rule.ts';
import { when } from '../rule.ts';

export const rmsnorm: GradRule<'rmsnorm'> = (c) => {
  const [x, w] = c.node.inputs as [number, number];
  const { eps } = c.node.attrs;
  return [when(c, 0, () => c.b.emit('rmsnorm_grad', [x, w, c.dy], { eps })), when(c, 1, () => c.b.emit('rmsnorm_grad_w', [x, c.dy], { eps }))];
};

export const layernorm: GradRule<'layernorm'> = (c) => {
  const [x, w, bias] = c.node.inputs as [number, number, number];
  const { eps } = c.node.attrs;
  return [
    when(c, 0, () => c.b.emit('layernorm_grad', [x, w, c.dy], { eps })),
    when(c, 1, () => c.b.emit('layernorm_grad_w', [x, c.dy], { eps })),
    when(c, 2, () => c.b.emit('sum_to', [c.dy], { shape: [...c.b.shape(bias)] })),
  ];
};

/** Broadcasting dy back over the summed dims: zeros of x's shape plus dy (a suffix broadcast). */
export const sumTo: GradRule<'sum_to'> = (c) => {
  const x = c.node.inputs[0]!;
  return [when(c, 0, () => c.b.add(c.b.constant(0, c.b.shape(x)), c.dy))];
};

export const rowNorm: GradRule<'row_norm'> = (c) => [when(c, 0, () => c.b.emit('row_norm_grad', [c.node.inputs[0]!, c.dy], {}))];

/** d Σx² = 2·x·dy, dy a scalar broadcast over x. */
export const sumsq: GradRule<'sumsq'> = (c) => [when(c, 0, () => c.b.scale(c.b.mul(c.node.inputs[0]!, c.dy), 2))];
