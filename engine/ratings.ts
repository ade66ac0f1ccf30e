// A ratings-shaped synthetic problem, seeded: power-law row and column counts (a few rows with
// thousands of entries, many with a handful; popular and rare columns), a global mean, row and column
// biases, a low-rank signal and Gaussian noise, with a held-out test share drawn from the same rows.

import { Rng } from '../kernels/random.ts';
import { csrFromTriplets, type Csr } from './csr.ts';

export interface RatingsOptions {
  rows: number;
  cols: number;
  /** About this many entries in all (training and test); each row has at least minPerRow. */
  observed: number;
  rank: number;
  /** Standard deviation of the noise: the floor of any method's test RMSE. */
  noise: number;
  seed: number;
  /** Row counts fall as (rank among rows)^-rowExponent; column popularity as (rank among columns)^-colExponent. */
  rowExponent?: number;
  colExponent?: number;
  minPerRow?: number;
  /** Standard deviations of the row and column biases, and of the signal u_i . v_j. */
  rowBias?: number;
  colBias?: number;
  signal?: number;
  mean?: number;
  /** Share of each row's entries (rows with 2 or more) held out as the test set. */
  testShare?: number;
}

export interface RatingsProblem {
  train: Csr;
  /** Held-out entries with their noisy values (what a test RMSE compares with), rows ascending. */
  test: { rows: Int32Array; cols: Int32Array; values: Float64Array };
  options: Required<RatingsOptions>;
}

const DEFAULTS = { rowExponent: 0.9, colExponent: 0.9, minPerRow: 5, rowBias: 0.4, colBias: 0.5, signal: 1, mean: 3.6, testShare: 0.02 };

/** Power-law weights (k + 1)^-s over a seeded random order of `n` items, normalised to sum 1. */
function powerLaw(n: number, s: number, rng: Rng): Float64Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const w = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const v = (k + 1) ** -s;
    w[order[k]!] = v;
    sum += v;
  }
  for (let i = 0; i < n; i++) w[i]! /= sum;
  return w;
}

export function generateRatings(options: RatingsOptions): RatingsProblem {
  const o: Required<RatingsOptions> = { ...DEFAULTS, ...options };
  const { rows: n, cols: d, rank: r, seed } = o;
  if (!(n >= 1 && d >= 2 && r >= 1 && o.observed >= n * o.minPerRow && o.minPerRow >= 1)) {
    throw new RangeError('generateRatings: need rows >= 1, cols >= 2, rank >= 1, minPerRow >= 1 and observed >= rows * minPerRow');
  }
  const rng = new Rng(seed);
  // each row's count: minPerRow plus its power-law share of the rest, at most half the columns
  const rowW = powerLaw(n, o.rowExponent, rng);
  const counts = new Int32Array(n);
  const spare = o.observed - n * o.minPerRow;
  const cap = Math.max(o.minPerRow, Math.floor(d / 2));
  let total = 0;
  for (let i = 0; i < n; i++) {
    counts[i] = Math.min(cap, o.minPerRow + Math.floor(spare * rowW[i]! + rng.uniform()));
    total += counts[i]!;
  }
  // what the cap took from the longest rows goes to the others, by their weights (a few passes)
  for (let pass = 0; pass < 8 && total < o.observed; pass++) {
    let open = 0;
    for (let i = 0; i < n; i++) if (counts[i]! < cap) open += rowW[i]!;
    if (!(open > 0)) break;
    const deficit = o.observed - total;
    for (let i = 0; i < n; i++) {
      if (counts[i]! >= cap) continue;
      const add = Math.min(cap - counts[i]!, Math.floor((deficit * rowW[i]!) / open + rng.uniform()));
      counts[i]! += add;
      total += add;
    }
  }
  // columns by popularity: a cumulative table and binary search, distinct within a row by rejection
  const colW = powerLaw(d, o.colExponent, rng);
  const cum = new Float64Array(d);
  let acc = 0;
  for (let j = 0; j < d; j++) cum[j] = acc += colW[j]!;
  const drawCol = (): number => {
    const u = rng.uniform() * acc;
    let lo = 0;
    let hi = d - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const U = Float64Array.from({ length: n * r }, () => rng.normal() * Math.sqrt(o.signal / Math.sqrt(r)));
  const V = Float64Array.from({ length: d * r }, () => rng.normal() * Math.sqrt(o.signal / Math.sqrt(r)));
  const bRow = Float64Array.from({ length: n }, () => rng.normal() * o.rowBias);
  const bCol = Float64Array.from({ length: d }, () => rng.normal() * o.colBias);
  const value = (i: number, j: number): number => {
    let s = o.mean + bRow[i]! + bCol[j]!;
    for (let e = 0; e < r; e++) s += U[i * r + e]! * V[j * r + e]!;
    return s + rng.normal() * o.noise;
  };
  const tr = { rows: new Int32Array(total), cols: new Int32Array(total), values: new Float64Array(total) };
  const te = { rows: [] as number[], cols: [] as number[], values: [] as number[] };
  let m = 0;
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    seen.clear();
    const c = counts[i]!;
    // a row taking a large share of the columns draws uniformly once popularity rejects too often
    let tries = 0;
    while (seen.size < c) {
      const j = tries++ < 20 * c ? drawCol() : rng.int(d);
      seen.add(j);
    }
    const held = c >= 2 ? Math.floor(c * o.testShare + rng.uniform()) : 0;
    let t = 0;
    for (const j of seen) {
      const v = value(i, j);
      if (t++ < held) {
        te.rows.push(i);
        te.cols.push(j);
        te.values.push(v);
      } else {
        tr.rows[m] = i;
        tr.cols[m] = j;
        tr.values[m] = v;
        m++;
      }
    }
  }
  const train = csrFromTriplets(n, d, m, tr.rows.subarray(0, m), tr.cols.subarray(0, m), tr.values.subarray(0, m));
  return { train, test: { rows: Int32Array.from(te.rows), cols: Int32Array.from(te.cols), values: Float64Array.from(te.values) }, options: o };
}
