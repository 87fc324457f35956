// gathered_lowrank (op-attrs.ts): many LoRA adapters applied in one batch, as Punica's BGMV kernels
// do it, in two launches:
//   shrink  s[row, r] = Σ_k a[slot, r, k] · x[row, k]          one invocation per (row, r)
//   expand  y[row, n] = base[row, n] + Σ_r b[slot, n, r] · s[row, r]   one invocation per (row, n)
// with slot = index[batch row of row]; rows whose slot is negative (no adapter) or past the stack
// get s = 0 and y = base. s lives in scratch slot 0 (rows·R floats). Neither kernel uses
// workgroup memory or barriers (on lavapipe each barrier is a coroutine switch per 8 lanes): the
// shrink's serial loop over K is rows·R·K multiply-adds, a small fraction of the base GEMM's
// rows·N·K at LoRA ranks, and consecutive lanes share the row, so x loads are broadcasts.
// Ranks are padded to R with zeros (the padded terms add exact zeros).
import type { OpAttrs } from '../ir/ops.ts';
import { kernel, inp, out, scratch, count, ceilDiv, last } from './wgsl.ts';
import type { EmittedOp, OpView, Uniform } from './kernel.ts';

const WG = 64;

export function emitGatheredLowrank(v: OpView<OpAttrs['gathered_lowrank']>): EmittedOp {
  const x = v.inputs[0]!;
  const [S, R, K] = v.inputs[1]!.shape as [number, number, number];
  const N = last(v.out.shape);
  const rows = count(x.shape) / K;
  const perBatch = rows / x.shape[0]!;
  const geometry: Uniform[] = [['rows', 'u32', rows], ['per_batch', 'u32', perBatch], ['slots', 'u32', S], ['rank', 'u32', R], ['k', 'u32', K], ['n', 'u32', N]];
  // The adapter slot of `row`, or -1 (no adapter) for negative and out-of-range indices.
  const slotOf = (row: string) => `let raw = index[${row} / u.per_batch];
let live = raw >= 0 && u32(raw) < u.slots;
let slot = select(0u, u32(raw), live);`;
  const shrink = kernel({
    key: 'gathered_lowrank_shrink',
    bindings: [inp('x', 0), inp('a', 1), inp('index', 3, 'i32'), scratch('s', 0)],
    uniforms: geometry,
    workgroupSize: WG,
    workgroups: ceilDiv(rows * R, WG),
    body: `let i = wg * ${WG}u + lid;
if (i >= u.rows * u.rank) { return; }
let row = i / u.rank;
let r = i % u.rank;
${slotOf('row')}
var acc = 0.0;
if (live) {
  let ao = (slot * u.rank + r) * u.k;
  let xo = row * u.k;
  for (var k = 0u; k < u.k; k++) { acc += a[ao + k] * x[xo + k]; }
}
s[i] = acc;`,
  });
  const expand = kernel({
    key: `gathered_lowrank_expand${v.attrs.hasBase ? ':base' : ''}`,
    bindings: [inp('b', 2), inp('index', 3, 'i32'), scratch('s', 0, 'read'), ...(v.attrs.hasBase ? [inp('base', 4)] : []), out()],
    uniforms: geometry,
    workgroupSize: WG,
    workgroups: ceilDiv(rows * N, WG),
    body: `let i = wg * ${WG}u + lid;
if (i >= u.rows * u.n) { return; }
let row = i / u.n;
let col = i % u.n;
${slotOf('row')}
var acc = 0.0;
if (live) {
  let bo = (slot * u.n + col) * u.rank;
  let so = row * u.rank;
  for (var r = 0u; r < u.rank; r++) { acc += b[bo + r] * s[so + r]; }
}
y[i] = ${v.attrs.hasBase ? 'base[i] + acc' : 'acc'};`,
  });
  return { launches: [shrink, expand], scratch: [rows * R * 4] };
}
