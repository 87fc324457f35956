// Matrix products, rotary embeddings and attention. Sums accumulate in f64 and round once on store.
import type { AttentionAttrs, OpAttrs } from '../ops.ts';
import { lastDim, rowCount, type FloatTensor, type HostArg, type HostTensor, type Kernel, type KernelCtx } from './common.ts';

/** acc[r, n] += Σ_k a[r, k] · op(b)[k, n] into an f64 accumulator; op(b) = bᵀ when transB. */
function gemmInto(acc: Float64Array, a: HostTensor, b: HostTensor, rows: number, k: number, n: number, transB: boolean, c = 1): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      if (transB) for (let t = 0; t < k; t++) s += a[r * k + t]! * b[j * k + t]!;
      else for (let t = 0; t < k; t++) s += a[r * k + t]! * b[t * n + j]!;
      acc[r * n + j]! += c * s;
    }
  }
}

function store(ctx: KernelCtx, acc: Float64Array): FloatTensor {
  const out = ctx.alloc(acc.length);
  out.set(acc);
  return out;
}

export const matmul: Kernel<OpAttrs['matmul']> = (ctx, [a, b], { transA, transB }, out) => {
  if (transA) {
    // aᵀ·b over flattened rows: a [R, M], b [R, N] -> [M, N].
    const m = lastDim(a!.shape);
    const n = lastDim(b!.shape);
    const rows = rowCount(a!.shape);
    const acc = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += a!.data[r * m + i]! * b!.data[r * n + j]!;
        acc[i * n + j] = s;
      }
    }
    return store(ctx, acc);
  }
  const k = lastDim(a!.shape);
  const n = lastDim(out.shape);
  const acc = new Float64Array(rowCount(a!.shape) * n);
  gemmInto(acc, a!.data, b!.data, rowCount(a!.shape), k, n, transB);
  return store(ctx, acc);
};

/** y = x·op(W) + scale·(s·op(L)) (+ bias), computed in f64 and rounded once. */
export const lowrankMatmul: Kernel<OpAttrs['lowrank_matmul']> = (ctx, [x, w, s, l, bias], a, out) => {
  const n = lastDim(out.shape);
  const rows = rowCount(x!.shape);
  const acc = new Float64Array(rows * n);
  gemmInto(acc, x!.data, w!.data, rows, lastDim(x!.shape), n, a.transW);
  gemmInto(acc, s!.data, l!.data, rows, lastDim(s!.shape), n, a.transL, a.scale);
  if (a.hasBias) for (let i = 0; i < acc.length; i++) acc[i]! += bias!.data[i % n]!;
  return store(ctx, acc);
};

/** The KV-cache position of batch row b: offset[b] for a per-row offset [B], offset[0] for [1], else 0. */
export function rowOffset(offset: HostArg | undefined, b: number): number {
  if (!offset) return 0;
  return offset.data[offset.data.length === 1 ? 0 : b]!;
}

/**
 * HF rotate_half RoPE over the first rotaryDim features of each head: for j < rotaryDim/2 at position
 * pos (offset[b] + t with an offset input), angle = f32(pos · invFreq[j]) as torch rounds it, and the
 * pair (x_j, x_{j+rotaryDim/2}) becomes (x_j c − x_{j+rotaryDim/2} s, x_{j+rotaryDim/2} c + x_j s) with
 * c = scale·cos(angle), s = ±scale·sin(angle) (minus when transposed); other features are copied.
 */
export const rope: Kernel<OpAttrs['rope']> = (ctx, [x, invFreq, offset], { heads, headDim, rotaryDim, scale, transpose }) => {
  const [B, T] = [x!.shape[0]!, x!.shape[1]!];
  const half = rotaryDim / 2;
  const width = heads * headDim;
  const out = ctx.alloc(x!.data.length);
  out.set(x!.data); // the pass-through features
  const sign = transpose ? -1 : 1;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      for (let b = 0; b < B; b++) {
        const angle = Math.fround((rowOffset(offset, b) + t) * invFreq!.data[j]!);
        const c = scale * Math.cos(angle);
        const sn = sign * scale * Math.sin(angle);
        for (let h = 0; h < heads; h++) {
          const base = (b * T + t) * width + h * headDim;
          const x1 = x!.data[base + j]!;
          const x2 = x!.data[base + j + half]!;
          out[base + j] = x1 * c - x2 * sn;
          out[base + j + half] = x2 * c + x1 * sn;
        }
      }
    }
  }
  return out;
};

interface AttnGeometry {
  B: number;
  T: number;
  /** Key count: T, or the KV-cache length with an offset input. */
  S: number;
  /** The KV-cache offset input (query row 0 of batch row b sits at rowOffset(offset, b)), if any. */
  offset: HostArg | undefined;
  /** True when keys past the query's position are masked (causal, or any cached attention). */
  masked: boolean;
  /** Sliding window: keys at or before position − window are masked too (0: none). */
  window: number;
  qw: number;
  kw: number;
  group: number;
}

/**
 * With an offset input (KV cache) query t of row b sits at position offset[b] + t and sees keys j <= that
 * position whatever `causal` says: cache slots past it are unwritten garbage.
 */
function geometry(q: HostArg, k: HostArg, offset: HostArg | undefined, a: AttentionAttrs): AttnGeometry {
  return {
    B: q.shape[0]!,
    T: q.shape[1]!,
    S: k.shape[1]!,
    offset,
    masked: a.causal || offset !== undefined,
    window: a.window ?? 0,
    qw: a.heads * a.headDim,
    kw: a.kvHeads * a.headDim,
    group: a.heads / a.kvHeads,
  };
}

/**
 * Softmax probabilities P[i, j] (row stride S) of query row i over keys j; masked keys get 0: keys
 * after the row's position (when masked) and, with a window W, keys j <= position − W.
 * With `lse`, each row's logsumexp of the scaled scores goes to lse[i].
 */
function probs(q: HostTensor, k: HostTensor, a: AttentionAttrs, g: AttnGeometry, b: number, h: number, lse?: Float64Array): Float64Array {
  const { T, S, qw, kw, group } = g;
  const D = a.headDim;
  const kvh = Math.floor(h / group);
  const P = new Float64Array(T * S);
  const pos0 = rowOffset(g.offset, b);
  for (let i = 0; i < T; i++) {
    const jmax = g.masked ? Math.min(pos0 + i, S - 1) : S - 1;
    const jmin = g.window > 0 ? Math.max(0, pos0 + i - g.window + 1) : 0;
    let mx = -Infinity;
    for (let j = jmin; j <= jmax; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += q[(b * T + i) * qw + h * D + d]! * k[(b * S + j) * kw + kvh * D + d]!;
      s *= a.scale;
      P[i * S + j] = s;
      if (s > mx) mx = s;
    }
    let sum = 0;
    for (let j = jmin; j <= jmax; j++) sum += P[i * S + j] = Math.exp(P[i * S + j]! - mx);
    for (let j = jmin; j <= jmax; j++) P[i * S + j]! /= sum;
    if (lse) lse[i] = mx + Math.log(sum);
  }
  return P;
}

export const attention: Kernel<OpAttrs['attention']> = (ctx, [q, k, v, offset], a) => {
  const g = geometry(q!, k!, offset, a);
  const { B, T, S, qw, kw, group } = g;
  const D = a.headDim;
  const acc = new Float64Array(q!.data.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < a.heads; h++) {
      const kvh = Math.floor(h / group);
      const P = probs(q!.data, k!.data, a, g, b, h);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < S; j++) {
          const p = P[i * S + j]!;
          if (p === 0) continue;
          for (let d = 0; d < D; d++) acc[(b * T + i) * qw + h * D + d]! += p * v!.data[(b * S + j) * kw + kvh * D + d]!;
        }
      }
    }
  }
  return store(ctx, acc);
};

/**
 * Per (b, h, query row i): [logsumexp_i, rowDot_i = Σ_j P_ij (dO_i·v_j)], the rows attention_grad
 * reuses. The fifth input (the forward output y) is not read: rowDot stays defined from q, k, v, dy,
 * and the kernels, which compute it as dO_i·y_i, are checked against this.
 */
export const attentionStats: Kernel<OpAttrs['attention_stats']> = (ctx, [q, k, v, dy], a) => {
  const g = geometry(q!, k!, undefined, a);
  const { B, T, qw, kw, group } = g;
  const D = a.headDim;
  const out = new Float64Array(B * a.heads * T * 2);
  const lse = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < a.heads; h++) {
      const kvh = Math.floor(h / group);
      const P = probs(q!.data, k!.data, a, g, b, h, lse);
      for (let i = 0; i < T; i++) {
        let rowDot = 0;
        for (let j = 0; j < T; j++) {
          const p = P[i * T + j]!;
          if (p === 0) continue;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dy!.data[(b * T + i) * qw + h * D + d]! * v!.data[(b * T + j) * kw + kvh * D + d]!;
          rowDot += p * dp;
        }
        const o = 2 * ((b * a.heads + h) * T + i);
        out[o] = lse[i]!;
        out[o + 1] = rowDot;
      }
    }
  }
  return store(ctx, out);
};

/**
 * Backward of softmax attention, recomputing P (the fifth input, attention_stats, is not read: the
 * interpreter stays the definition, and the kernels that do read it are checked against it): dV_j = Σ_i P_ij dO_i, dP_ij = dO_i·v_j,
 * dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij'), dQ_i = scale Σ_j dS_ij k_j, dK_j = scale Σ_i dS_ij q_i;
 * k and v gradients sum over the query heads that share a kv head.
 */
export const attentionGrad: Kernel<OpAttrs['attention_grad']> = (ctx, [q, k, v, dy], a) => {
  // Training only: no KV cache, so S = T and keys share q's batch/time layout.
  const g = geometry(q!, k!, undefined, a);
  const { B, T, qw, kw, group } = g;
  const D = a.headDim;
  const acc = new Float64Array(a.wrt === 'q' ? q!.data.length : k!.data.length);
  const dS = new Float64Array(T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < a.heads; h++) {
      const kvh = Math.floor(h / group);
      const P = probs(q!.data, k!.data, a, g, b, h);
      const qi = (i: number, d: number): number => (b * T + i) * qw + h * D + d;
      const kj = (j: number, d: number): number => (b * T + j) * kw + kvh * D + d;
      if (a.wrt === 'v') {
        for (let j = 0; j < T; j++) {
          for (let i = 0; i < T; i++) {
            const p = P[i * T + j]!;
            if (p === 0) continue;
            for (let d = 0; d < D; d++) acc[kj(j, d)]! += p * dy!.data[qi(i, d)]!;
          }
        }
        continue;
      }
      for (let i = 0; i < T; i++) {
        let rowDot = 0;
        for (let j = 0; j < T; j++) {
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dy!.data[qi(i, d)]! * v!.data[kj(j, d)]!;
          dS[i * T + j] = dp;
          rowDot += P[i * T + j]! * dp;
        }
        for (let j = 0; j < T; j++) dS[i * T + j] = P[i * T + j]! * (dS[i * T + j]! - rowDot);
      }
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const ds = dS[i * T + j]! * a.scale;
          if (ds === 0) continue;
          if (a.wrt === 'q') for (let d = 0; d < D; d++) acc[qi(i, d)]! += ds * k!.data[kj(j, d)]!;
          else for (let d = 0; d < D; d++) acc[kj(j, d)]! += ds * q!.data[qi(i, d)]!;
        }
      }
    }
  }
  return store(ctx, acc);
};

/** Writes x [B, T, D] into cache [B, S, D] at rows offset[b].. of each batch row IN PLACE and returns the cache itself. */
export const cacheUpdate: Kernel<OpAttrs['cache_update']> = (_ctx, [cache, x, offset]) => {
  const [B, S, D] = [cache!.shape[0]!, cache!.shape[1]!, cache!.shape[2]!];
  const T = x!.shape[1]!;
  const c = cache!.data as FloatTensor;
  for (let b = 0; b < B; b++) {
    const off = rowOffset(offset, b);
    if (off < 0 || off + T > S) throw new RangeError(`cache_update: rows [${off}, ${off + T}) of batch row ${b} outside the cache of ${S}`);
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) c[(b * S + off + t) * D + d] = x!.data[(b * T + t) * D + d]!;
  }
  return c;
};

/**
 * The definition of gathered_lowrank (op-attrs.ts): per batch row i with index[i] >= 0,
 * y = base + b[index[i]]·(a[index[i]]·x) for each of its rows; base (or 0) where index[i] < 0.
 * Both products accumulate in f64 and round once, like lowrank_matmul.
 */
export const gatheredLowrank: Kernel<OpAttrs['gathered_lowrank']> = (ctx, [x, a, b, index, base], _attrs, out) => {
  const [S, R, K] = a!.shape as [number, number, number];
  const N = lastDim(out.shape);
  const rows = rowCount(x!.shape);
  const batch = x!.shape[0]!;
  const perBatch = rows / batch;
  const acc = new Float64Array(rows * N);
  if (base) acc.set(base.data);
  const s = new Float64Array(R);
  for (let row = 0; row < rows; row++) {
    const slot = index!.data[Math.floor(row / perBatch)]!;
    if (slot < 0) continue;
    if (slot >= S) throw new RangeError(`gathered_lowrank: adapter index ${slot} of batch row ${Math.floor(row / perBatch)} is outside the ${S} slots`);
    for (let r = 0; r < R; r++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a!.data[(slot * R + r) * K + k]! * x!.data[row * K + k]!;
      s[r] = sum;
    }
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let r = 0; r < R; r++) sum += b!.data[(slot * N + n) * R + r]! * s[r]!;
      acc[row * N + n]! += sum;
    }
  }
  return store(ctx, acc);
};
