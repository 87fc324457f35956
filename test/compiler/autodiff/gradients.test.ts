// Every differentiable op's gradient rule against central finite differences (f64 interpreter).
import { defaultInvFreq } from '../../../compiler/lower/rope.ts';
import { describe, expect, it } from 'vitest';
import type { UnaryFn } from '../../../compiler/ir/ops.ts';
import { gradCheck, rng, type GradCase } from './gradcheck.ts';

const TOL = 1e-6;
const attn = { heads: 4, kvHeads: 2, headDim: 2, scale: 0.7, causal: true };

const positive = (n: number, seed: number): Float64Array => {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 0.5 + Math.abs(r()));
};

const cases: Record<string, GradCase> = {
  ...Object.fromEntries(
    (['silu', 'gelu', 'gelu_tanh', 'relu', 'neg', 'exp'] as UnaryFn[]).map((fn) => [
      `unary ${fn}`,
      { params: { x: [2, 3] }, forward: (b, v) => b.unary(fn, v['x']!) } satisfies GradCase,
    ]),
  ),
  'unary sqrt': { params: { x: { shape: [5], init: positive(5, 3) } }, forward: (b, v) => b.unary('sqrt', v['x']!) },
  'unary recip': { params: { x: { shape: [5], init: positive(5, 4) } }, forward: (b, v) => b.unary('recip', v['x']!) },
  'add with broadcast bias': { params: { a: [2, 3, 4], c: [4] }, forward: (b, v) => b.add(v['a']!, v['c']!) },
  'sub with broadcast': { params: { a: [3, 4], c: [4] }, forward: (b, v) => b.sub(v['a']!, v['c']!) },
  'mul with broadcast': { params: { a: [2, 3, 4], c: [3, 4] }, forward: (b, v) => b.mul(v['a']!, v['c']!) },
  'mul of a value with itself': { params: { a: [3] }, forward: (b, v) => b.mul(v['a']!, v['a']!) },
  div: { params: { a: [3, 4], c: { shape: [4], init: positive(4, 5) } }, forward: (b, v) => b.div(v['a']!, v['c']!) },
  'div same shape': { params: { a: [2, 2], c: { shape: [2, 2], init: positive(4, 6) } }, forward: (b, v) => b.div(v['a']!, v['c']!) },
  scale: { params: { a: [3] }, forward: (b, v) => b.scale(v['a']!, -2.5) },
  'dropout (same mask forward and backward)': {
    params: { a: [4, 8] },
    inputs: { step: { dtype: 'i32', shape: [1], data: Int32Array.of(5) } },
    forward: (b, v) => b.dropout(v['a']!, 0.3, 11),
  },
  'matmul Linear [N,K] (transB)': { params: { x: [2, 3, 4], w: [5, 4] }, forward: (b, v) => b.matmul(v['x']!, v['w']!, true) },
  'matmul Conv1D [K,N]': { params: { x: [2, 3, 4], w: [4, 5] }, forward: (b, v) => b.matmul(v['x']!, v['w']!, false) },
  'matmul transA': { params: { a: [2, 3, 4], c: [2, 3, 2] }, forward: (b, v) => b.matmulTN(v['a']!, v['c']!) },
  'lowrank_matmul with bias': {
    params: { x: [2, 2, 4], w: [5, 4], s: [2, 2, 2], l: [5, 2], bias: [5] },
    forward: (b, v) => b.emit('lowrank_matmul', [v['x']!, v['w']!, v['s']!, v['l']!, v['bias']!], { transW: true, transL: true, scale: 1.5, hasBias: true }),
  },
  'lowrank_matmul untransposed': {
    params: { x: [3, 4], w: [4, 5], s: [3, 2], l: [2, 5] },
    forward: (b, v) => b.emit('lowrank_matmul', [v['x']!, v['w']!, v['s']!, v['l']!], { transW: false, transL: false, scale: 0.5, hasBias: false }),
  },
  rmsnorm: { params: { x: [2, 3, 4], w: [4] }, forward: (b, v) => b.rmsnorm(v['x']!, v['w']!, 1e-5) },
  layernorm: { params: { x: [3, 5], w: [5], bias: [5] }, forward: (b, v) => b.layernorm(v['x']!, v['w']!, v['bias']!, 1e-5) },
  'sum_to': { params: { x: [2, 3, 4] }, forward: (b, v) => b.emit('sum_to', [v['x']!], { shape: [3, 4] }) },
  row_norm: { params: { x: [3, 4] }, forward: (b, v) => b.emit('row_norm', [v['x']!], {}) },
  sumsq: { params: { x: [2, 3] }, forward: (b, v) => b.emit('sumsq', [v['x']!], {}) },
  rope: { params: { x: [2, 3, 8] }, forward: (b, v) => b.rope(v['x']!, b.literal('f', defaultInvFreq(10000, 4)), { heads: 2, headDim: 4 }) },
  // Partial rotary (Phi-3's partial_rotary_factor: 4 of 6 features rotate) with a yarn-style attention factor.
  'rope partial and scaled': {
    params: { x: [2, 3, 12] },
    forward: (b, v) => b.rope(v['x']!, b.literal('f', Float32Array.of(1, 0.3)), { heads: 2, headDim: 6, scale: 1.25 }),
  },
  'attention causal GQA': { params: { q: [2, 3, 8], k: [2, 3, 4], v: [2, 3, 4] }, forward: (b, v) => b.attention(v['q']!, v['k']!, v['v']!, attn) },
  'attention sliding window GQA': {
    params: { q: [2, 5, 8], k: [2, 5, 4], v: [2, 5, 4] },
    forward: (b, v) => b.attention(v['q']!, v['k']!, v['v']!, { ...attn, window: 2 }),
  },
  'attention non-causal': {
    params: { q: [1, 3, 4], k: [1, 3, 4], v: [1, 3, 4] },
    forward: (b, v) => b.attention(v['q']!, v['k']!, v['v']!, { heads: 2, kvHeads: 2, headDim: 2, scale: 0.5, causal: false }),
  },
  slice: { params: { x: [2, 5, 3] }, forward: (b, v) => b.slice(v['x']!, 1, 1, 3) },
  'slice last axis': { params: { x: [2, 6] }, forward: (b, v) => b.slice(v['x']!, -1, 4, 2) },
  'transpose': { params: { x: [3, 5] }, forward: (b, v) => b.transpose(v['x']!) },
  'slice_grad': { params: { x: [2, 2, 3] }, forward: (b, v) => b.emit('slice_grad', [v['x']!], { axis: 1, start: 1, full: 4 }) },
  'embedding (full fine-tuning), repeated ids': {
    params: { table: [5, 3] },
    inputs: { ids: { dtype: 'i32', shape: [2, 3], data: Int32Array.of(0, 4, 4, 2, 0, 1) } },
    forward: (b, v) => b.embedding(v['table']!, v['ids']!),
  },
  'cross_entropy with ignored labels': {
    params: { logits: [2, 3, 5] },
    inputs: { labels: { dtype: 'i32', shape: [2, 3], data: Int32Array.of(1, -100, 4, 0, 2, -100) } },
    forward: (b, v) => b.crossEntropy(v['logits']!, v['labels']!),
  },
  'two uses accumulate': {
    params: { x: [2, 4], w: [4, 4] },
    forward: (b, v) => {
      const h = b.matmul(v['x']!, v['w']!, true);
      return b.add(b.unary('silu', h), b.matmul(h, v['w']!, false));
    },
  },
};

describe('gradient rules vs central differences', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const r = gradCheck(c);
      if (process.env.GRADCHECK_VERBOSE) console.log(name, r.maxRelError);
      expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    });
  }

  it('cross_entropy with every label ignored has loss 0 and zero gradients', () => {
    const r = gradCheck({
      params: { logits: [2, 3] },
      inputs: { labels: { dtype: 'i32', shape: [2], data: Int32Array.of(-100, -100) } },
      forward: (b, v) => b.crossEntropy(v['logits']!, v['labels']!),
    });
    expect(Array.from(r.grads['logits']!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('stop_gradient has a zero gradient', () => {
    const r = gradCheck({ params: { x: [3] }, forward: (b, v) => b.mul(b.emit('stop_gradient', [v['x']!], {}), v['x']!) });
    // y = sg(x)·x: only the second factor carries gradient, so dL/dx = R·x, not 2·R·x.
    expect(r.maxRelError).toBeGreaterThan(0.1);
    const s = gradCheck({ params: { x: [3] }, forward: (b, v) => b.emit('stop_gradient', [v['x']!], {}) });
    expect(Array.from(s.grads['x']!)).toEqual([0, 0, 0]);
  });
});
