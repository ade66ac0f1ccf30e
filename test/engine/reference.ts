// Dense brute-force references for the engine tests: the literal algorithm, written with ml-matrix.

import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { Rng } from '../../kernels/random.ts';
import type { Csr } from '../../engine/csr.ts';

export function toDense(m: Csr): { Y: Matrix; mask: boolean[][] } {
  const Y = Matrix.zeros(m.nRows, m.nCols);
  const mask = Array.from({ length: m.nRows }, () => new Array<boolean>(m.nCols).fill(false));
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      Y.set(i, m.colIdx[p]!, m.values[p]!);
      mask[i]![m.colIdx[p]!] = true;
    }
  }
  return { Y, mask };
}

export function fromFlat(d: number, a: Float64Array): Matrix {
  const M = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) M.set(i, j, a[i * d + j]!);
  return M;
}

export function toFlat(M: Matrix): Float64Array {
  const out = new Float64Array(M.rows * M.columns);
  for (let i = 0; i < M.rows; i++) for (let j = 0; j < M.columns; j++) out[i * M.columns + j] = M.get(i, j);
  return out;
}

/**
 * One literal lin-RFM sweep: per row solve (K[O,O] + lambda I) a = y, complete yhat = a^T K[O,:],
 * put the observed values back, and return G = Yhat^T Yhat / n.
 */
export function denseSweep(m: Csr, K: Matrix, lambda: number): Matrix {
  const { Y, mask } = toDense(m);
  const n = m.nRows;
  const d = m.nCols;
  const Yhat = Matrix.zeros(n, d);
  for (let i = 0; i < n; i++) {
    const idx: number[] = [];
    for (let j = 0; j < d; j++) if (mask[i]![j]) idx.push(j);
    if (idx.length === 0) continue;
    const sub = K.selection(idx, idx).add(Matrix.eye(idx.length).mul(lambda));
    const y = Matrix.columnVector(idx.map((j) => Y.get(i, j)));
    const a = solve(sub, y, true);
    const row = a.transpose().mmul(K.selection(idx, Array.from({ length: d }, (_, j) => j)));
    for (let j = 0; j < d; j++) Yhat.set(i, j, mask[i]![j] ? Y.get(i, j) : row.get(0, j));
  }
  return Yhat.transpose().mmul(Yhat).div(n);
}

/**
 * One IRLS-p step in its own terms: with weights W = G^(p/2 - 1) (from ml-matrix's eigendecomposition),
 * each row is the minimiser of x^T W x + ||x_O - y||^2 / lambda, i.e. (W + P_O / lambda) x = P_O y / lambda,
 * then the observed values are put back; returns X^T X / n.
 */
export function denseIrlsStep(m: Csr, G: Matrix, p: number, lambda: number): Matrix {
  const W = symPow(G, p / 2 - 1);
  const { Y, mask } = toDense(m);
  const n = m.nRows;
  const d = m.nCols;
  const X = Matrix.zeros(n, d);
  for (let i = 0; i < n; i++) {
    const A = W.clone();
    const b = Matrix.zeros(d, 1);
    for (let j = 0; j < d; j++) {
      if (mask[i]![j]) {
        A.set(j, j, A.get(j, j) + 1 / lambda);
        b.set(j, 0, Y.get(i, j) / lambda);
      }
    }
    const x = solve(A, b);
    for (let j = 0; j < d; j++) X.set(i, j, mask[i]![j] ? Y.get(i, j) : x.get(j, 0));
  }
  return X.transpose().mmul(X).div(n);
}

/** S^q for a symmetric positive definite S, by ml-matrix's eigendecomposition. */
export function symPow(S: Matrix, q: number): Matrix {
  const e = new EigenvalueDecomposition(S, { assumeSymmetric: true });
  const V = e.eigenvectorMatrix;
  const w = e.realEigenvalues.map((x) => Math.pow(x, q));
  return V.mmul(Matrix.diag(w)).mmul(V.transpose());
}

/** A random symmetric positive definite matrix B B^T / d + shift I. */
export function randomSpd(d: number, rng: Rng, shift: number): Matrix {
  const B = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) B.set(i, j, rng.normal());
  return B.mmul(B.transpose()).div(d).add(Matrix.eye(d).mul(shift));
}

/** A random sparse matrix with each entry observed with probability `density` (every row keeps one). */
export function randomSparse(n: number, d: number, density: number, rng: Rng): Csr {
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = cols.length;
    for (let j = 0; j < d; j++) {
      if (rng.uniform() < density) {
        cols.push(j);
        vals.push(rng.normal());
      }
    }
    if (cols.length === start) {
      cols.push(rng.int(d));
      vals.push(rng.normal());
    }
    rowPtr[i + 1] = cols.length;
  }
  return { nRows: n, nCols: d, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
}

export /** d x k row-major with orthonormal columns: Gram-Schmidt on seeded Gaussian columns. */
function orthonormalColumns(d: number, k: number, rng: Rng): Float64Array {
  const U = Float64Array.from({ length: d * k }, () => rng.normal());
  for (let r = 0; r < k; r++) {
    for (let q = 0; q < r; q++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += U[j * k + r]! * U[j * k + q]!;
      for (let j = 0; j < d; j++) U[j * k + r] -= dot * U[j * k + q]!;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += U[j * k + r]! ** 2;
    for (let j = 0; j < d; j++) U[j * k + r] /= Math.sqrt(norm);
  }
  return U;
}
