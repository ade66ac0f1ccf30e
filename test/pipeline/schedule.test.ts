// The adaptive ridge schedule's plateau rule: alpha = 1/4 (IRLS p = 1) stalls under a ridge that
// only tracks the validation error, and recovers when flat stretches cut the ridge.

import { describe, expect, it } from 'vitest';
import { complete } from '../../pipeline/run.ts';
import { generateLowRank, unobservedPairs } from '../../engine/synthetic.ts';
import { relativeError } from '../relative-error.ts';

const SEED = 1;

describe(`lambdaPlateau (100 x 100, rank 5, 3,000 observed, alpha 1/4, seed ${SEED})`, () => {
  const p = generateLowRank({ rows: 100, cols: 100, rank: 5, observed: 3000, seed: SEED });
  const pairs = unobservedPairs(p.train);
  const truth = Float64Array.from(pairs.rows, (i, e) => p.truth(i, pairs.cols[e]!));
  const relError = (pred: Float64Array): number => relativeError(pred, truth);

  it('without it the ridge stays at its start and the error near 0.2; with it (default 5) below 5e-3', () => {
    const off = complete(p.train, { alpha: 0.25, seed: SEED, maxSweeps: 400, lambdaPlateau: 0 });
    expect(off.history.at(-1)!.lambda / off.history[0]!.lambda).toBeGreaterThan(0.9);
    expect(relError(off.predict(pairs.rows, pairs.cols))).toBeGreaterThan(0.1);
    const on = complete(p.train, { alpha: 0.25, seed: SEED, maxSweeps: 400 });
    expect(on.options.lambdaPlateau).toBe(5);
    expect(on.history.at(-1)!.lambda).toBeLessThan(1e-3 * on.history[0]!.lambda);
    expect(relError(on.predict(pairs.rows, pairs.cols))).toBeLessThan(5e-3);
  });

  it('rejects a negative or fractional plateau', () => {
    expect(() => complete(p.train, { lambdaPlateau: -1 })).toThrow(/lambdaPlateau/);
    expect(() => complete(p.train, { lambdaPlateau: 2.5 })).toThrow(/lambdaPlateau/);
  });
});
