// The synthetic generator, CSR building and the validation split against brute-force checks.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { csrFromTriplets, findEntry, nnzOf, transposeCsr } from '../../engine/csr.ts';
import { prepareData } from '../../engine/split.ts';
import { generateLowRank, sampleDistinct } from '../../engine/synthetic.ts';
import { randomSparse, toDense } from './reference.ts';

describe('synthetic low-rank problems', () => {
  it('has exactly m distinct observed entries, mean square 1 over all entries, and exact rank (seed 21)', () => {
    const p = generateLowRank({ rows: 30, cols: 20, rank: 3, observed: 250, seed: 21 });
    expect(nnzOf(p.train)).toBe(250);
    const seen = new Set<number>();
    let ss = 0;
    for (let i = 0; i < 30; i++) {
      for (let q = p.train.rowPtr[i]!; q < p.train.rowPtr[i + 1]!; q++) {
        const j = p.train.colIdx[q]!;
        seen.add(i * 20 + j);
        expect(p.train.values[q]).toBeCloseTo(p.truth(i, j), 12);
      }
      for (let j = 0; j < 20; j++) ss += p.truth(i, j) ** 2;
    }
    expect(seen.size).toBe(250);
    expect(ss / 600).toBeCloseTo(1, 12);
    // truth(i, j) is U V scaled: a 4th row is a combination of 3 others only if rank <= 3; check
    // via the 4 x 4 minors of a random 4 x 4 submatrix being ~0 relative to entry size.
    const M = [0, 5, 9, 17].map((i) => [1, 4, 11, 19].map((j) => p.truth(i, j)));
    expect(Math.abs(det4(M))).toBeLessThan(1e-10);
  });

  it('is reproducible from its seed and differs across seeds', () => {
    const a = generateLowRank({ rows: 15, cols: 12, rank: 2, observed: 40, seed: 3, noise: 0.1 });
    const b = generateLowRank({ rows: 15, cols: 12, rank: 2, observed: 40, seed: 3, noise: 0.1 });
    const c = generateLowRank({ rows: 15, cols: 12, rank: 2, observed: 40, seed: 4, noise: 0.1 });
    expect(Array.from(a.train.values)).toEqual(Array.from(b.train.values));
    expect(Array.from(a.train.values)).not.toEqual(Array.from(c.train.values));
  });

  it('sampleDistinct draws distinct sorted values in range, sparse and dense regimes (seed 8)', () => {
    const rng = new Rng(8);
    for (const [total, m] of [[1000, 10], [1000, 900], [50, 50], [1e9, 1000]] as const) {
      const s = sampleDistinct(total, m, rng);
      expect(s.length).toBe(m);
      for (let k = 1; k < m; k++) expect(s[k]!).toBeGreaterThan(s[k - 1]!);
      expect(s[0]!).toBeGreaterThanOrEqual(0);
      expect(s[m - 1]!).toBeLessThan(total);
    }
  });

  it('sampleDistinct is roughly uniform: each of 10 cells gets ~1/10 of 20,000 draws of 2 from 10', () => {
    const rng = new Rng(99);
    const counts = new Array<number>(10).fill(0);
    for (let t = 0; t < 10_000; t++) for (const x of sampleDistinct(10, 2, rng)) counts[x]!++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

function det4(M: number[][]): number {
  const m = M.map((r) => r.slice());
  let det = 1;
  for (let c = 0; c < 4; c++) {
    let piv = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    if (piv !== c) {
      [m[c], m[piv]] = [m[piv]!, m[c]!];
      det = -det;
    }
    det *= m[c]![c]!;
    for (let r = c + 1; r < 4; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < 4; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return det;
}

describe('CSR', () => {
  it('from triplets in any order equals the dense matrix, columns ascending; transpose is the transpose (seed 31)', () => {
    const rng = new Rng(31);
    const n = 9;
    const d = 6;
    const trip: [number, number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) if (rng.uniform() < 0.4) trip.push([i, j, rng.normal()]);
    for (let k = trip.length - 1; k > 0; k--) {
      const s = rng.int(k + 1);
      [trip[k], trip[s]] = [trip[s]!, trip[k]!];
    }
    const m = csrFromTriplets(n, d, trip.length, Int32Array.from(trip.map((t) => t[0])), Int32Array.from(trip.map((t) => t[1])), Float64Array.from(trip.map((t) => t[2])));
    const { Y } = toDense(m);
    for (const [i, j, v] of trip) {
      expect(Y.get(i, j)).toBe(v);
      expect(m.values[findEntry(m, i, j)]).toBe(v);
    }
    for (let i = 0; i < n; i++) for (let q = m.rowPtr[i]! + 1; q < m.rowPtr[i + 1]!; q++) expect(m.colIdx[q]!).toBeGreaterThan(m.colIdx[q - 1]!);
    const t = transposeCsr(m);
    const Yt = toDense(t).Y;
    expect(Yt.to2DArray()).toEqual(Y.transpose().to2DArray());
    expect(findEntry(m, 0, d + 3)).toBe(-1);
  });

  it('rejects out-of-range triplets', () => {
    expect(() => csrFromTriplets(2, 2, 1, Int32Array.of(2), Int32Array.of(0), Float64Array.of(1))).toThrow(/outside/);
  });
});

describe('validation split', () => {
  it('holds out round(5%) of entries, never empties a row or column, and is seeded (seed 41)', () => {
    const rng = new Rng(41);
    const m = randomSparse(120, 40, 0.1, rng);
    const nnz = nnzOf(m);
    const a = prepareData(m, 0.05, 1);
    const b = prepareData(m, 0.05, 1);
    const c = prepareData(m, 0.05, 2);
    expect(a.valRow.length + nnzOf(a.train)).toBe(nnz);
    expect(a.valRow.length).toBeLessThanOrEqual(Math.round(0.05 * nnz));
    expect(a.valRow.length).toBeGreaterThan(0.9 * 0.05 * nnz);
    const colCount = new Int32Array(40);
    for (let i = 0; i < 120; i++) {
      const before = m.rowPtr[i + 1]! - m.rowPtr[i]!;
      const after = a.train.rowPtr[i + 1]! - a.train.rowPtr[i]!;
      expect(after).toBeGreaterThanOrEqual(Math.min(1, before));
    }
    for (let p = 0; p < nnzOf(a.train); p++) colCount[a.train.colIdx[p]!]!++;
    const colBefore = new Int32Array(40);
    for (let p = 0; p < nnz; p++) colBefore[m.colIdx[p]!]!++;
    for (let j = 0; j < 40; j++) expect(colCount[j]!).toBeGreaterThanOrEqual(Math.min(1, colBefore[j]!));
    expect(Array.from(a.valCol)).toEqual(Array.from(b.valCol));
    expect(Array.from(a.valRow)).toEqual(Array.from(b.valRow));
    const signature = (x: typeof a): string => `${Array.from(x.valRow).join()}|${Array.from(x.valCol).join()}`;
    expect(signature(c)).not.toBe(signature(a));
    // the scaled values have mean square 1
    let ss = 0;
    for (let p = 0; p < nnz; p++) ss += a.all.values[p]! ** 2;
    expect(ss / nnz).toBeCloseTo(1, 12);
  });

  it('orients so that the kernel side is the smaller one', () => {
    const rng = new Rng(43);
    expect(prepareData(randomSparse(10, 30, 0.3, rng), 0, 0).transposed).toBe(true);
    expect(prepareData(randomSparse(30, 10, 0.3, rng), 0, 0).train.nCols).toBe(10);
  });
});
