// The robust limits and the overflow-safe scale, against closed forms on hand-made samples.

import { describe, expect, it } from 'vitest';
import { NumericError } from '../../engine/errors.ts';
import { inSample, outlierLimits, sampleRate } from '../../engine/outliers.ts';
import { rootMeanSquare, SquareSum } from '../../engine/split.ts';

describe('outlierLimits', () => {
  it('median +- limit x 1.4826 MAD', () => {
    // 1..5 twice and one 1e6: median 3 (of 11 values: 1,1,2,2,3,3,4,4,5,5,1e6 sorted -> 6th = 3), MAD 1
    const s = Float64Array.from([5, 1, 4, 2, 3, 1e6, 3, 2, 4, 1, 5]);
    const l = outlierLimits(s, 50);
    expect(l.median).toBe(3);
    expect(l.scale).toBeCloseTo(1.482602218505602, 15);
    expect(l.lo).toBeCloseTo(3 - 50 * 1.482602218505602, 12);
    expect(l.hi).toBeCloseTo(3 + 50 * 1.482602218505602, 12);
    expect(l.sampled).toBe(11);
  });

  it('falls back on the mean absolute deviation when most values are equal, and finds nothing when all are', () => {
    // median 5, MAD 0; mean |v - 5| = (4 + 3) / 7 = 1
    const l = outlierLimits(Float64Array.from([5, 5, 5, 5, 5, 1, 2]), 10);
    expect(l.median).toBe(5);
    expect(l.scale).toBeCloseTo(1.2533141373155001, 15);
    const same = outlierLimits(Float64Array.from([2, 2, 2]), 10);
    expect([same.lo, same.hi]).toEqual([-Infinity, Infinity]);
  });

  it('samples the same entries whatever the visiting order, at about the rate asked', () => {
    expect(sampleRate(1_000_000)).toBe(1);
    expect(sampleRate(4_000_000)).toBe(2 ** 20 / 4e6);
    let n = 0;
    for (let i = 0; i < 400; i++) for (let j = 0; j < 250; j++) if (inSample(i, j, 0.1)) n++;
    expect(n / 100_000).toBeGreaterThan(0.097);
    expect(n / 100_000).toBeLessThan(0.103);
    expect(inSample(17, 3, 0.1)).toBe(inSample(17, 3, 0.1));
  });
});

describe('SquareSum', () => {
  it('gives the plain sum\'s bits on ordinary values', () => {
    const v = Float64Array.from({ length: 1000 }, (_, k) => Math.sin(k) * 3);
    let ss = 0;
    for (const x of v) ss += x * x;
    expect(rootMeanSquare(v, v.length)).toBe(Math.sqrt(ss / v.length));
  });

  it('does not overflow on 1e300 nor underflow on values near 1e-200', () => {
    const big = Float64Array.from([1e300, 1, 2]);
    expect(rootMeanSquare(big, 3) / (1e300 / Math.sqrt(3))).toBeCloseTo(1, 14);
    const v = Float64Array.from({ length: 100 }, (_, k) => 1 + (k % 7));
    const tiny = v.map((x) => x * 1e-200);
    expect(rootMeanSquare(tiny, 100) / (rootMeanSquare(v, 100) * 1e-200)).toBeCloseTo(1, 13);
    expect(rootMeanSquare(new Float64Array(5), 5)).toBe(1);
  });

  it('refuses a non-finite value with a NumericError naming it', () => {
    const s = new SquareSum();
    s.add(1);
    s.add(Number.NaN);
    expect(() => s.rms(2, 'the values')).toThrow(NumericError);
    expect(() => s.rms(2, 'the values')).toThrow(/the values hold a non-finite value \(NaN\)/);
    const t = new SquareSum();
    t.add(Number.POSITIVE_INFINITY);
    expect(() => t.rms(1, 'x')).toThrow(/Infinity/);
  });
});
