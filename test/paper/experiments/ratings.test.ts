// Experiment ratings by name through the executable on its smoke grid: a row per method with finite
// figures, both charts, and the report.

import { describe, expect, it } from 'vitest';
import { METHODS, quickGrid, smokeGrid } from '../../../paper/experiments/ratings.ts';
import { runSmoke } from './helpers.ts';

describe('experiment ratings', () => {
  it('--smoke runs by name: a row per size, seed and method, RMSE on the 1-5 scale, NDCG in [0, 1]', () => {
    const { header, rows } = runSmoke('ratings', ['ratings-rmse.svg', 'ratings-ndcg.svg']);
    expect(header).toBe('size,seed,method,test_rmse,ndcg10,seconds,picked');
    const cells = smokeGrid.sizes.reduce((n, s) => n + s.seeds.length, 0);
    expect(rows).toHaveLength(cells * METHODS.length);
    expect(rows.map((r) => r[2])).toEqual([...METHODS]);
    for (const [, , method, rmse, ndcg] of rows) {
      // ratings 1..5: no method is off by more than the scale, and a fit is off by something
      expect(Number(rmse), method).toBeGreaterThan(0);
      expect(Number(rmse), method).toBeLessThan(4);
      expect(Number(ndcg), method).toBeGreaterThanOrEqual(0);
      expect(Number(ndcg), method).toBeLessThanOrEqual(1);
    }
  });

  it('its quick grid has two sizes of 3 seeds and tunes over more than one setting', () => {
    expect(quickGrid.sizes).toHaveLength(2);
    for (const s of quickGrid.sizes) expect(s.seeds).toHaveLength(3);
    expect(quickGrid.alsRidges.length).toBeGreaterThan(1);
    expect(quickGrid.tuned.length).toBeGreaterThan(1);
  });
});
