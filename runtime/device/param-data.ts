// A parameter's value as the executors accept it: f32 numbers, or a tensor as its file stores it
// (F32, F16, BF16). On the device a weight has its IR dtype: f32, or 16-bit storage (bf16/f16) for
// frozen weights kept as stored, so a 16-bit file tensor uploads its bytes unchanged and anything
// else is converted (rounded to nearest even when narrowed, as torch does).
import { isHalf, numel, type HalfDType, type TensorType } from '../../compiler/ir/types.ts';
import { bf16BitsToFloat32, f16BitsToFloat32, fromFloat32, isFloatDtype, toFloat32, type StoredTensor } from '../io/dtypes.ts';

export type ParamData = Float32Array | StoredTensor;

const FILE_DTYPE = { bf16: 'BF16', f16: 'F16' } as const;

function isStored(d: ParamData): d is StoredTensor {
  return !(d instanceof Float32Array);
}

/** The number of elements `data` holds. */
function lengthOf(data: ParamData): number {
  return isStored(data) ? numel(data.shape) : data.length;
}

/** f32 values of a parameter value (what the interpreter and f32 weights take). */
export function paramValues(data: ParamData, what: string): Float32Array {
  if (!isStored(data)) return data;
  if (!isFloatDtype(data.dtype)) throw new Error(`${what}: a ${data.dtype} tensor is not a float weight`);
  return toFloat32(data, what);
}

/** The bytes to upload for a value of `type` (padded to a multiple of 4, as buffer writes require). */
export function deviceBytes(data: ParamData, type: TensorType, what: string): Uint8Array {
  const n = numel(type.shape);
  if (lengthOf(data) !== n) throw new Error(`program: ${what} wants ${n} values, got ${lengthOf(data)}`);
  if (type.dtype === 'i32') throw new Error(`program: ${what} is i32, got float values`);
  let bytes: Uint8Array;
  if (isHalf(type.dtype)) {
    const file = FILE_DTYPE[type.dtype];
    bytes = isStored(data) && data.dtype === file ? data.bytes : fromFloat32(paramValues(data, what), file, [n]).bytes;
  } else {
    const f = paramValues(data, what);
    bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  }
  if (bytes.byteLength % 4 === 0) return bytes;
  const padded = new Uint8Array(bytes.byteLength + 2);
  padded.set(bytes);
  return padded;
}

/** 16-bit values read back from the device, widened to f32. */
export function deviceValues(bytes: Uint8Array, dtype: HalfDType): Float32Array {
  const words = new Uint16Array(bytes.slice().buffer, 0, bytes.byteLength / 2);
  return dtype === 'bf16' ? bf16BitsToFloat32(words) : f16BitsToFloat32(words);
}
