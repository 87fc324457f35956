// Reductions. Row ops (norms, row_norm, cross-entropy rows) on rows of up to LANE_ROW_MAX elements
// run one invocation per row, 64 rows per workgroup, with serial loops and no barriers (on lavapipe
// every barrier is a coroutine switch per 8 lanes and every workgroup a CPU task, so the barrier
// trees of short rows cost far more than the arithmetic; on GPUs these rows are short enough for
// one thread). Longer rows (':wg' keys) use one 64-thread workgroup per row, striding over the
// last dim and combining through workgroup memory. Both forms come from the same body text: the
// lane form is the workgroup form with a stride of 1 and identity wg_sum / wg_max. Column sums (weight gradients
// of norms, sum_to) are deterministic two-level sums: per (column tile, chunk of 64 rows) partials in
// scratch, then one thread per column adds the chunks in order. Scalar results (sumsq,
// cross-entropy) finish with one workgroup over the partials. No float atomics: WGSL lacks them, and
// fixed summation orders make runs reproducible.
import type { OpAttrs } from '../ir/ops.ts';
import { kernel, inp, out, scratch, count, ceilDiv, last, reduceDecls, NEG_BIG } from './wgsl.ts';
import type { Launch, EmittedOp, OpView } from './kernel.ts';

export const RW = 64; // threads per row workgroup
export const CHUNK = 64; // rows per column-sum partial
const FIN = 256; // threads of the final scalar reductions
const RED = reduceDecls(RW);
const RED_FIN = reduceDecls(FIN);

export const LANE_ROW_MAX = 1024;
const rowHead = `let r = wg;\nif (r >= u.rows) { return; }\nlet base = r * u.d;`;
const rowsOf = (shape: readonly number[]) => count(shape) / last(shape);
const LANE_DECLS = `
fn wg_sum(v: f32, lid: u32) -> f32 { return v; }
fn wg_max(v: f32, lid: u32) -> f32 { return v; }`;

/** A row kernel in lane form (rows <= LANE_ROW_MAX) or workgroup form (key suffix ':wg'). */
function rowLaunch(key: string, D: number, rows: number, src: Omit<Parameters<typeof kernel>[0], 'key' | 'workgroupSize' | 'workgroups' | 'decls'>): Launch {
  if (D > LANE_ROW_MAX) return kernel({ ...src, key: `${key}:wg`, workgroupSize: RW, workgroups: rows, decls: RED });
  const body = src.body
    .replace('let r = wg;', `let r = wg * ${RW}u + lid;`)
    .replaceAll(`for (var c = lid; c < u.d; c += ${RW}u)`, 'for (var c = 0u; c < u.d; c++)')
    .replaceAll('if (lid == 0u) {', '{');
  return kernel({ ...src, key, body, workgroupSize: RW, workgroups: ceilDiv(rows, RW), decls: LANE_DECLS });
}

function rowKernel(key: string, v: OpView, bindings: Launch['bindings'], eps: number | undefined, body: string): Launch {
  const D = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  return rowLaunch(key, D, rows, {
    bindings, uniforms: [['rows', 'u32', rows], ['d', 'u32', D], ...(eps === undefined ? [] : [['eps', 'f32', eps] as ['eps', 'f32', number]])],
    body: `${rowHead}\n${body}`,
  });
}

/** Sum over the row of `expr` (in terms of index `i`), into `name`. */
const rowSum = (name: string, expr: string) =>
  `var ${name}_p = 0.0;\nfor (var c = lid; c < u.d; c += ${RW}u) { let i = base + c; ${name}_p += ${expr}; }\nlet ${name} = wg_sum(${name}_p, lid);`;

const rmsInv = `${rowSum('ss', 'x[i] * x[i]')}\nlet inv = 1.0 / sqrt(ss / f32(u.d) + u.eps);`;
const lnStats = `${rowSum('sx', 'x[i]')}\nlet mu = sx / f32(u.d);\n${rowSum('sv', '(x[i] - mu) * (x[i] - mu)')}\nlet inv = 1.0 / sqrt(sv / f32(u.d) + u.eps);`;

export function emitRmsnorm(v: OpView<OpAttrs['rmsnorm']>): EmittedOp {
  return { scratch: [], launches: [rowKernel('rmsnorm', v, [inp('x', 0), inp('w', 1), out()], v.attrs.eps,
    `${rmsInv}\nfor (var c = lid; c < u.d; c += ${RW}u) { y[base + c] = x[base + c] * inv * w[c]; }`)] };
}

export function emitRmsnormGrad(v: OpView<OpAttrs['rmsnorm_grad']>): EmittedOp {
  return { scratch: [], launches: [rowKernel('rmsnorm_grad', v, [inp('x', 0), inp('w', 1), inp('dy', 2), out()], v.attrs.eps,
    `${rmsInv}
${rowSum('dot', 'dy[i] * w[c] * x[i]')}
let mdot = dot * inv / f32(u.d);
for (var c = lid; c < u.d; c += ${RW}u) { let i = base + c; y[i] = inv * (dy[i] * w[c] - x[i] * inv * mdot); }`)] };
}

export function emitLayernorm(v: OpView<OpAttrs['layernorm']>): EmittedOp {
  return { scratch: [], launches: [rowKernel('layernorm', v, [inp('x', 0), inp('w', 1), inp('b', 2), out()], v.attrs.eps,
    `${lnStats}\nfor (var c = lid; c < u.d; c += ${RW}u) { y[base + c] = (x[base + c] - mu) * inv * w[c] + b[c]; }`)] };
}

export function emitLayernormGrad(v: OpView<OpAttrs['layernorm_grad']>): EmittedOp {
  return { scratch: [], launches: [rowKernel('layernorm_grad', v, [inp('x', 0), inp('w', 1), inp('dy', 2), out()], v.attrs.eps,
    `${lnStats}
${rowSum('sg', 'dy[i] * w[c]')}
${rowSum('sgx', 'dy[i] * w[c] * (x[i] - mu) * inv')}
let mg = sg / f32(u.d);
let mgx = sgx / f32(u.d);
for (var c = lid; c < u.d; c += ${RW}u) { let i = base + c; y[i] = inv * (dy[i] * w[c] - mg - (x[i] - mu) * inv * mgx); }`)] };
}

export function emitRowNorm(v: OpView): EmittedOp {
  return { scratch: [], launches: [rowKernel('row_norm', v, [inp('x', 0), out()], undefined,
    `${rowSum('ss', 'x[i] * x[i]')}\nif (lid == 0u) { y[r] = sqrt(ss); }`)] };
}

export function emitRowNormGrad(v: OpView): EmittedOp {
  return { scratch: [], launches: [rowKernel('row_norm_grad', v, [inp('x', 0), inp('dy', 1), out()], undefined,
    `${rowSum('ss', 'x[i] * x[i]')}
let nrm = sqrt(ss);
let f = select(dy[r] / nrm, 0.0, nrm == 0.0);
for (var c = lid; c < u.d; c += ${RW}u) { y[base + c] = x[base + c] * f; }`)] };
}

/**
 * Column sums of expr over rows: partial pass into scratch slot `slot`, then the final pass.
 * `stats` (mu, inv per row) come from scratch slot 0 when the expression needs them.
 */
function columnSum(key: string, rows: number, D: number, bindings: Launch['bindings'], expr: string, slot: number): Launch[] {
  const chunks = ceilDiv(rows, CHUNK);
  const colTiles = ceilDiv(D, RW);
  const partial = kernel({
    key: `${key}:partial`, bindings: [...bindings, scratch('part', slot)],
    uniforms: [['rows', 'u32', rows], ['d', 'u32', D], ['col_tiles', 'u32', colTiles]],
    workgroupSize: RW, workgroups: colTiles * chunks,
    body: `
let col = (wg % u.col_tiles) * ${RW}u + lid;
let chunk = wg / u.col_tiles;
if (col >= u.d) { return; }
var acc = 0.0;
let r_end = min(u.rows, (chunk + 1u) * ${CHUNK}u);
for (var r = chunk * ${CHUNK}u; r < r_end; r++) { let i = r * u.d + col; acc += ${expr}; }
part[chunk * u.d + col] = acc;`,
  });
  const final = kernel({
    key: 'colsum_final', bindings: [scratch('part', slot, 'read'), out()],
    uniforms: [['chunks', 'u32', chunks], ['d', 'u32', D]], workgroupSize: RW, workgroups: ceilDiv(D, RW),
    body: `
let col = wg * ${RW}u + lid;
if (col >= u.d) { return; }
var acc = 0.0;
for (var c = 0u; c < u.chunks; c++) { acc += part[c * u.d + col]; }
y[col] = acc;`,
  });
  return [partial, final];
}

/** Row statistics (mu, inv) into scratch slot 0 for the norm weight gradients. */
function statsKernel(kind: 'rms' | 'ln', v: OpView, eps: number): Launch {
  return rowKernel(`${kind}_stats`, v, [inp('x', 0), scratch('stats', 0)], eps,
    `${kind === 'rms' ? `${rmsInv}\nlet mu = 0.0;` : lnStats}\nif (lid == 0u) { stats[2u * r] = mu; stats[2u * r + 1u] = inv; }`);
}

function normGradW(kind: 'rms' | 'ln', v: OpView<{ eps: number }>): EmittedOp {
  const D = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  const expr = 'dy[i] * (x[i] - stats[2u * r]) * stats[2u * r + 1u]';
  return {
    scratch: [rows * 2 * 4, ceilDiv(rows, CHUNK) * D * 4],
    launches: [
      statsKernel(kind, v, v.attrs.eps),
      ...columnSum('norm_grad_w', rows, D, [inp('x', 0), inp('dy', 1), scratch('stats', 0, 'read')], expr, 1),
    ],
  };
}

export const emitRmsnormGradW = (v: OpView<OpAttrs['rmsnorm_grad_w']>): EmittedOp => normGradW('rms', v);
export const emitLayernormGradW = (v: OpView<OpAttrs['layernorm_grad_w']>): EmittedOp => normGradW('ln', v);

export function emitSumTo(v: OpView<OpAttrs['sum_to']>): EmittedOp {
  const D = Math.max(count(v.attrs.shape), 1);
  const rows = count(v.inputs[0]!.shape) / D;
  return { scratch: [ceilDiv(rows, CHUNK) * D * 4], launches: columnSum('sum_to', rows, D, [inp('x', 0)], 'x[i]', 0) };
}

export function emitSumsq(v: OpView): EmittedOp {
  const n = count(v.inputs[0]!.shape);
  const groups = Math.max(1, Math.min(FIN, ceilDiv(n, FIN * 4)));
  const partial = kernel({
    key: 'sumsq:partial', bindings: [inp('x', 0), scratch('part', 0)], uniforms: [['n', 'u32', n], ['groups', 'u32', groups]],
    workgroupSize: FIN, workgroups: groups, decls: RED_FIN,
    body: `
var acc = 0.0;
for (var i = wg * ${FIN}u + lid; i < u.n; i += u.groups * ${FIN}u) { acc += x[i] * x[i]; }
let total = wg_sum(acc, lid);
if (lid == 0u) { part[wg] = total; }`,
  });
  const final = kernel({
    key: 'sum_final', bindings: [scratch('part', 0, 'read'), out()], uniforms: [['n', 'u32', groups]],
    workgroupSize: FIN, workgroups: 1, decls: RED_FIN,
    body: `
var acc = 0.0;
for (var i = lid; i < u.n; i += ${FIN}u) { acc += part[i]; }
let total = wg_sum(acc, lid);
if (lid == 0u) { y[0] = total; }`,
  });
  return { scratch: [groups * 4], launches: [partial, final] };
}

/** Row max and logsumexp of logits row r; reductions run unconditionally (labels are not uniform). */
const rowLse = `${'var mx_p = ' + NEG_BIG + ';'}
for (var c = lid; c < u.d; c += ${RW}u) { mx_p = max(mx_p, x[base + c]); }
let mx = wg_max(mx_p, lid);
${rowSum('se', 'exp(x[i] - mx)')}
let label = labels[r];
// Out-of-range labels count as ignored (the interpreter rejects them; a kernel cannot throw).
let valid = label != u.ignore && label >= 0 && u32(label) < u.d;`;

export function emitCrossEntropy(v: OpView<OpAttrs['cross_entropy']>): EmittedOp {
  const V = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  const rowsK = rowLaunch('cross_entropy:rows', V, rows, {
    bindings: [inp('x', 0), inp('labels', 1, 'i32'), scratch('part', 0)],
    uniforms: [['rows', 'u32', rows], ['d', 'u32', V], ['ignore', 'i32', v.attrs.ignoreIndex]],
    body: `${rowHead}
${rowLse}
if (lid == 0u) {
  part[r] = select(0.0, mx + log(se) - x[base + u32(clamp(label, 0, i32(u.d) - 1))], valid);
  part[u.rows + r] = select(0.0, 1.0, valid);
}`,
  });
  return { scratch: [rows * 2 * 4], launches: [rowsK, meanOfParts(rows)] };
}

export function emitCrossEntropyGrad(v: OpView<OpAttrs['cross_entropy_grad']>): EmittedOp {
  const V = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  const uniforms: [string, 'u32' | 'i32', number][] = [['rows', 'u32', rows], ['d', 'u32', V], ['ignore', 'i32', v.attrs.ignoreIndex]];
  const countK = countValidLabels(rows, V, v.attrs.ignoreIndex);
  const gradK = rowLaunch('cross_entropy_grad', V, rows, {
    bindings: [inp('x', 0), inp('labels', 1, 'i32'), inp('dloss', 2), scratch('cnt', 0, 'read'), out()],
    uniforms,
    body: `${rowHead}
${rowLse}
let n = cnt[0];
let g = select(dloss[0] / n, 0.0, n == 0.0 || !valid);
for (var c = lid; c < u.d; c += ${RW}u) {
  let i = base + c;
  y[i] = g * (exp(x[i] - mx) / se - select(0.0, 1.0, i32(c) == label));
}`,
  });
  return { scratch: [16], launches: [countK, gradK] };
}

/** The mean of the valid rows' losses: part[r] (the loss, 0 when ignored) and part[rows + r] (1 when valid). */
function meanOfParts(rows: number): Launch {
  return kernel({
    key: 'cross_entropy:mean', bindings: [scratch('part', 0, 'read'), out()], uniforms: [['rows', 'u32', rows]],
    workgroupSize: FIN, workgroups: 1, decls: RED_FIN,
    body: `
var acc = 0.0;
var cnt = 0.0;
for (var i = lid; i < u.rows; i += ${FIN}u) { acc += part[i]; cnt += part[u.rows + i]; }
let total = wg_sum(acc, lid);
let n = wg_sum(cnt, lid);
if (lid == 0u) { y[0] = select(total / n, 0.0, n == 0.0); }`,
  });
}

/** How many labels (input 1) are neither ignored nor out of [0, vocab), into scratch slot 0. */
function countValidLabels(rows: number, vocab: number, ignoreIndex: number): Launch {
  return kernel({
    key: 'cross_entropy:count', bindings: [inp('labels', 1, 'i32'), scratch('cnt', 0)],
    uniforms: [['rows', 'u32', rows], ['d', 'u32', vocab], ['ignore', 'i32', ignoreIndex]], workgroupSize: FIN, workgroups: 1, decls: RED_FIN,
    body: `
var acc = 0.0;
for (var i = lid; i < u.rows; i += ${FIN}u) { let l = labels[i]; acc += select(0.0, 1.0, l != u.ignore && l >= 0 && u32(l) < u.d); }
let n = wg_sum(acc, lid);
if (lid == 0u) { cnt[0] = n; }`,
  });
}

/**
 * One chunk's online-softmax statistics per row, merged into the previous chunks' (input 2): the
 * row's max, Σ exp(x − max) rescaled to the merged max, and the label's logit when it is in this chunk.
 */
export function emitLogitStats(v: OpView<OpAttrs['logit_stats']>): EmittedOp {
  const V = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  const prev = v.inputs.length === 3;
  return { scratch: [], launches: [rowLaunch(prev ? 'logit_stats:prev' : 'logit_stats', V, rows, {
    bindings: [inp('x', 0), inp('labels', 1, 'i32'), ...(prev ? [inp('prev', 2)] : []), out()],
    uniforms: [['rows', 'u32', rows], ['d', 'u32', V], ['start', 'u32', v.attrs.start]],
    body: `${rowHead}
var mx_p = ${NEG_BIG};
for (var c = lid; c < u.d; c += ${RW}u) { mx_p = max(mx_p, x[base + c]); }
let mx = wg_max(mx_p, lid);
${rowSum('se', 'exp(x[i] - mx)')}
let label = labels[r] - i32(u.start);
let here = label >= 0 && u32(label) < u.d;
let t = select(0.0, x[base + u32(clamp(label, 0, i32(u.d) - 1))], here);
${prev ? `let pm = prev[r * 3u];
let mm = max(mx, pm);
let m = mm;
let s = se * exp(mx - mm) + prev[r * 3u + 1u] * exp(pm - mm);
let tt = select(prev[r * 3u + 2u], t, here);` : 'let m = mx;\nlet s = se;\nlet tt = t;'}
if (lid == 0u) {
  y[r * 3u] = m;
  y[r * 3u + 1u] = s;
  y[r * 3u + 2u] = tt;
}`,
  })] };
}

/** The mean cross-entropy from the chained statistics (input 0) and the labels: one thread per row, then the mean. */
export function emitCrossEntropyChunked(v: OpView<OpAttrs['cross_entropy_chunked']>): EmittedOp {
  const rows = count(v.inputs[1]!.shape);
  const rowsK = kernel({
    key: 'cross_entropy_chunked:rows', bindings: [inp('stats', 0), inp('labels', 1, 'i32'), scratch('part', 0)],
    uniforms: [['rows', 'u32', rows], ['vocab', 'u32', v.attrs.vocab], ['ignore', 'i32', v.attrs.ignoreIndex]],
    workgroupSize: RW, workgroups: ceilDiv(rows, RW),
    body: `
let r = wg * ${RW}u + lid;
if (r >= u.rows) { return; }
let label = labels[r];
let valid = label != u.ignore && label >= 0 && u32(label) < u.vocab;
part[r] = select(0.0, stats[r * 3u] + log(stats[r * 3u + 1u]) - stats[r * 3u + 2u], valid);
part[u.rows + r] = select(0.0, 1.0, valid);`,
  });
  return { scratch: [rows * 2 * 4], launches: [rowsK, meanOfParts(rows)] };
}

/** dlogits of one chunk: dloss·(exp(x − lse) − onehot)/count, lse = m + log(s) from the stats (input 3). */
export function emitCrossEntropyChunkedGrad(v: OpView<OpAttrs['cross_entropy_chunked_grad']>): EmittedOp {
  const V = last(v.inputs[0]!.shape);
  const rows = rowsOf(v.inputs[0]!.shape);
  const { ignoreIndex, vocab, start } = v.attrs;
  const gradK = rowLaunch('cross_entropy_chunked_grad', V, rows, {
    bindings: [inp('x', 0), inp('labels', 1, 'i32'), inp('dloss', 2), inp('stats', 3), scratch('cnt', 0, 'read'), out()],
    uniforms: [['rows', 'u32', rows], ['d', 'u32', V], ['ignore', 'i32', ignoreIndex], ['vocab', 'u32', vocab], ['start', 'u32', start]],
    body: `${rowHead}
let label = labels[r];
let valid = label != u.ignore && label >= 0 && u32(label) < u.vocab;
let lse = stats[r * 3u] + log(stats[r * 3u + 1u]);
let n = cnt[0];
let g = select(dloss[0] / n, 0.0, n == 0.0 || !valid);
for (var c = lid; c < u.d; c += ${RW}u) {
  let i = base + c;
  y[i] = g * (exp(x[i] - lse) - select(0.0, 1.0, i32(c + u.start) == label));
}`,
  });
  return { scratch: [16], launches: [countValidLabels(rows, vocab, ignoreIndex), gradK] };
}

/**
 * One invocation per vocab row (64 rows per workgroup), scanning all ids in order and adding the
 * matching dy rows into its own output row: deterministic, the interpreter's summation order, no
 * atomics, and V·N id reads in total (the old workgroup per row also read every id once per
 * column stride and paid a workgroup each).
 */
export function emitEmbeddingGrad(v: OpView<OpAttrs['embedding_grad']>): EmittedOp {
  const N = count(v.inputs[0]!.shape);
  const D = last(v.inputs[1]!.shape);
  return {
    scratch: [],
    launches: [kernel({
      key: 'embedding_grad', bindings: [inp('ids', 0, 'i32'), inp('dy', 1), out()],
      uniforms: [['vocab', 'u32', v.attrs.vocab], ['d', 'u32', D], ['n', 'u32', N], ['start', 'u32', v.attrs.start ?? 0]],
      workgroupSize: RW, workgroups: ceilDiv(v.attrs.vocab, RW),
      body: `
let row = wg * ${RW}u + lid;
if (row >= u.vocab) { return; }
let base = row * u.d;
for (var c = 0u; c < u.d; c++) { y[base + c] = 0.0; }
for (var t = 0u; t < u.n; t++) {
  if (ids[t] == i32(row + u.start)) {
    let src = t * u.d;
    for (var c = 0u; c < u.d; c++) { y[base + c] += dy[src + c]; }
  }
}`,
    })],
  };
}
