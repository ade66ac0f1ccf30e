// The TypeScript row kernels: one row's ridge solve with its retry (the one loop every row solve
// goes through), the batched RowSolver and the QAccumulator (the WASM ones are kernels/wasm-rows.ts,
// with the same bits).

import { dpotrf, dpotrs } from './chol.ts';
import { dgathersymlower } from './sym.ts';
import type { QAccumulator, RowSolver } from './wasm.ts';

/**
 * Solves (K[idx, idx] + ridge I) a = y for one row whose k observed columns are idx = colIdx[p0..p0+k)
 * and values y = values[p0..p0+k), writing a into out[outOffset..]; `sub` holds k x k. If the
 * Cholesky factorisation fails (K is only positive semidefinite and lambda can be tiny), the ridge is
 * raised tenfold until it succeeds. Returns the ridge used, so callers can count fallbacks; Infinity
 * when none factored within 40 tries (K not even near-semidefinite: non-finite entries), with a
 * zero coefficient vector written.
 */
export function solveRowRidge(
  d: number, K: Float64Array, lambda: number, k: number, colIdx: Int32Array, values: Float64Array, p0: number,
  sub: Float64Array, out: Float64Array, outOffset: number,
): number {
  let ridge = lambda;
  for (let attempt = 0; ; attempt++) {
    dgathersymlower(k, colIdx, p0, K, d, 0, sub, k, 0);
    for (let q = 0; q < k; q++) sub[q * k + q] += ridge;
    if (dpotrf(k, sub, k, 0) === 0) break;
    if (attempt >= 40) {
      out.fill(0, outOffset, outOffset + k);
      return Number.POSITIVE_INFINITY;
    }
    ridge = Math.max(ridge * 10, 1e-12);
  }
  for (let q = 0; q < k; q++) out[outOffset + q] = values[p0 + q]!;
  dpotrs(k, sub, k, 0, out, 1, outOffset);
  return ridge;
}

/**
 * The TypeScript RowSolver: per row, dgathersymlower + the ridge add + dpotrf + dpotrs, exactly
 * the calls (and so the bits) of solveRowRidge, row after row. It keeps references to the arrays
 * (nothing is copied): they must not change while it is in use.
 */
export function createRowSolverJs(d: number, rowPtr: Int32Array, colIdx: Int32Array, values: Float64Array): RowSolver {
  const nRows = rowPtr.length - 1;
  let maxRow = 0;
  for (let r = 0; r < nRows; r++) maxRow = Math.max(maxRow, rowPtr[r + 1]! - rowPtr[r]!);
  const sub = new Float64Array(Math.max(1, maxRow * maxRow));
  let kernel: Float64Array | null = null;
  return {
    setKernel(K: Float64Array): void {
      if (K.length < d * d) throw new RangeError(`RowSolver.setKernel: K has ${K.length} elements, d * d = ${d * d} needed`);
      kernel = K;
    },
    solve(lambda: number, r0: number, r1: number, out: Float64Array): number {
      if (kernel === null) throw new Error('RowSolver.solve: setKernel was not called');
      if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 < r0 || r1 > nRows) {
        throw new RangeError(`RowSolver.solve: [${r0}, ${r1}) is not a range within [0, ${nRows})`);
      }
      return solveRowsJs(d, kernel, lambda, rowPtr, colIdx, values, r0, r1, out, sub);
    },
    dispose(): void {},
  };
}

/** solveRowRidge for rows [r0, r1) of a CSR, coefficients next to the values in `out`; returns the rows that needed a larger ridge. */
export function solveRowsJs(
  d: number, K: Float64Array, lambda: number,
  rowPtr: Int32Array, colIdx: Int32Array, values: Float64Array,
  r0: number, r1: number, out: Float64Array, sub: Float64Array,
): number {
  let fallbacks = 0;
  for (let r = r0; r < r1; r++) {
    const p0 = rowPtr[r]!;
    const k = rowPtr[r + 1]! - p0;
    if (k === 0) continue;
    if (solveRowRidge(d, K, lambda, k, colIdx, values, p0, sub, out, p0) !== lambda) fallbacks++;
  }
  return fallbacks;
}

/** The TypeScript QAccumulator: the loop of accumulateQJs; keeps references to the arrays. */
export function createQAccumulatorJs(
  d: number, rowPtr: Int32Array, colIdx: Int32Array, colPtr: Int32Array, rowOf: Int32Array, posOf: Int32Array,
): QAccumulator {
  return {
    accumulate(a: Float64Array, j0: number, j1: number, Q: Float64Array): Float64Array {
      if (!Number.isInteger(j0) || !Number.isInteger(j1) || j0 < 0 || j1 < j0 || j1 > d) {
        throw new RangeError(`QAccumulator.accumulate: [${j0}, ${j1}) is not a range within [0, ${d})`);
      }
      return accumulateQJs(d, rowPtr, colIdx, colPtr, rowOf, posOf, a, j0, j1, Q);
    },
    dispose(): void {},
  };
}

/** Rows [j0, j1) of Q = sum_i a_i a_i^T, a row of Q at a time (the engine's accumulateQ). */
export function accumulateQJs(
  d: number, rowPtr: Int32Array, colIdx: Int32Array, colPtr: Int32Array, rowOf: Int32Array, posOf: Int32Array,
  a: Float64Array, j0: number, j1: number, Q: Float64Array, zero = true,
): Float64Array {
  if (zero) Q.fill(0, j0 * d, j1 * d);
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
