// Similar items by the cosine of the kernel's columns (engine/similar.ts): a case with a known
// answer, and both kernel forms against the cosine of dense columns computed here.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { denseKernel, type LowRankKernel } from '../../engine/lowrank.ts';
import { similarColumns } from '../../engine/similar.ts';
import { orthonormalColumns } from './reference.ts';

/** cos(K_i, K_j) of a dense d x d kernel, column by column. */
function cosine(K: Float64Array, d: number, i: number, j: number): number {
  let dot = 0;
  let ni = 0;
  let nj = 0;
  for (let l = 0; l < d; l++) {
    dot += K[l * d + i]! * K[l * d + j]!;
    ni += K[l * d + i]! ** 2;
    nj += K[l * d + j]! ** 2;
  }
  return dot / Math.sqrt(ni * nj);
}

describe('similarColumns', () => {
  it('known answer: a column twice another is its nearest (cosine 1), then by the cosine of the columns', () => {
    // K = B B^T with item vectors b0 = (1, 0), b1 = (0, 1), b2 = (2, 0), b3 = (1, 1)
    const B = [[1, 0], [0, 1], [2, 0], [1, 1]];
    const d = 4;
    const K = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) K[i * d + j] = B[i]![0]! * B[j]![0]! + B[i]![1]! * B[j]![1]!;
    const s = similarColumns({ d, K }, Int32Array.from([0]), 3);
    expect(Array.from(s.similar)).toEqual([2, 3, 1]);
    expect(s.cosine[0]).toBeCloseTo(1, 14);
    // K_0 = (1, 0, 2, 1) and K_3 = (1, 1, 2, 2): cos = 7 / sqrt(6 * 10)
    expect(s.cosine[1]).toBeCloseTo(7 / Math.sqrt(60), 14);
    // K_1 = (0, 1, 0, 1): cos = 1 / sqrt(6 * 2)
    expect(s.cosine[2]).toBeCloseTo(1 / Math.sqrt(12), 14);
    expect(Array.from(s.rank)).toEqual([1, 2, 3]);
  });

  it('a low-rank kernel gives the cosines of its dense form, and the same lists (seed 9)', () => {
    const rng = new Rng(9);
    const d = 30;
    const k = 4;
    const U = orthonormalColumns(d, k, rng);
    const lr: LowRankKernel = { d, k, U, w: Float64Array.from([5, 3, 1, 0.5]), tauK: 0.2 };
    const K = denseKernel(lr);
    const items = Int32Array.from([0, 7, 29]);
    const a = similarColumns({ d, K: new Float64Array(0), lowRank: lr }, items, 5);
    const b = similarColumns({ d, K }, items, 5);
    expect(Array.from(a.similar)).toEqual(Array.from(b.similar));
    for (let e = 0; e < a.cosine.length; e++) {
      const want = cosine(K, d, a.items[e]!, a.similar[e]!);
      expect(a.cosine[e]).toBeCloseTo(want, 12);
      expect(b.cosine[e]).toBeCloseTo(want, 12);
      // and no other column is more similar than the last one listed
      if (a.rank[e] === 5) {
        for (let j = 0; j < d; j++) {
          if (j !== a.items[e] && !a.similar.subarray(e - 4, e + 1).includes(j)) expect(cosine(K, d, a.items[e]!, j)).toBeLessThanOrEqual(want + 1e-12);
        }
      }
    }
  });
});
