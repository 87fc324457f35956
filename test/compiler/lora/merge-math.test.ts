import { describe, expect, it } from 'vitest';
import { deltaWeight, mergeLora, unmergeLora, type LoraFactors } from '../../../compiler/lora/merge-math.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function factors(n: number, k: number, r: number, opts: Partial<LoraFactors> = {}): { w0: Float32Array; f: LoraFactors } {
  const rand = rng(n * 131 + k * 7 + r);
  const fill = (len: number) => Float32Array.from({ length: len }, rand);
  return {
    w0: fill(n * k),
    f: { a: fill(r * k), b: fill(n * r), rank: r, inFeatures: k, outFeatures: n, scaling: 2, fanInFanOut: false, ...opts },
  };
}

/** The spacing of float32 values around x. */
function ulpOf(x: number): number {
  const e = Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126)));
  return 2 ** (e - 23);
}

/** Distance in float32 units in the last place. */
function ulps(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  const toOrdered = (x: number) => (x < 0 ? 0x80000000 - x : x);
  return Math.abs(toOrdered(i[0]!) - toOrdered(i[1]!));
}

describe('LoRA merge/unmerge', () => {
  it('merges W0 + scaling·B·A', () => {
    const { w0, f } = factors(3, 4, 2);
    const { weight } = mergeLora(w0, f);
    for (let o = 0; o < 3; o++) {
      for (let i = 0; i < 4; i++) {
        let ba = 0;
        for (let r = 0; r < 2; r++) ba += f.b[o * 2 + r]! * f.a[r * 4 + i]!;
        expect(weight[o * 4 + i]).toBeCloseTo(w0[o * 4 + i]! + 2 * ba, 6);
      }
    }
  });

  it('lays the delta out as [in, out] for Conv1D (fan_in_fan_out)', () => {
    const { f } = factors(3, 5, 2);
    const plain = deltaWeight(f);
    const conv = deltaWeight({ ...f, fanInFanOut: true });
    for (let o = 0; o < 3; o++) for (let i = 0; i < 5; i++) expect(conv[i * 3 + o]).toBe(plain[o * 5 + i]);
  });

  for (const variant of ['plain', 'conv1d', 'dora'] as const) {
    it(`unmerge returns W0 up to the merge's own float32 rounding (${variant})`, () => {
      // Rounding W0 + ΔW to float32 loses up to half an ulp of the merged value; no unmerge can
      // recover more than that, so the bound is one ulp of the merged weight.
      const { w0, f } = factors(33, 17, 4, {
        fanInFanOut: variant === 'conv1d',
        magnitude: variant === 'dora' ? Float32Array.from({ length: 33 }, (_, i) => 0.5 + i / 33) : undefined,
      });
      const { weight, doraFactor } = mergeLora(w0, f);
      const back = unmergeLora(weight, f, doraFactor);
      for (let i = 0; i < w0.length; i++) {
        const bound = ulpOf(weight[i]!) * (variant === 'dora' ? 2 / f.magnitude![Math.floor(i / 17)]! + 1 : 1);
        expect(Math.abs(back[i]! - w0[i]!), `element ${i}`).toBeLessThanOrEqual(bound);
      }
    });
  }

  it('unmerge is within one ulp of W0 when the update is small, as trained adapters are', () => {
    const { w0, f } = factors(64, 48, 8, { scaling: 1e-3 });
    const back = unmergeLora(mergeLora(w0, f).weight, f);
    let worst = 0;
    for (let i = 0; i < w0.length; i++) worst = Math.max(worst, ulps(back[i]!, w0[i]!));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('DoRA rescales each output row to the magnitude vector', () => {
    const { w0, f } = factors(5, 6, 2, { magnitude: Float32Array.from([1, 2, 3, 4, 5]) });
    const { weight } = mergeLora(w0, f);
    for (let o = 0; o < 5; o++) {
      let ss = 0;
      for (let i = 0; i < 6; i++) ss += weight[o * 6 + i]! ** 2;
      expect(Math.sqrt(ss)).toBeCloseTo(o + 1, 5);
    }
  });

  it('rejects factors that do not fit the weight', () => {
    const { w0, f } = factors(3, 4, 2);
    expect(() => mergeLora(w0.subarray(1), f)).toThrow(/expects 3x4/);
  });
});
