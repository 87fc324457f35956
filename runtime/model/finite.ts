// NaN and ±Inf in weights are refused where weights enter (files read) and leave (files written),
// by tensor name: a NaN base makes every logit NaN (merge would write an all-NaN model, generate
// would print token 0), and a NaN adapter would be saved as if trained. The scan reads the float32
// exponent bits (all ones = NaN or Inf) through an integer view: a few GB/s on one core.
import { UserError } from '../../compiler/errors.ts';
import { toFloat32, type StoredTensor } from '../io/dtypes.ts';

const EXPONENT = 0x7f800000;

/** Index of the first NaN or ±Inf in `data`, or -1. */
export function firstNonFinite(data: Float32Array, from = 0): number {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = from; i < bits.length; i++) if ((bits[i]! & EXPONENT) === EXPONENT) return i;
  return -1;
}

function coordinates(index: number, shape: readonly number[]): number[] {
  const out: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

/**
 * Throws a UserError naming `source`, the tensor, the first bad value's index (and element, given
 * the shape) and how many more there are, when `data` holds NaN or ±Inf.
 */
export function requireFinite(data: Float32Array, source: string, name: string, shape?: readonly number[], what = 'non-finite weights are refused (a corrupt, overflowed or diverged file)'): void {
  const first = firstNonFinite(data);
  if (first < 0) return;
  let more = 0;
  for (let i = firstNonFinite(data, first + 1); i >= 0; i = firstNonFinite(data, i + 1)) more++;
  const where = shape && shape.length > 1 && shape.reduce((a, b) => a * b, 1) === data.length ? ` (element [${coordinates(first, shape).join(', ')}])` : '';
  throw new UserError(`${source}: tensor "${name}" holds ${data[first]} at index ${first}${where}${more ? ` and ${more} more non-finite value${more > 1 ? 's' : ''}` : ''}; ${what}`);
}

/** Bits that are all ones in the exponent of a NaN or ±Inf, by 16-bit dtype. */
const HALF_EXPONENT = { BF16: 0x7f80, F16: 0x7c00 } as const;

/** Index of the first NaN or ±Inf among a stored tensor's elements (F32, F16 or BF16 bytes), or -1. */
export function firstNonFiniteStored(t: StoredTensor): number {
  if (t.dtype === 'F32') {
    if (t.bytes.byteOffset % 4 === 0) return firstNonFinite(new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength / 4));
    return firstNonFinite(toFloat32(t));
  }
  if (t.dtype !== 'F16' && t.dtype !== 'BF16') return firstNonFinite(toFloat32(t));
  const mask = HALF_EXPONENT[t.dtype];
  const n = t.bytes.byteLength >>> 1;
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  for (let i = 0; i < n; i++) if ((dv.getUint16(i * 2, true) & mask) === mask) return i;
  return -1;
}

/**
 * requireFinite for a tensor as stored, scanned in its own dtype (no f32 copy unless it is bad).
 * `firstRow`: the rows of a larger tensor this piece holds start there (`shape` is the whole tensor's).
 */
export function requireFiniteStored(t: StoredTensor, source: string, name: string, shape: readonly number[], firstRow = 0): void {
  if (firstNonFiniteStored(t) < 0) return;
  const values = toFloat32(t, name);
  const rowLen = shape.slice(1).reduce((a, b) => a * b, 1);
  if (firstRow === 0 && values.length === shape.reduce((a, b) => a * b, 1)) return requireFinite(values, source, name, shape);
  // A row range: report the element in the whole tensor.
  const at = firstNonFinite(values);
  const index = firstRow * rowLen + at;
  throw new UserError(`${source}: tensor "${name}" holds ${values[at]} at index ${index} (element [${coordinates(index, shape).join(', ')}]); non-finite weights are refused (a corrupt, overflowed or diverged file)`);
}
