import { describe, expect, it } from 'vitest';
import { qr, subspaceSimilarity, svd, svdWide, symmetricEigen } from '../../../runtime/analysis/svd.ts';

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

/** a·b for row-major [m, k]·[k, n]. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) c[i * n + j]! += a[i * k + t]! * b[t * n + j]!;
  return c;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, i) => Math.abs(x - b[i]!)).reduce((m, x) => Math.max(m, x), 0);

describe('general SVD and QR (PiSSA, OLoRA, combine --method svd)', () => {
  for (const [m, n] of [[7, 4], [4, 7], [6, 6]] as const) {
    it(`svd of a ${m}x${n} matrix: U·S·Vᵀ = A, orthonormal factors, descending values`, () => {
      const a = random(m * n, m * 10 + n);
      const { u, s, vt, k } = svd(a, m, n);
      expect(k).toBe(Math.min(m, n));
      const us = Float64Array.from(u, (x, i) => x * s[i % k]!);
      expect(maxAbs(matmul(us, vt, m, k, n), a)).toBeLessThan(1e-12);
      for (let i = 1; i < k; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
      const ut = Float64Array.from({ length: k * m }, (_, i) => u[(i % m) * k + Math.floor(i / m)]!);
      expect(maxAbs(matmul(ut, u, k, m, k), Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 1 : 0)))).toBeLessThan(1e-12);
    });
    it(`qr of a ${m}x${n} matrix: Q·R = A, Q orthonormal, R upper triangular with LAPACK's signs`, () => {
      const a = random(m * n, m * 7 + n);
      const { q, r, k } = qr(a, m, n);
      expect(maxAbs(matmul(q, r, m, k, n), a)).toBeLessThan(1e-12);
      for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) expect(r[i * n + j]).toBe(0);
      // geqrf: R[0][0] = -sign(a[0][0])·‖a[:, 0]‖.
      const norm0 = Math.hypot(...Array.from({ length: m }, (_, i) => a[i * n]!));
      expect(r[0]).toBeCloseTo(-Math.sign(a[0]!) * norm0, 12);
    });
  }
});
