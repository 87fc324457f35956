// Tensor element types as safetensors names them, tensors held AS STORED (dtype + shape + raw
// little-endian bytes), and the float conversions between them. Pure (no Node APIs).
//
// Loading keeps 16-bit weights 16-bit: a StoredTensor's bytes go to the GPU as they are, and only
// code that needs numbers on the host calls toFloat32(). Conversions to 16 bits round as torch's
// `tensor.to(torch.bfloat16 / torch.float16)` does (round to nearest, ties to even), so a merged
// model written here has the bits transformers would have written.
import { UserError } from '../../compiler/errors.ts';
import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits } from '../../compiler/ir/float16.ts';

/** Element size in bytes of each dtype the safetensors format defines. */
export const DTYPE_SIZES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;

export type Dtype = keyof typeof DTYPE_SIZES;

/** The float dtypes Rankfold reads and writes as model weights. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16'];

export function isFloatDtype(d: string): d is FloatDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

/** A tensor as a file stores it: `bytes` are little-endian elements of `dtype`, row-major. */
export interface StoredTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes as 16-bit words, without copying when the view is aligned and the host little-endian. */
function words16(bytes: Uint8Array): Uint16Array {
  const n = bytes.byteLength >>> 1;
  if (HOST_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Uint16Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true);
  return out;
}

function bytesOf16(words: Uint16Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out = new Uint8Array(words.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) dv.setUint16(i * 2, words[i]!, true);
  return out;
}

export { bf16BitsToFloat32, f16BitsToFloat32, float32ToBf16Bits, float32ToF16Bits } from '../../compiler/ir/float16.ts';

/** The tensor's elements as float32 (F32, F16, BF16, F64). */
export function toFloat32(t: StoredTensor, what = 'tensor'): Float32Array {
  switch (t.dtype) {
    case 'F32': {
      const n = t.bytes.byteLength / 4;
      if (HOST_LITTLE_ENDIAN) {
        const copy = new Uint8Array(t.bytes.byteLength);
        copy.set(t.bytes);
        return new Float32Array(copy.buffer, 0, n);
      }
      const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      return Float32Array.from({ length: n }, (_, i) => dv.getFloat32(i * 4, true));
    }
    case 'F16':
      return f16BitsToFloat32(words16(t.bytes));
    case 'BF16':
      return bf16BitsToFloat32(words16(t.bytes));
    case 'F64': {
      const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      return Float32Array.from({ length: t.bytes.byteLength / 8 }, (_, i) => dv.getFloat64(i * 8, true));
    }
    default:
      throw new UserError(`${what} is ${t.dtype}, not a float tensor`);
  }
}

/** A stored tensor of `dtype` holding `data` (rounded to nearest even for the 16-bit types). */
export function fromFloat32(data: Float32Array, dtype: FloatDtype, shape: readonly number[]): StoredTensor {
  if (numel(shape) !== data.length) throw new UserError(`shape ${JSON.stringify(shape)} holds ${numel(shape)} elements but the data has ${data.length}`);
  let bytes: Uint8Array;
  if (dtype === 'F32') {
    bytes = new Uint8Array(data.byteLength);
    if (HOST_LITTLE_ENDIAN) bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else {
      const dv = new DataView(bytes.buffer);
      data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    }
  } else {
    bytes = bytesOf16(dtype === 'BF16' ? float32ToBf16Bits(data) : float32ToF16Bits(data));
  }
  return { dtype, shape: [...shape], bytes };
}

/** The tensor in another float dtype; the same object when it already has it (bf16 stays bit-exact). */
export function convertFloat(t: StoredTensor, dtype: FloatDtype, what = 'tensor'): StoredTensor {
  if (t.dtype === dtype) return t;
  return fromFloat32(toFloat32(t, what), dtype, t.shape);
}

/** Integer tensors (I64/I32, as io files store token ids) as Int32Array; values outside int32 are an error. */
export function toInt32(t: StoredTensor, what = 'tensor'): Int32Array {
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const size = DTYPE_SIZES[t.dtype];
  const n = t.bytes.byteLength / size;
  const out = new Int32Array(n);
  const tooBig = (i: number, v: bigint | number): never => {
    throw new UserError(`${what} (${t.dtype}) element ${i} = ${v} does not fit in int32`);
  };
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'I64': {
        const lo = dv.getInt32(i * 8, true);
        const hi = dv.getInt32(i * 8 + 4, true);
        // Fits in int32 exactly when the high word is the sign extension of the low word.
        if (hi !== lo >> 31) tooBig(i, dv.getBigInt64(i * 8, true));
        out[i] = lo;
        break;
      }
      case 'U64': {
        const v = dv.getBigUint64(i * 8, true);
        if (v > 0x7fffffffn) tooBig(i, v);
        out[i] = Number(v);
        break;
      }
      case 'I32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'U32': {
        const v = dv.getUint32(i * 4, true);
        if (v > 0x7fffffff) tooBig(i, v);
        out[i] = v;
        break;
      }
      case 'I16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'U16':
        out[i] = dv.getUint16(i * 2, true);
        break;
      case 'I8':
        out[i] = dv.getInt8(i);
        break;
      case 'U8':
      case 'BOOL':
        out[i] = dv.getUint8(i);
        break;
      default:
        throw new UserError(`${what} is ${t.dtype}, not an integer tensor`);
    }
  }
  return out;
}

/** A stored I32 tensor (token ids, positions) from an Int32Array. */
export function fromInt32(data: Int32Array, shape: readonly number[]): StoredTensor {
  if (numel(shape) !== data.length) throw new UserError(`shape ${JSON.stringify(shape)} holds ${numel(shape)} elements but the data has ${data.length}`);
  const bytes = new Uint8Array(data.byteLength);
  const dv = new DataView(bytes.buffer);
  data.forEach((v, i) => dv.setInt32(i * 4, v, true));
  return { dtype: 'I32', shape: [...shape], bytes };
}

/** Parses a torch dtype name as config.json writes it ("bfloat16", "torch.float16", "float32"). */
export function dtypeFromTorchName(name: string): FloatDtype | undefined {
  const n = name.replace(/^torch\./, '');
  if (n === 'bfloat16') return 'BF16';
  if (n === 'float16' || n === 'half') return 'F16';
  if (n === 'float32' || n === 'float') return 'F32';
  return undefined;
}

export function torchNameOf(dtype: FloatDtype): string {
  return dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32';
}
