// Normalizations, reductions and their gradients. Row statistics are computed in f64.
import type { OpAttrs } from '../ops.ts';
import { lastDim, numel, rowCount, type HostTensor, type Kernel } from './common.ts';

/** 1/sqrt(mean(x²) + eps) of row r. */
function rmsInv(x: HostTensor, r: number, D: number, eps: number): number {
  let ss = 0;
  for (let d = 0; d < D; d++) ss += x[r * D + d]! ** 2;
  return 1 / Math.sqrt(ss / D + eps);
}

/** (mean, 1/sqrt(var + eps)) of row r, biased variance. */
function lnStats(x: HostTensor, r: number, D: number, eps: number): [number, number] {
  let mu = 0;
  for (let d = 0; d < D; d++) mu += x[r * D + d]!;
  mu /= D;
  let v = 0;
  for (let d = 0; d < D; d++) v += (x[r * D + d]! - mu) ** 2;
  return [mu, 1 / Math.sqrt(v / D + eps)];
}

export const rmsnorm: Kernel<OpAttrs['rmsnorm']> = (ctx, [x, w], { eps }) => {
  const D = lastDim(x!.shape);
  const out = ctx.alloc(x!.data.length);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const inv = rmsInv(x!.data, r, D, eps);
    for (let d = 0; d < D; d++) out[r * D + d] = x!.data[r * D + d]! * inv * w!.data[d]!;
  }
  return out;
};

/** dx = inv · (g − x̂ · mean(g · x̂)), g = dy · w, x̂ = x · inv. */
export const rmsnormGrad: Kernel<OpAttrs['rmsnorm_grad']> = (ctx, [x, w, dy], { eps }) => {
  const D = lastDim(x!.shape);
  const out = ctx.alloc(x!.data.length);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const inv = rmsInv(x!.data, r, D, eps);
    let dot = 0;
    for (let d = 0; d < D; d++) dot += dy!.data[r * D + d]! * w!.data[d]! * x!.data[r * D + d]! * inv;
    dot /= D;
    for (let d = 0; d < D; d++) {
      const xh = x!.data[r * D + d]! * inv;
      out[r * D + d] = inv * (dy!.data[r * D + d]! * w!.data[d]! - xh * dot);
    }
  }
  return out;
};

export const rmsnormGradW: Kernel<OpAttrs['rmsnorm_grad_w']> = (ctx, [x, dy], { eps }) => {
  const D = lastDim(x!.shape);
  const acc = new Float64Array(D);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const inv = rmsInv(x!.data, r, D, eps);
    for (let d = 0; d < D; d++) acc[d]! += dy!.data[r * D + d]! * x!.data[r * D + d]! * inv;
  }
  const out = ctx.alloc(D);
  out.set(acc);
  return out;
};

export const layernorm: Kernel<OpAttrs['layernorm']> = (ctx, [x, w, b], { eps }) => {
  const D = lastDim(x!.shape);
  const out = ctx.alloc(x!.data.length);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const [mu, inv] = lnStats(x!.data, r, D, eps);
    for (let d = 0; d < D; d++) out[r * D + d] = (x!.data[r * D + d]! - mu) * inv * w!.data[d]! + b!.data[d]!;
  }
  return out;
};

/** dx = inv · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · w. */
export const layernormGrad: Kernel<OpAttrs['layernorm_grad']> = (ctx, [x, w, dy], { eps }) => {
  const D = lastDim(x!.shape);
  const out = ctx.alloc(x!.data.length);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const [mu, inv] = lnStats(x!.data, r, D, eps);
    let mg = 0;
    let mgx = 0;
    for (let d = 0; d < D; d++) {
      const g = dy!.data[r * D + d]! * w!.data[d]!;
      mg += g;
      mgx += g * (x!.data[r * D + d]! - mu) * inv;
    }
    mg /= D;
    mgx /= D;
    for (let d = 0; d < D; d++) {
      const g = dy!.data[r * D + d]! * w!.data[d]!;
      out[r * D + d] = inv * (g - mg - (x!.data[r * D + d]! - mu) * inv * mgx);
    }
  }
  return out;
};

export const layernormGradW: Kernel<OpAttrs['layernorm_grad_w']> = (ctx, [x, dy], { eps }) => {
  const D = lastDim(x!.shape);
  const acc = new Float64Array(D);
  for (let r = 0; r < rowCount(x!.shape); r++) {
    const [mu, inv] = lnStats(x!.data, r, D, eps);
    for (let d = 0; d < D; d++) acc[d]! += dy!.data[r * D + d]! * (x!.data[r * D + d]! - mu) * inv;
  }
  const out = ctx.alloc(D);
  out.set(acc);
  return out;
};

export const sumTo: Kernel<OpAttrs['sum_to']> = (ctx, [x], { shape }) => {
  const n = numel(shape);
  const acc = new Float64Array(n);
  for (let i = 0; i < x!.data.length; i++) acc[i % n]! += x!.data[i]!;
  const out = ctx.alloc(n);
  out.set(acc);
  return out;
};

export const rowNorm: Kernel<OpAttrs['row_norm']> = (ctx, [x]) => {
  const [N, K] = [x!.shape[0]!, x!.shape[1]!];
  const out = ctx.alloc(N);
  for (let r = 0; r < N; r++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += x!.data[r * K + k]! ** 2;
    out[r] = Math.sqrt(ss);
  }
  return out;
};

/** dx[n, k] = dy[n] · x[n, k] / ‖x[n]‖ (0 for a zero row, the subgradient PyTorch picks). */
export const rowNormGrad: Kernel<OpAttrs['row_norm_grad']> = (ctx, [x, dy]) => {
  const [N, K] = [x!.shape[0]!, x!.shape[1]!];
  const out = ctx.alloc(x!.data.length);
  for (let r = 0; r < N; r++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += x!.data[r * K + k]! ** 2;
    const norm = Math.sqrt(ss);
    const f = norm === 0 ? 0 : dy!.data[r]! / norm;
    for (let k = 0; k < K; k++) out[r * K + k] = x!.data[r * K + k]! * f;
  }
  return out;
};

export const sumsq: Kernel<OpAttrs['sumsq']> = (ctx, [x]) => {
  let s = 0;
  for (let i = 0; i < x!.data.length; i++) s += x!.data[i]! ** 2;
  return ctx.alloc(1).fill(s);
};

/** min(1, maxNorm / (sqrt(total) + 1e-6)), torch.nn.utils.clip_grad_norm_'s clip_coef clamped. */
export const clipCoef: Kernel<OpAttrs['clip_coef']> = (ctx, [t], { maxNorm }) =>
  ctx.alloc(1).fill(Math.min(1, maxNorm / (Math.sqrt(t!.data[0]!) + 1e-6)));
