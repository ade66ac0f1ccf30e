// The final ridge (engine/schedule.ts searchRidge, pipeline/loopsteps.ts finalRidge): the search's
// walk on closed-form curves, and each ridge a run reports trying checked against a dense
// brute-force validation error with the run's own kernel (ml-matrix solves).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import type { Csr } from '../../engine/csr.ts';
import type { CompletionResult } from '../../engine/options.ts';
import { bestTrial, RIDGE_STEPS, searchRidge } from '../../engine/schedule.ts';
import { prepareData } from '../../engine/split.ts';
import { generateLowRank } from '../../engine/synthetic.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';

/** Runs searchRidge against a validation curve f(lambda); returns the trials. */
function walk(lambda0: number, floor: number, f: (lambda: number) => number) {
  const it = searchRidge(lambda0, f(lambda0), floor);
  let s = it.next();
  while (!s.done) s = it.next(f(s.value));
  return s.value;
}

describe('searchRidge', () => {
  // a curve with one minimum in log2(lambda): (log2 lambda - log2 opt)^2
  const bowl = (opt: number) => (lambda: number) => (Math.log2(lambda) - Math.log2(opt)) ** 2;

  it('walks to within a factor 2^(1/4) of the minimum of a bowl, up or down', () => {
    for (const opt of [0.05 * 2 ** 3.3, 0.05 * 2 ** -2.6, 0.05 * 2 ** 0.2, 0.05]) {
      const tried = walk(0.05, 1e-8, bowl(opt));
      const win = bestTrial(tried);
      expect(Math.abs(Math.log2(win.lambda / opt))).toBeLessThanOrEqual(0.25 + 1e-12);
      expect(tried.length).toBeLessThanOrEqual(2 + RIDGE_STEPS + 2);
    }
  });

  it('keeps the first ridge when nothing beats it, and never goes below the floor or past 2^RIDGE_STEPS', () => {
    const flat = walk(0.05, 1e-8, () => 1);
    expect(bestTrial(flat).lambda).toBe(0.05);
    const low = walk(1e-6, 4e-7, bowl(1e-12));
    expect(Math.min(...low.map((t) => t.lambda))).toBeGreaterThanOrEqual(4e-7);
    const high = walk(1, 1e-8, bowl(1e6));
    expect(Math.max(...high.map((t) => t.lambda))).toBeLessThanOrEqual(2 ** RIDGE_STEPS * Math.SQRT2 + 1e-9);
  });

  it('a NaN error never wins', () => {
    const tried = walk(0.05, 1e-8, (l) => (l === 0.05 ? 1 : Number.NaN));
    expect(bestTrial(tried).lambda).toBe(0.05);
  });
});

/**
 * The validation RMSE at ridge lambda with kernel K (d x d): each held-out entry (i, j) predicted
 * as K[j, O] (K[O, O] + lambda I)^-1 y_O from row i's training entries, in the data's units.
 */
function bruteValidationRmse(train: Csr, val: { row: Int32Array; col: Int32Array; value: Float64Array }, K: Matrix, lambda: number, scale: number): number {
  let se = 0;
  for (let e = 0; e < val.row.length; e++) {
    const i = val.row[e]!;
    const O: number[] = [];
    const y: number[] = [];
    for (let p = train.rowPtr[i]!; p < train.rowPtr[i + 1]!; p++) {
      O.push(train.colIdx[p]!);
      y.push(train.values[p]!);
    }
    const A = new Matrix(O.length, O.length);
    O.forEach((a, q) => O.forEach((b, r) => A.set(q, r, K.get(a, b) + (q === r ? lambda : 0))));
    const coef = solve(A, Matrix.columnVector(y));
    let pred = 0;
    O.forEach((a, q) => { pred += K.get(val.col[e]!, a) * coef.get(q, 0); });
    se += (pred - val.value[e]!) ** 2;
  }
  return Math.sqrt(se / val.row.length) * scale;
}

/** The model's kernel as a dense matrix (the low-rank form's U diag(w) U^T + tauK I). */
function denseKernel(r: CompletionResult): Matrix {
  const { d } = r.model;
  const K = new Matrix(d, d);
  const lr = r.model.lowRank;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      if (lr === undefined) K.set(a, b, r.model.K[a * d + b]!);
      else {
        let v = a === b ? lr.tauK : 0;
        for (let q = 0; q < lr.k; q++) v += lr.U[a * lr.k + q]! * lr.w[q]! * lr.U[b * lr.k + q]!;
        K.set(a, b, v);
      }
    }
  }
  return K;
}

describe('the final ridge of a run', () => {
  // seed printed in the test name; a noisy rank-3 problem whose best ridge is well above the schedule's
  const seed = 11;
  const p = generateLowRank({ rows: 120, cols: 30, rank: 3, observed: 1400, seed, noise: 0.5 });

  for (const kernel of ['dense', 'low-rank'] as const) {
    it(`${kernel}: every ridge tried scores what a dense solve with the model's kernel gives (1e-9), and the model keeps the winner (seed ${seed})`, () => {
      const opts = { seed: 3, maxSweeps: 12, kernel, kernelRank: 6 };
      const r = complete(p.train, opts);
      const data = prepareData(p.train, r.options.validationFraction, r.options.seed);
      const K = denseKernel(r);
      const ms = data.scale * data.scale;
      const rs = r.ridgeSearch!;
      expect(rs.tried.length).toBeGreaterThanOrEqual(3);
      for (const t of rs.tried) {
        const brute = bruteValidationRmse(data.train, { row: data.valRow, col: data.valCol, value: data.valValue }, K, t.lambda / ms, data.scale);
        expect(Math.abs(t.validationRmse - brute) / brute).toBeLessThan(1e-9);
      }
      const win = rs.tried.reduce((a, b) => (b.validationRmse < a.validationRmse ? b : a));
      expect(rs.chosen).toBe(win.lambda);
      expect(r.model.lambda * ms).toBeCloseTo(win.lambda, 12);
      expect(r.bestValidationRmse).toBeCloseTo(win.validationRmse, 12);
      // the first trial is the best sweep's ridge and its error, as the schedule recorded it
      expect(rs.tried[0]!.validationRmse).toBeCloseTo(r.history[r.bestSweep]!.validationRmse, 12);
      // 'keep': no search, the best sweep's ridge
      const kept = complete(p.train, { ...opts, finalRidge: 'keep' });
      expect(kept.ridgeSearch).toBeNull();
      expect(kept.model.lambda * ms).toBeCloseTo(rs.tried[0]!.lambda, 12);
    });
  }

  it('the search gives the same bits on 1 and 2 workers, in memory and spilled (dense and low-rank)', async () => {
    for (const kernel of ['dense', 'low-rank'] as const) {
      const opts = { seed: 3, maxSweeps: 10, kernel, kernelRank: 6 };
      const dir = mkdtempSync(join(tmpdir(), 'final-ridge-'));
      const spill = (name: string) => ({ dir: join(dir, name), chunkEntries: 300 });
      const one = complete(p.train, opts);
      const two = await completeAsync(p.train, { ...opts, workers: 2 });
      const spilledOne = complete(p.train, { ...opts, spill: spill('a') });
      const spilledTwo = await completeAsync(p.train, { ...opts, workers: 2, spill: spill('b') });
      expect(two.ridgeSearch).toEqual(one.ridgeSearch);
      expect(two.model.lambda).toBe(one.model.lambda);
      expect(spilledTwo.ridgeSearch).toEqual(spilledOne.ridgeSearch);
      // spilled, the held-out errors are added chunk by chunk (another order): the same ridges, errors to rounding
      expect(spilledOne.ridgeSearch!.tried.map((t) => t.lambda)).toEqual(one.ridgeSearch!.tried.map((t) => t.lambda));
      spilledOne.ridgeSearch!.tried.forEach((t, q) => expect(Math.abs(t.validationRmse / one.ridgeSearch!.tried[q]!.validationRmse - 1)).toBeLessThan(1e-12));
      const rows = Int32Array.from({ length: 120 }, (_, i) => i);
      const cols = Int32Array.from({ length: 120 }, (_, i) => (i * 7) % 30);
      expect(Array.from(two.predict(rows, cols))).toEqual(Array.from(one.predict(rows, cols)));
      expect(Array.from(spilledTwo.predict(rows, cols))).toEqual(Array.from(spilledOne.predict(rows, cols)));
      spilledOne.release();
      spilledTwo.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
