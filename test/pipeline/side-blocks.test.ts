// The side biases' work inside a run in memory's blocks (pipeline/lowrank-blocks.ts): a solve block
// takes its rows' targets (and its held-out entries') from the originals, and the row groups' shares
// of the half step add up to the sum over all entries, against direct formulas in this file.

import { describe, expect, it } from 'vitest';
import { defaultEngineOptions, type EngineOptions } from '../../engine/options.ts';
import { generateLowRank } from '../../engine/synthetic.ts';
import { Rng } from '../../kernels/random.ts';
import { orthonormalize } from '../../engine/lowrank.ts';
import { runLowRankBlock } from '../../pipeline/lowrank-blocks.ts';
import { setupLowRank } from '../../pipeline/lowrank-setup.ts';

const SEED = 41;
const problem = generateLowRank({ rows: 200, cols: 70, rank: 3, observed: 5000, seed: SEED });
const opts: EngineOptions = { ...defaultEngineOptions, seed: SEED, kernel: 'low-rank', kernelRank: 4, blockFlops: 2e4, sideBias: true };

describe(`side biases in the blocks of a run in memory (seed ${SEED})`, () => {
  const run = setupLowRank(problem.train, opts, false);
  const lr = run.arrays.lr!;
  const side = lr.side!;
  const { train, valCol, valValue } = run.data;
  const d = run.d;
  const rng = new Rng(SEED);
  side.b.set(Float64Array.from({ length: d }, () => rng.normal()));
  const slot = lr.slots[0]!;
  slot.U.set(Float64Array.from({ length: d * lr.k }, () => rng.normal()));
  if (!orthonormalize(d, lr.k, slot.U)) throw new Error('random directions came out dependent');
  slot.w.set(Float64Array.from({ length: lr.k }, (_, r) => 10 / (r + 1)));
  const tauK = 0.2;
  const lambda = 0.05;
  for (const [r0, r1, v0, v1] of run.plan.solve) {
    runLowRankBlock(run.arrays, lr, { kind: 'lr-solve', slot: 0, uKey: 1, tauK, lambda, r0, r1, v0, v1, g0: 0 });
  }

  it('the plan has several solve blocks and row groups', () => {
    expect(run.plan.solve.length).toBeGreaterThan(3);
    expect(run.plan.rows.length).toBeGreaterThan(1);
  });

  it('the solve blocks leave every target at original - b_col, to the bit', () => {
    let worst = 0;
    for (let q = 0; q < train.values.length; q++) worst = Math.max(worst, Math.abs(train.values[q]! - (side.train0[q]! - side.b[train.colIdx[q]!]!)));
    for (let e = 0; e < valValue.length; e++) worst = Math.max(worst, Math.abs(valValue[e]! - (side.val0[e]! - side.b[valCol[e]!]!)));
    expect(worst).toBe(0);
    // the originals are kept apart from the targets
    expect(side.train0.some((v, q) => v !== train.values[q])).toBe(true);
  });

  it('the row groups\' shares add up to sum_i c a_ij for each column, to 1e-12', () => {
    const c = tauK + lambda;
    run.plan.rows.forEach(([r0, r1], part) => runLowRankBlock(run.arrays, lr, { kind: 'lr-bias', slot: 0, c, r0, r1, part }));
    const want = new Float64Array(d);
    for (let q = 0; q < train.values.length; q++) want[train.colIdx[q]!] += c * slot.a[q]!;
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let j = 0; j < d; j++) {
      let got = 0;
      for (let g = 0; g < run.plan.rows.length; g++) got += side.sums[g * d + j]!;
      expect(Math.abs(got - want[j]!) / scale).toBeLessThan(1e-12);
    }
  });
});
