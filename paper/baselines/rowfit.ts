// lin-RFM's per-row fit with a given kernel, completing every row into a dense matrix (shared by IRLS-p).

import { daxpy, type RowSolver } from '../../kernels/index.ts';
import { type Csr } from '../../engine/index.ts';
import { putBackObserved } from './common.ts';

/**
 * The engine's row step for every row of `obs` (n x d): a_i = (K[O_i, O_i] + lambda I)^-1 y_i by
 * the engine's row solver (the same calls, hence the same bits), then the completed row
 * x_i = a_i^T K[O_i, :] with the observed values put back. Equivalently, x_i minimises
 * x^T K^-1 x + ||x_O - y_i||^2 / lambda (kernel ridge regression), and with lambda = 0 it is the
 * minimiser of x^T K^-1 x subject to x_O = y_i: the weighted least-squares step of IRLS with
 * weight W = K^-1. `solver` was created on obs's arrays; `a` has obs's nnz elements; X is n x d.
 * Returns the number of rows whose Cholesky factorisation needed a larger ridge than lambda.
 */
export function kernelRowFit(
  obs: Csr, K: Float64Array, lambda: number, solver: RowSolver, a: Float64Array, X: Float64Array,
): number {
  const n = obs.nRows;
  const d = obs.nCols;
  solver.setKernel(K);
  const fallbacks = solver.solve(lambda, 0, n, a);
  X.fill(0, 0, n * d);
  for (let i = 0; i < n; i++) {
    for (let p = obs.rowPtr[i]!; p < obs.rowPtr[i + 1]!; p++) {
      daxpy(d, a[p]!, K, 1, obs.colIdx[p]! * d, X, 1, i * d);
    }
  }
  putBackObserved(obs, X);
  return fallbacks;
}
