// `lin-rfm generate`: a synthetic low-rank problem as CSV, with the truth of held-out entries.

import { Errors } from '../config/errors.ts';
import { writeCsvAtomic } from '../io/csv.ts';
import { Rng } from '../kernels/random.ts';
import { nnzOf } from '../engine/csr.ts';
import { generateLowRank, sampleDistinct } from '../engine/synthetic.ts';
import { generateRatings } from '../engine/ratings.ts';

export function checkObserved(spec: { rows: number; cols: number; observed: number }): void {
  if (spec.observed > spec.rows * spec.cols) {
    throw Errors.Usage(`--observed: ${spec.observed} is more than the ${spec.rows * spec.cols} entries of a ${spec.rows} x ${spec.cols} matrix`);
  }
}

/** The flags of `generate` (not job settings: it reads no input and writes only what it is told). */
export interface GenerateFlags {
  rows: number;
  cols: number;
  rank: number;
  observed: number;
  out: string;
  seed?: number;
  noise?: number;
  truth?: string;
  truthCount?: number;
  /** 'lowrank' (default): a low-rank matrix, uniform entries; 'ratings': engine/ratings.ts, rounded to a 1-5 scale. */
  profile?: 'lowrank' | 'ratings';
}

/** generate --profile ratings: power-law users and items, biases, a low-rank signal and noise (std 1 unless --noise: signal to noise about 1), each value rounded to the nearest of 1..5; the truth is the held-out share. */
async function generateRatingsCsv(f: GenerateFlags): Promise<void> {
  if (f.observed < 5 * f.rows) throw Errors.Usage(`--observed: ${f.observed} is fewer than 5 ratings for each of the ${f.rows} rows (--profile ratings gives every row at least 5)`);
  if (f.cols < 2) throw Errors.Usage('--cols: --profile ratings needs at least 2 columns');
  const p = generateRatings({ rows: f.rows, cols: f.cols, observed: f.observed, rank: f.rank, noise: f.noise ?? 1, seed: f.seed ?? 0 });
  const star = (v: number): number => Math.min(5, Math.max(1, Math.round(v)));
  const t = p.train;
  await writeCsvAtomic(f.out, ['row', 'col', 'value'], (function* () {
    for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) yield [i, t.colIdx[q]!, star(t.values[q]!)];
  })());
  if (f.truth !== undefined) {
    const n = Math.min(p.test.values.length, f.truthCount ?? p.test.values.length);
    await writeCsvAtomic(f.truth, ['row', 'col', 'value'], (function* () {
      for (let e = 0; e < n; e++) yield [p.test.rows[e]!, p.test.cols[e]!, star(p.test.values[e]!)];
    })());
  }
}

export async function cmdGenerate(f: GenerateFlags): Promise<void> {
  if (f.profile === 'ratings') return generateRatingsCsv(f);
  const spec = {
    rows: f.rows,
    cols: f.cols,
    rank: f.rank,
    observed: f.observed,
    seed: f.seed ?? 0,
    noise: f.noise ?? 0,
  };
  checkObserved(spec);
  const p = generateLowRank(spec);
  const t = p.train;
  await writeCsvAtomic(f.out, ['row', 'col', 'value'], (function* () {
    for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) yield [i, t.colIdx[q]!, t.values[q]!];
  })());
  if (f.truth !== undefined) {
    const unobserved = spec.rows * spec.cols - spec.observed;
    const want = Math.min(unobserved, f.truthCount ?? 100_000);
    // Held-out pairs: a seeded uniform sample of the unobserved entries, in row-major order.
    const rng = new Rng(spec.seed ^ 0x7e57);
    const picks = sampleDistinct(unobserved, want, rng);
    // Flat indices of the observed entries, ascending (CSR is row-major sorted).
    const nnz = nnzOf(t);
    const obsFlat = new Float64Array(nnz);
    for (let i = 0; i < t.nRows; i++) for (let q = t.rowPtr[i]!; q < t.rowPtr[i + 1]!; q++) obsFlat[q] = i * spec.cols + t.colIdx[q]!;
    await writeCsvAtomic(f.truth, ['row', 'col', 'value'], (function* () {
      // The k-th unobserved entry sits at flat index k + (number of observed entries before it).
      let q = 0;
      for (let s = 0; s < picks.length; s++) {
        const k = picks[s]!;
        while (q < nnz && obsFlat[q]! <= k + q) q++;
        const f = k + q;
        const i = Math.floor(f / spec.cols);
        const j = f - i * spec.cols;
        yield [i, j, p.truth(i, j)];
      }
    })());
  }
}
