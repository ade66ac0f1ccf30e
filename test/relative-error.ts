// The relative errors numeric tests compare with, by their defining formulas: sqrt(sum (x - t)^2 / sum t^2)
// and max |x - t| / max |t|.

import { unobservedPairs, type Csr } from '../engine/index.ts';

/** max |a - b| / max |b| (1 for the denominator when b is all zero). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}

/** The relative Frobenius error of `pred` against `truth`, summed in order. */
export function relativeError(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let e = 0; e < truth.length; e++) {
    num += (pred[e]! - truth[e]!) ** 2;
    den += truth[e]! ** 2;
  }
  return Math.sqrt(num / den);
}

/**
 * The relative error over every unobserved entry of `observed`, predictions from `predict` and the
 * truth from `truth` (row and column as in `observed`).
 */
export function unobservedRelativeError(
  observed: Csr, truth: (i: number, j: number) => number, predict: (rows: Int32Array, cols: Int32Array) => Float64Array,
): number {
  const { rows, cols } = unobservedPairs(observed);
  return relativeError(predict(rows, cols), Float64Array.from(rows, (i, e) => truth(i, cols[e]!)));
}
