// The diagonal DLN's loss and gradient against a plain-loop loss and central finite differences.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { dlnLossGradient } from '../../../paper/regression/dln.ts';

// The reference loss, written without the module's code: (1/2n) ||X (w_1 * ... * w_L) - y||^2.
function referenceLoss(n: number, d: number, L: number, X: Float64Array, y: Float64Array, W: Float64Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    let v = -y[i]!;
    for (let j = 0; j < d; j++) {
      let b = 1;
      for (let l = 0; l < L; l++) b *= W[l * d + j]!;
      v += X[i * d + j]! * b;
    }
    s += v * v;
  }
  return s / (2 * n);
}

describe('dlnLossGradient', () => {
  for (const seed of [3, 77]) {
    for (const L of [2, 3, 4]) {
      it(`depth ${L}: loss equals the plain-loop loss to 1e-13, gradient equals central differences to 1e-7 (seed ${seed})`, () => {
        const rng = new Rng(seed * 10 + L);
        const n = 7;
        const d = 13;
        const X = Float64Array.from({ length: n * d }, () => rng.normal());
        const y = Float64Array.from({ length: n }, () => rng.normal());
        // Factors around +-1 (not the small initialisation) so every product term is exercised;
        // one exact zero checks the product-of-the-others path that avoids dividing by w_l.
        const W = Float64Array.from({ length: L * d }, () => 0.5 + 0.5 * rng.uniform() * (rng.uniform() < 0.5 ? -1 : 1));
        W[2] = 0;
        const grad = new Float64Array(L * d);
        const loss = dlnLossGradient(n, d, L, X, y, W, grad, new Float64Array(n), new Float64Array(d), new Float64Array(d));
        const ref = referenceLoss(n, d, L, X, y, W);
        expect(Math.abs(loss - ref)).toBeLessThan(1e-13 * Math.max(1, ref));

        let gmax = 0;
        for (const g of grad) gmax = Math.max(gmax, Math.abs(g));
        expect(gmax).toBeGreaterThan(1e-3);
        const h = 1e-5;
        for (let q = 0; q < L * d; q++) {
          const w0 = W[q]!;
          W[q] = w0 + h;
          const fp = referenceLoss(n, d, L, X, y, W);
          W[q] = w0 - h;
          const fm = referenceLoss(n, d, L, X, y, W);
          W[q] = w0;
          // Central differences err by h^2 f''' / 6 ~ 1e-10 here, far below the tolerance.
          expect(Math.abs((fp - fm) / (2 * h) - grad[q]!), `entry ${q}`).toBeLessThan(1e-7 * gmax);
        }
      });
    }
  }
});
