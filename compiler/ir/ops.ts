// The IR's op set: attributes and the shape rule of each op. Semantics are documented here and in
// spec/ir.md; the CPU interpreter (interp.ts) is the executable definition and the oracle for the
// WGSL kernels. Activations are row-major; "rows" means the product of all but the last dimension.
import { IrError, isSuffix, numel, sameShape, shapeToString, type DType, type ParamRole, type Shape, type TensorType } from './types.ts';

export type StateKind = 'optimizer' | 'grad_accum' | 'kv_cache';

export type UnaryFn = 'silu' | 'gelu' | 'gelu_tanh' | 'relu' | 'neg' | 'exp' | 'sqrt' | 'recip';

export interface AttentionAttrs {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k before the softmax (usually 1/sqrt(headDim)). */
  scale: number;
  causal: boolean;
}

export interface OpAttrs {
  /** Runtime-provided tensor (token ids, labels, optimizer hyper-parameters). */
  input: { name: string; dtype: DType; shape: Shape };
  /** Persistent weight. Role decides gradients: only adapter/trainable parameters get them. */
  param: { name: string; shape: Shape; role: ParamRole };
  /**
   * Persistent state that lives across runs: AdamW moments of the parameter `of` (kind 'optimizer',
   * the default), a gradient accumulator ('grad_accum') or a KV cache ('kv_cache').
   */
  state: { name: string; of: string; shape: Shape; kind?: StateKind };
  /** A tensor filled with one value. */
  const: { value: number; shape: Shape };
  /** Elementwise function of one input. */
  unary: { fn: UnaryFn };
  /** inputs (x, dy): dy * f'(x). */
  unary_grad: { fn: UnaryFn };
  /** a + b; b's shape must be a suffix of a's (broadcast over leading dims). */
  add: Record<string, never>;
  /** a - b, broadcast as add. */
  sub: Record<string, never>;
  /** a * b, broadcast as add. */
  mul: Record<string, never>;
  /** a / b, broadcast as add. */
  div: Record<string, never>;
  /** x * c. */
  scale: { c: number };
  /** Identity whose gradient is zero (PEFT's detached DoRA norm). */
  stop_gradient: Record<string, never>;
  /**
   * Inverted dropout: x * keep / (1 - p), keep = hash(seed, step, index) >= p, with `step` read
   * from the input named "step" at run time so masks change every step but forward and backward agree.
   */
  dropout: { p: number; seed: number };
  /**
   * Matrix product over 2-D views. Without transA: a is [...rows, K] and the result [...rows, N],
   * with b [K, N] (transB false) or [N, K] (transB true). With transA: a is viewed [R, M] and b
   * [R, N] (leading dims flattened, same R) and the result is aᵀ·b of shape [M, N] (transB false).
   */
  matmul: { transA: boolean; transB: boolean };
  /**
   * Fused low-rank linear: y = x·op(W) + scale·s·op(L) (+ bias). x [...rows, K], s [...rows, r],
   * op(W) [K, N] (W is [N, K] when transW), op(L) [r, N] (L is [N, r] when transL).
   * Forward LoRA: W = W0, s = x·Aᵀ, L = B. Backward: dx = dy·W0 + ds·A has the same form.
   */
  lowrank_matmul: { transW: boolean; transL: boolean; scale: number; hasBias: boolean };
  /** inputs (x, w): x / sqrt(mean(x², last dim) + eps) * w. */
  rmsnorm: { eps: number };
  /** inputs (x, w, dy) -> dx. */
  rmsnorm_grad: { eps: number };
  /** inputs (x, dy) -> dw, summed over rows. */
  rmsnorm_grad_w: { eps: number };
  /** inputs (x, w, b): (x - mean) / sqrt(var + eps) * w + b, biased variance over the last dim. */
  layernorm: { eps: number };
  /** inputs (x, w, dy) -> dx. */
  layernorm_grad: { eps: number };
  /** inputs (x, dy) -> dw, summed over rows. */
  layernorm_grad_w: { eps: number };
  /** Sums x over leading dimensions down to `shape`, a suffix of x's shape (bias gradients). */
  sum_to: { shape: Shape };
  /** Euclidean norm of each row of a 2-D x [N, K] -> [N]. */
  row_norm: Record<string, never>;
  /**
   * inputs (x [N, K], dy [N]) -> dx[n, k] = dy[n] · x[n, k] / ‖x[n]‖ (0 for a zero row): the gradient
   * of row_norm, an op of its own because [N] does not broadcast against [N, K] (suffix rule).
   */
  row_norm_grad: Record<string, never>;
  /**
   * Rotary position embedding on x [B, T, heads*headDim], Hugging Face's rotate_half layout:
   * for j < headDim/2, angle = pos * theta^(-2j/headDim), pairs (j, j + headDim/2) rotate by angle
   * (by -angle when inverse, which is also the gradient). pos is t, or offset[0] + t when a second
   * input offset (i32 [1], the KV-cache position during generation) is given.
   */
  rope: { heads: number; headDim: number; theta: number; inverse: boolean };
  /**
   * Softmax attention. q [B, T, heads*headDim], k and v [B, S, kvHeads*headDim]; query head h uses
   * kv head floor(h / (heads/kvHeads)) (grouped-query). Result [B, T, heads*headDim]. Without a
   * fourth input S = T and query t sees keys j <= t (causal). With a fourth input offset (i32 [1],
   * generation with a KV cache of S slots) query t sits at position offset[0] + t and sees keys
   * j <= offset[0] + t; later cache slots are ignored.
   */
  attention: AttentionAttrs;
  /**
   * inputs (q, k, v, dy, y) -> f32 [B, heads, T, 2]: per query row, the softmax's logsumexp (of
   * scale·q·kᵀ over the visible keys) and rowDot = Σ_j P_ij·(dy_i·v_j), which equals dy_i·y_i for
   * y = attention(q, k, v), the forward output (same shape as q). Kernels compute rowDot as dy·y;
   * the interpreter computes Σ P·dP from q, k, v, dy (equal up to rounding when y is the forward
   * output). Training shapes only (no offset, S = T). The statistics every attention_grad of one
   * attention shares.
   */
  attention_stats: AttentionAttrs;
  /**
   * inputs (q, k, v, dy, stats) -> the gradient for q, k or v (recomputing the softmax). stats is
   * attention_stats(q, k, v, dy, y): the kernels read it instead of recomputing it; the interpreter
   * recomputes and ignores it, so the definition does not depend on it.
   */
  attention_grad: AttentionAttrs & { wrt: 'q' | 'k' | 'v' };
  /**
   * KV-cache write: inputs (cache [B, S, D], x [B, T, D], offset i32 [1]); copies x into
   * cache[:, offset:offset+T, :] IN PLACE and returns the cache (its result aliases input 0's buffer,
   * so readers of the result see the write).
   */
  cache_update: Record<string, never>;
  /** The transpose of a 2-D x [M, N] -> [N, M] (its gradient is the transpose of dy). */
  transpose: Record<string, never>;
  /** x[..., start:start+size, ...] along `axis`. */
  slice: { axis: number; start: number; size: number };
  /** Places dy into zeros of size `full` along `axis` at `start` (the gradient of slice). */
  slice_grad: { axis: number; start: number; full: number };
  /** inputs (table [V, D], ids [...]) -> [..., D]. */
  embedding: Record<string, never>;
  /** inputs (ids [...], dy [..., D]) -> [vocab, D], rows summed per id. */
  embedding_grad: { vocab: number };
  /**
   * inputs (logits [..., V], labels [...] i32) -> [] mean cross-entropy over labels != ignoreIndex.
   * Labels are already shifted (label t is the target of position t).
   */
  cross_entropy: { ignoreIndex: number };
  /** inputs (logits, labels, dloss []) -> dlogits. */
  cross_entropy_grad: { ignoreIndex: number };
  /** Sum of squares of all elements -> []. */
  sumsq: Record<string, never>;
  /** input total sum of squares [] -> min(1, maxNorm / (sqrt(total) + 1e-6)) (gradient clipping). */
  clip_coef: { maxNorm: number };
  /**
   * Gradient accumulation: inputs (acc, g, hyper f32[4]); acc = (flags & 1 ? 0 : acc) + g IN PLACE,
   * flags = hyper[3]; the result aliases acc's buffer (like cache_update).
   */
  grad_accumulate: Record<string, never>;
  /**
   * In-place AdamW (PyTorch's, decoupled weight decay). inputs (param, grad, m, v, hyper, gradScale):
   * hyper is f32[4] = [lr, 1 - beta1^t, 1 - beta2^t, flags], gradScale [] multiplies grad first.
   * flags & 2 skips the update (a micro-step of gradient accumulation that only accumulates).
   * p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
   * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps). Produces a [] placeholder; listed in graph.effects.
   */
  adamw: { beta1: number; beta2: number; eps: number; weightDecay: number };
}

export type OpName = keyof OpAttrs;

/** Ops that write their first input in place and return it (their result aliases its buffer). */
export const IN_PLACE_OPS: ReadonlySet<OpName> = new Set<OpName>(['cache_update', 'grad_accumulate']);

const f32 = (shape: Shape): TensorType => ({ dtype: 'f32', shape });

function fail(op: string, message: string): never {
  throw new IrError(`${op}: ${message}`);
}

function expectArity(op: string, inputs: TensorType[], ...counts: number[]): void {
  if (!counts.includes(inputs.length)) fail(op, `expects ${counts.join(' or ')} inputs, got ${inputs.length}`);
}

function expectSame(op: string, a: TensorType, b: TensorType, what: string): void {
  if (!sameShape(a.shape, b.shape)) fail(op, `${what}: ${shapeToString(a.shape)} vs ${shapeToString(b.shape)}`);
}

function last(shape: Shape): number {
  return shape[shape.length - 1] ?? 1;
}

function rows(shape: Shape): number {
  return numel(shape) / last(shape);
}

function broadcastBinary(op: string, [a, b]: TensorType[]): TensorType {
  if (!isSuffix(b!.shape, a!.shape)) {
    fail(op, `right operand ${shapeToString(b!.shape)} does not broadcast to ${shapeToString(a!.shape)}`);
  }
  return f32(a!.shape);
}

function matmulType(op: string, [a, b]: TensorType[], attrs: OpAttrs['matmul']): TensorType {
  if (b!.shape.length !== 2 && !attrs.transA) fail(op, `right operand must be 2-D, got ${shapeToString(b!.shape)}`);
  if (attrs.transA) {
    if (attrs.transB) fail(op, 'transA with transB is not supported');
    if (rows(a!.shape) !== rows(b!.shape)) {
      fail(op, `row counts differ: ${shapeToString(a!.shape)} vs ${shapeToString(b!.shape)}`);
    }
    return f32([last(a!.shape), last(b!.shape)]);
  }
  const [bk, bn] = attrs.transB ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
  if (last(a!.shape) !== bk) {
    fail(op, `inner dimensions differ: ${shapeToString(a!.shape)} · ${shapeToString(b!.shape)}${attrs.transB ? 'ᵀ' : ''}`);
  }
  return f32([...a!.shape.slice(0, -1), bn]);
}

function attentionCheck(op: string, [q, k, v]: TensorType[], a: AttentionAttrs, cached = false): void {
  if (a.heads % a.kvHeads !== 0) fail(op, `heads ${a.heads} is not a multiple of kvHeads ${a.kvHeads}`);
  if (q!.shape.length !== 3) fail(op, `q must be [B, T, heads*headDim], got ${shapeToString(q!.shape)}`);
  if (last(q!.shape) !== a.heads * a.headDim) fail(op, `q last dim ${last(q!.shape)} != heads*headDim`);
  for (const [name, t] of [['k', k!], ['v', v!]] as const) {
    const want = [q!.shape[0]!, cached ? t.shape[1]! : q!.shape[1]!, a.kvHeads * a.headDim];
    if (!sameShape(t.shape, want)) fail(op, `${name} is ${shapeToString(t.shape)}, expected ${shapeToString(want)}`);
  }
}

/** attention_stats' result for q [B, T, heads*headDim]: (logsumexp, rowDot) per query row and head. */
const statsShape = (q: TensorType, a: AttentionAttrs): Shape => [q.shape[0]!, a.heads, q.shape[1]!, 2];

type ShapeRule<K extends OpName> = (inputs: TensorType[], attrs: OpAttrs[K]) => TensorType;

/** Shape and dtype rule of every op; throws IrError naming both sides of a mismatch. */
export const shapeRules: { [K in OpName]: ShapeRule<K> } = {
  input: (ins, a) => (expectArity('input', ins, 0), { dtype: a.dtype, shape: a.shape }),
  param: (ins, a) => (expectArity('param', ins, 0), f32(a.shape)),
  state: (ins, a) => (expectArity('state', ins, 0), f32(a.shape)),
  const: (ins, a) => (expectArity('const', ins, 0), f32(a.shape)),
  unary: (ins) => (expectArity('unary', ins, 1), f32(ins[0]!.shape)),
  unary_grad: (ins) => (expectArity('unary_grad', ins, 2), expectSame('unary_grad', ins[0]!, ins[1]!, 'x and dy'), f32(ins[0]!.shape)),
  add: (ins) => (expectArity('add', ins, 2), broadcastBinary('add', ins)),
  sub: (ins) => (expectArity('sub', ins, 2), broadcastBinary('sub', ins)),
  mul: (ins) => (expectArity('mul', ins, 2), broadcastBinary('mul', ins)),
  div: (ins) => (expectArity('div', ins, 2), broadcastBinary('div', ins)),
  scale: (ins) => (expectArity('scale', ins, 1), f32(ins[0]!.shape)),
  stop_gradient: (ins) => (expectArity('stop_gradient', ins, 1), f32(ins[0]!.shape)),
  dropout: (ins, a) => {
    expectArity('dropout', ins, 1);
    if (!(a.p >= 0 && a.p < 1)) fail('dropout', `p must be in [0, 1), got ${a.p}`);
    return f32(ins[0]!.shape);
  },
  matmul: (ins, a) => (expectArity('matmul', ins, 2), matmulType('matmul', ins, a)),
  lowrank_matmul: (ins, a) => {
    expectArity('lowrank_matmul', ins, a.hasBias ? 5 : 4);
    const [x, w, s, l, bias] = ins;
    const y = matmulType('lowrank_matmul', [x!, w!], { transA: false, transB: a.transW });
    const low = matmulType('lowrank_matmul', [s!, l!], { transA: false, transB: a.transL });
    expectSame('lowrank_matmul', y, low, 'full-rank and low-rank terms');
    if (bias && !sameShape(bias.shape, [last(y.shape)])) fail('lowrank_matmul', `bias ${shapeToString(bias.shape)} != [${last(y.shape)}]`);
    return y;
  },
  rmsnorm: (ins) => {
    expectArity('rmsnorm', ins, 2);
    if (!sameShape(ins[1]!.shape, [last(ins[0]!.shape)])) fail('rmsnorm', `weight ${shapeToString(ins[1]!.shape)} != [${last(ins[0]!.shape)}]`);
    return f32(ins[0]!.shape);
  },
  rmsnorm_grad: (ins) => (expectArity('rmsnorm_grad', ins, 3), expectSame('rmsnorm_grad', ins[0]!, ins[2]!, 'x and dy'), f32(ins[0]!.shape)),
  rmsnorm_grad_w: (ins) => (expectArity('rmsnorm_grad_w', ins, 2), expectSame('rmsnorm_grad_w', ins[0]!, ins[1]!, 'x and dy'), f32([last(ins[0]!.shape)])),
  layernorm: (ins) => {
    expectArity('layernorm', ins, 3);
    const d = [last(ins[0]!.shape)];
    if (!sameShape(ins[1]!.shape, d) || !sameShape(ins[2]!.shape, d)) fail('layernorm', `weight and bias must be ${shapeToString(d)}`);
    return f32(ins[0]!.shape);
  },
  layernorm_grad: (ins) => (expectArity('layernorm_grad', ins, 3), expectSame('layernorm_grad', ins[0]!, ins[2]!, 'x and dy'), f32(ins[0]!.shape)),
  layernorm_grad_w: (ins) => (expectArity('layernorm_grad_w', ins, 2), expectSame('layernorm_grad_w', ins[0]!, ins[1]!, 'x and dy'), f32([last(ins[0]!.shape)])),
  sum_to: (ins, a) => {
    expectArity('sum_to', ins, 1);
    if (!isSuffix(a.shape, ins[0]!.shape)) fail('sum_to', `${shapeToString(a.shape)} is not a suffix of ${shapeToString(ins[0]!.shape)}`);
    return f32(a.shape);
  },
  row_norm: (ins) => {
    expectArity('row_norm', ins, 1);
    if (ins[0]!.shape.length !== 2) fail('row_norm', `expects a 2-D input, got ${shapeToString(ins[0]!.shape)}`);
    return f32([ins[0]!.shape[0]!]);
  },
  row_norm_grad: (ins) => {
    expectArity('row_norm_grad', ins, 2);
    const x = ins[0]!.shape;
    if (x.length !== 2 || !sameShape(ins[1]!.shape, [x[0]!])) {
      fail('row_norm_grad', `expects x [N, K] and dy [N], got ${shapeToString(x)} and ${shapeToString(ins[1]!.shape)}`);
    }
    return f32(x);
  },
  rope: (ins, a) => {
    expectArity('rope', ins, 1, 2);
    if (ins[1] && (ins[1].dtype !== 'i32' || !sameShape(ins[1].shape, [1]))) fail('rope', 'offset must be i32 [1]');
    if (a.headDim % 2 !== 0) fail('rope', `headDim ${a.headDim} must be even`);
    if (ins[0]!.shape.length !== 3 || last(ins[0]!.shape) !== a.heads * a.headDim) {
      fail('rope', `x ${shapeToString(ins[0]!.shape)} is not [B, T, ${a.heads}*${a.headDim}]`);
    }
    return f32(ins[0]!.shape);
  },
  attention: (ins, a) => {
    expectArity('attention', ins, 3, 4);
    if (ins[3] && (ins[3].dtype !== 'i32' || !sameShape(ins[3].shape, [1]))) fail('attention', 'offset must be i32 [1]');
    attentionCheck('attention', ins, a, ins.length === 4);
    return f32(ins[0]!.shape);
  },
  cache_update: (ins) => {
    expectArity('cache_update', ins, 3);
    const [cache, x, offset] = ins;
    if (cache!.shape.length !== 3 || x!.shape.length !== 3 || cache!.shape[0] !== x!.shape[0] || cache!.shape[2] !== x!.shape[2] || x!.shape[1]! > cache!.shape[1]!) {
      fail('cache_update', `x ${shapeToString(x!.shape)} does not fit cache ${shapeToString(cache!.shape)}`);
    }
    if (offset!.dtype !== 'i32' || !sameShape(offset!.shape, [1])) fail('cache_update', 'offset must be i32 [1]');
    return f32(cache!.shape);
  },
  attention_stats: (ins, a) => {
    expectArity('attention_stats', ins, 5);
    attentionCheck('attention_stats', ins, a);
    expectSame('attention_stats', ins[0]!, ins[3]!, 'q and dy');
    expectSame('attention_stats', ins[0]!, ins[4]!, 'q and y');
    return f32(statsShape(ins[0]!, a));
  },
  attention_grad: (ins, a) => {
    expectArity('attention_grad', ins, 5);
    attentionCheck('attention_grad', ins, a);
    expectSame('attention_grad', ins[0]!, ins[3]!, 'q and dy');
    expectSame('attention_grad', ins[4]!, f32(statsShape(ins[0]!, a)), 'stats and [B, heads, T, 2]');
    return f32(ins[a.wrt === 'q' ? 0 : a.wrt === 'k' ? 1 : 2]!.shape);
  },
  transpose: (ins) => {
    expectArity('transpose', ins, 1);
    if (ins[0]!.shape.length !== 2) fail('transpose', `expects a 2-D input, got ${shapeToString(ins[0]!.shape)}`);
    return f32([ins[0]!.shape[1]!, ins[0]!.shape[0]!]);
  },
  slice: (ins, a) => {
    expectArity('slice', ins, 1);
    const s = ins[0]!.shape;
    const axis = a.axis < 0 ? s.length + a.axis : a.axis;
    if (axis < 0 || axis >= s.length) fail('slice', `axis ${a.axis} out of range for ${shapeToString(s)}`);
    if (a.start < 0 || a.size <= 0 || a.start + a.size > s[axis]!) fail('slice', `[${a.start}, ${a.start + a.size}) out of range ${s[axis]}`);
    return f32(s.map((d, i) => (i === axis ? a.size : d)));
  },
  slice_grad: (ins, a) => {
    expectArity('slice_grad', ins, 1);
    const s = ins[0]!.shape;
    const axis = a.axis < 0 ? s.length + a.axis : a.axis;
    if (a.start + s[axis]! > a.full) fail('slice_grad', `slice [${a.start}, ${a.start + s[axis]!}) exceeds ${a.full}`);
    return f32(s.map((d, i) => (i === axis ? a.full : d)));
  },
  embedding: (ins) => {
    expectArity('embedding', ins, 2);
    if (ins[0]!.shape.length !== 2) fail('embedding', `table must be 2-D, got ${shapeToString(ins[0]!.shape)}`);
    if (ins[1]!.dtype !== 'i32') fail('embedding', 'ids must be i32');
    return f32([...ins[1]!.shape, ins[0]!.shape[1]!]);
  },
  embedding_grad: (ins, a) => {
    expectArity('embedding_grad', ins, 2);
    if (ins[0]!.dtype !== 'i32') fail('embedding_grad', 'ids must be i32');
    return f32([a.vocab, last(ins[1]!.shape)]);
  },
  cross_entropy: (ins) => {
    expectArity('cross_entropy', ins, 2);
    if (ins[1]!.dtype !== 'i32') fail('cross_entropy', 'labels must be i32');
    if (!sameShape(ins[0]!.shape.slice(0, -1), ins[1]!.shape)) {
      fail('cross_entropy', `logits ${shapeToString(ins[0]!.shape)} and labels ${shapeToString(ins[1]!.shape)} disagree`);
    }
    return f32([]);
  },
  cross_entropy_grad: (ins) => (expectArity('cross_entropy_grad', ins, 3), f32(ins[0]!.shape)),
  sumsq: (ins) => (expectArity('sumsq', ins, 1), f32([])),
  clip_coef: (ins) => (expectArity('clip_coef', ins, 1), f32([])),
  grad_accumulate: (ins) => {
    expectArity('grad_accumulate', ins, 3);
    expectSame('grad_accumulate', ins[0]!, ins[1]!, 'accumulator and gradient');
    if (!sameShape(ins[2]!.shape, [4])) fail('grad_accumulate', `hyper must be [4], got ${shapeToString(ins[2]!.shape)}`);
    return f32(ins[0]!.shape);
  },
  adamw: (ins) => {
    expectArity('adamw', ins, 6);
    for (let i = 1; i < 4; i++) expectSame('adamw', ins[0]!, ins[i]!, 'param and grad/moments');
    if (!sameShape(ins[4]!.shape, [4])) fail('adamw', `hyper must be [4], got ${shapeToString(ins[4]!.shape)}`);
    return f32([]);
  },
};

export function inferType<K extends OpName>(op: K, inputs: TensorType[], attrs: OpAttrs[K]): TensorType {
  return (shapeRules[op] as ShapeRule<K>)(inputs, attrs);
}
