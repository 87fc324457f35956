// How a kernel reads an operand stored in 16 bits (frozen weights kept as their file stores them:
// spec/ir.md "Storage dtypes"), as f32 values. bf16 is the upper half of an f32, so a bf16 pair
// packed in a u32 widens by a shift and a mask; f16 widens through unpack2x16float, or, where the
// target has `shader-f16`, is bound as array<f16> and converted with f32(). Accumulation is always
// f32. The key segment names the storage so a pipeline is never shared across storages.
import { isHalf, type DType } from '../ir/tensor.ts';
import type { Target } from '../target.ts';
import type { Elem } from './kernel.ts';

export interface OperandAccess {
  /** Pipeline-key segment ('' for f32). */
  key: string;
  /** The binding's element type, bound element by element or as groups of 4 (vec). */
  elem(vec: boolean): Elem;
  /** Element `idx` (a u32 expression) of binding `buf` as f32. */
  at(buf: string, idx: string, vec: boolean): string;
  /** Elements 4q..4q+3 of a vec binding as vec4<f32>. */
  quad(buf: string, q: string): string;
  /** How many elements the binding holds (for clamped loads). */
  length(buf: string, vec: boolean): string;
  /** Helper functions the expressions call (module scope). */
  decls: string;
}

/** f32 operands: plain loads. */
export const F32_ACCESS: OperandAccess = {
  key: '',
  elem: (vec) => (vec ? 'vec4f' : 'f32'),
  at: (buf, idx, vec) => (vec ? `${buf}[(${idx}) / 4u][(${idx}) % 4u]` : `${buf}[${idx}]`),
  quad: (buf, q) => `${buf}[${q}]`,
  length: (buf, vec) => (vec ? `(arrayLength(&${buf}) * 4u)` : `arrayLength(&${buf})`),
  decls: '',
};

/** 16-bit values packed two to a u32 (little-endian: element 2j is the low half of word j). */
function packed(kind: 'bf16' | 'f16'): OperandAccess {
  const word = (buf: string, idx: string, vec: boolean) => (vec ? `${buf}[(${idx}) / 4u][((${idx}) / 2u) % 2u]` : `${buf}[(${idx}) / 2u]`);
  return {
    key: kind,
    elem: (vec) => (vec ? 'vec2u' : 'u32'),
    at: (buf, idx, vec) => `${kind}_at(${word(buf, idx, vec)}, ${idx})`,
    quad: (buf, q) => `${kind}x4(${buf}[${q}])`,
    length: (buf, vec) => (vec ? `(arrayLength(&${buf}) * 4u)` : `(arrayLength(&${buf}) * 2u)`),
    decls: kind === 'bf16'
      ? `fn bf16_at(w: u32, i: u32) -> f32 { return bitcast<f32>((w << (16u - 16u * (i & 1u))) & 0xffff0000u); }
fn bf16x4(p: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(bitcast<f32>(p.x << 16u), bitcast<f32>(p.x & 0xffff0000u), bitcast<f32>(p.y << 16u), bitcast<f32>(p.y & 0xffff0000u));
}`
      : `fn f16_at(w: u32, i: u32) -> f32 { return unpack2x16float(w)[i & 1u]; }
fn f16x4(p: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y)); }`,
  };
}

/** f16 bound as array<f16> (the `shader-f16` feature; the module enables f16). */
const F16_NATIVE: OperandAccess = {
  key: 'f16h',
  elem: (vec) => (vec ? 'vec4h' : 'f16'),
  at: (buf, idx, vec) => (vec ? `f32(${buf}[(${idx}) / 4u][(${idx}) % 4u])` : `f32(${buf}[${idx}])`),
  quad: (buf, q) => `vec4<f32>(${buf}[${q}])`,
  length: (buf, vec) => (vec ? `(arrayLength(&${buf}) * 4u)` : `arrayLength(&${buf})`),
  decls: '',
};

const BF16 = packed('bf16');
const F16_PACKED = packed('f16');

/** How kernels for `target` read an operand of `dtype` (f32 unless 16-bit). */
export function operandAccess(dtype: DType, target: Target): OperandAccess {
  if (!isHalf(dtype)) return F32_ACCESS;
  if (dtype === 'bf16') return BF16;
  return target.features.shaderF16 ? F16_NATIVE : F16_PACKED;
}

/** Joins a key from its segments, leaving out empty ones. */
export function keyOf(...parts: (string | false | undefined)[]): string {
  return parts.filter(Boolean).join(':');
}
