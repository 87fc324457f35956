import { describe, expect, it } from 'vitest';
import { Rng } from '../../../runtime/data/rng.ts';
import { argmax, checkSamplingOptions, sampleToken } from '../../../runtime/generate/sampling.ts';

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);

function histogram(opts: Parameters<typeof sampleToken>[1], n = 4000): number[] {
  const rng = new Rng(42);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(logits, opts, rng)]++;
  return counts.map((c) => c / n);
}

describe('sampling', () => {
  it('is greedy at temperature 0', () => {
    expect(argmax(logits)).toBe(1);
    expect(sampleToken(logits, { temperature: 0 }, new Rng(1))).toBe(1);
  });
  it('keeps only the top k tokens', () => {
    const h = histogram({ temperature: 1, topK: 2 });
    expect(h[0]! + h[2]! + h[3]!).toBe(0);
    expect(h[1]!).toBeGreaterThan(0.4);
    expect(h[4]!).toBeGreaterThan(0.4);
  });
  it('keeps the nucleus whose mass reaches top p', () => {
    // Probabilities: 3 -> .36, 2.9 -> .33, 2 -> .13, 1 -> .05, .5 -> .03 (after normalizing).
    const h = histogram({ temperature: 1, topP: 0.6 });
    expect(h[1]! + h[4]!).toBe(1);
  });
  it('matches softmax frequencies without truncation', () => {
    const h = histogram({ temperature: 1 }, 20000);
    const z = [...logits].map((x) => Math.exp(x));
    const total = z.reduce((a, b) => a + b, 0);
    z.forEach((w, i) => expect(h[i]!).toBeCloseTo(w / total, 1));
  });
  it('is repeatable for a seed', () => {
    const a = Array.from({ length: 20 }, ((rng) => () => sampleToken(logits, { temperature: 1.5 }, rng))(new Rng(7)));
    const b = Array.from({ length: 20 }, ((rng) => () => sampleToken(logits, { temperature: 1.5 }, rng))(new Rng(7)));
    expect(a).toEqual(b);
  });
});

describe('checkSamplingOptions', () => {
  it('refuses values transformers refuses, naming the range', () => {
    checkSamplingOptions({ temperature: 0, topK: 0, topP: 1 });
    checkSamplingOptions({ temperature: 0.7, topK: 40, topP: 0.9 });
    expect(() => checkSamplingOptions({ temperature: -1 })).toThrow('temperature must be a number >= 0 (0 = greedy), got -1');
    expect(() => checkSamplingOptions({ temperature: NaN })).toThrow('temperature must be a number >= 0');
    expect(() => checkSamplingOptions({ topK: -5 })).toThrow('top-k must be an integer >= 0 (0 = off), got -5');
    expect(() => checkSamplingOptions({ topK: 2.5 })).toThrow('top-k must be an integer >= 0');
    expect(() => checkSamplingOptions({ topP: 2 })).toThrow('top-p must be in (0, 1] (1 = off), got 2');
    expect(() => checkSamplingOptions({ topP: 0 })).toThrow('top-p must be in (0, 1]');
  });
});
