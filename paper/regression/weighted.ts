// The linear solve shared by diagonal lin-RFM and IRLS: beta = diag(k) X^T (X diag(k) X^T + lambda I)^-1 y.

import { dpotrf, dpotrs, dsyrk } from '../../kernels/index.ts';

/**
 * With lambda > 0 this is kernel ridge regression with the kernel diag(k) (equivalently the
 * minimiser of ||X beta - y||^2 + lambda sum_j beta_j^2 / k_j); with lambda = 0 it is the weighted
 * minimum-norm interpolant argmin { sum_j beta_j^2 / k_j : X beta = y } (IRLS's step, weights 1/k).
 *
 * Columns with k_j = 0 contribute nothing and are left out: with Z = X[:, kept] diag(sqrt k), the
 * Gram matrix is Z Z^T (n x n) while at least n columns are kept, and Z^T Z (m x m) once only
 * m < n are, by the push-through identity K X^T (X K X^T + lambda I)^-1 = K^(1/2) (Z^T Z + lambda I)^-1 Z^T.
 * The second form matters: X K X^T then has rank m < n, and solving with it at a tiny lambda
 * amplifies rounding by about 1 / lambda (measured: iterates wandering by 5e-4 a step at
 * lambda = 1e-12 relative), while Z^T Z + lambda I stays as well conditioned as X[:, kept].
 * Reweighting drives most k_j to exact zero within a few iterations for alpha >= 1/2, so the
 * products shrink from n^2 d to n^2 m or m^2 n. Gram matrices are formed by dsyrk (exactly
 * symmetric, half the flops of dgemm). All buffers are allocated once, here.
 */
export class WeightedSolver {
  private readonly Z: Float64Array;
  private readonly G: Float64Array;
  private readonly a: Float64Array;
  private readonly cols: Int32Array;
  private readonly roots: Float64Array;
  /** The ridge the last solve actually used (larger than requested when the factorisation failed). */
  lastRidge = 0;
  /** How many columns (k_j > 0) the last solve kept. */
  lastKept = 0;

  constructor(readonly n: number, readonly d: number) {
    this.Z = new Float64Array(n * d);
    this.G = new Float64Array(n * n);
    this.a = new Float64Array(n);
    this.cols = new Int32Array(d);
    this.roots = new Float64Array(d);
  }

  /**
   * Writes beta (length d). k must be >= 0 and finite. Returns 0 when the Gram matrix plus lambda
   * factored, 1 when a larger ridge was needed (raised to max(10 ridge, 1e-14 mean diagonal) until it
   * did, at most 30 times; lastRidge has the value), 2 when nothing factored or lambda = 0 and every
   * k_j = 0 (beta is then zero).
   */
  solve(X: Float64Array, y: Float64Array, k: Float64Array, lambda: number, beta: Float64Array): number {
    const { n, d, Z, G, a, cols, roots } = this;
    let m = 0;
    for (let j = 0; j < d; j++) {
      const kj = k[j]!;
      if (kj > 0) {
        cols[m] = j;
        roots[m] = Math.sqrt(kj);
        m++;
      }
    }
    this.lastKept = m;
    this.lastRidge = lambda;
    beta.fill(0, 0, d);
    if (m === 0) return lambda > 0 ? 0 : 2;
    for (let i = 0; i < n; i++) {
      const xi = i * d;
      const zi = i * m;
      for (let c = 0; c < m; c++) Z[zi + c] = X[xi + cols[c]!]! * roots[c]!;
    }
    const dual = m >= n;
    const q = dual ? n : m;
    const status = this.factor(q, m, dual, lambda);
    if (status === 2) return 2;
    if (dual) {
      // a = (Z Z^T + lambda I)^-1 y, then Z^T a.
      a.set(y.subarray(0, n));
      dpotrs(n, G, n, 0, a, 1, 0);
      for (let i = 0; i < n; i++) {
        const ai = a[i]!;
        const zi = i * m;
        for (let c = 0; c < m; c++) beta[cols[c]!] += ai * Z[zi + c]!;
      }
    } else {
      // a = (Z^T Z + lambda I)^-1 Z^T y.
      a.fill(0, 0, m);
      for (let i = 0; i < n; i++) {
        const yi = y[i]!;
        const zi = i * m;
        for (let c = 0; c < m; c++) a[c] += yi * Z[zi + c]!;
      }
      dpotrs(m, G, m, 0, a, 1, 0);
      for (let c = 0; c < m; c++) beta[cols[c]!] = a[c]!;
    }
    // Both forms leave K^(-1/2) beta; one more sqrt(k) gives beta.
    for (let c = 0; c < m; c++) beta[cols[c]!] *= roots[c]!;
    return status;
  }

  // Forms the q x q Gram matrix of Z (Z Z^T when dual, else Z^T Z; Z is n x m), adds the ridge and
  // factors it in G, raising the ridge when the factorisation fails.
  private factor(q: number, m: number, dual: boolean, lambda: number): number {
    const { n, Z, G } = this;
    let meanDiag = 0;
    let ridge = lambda;
    let status = 0;
    for (let attempt = 0; ; attempt++) {
      if (dual) dsyrk(false, n, m, 1, Z, m, 0, 0, G, n, 0);
      else dsyrk(true, m, n, 1, Z, m, 0, 0, G, m, 0);
      if (attempt === 0) {
        for (let i = 0; i < q; i++) meanDiag += G[i * q + i]!;
        meanDiag /= q;
      }
      for (let i = 0; i < q; i++) G[i * q + i] += ridge;
      if (dpotrf(q, G, q, 0) === 0) break;
      if (attempt >= 30 || !(meanDiag > 0)) {
        this.lastRidge = ridge;
        return 2;
      }
      ridge = Math.max(ridge * 10, 1e-14 * meanDiag);
      status = 1;
    }
    this.lastRidge = ridge;
    return status;
  }
}
