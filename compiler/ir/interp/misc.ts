// Slicing, embeddings, the cross-entropy loss and the in-place AdamW update.
import { IrError } from '../types.ts';
import type { OpAttrs } from '../ops.ts';
import { lastDim, numel, rowCount, type FloatTensor, type Kernel } from './common.ts';

/** (outer, along, inner) strides of `axis`: the flat index is (o · along + a) · inner + i. */
function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  const ax = axis < 0 ? shape.length + axis : axis;
  return [numel(shape.slice(0, ax)), shape[ax]!, numel(shape.slice(ax + 1))];
}

export const slice: Kernel<OpAttrs['slice']> = (ctx, [x], { axis, start, size }) => {
  const [outer, along, inner] = axisSplit(x!.shape, axis);
  const out = ctx.alloc(outer * size * inner);
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < size; a++) {
      for (let i = 0; i < inner; i++) out[(o * size + a) * inner + i] = x!.data[(o * along + start + a) * inner + i]!;
    }
  }
  return out;
};

export const transpose: Kernel<OpAttrs['transpose']> = (ctx, [x]) => {
  const [m, n] = x!.shape as [number, number];
  const out = ctx.alloc(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = x!.data[i * n + j]!;
  return out;
};

export const sliceGrad: Kernel<OpAttrs['slice_grad']> = (ctx, [dy], { axis, start, full }) => {
  const [outer, size, inner] = axisSplit(dy!.shape, axis);
  const out = ctx.alloc(outer * full * inner);
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < size; a++) {
      for (let i = 0; i < inner; i++) out[(o * full + start + a) * inner + i] = dy!.data[(o * size + a) * inner + i]!;
    }
  }
  return out;
};

function checkId(id: number, vocab: number, op: string): void {
  if (!(id >= 0 && id < vocab)) throw new IrError(`${op}: id ${id} out of range [0, ${vocab})`);
}

export const embedding: Kernel<OpAttrs['embedding']> = (ctx, [table, ids], { rows }) => {
  const [V, D] = [table!.shape[0]!, table!.shape[1]!];
  const start = rows?.start ?? 0;
  const out = ctx.alloc(ids!.data.length * D);
  for (let t = 0; t < ids!.data.length; t++) {
    const id = ids!.data[t]!;
    checkId(id, rows?.total ?? V, 'embedding');
    if (id < start || id >= start + V) continue; // another chunk's row: zeros here
    for (let d = 0; d < D; d++) out[t * D + d] = table!.data[(id - start) * D + d]!;
  }
  return out;
};

/** Rows of dy summed per id, for ids in [start, start + vocab) (a chunk of a split table); other ids are another chunk's. */
export const embeddingGrad: Kernel<OpAttrs['embedding_grad']> = (ctx, [ids, dy], { vocab, start }) => {
  const D = lastDim(dy!.shape);
  const acc = new Float64Array(vocab * D);
  for (let t = 0; t < ids!.data.length; t++) {
    const id = ids!.data[t]! - (start ?? 0);
    if (start === undefined) checkId(id, vocab, 'embedding_grad');
    else if (id < 0 || id >= vocab) continue;
    for (let d = 0; d < D; d++) acc[id * D + d]! += dy!.data[t * D + d]!;
  }
  const out = ctx.alloc(acc.length);
  out.set(acc);
  return out;
};

/** Per valid row: (logsumexp, softmax) helpers; the count of labels != ignoreIndex. */
function validCount(labels: ArrayLike<number>, ignoreIndex: number): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== ignoreIndex) n++;
  return n;
}

function logSumExp(x: ArrayLike<number>, off: number, V: number): number {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) mx = Math.max(mx, x[off + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[off + v]! - mx);
  return mx + Math.log(s);
}

export const crossEntropy: Kernel<OpAttrs['cross_entropy']> = (ctx, [logits, labels], { ignoreIndex }) => {
  const V = lastDim(logits!.shape);
  const count = validCount(labels!.data, ignoreIndex);
  let total = 0;
  for (let r = 0; r < rowCount(logits!.shape); r++) {
    const label = labels!.data[r]!;
    if (label === ignoreIndex) continue;
    checkId(label, V, 'cross_entropy');
    total += logSumExp(logits!.data, r * V, V) - logits!.data[r * V + label]!;
  }
  return ctx.alloc(1).fill(count === 0 ? 0 : total / count);
};

/**
 * dlogits = dloss · (softmax − onehot(label)) / count on valid rows, 0 on ignored rows, for logits holding
 * vocabulary ids start..start+V (a chunk, or the whole vocabulary at start 0); lse(r) is row r's log-normalizer.
 */
function crossEntropyGradRows(
  ctx: Parameters<Kernel<OpAttrs['cross_entropy_grad']>>[0],
  logits: { data: ArrayLike<number>; shape: readonly number[] },
  labels: ArrayLike<number>,
  dloss: number,
  o: { ignoreIndex: number; vocab: number; start: number; op: string; lse: (r: number) => number },
) {
  const V = lastDim(logits.shape);
  const count = validCount(labels, o.ignoreIndex);
  const out = ctx.alloc(logits.data.length);
  if (count === 0) return out;
  const g = dloss / count;
  for (let r = 0; r < rowCount(logits.shape); r++) {
    const label = labels[r]!;
    if (label === o.ignoreIndex) continue;
    checkId(label, o.vocab, o.op);
    const lse = o.lse(r);
    for (let v = 0; v < V; v++) out[r * V + v] = g * (Math.exp(logits.data[r * V + v]! - lse) - (o.start + v === label ? 1 : 0));
  }
  return out;
}

export const crossEntropyGrad: Kernel<OpAttrs['cross_entropy_grad']> = (ctx, [logits, labels, dloss], { ignoreIndex }) => {
  const V = lastDim(logits!.shape);
  return crossEntropyGradRows(ctx, logits!, labels!.data, dloss!.data[0]!, { ignoreIndex, vocab: V, start: 0, op: 'cross_entropy_grad', lse: (r) => logSumExp(logits!.data, r * V, V) });
};

/** Online-softmax statistics (m, s, t) per row over one chunk of the logits, merged into prev's. */
export const logitStats: Kernel<OpAttrs['logit_stats']> = (ctx, [logits, labels, prev], { start }) => {
  const V = lastDim(logits!.shape);
  const rows = rowCount(logits!.shape);
  const out = ctx.alloc(rows * 3);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits!.data[r * V + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits!.data[r * V + v]! - m);
    const label = labels!.data[r]! - start;
    let t = label >= 0 && label < V ? logits!.data[r * V + label]! : 0;
    if (prev) {
      const [pm, ps, pt] = [prev.data[r * 3]!, prev.data[r * 3 + 1]!, prev.data[r * 3 + 2]!];
      const mm = Math.max(m, pm);
      s = s * Math.exp(m - mm) + ps * Math.exp(pm - mm);
      m = mm;
      if (!(label >= 0 && label < V)) t = pt;
    }
    out[r * 3] = m;
    out[r * 3 + 1] = s;
    out[r * 3 + 2] = t;
  }
  return out;
};

/** Mean of m + log(s) − t over labels != ignoreIndex, from the chained statistics of every chunk. */
export const crossEntropyChunked: Kernel<OpAttrs['cross_entropy_chunked']> = (ctx, [stats, labels], { ignoreIndex, vocab }) => {
  const count = validCount(labels!.data, ignoreIndex);
  let total = 0;
  for (let r = 0; r < labels!.data.length; r++) {
    const label = labels!.data[r]!;
    if (label === ignoreIndex) continue;
    checkId(label, vocab, 'cross_entropy_chunked');
    total += stats!.data[r * 3]! + Math.log(stats!.data[r * 3 + 1]!) - stats!.data[r * 3 + 2]!;
  }
  return ctx.alloc(1).fill(count === 0 ? 0 : total / count);
};

/** dlogits of one chunk: the softmax's log-normalizer m + log(s) from the chained stats. */
export const crossEntropyChunkedGrad: Kernel<OpAttrs['cross_entropy_chunked_grad']> = (ctx, [logits, labels, dloss, stats], { ignoreIndex, vocab, start }) =>
  crossEntropyGradRows(ctx, logits!, labels!.data, dloss!.data[0]!, { ignoreIndex, vocab, start, op: 'cross_entropy_chunked_grad', lse: (r) => stats!.data[r * 3]! + Math.log(stats!.data[r * 3 + 1]!) });

/**
 * PyTorch's AdamW (torch.optim.AdamW, single-tensor path), updating param, m and v IN PLACE:
 * g = grad·gradScale; p *= 1 − lr·wd; m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²;
 * p −= (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps). Returns a [] placeholder (0).
 */
/** Flag bits of the optimizer input's fourth entry (see ops.ts). */
export const OPTIM_FLAG_RESET = 1;
export const OPTIM_FLAG_SKIP = 2;

export const gradAccumulate: Kernel<OpAttrs['grad_accumulate']> = (_ctx, [acc, g, hyper]) => {
  const a = acc!.data as FloatTensor;
  const reset = ((hyper!.data[3]! | 0) & OPTIM_FLAG_RESET) !== 0;
  for (let i = 0; i < a.length; i++) a[i] = (reset ? 0 : a[i]!) + g!.data[i]!;
  return a;
};

export const adamw: Kernel<OpAttrs['adamw']> = (ctx, [param, grad, m, v, hyper, gradScale], a) => {
  if (((hyper!.data[3]! | 0) & OPTIM_FLAG_SKIP) !== 0) return ctx.alloc(1);
  const p = param!.data as FloatTensor;
  const mm = m!.data as FloatTensor;
  const vv = v!.data as FloatTensor;
  const [lr, bc1, bc2] = [hyper!.data[0]!, hyper!.data[1]!, hyper!.data[2]!];
  const gs = gradScale!.data[0]!;
  const stepSize = lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < p.length; i++) {
    const g = grad!.data[i]! * gs;
    p[i] = p[i]! * (1 - lr * a.weightDecay);
    mm[i] = a.beta1 * mm[i]! + (1 - a.beta1) * g;
    vv[i] = a.beta2 * vv[i]! + (1 - a.beta2) * g * g;
    p[i] = p[i]! - (stepSize * mm[i]!) / (Math.sqrt(vv[i]!) / bc2Sqrt + a.eps);
  }
  return ctx.alloc(1);
};
