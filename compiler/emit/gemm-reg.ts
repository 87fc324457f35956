// GEMM for CPU drivers (lavapipe): no workgroup memory, no barriers. Each of the 64 invocations of
// a workgroup owns a block of R rows x 4·C columns in registers and streams A and B straight from
// storage (which on a CPU is just cached memory, so staging through workgroup memory only adds
// copies and coroutine switches at every barrier). K runs in steps of 4 with vec4 loads along K
// where an operand is contiguous in K and 4-aligned, then a scalar tail. Loads use clamped
// coordinates (always in bounds); out-of-range rows and columns are simply not stored.
import { kernel, inp, out, ceilDiv } from './wgsl.ts';
import type { Binding, EmittedOp, Uniform } from './kernel.ts';
import type { GemmSpec } from './gemm-spec.ts';
import type { RegConfigName } from '../target.ts';

export interface RegConfig {
  name: string;
  /** Rows per invocation. */
  R: number;
  /** vec4 column groups per invocation. */
  C: number;
  /** Invocations along N (64 / LX along M). */
  LX: number;
}

export const REG_CONFIGS: Record<RegConfigName, RegConfig> = {
  r4c1: { name: 'r4c1', R: 4, C: 1, LX: 8 },
  r4c2: { name: 'r4c2', R: 4, C: 2, LX: 4 },
  r2c2: { name: 'r2c2', R: 2, C: 2, LX: 8 },
  r8c1: { name: 'r8c1', R: 8, C: 1, LX: 8 },
};

/**
 * Config for a GEMM shape: the default r4c1 (32 x 32 output block per workgroup) unless one output
 * side is thin (the rank-r matmuls of LoRA: s = x·Aᵀ is [rows, r], dA = dsᵀ·x is [r, d]), where a
 * 32-wide block would compute mostly clamped duplicates (8x the work at r = 4). There the 64
 * invocations are laid out along the long side instead: 4·LX columns, 64/LX·4 rows per workgroup.
 */
export function regConfigFor(M: number, N: number): RegConfig {
  const pow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  if (N <= 16 && N < M) {
    const LX = pow2(Math.ceil(N / 4));
    return { name: `r4c1x${LX}`, R: 4, C: 1, LX };
  }
  if (M <= 16 && M < N) {
    const LX = 64 / pow2(Math.ceil(M / 4));
    return { name: `r4c1x${LX}`, R: 4, C: 1, LX };
  }
  return REG_CONFIGS.r4c1;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function gemmReg(keyBase: string, spec: GemmSpec, extra: Binding[], extraUniforms: Uniform[], epilogue: string, cfg: RegConfig): EmittedOp {
  const { transA, transB, M, N, K, lowrank } = spec;
  const { R, C, LX } = cfg;
  const TM = (64 / LX) * R;
  const TN = LX * 4 * C;
  // vec4 along K: A row-major ([M, K]) or B transposed ([N, K]) with K % 4 == 0.
  const aVecK = !transA && K % 4 === 0;
  const bVecK = transB && K % 4 === 0;
  // vec4 along N: B row-major ([K, N]) with N % 4 == 0.
  const bVecN = !transB && N % 4 === 0;
  // vec4 along N for L of the low-rank term ([r, N], N % 4 == 0).
  const lVecN = !!lowrank && !lowrank.transL && N % 4 === 0;
  const B = spec.b;
  const key = [keyBase, 'reg', cfg.name, transA ? 'tA' : '', transB ? 'tB' : '', aVecK ? 'vA' : '', bVecK || bVecN ? 'vB' : '', B.key,
    lowrank?.transL ? 'tL' : '', lVecN ? 'vL' : '', lowrank?.hasBias ? 'bias' : ''].filter(Boolean).join(':');
  const aVec = aVecK;
  const bVec = bVecK || bVecN;
  const scalar = (buf: string, vec: boolean, idx: string) => (vec ? `${buf}[(${idx}) / 4u][(${idx}) % 4u]` : `${buf}[${idx}]`);
  const aAt = (i: number, k: string) => scalar('a', aVec, transA ? `${k} * u.m + mr${i}` : `mr${i} * u.k + ${k}`);
  const colAt = (c: number, e: number) => `nc${c}_${e}`;
  const bAt = (c: number, e: number, k: string) => B.at('b', transB ? `${colAt(c, e)} * u.k + ${k}` : `${k} * u.n + ${colAt(c, e)}`, bVec);
  const bQuad = (c: number, k: string) => (bVecN
    ? B.quad('b', `(${k} * u.n + nc${c}) / 4u`)
    : `vec4<f32>(${range(4).map((e) => bAt(c, e, k)).join(', ')})`);

  const lines: string[] = [];
  lines.push(`let m0 = (wg / u.tiles_n) * ${TM}u + (lid / ${LX}u) * ${R}u;`);
  lines.push(`let n0 = (wg % u.tiles_n) * ${TN}u + (lid % ${LX}u) * ${4 * C}u;`);
  for (const i of range(R)) lines.push(`let mr${i} = min(m0 + ${i}u, u.m - 1u);`);
  for (const c of range(C)) {
    if (bVecN) lines.push(`let nc${c} = min(n0 + ${4 * c}u, u.n - 4u);`);
    else for (const e of range(4)) lines.push(`let ${colAt(c, e)} = min(n0 + ${4 * c + e}u, u.n - 1u);`);
  }
  for (const i of range(R)) for (const c of range(C)) lines.push(`var acc${i}_${c} = vec4<f32>(0.0);`);
  if (lowrank) {
    // Low-rank term as r extra k-steps: y = [x | scale·s] · [op(W) ; op(L)]. Row i reads
    // scale·s[mr_i, q], each column quad reads op(L) at (q, its columns), into the same accumulators
    // (no per-output loop over r in the epilogue). They run first, so that the main loop that
    // follows is the plain GEMM's, unchanged.
    const lQuad = (c: number) => {
      if (lVecN) return `l[(q * u.n + nq${c}) / 4u]`;
      const col = (e: number) => (bVecN ? `min(nc${c} + ${e}u, u.n - 1u)` : colAt(c, e));
      return `vec4<f32>(${range(4).map((e) => (lowrank.transL ? `l[${col(e)} * u.r + q]` : `l[q * u.n + ${col(e)}]`)).join(', ')})`;
    };
    const low: string[] = [];
    for (const c of range(C)) low.push(`let lq${c} = ${lQuad(c)};`);
    for (const i of range(R)) {
      low.push(`let sq${i} = u.scale * s[mr${i} * u.r + q];`);
      for (const c of range(C)) low.push(`acc${i}_${c} = fma(vec4<f32>(sq${i}), lq${c}, acc${i}_${c});`);
    }
    if (lVecN) for (const c of range(C)) lines.push(`let nq${c} = min(n0 + ${4 * c}u, u.n - 4u);`);
    lines.push(`for (var q = 0u; q < u.r; q++) {\n${low.map((l) => `  ${l}`).join('\n')}\n}`);
  }
  // Main loop: 4 k per step.
  const main: string[] = [];
  if (aVecK) for (const i of range(R)) main.push(`let av${i} = a[(mr${i} * u.k + k) / 4u];`);
  if (bVecK) for (const c of range(C)) for (const e of range(4)) main.push(`let bv${c}_${e} = ${B.quad('b', `(${colAt(c, e)} * u.k + k) / 4u`)};`);
  for (const kk of range(4)) {
    const kx = kk === 0 ? 'k' : `(k + ${kk}u)`;
    for (const c of range(C)) {
      const q = bVecK ? `vec4<f32>(${range(4).map((e) => `bv${c}_${e}[${kk}]`).join(', ')})` : bQuad(c, kx);
      main.push(`let b${kk}_${c} = ${q};`);
    }
    for (const i of range(R)) {
      main.push(`let a${kk}_${i} = ${aVecK ? `av${i}[${kk}]` : aAt(i, kx)};`);
      for (const c of range(C)) main.push(`acc${i}_${c} = fma(vec4<f32>(a${kk}_${i}), b${kk}_${c}, acc${i}_${c});`);
    }
  }
  lines.push('let k4 = u.k & ~3u;');
  lines.push(`for (var k = 0u; k < k4; k += 4u) {\n${main.map((l) => `  ${l}`).join('\n')}\n}`);
  const tail: string[] = [];
  for (const c of range(C)) tail.push(`let bt${c} = ${bQuad(c, 'k')};`);
  for (const i of range(R)) {
    tail.push(`let at${i} = ${aAt(i, 'k')};`);
    for (const c of range(C)) tail.push(`acc${i}_${c} = fma(vec4<f32>(at${i}), bt${c}, acc${i}_${c});`);
  }
  lines.push(`for (var k = k4; k < u.k; k++) {\n${tail.map((l) => `  ${l}`).join('\n')}\n}`);
  // Epilogue: constant indices throughout so the accumulators stay in registers.
  for (const i of range(R)) {
    lines.push(`if (m0 + ${i}u < u.m) {`);
    lines.push(`  let row = m0 + ${i}u;`);
    for (const c of range(C)) {
      for (const e of range(4)) {
        lines.push(`  if (n0 + ${4 * c + e}u < u.n) {`);
        lines.push(`    store(row, n0 + ${4 * c + e}u, acc${i}_${c}[${e}]);`);
        lines.push('  }');
      }
    }
    lines.push('}');
  }
  const tilesN = ceilDiv(N, TN);
  return {
    scratch: [],
    launches: [kernel({
      key,
      bindings: [inp('a', 0, aVec ? 'vec4f' : 'f32'), inp('b', 1, B.elem(bVec)),
        ...extra.map((x) => (x.name === 'l' && lVecN ? { ...x, elem: 'vec4f' as const } : x)), out()],
      uniforms: [['m', 'u32', M], ['n', 'u32', N], ['k', 'u32', K], ['tiles_n', 'u32', tilesN], ...extraUniforms],
      workgroupSize: 64,
      workgroups: tilesN * ceilDiv(M, TM),
      // One copy of the epilogue (the bias add) instead of R·4C inlined ones: faster compiles.
      decls: `${B.decls ? `${B.decls}\n` : ''}fn store(row: u32, col: u32, acc: f32) {\n  var val = acc;\n${epilogue ? `${epilogue.replace(/^/gm, '  ')}\n` : ''}  y[row * u.n + col] = val;\n}`,
      body: lines.join('\n'),
    })],
  };
}
