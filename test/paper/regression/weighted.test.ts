// WeightedSolver (both its n x n and its m x m form) against ml-matrix LU solves of the defining equations.

import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { relativeError } from '../../../paper/regression/types.ts';
import { WeightedSolver } from '../../../paper/regression/weighted.ts';

function data(seed: number, n: number, d: number, zeros: number) {
  const rng = new Rng(seed);
  const X = Float64Array.from({ length: n * d }, () => rng.normal());
  const y = Float64Array.from({ length: n }, () => rng.normal());
  const k = Float64Array.from({ length: d }, () => 0.05 + rng.uniform() * 3);
  // `zeros` distinct columns (stride 7, coprime to the d used here) get k_j = 0.
  for (let t = 0; t < zeros; t++) k[(t * 7) % d] = 0;
  return { X, y, k };
}

// Ridge reference: beta minimises ||X beta - y||^2 + lambda sum beta_j^2 / k_j over the columns with
// k_j > 0 (beta_j = 0 elsewhere): (X_S^T X_S + lambda diag(1/k_S)) beta_S = X_S^T y, a d x d LU solve.
function ridgeReference(n: number, d: number, X: Float64Array, y: Float64Array, k: Float64Array, lambda: number): Float64Array {
  const S = [...Array(d).keys()].filter((j) => k[j]! > 0);
  const A = Matrix.zeros(S.length, S.length);
  const b = Matrix.zeros(S.length, 1);
  S.forEach((j, a) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += X[i * d + j]! * y[i]!;
    b.set(a, 0, s);
    S.forEach((l, c) => {
      let t = 0;
      for (let i = 0; i < n; i++) t += X[i * d + j]! * X[i * d + l]!;
      A.set(a, c, t + (a === c ? lambda / k[j]! : 0));
    });
  });
  const x = solve(A, b);
  const beta = new Float64Array(d);
  S.forEach((j, a) => (beta[j] = x.get(a, 0)));
  return beta;
}

describe('WeightedSolver', () => {
  for (const seed of [8, 909]) {
    it(`n x n form (more kept columns than rows), lambda > 0: the ridge minimiser to 1e-10 (seed ${seed})`, () => {
      const n = 12, d = 30;
      const { X, y, k } = data(seed, n, d, 5);
      const beta = new Float64Array(d).fill(NaN);
      const S = new WeightedSolver(n, d);
      expect(S.solve(X, y, k, 0.3, beta)).toBe(0);
      expect(S.lastKept).toBe(25);
      expect(relativeError(beta, ridgeReference(n, d, X, y, k, 0.3))).toBeLessThan(1e-10);
    });

    it(`m x m form (fewer kept columns than rows), lambda > 0: the ridge minimiser to 1e-10 (seed ${seed})`, () => {
      const n = 20, d = 30;
      const { X, y, k } = data(seed, n, d, 22);
      const beta = new Float64Array(d);
      const S = new WeightedSolver(n, d);
      expect(S.solve(X, y, k, 0.3, beta)).toBe(0);
      expect(S.lastKept).toBe(8);
      expect(relativeError(beta, ridgeReference(n, d, X, y, k, 0.3))).toBeLessThan(1e-10);
      // Tiny lambda: the kept columns' least-squares fit (rank 8 < n: the n x n form would be singular).
      const ls = new Float64Array(d);
      expect(S.solve(X, y, k, 1e-13, ls)).toBe(0);
      expect(relativeError(ls, ridgeReference(n, d, X, y, k, 0))).toBeLessThan(1e-9);
    });

    it(`lambda = 0: the weighted minimum-norm interpolant (constraint and optimality) (seed ${seed})`, () => {
      const n = 12, d = 30;
      const { X, y, k } = data(seed, n, d, 0);
      const beta = new Float64Array(d);
      expect(new WeightedSolver(n, d).solve(X, y, k, 0, beta)).toBe(0);
      const Xm = new Matrix(n, d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xm.set(i, j, X[i * d + j]!);
      const fit = Xm.mmul(Matrix.columnVector(Array.from(beta)));
      for (let i = 0; i < n; i++) expect(Math.abs(fit.get(i, 0) - y[i]!)).toBeLessThan(1e-10);
      // Optimality of min sum beta_j^2 / k_j s.t. X beta = y: beta / k lies in the row space of X.
      const g = Matrix.columnVector(Array.from(beta, (b, j) => b / k[j]!));
      const nu = solve(Xm.mmul(Xm.transpose()), Xm.mmul(g));
      const resid = Xm.transpose().mmul(nu).sub(g);
      expect(resid.norm() / g.norm()).toBeLessThan(1e-10);
    });
  }

  it('reports a raised ridge (status 1) for a singular n x n system, and status 2 when every k is zero at lambda = 0', () => {
    const n = 10, d = 30;
    const { X, y, k } = data(1, n, d, 0);
    // Every column of Xs is the same column: X K X^T (n x n, since all d >= n columns are kept)
    // has rank 1 and does not factor at lambda = 0.
    const Xs = new Float64Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xs[i * d + j] = X[i * d]!;
    const S = new WeightedSolver(n, d);
    const beta = new Float64Array(d);
    expect(S.solve(Xs, y, k, 0, beta)).toBe(1);
    expect(S.lastRidge).toBeGreaterThan(0);
    expect(beta.every(Number.isFinite)).toBe(true);
    expect(S.solve(X, y, new Float64Array(d), 0, beta)).toBe(2);
    expect(beta.every((b) => b === 0)).toBe(true);
  });
});
