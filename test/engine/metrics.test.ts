// Rating and ranking measures (engine/metrics.ts) on small cases worked out by hand.

import { describe, expect, it } from 'vitest';
import { rankingMetrics, ratingMetrics } from '../../engine/metrics.ts';

describe('ratingMetrics', () => {
  it('scores the finite predictions only and counts the rest as unpredicted', () => {
    const m = ratingMetrics(Float64Array.from([1, 2, 3, 4]), Float64Array.from([1.5, Number.NaN, 2, 4]));
    // errors 0.5, -1, 0
    expect(m).toMatchObject({ pairs: 4, predicted: 3, unpredicted: 1, coverage: 0.75 });
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.25 + 1) / 3), 14);
    expect(m.mae).toBeCloseTo(1.5 / 3, 14);
  });

  it('nothing predicted: NaN errors, coverage 0', () => {
    const m = ratingMetrics(Float64Array.from([1]), Float64Array.from([Number.POSITIVE_INFINITY]));
    expect(m.coverage).toBe(0);
    expect(m.rmse).toBeNaN();
  });
});

describe('rankingMetrics at k = 3', () => {
  const lists = new Map([[0, [10, 11, 12]], [1, [20, 21, 22]]]);
  const relevant = new Map([[0, new Set([11, 13])], [1, new Set([20, 22, 23, 24])], [2, new Set([30])], [3, new Set<number>()]]);
  const m = rankingMetrics(lists, relevant, 3, 30);
  const l2 = (x: number): number => Math.log(x) / Math.LN2;
  // row 0: one hit at rank 2 of 2 relevant; row 1: hits at ranks 1 and 3 of 4 relevant; row 2: no list; row 3: nothing relevant
  const ndcg0 = (1 / l2(3)) / (1 + 1 / l2(3));
  const ndcg1 = (1 + 1 / l2(4)) / (1 + 1 / l2(3) + 1 / l2(4));
  const ap0 = (1 / 2) / 2;
  const ap1 = (1 / 1 + 2 / 3) / 3;

  it('averages over the rows with something relevant, a row without a list scoring 0', () => {
    expect(m.rows).toBe(3);
    expect(m.rowsWithoutList).toBe(1);
    expect(m.precision).toBeCloseTo((1 / 3 + 2 / 3 + 0) / 3, 14);
    expect(m.recall).toBeCloseTo((1 / 2 + 2 / 4 + 0) / 3, 14);
    expect(m.ndcg).toBeCloseTo((ndcg0 + ndcg1) / 3, 14);
    expect(m.map).toBeCloseTo((ap0 + ap1) / 3, 14);
  });

  it('catalogue coverage: distinct items in the lists over the catalogue', () => {
    expect(m.itemsRecommended).toBe(6);
    expect(m.catalogueCoverage).toBeCloseTo(6 / 30, 14);
  });

  it('only the first k of a longer list count; a perfect list scores 1', () => {
    const perfect = rankingMetrics(new Map([[0, [1, 2, 9, 8]]]), new Map([[0, new Set([1, 2])]]), 2, 10);
    expect([perfect.precision, perfect.recall, perfect.ndcg, perfect.map]).toEqual([1, 1, 1, 1]);
    expect(perfect.itemsRecommended).toBe(2);
  });
});
