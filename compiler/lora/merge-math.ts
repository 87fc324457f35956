// Merging a LoRA adapter into its base weight and taking it out again, as PEFT's
// LoraLayer.merge/unmerge do (tuners/lora/layer.py), for plain, rsLoRA and DoRA adapters.
// Products are accumulated in float64 and rounded once, so merge followed by unmerge returns
// W0 within one float32 ulp.

export interface LoraFactors {
  /** lora_A: [rank, inFeatures]. */
  a: Float32Array;
  /** lora_B: [outFeatures, rank]. */
  b: Float32Array;
  rank: number;
  inFeatures: number;
  outFeatures: number;
  /** alpha / r, or alpha / sqrt(r) with rsLoRA. */
  scaling: number;
  /** DoRA's magnitude vector: [outFeatures]. */
  magnitude?: Float32Array;
  /** GPT-2 Conv1D storage: the weight is [in, out] instead of [out, in]. */
  fanInFanOut: boolean;
}

/** scaling·B·A in float64, laid out like the stored weight ([out, in], or [in, out] for Conv1D). */
export function deltaWeight(f: Omit<LoraFactors, 'magnitude'>): Float64Array {
  const { a, b, rank, inFeatures: k, outFeatures: n } = f;
  const delta = new Float64Array(n * k);
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let r = 0; r < rank; r++) acc += b[o * rank + r]! * a[r * k + i]!;
      delta[f.fanInFanOut ? i * n + o : o * k + i] = f.scaling * acc;
    }
  }
  return delta;
}

/** Per-output-feature norm of W + delta (DoRA's weight_norm), from stored layout. */
function outputRowNorms(w: ArrayLike<number>, delta: Float64Array, f: Omit<LoraFactors, 'magnitude'>): Float64Array {
  const { inFeatures: k, outFeatures: n } = f;
  const norms = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    let ss = 0;
    for (let i = 0; i < k; i++) {
      const idx = f.fanInFanOut ? i * n + o : o * k + i;
      const v = w[idx]! + delta[idx]!;
      ss += v * v;
    }
    norms[o] = Math.sqrt(ss);
  }
  return norms;
}

/**
 * DoRA's initial magnitude: ‖W0 + scaling·B·A‖ per output feature (PEFT's DoraLinearLayer.update_layer),
 * so the adapted layer starts equal to the base layer.
 */
export function doraInitialMagnitude(w0: ArrayLike<number>, f: Omit<LoraFactors, 'magnitude'>): Float32Array {
  return Float32Array.from(outputRowNorms(w0, deltaWeight(f), f));
}

function outputIndex(idx: number, f: LoraFactors): number {
  return f.fanInFanOut ? idx % f.outFeatures : Math.floor(idx / f.inFeatures);
}

/**
 * Returns the merged weight. For DoRA also returns the factor magnitude/‖W0 + ΔW‖ per output
 * feature, which unmerge needs (PEFT caches it the same way).
 */
export function mergeLora(w0: Float32Array, f: LoraFactors): { weight: Float32Array; doraFactor?: Float64Array } {
  checkSizes(w0, f);
  const delta = deltaWeight(f);
  const weight = new Float32Array(w0.length);
  if (!f.magnitude) {
    for (let i = 0; i < w0.length; i++) weight[i] = w0[i]! + delta[i]!;
    return { weight };
  }
  const norms = outputRowNorms(w0, delta, f);
  const doraFactor = new Float64Array(f.outFeatures);
  for (let o = 0; o < f.outFeatures; o++) doraFactor[o] = f.magnitude[o]! / norms[o]!;
  for (let i = 0; i < w0.length; i++) weight[i] = doraFactor[outputIndex(i, f)]! * (w0[i]! + delta[i]!);
  return { weight, doraFactor };
}

/** Inverse of mergeLora: W0 = W − ΔW (DoRA: W / factor − ΔW). */
export function unmergeLora(w: Float32Array, f: LoraFactors, doraFactor?: Float64Array): Float32Array {
  checkSizes(w, f);
  const delta = deltaWeight(f);
  const out = new Float32Array(w.length);
  if (!f.magnitude) {
    for (let i = 0; i < w.length; i++) out[i] = w[i]! - delta[i]!;
    return out;
  }
  if (!doraFactor) throw new Error('unmerging a DoRA adapter needs the factor returned by mergeLora');
  for (let i = 0; i < w.length; i++) out[i] = w[i]! / doraFactor[outputIndex(i, f)]! - delta[i]!;
  return out;
}

function checkSizes(w: Float32Array, f: LoraFactors): void {
  const want = f.inFeatures * f.outFeatures;
  if (w.length !== want) throw new Error(`weight has ${w.length} elements, adapter expects ${f.outFeatures}x${f.inFeatures}`);
  if (f.a.length !== f.rank * f.inFeatures) throw new Error(`lora_A has ${f.a.length} elements, expected ${f.rank}x${f.inFeatures}`);
  if (f.b.length !== f.outFeatures * f.rank) throw new Error(`lora_B has ${f.b.length} elements, expected ${f.outFeatures}x${f.rank}`);
  if (f.magnitude && f.magnitude.length !== f.outFeatures) throw new Error(`magnitude has ${f.magnitude.length} elements, expected ${f.outFeatures}`);
}
