// Finite-difference checking of autodiff: builds loss = Σ y·R (R a fixed random frozen weight) for a
// forward function of trainable params, differentiates, and compares each analytic gradient with a
// central difference of the f64 interpreter.
import { GraphBuilder, type Value } from '../../../compiler/ir/builder.ts';
import { interpret, type HostTensor } from '../../../compiler/ir/interp.ts';
import { differentiate } from '../../../compiler/autodiff/differentiate.ts';
import { numel, type Shape } from '../../../compiler/ir/types.ts';

/** Deterministic uniform(-1, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

export function randn(shape: Shape, r: () => number, scale = 1): Float64Array {
  return Float64Array.from({ length: numel(shape) }, () => r() * scale);
}

export interface GradCase {
  /** Trainable params: name -> shape (and optional initial values). */
  params: Record<string, Shape | { shape: Shape; init: Float64Array }>;
  /** Non-differentiable inputs (ids, labels, step). */
  inputs?: Record<string, { dtype: 'f32' | 'i32'; shape: Shape; data: HostTensor }>;
  /** Frozen params the forward function reads (they get no gradient). */
  frozen?: Record<string, Shape>;
  forward: (b: GraphBuilder, v: Record<string, Value>) => Value;
}

export interface GradReport {
  maxRelError: number;
  worst: string;
  graphSize: number;
  grads: Record<string, HostTensor>;
}

export function gradCheck(c: GradCase, seed = 1, h = 1e-5): GradReport {
  const r = rng(seed);
  const b = new GraphBuilder();
  const v: Record<string, Value> = {};
  const params: Record<string, Float64Array> = {};
  const inputs: Record<string, HostTensor> = {};
  for (const [name, spec] of Object.entries(c.params)) {
    const shape = 'shape' in spec ? spec.shape : spec;
    v[name] = b.param(name, shape, 'trainable');
    params[name] = 'shape' in spec ? Float64Array.from(spec.init) : randn(shape, r);
  }
  for (const [name, shape] of Object.entries(c.frozen ?? {})) {
    v[name] = b.param(name, shape, 'frozen');
    params[name] = randn(shape, r);
  }
  for (const [name, inp] of Object.entries(c.inputs ?? {})) {
    v[name] = b.input(name, inp.dtype, inp.shape);
    inputs[name] = inp.data;
  }
  const y = c.forward(b, v);
  const rw = b.param('__R', b.shape(y), 'frozen');
  params['__R'] = randn(b.shape(y), r);
  const loss = b.emit('sum_to', [b.mul(y, rw)], { shape: [] });
  b.output('loss', loss);
  differentiate(b.graph, loss);
  const lossOf = (): number => interpret(b.graph, { params, inputs }, { precision: 'f64' }).outputs['loss']![0]!;
  const grads = interpret(b.graph, { params, inputs }, { precision: 'f64' }).grads;
  let maxRelError = 0;
  let worst = '';
  for (const name of Object.keys(c.params)) {
    const p = params[name]!;
    const g = grads[name]!;
    const numeric = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const x0 = p[i]!;
      p[i] = x0 + h;
      const up = lossOf();
      p[i] = x0 - h;
      const down = lossOf();
      p[i] = x0;
      numeric[i] = (up - down) / (2 * h);
    }
    const mag = Math.max(1e-3, ...Array.from(numeric, Math.abs));
    for (let i = 0; i < p.length; i++) {
      const e = Math.abs(g[i]! - numeric[i]!) / mag;
      if (e > maxRelError) {
        maxRelError = e;
        worst = `${name}[${i}]: analytic ${g[i]} vs numeric ${numeric[i]}`;
      }
    }
  }
  return { maxRelError, worst, graphSize: b.graph.nodes.length, grads };
}
