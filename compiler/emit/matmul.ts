// Tiled GEMM: a 64x64 output tile per workgroup of 16x16 threads, 4x4 outputs per thread, K walked
// in steps of 16 through workgroup memory (2 x 4 KiB). Each thread loads 4 consecutive elements of
// each operand per step along the operand's contiguous dimension, as one vec4 when that dimension is
// a multiple of 4 (the `v4` flags in the key; the tile origin is then 4-aligned too) and as 4
// bounds-checked scalars otherwise, so any size works. lowrank_matmul is the same GEMM with r extra
// k-steps: y = [x | scale·s] · [op(W) ; op(L)] (+ bias in the epilogue). r is small, so those steps
// read s and L straight from storage into the same accumulators instead of staging them.
// This tiled form is what 'gpu' targets get; CPU drivers (kind 'cpu') get gemm-reg.ts (see Target.gemm).
import type { OpAttrs } from '../ir/ops.ts';
import { kernel, inp, out, count, ceilDiv, last } from './wgsl.ts';
import type { Binding, EmittedOp, OpView, Uniform } from './kernel.ts';
import { gemmForm, type Target } from '../target.ts';
import { gemmReg, regConfigFor, REG_CONFIGS } from './gemm-reg.ts';
import { biasEpilogue, type GemmSpec } from './gemm-spec.ts';
import { F32_ACCESS, operandAccess, type OperandAccess } from './storage.ts';

export const TILE = 64;
export const BK = 16;

/** Loads 4 consecutive elements along the contiguous dim into the k-major tile `tile`. */
function loadStmt(
  tile: string, buf: string, access: OperandAccess, vec: boolean, contiguousIsK: boolean, strideU: string, outerLimit: string, kLimit: string,
  outerBase: string,
): string {
  // contiguousIsK: element (outer, k) at outer*stride + k; thread t covers outer t/4, k quad (t%4)*4.
  // else: element (k, outer) at k*stride + outer; thread t covers k t/16, outer quad (t%16)*4.
  const [o, k] = contiguousIsK ? ['lid / 4u', '(lid % 4u) * 4u'] : ['(lid % 16u) * 4u', 'lid / 16u'];
  const lines = [`{`, `  let lo = ${o};`, `  let lk = ${k};`, `  let go = ${outerBase} + lo;`, `  let gk = k0 + lk;`];
  const flat = contiguousIsK ? `go * ${strideU} + gk` : `gk * ${strideU} + go`;
  // Tiles hold vec4s along the outer dim, so the inner product reads one vec4 of A and one of B per k.
  const target = (c: number) => (contiguousIsK ? `${tile}[lk + ${c}u][lo / 4u][lo % 4u]` : `${tile}[lk][lo / 4u][${c}]`);
  if (vec) {
    lines.push(`  var q = vec4<f32>(0.0);`);
    lines.push(`  if (go < ${outerLimit} && gk < ${kLimit}) { q = ${access.quad(buf, `(${flat}) / 4u`)}; }`);
    if (contiguousIsK) for (let c = 0; c < 4; c++) lines.push(`  ${target(c)} = q[${c}];`);
    else lines.push(`  ${tile}[lk][lo / 4u] = q;`);
  } else {
    for (let c = 0; c < 4; c++) {
      const [oc, kc] = contiguousIsK ? ['go', `gk + ${c}u`] : [`go + ${c}u`, 'gk'];
      const idx = contiguousIsK ? `go * ${strideU} + gk + ${c}u` : `gk * ${strideU} + go + ${c}u`;
      lines.push(`  ${target(c)} = select(0.0, ${access.at(buf, `min(${idx}, ${access.length(buf, false)} - 1u)`, false)}, ${oc} < ${outerLimit} && ${kc} < ${kLimit});`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}

function gemm(keyBase: string, spec: GemmSpec, extra: Binding[], extraUniforms: Uniform[]): EmittedOp {
  const { transA, transB, M, N, K, lowrank } = spec;
  // Contiguous dimension of each operand decides whether a vec4 load is aligned.
  const vecA = transA ? M % 4 === 0 : K % 4 === 0;
  const vecB = transB ? K % 4 === 0 : N % 4 === 0;
  const key = [keyBase, transA ? 'tA' : '', transB ? 'tB' : '', vecA ? 'vA' : '', vecB ? 'vB' : '', spec.b.key,
    lowrank?.transL ? 'tL' : '', lowrank?.hasBias ? 'bias' : ''].filter(Boolean).join(':');
  const tilesN = ceilDiv(N, TILE);
  const bindings: Binding[] = [inp('a', 0, vecA ? 'vec4f' : 'f32'), inp('b', 1, spec.b.elem(vecB)), ...extra, out()];
  const loadA = loadStmt('As', 'a', F32_ACCESS, vecA, !transA, transA ? 'u.m' : 'u.k', 'u.m', 'u.k', 'm0');
  const loadB = loadStmt('Bs', 'b', spec.b, vecB, transB, transB ? 'u.k' : 'u.n', 'u.n', 'u.k', 'n0');
  const epilogue = `var val = accs[i][j];\n${biasEpilogue(spec)}`.trimEnd();
  const code = kernel({
    key,
    bindings,
    uniforms: [['m', 'u32', M], ['n', 'u32', N], ['k', 'u32', K], ['tiles_n', 'u32', tilesN], ...extraUniforms],
    workgroupSize: 256,
    workgroups: tilesN * ceilDiv(M, TILE),
    decls: `${spec.b.decls}
var<workgroup> As: array<array<vec4<f32>, ${TILE / 4}>, ${BK}>;
var<workgroup> Bs: array<array<vec4<f32>, ${TILE / 4}>, ${BK}>;`,
    body: `
let m0 = (wg / u.tiles_n) * ${TILE}u;
let n0 = (wg % u.tiles_n) * ${TILE}u;
let tx = lid % 16u;
let ty = lid / 16u;
// Unrolled by the generator: constant indices keep the accumulators in registers (llvmpipe spills
// dynamically indexed private arrays to memory).
var acc0 = vec4<f32>(0.0);
var acc1 = vec4<f32>(0.0);
var acc2 = vec4<f32>(0.0);
var acc3 = vec4<f32>(0.0);
for (var k0 = 0u; k0 < u.k; k0 += ${BK}u) {
${indent(loadA)}
${indent(loadB)}
  workgroupBarrier();
  for (var kk = 0u; kk < ${BK}u; kk++) {
    let av = As[kk][ty];
    let bv = Bs[kk][tx];
    acc0 = fma(vec4<f32>(av.x), bv, acc0);
    acc1 = fma(vec4<f32>(av.y), bv, acc1);
    acc2 = fma(vec4<f32>(av.z), bv, acc2);
    acc3 = fma(vec4<f32>(av.w), bv, acc3);
  }
  workgroupBarrier();
}
${lowrankSteps(spec)}let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
for (var i = 0u; i < 4u; i++) {
  let row = m0 + ty * 4u + i;
  if (row >= u.m) { break; }
  for (var j = 0u; j < 4u; j++) {
    let col = n0 + tx * 4u + j;
    if (col >= u.n) { break; }
${indent(indent(epilogue))}
    y[row * u.n + col] = val;
  }
}`,
  });
  return { launches: [code], scratch: [] };
}

/**
 * The low-rank term of the tiled GEMM as r more k-steps into acc0..acc3 (rows ty*4+i, columns
 * tx*4..tx*4+3 of the tile): scale·s[row, q] times op(L) at (q, col), clamped loads (rows and
 * columns past the edge are computed but never stored).
 */
function lowrankSteps(spec: GemmSpec): string {
  const lowrank = spec.lowrank;
  if (!lowrank) return '';
  const row = (i: number) => `min(m0 + ty * 4u + ${i}u, u.m - 1u)`;
  const col = (j: number) => `min(n0 + tx * 4u + ${j}u, u.n - 1u)`;
  const lAt = (j: number) => (lowrank.transL ? `l[${col(j)} * u.r + q]` : `l[q * u.n + ${col(j)}]`);
  return `for (var q = 0u; q < u.r; q++) {
  let sv = u.scale * vec4<f32>(${[0, 1, 2, 3].map((i) => `s[${row(i)} * u.r + q]`).join(', ')});
  let lv = vec4<f32>(${[0, 1, 2, 3].map(lAt).join(', ')});
  acc0 = fma(vec4<f32>(sv.x), lv, acc0);
  acc1 = fma(vec4<f32>(sv.y), lv, acc1);
  acc2 = fma(vec4<f32>(sv.z), lv, acc2);
  acc3 = fma(vec4<f32>(sv.w), lv, acc3);
}
`;
}

type GemmFn = (keyBase: string, spec: GemmSpec, extra: Binding[], extraUniforms: Uniform[]) => EmittedOp;

/** The tiled GEMM, or the register GEMM with the target's forced config or one chosen per shape. */
function pickGemm(target: Target): GemmFn {
  const choice = gemmForm(target);
  if (choice.form === 'tiled') return gemm;
  return (keyBase, spec, extra, extraUniforms) => gemmReg(keyBase, spec, extra, extraUniforms, biasEpilogue(spec),
    (choice.config ? REG_CONFIGS[choice.config] : undefined) ?? regConfigFor(spec.M, spec.N));
}

function indent(s: string): string {
  return s.split('\n').map((l) => `  ${l}`).join('\n');
}

function gemmDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): { M: number; N: number; K: number } {
  if (transA) return { M: last(a), N: last(b), K: count(a) / last(a) };
  return { M: count(a) / last(a), K: last(a), N: transB ? b[0]! : b[1]! };
}

export function emitMatmul(v: OpView<OpAttrs['matmul']>, target: Target): EmittedOp {
  const { transA, transB } = v.attrs;
  const dims = gemmDims(v.inputs[0]!.shape, v.inputs[1]!.shape, transA, transB);
  return pickGemm(target)('matmul', { transA, transB, ...dims, b: operandAccess(v.inputs[1]!.dtype, target) }, [], []);
}

export function emitLowrankMatmul(v: OpView<OpAttrs['lowrank_matmul']>, target: Target): EmittedOp {
  const { transW, transL, scale, hasBias } = v.attrs;
  const dims = gemmDims(v.inputs[0]!.shape, v.inputs[1]!.shape, false, transW);
  const r = last(v.inputs[2]!.shape);
  const extra = [inp('s', 2), inp('l', 3), ...(hasBias ? [inp('bias', 4)] : [])];
  return pickGemm(target)('lowrank_matmul', { transA: false, transB: transW, ...dims, b: operandAccess(v.inputs[1]!.dtype, target), lowrank: { r, scale, transL, hasBias } }, extra, [
    ['r', 'u32', r],
    ['scale', 'f32', scale],
  ]);
}
