// Soft-impute: one thresholding step against ml-matrix's SVD (both SVD modes), and recovery.

import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../kernels/random.ts';
import { completeSoftImpute, softImputeState, softImputeStep } from '../../../paper/baselines/softimpute.ts';
import type { Csr } from '../../../engine/csr.ts';
import { generateLowRank } from '../../../engine/synthetic.ts';
import { flatOf, randomObserved, relTestError } from './helpers.ts';
import { maxRelDiff } from '../../relative-error.ts';
import { toDense } from '../../engine/reference.ts';

/** S_lambda(P_Omega(Y) + P_Omega^perp(X)) by ml-matrix's SVD; also returns Z's singular values. */
function referenceStep(m: Csr, X: Matrix, lambda: number): { out: Matrix; sigma: number[] } {
  const { Y, mask } = toDense(m);
  const Z = X.clone();
  for (let i = 0; i < m.nRows; i++) for (let j = 0; j < m.nCols; j++) if (mask[i]![j]) Z.set(i, j, Y.get(i, j));
  const svd = new SingularValueDecomposition(Z, { autoTranspose: true });
  const sigma = svd.diagonal;
  const shrunk = Matrix.diag(sigma.map((s) => Math.max(s - lambda, 0)));
  return { out: svd.leftSingularVectors.mmul(shrunk).mmul(svd.rightSingularVectors.transpose()), sigma };
}

function randomMatrix(n: number, d: number, rng: Rng, scale = 1): Matrix {
  const M = new Matrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) M.set(i, j, scale * rng.normal());
  return M;
}

describe('one soft-impute step equals the dense reference (ml-matrix SVD, tolerance 1e-9 relative)', () => {
  for (const [n, d, seed] of [[20, 12, 61], [15, 15, 62]] as const) {
    it(`gram: ${n} x ${d}, density 0.5, lambda between the 5th and 6th singular values, seed ${seed}`, () => {
      const rng = new Rng(seed);
      const m = randomObserved(n, d, 0.5, rng);
      const X = randomMatrix(n, d, rng);
      const { sigma } = referenceStep(m, X, 0);
      const lambda = (sigma[4]! + sigma[5]!) / 2;
      const { out } = referenceStep(m, X, lambda);
      const s = softImputeState(n, d, 'gram', 4, seed);
      const Xout = new Float64Array(n * d);
      expect(softImputeStep(m, flatOf(X), lambda, s, Xout)).toBe(5);
      expect(maxRelDiff(Xout, flatOf(out))).toBeLessThan(1e-9);
    });
  }

  it('subspace: 40 x 30, a rank-4 iterate with observed values off it by noise 0.1, 40 power steps, seed 63', () => {
    const rng = new Rng(63);
    const n = 40;
    const d = 30;
    const X = randomMatrix(n, 4, rng).mmul(randomMatrix(4, d, rng));
    const m = randomObserved(n, d, 0.4, rng);
    for (let i = 0; i < n; i++) {
      for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) m.values[p] = X.get(i, m.colIdx[p]!) + 0.1 * rng.normal();
    }
    const { sigma } = referenceStep(m, X, 0);
    // four large singular values and a noise floor far below: the block's convergence is fast
    expect(sigma[3]! / sigma[4]!).toBeGreaterThan(5);
    const lambda = (sigma[3]! + sigma[4]!) / 2;
    const { out } = referenceStep(m, X, lambda);
    const s = softImputeState(n, d, 'subspace', 4, 63);
    const Xout = new Float64Array(n * d);
    expect(softImputeStep(m, flatOf(X), lambda, s, Xout, 40)).toBe(4);
    expect(maxRelDiff(Xout, flatOf(out))).toBeLessThan(1e-9);
    // the block shrank to the rank found plus the oversampling
    expect(s.b).toBe(8);
  });
});

describe('soft-impute recovers an easy low-rank matrix', () => {
  for (const svd of ['gram', 'subspace'] as const) {
    it(`${svd}: 60 x 50 rank 2, 1,500 observed, relative test error < 1e-4 (seed 71)`, ({ annotate }) => {
      const prob = generateLowRank({ rows: 60, cols: 50, rank: 2, observed: 1500, seed: 71 });
      const res = completeSoftImpute(prob.train, { svd });
      const err = relTestError(prob, res);
      void annotate(`softimpute ${svd} seed 71: ${res.iterations} iterations (${res.stopReason}), relative test error ${err.toExponential(3)}`);
      expect(err).toBeLessThan(1e-4);
    });
  }

  it('rejects an unknown svd mode, naming the option', () => {
    const m = randomObserved(5, 4, 0.6, new Rng(1));
    expect(() => completeSoftImpute(m, { svd: 'full' as never })).toThrow(/option svd = full/);
  });
});
