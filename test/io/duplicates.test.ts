// findDuplicatePair against a naive Map-based scan on random inputs.

import { describe, expect, it } from 'vitest';
import { findDuplicatePair } from '../../io/duplicates.ts';
import { randomInt, seededRandom } from './helpers.ts';

function naive(rows: Int32Array, cols: Int32Array, n: number): [number, number] | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = `${rows[i]},${cols[i]}`;
    const first = seen.get(key);
    if (first !== undefined) return [first, i];
    seen.set(key, i);
  }
  return null;
}

describe('findDuplicatePair', () => {
  it('handles n = 0 and a single entry', () => {
    expect(findDuplicatePair(0, 0, 0, new Int32Array(0), new Int32Array(0))).toBeNull();
    expect(findDuplicatePair(1, 1, 1, Int32Array.of(0), Int32Array.of(0))).toBeNull();
  });

  it('reports the earliest repeat and its first sighting', () => {
    // (0,1) at 0, 2, 4; (1,1) at 1, 3: the first repeat in entry order is entry 2, twin of entry 0.
    const rows = Int32Array.of(0, 1, 0, 1, 0);
    const cols = Int32Array.of(1, 1, 1, 1, 1);
    expect(findDuplicatePair(2, 2, 5, rows, cols)).toEqual([0, 2]);
    expect(findDuplicatePair(2, 2, 2, rows, cols)).toBeNull(); // only the first n entries count
  });

  it('agrees with a naive scan (property)', ({ annotate }) => {
    const rand = seededRandom('duplicates', 99, annotate);
    for (let trial = 0; trial < 300; trial++) {
      const nrows = 1 + randomInt(rand, 30);
      const ncols = 1 + randomInt(rand, 30);
      const n = randomInt(rand, Math.min(60, nrows * ncols + 3));
      const rows = new Int32Array(n);
      const cols = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        rows[i] = randomInt(rand, nrows);
        cols[i] = randomInt(rand, ncols);
      }
      expect(findDuplicatePair(nrows, ncols, n, rows, cols), `trial ${trial}`).toEqual(naive(rows, cols, n));
    }
  });
});

describe('mergeDuplicatePairs', () => {
  it('keeps the last value or the mean, in order of first sightings', async () => {
    const { mergeDuplicatePairs } = await import('../../io/duplicates.ts');
    const rows = Int32Array.of(0, 1, 0, 2, 0, 1);
    const cols = Int32Array.of(1, 0, 1, 2, 1, 1);
    const values = Float64Array.of(1, 2, 3, 4, 8, 6);
    const last = mergeDuplicatePairs(6, rows, cols, values, 3, 3, 'last');
    expect(last.merged).toBe(2);
    expect(Array.from(last.rows)).toEqual([0, 1, 2, 1]);
    expect(Array.from(last.cols)).toEqual([1, 0, 2, 1]);
    expect(Array.from(last.values)).toEqual([8, 2, 4, 6]);
    const mean = mergeDuplicatePairs(6, rows, cols, values, 3, 3, 'mean');
    expect(Array.from(mean.values)).toEqual([4, 2, 4, 6]);
  });
});
