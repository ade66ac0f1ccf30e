// Top-k per row: the k best unobserved columns, against a brute-force sort.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { transposeCsr } from '../../engine/csr.ts';
import { observedOf } from '../../pipeline/inputs.ts';
import { topKPerRow, topKPerRowByColumns } from '../../pipeline/outputs.ts';
import { randomSparse } from '../engine/reference.ts';

describe('topKPerRow (seed 71)', () => {
  it('matches a brute-force ranking of unobserved entries, with ties broken by column', () => {
    const rng = new Rng(71);
    const m = randomSparse(37, 23, 0.3, rng);
    // a score table with deliberate ties
    const score = Float64Array.from({ length: 37 * 23 }, () => Math.round(rng.normal() * 4));
    const predict = (r: Int32Array, c: Int32Array): Float64Array => Float64Array.from(r, (i, e) => score[i * 23 + c[e]!]!);
    const top = topKPerRow(observedOf(m), 5, predict);
    let e = 0;
    for (let i = 0; i < 37; i++) {
      const seen = new Set(Array.from(m.colIdx.subarray(m.rowPtr[i]!, m.rowPtr[i + 1]!)));
      const ref = Array.from({ length: 23 }, (_, j) => j).filter((j) => !seen.has(j));
      ref.sort((x, y) => score[i * 23 + y]! - score[i * 23 + x]! || x - y);
      for (let r = 0; r < Math.min(5, ref.length); r++, e++) {
        expect(top.rows[e]).toBe(i);
        expect(top.cols[e]).toBe(ref[r]);
        expect(top.scores[e]).toBe(score[i * 23 + ref[r]!]);
        expect(top.ranks[e]).toBe(r + 1);
      }
    }
    expect(e).toBe(top.rows.length);
  });

  it('by columns (a spilled load of a wide input; seed 72): the same lists, ties and non-finite scores included', () => {
    const rng = new Rng(72);
    for (const [n, d, k] of [[23, 37, 5], [40, 9, 12], [15, 60, 1]] as const) {
      const m = randomSparse(n, d, 0.3, rng);
      const score = Float64Array.from({ length: n * d }, () => (rng.uniform() < 0.05 ? Number.NaN : Math.round(rng.normal() * 3)));
      const predict = (r: Int32Array, c: Int32Array): Float64Array => Float64Array.from(r, (i, e) => score[i * d + c[e]!]!);
      const want = topKPerRow(observedOf(m), k, predict);
      const got = topKPerRowByColumns(observedOf(transposeCsr(m)), k, predict);
      expect(want.rows.length).toBeGreaterThan(0);
      for (const key of ['rows', 'cols', 'scores', 'ranks'] as const) expect(Array.from(got[key]), `${n} x ${d}, k = ${k}: ${key}`).toEqual(Array.from(want[key]));
    }
  });
});
