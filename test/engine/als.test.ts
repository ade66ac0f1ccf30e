// Biased ALS, the baseline of the ratings benchmarks: one half step against the ridge normal
// equations solved densely by ml-matrix, and the full fit on noise-free biased low-rank data.

import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { alsHalfStep, fitBiasedAls, predictAls } from '../../engine/als.ts';
import { generateRatings } from '../../engine/ratings.ts';
import { Rng } from '../../kernels/random.ts';

const SEED = 61;

describe(`biased ALS (seed ${SEED})`, () => {
  const p = generateRatings({ rows: 600, cols: 120, observed: 18_000, rank: 3, noise: 0, seed: SEED });
  const m = p.train;

  it('a half step solves each row\'s ridge problem (features [v_j, 1], ridge lambda |O_i|) to 1e-10', () => {
    const rank = 3;
    const rng = new Rng(SEED);
    const V = Float64Array.from({ length: m.nCols * rank }, () => rng.normal());
    const cb = Float64Array.from({ length: m.nCols }, () => rng.normal());
    const U = new Float64Array(m.nRows * rank);
    const rb = new Float64Array(m.nRows);
    alsHalfStep(m, V, cb, 3.5, rank, 0.07, U, rb);
    for (const i of [0, 17, 301, 599]) {
      const p0 = m.rowPtr[i]!;
      const p1 = m.rowPtr[i + 1]!;
      const X = new Matrix(p1 - p0, rank + 1);
      const t = new Matrix(p1 - p0, 1);
      for (let p = p0; p < p1; p++) {
        const j = m.colIdx[p]!;
        for (let a = 0; a < rank; a++) X.set(p - p0, a, V[j * rank + a]!);
        X.set(p - p0, rank, 1);
        t.set(p - p0, 0, m.values[p]! - 3.5 - cb[j]!);
      }
      const A = X.transpose().mmul(X).add(Matrix.eye(rank + 1).mul(0.07 * (p1 - p0)));
      const theta = solve(A, X.transpose().mmul(t));
      for (let a = 0; a < rank; a++) expect(Math.abs(U[i * rank + a]! - theta.get(a, 0))).toBeLessThan(1e-10);
      expect(Math.abs(rb[i]! - theta.get(rank, 0))).toBeLessThan(1e-10);
    }
  });

  it('recovers noise-free biased rank-3 ratings: test RMSE under 0.05 against 1.0 for the mean alone', () => {
    const model = fitBiasedAls(m, { rank: 3, lambda: 1e-4, iterations: 30, seed: SEED });
    const pred = predictAls(model, p.test.rows, p.test.cols);
    const rmse = Math.sqrt(pred.reduce((s, x, e) => s + (x - p.test.values[e]!) ** 2, 0) / pred.length);
    const meanOnly = Math.sqrt(p.test.values.reduce((s, x) => s + (x - model.mean) ** 2, 0) / pred.length);
    expect(meanOnly).toBeGreaterThan(0.8);
    expect(rmse).toBeLessThan(0.05);
  });
});
