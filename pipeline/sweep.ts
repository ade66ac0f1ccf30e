// The phases of one lin-RFM sweep over typed arrays: row solves, AGOP (streamed or factored), next kernel.

import { daxpy, dgemm, dsyrk } from '../kernels/index.ts';
import { dpotrf, dpotrs } from '../kernels/chol.ts';
import { dsympow } from '../kernels/eig.ts';
import { dgathersymlower, dsymmetrize } from '../kernels/sym.ts';
import { nnzOf, type Csr } from './csr.ts';

export type AgopPath = 'streamed' | 'factored';

/** Scratch for the per-row solves, sized by the longest row. */
export interface RowScratch {
  sub: Float64Array;
}

export function rowScratch(maxRow: number): RowScratch {
  return { sub: new Float64Array(Math.max(1, maxRow * maxRow)) };
}

export function maxRowLength(m: Csr): number {
  let k = 0;
  for (let i = 0; i < m.nRows; i++) k = Math.max(k, m.rowPtr[i + 1]! - m.rowPtr[i]!);
  return k;
}

/**
 * Solves (K[idx, idx] + lambda I) a = y for one row whose k observed columns are idx = colIdx[p0..p0+k)
 * and values y = values[p0..p0+k), writing a into out[outOffset..]. If the Cholesky factorisation
 * fails (K is only positive semidefinite and lambda can be tiny), the ridge is raised tenfold until
 * it succeeds; the return value is the ridge actually used, so callers can count fallbacks.
 */
export function solveRow(
  d: number,
  K: Float64Array,
  lambda: number,
  k: number,
  colIdx: Int32Array,
  values: Float64Array,
  p0: number,
  scratch: RowScratch,
  out: Float64Array,
  outOffset: number,
): number {
  const sub = scratch.sub;
  let ridge = lambda;
  for (let attempt = 0; ; attempt++) {
    dgathersymlower(k, colIdx, p0, K, d, 0, sub, k, 0);
    for (let q = 0; q < k; q++) sub[q * k + q] += ridge;
    if (dpotrf(k, sub, k, 0) === 0) break;
    if (attempt >= 40) {
      // K is not even near-semidefinite (non-finite entries): leave a zero coefficient vector.
      out.fill(0, outOffset, outOffset + k);
      return Number.POSITIVE_INFINITY;
    }
    ridge = Math.max(ridge * 10, 1e-12);
  }
  for (let q = 0; q < k; q++) out[outOffset + q] = values[p0 + q]!;
  dpotrs(k, sub, k, 0, out, 1, outOffset);
  return ridge;
}

/** Phase 1: coefficients a_i for rows [r0, r1) of the training matrix, stored next to its values. */
export function solveRows(
  d: number,
  K: Float64Array,
  lambda: number,
  train: Csr,
  a: Float64Array,
  r0: number,
  r1: number,
  scratch: RowScratch,
): number {
  let fallbacks = 0;
  const { rowPtr, colIdx, values } = train;
  for (let i = r0; i < r1; i++) {
    const p0 = rowPtr[i]!;
    const k = rowPtr[i + 1]! - p0;
    if (k === 0) continue;
    if (solveRow(d, K, lambda, k, colIdx, values, p0, scratch, a, p0) !== lambda) fallbacks++;
  }
  return fallbacks;
}

/**
 * Prediction of entry (i, j) from row i's coefficients: sum_l a_il (K + lambda I)[l, j]. For an
 * observed j this is the put-back value itself (up to rounding); callers put observed values back.
 */
export function predictEntry(d: number, K: Float64Array, lambda: number, m: Csr, a: Float64Array, i: number, j: number): number {
  let s = 0;
  const jd = j * d;
  for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
    const l = m.colIdx[p]!;
    // K is symmetric: read row j (contiguous) instead of column j.
    s += a[p]! * (K[jd + l]! + (l === j ? lambda : 0));
  }
  return s;
}

/** Flop estimates of the two ways to form the AGOP (multiply-adds count as 2). */
export function agopCosts(m: Csr): { streamed: number; factored: number } {
  const d = m.nCols;
  const n = m.nRows;
  const nnz = nnzOf(m);
  let sumK2 = 0;
  for (let i = 0; i < n; i++) {
    const k = m.rowPtr[i + 1]! - m.rowPtr[i]!;
    sumK2 += k * k;
  }
  return {
    // completed rows (an axpy of length d per observed entry) + the Gram matrix (SYRK, one triangle)
    streamed: 2 * d * nnz + n * d * (d + 1),
    // the scatter of a a^T + two d x d products
    factored: 2 * sumK2 + 4 * d * d * d,
  };
}

export function chooseAgopPath(m: Csr): AgopPath {
  const c = agopCosts(m);
  return c.factored < c.streamed ? 'factored' : 'streamed';
}

/**
 * AGOP by streamed rows: completes `chunkRows` rows at a time as Yhat_c = S_c K with the observed
 * values put back literally (which is the same as S_c (K + lambda I)), and accumulates G += Yhat_c^T Yhat_c. G = Yhat^T Yhat / n.
 * ybuf holds chunkRows x d.
 */
export function agopStreamed(
  d: number,
  K: Float64Array,
  m: Csr,
  a: Float64Array,
  chunkRows: number,
  ybuf: Float64Array,
  G: Float64Array,
): Float64Array {
  const n = m.nRows;
  const { rowPtr, colIdx, values } = m;
  G.fill(0, 0, d * d);
  for (let c0 = 0; c0 < n; c0 += chunkRows) {
    const c1 = Math.min(n, c0 + chunkRows);
    const rows = c1 - c0;
    ybuf.fill(0, 0, rows * d);
    for (let i = c0; i < c1; i++) {
      const yoff = (i - c0) * d;
      for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
        const l = colIdx[p]!;
        daxpy(d, a[p]!, K, 1, l * d, ybuf, 1, yoff);
      }
      // The ridge term lambda a_il lands only on observed columns, which the put-back overwrites.
      for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) ybuf[yoff + colIdx[p]!] = values[p]!;
    }
    dsyrk(true, d, rows, 1, ybuf, d, 0, 1, G, d, 0);
  }
  const inv = 1 / n;
  for (let q = 0; q < d * d; q++) G[q] *= inv;
  return G;
}

/**
 * AGOP in factored form: Q = sum_i a_i a_i^T scattered on Omega_i x Omega_i, then
 * G = (K + lambda I) Q (K + lambda I) / n, symmetrised (rounding makes the product slightly
 * asymmetric and, left alone, the asymmetry grows over sweeps). Adds lambda to K's diagonal and
 * removes it again; Q and T are d x d work buffers.
 */
export function agopFactored(
  d: number,
  K: Float64Array,
  lambda: number,
  m: Csr,
  a: Float64Array,
  cols: ColumnIndex,
  Q: Float64Array,
  T: Float64Array,
  G: Float64Array,
): Float64Array {
  const n = m.nRows;
  accumulateQ(d, m, a, cols, Q, 0, d);
  const saved = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    saved[j] = K[j * d + j]!;
    K[j * d + j] += lambda;
  }
  dgemm(false, false, d, d, d, 1, Q, d, 0, K, d, 0, 0, T, d, 0);
  dgemm(false, false, d, d, d, 1 / n, K, d, 0, T, d, 0, 0, G, d, 0);
  for (let j = 0; j < d; j++) K[j * d + j] = saved[j]!;
  return dsymmetrize(d, G, d, 0);
}

/** Column access to a CSR matrix: for column j, the rows holding it and the entries' CSR positions. */
export interface ColumnIndex {
  colPtr: Int32Array;
  rowOf: Int32Array;
  posOf: Int32Array;
}

export function columnIndex(m: Csr): ColumnIndex {
  const nnz = nnzOf(m);
  const colPtr = new Int32Array(m.nCols + 1);
  for (let p = 0; p < nnz; p++) colPtr[m.colIdx[p]! + 1]!++;
  for (let j = 0; j < m.nCols; j++) colPtr[j + 1]! += colPtr[j]!;
  const next = colPtr.slice(0, m.nCols);
  const rowOf = new Int32Array(nnz);
  const posOf = new Int32Array(nnz);
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      const t = next[m.colIdx[p]!]!++;
      rowOf[t] = i;
      posOf[t] = p;
    }
  }
  return { colPtr, rowOf, posOf };
}

/**
 * Rows [j0, j1) of Q = sum_i a_i a_i^T (scattered on Omega_i x Omega_i): row j of Q sums a_ij a_i over
 * the rows i that observe j, in ascending i. Working a row of Q at a time keeps the writes in cache
 * (scattering whole outer products into a large Q misses cache on nearly every update), and gives
 * each row of Q one owner and one summation order, whatever the partition.
 */
export function accumulateQ(d: number, m: Csr, a: Float64Array, cols: ColumnIndex, Q: Float64Array, j0: number, j1: number): Float64Array {
  const { rowPtr, colIdx } = m;
  const { colPtr, rowOf, posOf } = cols;
  Q.fill(0, j0 * d, j1 * d);
  for (let j = j0; j < j1; j++) {
    const qrow = j * d;
    for (let t = colPtr[j]!; t < colPtr[j + 1]!; t++) {
      const i = rowOf[t]!;
      const aij = a[posOf[t]!]!;
      for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) Q[qrow + colIdx[p]!] += aij * a[p]!;
    }
  }
  return Q;
}

/** Scratch for the next-kernel step when alpha != 1/2 (an eigendecomposition of G). */
export interface PowerScratch {
  V: Float64Array;
  w: Float64Array;
  work: Float64Array;
}

export function powerScratch(d: number): PowerScratch {
  return { V: new Float64Array(d * d), w: new Float64Array(d), work: new Float64Array(d * d + d) };
}

/**
 * K = G^(2 alpha) with negative eigenvalues clipped at 0; returns the eigensolver's status. When
 * 2 alpha is a whole number the power is a chain of products (G is positive semidefinite, so no
 * clipping is needed) and stays SVD-free.
 */
export function nextKernelPower(d: number, G: Float64Array, alpha: number, K: Float64Array, s: PowerScratch): number {
  const m = 2 * alpha;
  if (Number.isInteger(m) && m >= 1 && m <= 8) {
    K.set(G.subarray(0, d * d));
    for (let q = 1; q < m; q++) {
      dgemm(false, false, d, d, d, 1, K, d, 0, G, d, 0, 0, s.V, d, 0);
      K.set(s.V.subarray(0, d * d));
    }
    // products of a symmetric matrix with itself are symmetric only up to rounding
    dsymmetrize(d, K, d, 0);
    return 0;
  }
  return dsympow(d, G, d, 0, m, K, d, 0, s.V, s.w, s.work);
}
