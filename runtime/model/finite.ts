// NaN and ±Inf in weights are refused where weights enter (files read) and leave (files written),
// by tensor name: a NaN base makes every logit NaN (merge would write an all-NaN model, generate
// would print token 0), and a NaN adapter would be saved as if trained. The scan reads the float32
// exponent bits (all ones = NaN or Inf) through an integer view: a few GB/s on one core.
import { UserError } from '../../compiler/errors.ts';

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
