// The low-rank form on the pool and across checkpoints: the same bits for 1, 2 and 4 workers and
// complete(), and a run resumed from any checkpoint (the previous kernel for the extrapolation in it)
// ends bit-identical to one that never stopped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../io/checkpoint-file.ts';
import { packKernel } from '../../engine/lowrank.ts';
import type { CompletionResult, EngineOptions } from '../../engine/options.ts';
import { prepareData } from '../../engine/split.ts';
import type { EngineState } from '../../engine/state.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { planLowRank, rowShape } from '../../pipeline/plan.ts';
import { SweepPool } from '../../pipeline/pool.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';

const SEED = 29;
const problem = generateLowRank({ rows: 320, cols: 150, rank: 4, observed: 9000, seed: SEED });
const pairs = unobservedPairs(problem.train);
// small blocks, so that every phase has several and the workers interleave
const base: Partial<EngineOptions> = { seed: SEED, kernel: 'low-rank', kernelRank: 8, blockFlops: 2e4, maxSweeps: 30, tol: 0 };

const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

function expectSameBits(a: CompletionResult, b: CompletionResult, what: string): void {
  expect(b.sweeps, what).toBe(a.sweeps);
  expect(b.stopReason, what).toBe(a.stopReason);
  expect(b.bestSweep, what).toBe(a.bestSweep);
  expect(b.model.lambda, what).toBe(a.model.lambda);
  expect(bytes(packKernel(b.model.lowRank!)).equals(bytes(packKernel(a.model.lowRank!))), `${what}: kernel`).toBe(true);
  expect(bytes(b.predict(pairs.rows, pairs.cols)).equals(bytes(a.predict(pairs.rows, pairs.cols))), `${what}: predictions`).toBe(true);
  expect(b.history.map((h) => h.validationRmse), what).toEqual(a.history.map((h) => h.validationRmse));
  expect(b.spectrum, what).toEqual(a.spectrum);
}

describe(`the low-rank form on a worker pool (seed ${SEED})`, () => {
  let pool: SweepPool;
  beforeAll(() => {
    pool = new SweepPool(4);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('the test problem cuts every phase into several blocks', () => {
    const data = prepareData(problem.train, 0.05, SEED);
    const plan = planLowRank(rowShape(data.train, data.valRow, false), 8, 18, 2e4);
    for (const count of [plan.solve.length, plan.rows.length, plan.cols.length]) expect(count).toBeGreaterThan(3);
    // each phase's blocks cover their range, in order
    expect(plan.solve[0]![0]).toBe(0);
    expect(plan.solve.at(-1)![1]).toBe(data.train.nRows);
    expect(plan.cols.at(-1)![1]).toBe(data.train.nCols);
    expect(plan.solve.at(-1)![3]).toBe(data.valRow.length);
  });

  it('1, 2 and 4 workers give the bits of complete(), with the extrapolation on', async () => {
    const ref = complete(problem.train, base);
    expect(ref.history[0]!.agop).toBe('low-rank');
    expect(ref.history.some((h) => h.restarts > 0 || h.sweep > 3)).toBe(true);
    for (const workers of [1, 2, 4]) {
      const r = await completeAsync(problem.train, { ...base, workers, pool });
      expectSameBits(ref, r, `${workers} workers`);
    }
    // and the model is a usable one: the relative error of the unobserved entries is small
    expect(ref.bestValidationRmse).toBeLessThan(0.05 * Math.sqrt(problem.train.values.reduce((s, v) => s + v * v, 0) / problem.train.values.length));
  });

  it('alpha = 1/4 and no extrapolation: 3 workers give the bits of complete()', async () => {
    const o = { ...base, alpha: 0.25, momentum: 0, maxSweeps: 12 };
    expectSameBits(complete(problem.train, o), await completeAsync(problem.train, { ...o, workers: 3, pool }), '3 workers');
  });
});

describe(`the low-rank form across checkpoints (seed ${SEED})`, () => {
  const states: EngineState[] = [];
  const full = complete(problem.train, base, undefined, {
    checkpointEvery: 6,
    onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))),
  });

  it('checkpoints hold the kernel, the best one and the previous one with its ridge', () => {
    const d = 150;
    const k = 8;
    expect(states.map((s) => s.sweepsDone)).toEqual([6, 12, 18, 24]);
    expect(states[1]!.K.length).toBe(1 + k + d * k);
    expect(states[1]!.Gprev.length).toBe(2 + k + d * k);
  });

  it('resumed from each checkpoint (in this thread and on 2 workers) ends bit-identical', async () => {
    for (const s of states) expectSameBits(full, complete(problem.train, base, undefined, { resume: s }), `resumed after ${s.sweepsDone}`);
    expectSameBits(full, await completeAsync(problem.train, { ...base, workers: 2 }, undefined, { resume: states[1]! }), 'resumed on 2 workers');
  });

  it('refuses a dense state and a state of another rank', () => {
    const dense = complete(problem.train, { seed: SEED, maxSweeps: 4, tol: 0 }, undefined, { checkpointEvery: 2, onCheckpoint: (s) => states.push(s) });
    expect(dense.sweeps).toBe(4);
    const denseState = states.at(-1)!;
    expect(() => complete(problem.train, base, undefined, { resume: denseState })).toThrow(/other data or options/);
    expect(() => complete(problem.train, { ...base, kernelRank: 6 }, undefined, { resume: states[0]! })).toThrow(/other data or options/);
  });
});
