// Gradient rules of elementwise ops. Broadcast right operands (a bias, a per-channel scale) get their
// gradient summed back with sum_to.
import type { GradRule } from '../rule.ts';
import { reduceTo, when } from '../rule.ts';

/** dx = dy · f'(x), one fused op. */
export const unary: GradRule<'unary'> = (c) => [when(c, 0, () => c.b.emit('unary_grad', [c.node.inputs[0]!, c.dy], { fn: c.node.attrs.fn }))];

export const add: GradRule<'add'> = (c) => {
  const [, bb] = c.node.inputs;
  return [when(c, 0, () => c.dy), when(c, 1, () => reduceTo(c.b, c.dy, c.b.shape(bb!)))];
};

export const sub: GradRule<'sub'> = (c) => {
  const [, bb] = c.node.inputs;
  return [when(c, 0, () => c.dy), when(c, 1, () => c.b.scale(reduceTo(c.b, c.dy, c.b.shape(bb!)), -1))];
};

/** da = dy · b, db = sum_to(dy · a). */
export const mul: GradRule<'mul'> = (c) => {
  const [a, bb] = c.node.inputs as [number, number];
  return [when(c, 0, () => c.b.mul(c.dy, bb)), when(c, 1, () => reduceTo(c.b, c.b.mul(c.dy, a), c.b.shape(bb)))];
};

/** da = dy / b, db = −sum_to(dy · y / b) (y = a / b, so dy·y/b = dy·a/b²). */
export const div: GradRule<'div'> = (c) => {
  const [, bb] = c.node.inputs as [number, number];
  return [
    when(c, 0, () => c.b.div(c.dy, bb)),
    when(c, 1, () => c.b.scale(reduceTo(c.b, c.b.div(c.b.mul(c.dy, c.y), bb), c.b.shape(bb)), -1)),
  ];
};

export const scale: GradRule<'scale'> = (c) => [when(c, 0, () => c.b.scale(c.dy, c.node.attrs.c))];

/** Zero gradient: never propagates (the driver also treats its result as constant). */
export const stopGradient: GradRule<'stop_gradient'> = () => [undefined];

/** The same mask (same seed, same step) applied to dy. */
export const dropout: GradRule<'dropout'> = (c) => [when(c, 0, () => c.b.emit('dropout', [c.dy], { ...c.node.attrs }))];
