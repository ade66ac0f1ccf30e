// Spilled runs with the low-rank kernel: the matrix in chunk files of whole rows, the fits' a
// recomputed from bs (n x k) chunk by chunk. Such a run agrees with the in-memory run to rounding
// (its operator adds the row groups' shares chunk by chunk, in another order), gives the same bits
// for any number of workers and across --resume (the rank chosen on the way), and cleans up.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../io/checkpoint-file.ts';
import { packKernel } from '../../engine/lowrank.ts';
import type { CompletionResult, EngineOptions } from '../../engine/options.ts';
import type { EngineState } from '../../engine/state.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { SweepPool } from '../../pipeline/pool.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';
import { maxRelDiff } from '../relative-error.ts';

const SEED = 31;
const problem = generateLowRank({ rows: 300, cols: 120, rank: 4, observed: 8000, seed: SEED });
const pairs = unobservedPairs(problem.train);
// small blocks and chunks, so that every chunk has several blocks and the run several chunks
const base: Partial<EngineOptions> = { seed: SEED, kernel: 'low-rank', kernelRank: 8, blockFlops: 2e4, maxSweeps: 12, tol: 0 };
const work = mkdtempSync(join(tmpdir(), 'linrfm-lrspill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let dirs = 0;
const spill = (chunkEntries = 1500): { spill: { dir: string; chunkEntries: number } } => ({ spill: { dir: join(work, `run-${dirs++}`), chunkEntries } });

const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

function expectSameBits(a: CompletionResult, b: CompletionResult, what: string): void {
  expect(b.sweeps, what).toBe(a.sweeps);
  expect(b.bestSweep, what).toBe(a.bestSweep);
  expect(b.model.lambda, what).toBe(a.model.lambda);
  expect(b.history.map((h) => h.validationRmse), what).toEqual(a.history.map((h) => h.validationRmse));
  expect(bytes(packKernel(b.model.lowRank!)).equals(bytes(packKernel(a.model.lowRank!))), `${what}: kernel`).toBe(true);
  expect(bytes(b.predict(pairs.rows, pairs.cols)).equals(bytes(a.predict(pairs.rows, pairs.cols))), `${what}: predictions`).toBe(true);
  expect({ ...b.spectrum, rankNote: '' }, what).toEqual({ ...a.spectrum, rankNote: '' });
}

describe(`low-rank runs spilled (seed ${SEED}, 300 x 120, rank 4, 8,000 observed)`, () => {
  let pool: SweepPool;
  beforeAll(() => {
    pool = new SweepPool(3);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('agrees with the in-memory run to 1e-9 (validation errors, kernel spectrum, predictions) and removes its chunks', () => {
    const memory = complete(problem.train, base);
    const o = spill();
    const spilled = complete(problem.train, { ...base, ...o });
    expect(spilled.spilledChunks).toBeGreaterThanOrEqual(4);
    expect(readdirSync(o.spill.dir).length).toBe(spilled.spilledChunks);
    expect(spilled.sweeps).toBe(memory.sweeps);
    expect(spilled.bestSweep).toBe(memory.bestSweep);
    expect(maxRelDiff(Float64Array.from(spilled.history, (h) => h.validationRmse), Float64Array.from(memory.history, (h) => h.validationRmse))).toBeLessThan(1e-9);
    expect(maxRelDiff(spilled.model.lowRank!.w, memory.model.lowRank!.w)).toBeLessThan(1e-9);
    const pm = memory.predict(pairs.rows, pairs.cols);
    const ps = spilled.predict(pairs.rows, pairs.cols);
    expect(maxRelDiff(ps, pm)).toBeLessThan(1e-9);
    // and a usable model: the unobserved entries' error is small against the values' scale
    const rms = Math.sqrt(problem.train.values.reduce((s, v) => s + v * v, 0) / problem.train.values.length);
    expect(spilled.bestValidationRmse).toBeLessThan(0.05 * rms);
    spilled.release();
    expect(() => readdirSync(o.spill.dir)).toThrow();
  });

  it('1, 2 and 3 workers give the bits of complete(), with the extrapolation on', async () => {
    const ref = complete(problem.train, { ...base, ...spill() });
    expect(ref.history.some((h) => h.restarts > 0 || h.sweep > 3)).toBe(true);
    for (const workers of [1, 2, 3]) {
      const r = await completeAsync(problem.train, { ...base, ...spill(), workers, pool });
      expectSameBits(ref, r, `${workers} workers`);
      r.release();
    }
    ref.release();
  });

  it('one row a chunk and chunks of everything give the same run to 1e-9', () => {
    const tiny = complete(problem.train, { ...base, maxSweeps: 5, ...spill(1) });
    const whole = complete(problem.train, { ...base, maxSweeps: 5, ...spill(1e9) });
    expect(tiny.spilledChunks).toBeGreaterThan(20);
    expect(whole.spilledChunks).toBe(1);
    expect(maxRelDiff(tiny.predict(pairs.rows, pairs.cols), whole.predict(pairs.rows, pairs.cols))).toBeLessThan(1e-9);
    tiny.release();
    whole.release();
  });

  it('resumed from each checkpoint, the rank chosen on the way (auto, from 10), ends bit-identical', async () => {
    const o = { ...base, kernelRank: 10, kernelRankAuto: true, maxSweeps: 14 };
    const states: EngineState[] = [];
    const full = complete(problem.train, { ...o, ...spill() }, undefined, {
      checkpointEvery: 3,
      onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))),
    });
    expect(full.history.at(-1)!.kernelRank).toBe(4);
    expect(states.map((s) => s.sweepsDone)).toEqual([3, 6, 9, 12]);
    for (const s of states) {
      const r = complete(problem.train, { ...o, ...spill() }, undefined, { resume: s });
      expectSameBits(full, r, `resumed after ${s.sweepsDone}`);
      r.release();
    }
    const r = await completeAsync(problem.train, { ...o, ...spill(), workers: 2, pool }, undefined, { resume: states[1]! });
    expectSameBits(full, r, 'resumed on 2 workers');
    r.release();
    full.release();
  });
});
