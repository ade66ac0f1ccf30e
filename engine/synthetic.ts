// Synthetic low-rank completion problems as in the paper's experiments, seeded, with held-out truth.

import { Rng } from '../kernels/random.ts';
import { csrFromTriplets, findEntry, type Csr } from './csr.ts';

export interface SyntheticOptions {
  rows: number;
  cols: number;
  rank: number;
  /** Exactly this many distinct entries are observed, uniformly at random. */
  observed: number;
  seed: number;
  /** Standard deviation of Gaussian noise added to the observed values (truth stays noiseless). */
  noise?: number;
}

export interface SyntheticProblem {
  options: Required<SyntheticOptions>;
  /** Observed entries (noisy if noise > 0), rows ascending, columns ascending within a row. */
  train: Csr;
  /** Row-major factors: Y = scale * U V with U rows x rank, V rank x cols. */
  U: Float64Array;
  V: Float64Array;
  scale: number;
  /** The noiseless value of entry (i, j). */
  truth(i: number, j: number): number;
}

/**
 * Y = U V / sqrt(r) with standard Gaussian factors, rescaled so that the mean square of all n x d
 * entries is exactly 1 (computed from the factors: ||U V||_F^2 = trace((U^T U)(V V^T)), so the
 * full matrix is never formed).
 */
export function generateLowRank(opts: SyntheticOptions): SyntheticProblem {
  const { rows: n, cols: d, rank: r, observed: m, seed } = opts;
  const noise = opts.noise ?? 0;
  if (!(n >= 1 && d >= 1 && r >= 1)) throw new RangeError('rows, cols and rank must be >= 1');
  const total = n * d;
  if (!(m >= 1 && m <= total)) throw new RangeError(`observed must be in [1, ${total}], got ${m}`);
  const rng = new Rng(seed);
  const U = new Float64Array(n * r);
  const V = new Float64Array(r * d);
  for (let i = 0; i < U.length; i++) U[i] = rng.normal();
  for (let i = 0; i < V.length; i++) V[i] = rng.normal();

  // Mean square of U V from the two r x r Gram matrices.
  const UtU = new Float64Array(r * r);
  const VVt = new Float64Array(r * r);
  for (let a = 0; a < r; a++) {
    for (let b = 0; b < r; b++) {
      let su = 0;
      for (let i = 0; i < n; i++) su += U[i * r + a]! * U[i * r + b]!;
      UtU[a * r + b] = su;
      let sv = 0;
      for (let j = 0; j < d; j++) sv += V[a * d + j]! * V[b * d + j]!;
      VVt[a * r + b] = sv;
    }
  }
  let fro2 = 0;
  for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) fro2 += UtU[a * r + b]! * VVt[b * r + a]!;
  const scale = Math.sqrt(total / fro2);

  const flat = sampleDistinct(total, m, rng);
  const ri = new Int32Array(m);
  const ci = new Int32Array(m);
  const vals = new Float64Array(m);
  const truth = (i: number, j: number): number => {
    let s = 0;
    for (let a = 0; a < r; a++) s += U[i * r + a]! * V[a * d + j]!;
    return s * scale;
  };
  for (let e = 0; e < m; e++) {
    const f = flat[e]!;
    const i = Math.floor(f / d);
    const j = f - i * d;
    ri[e] = i;
    ci[e] = j;
    vals[e] = truth(i, j) + (noise > 0 ? noise * rng.normal() : 0);
  }
  const train = csrFromTriplets(n, d, m, ri, ci, vals);
  return { options: { rows: n, cols: d, rank: r, observed: m, seed, noise }, train, U, V, scale, truth };
}

/**
 * m distinct integers drawn uniformly from [0, total), sorted ascending. Draws with replacement,
 * sorts and removes repeats, and tops up until m remain: the process treats every element alike,
 * so every m-subset is equally likely, in O(m log m) time and O(m) memory whatever `total` is.
 */
export function sampleDistinct(total: number, m: number, rng: Rng): Float64Array {
  if (m > total / 2) {
    // Dense case: selection sampling in one pass keeps it exact and linear.
    const out = new Float64Array(m);
    let need = m;
    let k = 0;
    for (let x = 0; x < total && need > 0; x++) {
      if (rng.uniform() * (total - x) < need) {
        out[k++] = x;
        need--;
      }
    }
    return out;
  }
  const buf = new Float64Array(m);
  let have = 0;
  while (have < m) {
    for (let k = have; k < m; k++) buf[k] = Math.floor(rng.uniform() * total);
    buf.sort();
    let w = 0;
    for (let k = 0; k < m; k++) {
      if (k === 0 || buf[k] !== buf[w - 1]) buf[w++] = buf[k]!;
    }
    have = w;
  }
  return buf;
}

/** Every entry of the matrix not in `observed`, in row-major order (for error reports on small cases). */
export function unobservedPairs(observed: Csr): { rows: Int32Array; cols: Int32Array } {
  const { nRows: n, nCols: d, rowPtr, colIdx } = observed;
  const count = n * d - rowPtr[n]!;
  const rows = new Int32Array(count);
  const cols = new Int32Array(count);
  let u = 0;
  for (let i = 0; i < n; i++) {
    let q = rowPtr[i]!;
    for (let j = 0; j < d; j++) {
      if (q < rowPtr[i + 1]! && colIdx[q] === j) q++;
      else {
        rows[u] = i;
        cols[u++] = j;
      }
    }
  }
  return { rows, cols };
}

/** `count` distinct unobserved entries drawn uniformly (for error reports on large cases). */
export function sampleUnobserved(observed: Csr, count: number, seed: number): { rows: Int32Array; cols: Int32Array } {
  const rng = new Rng(seed);
  const rows = new Int32Array(count);
  const cols = new Int32Array(count);
  const seen = new Set<number>();
  for (let e = 0; e < count; ) {
    const i = rng.int(observed.nRows);
    const j = rng.int(observed.nCols);
    if (findEntry(observed, i, j) >= 0 || seen.has(i * observed.nCols + j)) continue;
    seen.add(i * observed.nCols + j);
    rows[e] = i;
    cols[e++] = j;
  }
  return { rows, cols };
}

/** Relative Frobenius error over the unobserved entries of a synthetic problem. */
export function unobservedError(p: SyntheticProblem, predict: (rows: Int32Array, cols: Int32Array) => Float64Array): { relError: number; mse: number; count: number } {
  const { rows, cols } = unobservedPairs(p.train);
  return truthError(p, predict, rows, cols);
}

/** Relative Frobenius error (and MSE) of the predictions at the pairs (rows, cols) against the problem's truth. */
export function truthError(
  p: SyntheticProblem, predict: (rows: Int32Array, cols: Int32Array) => Float64Array, rows: Int32Array, cols: Int32Array,
): { relError: number; mse: number; count: number } {
  const pred = predict(rows, cols);
  let num = 0;
  let den = 0;
  for (let e = 0; e < rows.length; e++) {
    const y = p.truth(rows[e]!, cols[e]!);
    num += (pred[e]! - y) ** 2;
    den += y * y;
  }
  return { relError: Math.sqrt(num / den), mse: num / rows.length, count: rows.length };
}
