// The Lasso solution checked by its optimality (KKT) conditions, computed here from X, y and beta alone.

import { describe, expect, it } from 'vitest';
import { lasso } from '../../../paper/regression/lasso.ts';
import { sparseRegression } from '../../../paper/regression/synthetic.ts';

// beta minimises (1/2n) ||y - X beta||^2 + lambda ||beta||_1 iff, with c_j = x_j^T (y - X beta) / n,
// c_j = lambda sign(beta_j) where beta_j != 0 and |c_j| <= lambda where beta_j = 0.
function kktViolation(n: number, d: number, X: Float64Array, y: Float64Array, beta: Float64Array, lambda: number): { worst: number; nonzeros: number } {
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = y[i]!;
    for (let j = 0; j < d; j++) v -= X[i * d + j]! * beta[j]!;
    r[i] = v;
  }
  let worst = 0;
  let nonzeros = 0;
  for (let j = 0; j < d; j++) {
    let c = 0;
    for (let i = 0; i < n; i++) c += X[i * d + j]! * r[i]!;
    c /= n;
    if (beta[j] !== 0) {
      nonzeros++;
      worst = Math.max(worst, Math.abs(c - lambda * Math.sign(beta[j]!)));
    } else {
      worst = Math.max(worst, Math.abs(c) - lambda);
    }
  }
  return { worst, nonzeros };
}

function lambdaMax(n: number, d: number, X: Float64Array, y: Float64Array): number {
  let m = 0;
  for (let j = 0; j < d; j++) {
    let c = 0;
    for (let i = 0; i < n; i++) c += X[i * d + j]! * y[i]!;
    m = Math.max(m, Math.abs(c / n));
  }
  return m;
}

describe('lasso (coordinate descent)', () => {
  for (const seed of [4, 31337]) {
    it(`noisy data, lambda by the discrepancy principle: KKT to 1e-8 lambda_max, residual at the noise level (seed ${seed})`, () => {
      const sigma = 0.3;
      const P = sparseRegression({ n: 60, d: 150, s: 5, seed, noise: sigma });
      const r = lasso(P, { sigma });
      expect(r.converged).toBe(true);
      const lmax = lambdaMax(P.n, P.d, P.X, P.y);
      expect(r.lambda).toBeLessThan(lmax);
      expect(r.lambda).toBeGreaterThan(1e-5 * lmax); // stopped inside the path, not at its end
      const k = kktViolation(P.n, P.d, P.X, P.y, r.beta, r.lambda);
      expect(k.nonzeros).toBeGreaterThan(0);
      expect(k.worst).toBeLessThan(1e-8 * lmax);
      let rss = 0;
      for (let i = 0; i < P.n; i++) {
        let v = P.y[i]!;
        for (let j = 0; j < P.d; j++) v -= P.X[i * P.d + j]! * r.beta[j]!;
        rss += v * v;
      }
      expect(Math.sqrt(rss / P.n)).toBeLessThanOrEqual(sigma);
    });

    it(`a single moderate lambda (one-point path): KKT to 1e-8 lambda_max (seed ${seed})`, () => {
      const P = sparseRegression({ n: 40, d: 120, s: 8, seed, noise: 0.1 });
      const lmax = lambdaMax(P.n, P.d, P.X, P.y);
      // Path of 2 points ending at 0.1 lambda_max: the first is lambda_max itself (beta = 0).
      const r = lasso(P, { nLambda: 2, ratio: 0.1 });
      expect(r.lambda).toBeCloseTo(0.1 * lmax, 12);
      const k = kktViolation(P.n, P.d, P.X, P.y, r.beta, r.lambda);
      expect(k.nonzeros).toBeGreaterThan(0);
      expect(k.nonzeros).toBeLessThan(P.n);
      expect(k.worst).toBeLessThan(1e-8 * lmax);
    });
  }
});
