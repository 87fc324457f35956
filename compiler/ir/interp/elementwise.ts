// Elementwise kernels: unary functions and their derivatives, broadcast binaries, scale, dropout.
import type { OpAttrs, UnaryFn } from '../ops.ts';
import { numel, type Kernel } from './common.ts';
import { erfc } from './erf.ts';

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_TANH_C = 0.044715;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** f(x) of every unary fn. gelu uses erfc so that its left tail keeps full relative accuracy. */
export const unaryFns: Record<UnaryFn, (x: number) => number> = {
  silu: (x) => x * sigmoid(x),
  gelu: (x) => 0.5 * x * erfc(-x * SQRT_HALF),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x))),
  relu: (x) => (x > 0 ? x : 0),
  neg: (x) => -x,
  exp: (x) => Math.exp(x),
  sqrt: (x) => Math.sqrt(x),
  recip: (x) => 1 / x,
};

/** f'(x) of every unary fn (relu'(0) = 0, as PyTorch). */
export const unaryDerivs: Record<UnaryFn, (x: number) => number> = {
  silu: (x) => {
    const s = sigmoid(x);
    return s * (1 + x * (1 - s));
  },
  gelu: (x) => 0.5 * erfc(-x * SQRT_HALF) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  gelu_tanh: (x) => {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_C * x * x);
  },
  relu: (x) => (x > 0 ? 1 : 0),
  neg: () => -1,
  exp: (x) => Math.exp(x),
  sqrt: (x) => 0.5 / Math.sqrt(x),
  recip: (x) => -1 / (x * x),
};

export const unary: Kernel<OpAttrs['unary']> = (ctx, [x], { fn }) => {
  const f = unaryFns[fn];
  const out = ctx.alloc(x!.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x!.data[i]!);
  return out;
};

export const unaryGrad: Kernel<OpAttrs['unary_grad']> = (ctx, [x, dy], { fn }) => {
  const d = unaryDerivs[fn];
  const out = ctx.alloc(x!.data.length);
  for (let i = 0; i < out.length; i++) out[i] = dy!.data[i]! * d(x!.data[i]!);
  return out;
};

/** a ∘ b with b broadcast over a's leading dims: b's element is a's flat index modulo numel(b). */
function binary(f: (a: number, b: number) => number): Kernel<Record<string, never>> {
  return (ctx, [a, b]) => {
    const nb = numel(b!.shape);
    const out = ctx.alloc(a!.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(a!.data[i]!, b!.data[i % nb]!);
    return out;
  };
}

export const add = binary((a, b) => a + b);
export const sub = binary((a, b) => a - b);
export const mul = binary((a, b) => a * b);
export const div = binary((a, b) => a / b);

/** 16-bit values were widened when fed (interpret rounds 16-bit params), so the cast copies. */
export const cast: Kernel<OpAttrs['cast']> = (ctx, [x]) => {
  const out = ctx.alloc(x!.data.length);
  out.set(x!.data);
  return out;
};

export const scale: Kernel<OpAttrs['scale']> = (ctx, [x], { c }) => {
  const out = ctx.alloc(x!.data.length);
  for (let i = 0; i < out.length; i++) out[i] = x!.data[i]! * c;
  return out;
};

export const identity: Kernel<unknown> = (ctx, [x]) => {
  const out = ctx.alloc(x!.data.length);
  out.set(x!.data);
  return out;
};

export const constant: Kernel<OpAttrs['const']> = (ctx, _xs, { value, shape }) => ctx.alloc(numel(shape)).fill(value);

/**
 * PCG hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020): u32 multiply, add, xor and
 * shifts only, so WGSL reproduces it bit for bit. Math.imul gives the low 32 bits of the product.
 */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The dropout hash of element `index`: pcg(pcg(pcg(seed) ^ step) ^ index), all u32. */
export function dropoutHash(seed: number, step: number, index: number): number {
  return pcgHash((pcgHash((pcgHash(seed >>> 0) ^ (step >>> 0)) >>> 0) ^ (index >>> 0)) >>> 0);
}

/**
 * keep ⇔ (hash >> 8) · 2⁻²⁴ >= p ⇔ (hash >> 8) >= ceil(p · 2²⁴). The integer threshold is what a
 * kernel should compare against (computed on the host from the f64 p), so no float rounding of p
 * can flip a mask bit between the CPU and the GPU.
 */
export function dropoutThreshold(p: number): number {
  return Math.ceil(p * 16777216);
}

export function dropoutKeep(seed: number, step: number, index: number, threshold: number): boolean {
  return dropoutHash(seed, step, index) >>> 8 >= threshold;
}

export const dropout: Kernel<OpAttrs['dropout']> = (ctx, [x], { p, seed }) => {
  const threshold = dropoutThreshold(p);
  const s = 1 / (1 - p);
  const out = ctx.alloc(x!.data.length);
  for (let i = 0; i < out.length; i++) out[i] = dropoutKeep(seed, ctx.step, i, threshold) ? x!.data[i]! * s : 0;
  return out;
};
