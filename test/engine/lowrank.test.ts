// The low-rank kernel's phases against dense references on small cases: the Woodbury row solve, the
// AGOP operator, the subspace step, and a whole run with k = d against the dense engine.

import { describe, expect, it } from 'vitest';
import { dpotrf, dpotrs } from '../../kernels/chol.ts';
import { dsyev } from '../../kernels/eig.ts';
import { Rng } from '../../kernels/random.ts';
import type { Csr } from '../../engine/csr.ts';
import {
  agopTimes, denseKernel, orthonormalize, predictUnobserved, refitRows, solveRowsLowRank, topEigen, type LowRankKernel,
} from '../../engine/lowrank.ts';
import { generateLowRank } from '../../engine/synthetic.ts';
import { complete } from '../../pipeline/run.ts';
import { randomSparse } from './reference.ts';
import { maxRelDiff, unobservedRelativeError } from '../relative-error.ts';

const SEED = 11;

function randomKernel(d: number, k: number, rng: Rng): LowRankKernel {
  const U = Float64Array.from({ length: d * k }, () => rng.normal());
  orthonormalize(d, k, U);
  return { d, k, U, w: Float64Array.from({ length: k }, () => 0.1 + 3 * rng.uniform()), tauK: 0.3 };
}

/** Dense a_i = (K_OO + lambda I)^-1 y_i by Cholesky, for every row. */
function denseSolve(Kd: Float64Array, d: number, lambda: number, m: Csr): Float64Array {
  const a = new Float64Array(m.values.length);
  for (let i = 0; i < m.nRows; i++) {
    const p0 = m.rowPtr[i]!;
    const len = m.rowPtr[i + 1]! - p0;
    const S = new Float64Array(len * len);
    for (let q = 0; q < len; q++) {
      for (let r = 0; r < len; r++) S[q * len + r] = Kd[m.colIdx[p0 + q]! * d + m.colIdx[p0 + r]!]! + (q === r ? lambda : 0);
    }
    expect(dpotrf(len, S, len, 0)).toBe(0);
    for (let q = 0; q < len; q++) a[p0 + q] = m.values[p0 + q]!;
    dpotrs(len, S, len, 0, a, 1, p0);
  }
  return a;
}

describe(`low-rank kernel (seed ${SEED})`, () => {
  const rng = new Rng(SEED);
  const d = 30;
  const k = 5;
  const K = randomKernel(d, k, rng);
  const Kd = denseKernel(K);
  const m = randomSparse(40, d, 0.3, rng);
  const lambda = 0.05;
  const fit = { a: new Float64Array(m.values.length), bs: new Float64Array(40 * k), c: 0 };
  solveRowsLowRank(K, lambda, m, fit, 0, 40);

  it('Woodbury row solves equal the dense Cholesky solves (1e-12), bs = w * U_O^T a (1e-12)', () => {
    expect(maxRelDiff(fit.a, denseSolve(Kd, d, lambda, m))).toBeLessThan(1e-12);
    expect(fit.c).toBe(K.tauK + lambda);
    for (let i = 0; i < 40; i++) {
      for (let r = 0; r < k; r++) {
        let b = 0;
        for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) b += K.U[m.colIdx[q]! * k + r]! * fit.a[q]!;
        expect(Math.abs(fit.bs[i * k + r]! - K.w[r]! * b)).toBeLessThan(1e-12 * (1 + Math.abs(K.w[r]! * b)));
      }
    }
  });

  it('a recomputed from bs, (y - U_O bs) / c, equals the dense Cholesky solves (1e-12)', () => {
    const again = { a: new Float64Array(m.values.length), bs: fit.bs, c: fit.c };
    refitRows(K.U, k, again, m, 0, 40);
    expect(maxRelDiff(again.a, denseSolve(Kd, d, lambda, m))).toBeLessThan(1e-12);
  });

  it('the AGOP operator equals Yhat^T Yhat X / n with Yhat = S (K + lambda I), and unobserved entries are bs . U_j', () => {
    const n = m.nRows;
    const Y = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) {
        const l = m.colIdx[q]!;
        for (let j = 0; j < d; j++) Y[i * d + j] += fit.a[q]! * (Kd[l * d + j]! + (l === j ? lambda : 0));
      }
    }
    const p = 4;
    const X = Float64Array.from({ length: d * p }, () => rng.normal());
    const ref = new Float64Array(d * p);
    for (let j = 0; j < d; j++) {
      for (let e = 0; e < p; e++) {
        let v = 0;
        for (let i = 0; i < n; i++) {
          let yx = 0;
          for (let l = 0; l < d; l++) yx += Y[i * d + l]! * X[l * p + e]!;
          v += Y[i * d + j]! * yx;
        }
        ref[j * p + e] = v / n;
      }
    }
    const got = agopTimes(K, fit, m, X, p, new Float64Array(d * p));
    expect(maxRelDiff(got, ref)).toBeLessThan(1e-12);
    // an unobserved entry of row 2
    const seen = new Set(Array.from(m.colIdx.subarray(m.rowPtr[2]!, m.rowPtr[3]!)));
    const j = [...Array(d).keys()].find((c) => !seen.has(c))!;
    expect(predictUnobserved(K, fit, 2, j)).toBeCloseTo(Y[2 * d + j]!, 12);
  });

  it('subspace iteration finds the top eigenpairs of a dense PSD operator (dsyev reference)', () => {
    const n = 24;
    const B = Float64Array.from({ length: n * n }, () => rng.normal());
    // G = B diag(decay) B^T: a spread spectrum
    const G = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) G[i * n + j] += B[i * n + l]! * 0.6 ** l * B[j * n + l]!;
    const times = (X: Float64Array, p: number, Yo: Float64Array): Float64Array => {
      Yo.fill(0);
      for (let i = 0; i < n; i++) for (let l = 0; l < n; l++) for (let e = 0; e < p; e++) Yo[i * p + e] += G[i * n + l]! * X[l * p + e]!;
      return Yo;
    };
    const e = topEigen(n, 4, times, null, 6, 40, new Rng(SEED));
    const w = new Float64Array(n);
    dsyev(n, G, n, 0, w, 0, new Float64Array(n * n), n, 0, new Float64Array(n));
    for (let r = 0; r < 4; r++) expect(e.s[r]! / w[n - 1 - r]!).toBeCloseTo(1, 10);
    // G U = U diag(s)
    const GU = times(e.U, 4, new Float64Array(n * 4));
    let res = 0;
    for (let i = 0; i < n; i++) for (let r = 0; r < 4; r++) res = Math.max(res, Math.abs(GU[i * 4 + r]! - e.s[r]! * e.U[i * 4 + r]!));
    expect(res / e.s[0]!).toBeLessThan(1e-9);
  });
});

describe('a low-rank run with k = d agrees with the dense engine (1e-8)', () => {
  const p = generateLowRank({ rows: 80, cols: 24, rank: 3, observed: 1100, seed: 5 });
  for (const alpha of [0.5, 0.25]) {
    it(`alpha ${alpha}, fixed ridge, plain iteration, 12 sweeps`, () => {
      const opts = { alpha, lambdaSchedule: 'fixed' as const, lambda: 0.05, momentum: 0, maxSweeps: 12, tol: 0, patience: 100, root: 'eig' as const, seed: 3 };
      const dense = complete(p.train, opts);
      const low = complete(p.train, { ...opts, kernel: 'low-rank', kernelRank: 24, kernelOversample: 0 });
      expect(low.sweeps).toBe(dense.sweeps);
      expect(maxRelDiff(low.history.map((h) => h.validationRmse), dense.history.map((h) => h.validationRmse))).toBeLessThan(1e-8);
      expect(maxRelDiff(denseKernel(low.model.lowRank!), dense.model.K)).toBeLessThan(1e-8);
    });
  }
});

describe('a low-rank run with k < d recovers a low-rank matrix', () => {
  it('200 x 120, rank 4, 10,000 observed, k = 8, the default schedule: relative error < 1e-2 (seed 9)', ({ annotate }) => {
    const p = generateLowRank({ rows: 200, cols: 120, rank: 4, observed: 10_000, seed: 9 });
    const low = complete(p.train, { seed: 9, kernel: 'low-rank', kernelRank: 8 });
    const rel = unobservedRelativeError(p.train, p.truth, (rows, cols) => low.predict(rows, cols));
    void annotate(`${low.sweeps} sweeps (${low.stopReason}), relative error ${rel.toExponential(2)}, spectrum ${low.spectrum!.s.slice(0, 6).map((x) => x.toPrecision(3)).join(' ')} tau ${low.spectrum!.tau.toPrecision(3)}`);
    expect(rel).toBeLessThan(1e-2);
  });
});

describe('a low-rank run on a wide input (more columns than rows: the kernel lies on the rows)', () => {
  it('predicts in input coordinates: 60 x 150, rank 3, 4,000 observed, relative error < 1e-2 (seed 13)', () => {
    const p = generateLowRank({ rows: 60, cols: 150, rank: 3, observed: 4000, seed: 13 });
    const low = complete(p.train, { seed: 13, kernel: 'low-rank', kernelRank: 6 });
    expect(low.model.transposed).toBe(true);
    expect(unobservedRelativeError(p.train, p.truth, (rows, cols) => low.predict(rows, cols))).toBeLessThan(1e-2);
    // an observed entry comes back as observed
    const j = p.train.colIdx[0]!;
    expect(low.predict(Int32Array.of(0), Int32Array.of(j))[0]).toBeCloseTo(p.train.values[0]!, 12);
  });
});
