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
  const rows = c.node.attrs.rows;
  const attrs = { vocab: c.b.shape(table)[0]!, ...(rows ? { start: rows.start } : {}) };
  return [when(c, 0, () => c.b.emit('embedding_grad', [ids, c.dy], attrs)), undefined];
};

export const crossEntropy: GradRule<'cross_entropy'> = (c) => {
  const [logits, labels] = c.node.inputs as [number, number];
  return [when(c, 0, () => c.b.emit('cross_entropy_grad', [logits, labels, c.dy], { ...c.node.attrs })), undefined];
};

/** Each logits chunk's gradient, from the chained statistics (the stats and labels get none). */
export const crossEntropyChunked: GradRule<'cross_entropy_chunked'> = (c) => {
  const [stats, labels, ...chunks] = c.node.inputs as number[];
  const { ignoreIndex, vocab } = c.node.attrs;
  let start = 0;
  const grads = chunks.map((chunk, i) => {
    const attrs = { ignoreIndex, vocab, start };
    start += c.b.shape(chunk).at(-1)!;
    return when(c, i + 2, () => c.b.emit('cross_entropy_chunked_grad', [chunk, labels!, c.dy, stats!], attrs));
  });
  return [undefined, undefined, ...grads];
};
