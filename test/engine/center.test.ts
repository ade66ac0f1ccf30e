// Centering: the mean, row and column biases, and the round trip back to the data's values.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { centered, fitCenter, rowBiases, uncenter } from '../../engine/center.ts';
import { nnzOf, type Csr } from '../../engine/csr.ts';
import { randomSparse } from './reference.ts';

function withBiases(m: Csr, rng: Rng): { m: Csr; b: Float64Array; c: Float64Array } {
  const b = Float64Array.from({ length: m.nRows }, () => 2 * rng.normal());
  const c = Float64Array.from({ length: m.nCols }, () => 2 * rng.normal());
  const values = new Float64Array(m.values.length);
  for (let i = 0; i < m.nRows; i++) for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) values[p] = 3.5 + b[i]! + c[m.colIdx[p]!]! + 0.1 * m.values[p]!;
  return { m: { ...m, values }, b, c };
}

describe('centering (seed 61)', () => {
  const rng = new Rng(61);
  const { m } = withBiases(randomSparse(200, 40, 0.3, rng), rng);

  it('mean: subtracts exactly the mean of the observed values', () => {
    const c = fitCenter(m, 'mean');
    let s = 0;
    for (let p = 0; p < nnzOf(m); p++) s += m.values[p]!;
    expect(c.mean).toBeCloseTo(s / nnzOf(m), 12);
    const z = centered(m, c, new Float64Array(m.nRows));
    let t = 0;
    for (let p = 0; p < nnzOf(z); p++) t += z.values[p]!;
    expect(Math.abs(t / nnzOf(z))).toBeLessThan(1e-12);
  });

  it('bias: the residuals are far smaller than after the mean alone, and uncenter restores the values', () => {
    const cm = fitCenter(m, 'mean');
    const cb = fitCenter(m, 'bias');
    const rb = rowBiases(m, cb, new Float64Array(m.nRows));
    const zm = centered(m, cm, new Float64Array(m.nRows));
    const zb = centered(m, cb, rb);
    const ms = (z: Csr): number => {
      let s = 0;
      for (let p = 0; p < nnzOf(z); p++) s += z.values[p]! ** 2;
      return s / nnzOf(z);
    };
    expect(ms(zb)).toBeLessThan(0.1 * ms(zm));
    const rows = new Int32Array(nnzOf(m));
    for (let i = 0; i < m.nRows; i++) rows.fill(i, m.rowPtr[i]!, m.rowPtr[i + 1]!);
    const back = uncenter(cb, rb, rows, m.colIdx, Float64Array.from(zb.values));
    for (let p = 0; p < nnzOf(m); p++) expect(back[p]).toBeCloseTo(m.values[p]!, 12);
  });

  it('none: leaves the values alone; pairs with unseen keys (-1) are not touched', () => {
    const c = fitCenter(m, 'none');
    expect(centered(m, c, new Float64Array(m.nRows)).values).toEqual(m.values);
    const cb = fitCenter(m, 'bias');
    const out = uncenter(cb, new Float64Array(m.nRows), Int32Array.of(-1, 0), Int32Array.of(0, -1), Float64Array.of(Number.NaN, 7));
    expect(Number.isNaN(out[0])).toBe(true);
    expect(out[1]).toBe(7);
  });
});
