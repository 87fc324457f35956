// Rotary embedding: one invocation per (row, head, c) for c < headDim − rotaryDim/2. For c below
// rotaryDim/2 it rotates the pair (c, c + rotaryDim/2) with the f32 angle pos·invFreq[c] (the
// frequencies are a literal the compiler computed, so every RoPE variant shares this kernel); above
// it copies one pass-through feature (partial rotary). The angle is reduced to [−π, π] first
// (Cody–Waite, 2π split in three parts): WGSL bounds cos/sin errors only on [−π, π], and positions
// in the thousands give angles far outside it.
import type { OpAttrs } from '../ir/ops.ts';
import type { EmittedOp, OpView } from './kernel.ts';
import { EW, offsetStride } from './elementwise.ts';
import { ceilDiv, inp, kernel, out } from './wgsl.ts';

// 2π = C1 + C2 + C3 with C1 = 6.28125 (8 significant bits: k·C1 is exact for k < 2^16).
const TWO_PI_C1 = '6.28125';
const TWO_PI_C2 = '0.0019353071693331003';
const TWO_PI_C3 = '1.0253131677018246e-11';
const INV_TWO_PI = '0.15915494309189535';

export function emitRope(v: OpView<OpAttrs['rope']>): EmittedOp {
  const [B, T] = v.inputs[0]!.shape as number[];
  const { heads, headDim, rotaryDim, scale, transpose } = v.attrs;
  const half = rotaryDim / 2;
  const per = headDim - half;
  const n = B! * T! * heads * per;
  const hasOffset = v.inputs.length > 2;
  const bindings = [inp('a', 0), inp('inv_freq', 1), ...(hasOffset ? [inp('offset', 2, 'i32')] : []), out()];
  return {
    scratch: [],
    launches: [kernel({
      key: `rope${hasOffset ? ':offset' : ''}`, bindings,
      uniforms: [['n', 'u32', n], ['t_len', 'u32', T!], ['heads', 'u32', heads], ['hd', 'u32', headDim], ['half', 'u32', half],
        ['per', 'u32', per], ['scale', 'f32', scale], ['sign', 'f32', transpose ? -1 : 1], ...(hasOffset ? [offsetStride(v.inputs[2]!)] : [])],
      workgroupSize: EW, workgroups: ceilDiv(n, EW),
      body: `let i = wg * ${EW}u + lid;
if (i >= u.n) { return; }
let c = i % u.per;
let rh = i / u.per;                         // (b * T + t) * heads + h
let t = (rh / u.heads) % u.t_len;
let base = rh * u.hd;
if (c >= u.half) {
  let e = base + u.half + c;                // a pass-through feature: rotaryDim <= e < headDim
  y[e] = a[e];
  return;
}
let pos = f32(${hasOffset ? 'u32(offset[(rh / (u.heads * u.t_len)) * u.off_stride]) + t' : 't'});
let angle = pos * inv_freq[c];              // f32, as torch rounds it
let k = floor(angle * ${INV_TWO_PI} + 0.5);
let r = ((angle - k * ${TWO_PI_C1}) - k * ${TWO_PI_C2}) - k * ${TWO_PI_C3};
let co = cos(r) * u.scale;
let si = sin(r) * u.scale * u.sign;
let x1 = a[base + c];
let x2 = a[base + c + u.half];
y[base + c] = x1 * co - x2 * si;
y[base + c + u.half] = x2 * co + x1 * si;`,
    })],
  };
}
