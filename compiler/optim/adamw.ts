// Appends one AdamW step to a differentiated graph, as IR (so the optimizer runs on the GPU with the
// rest of the step and the memory plan sees its state):
//   - per trainable parameter p with a gradient: state nodes `<p>.exp_avg` and `<p>.exp_avg_sq`;
//   - one input "optim" f32[4] = [lr, 1 - beta1^t, 1 - beta2^t, 0], written by the runtime each step
//     (so the learning-rate schedule and bias corrections never recompile the graph);
//   - the gradient scale: with maxGradNorm, torch.nn.utils.clip_grad_norm_'s coefficient over all
//     gradients (sumsq each, add, clip_coef); without, a const 1;
//   - one `adamw` effect node per parameter, which updates p, exp_avg and exp_avg_sq in place.
import { GraphBuilder, type Value } from '../ir/builder.ts';
import type { OpAttrs } from '../ir/ops.ts';
import { IrError, type Graph } from '../ir/types.ts';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this value first (none when undefined). */
  maxGradNorm?: number;
  /**
   * Gradient accumulation over this many micro-batches (default 1): each run adds its gradients to
   * a persistent accumulator; the runtime's flags (optimFlags) reset it on the first micro-batch and
   * let AdamW update, with the mean gradient, only on the last.
   */
  gradAccum?: number;
}

/** PyTorch's AdamW defaults without weight decay: what a compile without `adamw` settings gets. */
export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** The flags entry of the "optim" input for micro-batch `micro` of `accum` (see ops.ts). */
export function optimFlags(micro: number, accum: number): number {
  return (micro === 0 ? 1 : 0) | (micro < accum - 1 ? 2 : 0);
}

export const OPTIM_INPUT = 'optim';

/** The values of the "optim" input for 1-based step `t` at learning rate `lr`. */
export function optimHyper(lr: number, t: number, s: Pick<AdamWSettings, 'beta1' | 'beta2'>, flags = 0): Float32Array {
  return Float32Array.of(lr, 1 - Math.pow(s.beta1, t), 1 - Math.pow(s.beta2, t), flags);
}

export function appendAdamW(graph: Graph, settings: AdamWSettings): Graph {
  const b = new GraphBuilder(graph);
  const names = Object.keys(graph.grads);
  if (names.length === 0) return graph; // nothing trainable: no optimizer input, no state
  const hyper = b.input(OPTIM_INPUT, 'f32', [4]);
  const accum = settings.gradAccum ?? 1;
  if (!Number.isInteger(accum) || accum < 1) throw new IrError(`appendAdamW: gradAccum must be a positive integer, got ${accum}`);
  // The gradient AdamW sees: this run's, or the mean over the accumulated micro-batches.
  const update = new Map<string, Value>();
  for (const name of names) {
    const g = graph.grads[name]!;
    if (accum === 1) {
      update.set(name, g);
      continue;
    }
    const acc = b.emit('grad_accumulate', [b.state(`${name}.grad_accum`, name, b.shape(g), 'grad_accum'), g, hyper], {}, `${name}.grad_accum`);
    update.set(name, b.scale(acc, 1 / accum, `${name}.grad_mean`));
  }
  let gradScale: Value;
  if (settings.maxGradNorm !== undefined) {
    let total: Value | undefined;
    for (const name of names) {
      const s = b.emit('sumsq', [update.get(name)!], {}, `${name}.grad_sumsq`);
      total = total === undefined ? s : b.add(total, s);
    }
    gradScale = b.emit('clip_coef', [total!], { maxNorm: settings.maxGradNorm }, 'grad_clip_coef');
  } else {
    gradScale = b.constant(1, []);
  }
  const attrs: OpAttrs['adamw'] = { beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, weightDecay: settings.weightDecay };
  for (const name of names) {
    const p = b.findParam(name);
    if (p === undefined) throw new IrError(`appendAdamW: gradient "${name}" has no parameter`);
    const shape = b.shape(p);
    const m = b.state(`${name}.exp_avg`, name, shape);
    const v = b.state(`${name}.exp_avg_sq`, name, shape);
    graph.effects.push(b.emit('adamw', [p, update.get(name)!, m, v, hyper, gradScale], attrs, `${name}.adamw`));
  }
  return graph;
}
