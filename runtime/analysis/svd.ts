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

export interface ThinSvd {
  /** Left singular vectors, [rows, k] row-major (k = min(rows, cols)). */
  u: Float64Array;
  /** Singular values, descending, [k]. */
  s: Float64Array;
  /** Right singular vectors as rows, [k, cols] (Vᵀ). */
  vt: Float64Array;
  k: number;
}

/**
 * Thin SVD of any [rows, cols] matrix: A = U·diag(S)·Vᵀ, by one-sided Jacobi rotations
 * (Hestenes) in float64, which orthogonalize the columns of A (of Aᵀ when rows < cols) until every
 * pair is orthogonal to machine precision. Accurate for every singular value; the cost is
 * O(rows·cols·min(rows, cols)) per sweep, a few seconds for a 1024×1024 weight on a CPU.
 * Singular vectors of a zero singular value are zero. Signs follow no library's convention.
 */
export function svd(a: ArrayLike<number>, rows: number, cols: number, maxSweeps = 60): ThinSvd {
  if (rows < cols) {
    const t = svd(transposeOf(a, rows, cols), cols, rows, maxSweeps);
    // Aᵀ = U'·S·V'ᵀ, so A = V'·S·U'ᵀ.
    return { u: transposeOf(t.vt, t.k, rows), s: t.s, vt: transposeOf(t.u, cols, t.k), k: t.k };
  }
  const m = rows;
  const n = cols;
  // Columns of A stored contiguously (col-major) for the rotations.
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[j * m + i] = a[i * n + j]!;
  const v = new Float64Array(n * n);
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = c[p * m + i]!;
          const y = c[q * m + i]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < m; i++) {
          const x = c[p * m + i]!;
          const y = c[q * m + i]!;
          c[p * m + i] = cs * x - sn * y;
          c[q * m + i] = sn * x + cs * y;
        }
        for (let i = 0; i < n; i++) {
          const x = v[p * n + i]!;
          const y = v[q * n + i]!;
          v[p * n + i] = cs * x - sn * y;
          v[q * n + i] = sn * x + cs * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let ss = 0;
    for (let i = 0; i < m; i++) ss += c[j * m + i]! ** 2;
    return Math.sqrt(ss);
  });
  const order = norms.map((_, j) => j).sort((x, y) => norms[y]! - norms[x]!);
  const k = n;
  const u = new Float64Array(m * k);
  const s = new Float64Array(k);
  const vt = new Float64Array(k * n);
  order.forEach((j, r) => {
    s[r] = norms[j]!;
    if (norms[j]! > 0) for (let i = 0; i < m; i++) u[i * k + r] = c[j * m + i]! / norms[j]!;
    // v's row j holds column j of V (the rotations were applied to rows of v).
    for (let i = 0; i < n; i++) vt[r * n + i] = v[j * n + i]!;
  });
  return { u, s, vt, k };
}

function transposeOf(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/**
 * Reduced QR of a [rows, cols] matrix by Householder reflections in float64: A = Q·R with Q
 * [rows, k] (orthonormal columns) and R [k, cols] upper triangular, k = min(rows, cols). Signs
 * follow LAPACK's geqrf (torch.linalg.qr): R's diagonal is −sign(a_kk)·‖x‖, or a_kk where the
 * column has nothing below the diagonal.
 */
export function qr(a: ArrayLike<number>, rows: number, cols: number): { q: Float64Array; r: Float64Array; k: number } {
  const m = rows;
  const n = cols;
  const k = Math.min(m, n);
  const w = Float64Array.from({ length: m * n }, (_, i) => a[i]!);
  const vs: Float64Array[] = [];
  const taus: number[] = [];
  for (let j = 0; j < k; j++) {
    // LAPACK's dlarfg: no reflection (tau = 0) when nothing lies below the diagonal.
    let below = 0;
    for (let i = j + 1; i < m; i++) below += w[i * n + j]! ** 2;
    const alpha = w[j * n + j]!;
    const v = new Float64Array(m);
    if (below === 0) {
      vs.push(v);
      taus.push(0);
      continue;
    }
    const norm = Math.sqrt(alpha * alpha + below);
    const beta = alpha >= 0 ? -norm : norm;
    // v = x − beta·e1, scaled so v[j] = 1; H = I − tau·v·vᵀ maps x to beta·e1.
    const v0 = alpha - beta;
    v[j] = 1;
    for (let i = j + 1; i < m; i++) v[i] = w[i * n + j]! / v0;
    const tau = (beta - alpha) / beta;
    for (let col = j; col < n; col++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i]! * w[i * n + col]!;
      dot *= tau;
      for (let i = j; i < m; i++) w[i * n + col] = w[i * n + col]! - dot * v[i]!;
    }
    vs.push(v);
    taus.push(tau);
  }
  const r = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let j = i; j < n; j++) r[i * n + j] = w[i * n + j]!;
  // Q = H_0·H_1·…·H_{k-1} applied to the first k columns of the identity.
  const q = new Float64Array(m * k);
  for (let i = 0; i < k; i++) q[i * k + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j]!;
    const tau = taus[j]!;
    if (tau === 0) continue;
    for (let col = 0; col < k; col++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i]! * q[i * k + col]!;
      dot *= tau;
      for (let i = j; i < m; i++) q[i * k + col] = q[i * k + col]! - dot * v[i]!;
    }
  }
  return { q, r, k };
}
