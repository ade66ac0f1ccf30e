// Matrix square root of a symmetric positive semidefinite matrix by the coupled Newton-Schulz iteration (products only).

import { dgemm } from './index.ts';
import { dsymmetrize } from './sym.ts';

/**
 * out = A^(1/2) for symmetric positive semidefinite A (n x n, row-major, ld n), with matrix products
 * only: no eigendecomposition, so lin-RFM with alpha = 1/4 stays SVD-free. A is scaled by its
 * Frobenius norm c so every eigenvalue lies in [0, 1], then Y_0 = A / c, Z_0 = I and
 *   T = (3 I - Z Y) / 2,  Y <- Y T,  Z <- T Z
 * converge quadratically to Y = (A / c)^(1/2), Z = (A / c)^(-1/2) for the eigenvalues away from 0
 * (those near 0 converge slowly, but they contribute little to the root). Returns the number of
 * iterations used, or -1 if the relative change had not fallen below tol within maxIter.
 * work must hold 4 n^2 values.
 */
export function dsqrtmNewtonSchulz(
  n: number,
  A: Float64Array,
  out: Float64Array,
  work: Float64Array,
  tol = 1e-13,
  maxIter = 100,
): number {
  if (n === 0) return 0;
  const nn = n * n;
  let c = 0;
  for (let q = 0; q < nn; q++) c += A[q]! * A[q]!;
  c = Math.sqrt(c);
  if (c === 0) {
    out.fill(0, 0, nn);
    return 0;
  }
  let Y = work.subarray(0, nn);
  let Z = work.subarray(nn, 2 * nn);
  const T = work.subarray(2 * nn, 3 * nn);
  let S = work.subarray(3 * nn, 4 * nn);
  for (let q = 0; q < nn; q++) Y[q] = A[q]! / c;
  Z.fill(0);
  for (let i = 0; i < n; i++) Z[i * n + i] = 1;
  let iter = 0;
  for (; iter < maxIter; iter++) {
    // T = (3 I - Z Y) / 2
    dgemm(false, false, n, n, n, -0.5, Z, n, 0, Y, n, 0, 0, T, n, 0);
    for (let i = 0; i < n; i++) T[i * n + i] += 1.5;
    // Y <- Y T (into S, then swap), Z <- T Z
    dgemm(false, false, n, n, n, 1, Y, n, 0, T, n, 0, 0, S, n, 0);
    let change = 0;
    let norm = 0;
    for (let q = 0; q < nn; q++) {
      const dlt = S[q]! - Y[q]!;
      change += dlt * dlt;
      norm += S[q]! * S[q]!;
    }
    [Y, S] = [S, Y];
    dgemm(false, false, n, n, n, 1, T, n, 0, Z, n, 0, 0, S, n, 0);
    [Z, S] = [S, Z];
    if (change <= tol * tol * norm) {
      iter++;
      break;
    }
  }
  const s = Math.sqrt(c);
  for (let q = 0; q < nn; q++) out[q] = Y[q]! * s;
  dsymmetrize(n, out, n, 0);
  return iter < maxIter ? iter : -1;
}
