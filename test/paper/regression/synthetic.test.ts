// The seeded sparse-regression generator and the selection helper used by IRLS.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { kthLargest } from '../../../paper/regression/irls.ts';
import { sparseRegression } from '../../../paper/regression/synthetic.ts';

describe('sparseRegression', () => {
  it('is reproducible, s-sparse, noiseless y = X beta*, and the n-row problem is the first n rows of a larger one (seed 12)', () => {
    const a = sparseRegression({ n: 30, d: 50, s: 4, seed: 12 });
    const b = sparseRegression({ n: 30, d: 50, s: 4, seed: 12 });
    const big = sparseRegression({ n: 45, d: 50, s: 4, seed: 12 });
    expect(a.X).toEqual(b.X);
    expect(a.beta).toEqual(big.beta);
    expect(a.X).toEqual(big.X.subarray(0, 30 * 50));
    expect(a.y).toEqual(big.y.subarray(0, 30));
    expect(a.support.length).toBe(4);
    expect(a.beta.filter((v) => v !== 0).length).toBe(4);
    for (const j of a.support) expect(a.beta[j]).not.toBe(0);
    for (let i = 0; i < a.n; i++) {
      let v = 0;
      for (let j = 0; j < a.d; j++) v += a.X[i * a.d + j]! * a.beta[j]!;
      expect(Math.abs(v - a.y[i]!)).toBeLessThan(1e-12);
    }
    const c = sparseRegression({ n: 30, d: 50, s: 4, seed: 13 });
    expect(c.X).not.toEqual(a.X);
  });

  it('sign values are +-1; the design is N(0, 1) and the noise has the requested size (seed 99)', () => {
    const P = sparseRegression({ n: 400, d: 100, s: 10, seed: 99, values: 'sign', noise: 0.5 });
    for (const j of P.support) expect(Math.abs(P.beta[j]!)).toBe(1);
    let m2 = 0;
    for (const x of P.X) m2 += x * x;
    expect(m2 / P.X.length).toBeGreaterThan(0.95);
    expect(m2 / P.X.length).toBeLessThan(1.05);
    let e2 = 0;
    for (let i = 0; i < P.n; i++) {
      let v = P.y[i]!;
      for (const j of P.support) v -= P.X[i * P.d + j]! * P.beta[j]!;
      e2 += v * v;
    }
    // The sample standard deviation of 400 N(0, 0.25) draws is within 10% of 0.5 with overwhelming probability.
    expect(Math.sqrt(e2 / P.n)).toBeGreaterThan(0.45);
    expect(Math.sqrt(e2 / P.n)).toBeLessThan(0.55);
  });
});

describe('kthLargest', () => {
  it('agrees with a sort on random arrays with ties (seed 6)', () => {
    const rng = new Rng(6);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(40);
      const a = Float64Array.from({ length: n }, () => rng.int(8));
      const sorted = Array.from(a).sort((x, y) => y - x);
      const r = 1 + rng.int(n);
      expect(kthLargest(n, a, r), `trial ${trial}`).toBe(sorted[r - 1]);
    }
  });
});
