// Diagonal lin-RFM(alpha) is IRLS-p with p = 2 - 4 alpha: one step from the same beta, kernel K = W^-1.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { diagRfm, diagRfmStep } from '../../../paper/regression/diag-rfm.ts';
import { irls, irlsStep } from '../../../paper/regression/irls.ts';
import { relativeError } from '../../../paper/regression/types.ts';
import { WeightedSolver } from '../../../paper/regression/weighted.ts';

// The correspondence: IRLS weights w_j = (beta_j^2 + eps^2)^(p/2 - 1) give the kernel
// W^-1 = (beta_j^2 + eps^2)^(1 - p/2); lin-RFM's kernel is k_j = (beta_j^2)^(2 alpha). They are the
// same function of beta exactly when eps = 0 and 1 - p/2 = 2 alpha. IRLS then takes the weighted
// minimum-norm interpolant W^-1 X^T (X W^-1 X^T)^-1 y, which is lin-RFM's kernel ridge fit at
// lambda = 0. So the exact statement is lin-RFM(alpha, lambda = 0) = IRLS(p = 2 - 4 alpha, eps = 0),
// and lin-RFM at lambda > 0 approaches it linearly in lambda.
function instance(seed: number) {
  const rng = new Rng(seed);
  const n = 15;
  const d = 40;
  const X = Float64Array.from({ length: n * d }, () => rng.normal());
  const y = Float64Array.from({ length: n }, () => rng.normal());
  // A dense beta with spread-out magnitudes, as an iterate mid-run would have.
  const beta = Float64Array.from({ length: d }, () => rng.normal() * Math.exp(2 * rng.normal()));
  return { n, d, X, y, beta };
}

const PAIRS: [number, number][] = [[0.25, 1], [0.375, 0.5], [0.5, 0]];

describe('one lin-RFM step equals one IRLS step', () => {
  for (const seed of [5, 2024]) {
    for (const [alpha, p] of PAIRS) {
      it(`alpha = ${alpha} (lambda = 0) and p = ${p} (eps = 0) agree to 1e-8 (seed ${seed})`, () => {
        const { n, d, X, y, beta } = instance(seed);
        const solver = new WeightedSolver(n, d);
        const work = new Float64Array(d);
        const rfm = new Float64Array(d);
        const ir = new Float64Array(d);
        expect(diagRfmStep(solver, X, y, alpha, 0, beta, work, rfm)).toBe(0);
        expect(irlsStep(solver, X, y, p, 0, beta, work, ir)).toBe(0);
        expect(relativeError(rfm, ir)).toBeLessThan(1e-8);
        // Not a trivial agreement: the step moved beta, and it interpolates.
        expect(relativeError(rfm, beta)).toBeGreaterThan(1e-2);
        for (let i = 0; i < n; i++) {
          let v = 0;
          for (let j = 0; j < d; j++) v += X[i * d + j]! * ir[j]!;
          expect(Math.abs(v - y[i]!)).toBeLessThan(1e-9);
        }
      });
    }

    it(`lin-RFM(alpha = 1/2, lambda) -> IRLS(p = 0, eps = 0) linearly as lambda -> 0 (seed ${seed})`, ({ annotate }) => {
      const { n, d, X, y, beta } = instance(seed);
      const solver = new WeightedSolver(n, d);
      const work = new Float64Array(d);
      const ir = new Float64Array(d);
      irlsStep(solver, X, y, 0, 0, beta, work, ir);
      // lambda relative to the mean diagonal of X K X^T, as diagRfm schedules it.
      let meanDiag = 0;
      for (let j = 0; j < d; j++) {
        let c = 0;
        for (let i = 0; i < n; i++) c += X[i * d + j]! ** 2;
        meanDiag += beta[j]! ** 2 * c;
      }
      meanDiag /= n;
      const gaps = [1e-5, 1e-7, 1e-9].map((rho) => {
        const rfm = new Float64Array(d);
        diagRfmStep(solver, X, y, 0.5, rho * meanDiag, beta, work, rfm);
        return relativeError(rfm, ir);
      });
      void annotate(`seed ${seed}: gaps at rho = 1e-5, 1e-7, 1e-9: ${gaps.map((g) => g.toExponential(2)).join(', ')}`);
      expect(gaps[0]!).toBeGreaterThan(1e-8);
      for (let t = 1; t < gaps.length; t++) {
        const ratio = gaps[t]! / gaps[t - 1]!;
        expect(ratio).toBeGreaterThan(0.5e-2);
        expect(ratio).toBeLessThan(2e-2);
      }
    });

    it(`with eps > 0 IRLS differs from lambda = 0 lin-RFM: eps is smoothing, not ridge (seed ${seed})`, () => {
      const { n, d, X, y, beta } = instance(seed);
      const solver = new WeightedSolver(n, d);
      const work = new Float64Array(d);
      const rfm = new Float64Array(d);
      const ir = new Float64Array(d);
      diagRfmStep(solver, X, y, 0.5, 0, beta, work, rfm);
      irlsStep(solver, X, y, 0, 0.1, beta, work, ir);
      expect(relativeError(rfm, ir)).toBeGreaterThan(1e-4);
    });
  }
});

// The smoothed kernel k_j = (beta_j^2 + eps^2)^(2 alpha), with IRLS's eps rule, is IRLS-p's
// W^-1 at p = 2 - 4 alpha; whole runs then agree up to lin-RFM's ridge (relative 1e-13 here).
describe('the smoothed diagonal lin-RFM runs as IRLS with the same eps rule', () => {
  for (const seed of [5, 2024]) {
    for (const [alpha, p] of [[0.25, 1], [0.5, 0]] as const) {
      it(`alpha = ${alpha}, smoothed, ridge 1e-13, and IRLS p = ${p}: the same beta after 1, 3 and 6 iterations to 1e-6 (seed ${seed})`, () => {
        const { n, d, X, y } = instance(seed);
        const prob = { n, d, X, y };
        for (const iters of [1, 3, 6]) {
          const rfm = diagRfm(prob, { alpha, rho0: 1e-13, rhoMin: 1e-13, maxIter: iters, smoothing: { s: 3 } });
          const ir = irls(prob, { p, s: 3, maxIter: iters });
          expect(rfm.iterations).toBe(iters);
          expect(ir.iterations).toBe(iters);
          expect(relativeError(rfm.beta, ir.beta)).toBeLessThan(1e-6);
        }
        // and the smoothing is what makes them agree: unsmoothed, six iterations part from IRLS
        const plain = diagRfm(prob, { alpha, rho0: 1e-13, rhoMin: 1e-13, maxIter: 6 });
        expect(relativeError(plain.beta, irls(prob, { p, s: 3, maxIter: 6 }).beta)).toBeGreaterThan(1e-4);
      });
    }
  }
});
