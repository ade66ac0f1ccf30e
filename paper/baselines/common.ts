// What the dense completion baselines share: the oriented, scaled view of the data, dense iterates, predictions, results.

import { prepareData, type Csr } from '../../engine/index.ts';

/** One iteration of a baseline, for progress and the experiments' tables. */
export interface IterationInfo {
  iteration: number;
  /** Wall seconds of this iteration. */
  seconds: number;
  /** ||X_t - X_{t-1}||_F / ||X_{t-1}||_F of the dense iterate (Infinity when the previous one was 0). */
  relChange: number;
  /** The method's own extra numbers (smoothing eps, lambda, training loss, rank, ...). */
  extra?: Record<string, number>;
}

export type BaselineStop = 'converged' | 'max-iters' | 'diverged' | 'budget';

/**
 * Called after every iteration with the current iterate's predictions (computed only if called;
 * valid during the call). 'stop' ends the run there, stopReason 'budget' (the experiments' wall-time
 * budget).
 */
export type IterateHook = (iteration: number, predict: BaselineResult['predict']) => 'stop' | void;

export interface BaselineResult {
  /** Predictions at (row, col) pairs in input coordinates, in the data's units; observed entries come back as the fit has them. */
  predict(rows: Int32Array, cols: Int32Array, out?: Float64Array): Float64Array;
  iterations: number;
  stopReason: BaselineStop;
  /** True when the iteration cap ended the run (the experiments report it). */
  hitCap: boolean;
  history: IterationInfo[];
  seconds: number;
}

/**
 * The baselines' view of the input, as the engine sees it: the larger side on the rows (so every
 * d x d Gram matrix is on the smaller side) and values divided by their root mean square, so that
 * smoothing and threshold parameters mean the same at every size. Only `all` is used: baselines
 * have no validation split (they stop on their own criteria; ground truth is never looked at).
 */
export interface DenseProblem {
  n: number;
  d: number;
  /** Oriented, scaled observed entries. */
  obs: Csr;
  transposed: boolean;
  scale: number;
}

export function denseProblem(input: Csr): DenseProblem {
  const data = prepareData(input, 0, 0);
  return { n: data.all.nRows, d: data.all.nCols, obs: data.all, transposed: data.transposed, scale: data.scale };
}

/** X (n x d, row-major) <- P_Omega(Y): the observed values, zeros elsewhere. Returns X. */
export function scatterObserved(obs: Csr, X: Float64Array): Float64Array {
  const d = obs.nCols;
  X.fill(0, 0, obs.nRows * d);
  for (let i = 0; i < obs.nRows; i++) {
    for (let p = obs.rowPtr[i]!; p < obs.rowPtr[i + 1]!; p++) X[i * d + obs.colIdx[p]!] = obs.values[p]!;
  }
  return X;
}

/** Writes the observed values into X in place (P_Omega(Y) + P_Omega^perp(X)). */
export function putBackObserved(obs: Csr, X: Float64Array): Float64Array {
  const d = obs.nCols;
  for (let i = 0; i < obs.nRows; i++) {
    for (let p = obs.rowPtr[i]!; p < obs.rowPtr[i + 1]!; p++) X[i * d + obs.colIdx[p]!] = obs.values[p]!;
  }
  return X;
}

/** ||X - Xprev||_F / ||Xprev||_F over the first len elements (Infinity when Xprev is 0, NaN when either is not finite). */
export function relativeChange(len: number, X: Float64Array, Xprev: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let q = 0; q < len; q++) {
    const t = X[q]! - Xprev[q]!;
    num += t * t;
    den += Xprev[q]! * Xprev[q]!;
  }
  if (!Number.isFinite(num) || !Number.isFinite(den)) return Number.NaN;
  return den > 0 ? Math.sqrt(num / den) : num > 0 ? Number.POSITIVE_INFINITY : 0;
}

/**
 * Predictions from a dense oriented, scaled iterate X (kept by reference: the caller hands over
 * ownership). Pairs outside the matrix predict NaN.
 */
export function densePredictor(p: DenseProblem, X: Float64Array): BaselineResult['predict'] {
  const { n, d, transposed, scale } = p;
  return (rows, cols, out) => {
    const res = out ?? new Float64Array(rows.length);
    for (let e = 0; e < rows.length; e++) {
      const i = transposed ? cols[e]! : rows[e]!;
      const j = transposed ? rows[e]! : cols[e]!;
      res[e] = i >= 0 && i < n && j >= 0 && j < d ? X[i * d + j]! * scale : Number.NaN;
    }
    return res;
  };
}

/** Fails fast, naming the option, on a value outside its range. */
export function checkOption(method: string, key: string, value: number, ok: boolean, why: string): void {
  if (!ok) throw new RangeError(`${method}: option ${key} = ${String(value)}: ${why}`);
}
