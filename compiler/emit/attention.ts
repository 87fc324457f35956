// Softmax attention without workgroup memory or barriers: one invocation per query row (forward,
// dq, row statistics) or per key row (dk, dv), a block of rows of one (batch, head) per workgroup,
// and a serial loop over the other side with an online softmax. Lavapipe runs each workgroup as a CPU
// task and each barrier as a coroutine switch per 8 lanes, so the old one-workgroup-per-row kernels
// with a barrier tree per key block spent almost all their time in overhead. Keeping the loop bound
// and the streamed row uniform across the workgroup (the block's last row decides it; per-lane
// causal masks are selects) also lets gallivm load K/V (or Q/dO) once per SIMD group instead of
// gathering per lane, and on real GPUs makes those loads warp broadcasts.
// Each invocation keeps its own row in vec4 registers: the default variant holds headDim <= 16
// (4 vec4s, unrolled by the generator so they stay in registers), ':wide' loops over up to 64 vec4s
// (headDim <= 256) in private arrays. Gradients recompute probabilities from the attention_stats
// node (logsumexp per query row, one pass over the keys per attention layer, and rowDot = Σ P·dP,
// which is dO·O per row given the forward output): dq, dk and dv each make a single pass and read
// those rows instead of recomputing them.
import type { AttentionAttrs, OpAttrs } from '../ir/ops.ts';
import { kernel, inp, out, NEG_BIG } from './wgsl.ts';
import type { Launch, EmittedOp, OpView, Uniform } from './kernel.ts';
import type { Target } from '../target.ts';
import { offsetStride } from './elementwise.ts';

/** Largest headDim of the register variant; larger ones use ':wide' (up to 4 * WIDE_VECS). */
export const NARROW_DIM = 16;
const WIDE_VECS = 64;
/**
 * Rows (queries or keys) per workgroup, one per invocation: 64 fills two warps on a GPU. On CPU
 * adapters (target 'cpu') and for ':wide' rows 16: each row's loop is long, so small blocks keep
 * every lavapipe thread busy and make the causal loop bound (the block's last row) tight; at
 * seq 96 this halved attention time on lavapipe. Keys name the block size when it is not 64.
 */
const GPU_ROWS = 64;
const SMALL_ROWS = 16;

function geometry(v: OpView<AttentionAttrs>): Uniform[] {
  const [B, T] = v.inputs[0]!.shape as number[];
  const S = v.inputs[1]!.shape[1]!;
  const a = v.attrs;
  if (a.headDim > 4 * WIDE_VECS) throw new Error(`attention: headDim ${a.headDim} exceeds the kernel's ${4 * WIDE_VECS}`);
  return [
    ['batch', 'u32', B!], ['t_len', 'u32', T!], ['s_len', 'u32', S], ['heads', 'u32', a.heads], ['hd', 'u32', a.headDim],
    ['group', 'u32', a.heads / a.kvHeads], ['qw', 'u32', a.heads * a.headDim], ['kw', 'u32', a.kvHeads * a.headDim],
    ['scale', 'f32', a.scale], ['win', 'u32', a.window ?? 0],
  ];
}

/** Per-vector code: `#` is the vec4 index (a literal when unrolled, `ci` in the wide loop). */
interface Vec {
  wide: boolean;
  /** Rows per workgroup. */
  rows: number;
  decl(name: string): string;
  each(body: string): string;
}

function vec(wide: boolean, rows: number): Vec {
  return {
    wide,
    rows,
    decl: (name) => `var ${name}: array<vec4<f32>, ${wide ? WIDE_VECS : NARROW_DIM / 4}>;`,
    each: (body) => (wide
      ? `for (var ci = 0u; ci < nv; ci++) { ${body.replaceAll('#', 'ci')} }`
      : [0, 1, 2, 3].map((i) => body.replaceAll('#', `${i}u`)).join('\n')),
  };
}

/** vec4 loads (and a store) of dims c..c+3 of a head row at `o`, zero past headDim. */
function loaders(names: string[], store?: string): string {
  const lane = (buf: string, e: number) => `select(0.0, ${buf}[o + c + ${e}u], c + ${e}u < u.hd)`;
  const fns = names.map((n) => `fn ld_${n}(o: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(${[0, 1, 2, 3].map((e) => lane(n, e)).join(', ')});
}`);
  if (store) {
    fns.push(`fn st_${store}(o: u32, c: u32, val: vec4<f32>) {
${[0, 1, 2, 3].map((e) => `  if (c + ${e}u < u.hd) { ${store}[o + c + ${e}u] = val[${e}]; }`).join('\n')}
}`);
  }
  return fns.join('\n');
}

/** Dot product of the register row `reg` with the head row at `o` of `buf`, into `name`. */
const dotWith = (V: Vec, name: string, reg: string, buf: string, o: string) =>
  `var ${name} = 0.0;\n${V.each(`${name} += dot(${reg}[#], ld_${buf}(${o}, # * 4u));`)}`;

/**
 * Query-row head: block of AW query rows of one (b, h); `nk` (uniform) is the number of keys any
 * row of the block may see, `lim` this row's last visible key. With `flat` (few query rows per
 * (b, h), as in token-by-token decoding where T = 1) the block is AW consecutive rows of the whole
 * [B, heads, T] space instead, so workgroups are not mostly idle lanes: decoding a batch of 128
 * launched 512 workgroups of one useful lane each and spent 80% of a step in them on lavapipe.
 * The rows then differ in (b, h), so key loads are per lane and `nk` is the row's own bound.
 */
function queryHead(V: Vec, masked: boolean, hasOffset: boolean, flat = false): string {
  const AW = V.rows;
  if (flat) {
    return `
let total = u.batch * u.heads * u.t_len;
let row = wg * ${AW}u + lid;
let rc = min(row, total - 1u);
let t = select(u.t_len, rc % u.t_len, row < total);
let tc = rc % u.t_len;
let h = (rc / u.t_len) % u.heads;
let b = rc / (u.t_len * u.heads);
let nv = (u.hd + 3u) / 4u;
let kvh = h / u.group;
let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
let kbase = b * u.s_len * u.kw + kvh * u.hd;
let pos0 = ${hasOffset ? 'u32(offset[b * u.off_stride])' : '0u'};
let lim = pos0 + tc;
let nk = ${masked ? 'min(lim + 1u, u.s_len)' : 'u.s_len'};
let jlo = ${masked ? 'select(0u, lim + 1u - u.win, u.win > 0u && lim + 1u > u.win)' : '0u'};
${V.decl('qv')}
${V.each('qv[#] = ld_q(qo, # * 4u) * u.scale;')}`;
  }
  return `
let nblk = (u.t_len + ${AW - 1}u) / ${AW}u;
let blk = wg % nblk;
let h = (wg / nblk) % u.heads;
let b = wg / (nblk * u.heads);
if (b >= u.batch) { return; }
let nv = (u.hd + 3u) / 4u;
let t0 = blk * ${AW}u;
let t = t0 + lid;
let tc = min(t, u.t_len - 1u);
let kvh = h / u.group;
let qo = (b * u.t_len + tc) * u.qw + h * u.hd;
let kbase = b * u.s_len * u.kw + kvh * u.hd;
let pos0 = ${hasOffset ? 'u32(offset[b * u.off_stride])' : '0u'};
let lim = pos0 + tc;
let nk = ${masked ? `min(pos0 + min(t0 + ${AW}u, u.t_len), u.s_len)` : 'u.s_len'};
// With a sliding window, no row of the block sees keys before its first row's window.
let jlo = ${masked ? 'select(0u, pos0 + t0 + 1u - u.win, u.win > 0u && pos0 + t0 + 1u > u.win)' : '0u'};
${V.decl('qv')}
${V.each('qv[#] = ld_q(qo, # * 4u) * u.scale;')}`;
}

/** Key j is visible to this row: not after it and, with a window, not win or more positions before it. */
const visible = (masked: boolean) => (masked ? '(j <= lim && (u.win == 0u || j + u.win > lim))' : 'true');

/** Online pass over keys: running max m, sum l and (withV) acc = Σ p·v, (withDp) r = Σ p·dP. */
function onlinePass(V: Vec, masked: boolean, withV: boolean, withDp: boolean): string {
  return `
var m = ${NEG_BIG};
var l = 0.0;
${withDp ? 'var r = 0.0;' : ''}
for (var j = jlo; j < nk; j++) {
  let ko = kbase + j * u.kw;
  ${dotWith(V, 'sd', 'qv', 'k', 'ko').replaceAll('\n', '\n  ')}
  let vis = ${visible(masked)};
  let s = select(${NEG_BIG}, sd, vis);
  let mn = max(m, s);
  let corr = exp(m - mn);
  let p = select(0.0, exp(s - mn), vis);
  l = l * corr + p;
  ${withDp ? `${dotWith(V, 'dp', 'dyv', 'v', 'ko').replaceAll('\n', '\n  ')}\n  r = r * corr + p * dp;` : ''}
  ${withV ? V.each('acc[#] = acc[#] * corr + p * ld_v(ko, # * 4u);') : ''}
  m = mn;
}`;
}

const suffix = (masked: boolean, hasOffset: boolean, V: Vec) =>
  `${masked ? ':causal' : ''}${hasOffset ? ':offset' : ''}${V.wide ? ':wide' : ''}${V.rows !== GPU_ROWS ? `:rows${V.rows}` : ''}`;
const vecFor = (a: AttentionAttrs, target: Target) => {
  const wide = a.headDim > NARROW_DIM;
  return vec(wide, wide || target.kind === 'cpu' ? SMALL_ROWS : GPU_ROWS);
};
const queryBlocks = (v: OpView<AttentionAttrs>, V: Vec) => {
  const [B, T] = v.inputs[0]!.shape as number[];
  return B! * v.attrs.heads * Math.ceil(T! / V.rows);
};

function bindings(extra: Launch['bindings']): Launch['bindings'] {
  return [inp('q', 0), inp('k', 1), inp('v', 2), ...extra];
}

/** Query lengths up to this pack rows of different (b, h) into one workgroup (':flat'). */
export const FLAT_MAX_T = 4;

export function emitAttention(v: OpView<OpAttrs['attention']>, target: Target): EmittedOp {
  const hasOffset = v.inputs.length > 3;
  const masked = v.attrs.causal || hasOffset;
  const V = vecFor(v.attrs, target);
  const [B, T] = v.inputs[0]!.shape as number[];
  const flat = T! <= FLAT_MAX_T;
  return {
    scratch: [],
    launches: [kernel({
      key: `attention${suffix(masked, hasOffset, V)}${flat ? ':flat' : ''}`,
      bindings: bindings([...(hasOffset ? [inp('offset', 3, 'i32')] : []), out()]),
      uniforms: [...geometry(v), ...(hasOffset ? [offsetStride(v.inputs[3]!)] : [])],
      workgroupSize: V.rows,
      workgroups: flat ? Math.ceil((B! * v.attrs.heads * T!) / V.rows) : queryBlocks(v, V),
      decls: loaders(['q', 'k', 'v'], 'y'),
      body: `${queryHead(V, masked, hasOffset, flat)}
${V.decl('acc')}
${onlinePass(V, masked, true, false)}
if (t < u.t_len) {
  let inv = 1.0 / l;
  ${V.each('st_y(qo, # * 4u, acc[#] * inv);')}
}`,
    })],
  };
}

/** q, k, v, dy and the attention_stats rows in; the gradient out. */
const gradBindings = () => bindings([inp('dy', 3), inp('st', 4), out()]);
/** This query row's dO into registers (dP_ij = dO_i·v_j). */
const dyRow = (V: Vec) => `${V.decl('dyv')}\n${V.each('dyv[#] = ld_dy(qo, # * 4u);')}`;

/**
 * attention_stats: per query row, logsumexp and rowDot = Σ_j P_ij·dP_ij (dP_ij = dO_i·v_j) into
 * [B, heads, T, 2]. One node per attention layer, read by all three attention_grad kernels.
 * rowDot is dO_i·O_i (FlashAttention-2): with the forward output y as the fifth input, the pass
 * over the keys only needs q·k for the logsumexp, and rowDot is one dot product per row.
 */
export function emitAttentionStats(v: OpView<OpAttrs['attention_stats']>, target: Target): EmittedOp {
  const masked = v.attrs.causal;
  const V = vecFor(v.attrs, target);
  return {
    scratch: [],
    launches: [kernel({
      key: `attention_stats${suffix(masked, false, V)}`, bindings: [inp('q', 0), inp('k', 1), inp('dy', 3), inp('yo', 4), out('st')],
      uniforms: geometry(v), workgroupSize: V.rows, workgroups: queryBlocks(v, V), decls: loaders(['q', 'k', 'dy', 'yo']),
      body: `${queryHead(V, masked, false)}
${onlinePass(V, masked, false, false)}
var r = 0.0;
${V.each('r += dot(ld_dy(qo, # * 4u), ld_yo(qo, # * 4u));')}
if (t < u.t_len) {
  let si = 2u * ((b * u.heads + h) * u.t_len + t);
  st[si] = m + log(l);
  st[si + 1u] = r;
}`,
    })],
  };
}

function emitGradQ(v: OpView<OpAttrs['attention_grad']>, masked: boolean, target: Target): EmittedOp {
  const V = vecFor(v.attrs, target);
  return {
    scratch: [],
    launches: [kernel({
      key: `attention_grad_q${suffix(masked, false, V)}`, bindings: gradBindings(),
      uniforms: geometry(v), workgroupSize: V.rows, workgroups: queryBlocks(v, V), decls: loaders(['q', 'k', 'v', 'dy'], 'y'),
      body: `${queryHead(V, masked, false)}
${dyRow(V)}
let si = 2u * ((b * u.heads + h) * u.t_len + tc);
let lse = st[si];
let row_dot = st[si + 1u];
${V.decl('acc')}
for (var j = jlo; j < nk; j++) {
  let ko = kbase + j * u.kw;
  ${dotWith(V, 'sd', 'qv', 'k', 'ko').replaceAll('\n', '\n  ')}
  ${dotWith(V, 'dp', 'dyv', 'v', 'ko').replaceAll('\n', '\n  ')}
  let ds = select(0.0, exp(sd - lse) * (dp - row_dot), ${visible(masked)});
  ${V.each('acc[#] += ds * ld_k(ko, # * 4u);')}
}
if (t < u.t_len) { ${V.each('st_y(qo, # * 4u, acc[#] * u.scale);')} }`,
    })],
  };
}

/** dk / dv: one invocation per key row, looping over the query rows of its kv head's query heads. */
function emitGradKV(v: OpView<OpAttrs['attention_grad']>, masked: boolean, wrt: 'k' | 'v', target: Target): EmittedOp {
  const [B, T] = v.inputs[0]!.shape as number[];
  const V = vecFor(v.attrs, target);
  const AW = V.rows;
  // Weight of query row i for key j: P_ij (dv) or P_ij·(dP_ij − rowDot_i) (dk, times scale at the
  // end); it multiplies dO_i (dv) or q_i (dk).
  const perQuery = wrt === 'v'
    ? `${V.each('acc[#] += p * ld_dy(qo, # * 4u);')}`
    : `${dotWith(V, 'dp', 'vv', 'dy', 'qo')}
let w = p * (dp - st[si + 1u]);
${V.each('acc[#] += w * qi[#];')}`;
  const main = kernel({
    key: `attention_grad_${wrt}${suffix(masked, false, V)}`, bindings: gradBindings(),
    uniforms: geometry(v), workgroupSize: V.rows, workgroups: B! * v.attrs.kvHeads * Math.ceil(T! / AW), decls: loaders(['q', 'k', 'v', 'dy'], 'y'),
    body: `
let nblk = (u.t_len + ${AW - 1}u) / ${AW}u;
let kvheads = u.heads / u.group;
let blk = wg % nblk;
let kvh = (wg / nblk) % kvheads;
let b = wg / (nblk * kvheads);
if (b >= u.batch) { return; }
let nv = (u.hd + 3u) / 4u;
let j0 = blk * ${AW}u;
let j = j0 + lid;
let jc = min(j, u.t_len - 1u);
let ko = (b * u.t_len + jc) * u.kw + kvh * u.hd;
// With a sliding window, query i sees key j only while i < j + win: no query past the block's last key's window.
let iend = ${masked ? `select(u.t_len, min(u.t_len, min(j0 + ${AW - 1}u, u.t_len - 1u) + u.win), u.win > 0u)` : 'u.t_len'};
${V.decl('kv')}
${V.each('kv[#] = ld_k(ko, # * 4u) * u.scale;')}
${wrt === 'k' ? `${V.decl('vv')}\n${V.each('vv[#] = ld_v(ko, # * 4u);')}\n${V.decl('qi')}` : ''}
${V.decl('acc')}
for (var h = kvh * u.group; h < (kvh + 1u) * u.group; h++) {
  for (var i = ${masked ? 'j0' : '0u'}; i < iend; i++) {
    let qo = (b * u.t_len + i) * u.qw + h * u.hd;
    let si = 2u * ((b * u.heads + h) * u.t_len + i);
    ${wrt === 'k' ? V.each('qi[#] = ld_q(qo, # * 4u);') : ''}
    var s = 0.0;
    ${V.each(`s += dot(${wrt === 'k' ? 'qi[#]' : 'ld_q(qo, # * 4u)'}, kv[#]);`)}
    let p = select(0.0, exp(s - st[si]), ${masked ? '(i >= j && (u.win == 0u || i < j + u.win))' : 'true'});
    ${perQuery.replaceAll('\n', '\n    ')}
  }
}
if (j < u.t_len) { ${V.each(`st_y(ko, # * 4u, acc[#]${wrt === 'k' ? ' * u.scale' : ''});`)} }`,
  });
  return { scratch: [], launches: [main] };
}

export function emitAttentionGrad(v: OpView<OpAttrs['attention_grad']>, target: Target): EmittedOp {
  const masked = v.attrs.causal;
  if (v.attrs.wrt === 'q') return emitGradQ(v, masked, target);
  return emitGradKV(v, masked, v.attrs.wrt, target);
}
