// Picking the next token from logits: greedy, temperature, top-k and top-p (nucleus), in the
// order transformers' generate applies its logits warpers (temperature, then top-k, then top-p).
import { UserError } from '../../compiler/errors.ts';
import type { Rng } from '../data/rng.ts';

export interface SamplingOptions {
  /** 0 means greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
}

/**
 * Refuses values outside the ranges transformers' generate accepts (its logits warpers raise on
 * them): temperature >= 0 (0 = greedy), top_k an integer >= 0 (0 = off), top_p in (0, 1] (1 = off).
 */
export function checkSamplingOptions(o: SamplingOptions): void {
  const { temperature, topK, topP } = o;
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0)) throw new UserError(`temperature must be a number >= 0 (0 = greedy), got ${temperature}`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new UserError(`top-k must be an integer >= 0 (0 = off), got ${topK}`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new UserError(`top-p must be in (0, 1] (1 = off), got ${topP}`);
}

export function argmax(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** A draw from softmax(logits / temperature) over one row, in id order. */
function sampleSoftmax(logits: ArrayLike<number>, temperature: number, rng: Rng, offset: number, length: number): number {
  let top = -Infinity;
  for (let i = 0; i < length; i++) top = Math.max(top, logits[offset + i]!);
  const w = new Float64Array(length);
  let total = 0;
  for (let i = 0; i < length; i++) total += w[i] = Math.exp((logits[offset + i]! - top) / temperature);
  let u = rng.next() * total;
  for (let i = 0; i < length; i++) {
    u -= w[i]!;
    if (u < 0) return i;
  }
  return argmax(logits, offset, length); // rounding left u >= 0: the last mass is the largest's share
}

/** Samples a token id from one row of logits. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng, offset = 0, length = logits.length - offset): number {
  const temperature = options.temperature ?? 0;
  if (temperature <= 0) return argmax(logits, offset, length);
  // Without top-k or top-p nothing is cut: one pass over the vocabulary in id order (sorting 128k
  // logits per token would cost more than a decoding step of a small model).
  if (!(options.topK && options.topK > 0) && (options.topP ?? 1) >= 1) return sampleSoftmax(logits, temperature, rng, offset, length);
  const ids = Array.from({ length }, (_, i) => i).sort((a, b) => logits[offset + b]! - logits[offset + a]!);
  const k = options.topK && options.topK > 0 ? Math.min(options.topK, length) : length;
  const kept = ids.slice(0, k);
  const top = logits[offset + kept[0]!]! / temperature;
  const weights = kept.map((id) => Math.exp(logits[offset + id]! / temperature - top));
  const total = weights.reduce((a, b) => a + b, 0);
  let cut = kept.length;
  const p = options.topP ?? 1;
  if (p < 1) {
    let acc = 0;
    for (let i = 0; i < kept.length; i++) {
      acc += weights[i]! / total;
      // Keep tokens until the mass reaches p, always at least one (transformers' min_tokens_to_keep).
      if (acc >= p) {
        cut = i + 1;
        break;
      }
    }
  }
  const mass = weights.slice(0, cut).reduce((a, b) => a + b, 0);
  let u = rng.next() * mass;
  for (let i = 0; i < cut; i++) {
    u -= weights[i]!;
    if (u < 0) return kept[i]!;
  }
  return kept[cut - 1]!;
}
