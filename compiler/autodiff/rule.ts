// The shape of one gradient rule. A rule gets the node being differentiated and the gradient of its
// result, and emits (with the builder, into the same graph) the gradient of each input it is asked
// for: `wants[i]` is false for inputs that do not lead to a trainable parameter, so a rule never
// emits work nobody reads (gradients through frozen layers are pruned at the source).
import type { GraphBuilder, Value } from '../ir/builder.ts';
import type { OpName } from '../ir/ops.ts';
import { IrError, sameShape, type Node, type Shape } from '../ir/types.ts';

export interface GradCtx<K extends OpName> {
  b: GraphBuilder;
  node: Node<K>;
  /** The node's own result (some rules reuse it, e.g. div). */
  y: Value;
  /** d(loss)/d(result). */
  dy: Value;
  wants: boolean[];
}

/** Returns one entry per input: its gradient, or undefined when not wanted (or not differentiable). */
export type GradRule<K extends OpName> = (ctx: GradCtx<K>) => (Value | undefined)[];

/** Sums a broadcast operand's gradient back to the operand's shape (no-op when shapes agree). */
export function reduceTo(b: GraphBuilder, g: Value, shape: Shape): Value {
  return sameShape(b.shape(g), shape) ? g : b.emit('sum_to', [g], { shape: [...shape] });
}

/** Emits `make()` only when input i is wanted. */
export function when(ctx: { wants: boolean[] }, i: number, make: () => Value): Value | undefined {
  return ctx.wants[i] ? make() : undefined;
}

export function unsupported(op: string, why: string): never {
  throw new IrError(`autodiff: no gradient for ${op} (${why})`);
}
