// Deep linear network: loss against a plain product, gradient against central finite differences, recovery.

import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { completeDln, dlnInit, dlnObjective } from '../../../paper/baselines/dln.ts';
import { generateLowRank } from '../../../engine/synthetic.ts';
import { flatOf, randomObserved, relTestError } from './helpers.ts';
import { maxRelDiff } from '../../relative-error.ts';
import { toDense } from '../../engine/reference.ts';

/** The factors as ml-matrix matrices, read from the documented layout, and their product W_L ... W_1. */
function naiveProduct(params: Float64Array, n: number, d: number, depth: number): Matrix {
  const k = Math.min(n, d);
  let off = 0;
  let P: Matrix | null = null;
  for (let j = 0; j < depth; j++) {
    const r = j === depth - 1 ? n : k;
    const c = j === 0 ? d : k;
    const W = new Matrix(r, c);
    for (let a = 0; a < r; a++) for (let b = 0; b < c; b++) W.set(a, b, params[off + a * c + b]!);
    off += r * c;
    P = P === null ? W : W.mmul(P);
  }
  return P!;
}

describe('deep linear network objective', () => {
  const shapes = [
    { n: 9, d: 7, seed: 41 },
    { n: 6, d: 8, seed: 42 },
  ];
  for (const depth of [2, 3, 4]) {
    for (const s of shapes) {
      it(`depth ${depth}, ${s.n} x ${s.d}: loss = plain product's, gradient = central differences (h 1e-5, 1e-7 of max |g|), seed ${s.seed}`, () => {
        const rng = new Rng(s.seed);
        const m = randomObserved(s.n, s.d, 0.5, rng);
        const obj = dlnObjective(m, depth);
        // entries of order 1 so that every factor's gradient is of the same order
        const params = dlnInit(obj.shape, 0.6, s.seed, new Float64Array(obj.shape.size));

        const P = naiveProduct(params, s.n, s.d, depth);
        const { Y, mask } = toDense(m);
        let ref = 0;
        for (let i = 0; i < s.n; i++) for (let j = 0; j < s.d; j++) if (mask[i]![j]) ref += (P.get(i, j) - Y.get(i, j)) ** 2;
        ref /= 2 * m.values.length;
        expect(Math.abs(obj.loss(params) - ref)).toBeLessThan(1e-13 * Math.max(1, ref));
        expect(maxRelDiff(obj.product(params, new Float64Array(s.n * s.d)), flatOf(P))).toBeLessThan(1e-13);

        const grad = new Float64Array(obj.shape.size);
        const loss = obj.lossGrad(params, grad);
        expect(Math.abs(loss - ref)).toBeLessThan(1e-13 * Math.max(1, ref));
        const h = 1e-5;
        const fd = new Float64Array(obj.shape.size);
        const x = params.slice();
        for (let q = 0; q < x.length; q++) {
          x[q] = params[q]! + h;
          const up = obj.loss(x);
          x[q] = params[q]! - h;
          const down = obj.loss(x);
          x[q] = params[q]!;
          fd[q] = (up - down) / (2 * h);
        }
        let gmax = 0;
        let diff = 0;
        for (let q = 0; q < fd.length; q++) {
          gmax = Math.max(gmax, Math.abs(fd[q]!));
          diff = Math.max(diff, Math.abs(fd[q]! - grad[q]!));
        }
        expect(gmax).toBeGreaterThan(1e-3);
        expect(diff).toBeLessThan(1e-7 * gmax);
      });
    }
  }

  it('lossGrad with forwardDone reuses the products of the last loss() call on the same values', () => {
    const m = randomObserved(8, 6, 0.5, new Rng(43));
    const obj = dlnObjective(m, 3);
    const a = dlnInit(obj.shape, 0.5, 1, new Float64Array(obj.shape.size));
    const b = dlnInit(obj.shape, 0.5, 2, new Float64Array(obj.shape.size));
    const g1 = new Float64Array(obj.shape.size);
    const g2 = new Float64Array(obj.shape.size);
    obj.lossGrad(a, g1);
    obj.loss(b);
    obj.loss(a);
    obj.lossGrad(a, g2, true);
    expect(Array.from(g2)).toEqual(Array.from(g1));
  });
});

describe('deep linear network recovers an easy low-rank matrix (gradient descent from initial scale 1e-3)', () => {
  for (const depth of [2, 3]) {
    it(`depth ${depth}: 60 x 50 rank 2, 1,500 observed, relative test error < 1e-2 within 400 iterations (seeds: data 51, init 5)`, ({ annotate }) => {
      const prob = generateLowRank({ rows: 60, cols: 50, rank: 2, observed: 1500, seed: 51 });
      const res = completeDln(prob.train, { depth, seed: 5, maxIters: 400 });
      const err = relTestError(prob, res);
      void annotate(`dln depth ${depth} seed 51/5: ${res.iterations} iterations (${res.stopReason}), ${res.seconds.toFixed(2)} s, relative test error ${err.toExponential(3)}`);
      expect(err).toBeLessThan(1e-2);
    });
  }

  it('rejects a depth outside 2 to 4, naming the option', () => {
    const m = randomObserved(5, 4, 0.6, new Rng(1));
    expect(() => completeDln(m, { depth: 5 })).toThrow(/option depth = 5/);
  });
});
