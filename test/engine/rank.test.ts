// --kernel-rank auto's rule (engine/rank.ts) on hand-made spectra, and a kernel cut or padded to a
// new rank checked against its dense form.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { denseKernel, kernelFromEigen, packKernel, type TopEigen } from '../../engine/lowrank.ts';
import { orthonormalColumns } from './reference.ts';
import { chooseRank, eigenAtRank, packedRank, RANK_FIRST_SWEEP, RANK_LAST_SWEEP } from '../../engine/rank.ts';

const ritz = (...x: number[]): Float64Array => Float64Array.from(x);

describe('chooseRank', () => {
  // 3 signal values, then a drop of 50x: the cut is clear
  const gap = ritz(100, 60, 20, 0.4, 0.3, 0.2, 0.1, 0.05);

  it('waits for RANK_FIRST_SWEEP, then cuts at a clear gap below the rank', () => {
    expect(chooseRank(gap, 6, 12, RANK_FIRST_SWEEP - 1)).toBeNull();
    expect(chooseRank(gap, 6, 12, RANK_FIRST_SWEEP)?.rank).toBe(3);
    expect(chooseRank(gap, 6, 12, RANK_LAST_SWEEP)?.rank).toBe(3);
  });

  it('a drop of less than RANK_GAP at the 1% line is no cut: undecided until the last sweep, then the rank is kept', () => {
    // 4 values above 1 (1% of the top), the 4th only 2.5x the 5th
    const soft = ritz(100, 60, 20, 2, 0.8, 0.5, 0.3, 0.2);
    expect(chooseRank(soft, 6, 12, RANK_FIRST_SWEEP + 1)).toBeNull();
    const last = chooseRank(soft, 6, 12, RANK_LAST_SWEEP)!;
    expect(last.rank).toBe(6);
    expect(last.why).toMatch(/kept/);
  });

  it('all values of the block above the 1% line: the rank grows to the cap at the last sweep', () => {
    const flat = ritz(100, 90, 80, 70, 60, 50, 40, 30);
    expect(chooseRank(flat, 4, 8, RANK_LAST_SWEEP - 1)).toBeNull();
    expect(chooseRank(flat, 4, 8, RANK_LAST_SWEEP)).toMatchObject({ rank: 8 });
    // at the cap already: kept
    expect(chooseRank(flat, 8, 8, RANK_LAST_SWEEP)?.rank).toBe(8);
  });

  it('a zero spectrum decides nothing before the last sweep', () => {
    expect(chooseRank(new Float64Array(8), 4, 8, RANK_FIRST_SWEEP)).toBeNull();
    expect(chooseRank(new Float64Array(8), 4, 8, RANK_LAST_SWEEP)?.rank).toBe(4);
  });
});

describe('eigenAtRank (seed 5)', () => {
  const d = 12;
  const k = 5;
  const rng = new Rng(5);
  const e: TopEigen = { U: orthonormalColumns(d, k, rng), s: ritz(9, 5, 3, 0.2, 0.1), tau: 0.05, ritz: ritz(9, 5, 3, 0.2, 0.1, 0.05, 0.01) };

  it('cut to 3: the top 3 pairs, the tail level is the 4th Ritz value; K = U_3 diag(s^(2a) - t^(2a)) U_3^T + t^(2a) I', () => {
    const cut = eigenAtRank(e, d, 3, new Rng(1));
    expect(cut.tau).toBe(0.2);
    const K = denseKernel(kernelFromEigen(cut, 0.5));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let want = i === j ? 0.2 : 0;
        for (let r = 0; r < 3; r++) want += e.U[i * k + r]! * (e.s[r]! - 0.2) * e.U[j * k + r]!;
        expect(K[i * d + j]).toBeCloseTo(want, 13);
      }
    }
  });

  it('padded to 8: the same dense kernel (the new columns have eigenvalue 0), and a packed rank of 8', () => {
    const padded = kernelFromEigen(eigenAtRank(e, d, 8, new Rng(2)), 0.5);
    const same = denseKernel(kernelFromEigen(e, 0.5));
    const got = denseKernel(padded);
    for (let q = 0; q < d * d; q++) expect(got[q]).toBeCloseTo(same[q]!, 13);
    expect(packedRank(packKernel(padded), d)).toBe(8);
    // the padding is random, not zero: the next subspace iteration starts from a full block
    expect(Math.abs(padded.U[7]!)).toBeGreaterThan(0);
  });
});
