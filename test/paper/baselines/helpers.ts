// Dense references and error measures for the baseline tests (ml-matrix and plain loops, independent of the code under test).

import { Matrix } from 'ml-matrix';
import { Rng } from '../../../kernels/random.ts';
import type { Csr } from '../../../engine/csr.ts';
import type { SyntheticProblem } from '../../../engine/synthetic.ts';
import { unobservedRelativeError } from '../../relative-error.ts';
import type { BaselineResult } from '../../../paper/baselines/common.ts';

/** Each entry observed with probability `density`, N(0, 1) values; every row and column keeps at least one entry. */
export function randomObserved(n: number, d: number, density: number, rng: Rng): Csr {
  const mask = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.uniform() < density));
  for (let i = 0; i < n; i++) if (!mask[i]!.some(Boolean)) mask[i]![rng.int(d)] = true;
  for (let j = 0; j < d; j++) if (!mask.some((row) => row[j])) mask[rng.int(n)]![j] = true;
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      if (mask[i]![j]) {
        cols.push(j);
        vals.push(rng.normal());
      }
    }
    rowPtr[i + 1] = cols.length;
  }
  return { nRows: n, nCols: d, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
}

export function flatOf(M: Matrix): Float64Array {
  const out = new Float64Array(M.rows * M.columns);
  for (let i = 0; i < M.rows; i++) for (let j = 0; j < M.columns; j++) out[i * M.columns + j] = M.get(i, j);
  return out;
}


/** Relative Frobenius error over all unobserved entries against the noiseless truth. */
export function relTestError(prob: SyntheticProblem, res: BaselineResult): number {
  return unobservedRelativeError(prob.train, prob.truth, (r, c) => res.predict(r, c));
}
