// Shape and dtype rules of every op (the attributes and semantics are in op-attrs.ts, documented in
// spec/ir.md too); the CPU interpreter (interp.ts) is the executable definition and the oracle for
// the WGSL kernels.
import { IrError, isHalf, isSuffix, numel, sameShape, shapeToString, type Shape, type TensorType } from './tensor.ts';
import type { AttentionAttrs, OpAttrs, OpName } from './op-attrs.ts';

export type { AttentionAttrs, OpAttrs, OpName, StateKind, UnaryFn } from './op-attrs.ts';

/** Ops that write their first input in place and return it (their result aliases its buffer). */
export const IN_PLACE_OPS: ReadonlySet<OpName> = new Set<OpName>(['cache_update', 'grad_accumulate']);

/**
 * The operands that may be 16-bit (bf16/f16 storage of frozen weights), by op: their kernels widen
 * the values as they load them. Every other operand is f32 or i32; the storage pass (passes/storage.ts)
 * puts a `cast` in front of any other reader of a 16-bit weight.
 */
export const HALF_OPERANDS: Readonly<Partial<Record<OpName, readonly number[]>>> = {
  matmul: [1],
  lowrank_matmul: [1],
  embedding: [0],
  cast: [0],
};

/** Whether operand `index` of `op` may be a 16-bit tensor. */
export function readsHalf(op: OpName, index: number): boolean {
  return HALF_OPERANDS[op]?.includes(index) ?? false;
}

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
  const w = a.window ?? 0;
  if (!Number.isInteger(w) || w < 0) fail(op, `window must be a non-negative integer, got ${w}`);
  if (w > 0 && !a.causal) fail(op, 'a sliding window needs causal masking');
  if (q!.shape.length !== 3) fail(op, `q must be [B, T, heads*headDim], got ${shapeToString(q!.shape)}`);
  if (last(q!.shape) !== a.heads * a.headDim) fail(op, `q last dim ${last(q!.shape)} != heads*headDim`);
  for (const [name, t] of [['k', k!], ['v', v!]] as const) {
    const want = [q!.shape[0]!, cached ? t.shape[1]! : q!.shape[1]!, a.kvHeads * a.headDim];
    if (!sameShape(t.shape, want)) fail(op, `${name} is ${shapeToString(t.shape)}, expected ${shapeToString(want)}`);
  }
}

/**
 * The KV-cache position operand of rope, attention and cache_update: i32 [1] (one position for
 * every row) or i32 [B] (row b at offset[b]: sequences of a continuous batch sit at different
 * positions).
 */
function expectOffset(op: string, offset: TensorType, batch: number): void {
  if (offset.dtype !== 'i32' || offset.shape.length !== 1 || (offset.shape[0] !== 1 && offset.shape[0] !== batch)) {
    fail(op, `offset must be i32 [1] or [${batch}] (one per batch row), got ${offset.dtype} ${shapeToString(offset.shape)}`);
  }
}

/** attention_stats' result for q [B, T, heads*headDim]: (logsumexp, rowDot) per query row and head. */
const statsShape = (q: TensorType, a: AttentionAttrs): Shape => [q.shape[0]!, a.heads, q.shape[1]!, 2];

export type ShapeRule<K extends OpName> = (inputs: TensorType[], attrs: OpAttrs[K]) => TensorType;

/** Shape and dtype rule of every op; throws IrError naming both sides of a mismatch. */
export const shapeRules: { [K in OpName]: ShapeRule<K> } = {
  input: (ins, a) => (expectArity('input', ins, 0), { dtype: a.dtype, shape: a.shape }),
  param: (ins, a) => {
    expectArity('param', ins, 0);
    if (a.dtype !== undefined && a.role !== 'frozen') fail('param', `${a.name}: only frozen weights are stored in ${a.dtype} (trained weights are f32)`);
    if (a.rows && (a.shape.length < 1 || a.rows.start < 0 || a.rows.start + a.shape[0]! > a.rows.total)) {
      fail('param', `${a.name}: rows [${a.rows.start}, ${a.rows.start + (a.shape[0] ?? 0)}) are outside ${a.rows.of}'s ${a.rows.total}`);
    }
    return { dtype: a.dtype ?? 'f32', shape: a.shape };
  },
  state: (ins, a) => (expectArity('state', ins, 0), f32(a.shape)),
  const: (ins, a) => (expectArity('const', ins, 0), f32(a.shape)),
  literal: (ins, a) => {
    expectArity('literal', ins, 0);
    if (a.data.length !== numel(a.shape)) fail('literal', `${a.name}: ${a.data.length} values for shape ${shapeToString(a.shape)}`);
    return f32(a.shape);
  },
  unary: (ins) => (expectArity('unary', ins, 1), f32(ins[0]!.shape)),
  unary_grad: (ins) => (expectArity('unary_grad', ins, 2), expectSame('unary_grad', ins[0]!, ins[1]!, 'x and dy'), f32(ins[0]!.shape)),
  add: (ins) => (expectArity('add', ins, 2), broadcastBinary('add', ins)),
  sub: (ins) => (expectArity('sub', ins, 2), broadcastBinary('sub', ins)),
  mul: (ins) => (expectArity('mul', ins, 2), broadcastBinary('mul', ins)),
  div: (ins) => (expectArity('div', ins, 2), broadcastBinary('div', ins)),
  scale: (ins) => (expectArity('scale', ins, 1), f32(ins[0]!.shape)),
  cast: (ins) => {
    expectArity('cast', ins, 1);
    if (!isHalf(ins[0]!.dtype)) fail('cast', `widens bf16 or f16 to f32, got ${ins[0]!.dtype}`);
    return f32(ins[0]!.shape);
  },
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
  gathered_lowrank: (ins, a) => {
    const op = 'gathered_lowrank';
    expectArity(op, ins, a.hasBase ? 5 : 4);
    const [x, as, bs, index, base] = ins;
    if (x!.shape.length < 2) fail(op, `x must be [B, ..., K], got ${shapeToString(x!.shape)}`);
    if (as!.shape.length !== 3 || bs!.shape.length !== 3) fail(op, `stacked factors must be a [S, R, K] and b [S, N, R], got ${shapeToString(as!.shape)} and ${shapeToString(bs!.shape)}`);
    const [S, R, K] = as!.shape as [number, number, number];
    const N = bs!.shape[1]!;
    if (K !== last(x!.shape)) fail(op, `a ${shapeToString(as!.shape)} does not match x ${shapeToString(x!.shape)} (K)`);
    if (bs!.shape[0] !== S || bs!.shape[2] !== R) fail(op, `b ${shapeToString(bs!.shape)} does not match a ${shapeToString(as!.shape)} (expected [${S}, N, ${R}])`);
    if (index!.dtype !== 'i32' || !sameShape(index!.shape, [x!.shape[0]!])) fail(op, `index must be i32 [${x!.shape[0]}] (one per batch row), got ${index!.dtype} ${shapeToString(index!.shape)}`);
    const y = f32([...x!.shape.slice(0, -1), N]);
    if (base) expectSame(op, base, y, 'base and result');
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
    expectArity('rope', ins, 2, 3);
    if (ins[2]) expectOffset('rope', ins[2], ins[0]!.shape[0] ?? 1);
    if (a.rotaryDim % 2 !== 0 || a.rotaryDim < 2 || a.rotaryDim > a.headDim) fail('rope', `rotaryDim ${a.rotaryDim} must be even and in [2, headDim ${a.headDim}]`);
    if (ins[0]!.shape.length !== 3 || last(ins[0]!.shape) !== a.heads * a.headDim) {
      fail('rope', `x ${shapeToString(ins[0]!.shape)} is not [B, T, ${a.heads}*${a.headDim}]`);
    }
    if (ins[1]!.dtype !== 'f32' || !sameShape(ins[1]!.shape, [a.rotaryDim / 2])) {
      fail('rope', `invFreq ${shapeToString(ins[1]!.shape)} is not [rotaryDim/2 = ${a.rotaryDim / 2}]`);
    }
    return f32(ins[0]!.shape);
  },
  attention: (ins, a) => {
    expectArity('attention', ins, 3, 4);
    if (ins[3]) expectOffset('attention', ins[3], ins[0]!.shape[0] ?? 1);
    attentionCheck('attention', ins, a, ins.length === 4);
    return f32(ins[0]!.shape);
  },
  cache_update: (ins) => {
    expectArity('cache_update', ins, 3);
    const [cache, x, offset] = ins;
    if (cache!.shape.length !== 3 || x!.shape.length !== 3 || cache!.shape[0] !== x!.shape[0] || cache!.shape[2] !== x!.shape[2] || x!.shape[1]! > cache!.shape[1]!) {
      fail('cache_update', `x ${shapeToString(x!.shape)} does not fit cache ${shapeToString(cache!.shape)}`);
    }
    expectOffset('cache_update', offset!, cache!.shape[0]!);
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
  embedding: (ins, a) => {
    expectArity('embedding', ins, 2);
    if (ins[0]!.shape.length !== 2) fail('embedding', `table must be 2-D, got ${shapeToString(ins[0]!.shape)}`);
    if (ins[1]!.dtype !== 'i32') fail('embedding', 'ids must be i32');
    if (a.rows && (a.rows.start < 0 || a.rows.start + ins[0]!.shape[0]! > a.rows.total)) {
      fail('embedding', `table rows [${a.rows.start}, ${a.rows.start + ins[0]!.shape[0]!}) exceed ${a.rows.total}`);
    }
    return f32([...ins[1]!.shape, ins[0]!.shape[1]!]);
  },
  embedding_grad: (ins, a) => {
    expectArity('embedding_grad', ins, 2);
    if (ins[0]!.dtype !== 'i32') fail('embedding_grad', 'ids must be i32');
    if ((a.start ?? 0) < 0) fail('embedding_grad', `start ${a.start} < 0`);
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
  logit_stats: (ins) => {
    expectArity('logit_stats', ins, 2, 3);
    const [logits, labels, prev] = ins;
    labelsMatch('logit_stats', logits!, labels!);
    const stats = [...labels!.shape, 3];
    if (prev && !sameShape(prev.shape, stats)) fail('logit_stats', `prev ${shapeToString(prev.shape)} != ${shapeToString(stats)}`);
    return f32(stats);
  },
  cross_entropy_chunked: (ins, a) => {
    if (ins.length < 3) fail('cross_entropy_chunked', `expects stats, labels and at least one logits chunk, got ${ins.length} inputs`);
    const [stats, labels, ...chunks] = ins;
    if (labels!.dtype !== 'i32') fail('cross_entropy_chunked', 'labels must be i32');
    if (!sameShape(stats!.shape, [...labels!.shape, 3])) fail('cross_entropy_chunked', `stats ${shapeToString(stats!.shape)} != labels ${shapeToString(labels!.shape)} + [3]`);
    let width = 0;
    for (const c of chunks) {
      labelsMatch('cross_entropy_chunked', c, labels!);
      width += last(c.shape);
    }
    if (width !== a.vocab) fail('cross_entropy_chunked', `the chunks hold ${width} columns, vocab is ${a.vocab}`);
    return f32([]);
  },
  cross_entropy_chunked_grad: (ins, a) => {
    expectArity('cross_entropy_chunked_grad', ins, 4);
    const [logits, labels, , stats] = ins;
    labelsMatch('cross_entropy_chunked_grad', logits!, labels!);
    if (!sameShape(stats!.shape, [...labels!.shape, 3])) fail('cross_entropy_chunked_grad', `stats ${shapeToString(stats!.shape)} != labels + [3]`);
    if (a.start < 0 || a.start + last(logits!.shape) > a.vocab) fail('cross_entropy_chunked_grad', `columns [${a.start}, ${a.start + last(logits!.shape)}) exceed vocab ${a.vocab}`);
    return f32(logits!.shape);
  },
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

/** Labels [...rows] of logits [...rows, V]. */
function labelsMatch(op: string, logits: TensorType, labels: TensorType): void {
  if (labels.dtype !== 'i32') fail(op, 'labels must be i32');
  if (!sameShape(logits.shape.slice(0, -1), labels.shape)) fail(op, `logits ${shapeToString(logits.shape)} and labels ${shapeToString(labels.shape)} disagree`);
}

export function inferType<K extends OpName>(op: K, inputs: TensorType[], attrs: OpAttrs[K]): TensorType {
  inputs.forEach((t, i) => {
    if (isHalf(t.dtype) && !readsHalf(op, i)) fail(op, `operand ${i} is ${t.dtype}; this op reads f32 (a cast must widen it first)`);
  });
  return (shapeRules[op] as ShapeRule<K>)(inputs, attrs);
}
