// RoPE tables against values computed by hand from transformers' formulas (modeling_rope_utils.py):
// Llama-3.2-1B's llama3 frequencies (the double-precision table of /work/notes/architectures.md §1.4,
// and its f32 column), yarn's correction range and blend, linear, dynamic NTK below and above
// max_position_embeddings, and longrope's short/long switch and attention factor.
import { describe, expect, it } from 'vitest';
import { defaultInvFreq, ropeTables } from '../../../compiler/lower/rope.ts';

/** |got − want| <= rel·|want|. */
function near(got: number, want: number, rel: number, what: string): void {
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(rel * Math.abs(want));
}

const llama32 = { type: 'llama3' as const, theta: 500000, dim: 64, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };

describe('RoPE tables', () => {
  it("Llama-3.2-1B's llama3 frequencies: first and last four (f32), the smoothed band, and the unchanged / divided bands", () => {
    const { invFreq, attentionFactor } = ropeTables(llama32, 128);
    expect(invFreq.length).toBe(32);
    expect(attentionFactor).toBe(1);
    // The f32 column: torch computes in float32; agreement to 2 ulp (pow is 1-ulp in torch).
    const f32 = { 0: 1.0, 1: 6.636012197e-1, 2: 4.40366596e-1, 3: 2.922278345e-1, 28: 3.222932889e-7, 29: 2.138742303e-7, 30: 1.419272024e-7, 31: 9.41830649e-8 };
    for (const [j, want] of Object.entries(f32)) near(invFreq[Number(j)]!, want, 2.5e-7, `j=${j}`);
    // The band where wavelengths lie between 2048 and 8192 is smoothed (double-precision values).
    near(invFreq[15]!, 1.290547928e-3, 1e-6, 'j=15');
    near(invFreq[16]!, 4.295567966e-4, 1e-6, 'j=16');
    near(invFreq[17]!, 9.708287803e-5, 1e-6, 'j=17');
    near(invFreq[18]!, 1.946163818e-5, 1e-6, 'j=18');
    // j <= 14 keep the default frequencies; j >= 18 are the default divided by 32.
    const def = defaultInvFreq(500000, 64);
    for (let j = 0; j <= 14; j++) expect(invFreq[j]).toBe(def[j]);
    for (let j = 18; j < 32; j++) expect(invFreq[j]).toBe(Math.fround(def[j]! / 32));
    near(def[14]!, 3.211445995e-3, 1e-6, 'default j=14');
  });

  it('default: 1 / theta^(2j/dim) in f32', () => {
    const inv = defaultInvFreq(100, 4);
    expect(Array.from(inv)).toEqual([1, Math.fround(0.1)]);
  });

  it('linear: the default divided by factor', () => {
    const { invFreq, attentionFactor } = ropeTables({ type: 'linear', theta: 100, dim: 4, factor: 2 }, 10);
    expect(Array.from(invFreq)).toEqual([0.5, Math.fround(Math.fround(0.1) / 2)]);
    expect(attentionFactor).toBe(1);
  });

  it('dynamic NTK: the default up to max_position_embeddings, a larger base beyond it', () => {
    const r = { type: 'dynamic' as const, theta: 10000, dim: 8, factor: 2, maxPositions: 16 };
    expect(Array.from(ropeTables(r, 16).invFreq)).toEqual(Array.from(defaultInvFreq(10000, 8)));
    // seq 32: base = 10000 · (2·32/16 − 1)^(8/6) = 10000 · 3^(4/3).
    const base = 10000 * Math.pow(3, 4 / 3);
    const inv = ropeTables(r, 32).invFreq;
    for (let j = 0; j < 4; j++) near(inv[j]!, 1 / Math.pow(base, (2 * j) / 8), 3e-7, `j=${j}`);
  });

  it('yarn, small case: correction range [0, 1], so j = 0 keeps its frequency and the rest are divided by factor', () => {
    // low = floor(8·ln(32/(32·2π)) / (2 ln 10^4)) = floor(−0.80) -> 0; high = ceil(8·ln(32/2π) / (2 ln 10^4)) = ceil(0.71) = 1.
    const { invFreq, attentionFactor } = ropeTables({ type: 'yarn', theta: 10000, dim: 8, factor: 4, originalMaxPositions: 32 }, 12);
    const def = defaultInvFreq(10000, 8);
    expect(invFreq[0]).toBe(def[0]);
    for (let j = 1; j < 4; j++) near(invFreq[j]!, def[j]! / 4, 1e-7, `j=${j}`);
    near(attentionFactor, 0.1 * Math.log(4) + 1, 1e-15, 'attention factor');
  });

  it("yarn, Qwen2.5's recipe (theta 1e6, dim 64, original 32768, factor 4): range [11, 20], blended between", () => {
    const { invFreq, attentionFactor } = ropeTables({ type: 'yarn', theta: 1e6, dim: 64, factor: 4, originalMaxPositions: 32768, maxPositions: 32768 }, 64);
    near(attentionFactor, 1.1386294361, 1e-9, 'attention factor');
    const def = defaultInvFreq(1e6, 64);
    for (let j = 0; j <= 11; j++) near(invFreq[j]!, def[j]!, 1e-7, `j=${j} extrapolated`);
    for (let j = 20; j < 32; j++) near(invFreq[j]!, def[j]! / 4, 1e-7, `j=${j} interpolated`);
    const ramp = (15 - 11) / (20 - 11);
    near(invFreq[15]!, (def[15]! / 4) * ramp + def[15]! * (1 - ramp), 1e-6, 'j=15 blended');
    // An explicit attention_factor wins; mscale/mscale_all_dim give their ratio.
    expect(ropeTables({ type: 'yarn', theta: 1e6, dim: 64, factor: 4, originalMaxPositions: 32768, attentionFactor: 0.5 }, 64).attentionFactor).toBe(0.5);
    const m = ropeTables({ type: 'yarn', theta: 1e6, dim: 64, factor: 4, originalMaxPositions: 32768, mscale: 1, mscaleAllDim: 0.5 }, 64).attentionFactor;
    near(m, (0.1 * Math.log(4) + 1) / (0.05 * Math.log(4) + 1), 1e-15, 'mscale ratio');
  });

  it('longrope: short factors up to original_max_position_embeddings, long beyond, and the attention factor always', () => {
    const r = { type: 'longrope' as const, theta: 10000, dim: 4, originalMaxPositions: 4096, maxPositions: 131072, shortFactor: [1, 2], longFactor: [3, 5] };
    const def = defaultInvFreq(10000, 4);
    const short = ropeTables(r, 4096);
    const long = ropeTables(r, 4097);
    near(short.invFreq[1]!, def[1]! / 2, 1e-7, 'short');
    near(long.invFreq[0]!, 1 / 3, 1e-7, 'long j=0');
    near(long.invFreq[1]!, def[1]! / 5, 1e-7, 'long j=1');
    // Phi-3-mini-128k: sqrt(1 + ln 32 / ln 4096) = 1.190238.
    near(short.attentionFactor, 1.190238, 1e-6, 'attention factor (short)');
    expect(long.attentionFactor).toBe(short.attentionFactor);
  });
});
