// Singular value decomposition of small wide matrices (LoRA's A is [r, k] with r << k), for the
// subspace-similarity analysis of the LoRA paper (§7). The SVD reduces to the symmetric
// eigenproblem of the r×r Gram matrix A·Aᵀ, solved by cyclic Jacobi rotations in float64, which
// is accurate and simple at these sizes.

/** Eigen-decomposition of a symmetric n×n matrix (row-major). Eigenvalues descending; vectors as rows. */
export function symmetricEigen(m: Float64Array, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.2).
        const tau = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + col]!;
  });
  return { values, vectors };
}

/**
 * Thin SVD of a [rows, cols] matrix with rows <= cols: A = U·diag(S)·Vᵀ. Returns the singular
 * values descending and the right-singular vectors as rows of `v` ([rows, cols]).
 */
export function svdWide(a: ArrayLike<number>, rows: number, cols: number): { s: Float64Array; u: Float64Array; v: Float64Array } {
  if (rows > cols) throw new Error(`svdWide expects rows <= cols, got ${rows}x${cols}`);
  const gram = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i; j < rows; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += a[i * cols + k]! * a[j * cols + k]!;
      gram[i * rows + j] = acc;
      gram[j * rows + i] = acc;
    }
  }
  const { values, vectors: u } = symmetricEigen(gram, rows);
  const s = Float64Array.from(values, (x) => Math.sqrt(Math.max(0, x)));
  const v = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (s[i]! < 1e-300) continue;
    // v_i = Aᵀ·u_i / s_i
    for (let k = 0; k < cols; k++) {
      let acc = 0;
      for (let j = 0; j < rows; j++) acc += a[j * cols + k]! * u[i * rows + j]!;
      v[i * cols + k] = acc / s[i]!;
    }
  }
  return { s, u, v };
}

/**
 * The LoRA paper's normalized subspace similarity φ(i, j) = ‖V1[:i]·V2[:j]ᵀ‖²_F / min(i, j)
 * between the top-i right-singular directions of one matrix and the top-j of another
 * (rows of v1 and v2, each [r, cols]). Returns an [r1, r2] grid for i = 1..r1, j = 1..r2.
 */
export function subspaceSimilarity(v1: Float64Array, r1: number, v2: Float64Array, r2: number, cols: number): Float64Array {
  const dots = new Float64Array(r1 * r2);
  for (let i = 0; i < r1; i++) {
    for (let j = 0; j < r2; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += v1[i * cols + k]! * v2[j * cols + k]!;
      dots[i * r2 + j] = acc * acc;
    }
  }
  // Prefix sums over both axes give ‖V1[:i]·V2[:j]ᵀ‖²_F for every (i, j).
  const grid = new Float64Array(r1 * r2);
  for (let i = 0; i < r1; i++) {
    for (let j = 0; j < r2; j++) {
      const up = i > 0 ? grid[(i - 1) * r2 + j]! : 0;
      const left = j > 0 ? grid[i * r2 + j - 1]! : 0;
      const diag = i > 0 && j > 0 ? grid[(i - 1) * r2 + j - 1]! : 0;
      grid[i * r2 + j] = dots[i * r2 + j]! + up + left - diag;
    }
  }
  for (let i = 0; i < r1; i++) for (let j = 0; j < r2; j++) grid[i * r2 + j] = grid[i * r2 + j]! / Math.min(i + 1, j + 1);
  return grid;
}
