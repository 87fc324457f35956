// RoPE inverse frequencies and attention factor, computed on the host exactly as transformers does
// (modeling_rope_utils.py, v5; the 4.56+ semantics are the same). torch computes inv_freq in float32,
// so every step below is rounded to f32 where torch's would be: `f` is one f32 rounding. Python
// scalars meeting an f32 tensor are cast to f32 first (torch's wrapped-number promotion); scalar
// arithmetic before that (yarn's correction range, the attention factors) stays in double, as in
// Python. pow is correctly rounded here and 1-ulp accurate in torch (Sleef), so a value may differ
// from torch's by an ulp.
//
// Length-dependent types (dynamic, longrope) are computed for one length: the compiled sequence (or
// the KV-cache length when decoding). transformers recomputes them per forward call from
// max(position_ids) + 1 and keeps the largest seen (spec/architectures.md says where that differs).
import type { RopeConfig } from '../check/model.ts';

const f = Math.fround;

export interface RopeTables {
  /** inv_freq [dim / 2], f32 values. */
  invFreq: Float32Array;
  /** Multiplies cos and sin (transformers' attention_scaling); 1 except for yarn and longrope. */
  attentionFactor: number;
}

/** torch.arange(0, dim, 2).float() / dim: the exponents 2j/dim in f32. */
function exponents(dim: number): number[] {
  return Array.from({ length: dim / 2 }, (_, j) => f((2 * j) / dim));
}

/** base ** e with base cast to f32 (torch.pow(Scalar, Tensor) in float32). */
const powF32 = (base: number, e: number): number => f(Math.pow(f(base), e));

/** 1.0 / (base ** (arange(0, dim, 2) / dim)): the default frequencies. */
function defaultFrequencies(theta: number, dim: number): number[] {
  return exponents(dim).map((e) => f(1 / powF32(theta, e)));
}

function need(value: number | undefined, what: string, type: string): number {
  if (value === undefined) throw new Error(`rope ${type}: ${what} is missing (the checker requires it)`);
  return value;
}

/** Dynamic NTK's base for a sequence of `seqLen` tokens (f32 tensor arithmetic, as at run time). */
function dynamicBase(r: RopeConfig, seqLen: number): number {
  const L = need(r.maxPositions, 'max_position_embeddings', 'dynamic');
  const factor = need(r.factor, 'factor', 'dynamic');
  // At seq_len <= L the bracket is exactly 1: the init-time (Python) value, the default frequencies.
  if (seqLen <= L) return r.theta;
  const a = f(f(factor) * f(seqLen));
  const b = f(a / f(L));
  const c = f(b - f(factor - 1));
  const d = f(Math.pow(c, f(r.dim / (r.dim - 2))));
  return f(f(r.theta) * d);
}

function llama3(r: RopeConfig): number[] {
  const factor = need(r.factor, 'factor', 'llama3');
  const lowFf = need(r.lowFreqFactor, 'low_freq_factor', 'llama3');
  const highFf = need(r.highFreqFactor, 'high_freq_factor', 'llama3');
  const old = need(r.originalMaxPositions, 'original_max_position_embeddings', 'llama3');
  const lowWavelen = f(old / lowFf);
  const highWavelen = f(old / highFf);
  return defaultFrequencies(r.theta, r.dim).map((inv) => {
    const wavelen = f(f(2 * Math.PI) / inv);
    const scaled = wavelen > lowWavelen ? f(inv / f(factor)) : inv;
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    if (!medium) return scaled;
    const smooth = f(f(f(f(old) / wavelen) - f(lowFf)) / f(highFf - lowFf));
    return f(f(f(f(1 - smooth) * scaled) / f(factor)) + f(smooth * scaled));
  });
}

/** transformers' get_mscale. */
const mscaleOf = (scale: number, mscale = 1): number => (scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1);

function yarnFactor(r: RopeConfig): number {
  if (r.factor !== undefined) return r.factor;
  return need(r.maxPositions, 'max_position_embeddings', 'yarn') / need(r.originalMaxPositions, 'original_max_position_embeddings', 'yarn');
}

function yarn(r: RopeConfig): RopeTables {
  const factor = yarnFactor(r);
  const original = need(r.originalMaxPositions, 'original_max_position_embeddings', 'yarn');
  let attentionFactor = r.attentionFactor;
  if (attentionFactor === undefined) {
    attentionFactor = r.mscale && r.mscaleAllDim ? mscaleOf(factor, r.mscale) / mscaleOf(factor, r.mscaleAllDim) : mscaleOf(factor);
  }
  const betaFast = r.betaFast || 32;
  const betaSlow = r.betaSlow || 1;
  const { dim, theta } = r;
  const correctionDim = (rotations: number) => (dim * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (r.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // transformers' guard against a zero-width ramp
  const invFreq = exponents(dim).map((e, j) => {
    const pos = powF32(theta, e);
    const extrapolation = f(1 / pos);
    const interpolation = f(1 / f(f(factor) * pos));
    const ramp = Math.min(1, Math.max(0, f(f(j - f(low)) / f(high - low))));
    const extrapolationFactor = f(1 - ramp);
    return f(f(interpolation * f(1 - extrapolationFactor)) + f(extrapolation * extrapolationFactor));
  });
  return { invFreq: Float32Array.from(invFreq), attentionFactor };
}

function longrope(r: RopeConfig, seqLen: number): RopeTables {
  const original = need(r.originalMaxPositions, 'original_max_position_embeddings', 'longrope');
  const factor = r.factor ?? need(r.maxPositions, 'max_position_embeddings', 'longrope') / original;
  const attentionFactor = r.attentionFactor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
  const ext = seqLen > original ? r.longFactor : r.shortFactor;
  if (!ext || ext.length !== r.dim / 2) throw new Error(`rope longrope: ${seqLen > original ? 'long' : 'short'}_factor must have ${r.dim / 2} values`);
  const invFreq = exponents(r.dim).map((e, j) => f(1 / f(f(ext[j]!) * powF32(r.theta, e))));
  return { invFreq: Float32Array.from(invFreq), attentionFactor };
}

/**
 * The inverse frequencies [dim / 2] and attention factor of `rope` for a sequence of `seqLen`
 * positions (only dynamic and longrope depend on it).
 */
export function ropeTables(rope: RopeConfig, seqLen: number): RopeTables {
  if (rope.dim % 2 !== 0 || rope.dim < 2) throw new Error(`rope: rotary dim ${rope.dim} must be even and positive`);
  switch (rope.type) {
    case 'default':
      return { invFreq: Float32Array.from(defaultFrequencies(rope.theta, rope.dim)), attentionFactor: 1 };
    case 'linear': {
      const factor = f(need(rope.factor, 'factor', 'linear'));
      return { invFreq: Float32Array.from(defaultFrequencies(rope.theta, rope.dim), (x) => f(x / factor)), attentionFactor: 1 };
    }
    case 'dynamic':
      return { invFreq: Float32Array.from(defaultFrequencies(dynamicBase(rope, seqLen), rope.dim)), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: Float32Array.from(llama3(rope)), attentionFactor: 1 };
    case 'yarn':
      return yarn(rope);
    case 'longrope':
      return longrope(rope, seqLen);
  }
}

/** The default RoPE's inverse frequencies (1 / theta^(2j/dim), in f32 as torch computes them). */
export function defaultInvFreq(theta: number, dim: number): Float32Array {
  return ropeTables({ type: 'default', theta, dim }, 1).invFreq;
}
