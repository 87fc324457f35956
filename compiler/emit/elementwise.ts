// Elementwise kernels: one thread per output element, 256 per workgroup, linear index folded over a
// 2-D grid. When every operand's length is a multiple of 4 the ':v4' variants bind vec4 arrays and
// run one thread per 4 elements (a quarter of the workgroups; on lavapipe each is a CPU task).
// adamw keeps one key for all lengths: 4 elements per thread, scalar loads with a tail guard. Broadcasting follows the IR rule (the right operand's shape is a suffix of the left's),
// so the right index is simply i % numel(b).
import type { OpAttrs, UnaryFn } from '../ir/ops.ts';
import { kernel, inp, out, count, ceilDiv } from './wgsl.ts';
import type { Launch, EmittedOp, EmitContext, OpView, Uniform } from './kernel.ts';
import { keyOf, operandAccess } from './storage.ts';

export const EW = 256;
const one = (l: Launch): EmittedOp => ({ launches: [l], scratch: [] });
const idx = `let i = wg * ${EW}u + lid;\nif (i >= u.n) { return; }`;
const quads = (n: number) => n % 4 === 0;
const vecIn = (name: string, index: number, v4: boolean) => inp(name, index, v4 ? 'vec4f' : 'f32');
const vecOut = (v4: boolean) => out('y', v4 ? 'vec4f' : 'f32');

/** Applies a scalar statement list to each lane of vec4 `i`: `stmt(c)` reads and writes component c. */
function perLane(stmt: (c: string) => string): string {
  return ['x', 'y', 'z', 'w'].map((c) => `{ ${stmt(c)} }`).join('\n');
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32 resolution near 1). */
const MATH = `
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-a * a));
}
// tanh of large arguments overflows exp inside some drivers' tanh; clamping is exact in f32.
fn tanh_(x: f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }`;

const GELU_C = '0.7978845608028654'; // sqrt(2/pi)

function unaryExpr(fn: UnaryFn): string {
  switch (fn) {
    case 'silu': return 'x * sigmoid_(x)';
    case 'gelu': return '0.5 * x * (1.0 + erf_(x * 0.7071067811865476))';
    case 'gelu_tanh': return `0.5 * x * (1.0 + tanh_(${GELU_C} * (x + 0.044715 * x * x * x)))`;
    case 'relu': return 'max(x, 0.0)';
    case 'neg': return '-x';
    case 'exp': return 'exp(x)';
    case 'sqrt': return 'sqrt(x)';
    case 'recip': return '1.0 / x';
  }
}

/** f'(x), multiplied by dy at the call site. */
function derivStmt(fn: UnaryFn): string {
  switch (fn) {
    case 'silu': return 'let s = sigmoid_(x); let d = s * (1.0 + x * (1.0 - s));';
    case 'gelu': return 'let d = 0.5 * (1.0 + erf_(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);';
    case 'gelu_tanh':
      return `let t = tanh_(${GELU_C} * (x + 0.044715 * x * x * x));\nlet d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * ${GELU_C} * (1.0 + 0.134145 * x * x);`;
    case 'relu': return 'let d = select(0.0, 1.0, x > 0.0);';
    case 'neg': return 'let d = -1.0;';
    case 'exp': return 'let d = exp(x);';
    case 'sqrt': return 'let d = 0.5 / sqrt(x);';
    case 'recip': return 'let d = -1.0 / (x * x);';
  }
}

export function emitUnary(v: OpView<OpAttrs['unary']>): EmittedOp {
  const n = count(v.out.shape);
  const v4 = quads(n);
  const m = v4 ? n / 4 : n;
  return one(kernel({
    key: `unary:${v.attrs.fn}${v4 ? ':v4' : ''}`, bindings: [vecIn('a', 0, v4), vecOut(v4)], uniforms: [['n', 'u32', m]], workgroupSize: EW,
    decls: MATH, workgroups: ceilDiv(m, EW),
    body: v4
      ? `${idx}\nlet xv = a[i];\nvar r = vec4<f32>(0.0);\n${perLane((c) => `let x = xv.${c}; r.${c} = ${unaryExpr(v.attrs.fn)};`)}\ny[i] = r;`
      : `${idx}\nlet x = a[i];\ny[i] = ${unaryExpr(v.attrs.fn)};`,
  }));
}

export function emitUnaryGrad(v: OpView<OpAttrs['unary_grad']>): EmittedOp {
  const n = count(v.out.shape);
  const v4 = quads(n);
  const m = v4 ? n / 4 : n;
  return one(kernel({
    key: `unary_grad:${v.attrs.fn}${v4 ? ':v4' : ''}`, bindings: [vecIn('a', 0, v4), vecIn('dy', 1, v4), vecOut(v4)], uniforms: [['n', 'u32', m]],
    workgroupSize: EW, decls: MATH, workgroups: ceilDiv(m, EW),
    body: v4
      ? `${idx}\nlet xv = a[i];\nlet dv = dy[i];\nvar r = vec4<f32>(0.0);\n${perLane((c) => `let x = xv.${c}; ${derivStmt(v.attrs.fn)} r.${c} = dv.${c} * d;`)}\ny[i] = r;`
      : `${idx}\nlet x = a[i];\n${derivStmt(v.attrs.fn)}\ny[i] = dy[i] * d;`,
  }));
}

const BINARY = { add: '+', sub: '-', mul: '*', div: '/' } as const;

export function emitBinary(v: OpView): EmittedOp {
  const n = count(v.out.shape);
  const nb = count(v.inputs[1]!.shape);
  const sym = BINARY[v.op as keyof typeof BINARY];
  // Same text either way: with vec4 bindings a broadcast b of 4k elements repeats every k quads.
  const v4 = quads(n) && quads(nb);
  const q = v4 ? 4 : 1;
  return one(kernel({
    key: `${v.op}${v4 ? ':v4' : ''}`, bindings: [vecIn('a', 0, v4), vecIn('b', 1, v4), vecOut(v4)], uniforms: [['n', 'u32', n / q], ['nb', 'u32', nb / q]],
    workgroupSize: EW, workgroups: ceilDiv(n / q, EW),
    body: `${idx}\ny[i] = a[i] ${sym} b[i % u.nb];`,
  }));
}

/** scale, stop_gradient (a copy: the executor gives every node its own buffer). */
export function emitScale(v: OpView, c: number): EmittedOp {
  const n = count(v.out.shape);
  const v4 = quads(n);
  const m = v4 ? n / 4 : n;
  return one(kernel({
    key: `scale${v4 ? ':v4' : ''}`, bindings: [vecIn('a', 0, v4), vecOut(v4)], uniforms: [['n', 'u32', m], ['c', 'f32', c]],
    workgroupSize: EW, workgroups: ceilDiv(m, EW), body: `${idx}\ny[i] = a[i] * u.c;`,
  }));
}

export function emitConst(v: OpView<OpAttrs['const']>): EmittedOp {
  const n = Math.max(count(v.out.shape), 1);
  return one(kernel({
    key: 'const', bindings: [out()], uniforms: [['n', 'u32', n], ['value', 'f32', v.attrs.value]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW), body: `${idx}\ny[i] = u.value;`,
  }));
}

export function emitClipCoef(v: OpView<OpAttrs['clip_coef']>): EmittedOp {
  return one(kernel({
    key: 'clip_coef', bindings: [inp('t', 0), out()], uniforms: [['max_norm', 'f32', v.attrs.maxNorm]],
    workgroupSize: 1, workgroups: 1, body: 'y[0] = min(1.0, u.max_norm / (sqrt(t[0]) + 1e-6));',
  }));
}

/** x viewed [outer, dim, inner]; slice and slice_grad differ only in which side is the window. */
function axisView(shape: readonly number[], axis: number): [number, number, number] {
  const a = axis < 0 ? shape.length + axis : axis;
  return [count(shape.slice(0, a)), shape[a]!, count(shape.slice(a + 1))];
}

export function emitSlice(v: OpView<OpAttrs['slice']>): EmittedOp {
  const [, dim, inner] = axisView(v.inputs[0]!.shape, v.attrs.axis);
  const n = count(v.out.shape);
  return one(kernel({
    key: 'slice', bindings: [inp('a', 0), out()],
    uniforms: [['n', 'u32', n], ['inner', 'u32', inner], ['size', 'u32', v.attrs.size], ['dim', 'u32', dim], ['start', 'u32', v.attrs.start]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW),
    body: `${idx}
let o = i / (u.size * u.inner);
let r = i % (u.size * u.inner);
y[i] = a[(o * u.dim + u.start) * u.inner + r];`,
  }));
}

/** One thread per output element of the 2-D transpose (a one-off per step, not a hot path). */
export function emitTranspose(v: OpView): EmittedOp {
  const [m, n] = v.inputs[0]!.shape as [number, number];
  return one(kernel({
    key: 'transpose', bindings: [inp('a', 0), out()],
    uniforms: [['n', 'u32', m * n], ['rows', 'u32', m], ['cols', 'u32', n]],
    workgroupSize: EW, workgroups: ceilDiv(m * n, EW),
    body: `${idx}
let j = i / u.rows;
let r = i % u.rows;
y[i] = a[r * u.cols + j];`,
  }));
}

export function emitSliceGrad(v: OpView<OpAttrs['slice_grad']>): EmittedOp {
  const [, size, inner] = axisView(v.inputs[0]!.shape, v.attrs.axis);
  const n = count(v.out.shape);
  return one(kernel({
    key: 'slice_grad', bindings: [inp('dy', 0), out()],
    uniforms: [['n', 'u32', n], ['inner', 'u32', inner], ['size', 'u32', size], ['full', 'u32', v.attrs.full], ['start', 'u32', v.attrs.start]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW),
    body: `${idx}
let o = i / (u.full * u.inner);
let j = (i / u.inner) % u.full;
let r = i % u.inner;
var val = 0.0;
if (j >= u.start && j < u.start + u.size) { val = dy[(o * u.size + j - u.start) * u.inner + r]; }
y[i] = val;`,
  }));
}

/**
 * One thread per output element. The table may be 16-bit (widened as it is read) and may be a row
 * chunk [start, start + vocab) of a split table: ids outside it give 0 (another chunk's rows), as do
 * out-of-range ids (robust access would clamp them silently; the interpreter rejects them).
 */
export function emitEmbedding(v: OpView<OpAttrs['embedding']>, ctx: EmitContext): EmittedOp {
  const [V, D] = v.inputs[0]!.shape as number[];
  const n = count(v.out.shape);
  const table = operandAccess(v.inputs[0]!.dtype, ctx.target);
  return one(kernel({
    key: keyOf('embedding', table.key), bindings: [inp('table', 0, table.elem(false)), inp('ids', 1, 'i32'), out()],
    uniforms: [['n', 'u32', n], ['d', 'u32', D!], ['vocab', 'u32', V!], ['start', 'u32', v.attrs.rows?.start ?? 0]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW), decls: table.decls,
    body: `${idx}
let id = ids[i / u.d];
var val = 0.0;
if (id >= i32(u.start) && u32(id) - u.start < u.vocab) { val = ${table.at('table', '(u32(id) - u.start) * u.d + i % u.d', false)}; }
y[i] = val;`,
  }));
}

/** A 16-bit tensor widened to f32: one thread per element. */
export function emitCast(v: OpView, ctx: EmitContext): EmittedOp {
  const n = count(v.out.shape);
  const x = operandAccess(v.inputs[0]!.dtype, ctx.target);
  return one(kernel({
    key: keyOf('cast', x.key), bindings: [inp('x', 0, x.elem(false)), out()], uniforms: [['n', 'u32', n]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW), decls: x.decls, body: `${idx}
y[i] = ${x.at('x', 'i', false)};`,
  }));
}

/** Writes x into cache[:, offset:offset+T, :] in place; the node's result aliases the cache. */
/** acc = (reset ? 0 : acc) + g in place; reset is flag 1 of the optimizer input. */
export function emitGradAccumulate(v: OpView): EmittedOp {
  const n = count(v.inputs[0]!.shape);
  const acc = { ...inp('acc', 0), access: 'read_write' as const };
  return {
    launches: [kernel({
      key: 'grad_accumulate', bindings: [acc, inp('g', 1), inp('hyper', 2)],
      uniforms: [['n', 'u32', n]],
      workgroupSize: EW, workgroups: ceilDiv(n, EW),
      body: `${idx}
// select, not a multiply by 0: a stale NaN must not survive the reset.
acc[i] = select(acc[i], 0.0, (u32(hyper[3]) & 1u) != 0u) + g[i];`,
    })],
    scratch: [],
    aliasInput: 0,
  };
}

/**
 * The uniform that picks a batch row's KV-cache position: offset[b * off_stride], 0 for an offset
 * of one entry (every row at offset[0]), 1 for one entry per row.
 */
export function offsetStride(offset: { shape: readonly number[] }): Uniform {
  return ['off_stride', 'u32', offset.shape[0] === 1 ? 0 : 1];
}

export function emitCacheUpdate(v: OpView): EmittedOp {
  const [, S, D] = v.inputs[0]!.shape as number[];
  const [, T] = v.inputs[1]!.shape as number[];
  const n = count(v.inputs[1]!.shape);
  const cache = { ...inp('cache', 0), access: 'read_write' as const };
  return {
    launches: [kernel({
      key: 'cache_update', bindings: [cache, inp('x', 1), inp('offset', 2, 'i32')],
      uniforms: [['n', 'u32', n], ['t_len', 'u32', T!], ['s_len', 'u32', S!], ['d', 'u32', D!], offsetStride(v.inputs[2]!)],
      workgroupSize: EW, workgroups: ceilDiv(n, EW),
      body: `${idx}
let c = i % u.d;
let t = (i / u.d) % u.t_len;
let b = i / (u.d * u.t_len);
let slot = u32(offset[b * u.off_stride]) + t;
if (slot < u.s_len) { cache[(b * u.s_len + slot) * u.d + c] = x[i]; }`,
    })],
    scratch: [],
    aliasInput: 0,
  };
}

/** PyTorch AdamW, in place on (param, m, v); grad is multiplied by gradScale[0] first. 4 elements per thread. */
export function emitAdamw(v: OpView<OpAttrs['adamw']>): EmittedOp {
  const n = count(v.inputs[0]!.shape);
  const rw = (name: string, index: number) => ({ ...inp(name, index), access: 'read_write' as const });
  const { beta1, beta2, eps, weightDecay } = v.attrs;
  const one4 = (e: number) => `{
  let i = i4 * 4u + ${e}u;
  if (i < u.n) {
    let gi = g[i] * gscale[0];
    let pi = p[i] * (1.0 - lr * u.wd);
    let mi = u.beta1 * m[i] + (1.0 - u.beta1) * gi;
    let vi = u.beta2 * v[i] + (1.0 - u.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - (lr / hyper[1]) * mi / (sqrt(vi) / sqrt(hyper[2]) + u.eps);
  }
}`;
  return one(kernel({
    key: 'adamw', bindings: [rw('p', 0), inp('g', 1), rw('m', 2), rw('v', 3), inp('hyper', 4), inp('gscale', 5)],
    uniforms: [['n', 'u32', n], ['beta1', 'f32', beta1], ['beta2', 'f32', beta2], ['eps', 'f32', eps], ['wd', 'f32', weightDecay]],
    workgroupSize: EW, workgroups: ceilDiv(n, 4 * EW),
    body: `let i4 = wg * ${EW}u + lid;
if (i4 * 4u >= u.n) { return; }
// Flag 2: a gradient-accumulation micro-step that must not update.
if ((u32(hyper[3]) & 2u) != 0u) { return; }
// Same operation order as torch.optim.AdamW's single-tensor path (and the interpreter).
let lr = hyper[0];
${[0, 1, 2, 3].map(one4).join('\n')}`,
  }));
}

/**
 * Inverted dropout with the interpreter's PCG hash, bit for bit: keep iff
 * (pcg(pcg(pcg(seed) ^ step) ^ index) >> 8) >= ceil(p * 2^24), the threshold computed on the host.
 */
export function emitDropout(v: OpView<OpAttrs['dropout']>, hasStep: boolean): EmittedOp {
  const n = count(v.out.shape);
  const { p, seed } = v.attrs;
  const step = { name: 'step', ref: { kind: 'named_input' as const, name: 'step' }, access: 'read' as const, elem: 'i32' as const };
  return one(kernel({
    key: hasStep ? 'dropout:step' : 'dropout', bindings: [inp('a', 0), ...(hasStep ? [step] : []), out()],
    uniforms: [['n', 'u32', n], ['seed', 'u32', seed >>> 0], ['threshold', 'u32', Math.ceil(p * 16777216)], ['s', 'f32', 1 / (1 - p)]],
    workgroupSize: EW, workgroups: ceilDiv(n, EW),
    decls: `
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`,
    body: `${idx}
let h = pcg(pcg(pcg(u.seed) ^ ${hasStep ? 'u32(step[0])' : '0u'}) ^ i);
y[i] = select(0.0, a[i] * u.s, (h >> 8u) >= u.threshold);`,
  }));
}
