// The engine against the literal dense algorithm, IRLS-p, recovery, orientation and determinism.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { nnzOf, transposeCsr } from '../../engine/csr.ts';
import { complete } from '../../pipeline/run.ts';
import { predictWithModel } from '../../engine/prediction.ts';
import { prepareData } from '../../engine/split.ts';
import {
  agopFactored,
  agopStreamed,
  columnIndex,
  nextKernelPower,
  powerScratch,
  rowScratch,
  maxRowLength,
  solveRows,
} from '../../engine/sweep.ts';
import { generateLowRank } from '../../engine/synthetic.ts';
import { maxRelDiff, unobservedRelativeError } from '../relative-error.ts';
import { denseIrlsStep, denseSweep, fromFlat, randomSparse, randomSpd, symPow, toFlat } from '../engine/reference.ts';

const CASES = [
  { n: 13, d: 7, density: 0.4, seed: 101 },
  { n: 20, d: 20, density: 0.25, seed: 202 },
  { n: 31, d: 9, density: 0.6, seed: 303 },
];

describe('one sweep equals the literal dense algorithm (tolerance 1e-10 relative)', () => {
  for (const c of CASES) {
    for (const path of ['streamed', 'factored'] as const) {
      it(`${c.n} x ${c.d}, density ${c.density}, ${path} AGOP, seed ${c.seed}`, () => {
        const rng = new Rng(c.seed);
        const m = randomSparse(c.n, c.d, c.density, rng);
        const Kref = randomSpd(c.d, rng, 0.1);
        const lambda = 0.05;
        const K = toFlat(Kref);
        const a = new Float64Array(nnzOf(m));
        expect(solveRows(c.d, K, lambda, m, a, 0, c.n, rowScratch(maxRowLength(m)))).toBe(0);
        const G = new Float64Array(c.d * c.d);
        if (path === 'streamed') agopStreamed(c.d, K, m, a, 4, new Float64Array(4 * c.d), G);
        else agopFactored(c.d, K, lambda, m, a, columnIndex(m), new Float64Array(c.d * c.d), new Float64Array(c.d * c.d), G);
        const ref = toFlat(denseSweep(m, Kref, lambda));
        expect(maxRelDiff(G, ref)).toBeLessThan(1e-10);
        // the factored path must leave K as it found it
        expect(maxRelDiff(K, toFlat(Kref))).toBe(0);
      });
    }
  }

  it('complete() with 2 sweeps keeps K_1 = dense sweep from K_0 = I on the scaled data (rectangular, both orientations)', () => {
    const rng = new Rng(404);
    for (const [n, d] of [[17, 8], [8, 17]] as const) {
      const m = randomSparse(n, d, 0.5, rng);
      for (const agop of ['streamed', 'factored'] as const) {
        const r = complete(m, { maxSweeps: 2, validationFraction: 0, lambdaSchedule: 'fixed', lambda: 0.05, agop });
        const prep = prepareData(m, 0, 0);
        const side = Math.min(n, d);
        const ref = toFlat(denseSweep(prep.train, fromFlat(side, identity(side)), 0.05));
        expect(r.model.transposed).toBe(d > n);
        expect(maxRelDiff(r.model.K, ref)).toBeLessThan(1e-10);
      }
    }
  });

  it('complete() with alpha = 1/4 (root by eig) keeps K_1 = (dense sweep from I)^(1/2) by ml-matrix (seed 406)', () => {
    const m = randomSparse(19, 9, 0.5, new Rng(406));
    // root 'eig': the Newton-Schulz root resolves K only to a tenth of lambda (test/pipeline/root.test.ts)
    const r = complete(m, { maxSweeps: 2, validationFraction: 0, lambdaSchedule: 'fixed', lambda: 0.05, alpha: 0.25, root: 'eig' });
    const prep = prepareData(m, 0, 0);
    const G0 = denseSweep(prep.train, fromFlat(9, identity(9)), 0.05);
    expect(maxRelDiff(r.model.K, toFlat(symPow(G0, 0.5)))).toBeLessThan(1e-9);
  });
});

function identity(d: number): Float64Array {
  const I = new Float64Array(d * d);
  for (let j = 0; j < d; j++) I[j * d + j] = 1;
  return I;
}

describe('lin-RFM(alpha) is IRLS-p with p = 2 - 4 alpha (tolerance 1e-8 relative)', () => {
  for (const alpha of [0.25, 1]) {
    it(`alpha = ${alpha}, p = ${2 - 4 * alpha}, seed 505`, () => {
      const rng = new Rng(505);
      const n = 15;
      const d = 8;
      const m = randomSparse(n, d, 0.45, rng);
      const G0 = randomSpd(d, rng, 0.5);
      const lambda = 0.1;
      // the engine's way: K = G0^(2 alpha) by its own eigensolver, then a sweep
      const K = new Float64Array(d * d);
      expect(nextKernelPower(d, toFlat(G0), alpha, K, powerScratch(d))).toBe(0);
      const a = new Float64Array(nnzOf(m));
      solveRows(d, K, lambda, m, a, 0, n, rowScratch(maxRowLength(m)));
      const G1 = new Float64Array(d * d);
      agopStreamed(d, K, m, a, 5, new Float64Array(5 * d), G1);
      // IRLS-p's way: weighted least squares with W = G0^(p/2 - 1)
      const ref = toFlat(denseIrlsStep(m, G0, 2 - 4 * alpha, lambda));
      expect(maxRelDiff(G1, ref)).toBeLessThan(1e-8);
    });
  }
});

describe('recovery and invariances', () => {
  it('recovers a 200 x 150 rank-3 matrix at 3x oversampling to relative error < 1e-3 (seed 7)', ({ annotate }) => {
    const n = 200;
    const d = 150;
    const r = 3;
    const m = 3 * r * (n + d - r);
    const p = generateLowRank({ rows: n, cols: d, rank: r, observed: m, seed: 7 });
    const res = complete(p.train, { seed: 7, tol: 1e-8 });
    // error on every unobserved entry against the truth
    const rel = unobservedRelativeError(p.train, p.truth, (r, c) => res.predict(r, c));
    void annotate(`recovery 200x150 rank 3: ${res.sweeps} sweeps, stop ${res.stopReason}, relative error ${rel.toExponential(3)}, ${res.seconds.toFixed(2)} s`);
    expect(rel).toBeLessThan(1e-3);
  });

  it('kernel extrapolation (momentum) reaches the same accuracy in fewer sweeps than the plain iteration (seed 7)', ({ annotate }) => {
    const p = generateLowRank({ rows: 200, cols: 150, rank: 3, observed: 3123, seed: 7 });
    const plain = complete(p.train, { seed: 7, momentum: 0, tol: 1e-6, maxSweeps: 2000 });
    const fast = complete(p.train, { seed: 7, tol: 1e-6, maxSweeps: 2000 });
    void annotate(`sweeps to validation relative MSE 1e-6: plain ${plain.sweeps}, momentum ${fast.sweeps} (${fast.history.at(-1)!.restarts} restarts)`);
    expect(plain.stopReason).toBe('converged');
    expect(fast.stopReason).toBe('converged');
    expect(fast.sweeps).toBeLessThan(plain.sweeps / 1.5);
  });

  it('fold-in: rows never seen in training are completed from their observed entries by the saved kernel (seed 23)', ({ annotate }) => {
    const p = generateLowRank({ rows: 300, cols: 120, rank: 3, observed: 12_000, seed: 23 });
    const t = p.train;
    const cut = 240;
    // train on the first 240 rows, fold in the last 60
    const head = { nRows: cut, nCols: 120, rowPtr: t.rowPtr.slice(0, cut + 1), colIdx: t.colIdx.subarray(0, t.rowPtr[cut]!), values: t.values.subarray(0, t.rowPtr[cut]!) };
    const base = t.rowPtr[cut]!;
    const tail = { nRows: 60, nCols: 120, rowPtr: t.rowPtr.slice(cut).map((x) => x - base), colIdx: t.colIdx.subarray(base), values: t.values.subarray(base) };
    const res = complete(head, { seed: 1 });
    const rel = unobservedRelativeError(tail, (i, j) => p.truth(cut + i, j), (r, c) => predictWithModel(res.model, tail, r, c));
    void annotate(`fold-in of 60 new rows: relative error ${rel.toExponential(3)} (${res.sweeps} sweeps on 240 rows)`);
    expect(rel).toBeLessThan(1e-2);
  });

  it('the transposed problem gives the transposed answer (seed 11)', () => {
    const p = generateLowRank({ rows: 40, cols: 25, rank: 2, observed: 400, seed: 11 });
    const A = complete(p.train, { seed: 3, maxSweeps: 60 });
    const B = complete(transposeCsr(p.train), { seed: 3, maxSweeps: 60 });
    expect(A.model.transposed).toBe(false);
    expect(B.model.transposed).toBe(true);
    expect(B.sweeps).toBe(A.sweeps);
    const rows = new Int32Array(40 * 25);
    const cols = new Int32Array(40 * 25);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 25; j++) {
      rows[i * 25 + j] = i;
      cols[i * 25 + j] = j;
    }
    const pa = A.predict(rows, cols);
    const pb = B.predict(cols, rows);
    expect(maxRelDiff(pb, pa)).toBe(0);
  });

  it('the same seed gives the same result, bit for bit; another seed another split (seed 13)', () => {
    const p = generateLowRank({ rows: 60, cols: 45, rank: 2, observed: 900, seed: 13 });
    const A = complete(p.train, { seed: 5, maxSweeps: 40 });
    const B = complete(p.train, { seed: 5, maxSweeps: 40 });
    const C = complete(p.train, { seed: 6, maxSweeps: 40 });
    expect(Buffer.from(A.model.K.buffer).equals(Buffer.from(B.model.K.buffer))).toBe(true);
    expect(A.history.map((h) => h.validationRmse)).toEqual(B.history.map((h) => h.validationRmse));
    expect(A.history[0]!.validationRmse).not.toBe(C.history[0]!.validationRmse);
  });

  it('streamed and factored AGOP give the same kernel over 300 sweeps (fixed lambda 1e-3, seed 17)', ({ annotate }) => {
    const p = generateLowRank({ rows: 80, cols: 50, rank: 3, observed: 1300, seed: 17 });
    const opts = { maxSweeps: 300, validationFraction: 0, lambdaSchedule: 'fixed' as const, lambda: 1e-3, momentum: 0 };
    const S = complete(p.train, { ...opts, agop: 'streamed' });
    const F = complete(p.train, { ...opts, agop: 'factored' });
    expect(S.sweeps).toBe(300);
    let trace = 0;
    for (let j = 0; j < 50; j++) trace += F.model.K[j * 50 + j]!;
    expect(trace).toBeGreaterThan(0);
    const diff = maxRelDiff(F.model.K, S.model.K);
    void annotate(`streamed vs factored after 300 sweeps: max relative difference ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-6);
  });
});
