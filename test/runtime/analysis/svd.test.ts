import { describe, expect, it } from 'vitest';
import { subspaceSimilarity, svdWide, symmetricEigen } from '../../../runtime/analysis/svd.ts';

function random(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
}

describe('SVD', () => {
  it('diagonalizes a symmetric matrix', () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
    expect([...values].map((x) => +x.toFixed(10))).toEqual([5, 3, 1]);
    // Each row is a unit eigenvector: M·v = λ·v.
    const m = [2, 1, 0, 1, 2, 0, 0, 0, 5];
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 3; i++) {
        let mv = 0;
        for (let k = 0; k < 3; k++) mv += m[i * 3 + k]! * vectors[r * 3 + k]!;
        expect(mv).toBeCloseTo(values[r]! * vectors[r * 3 + i]!, 10);
      }
    }
  });

  it('reconstructs a wide matrix from U·S·Vᵀ with orthonormal V', () => {
    const rows = 6;
    const cols = 40;
    const a = random(rows * cols, 7);
    const { s, u, v } = svdWide(a, rows, cols);
    for (let i = 1; i < rows; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < rows; j++) {
        let d = 0;
        for (let k = 0; k < cols; k++) d += v[i * cols + k]! * v[j * cols + k]!;
        expect(d).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        let acc = 0;
        for (let i = 0; i < rows; i++) acc += u[i * rows + r]! * s[i]! * v[i * cols + c]!;
        expect(acc).toBeCloseTo(a[r * cols + c]!, 9);
      }
    }
  });

  it('gives similarity 1 for a subspace of itself and about i*j/d for random ones', () => {
    const cols = 64;
    const { v } = svdWide(random(8 * cols, 3), 8, cols);
    const self = subspaceSimilarity(v, 8, v, 8, cols);
    for (let i = 0; i < 8; i++) expect(self[i * 8 + i]).toBeCloseTo(1, 9);
    const { v: w } = svdWide(random(8 * cols, 11), 8, cols);
    const cross = subspaceSimilarity(v, 8, w, 8, cols);
    expect(cross[7 * 8 + 7]!).toBeLessThan(0.4);
    for (const x of cross) expect(x).toBeGreaterThanOrEqual(0);
  });
});
