// Gradient rules of slicing, embedding lookups and the loss. Integer operands (ids, labels) never
// get gradients: they are inputs, so the driver never asks.
import type { GradRule } from '../rule.ts';
import { when } from '../rule.ts';

export const slice: GradRule<'slice'> = (c) => {
  const x = c.node.inputs[0]!;
  const { axis, start } = c.node.attrs;
  const s = c.b.shape(x);
  const full = s[axis < 0 ? s.length + axis : axis]!;
  return [when(c, 0, () => c.b.emit('slice_grad', [c.dy], { axis, start, full }))];
};

export const transpose: GradRule<'transpose'> = (c) => [when(c, 0, () => c.b.transpose(c.dy))];

export const sliceGrad: GradRule<'slice_grad'> = (c) => {
  const x = c.node.inputs[0]!;
  const { axis, start } = c.node.attrs;
  const s = c.b.shape(x);
  const size = s[axis < 0 ? s.length + axis : axis]!;
  return [when(c, 0, () => c.b.slice(c.dy, axis, start, size))];
};

/** Rows of dy summed into the rows of the table they were read from (full fine-tuning only). */
export const embedding: GradRule<'embedding'> = (c) => {
  const [table, ids] = c.node.inputs as [number, number];
  return [when(c, 0, () => c.b.emit('embedding_grad', [ids, c.dy], { vocab: c.b.shape(table)[0]! })), undefined];
};

export const crossEntropy: GradRule<'cross_entropy'> = (c) => {
  const [logits, labels] = c.node.inputs as [number, number];
  return [when(c, 0, () => c.b.emit('cross_entropy_grad', [logits, labels, c.dy], { ...c.node.attrs })), undefined];
};
