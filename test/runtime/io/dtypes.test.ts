import { describe, expect, it } from 'vitest';
import { UserError } from '../../../compiler/errors.ts';
import {
  bf16BitsToFloat32,
  convertFloat,
  dtypeFromTorchName,
  f16BitsToFloat32,
  float32ToBf16Bits,
  float32ToF16Bits,
  fromFloat32,
  toFloat32,
  toInt32,
} from '../../../runtime/io/dtypes.ts';
import { Rng } from '../../../runtime/data/rng.ts';

const f32 = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0]!;
const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const bf16 = (x: number) => float32ToBf16Bits(new Float32Array([x]))[0]!;
const f16 = (x: number) => float32ToF16Bits(new Float32Array([x]))[0]!;
const fromHalf = (h: number) => f16BitsToFloat32(new Uint16Array([h]))[0]!;
const fromBf = (h: number) => bf16BitsToFloat32(new Uint16Array([h]))[0]!;

/** Random float32 values spread over every exponent, both signs. */
function randomFloats(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => f32(r.nextU32() & 0x7f7fffff | (r.int(2) << 31)));
}

/**
 * The reference rounding, computed independently of the bit tricks: among the representable values
 * `decode(k)` and `decode(k + 1)` (k = truncated bits), pick the nearer one in exact double
 * arithmetic, ties to the even bit pattern.
 */
function nearest(x: number, truncated: number, decode: (h: number) => number): number {
  const lo = decode(truncated);
  const hi = decode(truncated + 1);
  const dlo = Math.abs(x - lo);
  const dhi = Math.abs(hi - x);
  if (dlo < dhi) return truncated;
  if (dhi < dlo) return truncated + 1;
  return truncated % 2 === 0 ? truncated : truncated + 1;
}

describe('bfloat16', () => {
  it('rounds to nearest, ties to even, like torch', () => {
    expect(bf16(1)).toBe(0x3f80);
    expect(bf16(-2)).toBe(0xc000);
    expect(bf16(1 + 2 ** -8)).toBe(0x3f80); // tie, 0x3f80 is even
    expect(bf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, 0x3f81 is odd
    expect(bf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // just above the tie
    expect(bf16(Infinity)).toBe(0x7f80);
    expect(bf16(-Infinity)).toBe(0xff80);
    expect(bf16(NaN)).toBe(0x7fc0);
    expect(bf16(f32(0x7f7fffff))).toBe(0x7f80); // float32 max rounds past the largest bf16
    expect(bf16(-0)).toBe(0x8000);
    expect(bf16(f32(0x00000001))).toBe(0); // smallest f32 subnormal
  });

  it('matches an independent nearest-even rounding on 20k random floats, and round-trips every bf16', () => {
    const xs = randomFloats(20000, 7);
    const got = float32ToBf16Bits(xs);
    xs.forEach((x, i) => {
      const sign = bitsOf(x) >>> 31 ? 0x8000 : 0;
      const mag = (bitsOf(x) & 0x7fffffff) >>> 16;
      const want = sign | nearest(Math.abs(x), mag, (h) => (h === 0x7f80 ? 2 ** 128 : fromBf(h))); // past the largest bf16 the next step is 2^128
      expect(got[i]).toBe(want);
    });
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7fff) <= 0x7f80);
    expect(Array.from(float32ToBf16Bits(bf16BitsToFloat32(all)))).toEqual(Array.from(all));
  });
});

describe('float16', () => {
  it('decodes subnormals, infinities and NaN', () => {
    expect(fromHalf(0x0001)).toBe(2 ** -24);
    expect(fromHalf(0x03ff)).toBe(1023 * 2 ** -24);
    expect(fromHalf(0x0400)).toBe(2 ** -14);
    expect(fromHalf(0x7bff)).toBe(65504);
    expect(fromHalf(0xfc00)).toBe(-Infinity);
    expect(fromHalf(0x7e00)).toBeNaN();
    expect(Object.is(fromHalf(0x8000), -0)).toBe(true);
  });

  it('rounds to nearest even at the edges: overflow, subnormals, underflow', () => {
    expect(f16(65504)).toBe(0x7bff);
    expect(f16(65519.99)).toBe(0x7bff);
    expect(f16(65520)).toBe(0x7c00); // the tie past the largest half goes to infinity
    expect(f16(1e6)).toBe(0x7c00);
    expect(f16(-1e6)).toBe(0xfc00);
    expect(f16(NaN)).toBe(0x7e00);
    expect(f16(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even is 0
    expect(f16(2 ** -25 * 1.0001)).toBe(1);
    expect(f16(3 * 2 ** -25)).toBe(2); // 1.5 units: tie, to even
    expect(f16(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up from the subnormals into the smallest normal
    expect(f16(1 + 2 ** -11)).toBe(0x3c00); // tie, even
    expect(f16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f16(-0)).toBe(0x8000);
  });

  it('round-trips every half and matches an independent nearest-even rounding on random floats', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7fff) <= 0x7c00);
    expect(Array.from(float32ToF16Bits(f16BitsToFloat32(all)))).toEqual(Array.from(all));
    // Random values inside the half range (|x| < 65520) across all its exponents.
    const r = new Rng(3);
    const xs = Float32Array.from({ length: 20000 }, () => (r.int(2) ? -1 : 1) * r.next() * 2 ** (r.int(42) - 26));
    const got = float32ToF16Bits(xs);
    xs.forEach((x, i) => {
      const mag = got[i]! & 0x7fff;
      // The truncation is the largest half <= |x|: the result must be it or the next one, whichever is nearer.
      const trunc = fromHalf(mag) > Math.abs(x) ? mag - 1 : mag;
      expect(mag).toBe(nearest(Math.abs(x), trunc, fromHalf));
      expect(got[i]! >>> 15).toBe(x < 0 || Object.is(x, -0) ? 1 : 0);
    });
  });
});

describe('stored tensors', () => {
  it('fromFloat32 / toFloat32 round-trip each float dtype, from unaligned byte views too', () => {
    const data = new Float32Array([1, -2.5, 0.15625, 3e-5]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const t = fromFloat32(data, dtype, [2, 2]);
      expect(t.bytes.byteLength).toBe(dtype === 'F32' ? 16 : 8);
      const shifted = new Uint8Array(t.bytes.byteLength + 1);
      shifted.set(t.bytes, 1);
      const back = toFloat32({ ...t, bytes: shifted.subarray(1) });
      for (let i = 0; i < 3; i++) expect(back[i]).toBe(data[i]); // exactly representable in all three
      expect(back[3]).toBeCloseTo(3e-5, dtype === 'F32' ? 10 : 6);
    }
    expect(() => fromFloat32(data, 'F32', [3])).toThrow(UserError);
  });

  it('convertFloat keeps a tensor already in the dtype (bf16 stays bit-exact) and converts otherwise', () => {
    const t = fromFloat32(new Float32Array([1, 1 + 2 ** -7]), 'BF16', [2]);
    expect(convertFloat(t, 'BF16')).toBe(t);
    const asF32 = convertFloat(t, 'F32');
    expect(Array.from(toFloat32(asF32))).toEqual([1, 1 + 2 ** -7]);
    expect(Array.from(convertFloat(asF32, 'BF16').bytes)).toEqual(Array.from(t.bytes));
  });

  it('toInt32 reads I64 token ids and refuses values past int32; floats are not ints', () => {
    const ids = new BigInt64Array([5n, -1n, 151643n]);
    expect(Array.from(toInt32({ dtype: 'I64', shape: [3], bytes: new Uint8Array(ids.buffer) }))).toEqual([5, -1, 151643]);
    const big = new BigInt64Array([2n ** 40n]);
    expect(() => toInt32({ dtype: 'I64', shape: [1], bytes: new Uint8Array(big.buffer) }, 'ids')).toThrow(/ids \(I64\) element 0/);
    expect(() => toFloat32({ dtype: 'I32', shape: [1], bytes: new Uint8Array(4) }, 'x')).toThrow(/x is I32, not a float tensor/);
  });

  it('parses torch dtype names', () => {
    expect(dtypeFromTorchName('bfloat16')).toBe('BF16');
    expect(dtypeFromTorchName('torch.float16')).toBe('F16');
    expect(dtypeFromTorchName('float32')).toBe('F32');
    expect(dtypeFromTorchName('int8')).toBeUndefined();
  });
});
