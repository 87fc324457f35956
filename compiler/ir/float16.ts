// 16-bit floats (bfloat16, IEEE half) as bits in Uint16Arrays: exact widening to float32, and
// rounding from float32 as torch rounds (to nearest, ties to even). The compiler's interpreter
// rounds 16-bit weights with these; runtime/io/dtypes.ts uses them for files.
import type { HalfDType } from './tensor.ts';

// f16 -> f32 by table: 64K entries, built on first use.
let f16Table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** IEEE half bits to float32 (exact: every half is a float32). */
export function f16BitsToFloat32(bits: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** bfloat16 bits to float32: bf16 is the upper half of an f32 (exact). */
export function bf16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
  return out;
}

/**
 * float32 to bfloat16 bits as c10::BFloat16 rounds: to nearest, ties to even (so values past the
 * largest bf16 become ±inf), and every NaN becomes the quiet NaN 0x7fc0.
 */
export function float32ToBf16Bits(src: Float32Array): Uint16Array {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = 0x7fc0;
      continue;
    }
    out[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * float32 to IEEE half bits as torch (fp16_ieee_from_fp32_value) rounds: to nearest, ties to even,
 * with subnormal halves, ±inf past 65504 (from 65520 on), and NaN as the quiet NaN 0x7e00.
 */
export function float32ToF16Bits(src: Float32Array): Uint16Array {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToHalf(u[i]!);
  return out;
}

function f32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN
  if (abs >= 0x47800000) {
    // |x| >= 65536 is inf; so is anything that rounds past 65504 (checked below via the carry).
    return sign | 0x7c00;
  }
  const exp = abs >>> 23; // biased f32 exponent
  if (exp < 113) {
    // Result is a half subnormal (or zero): value = mant * 2^-24 with mant < 1024.
    if (exp < 102) return sign; // below half the smallest subnormal (2^-25): rounds to zero
    const m = (abs & 0x7fffff) | 0x800000; // 24-bit significand, value = m * 2^(exp-150)
    const shift = 126 - exp; // m * 2^(exp-150) / 2^-24 = m >> (126 - exp)
    const q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = rem > halfway || (rem === halfway && (q & 1) === 1) ? q + 1 : q;
    return sign | rounded; // a carry into 1024 is the smallest normal, which is the right bits
  }
  // Normal: rebias the exponent (127 -> 15) and round the 23-bit fraction to 10 bits.
  const base = ((exp - 112) << 10) | ((abs >>> 13) & 0x3ff);
  const rem = abs & 0x1fff;
  const rounded = rem > 0x1000 || (rem === 0x1000 && (base & 1) === 1) ? base + 1 : base;
  return sign | rounded; // a carry past 0x7bff lands on 0x7c00, infinity, as IEEE rounding says
}

/** `data` rounded to the nearest value of a 16-bit dtype and widened back (what a 16-bit weight holds). */
export function roundToHalf(data: ArrayLike<number>, dtype: HalfDType): Float32Array {
  const f = Float32Array.from(data);
  return dtype === 'bf16' ? bf16BitsToFloat32(float32ToBf16Bits(f)) : f16BitsToFloat32(float32ToF16Bits(f));
}
