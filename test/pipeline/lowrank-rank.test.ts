// --kernel-rank auto in a run: the rank found from the spectrum (cut on exact low-rank data, grown
// when the start is too small), with the same bits on any number of workers and across a resume
// from a checkpoint before, at and after the change.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../io/checkpoint-file.ts';
import { packKernel } from '../../engine/lowrank.ts';
import type { CompletionResult, EngineOptions } from '../../engine/options.ts';
import type { EngineState } from '../../engine/state.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { SweepPool } from '../../pipeline/pool.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';

const SEED = 31;
const problem = generateLowRank({ rows: 320, cols: 150, rank: 4, observed: 9000, seed: SEED });
const pairs = unobservedPairs(problem.train);
const base: Partial<EngineOptions> = { seed: SEED, kernel: 'low-rank', kernelRank: 10, kernelRankAuto: true, blockFlops: 2e4, maxSweeps: 24, tol: 0 };

const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const ranks = (r: CompletionResult): number[] => r.history.map((h) => h.kernelRank!);

function expectSameBits(a: CompletionResult, b: CompletionResult, what: string): void {
  expect(b.sweeps, what).toBe(a.sweeps);
  expect(ranks(b), what).toEqual(ranks(a));
  expect(b.model.lowRank!.k, what).toBe(a.model.lowRank!.k);
  expect(bytes(packKernel(b.model.lowRank!)).equals(bytes(packKernel(a.model.lowRank!))), `${what}: kernel`).toBe(true);
  expect(bytes(b.predict(pairs.rows, pairs.cols)).equals(bytes(a.predict(pairs.rows, pairs.cols))), `${what}: predictions`).toBe(true);
  expect(b.history.map((h) => h.validationRmse), what).toEqual(a.history.map((h) => h.validationRmse));
}

describe(`--kernel-rank auto (rank-4 data, 320 x 150, seed ${SEED})`, () => {
  let pool: SweepPool;
  beforeAll(() => {
    pool = new SweepPool(3);
  });
  afterAll(async () => {
    await pool.close();
  });
  const states: EngineState[] = [];
  const ref = complete(problem.train, base, undefined, { checkpointEvery: 1, onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))) });
  const changedAt = ref.history.findIndex((h) => h.rankChoice !== undefined);

  it('starts at 10, cuts to the data\'s rank 4 at a clear gap, and says why', () => {
    expect(changedAt).toBeGreaterThanOrEqual(2);
    expect(ranks(ref).slice(0, changedAt + 1).every((k) => k === 10)).toBe(true);
    expect(ranks(ref).slice(changedAt + 1).every((k) => k === 4)).toBe(true);
    expect(ref.model.lowRank!.k).toBe(4);
    expect(ref.spectrum?.rankNote).toMatch(/rank 4$/);
    // still a good fit after the change: the relative validation error keeps falling
    expect(ref.history.at(-1)!.validationRelMse).toBeLessThan(ref.history[changedAt]!.validationRelMse);
    expect(ref.history.at(-1)!.validationRelMse).toBeLessThan(1e-3);
  });

  it('2 and 3 workers give the bits of complete()', async () => {
    for (const workers of [2, 3]) expectSameBits(ref, await completeAsync(problem.train, { ...base, workers, pool }), `${workers} workers`);
  });

  it('resumed before, at and after the change (in this thread and on 2 workers) ends bit-identical', async () => {
    for (const at of [changedAt - 1, changedAt, changedAt + 1, changedAt + 2]) {
      const s = states.find((x) => x.sweepsDone === at + 1)!;
      expectSameBits(ref, complete(problem.train, base, undefined, { resume: s }), `resumed after ${s.sweepsDone}`);
    }
    const after = states.find((x) => x.sweepsDone === changedAt + 3)!;
    expectSameBits(ref, await completeAsync(problem.train, { ...base, workers: 2, pool }, undefined, { resume: after }), 'resumed on 2 workers');
  });

  it('a start below the data\'s rank grows to twice the start when the tail is not separated', () => {
    const small = complete(problem.train, { ...base, kernelRank: 2, maxSweeps: 14 });
    const at = small.history.findIndex((h) => h.rankChoice !== undefined);
    expect(small.history[at]!.rankChoice).toMatch(/grows to the cap 4/);
    expect(ranks(small).slice(at + 1).every((k) => k === 4)).toBe(true);
  });
});
