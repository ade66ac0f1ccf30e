// Checkpoints and resuming: a run stopped after any sweep and resumed from its saved state ends with
// the same bits as a run that never stopped, in this thread and on the pool.

import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../io/checkpoint-file.ts';
import type { EngineState } from '../../engine/state.ts';
import { complete, completeAsync } from '../../pipeline/run.ts';
import type { CompletionResult } from '../../engine/options.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';

const SEED = 11;
const problem = generateLowRank({ rows: 120, cols: 90, rank: 3, observed: 2600, seed: SEED });
const opts = { seed: SEED, maxSweeps: 60, tol: 0 };
const pairs = unobservedPairs(problem.train);

/** Every checkpoint of a run, through the file encoding (so the tests also cover the format). */
function runWithCheckpoints(every: number): { result: CompletionResult; states: EngineState[] } {
  const states: EngineState[] = [];
  const result = complete(problem.train, opts, undefined, {
    checkpointEvery: every,
    onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))),
  });
  return { result, states };
}

function expectSameBits(a: CompletionResult, b: CompletionResult): void {
  expect(b.sweeps).toBe(a.sweeps);
  expect(b.stopReason).toBe(a.stopReason);
  expect(b.bestSweep).toBe(a.bestSweep);
  expect(b.model.lambda).toBe(a.model.lambda);
  expect(Buffer.from(b.model.K.buffer).equals(Buffer.from(a.model.K.buffer))).toBe(true);
  const pa = a.predict(pairs.rows, pairs.cols);
  const pb = b.predict(pairs.rows, pairs.cols);
  expect(Buffer.from(pb.buffer).equals(Buffer.from(pa.buffer))).toBe(true);
  expect(b.history.map((h) => h.validationRmse)).toEqual(a.history.map((h) => h.validationRmse));
}

describe(`checkpoint and resume (seed ${SEED})`, () => {
  const { result: full, states } = runWithCheckpoints(7);

  it('writes a checkpoint every 7 sweeps, and none at the end', () => {
    expect(full.sweeps).toBe(60);
    expect(states.map((s) => s.sweepsDone)).toEqual([7, 14, 21, 28, 35, 42, 49, 56]);
    // momentum and the schedule are state: they must be in the checkpoint
    expect(states[3]!.Gprev.length).toBe(90 * 90);
    expect(states[3]!.lambda).toBeLessThan(0.05);
  });

  it('resumed from each checkpoint, ends bit-identical to the uninterrupted run', () => {
    for (const s of [states[0]!, states[4]!, states[7]!]) {
      const resumed = complete(problem.train, opts, undefined, { resume: s });
      expectSameBits(full, resumed);
    }
  });

  it('resumes on a 2-worker pool from a checkpoint made in one thread, same bits', async () => {
    const resumed = await completeAsync(problem.train, { ...opts, workers: 2 }, undefined, { resume: states[2]! });
    expectSameBits(full, resumed);
  });

  it('interrupted after sweep 9: checkpoints there, stops with reason interrupted, and resuming finishes the same', () => {
    let sweeps = 0;
    const saved: EngineState[] = [];
    const cut = complete(problem.train, opts, () => void sweeps++, {
      checkpointEvery: 0,
      onCheckpoint: (s) => saved.push(decodeCheckpoint('mem', encodeCheckpoint(s))),
      interrupted: () => sweeps >= 9,
    });
    expect(cut.stopReason).toBe('interrupted');
    expect(saved.map((s) => s.sweepsDone)).toEqual([9]);
    expectSameBits(full, complete(problem.train, opts, undefined, { resume: saved[0]! }));
  });

  it('refuses a state from other options or data', () => {
    expect(() => complete(problem.train, { ...opts, lambda: 0.1 }, undefined, { resume: states[0]! })).toThrow(/other data or options/);
    const other = generateLowRank({ rows: 120, cols: 90, rank: 3, observed: 2600, seed: SEED + 1 });
    expect(() => complete(other.train, opts, undefined, { resume: states[0]! })).toThrow(/other data or options/);
    // stopping rules may change: a longer run continues the same sequence
    const longer = complete(problem.train, { ...opts, maxSweeps: 70 }, undefined, { resume: states[7]! });
    expect(longer.history.slice(0, 60).map((h) => h.validationRmse)).toEqual(full.history.map((h) => h.validationRmse));
  });

  it('a corrupted or truncated checkpoint is a one-line bad-data error', () => {
    const bytes = encodeCheckpoint(states[0]!);
    const flipped = bytes.slice();
    flipped[flipped.length >> 1]! ^= 1;
    expect(() => decodeCheckpoint('ck.lrfm', flipped)).toThrow(/ck\.lrfm: not a usable checkpoint: checksum mismatch/);
    expect(() => decodeCheckpoint('ck.lrfm', bytes.subarray(0, bytes.length - 100))).toThrow(/not a usable checkpoint/);
    expect(() => decodeCheckpoint('ck.lrfm', new Uint8Array(20))).toThrow(/wrong magic/);
  });
});

describe(`checkpoint and resume with alpha = 1/4 (extrapolation after the root; seed ${SEED})`, () => {
  it('resumed after sweep 12 ends bit-identical, the previous root being in the state', () => {
    const o = { ...opts, alpha: 0.25, maxSweeps: 30 };
    const states: EngineState[] = [];
    const full = complete(problem.train, o, undefined, {
      checkpointEvery: 12,
      onCheckpoint: (s) => states.push(decodeCheckpoint('mem', encodeCheckpoint(s))),
    });
    expect(states.map((s) => s.sweepsDone)).toEqual([12, 24]);
    expect(states[0]!.Gprev.length).toBe(90 * 90);
    expectSameBits(full, complete(problem.train, o, undefined, { resume: states[0]! }));
  });
});
