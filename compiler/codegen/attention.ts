// Softmax attention with one 64-thread workgroup per (batch, head, row). Keys are walked in blocks of
// 64: each thread scores one key of the block (a full dot over headDim with the query staged in
// workgroup memory), then every thread folds the block into its share of the output dims with an
// online softmax (running max and sum, flash-attention style), so no T×T matrix is ever stored.
// Each thread owns at most DPT dims: headDim <= 64·DPT = 256. Gradients recompute probabilities:
// dq in one kernel (logsumexp pass, rowDot pass, accumulate pass); dk and dv first store per-query
// (logsumexp, Σ P·dP) in scratch, then one workgroup per (batch, kv head, key) sums over the query
// heads of its group and the query rows that see the key.
import type { AttentionAttrs, OpAttrs } from '../ir/ops.ts';
import { kernel, inp, out, scratch, reduceDecls, NEG_BIG } from './wgsl.ts';
import type { Launch, Lowered, OpView, Uniform } from './kernel.ts';

export const AW = 64;
export const DPT = 4;

function geometry(v: OpView<AttentionAttrs>): Uniform[] {
  const [B, T] = v.inputs[0]!.shape as number[];
  const S = v.inputs[1]!.shape[1]!;
  const a = v.attrs;
  if (a.headDim > AW * DPT) throw new Error(`attention: headDim ${a.headDim} exceeds the kernel's ${AW * DPT}`);
  return [
    ['batch', 'u32', B!], ['t_len', 'u32', T!], ['s_len', 'u32', S], ['heads', 'u32', a.heads], ['hd', 'u32', a.headDim],
    ['group', 'u32', a.heads / a.kvHeads], ['qw', 'u32', a.heads * a.headDim], ['kw', 'u32', a.kvHeads * a.headDim],
    ['scale', 'f32', a.scale],
  ];
}

const DECLS = `${reduceDecls(AW)}
var<workgroup> qs: array<f32, ${AW * DPT}>;
var<workgroup> ps: array<f32, ${AW}>;
var<workgroup> pos_sh: u32;`;

/** Row coordinates and the number of visible keys (uniform: barriers run inside the key loop). */
function rowHead(masked: boolean, hasOffset: boolean): string {
  const pos0 = hasOffset ? `if (lid == 0u) { pos_sh = u32(offset[0]); }\nlet pos0 = workgroupUniformLoad(&pos_sh);` : 'let pos0 = 0u;';
  return `
let t = wg % u.t_len;
let h = (wg / u.t_len) % u.heads;
let b = wg / (u.t_len * u.heads);
if (b >= u.batch) { return; }
let kvh = h / u.group;
let qoff = (b * u.t_len + t) * u.qw + h * u.hd;
let koff = b * u.s_len * u.kw + kvh * u.hd;
${pos0}
let nkeys = ${masked ? 'min(pos0 + t + 1u, u.s_len)' : 'u.s_len'};
for (var c = lid; c < u.hd; c += ${AW}u) { qs[c] = q[qoff + c]; }
workgroupBarrier();`;
}

/** Score of key j (0 when j is not visible; callers mask with `j < nkeys`). */
const SCORE = `fn score(koff: u32, j: u32) -> f32 {
  var d = 0.0;
  for (var c = 0u; c < u.hd; c++) { d = fma(qs[c], k[koff + j * u.kw + c], d); }
  return d * u.scale;
}`;

/** Online-softmax pass over visible keys: leaves running max `m`, sum `l` and (withV) `acc`. */
function onlinePass(withV: boolean): string {
  return `
var m = ${NEG_BIG};
var l = 0.0;
${withV ? `var acc: array<f32, ${DPT}>;` : ''}
for (var j0 = 0u; j0 < nkeys; j0 += ${AW}u) {
  let j = j0 + lid;
  var s = ${NEG_BIG};
  if (j < nkeys) { s = score(koff, j); }
  let mnew = max(m, wg_max(s, lid));
  let corr = exp(m - mnew);
  ps[lid] = select(0.0, exp(s - mnew), j < nkeys);
  workgroupBarrier();
  l = l * corr;
  let cnt = min(${AW}u, nkeys - j0);
  ${withV ? `for (var i = 0u; i < ${DPT}u; i++) { acc[i] = acc[i] * corr; }` : ''}
  for (var jj = 0u; jj < cnt; jj++) {
    let p = ps[jj];
    l += p;
    ${withV ? `for (var i = 0u; i < ${DPT}u; i++) {
      let c = lid + i * ${AW}u;
      if (c < u.hd) { acc[i] = fma(p, v[koff + (j0 + jj) * u.kw + c], acc[i]); }
    }` : ''}
  }
  m = mnew;
  workgroupBarrier();
}`;
}

function bindings(extra: Launch['bindings']): Launch['bindings'] {
  return [inp('q', 0), inp('k', 1), inp('v', 2), ...extra];
}

export function lowerAttention(v: OpView<OpAttrs['attention']>): Lowered {
  const hasOffset = v.inputs.length > 3;
  const masked = v.attrs.causal || hasOffset;
  const [B, T] = v.inputs[0]!.shape as number[];
  return {
    scratch: [],
    launches: [kernel({
      key: `attention${masked ? ':causal' : ''}${hasOffset ? ':offset' : ''}`,
      bindings: bindings([...(hasOffset ? [inp('offset', 3, 'i32')] : []), out()]),
      uniforms: geometry(v), workgroupSize: AW, workgroups: B! * T! * v.attrs.heads, decls: `${DECLS}\n${SCORE}`,
      body: `${rowHead(masked, hasOffset)}
${onlinePass(true)}
for (var i = 0u; i < ${DPT}u; i++) {
  let c = lid + i * ${AW}u;
  if (c < u.hd) { y[qoff + c] = acc[i] / l; }
}`,
    })],
  };
}

/** dP_ij = dO_i·v_j over headDim, read straight from global memory. */
const DP = `fn dpv(doff: u32, koff: u32, j: u32) -> f32 {
  var d = 0.0;
  for (var c = 0u; c < u.hd; c++) { d = fma(dy[doff + c], v[koff + j * u.kw + c], d); }
  return d;
}`;

/** Per query row: lse = m + log(l), then rowDot = Σ_j P_ij dP_ij (one more pass over the keys). */
const LSE_AND_ROWDOT = `${onlinePass(false)}
let lse = m + log(l);
var rd = 0.0;
for (var j0 = 0u; j0 < nkeys; j0 += ${AW}u) {
  let j = j0 + lid;
  if (j < nkeys) { rd += exp(score(koff, j) - lse) * dpv(qoff, koff, j); }
}
let row_dot = wg_sum(rd, lid);`;

function lowerGradQ(v: OpView<OpAttrs['attention_grad']>, masked: boolean): Lowered {
  const [B, T] = v.inputs[0]!.shape as number[];
  return {
    scratch: [],
    launches: [kernel({
      key: `attention_grad_q${masked ? ':causal' : ''}`, bindings: bindings([inp('dy', 3), out()]),
      uniforms: geometry(v), workgroupSize: AW, workgroups: B! * T! * v.attrs.heads, decls: `${DECLS}\n${SCORE}\n${DP}`,
      body: `${rowHead(masked, false)}
${LSE_AND_ROWDOT}
var acc: array<f32, ${DPT}>;
for (var j0 = 0u; j0 < nkeys; j0 += ${AW}u) {
  let j = j0 + lid;
  var ds = 0.0;
  if (j < nkeys) { ds = exp(score(koff, j) - lse) * (dpv(qoff, koff, j) - row_dot); }
  workgroupBarrier();
  ps[lid] = ds;
  workgroupBarrier();
  let cnt = min(${AW}u, nkeys - j0);
  for (var jj = 0u; jj < cnt; jj++) {
    let w = ps[jj];
    for (var i = 0u; i < ${DPT}u; i++) {
      let c = lid + i * ${AW}u;
      if (c < u.hd) { acc[i] = fma(w, k[koff + (j0 + jj) * u.kw + c], acc[i]); }
    }
  }
}
for (var i = 0u; i < ${DPT}u; i++) {
  let c = lid + i * ${AW}u;
  if (c < u.hd) { y[qoff + c] = acc[i] * u.scale; }
}`,
    })],
  };
}

/** dk / dv: stats kernel per query row, then one workgroup per (b, kv head, key j). */
function lowerGradKV(v: OpView<OpAttrs['attention_grad']>, masked: boolean, wrt: 'k' | 'v'): Lowered {
  const [B, T] = v.inputs[0]!.shape as number[];
  const { heads, kvHeads } = v.attrs;
  const stats = kernel({
    key: `attention_stats${masked ? ':causal' : ''}`, bindings: bindings([inp('dy', 3), scratch('st', 0)]),
    uniforms: geometry(v), workgroupSize: AW, workgroups: B! * T! * heads, decls: `${DECLS}\n${SCORE}\n${DP}`,
    body: `${rowHead(masked, false)}
${LSE_AND_ROWDOT}
if (lid == 0u) { st[2u * wg] = lse; st[2u * wg + 1u] = row_dot; }`,
  });
  // Weight of query row i for key j: P_ij (dv) or scale·P_ij·(dP_ij − rowDot_i) (dk); it
  // multiplies dO_i (dv) or q_i (dk).
  const weight = wrt === 'v' ? 'p' : 'u.scale * p * (dpk - st[si + 1u])';
  const vec = wrt === 'v' ? 'dy' : 'q';
  const main = kernel({
    key: `attention_grad_${wrt}${masked ? ':causal' : ''}`, bindings: bindings([inp('dy', 3), scratch('st', 0, 'read'), out()]),
    uniforms: geometry(v), workgroupSize: AW, workgroups: B! * T! * kvHeads,
    decls: `${DECLS}\nvar<workgroup> ks: array<f32, ${AW * DPT}>;\nvar<workgroup> vs: array<f32, ${AW * DPT}>;`,
    body: `
let j = wg % u.t_len;
let kvh = (wg / u.t_len) % (u.heads / u.group);
let b = wg / (u.t_len * (u.heads / u.group));
if (b >= u.batch) { return; }
let kidx = (b * u.t_len + j) * u.kw + kvh * u.hd;
for (var c = lid; c < u.hd; c += ${AW}u) { ks[c] = k[kidx + c]; vs[c] = v[kidx + c]; }
workgroupBarrier();
let first = ${masked ? 'j' : '0u'};
var acc: array<f32, ${DPT}>;
for (var h = kvh * u.group; h < (kvh + 1u) * u.group; h++) {
  for (var i0 = first; i0 < u.t_len; i0 += ${AW}u) {
    let i = i0 + lid;
    var w = 0.0;
    if (i < u.t_len) {
      let qoff = (b * u.t_len + i) * u.qw + h * u.hd;
      let si = 2u * ((b * u.heads + h) * u.t_len + i);
      var s = 0.0;
      var dpk = 0.0;
      for (var c = 0u; c < u.hd; c++) { s = fma(q[qoff + c], ks[c], s); dpk = fma(dy[qoff + c], vs[c], dpk); }
      let p = exp(s * u.scale - st[si]);
      w = ${weight};
    }
    workgroupBarrier();
    ps[lid] = w;
    workgroupBarrier();
    let cnt = min(${AW}u, u.t_len - i0);
    for (var ii = 0u; ii < cnt; ii++) {
      let wi = ps[ii];
      let off = (b * u.t_len + i0 + ii) * u.qw + h * u.hd;
      for (var x = 0u; x < ${DPT}u; x++) {
        let c = lid + x * ${AW}u;
        if (c < u.hd) { acc[x] = fma(wi, ${vec}[off + c], acc[x]); }
      }
    }
  }
}
for (var x = 0u; x < ${DPT}u; x++) {
  let c = lid + x * ${AW}u;
  if (c < u.hd) { y[kidx + c] = acc[x]; }
}`,
  });
  return { scratch: [B! * heads * T! * 2 * 4], launches: [stats, main] };
}

export function lowerAttentionGrad(v: OpView<OpAttrs['attention_grad']>): Lowered {
  const masked = v.attrs.causal;
  if (v.attrs.wrt === 'q') return lowerGradQ(v, masked);
  return lowerGradKV(v, masked, v.attrs.wrt);
}
