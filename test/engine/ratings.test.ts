// The ratings-shaped generator: seeded, power-law row and column counts, the asked size, disjoint
// training and test entries, and values around the asked mean with the asked noise.

import { describe, expect, it } from 'vitest';
import { generateRatings } from '../../engine/ratings.ts';

const SEED = 47;

describe(`generateRatings (seed ${SEED})`, () => {
  const opts = { rows: 3000, cols: 800, observed: 120_000, rank: 5, noise: 0.5, seed: SEED };
  const p = generateRatings(opts);
  const { train, test } = p;

  it('has about the asked entries, power-law rows (some long, many short) and popular columns', () => {
    const total = train.values.length + test.values.length;
    expect(Math.abs(total - 120_000) / 120_000).toBeLessThan(0.05);
    const lens = Array.from({ length: 3000 }, (_, i) => train.rowPtr[i + 1]! - train.rowPtr[i]!).sort((a, b) => a - b);
    const median = lens[1500]!;
    expect(lens.at(-1)!).toBeGreaterThan(10 * median);
    expect(lens[0]!).toBeGreaterThanOrEqual(4);
    const colCounts = new Float64Array(800);
    for (const j of train.colIdx) colCounts[j]!++;
    const sorted = Array.from(colCounts).sort((a, b) => a - b);
    expect(sorted.at(-1)!).toBeGreaterThan(10 * sorted[400]!);
  });

  it('holds out about 2% as a test set disjoint from training, from the same rows', () => {
    expect(Math.abs(test.values.length / (train.values.length + test.values.length) - 0.02)).toBeLessThan(0.005);
    for (let e = 0; e < test.rows.length; e++) {
      const i = test.rows[e]!;
      const row = train.colIdx.subarray(train.rowPtr[i]!, train.rowPtr[i + 1]!);
      expect(row.includes(test.cols[e]!)).toBe(false);
      expect(row.length).toBeGreaterThan(0);
    }
  });

  it('values centre on the mean with the biases, signal and noise as spread, and the seed replays them', () => {
    const v = train.values;
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    expect(Math.abs(mean - 3.6)).toBeLessThan(0.15);
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    // biases 0.4 and 0.5, signal 1, noise 0.5: about sqrt(0.16 + 0.25 + 1 + 0.25) = 1.29
    expect(sd).toBeGreaterThan(1.0);
    expect(sd).toBeLessThan(1.6);
    const again = generateRatings(opts);
    expect(Buffer.from(again.train.values.buffer).equals(Buffer.from(train.values.buffer))).toBe(true);
    expect(Array.from(again.test.cols)).toEqual(Array.from(test.cols));
  });
});
