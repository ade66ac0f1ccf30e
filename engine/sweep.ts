// The phases of one lin-RFM sweep over typed arrays: row solves, AGOP (streamed or factored), next kernel.

import { accumulateQJs, daxpy, dgemm, dsyrk, kernelImpl, solveRowRidge, solveRowsJs } from '../kernels/index.ts';
import { dpotrf } from '../kernels/chol.ts';
import { dsympow } from '../kernels/eig.ts';
import { dsqrtmNewtonSchulz, newtonSchulzSteps, newtonSchulzWork } from '../kernels/sqrtm.ts';
import { dsymmetrize } from '../kernels/sym.ts';
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

/** One row's solve with the row scratch: kernels/rows.ts solveRowRidge (returns the ridge used). */
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
  return solveRowRidge(d, K, lambda, k, colIdx, values, p0, scratch.sub, out, outOffset);
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
  return solveRowsJs(d, K, lambda, train.rowPtr, train.colIdx, train.values, r0, r1, a, scratch.sub);
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
  G.fill(0, 0, d * d);
  for (let c0 = 0; c0 < n; c0 += chunkRows) {
    const c1 = Math.min(n, c0 + chunkRows);
    const rows = c1 - c0;
    yhatRows(d, K, m, a, c0, c1, ybuf, 0);
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

/** Rows [r0, r1) of Yhat = S K with the observed values put back, written from y[yoff] on (d per row). */
export function yhatRows(d: number, K: Float64Array, m: Csr, a: Float64Array, r0: number, r1: number, y: Float64Array, yoff: number): Float64Array {
  const { rowPtr, colIdx, values } = m;
  y.fill(0, yoff, yoff + (r1 - r0) * d);
  for (let i = r0; i < r1; i++) {
    const o = yoff + (i - r0) * d;
    const pe = rowPtr[i + 1]!;
    let p = rowPtr[i]!;
    // Four rows of K per pass over y: one load and store of y per four multiply-adds (1.6x faster
    // than four daxpy calls here). Left to right, y + s0 k0 + s1 k1 + ... rounds exactly as the
    // daxpy calls one after another would.
    for (; p + 4 <= pe; p += 4) {
      const s0 = a[p]!, s1 = a[p + 1]!, s2 = a[p + 2]!, s3 = a[p + 3]!;
      const k0 = colIdx[p]! * d, k1 = colIdx[p + 1]! * d, k2 = colIdx[p + 2]! * d, k3 = colIdx[p + 3]! * d;
      for (let j = 0; j < d; j++) {
        y[o + j] = y[o + j]! + s0 * K[k0 + j]! + s1 * K[k1 + j]! + s2 * K[k2 + j]! + s3 * K[k3 + j]!;
      }
    }
    for (; p < pe; p++) daxpy(d, a[p]!, K, 1, colIdx[p]! * d, y, 1, o);
    // The ridge term lambda a_il lands only on observed columns, which the put-back overwrites.
    for (let q = rowPtr[i]!; q < pe; q++) y[o + colIdx[q]!] = values[q]!;
  }
  return y;
}

/** Column access to a CSR matrix: for column j, the rows holding it and the entries' CSR positions. */
export interface ColumnIndex {
  colPtr: Int32Array;
  rowOf: Int32Array;
  posOf: Int32Array;
}

export function columnIndex(m: Csr): ColumnIndex {
  const nnz = nnzOf(m);
  return columnIndexInto(m, new Int32Array(m.nCols + 1), new Int32Array(nnz), new Int32Array(nnz));
}

/** columnIndex into given arrays (colPtr: nCols + 1; rowOf, posOf: one per entry), which it returns. */
export function columnIndexInto(m: Csr, colPtr: Int32Array, rowOf: Int32Array, posOf: Int32Array): ColumnIndex {
  const nnz = nnzOf(m);
  colPtr.fill(0);
  for (let p = 0; p < nnz; p++) colPtr[m.colIdx[p]! + 1]!++;
  for (let j = 0; j < m.nCols; j++) colPtr[j + 1]! += colPtr[j]!;
  const next = colPtr.slice(0, m.nCols);
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
export function accumulateQ(d: number, m: Csr, a: Float64Array, cols: ColumnIndex, Q: Float64Array, j0: number, j1: number, zero = true): Float64Array {
  return accumulateQJs(d, m.rowPtr, m.colIdx, cols.colPtr, cols.rowOf, cols.posOf, a, j0, j1, Q, zero);
}

/** Scratch for the next-kernel step when alpha != 1/2 (an eigendecomposition of G, or Newton-Schulz). */
export interface PowerScratch {
  V: Float64Array;
  w: Float64Array;
  work: Float64Array;
}

export function powerScratch(d: number): PowerScratch {
  return { V: new Float64Array(d * d), w: new Float64Array(d), work: new Float64Array(d * d + d) };
}

/** How a half-integer power G^(m/2) gets its square root: by eigendecomposition or by products only. */
export type RootMethod = 'auto' | 'eig' | 'newton-schulz';

export interface PowerOptions {
  /**
   * 'eig' takes every power, whole ones included, through the eigendecomposition (the IRLS way);
   * 'newton-schulz' takes the square root of half-integer powers by products only; 'auto' (the
   * default) does the latter when its predicted product count is below an eigendecomposition's cost.
   */
  root?: RootMethod;
  /**
   * The ridge the next kernel will be used with (same units as G's root). Newton-Schulz then
   * resolves K only to ROOT_RESOLUTION of it (see nextKernelPower); without it, to rounding.
   */
  lambda?: number;
}

/**
 * The eigendecomposition path's time in d x d products, on this machine (Node 20, 2 shared cores,
 * min of interleaved runs, d = 100 to 1000): 41 to 79 with the WASM products, and Newton-Schulz
 * took 0.56-0.8 of its time at 12-13 steps, 0.73-0.92 at 16-17, 0.9-1.1 at 21-22, at every d (both
 * are ~d^3, so there is no crossover in d, only in steps). 3 k < 60 picks it up to 19 steps.
 * With the TypeScript products (~10x slower, the eigensolver unchanged) it is 7 to 11: never.
 */
const EIG_PRODUCTS = kernelImpl === 'wasm' ? 60 : 8;
/**
 * Newton-Schulz resolves the root's eigenvalues to sqrt(shift) / 2 with shift = (ROOT_RESOLUTION
 * lambda)^2, i.e. to 5% of the ridge the solves add anyway: G's eigenvalues far below the shift
 * (the rank-r part's rounding-level tail) are where the unscaled iteration spends its steps. It
 * costs no sweeps against the eigendecomposition (docs/DESIGN.md, "The schedule").
 */
export const ROOT_RESOLUTION = 0.1;
const EPS = 2.220446049250313e-16;

/**
 * K = G^(2 alpha) with negative eigenvalues clipped at 0; returns 0, or the eigensolver's status.
 * When 2 alpha is a whole number the power is a chain of products (G is positive semidefinite, so
 * no clipping is needed) and stays SVD-free; when it is a half-integer, G^(1/2) can come from the
 * Newton-Schulz iteration (products only). That one computes
 *   R = (G + mu I)^(1/2) - (mu / 2) (G + mu I)^(-1/2),  mu = max((ROOT_RESOLUTION lambda)^2, 4 d eps ||G||_F),
 * whose eigenvalues are within sqrt(mu) / 2 of G^(1/2)'s (and within mu^2 / (8 x^(3/2)) for the
 * eigenvalues x >> mu), and whose scaled iteration needs ~log(||G|| / mu) / log(2.6) steps; the floor
 * keeps G's rounding-level negative eigenvalues out of the iteration. When G + (mu / 2) I is not
 * positive definite, or the iteration reports failure, the eigendecomposition takes over.
 */
export function nextKernelPower(d: number, G: Float64Array, alpha: number, K: Float64Array, s: PowerScratch, o: PowerOptions = {}): number {
  const m = 2 * alpha;
  const root = o.root ?? 'auto';
  const whole = Number.isInteger(m) && m >= 1 && m <= 8;
  const half = !whole && Number.isInteger(2 * m) && m > 0 && m <= 8;
  if (root !== 'eig' && (whole || half)) {
    const dd = d * d;
    let done = whole;
    if (half) {
      let f2 = 0;
      for (let q = 0; q < dd; q++) f2 += G[q]! * G[q]!;
      const fro = Math.sqrt(f2);
      const res = o.lambda === undefined ? 0 : ROOT_RESOLUTION * o.lambda;
      const mu = Math.max(res * res, 4 * d * EPS * fro);
      const tol = 1e-10;
      // ||G + mu I||_F bounds the iteration's scale from above, so this over-counts by a step at most.
      const steps = newtonSchulzSteps(mu / (2 * (fro + Math.sqrt(d) * mu)), tol);
      // the iteration's products (3 a step, the first 1), the Cholesky check (~2), then G^floor(m)
      const products = 3 * steps - 2 + 2 + Math.floor(m);
      if (root === 'newton-schulz' || products < EIG_PRODUCTS) {
        // The iteration assumes G + mu I >= mu / 2; Cholesky of G + (mu / 2) I is the exact test. An
        // extrapolated G (momentum) fails it often, by eigenvalues down to -4 lambda^2: no shift the
        // ridge tolerates covers those, so the eigendecomposition clips them.
        s.V.set(G.subarray(0, dd));
        for (let i = 0; i < d; i++) s.V[i * d + i] += 0.5 * mu;
        if (dpotrf(d, s.V, d, 0) !== 0) return dsympow(d, G, d, 0, m, K, d, 0, s.V, s.w, s.work);
        done = dsqrtmNewtonSchulz(d, G, K, newtonSchulzWork(4 * dd), { shift: mu, lower: mu / 2, tol, unshift: true }) >= 0;
      }
    }
    if (done) {
      // whole: K = G G ... G (m factors); half-integer: K = R G ... G (floor(m) factors of G)
      if (whole) K.set(G.subarray(0, dd));
      for (let q = whole ? 1 : 0; q < Math.floor(m); q++) {
        dgemm(false, false, d, d, d, 1, K, d, 0, G, d, 0, 0, s.work, d, 0);
        K.set(s.work.subarray(0, dd));
      }
      // products of a symmetric matrix with itself are symmetric only up to rounding
      dsymmetrize(d, K, d, 0);
      return 0;
    }
  }
  return dsympow(d, G, d, 0, m, K, d, 0, s.V, s.w, s.work);
}
