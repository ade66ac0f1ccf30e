// Biased alternating least squares, the baseline recommender benchmarks compare with: a rating is
// mean + row bias + column bias + u_i . v_j, and each half step solves every row's (or column's)
// ridge problem exactly with the other side held fixed. The ridge is weighted by the row's count
// (lambda |O_i|, as in Zhou et al., "Large-scale parallel collaborative filtering for the Netflix
// Prize", 2008), so one lambda suits rows with 5 entries and rows with 5,000.

import { dpotrf, dpotrs } from '../kernels/chol.ts';
import { Rng } from '../kernels/random.ts';
import { nnzOf, transposeCsr, type Csr } from './csr.ts';

export interface AlsOptions {
  rank: number;
  /** Ridge per observed entry: row i's problem has ridge lambda |O_i| on its factor and its bias. */
  lambda: number;
  iterations: number;
  seed: number;
}

export interface AlsModel {
  rank: number;
  mean: number;
  /** Row factors (nRows x rank, row-major) and column factors (nCols x rank). */
  U: Float64Array;
  V: Float64Array;
  rowBias: Float64Array;
  colBias: Float64Array;
}

/**
 * One half step: for each row i of m, with features x_j = [F_j, 1] of its columns and targets
 * m_ij - mean - otherBias_j, solves (sum x x^T + lambda |O_i| I) theta = sum x t and writes theta's
 * first `rank` entries to row i of `out` and the last to `bias[i]`. A row with no entries gets zeros.
 */
export function alsHalfStep(
  m: Csr, F: Float64Array, otherBias: Float64Array, mean: number, rank: number, lambda: number, out: Float64Array, bias: Float64Array,
): void {
  const R = rank + 1;
  const G = new Float64Array(R * R);
  const h = new Float64Array(R);
  let maxLen = 0;
  for (let i = 0; i < m.nRows; i++) maxLen = Math.max(maxLen, m.rowPtr[i + 1]! - m.rowPtr[i]!);
  // the row's features column by column (feature a of entry q at a * len + q) and its targets, so
  // each entry of the Gram matrix is one dot product of two contiguous runs
  const X = new Float64Array(R * maxLen);
  const t = new Float64Array(maxLen);
  for (let i = 0; i < m.nRows; i++) {
    const p0 = m.rowPtr[i]!;
    const p1 = m.rowPtr[i + 1]!;
    const len = p1 - p0;
    for (let q = 0; q < len; q++) {
      const j = m.colIdx[p0 + q]!;
      t[q] = m.values[p0 + q]! - mean - otherBias[j]!;
      for (let a = 0; a < rank; a++) X[a * len + q] = F[j * rank + a]!;
      X[rank * len + q] = 1;
    }
    for (let a = 0; a < R; a++) {
      const xa = a * len;
      h[a] = dot(X, xa, t, 0, len);
      for (let b = 0; b <= a; b++) G[a * R + b] = dot(X, xa, X, b * len, len);
    }
    const ridge = lambda * (p1 - p0);
    for (let a = 0; a < R; a++) G[a * R + a]! += ridge;
    if (p1 === p0 || dpotrf(R, G, R, 0) !== 0) h.fill(0);
    else dpotrs(R, G, R, 0, h, 1, 0);
    for (let a = 0; a < rank; a++) out[i * rank + a] = h[a]!;
    bias[i] = h[rank]!;
  }
}

/** sum_q x[ox + q] y[oy + q], four running sums (a fixed order, so the same bits every run). */
function dot(x: Float64Array, ox: number, y: Float64Array, oy: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q = 0;
  for (; q + 4 <= len; q += 4) {
    s0 += x[ox + q]! * y[oy + q]!;
    s1 += x[ox + q + 1]! * y[oy + q + 1]!;
    s2 += x[ox + q + 2]! * y[oy + q + 2]!;
    s3 += x[ox + q + 3]! * y[oy + q + 3]!;
  }
  for (; q < len; q++) s0 += x[ox + q]! * y[oy + q]!;
  return s0 + s1 + (s2 + s3);
}

/** Fits biased ALS to the entries of `train`, starting from small seeded column factors and zero biases. */
export function fitBiasedAls(train: Csr, o: AlsOptions, onIteration?: (iteration: number, model: AlsModel) => void): AlsModel {
  const nnz = nnzOf(train);
  let sum = 0;
  for (let p = 0; p < nnz; p++) sum += train.values[p]!;
  const mean = nnz > 0 ? sum / nnz : 0;
  const cols = transposeCsr(train);
  const rng = new Rng(o.seed);
  const model: AlsModel = {
    rank: o.rank,
    mean,
    U: new Float64Array(train.nRows * o.rank),
    V: Float64Array.from({ length: train.nCols * o.rank }, () => 0.1 * rng.normal()),
    rowBias: new Float64Array(train.nRows),
    colBias: new Float64Array(train.nCols),
  };
  for (let it = 1; it <= o.iterations; it++) {
    alsHalfStep(train, model.V, model.colBias, mean, o.rank, o.lambda, model.U, model.rowBias);
    alsHalfStep(cols, model.U, model.rowBias, mean, o.rank, o.lambda, model.V, model.colBias);
    onIteration?.(it, model);
  }
  return model;
}

/** The model's ratings for the pairs (rows[e], cols[e]). */
export function predictAls(model: AlsModel, rows: Int32Array, cols: Int32Array): Float64Array {
  const { rank: r, U, V } = model;
  const out = new Float64Array(rows.length);
  for (let e = 0; e < rows.length; e++) {
    const i = rows[e]!;
    const j = cols[e]!;
    let s = model.mean + model.rowBias[i]! + model.colBias[j]!;
    for (let a = 0; a < r; a++) s += U[i * r + a]! * V[j * r + a]!;
    out[e] = s;
  }
  return out;
}
