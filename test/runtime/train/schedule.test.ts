import { describe, expect, it } from 'vitest';
import { learningRate } from '../../../runtime/train/schedule.ts';

describe('learning-rate schedules', () => {
  const base = { lr: 1e-3, warmupSteps: 10, totalSteps: 110 };
  it('warms up linearly from zero', () => {
    expect(learningRate({ ...base, kind: 'cosine' }, 0)).toBe(0);
    expect(learningRate({ ...base, kind: 'cosine' }, 5)).toBeCloseTo(5e-4, 12);
    expect(learningRate({ ...base, kind: 'cosine' }, 10)).toBeCloseTo(1e-3, 12);
  });
  it('decays along a half cosine to the floor', () => {
    expect(learningRate({ ...base, kind: 'cosine' }, 60)).toBeCloseTo(5e-4, 12);
    expect(learningRate({ ...base, kind: 'cosine' }, 110)).toBeCloseTo(0, 12);
    expect(learningRate({ ...base, kind: 'cosine', minLrRatio: 0.1 }, 110)).toBeCloseTo(1e-4, 12);
  });
  it('decays linearly or stays constant', () => {
    expect(learningRate({ ...base, kind: 'linear' }, 60)).toBeCloseTo(5e-4, 12);
    expect(learningRate({ ...base, kind: 'constant' }, 100)).toBe(1e-3);
  });
});
