// The spilled load against the in-memory one on the same files: the same keys, centering, prepared
// matrix and run, to the bit (both orientations, mean and bias centering, repeated pairs merged or
// refused with the in-memory reader's message), with only bucket-sized arrays per entry.

import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTableParquetAtomic } from '../../io/parquet.ts';
import { Rng } from '../../kernels/random.ts';
import { centered, fitCenter, rowBiases, type CenterKind } from '../../engine/center.ts';
import { csrFromTriplets } from '../../engine/csr.ts';
import { readObserved } from '../../pipeline/inputs.ts';
import { complete } from '../../pipeline/run.ts';
import type { CompletionResult } from '../../engine/options.ts';
import { streamLoad } from '../../pipeline/streamload.ts';
import { generateLowRank } from '../../engine/synthetic.ts';

const SEED = 57;
const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-streamload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const columns = { rowKey: 'user', colKey: 'item', valueKey: 'rating' };
const engine = { maxSweeps: 12, seed: 3, agop: 'factored' as const };

/** Observed entries of a rank-3 matrix as (user, item, rating) lines in a shuffled order, some pairs repeated. */
function ratings(rows: number, cols: number, observed: number, repeats: number, seed: number): { user: string[]; item: string[]; rating: number[] } {
  const p = generateLowRank({ rows, cols, rank: 3, observed, seed });
  const rng = new Rng(seed + 1);
  const m = p.train;
  const out = { user: [] as string[], item: [] as string[], rating: [] as number[] };
  for (let i = 0; i < m.nRows; i++) {
    for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) {
      out.user.push(`u${i}`);
      out.item.push(`i${m.colIdx[q]}`);
      // ratings-like: an offset per row and column on top of the low-rank part
      out.rating.push(3 + 0.3 * (i % 5) - 0.2 * (m.colIdx[q]! % 3) + m.values[q]!);
    }
  }
  for (let r = 0; r < repeats; r++) {
    const e = Math.floor(rng.uniform() * out.user.length);
    out.user.push(out.user[e]!);
    out.item.push(out.item[e]!);
    out.rating.push(out.rating[e]! + 0.5);
  }
  // shuffle (Fisher-Yates), so rows arrive interleaved as in a real export
  for (let e = out.user.length - 1; e > 0; e--) {
    const f = Math.floor(rng.uniform() * (e + 1));
    for (const k of ['user', 'item', 'rating'] as const) {
      const t = out[k][e]!;
      (out[k] as unknown[])[e] = out[k][f]!;
      (out[k] as unknown[])[f] = t;
    }
  }
  return out;
}

function writeCsv(path: string, t: { user: string[]; item: string[]; rating: number[] }): void {
  writeFileSync(path, 'user,item,rating\n' + t.user.map((u, e) => `${u},${t.item[e]},${t.rating[e]}`).join('\n') + '\n');
}

async function inMemory(path: string, center: CenterKind, duplicates: 'error' | 'last' | 'mean', spillDir: string) {
  const tri = await readObserved(path, columns, duplicates);
  const raw = csrFromTriplets(tri.rowKeys.size, tri.colKeys.size, tri.nnz, tri.rows, tri.cols, tri.values);
  const c = fitCenter(raw, center);
  const rowBias = rowBiases(raw, c, new Float64Array(raw.nRows));
  const result = complete(centered(raw, c, rowBias), { ...engine, spill: { dir: spillDir, chunkEntries: 700 } });
  return { tri, center: c, rowBias, result, nnz: tri.nnz };
}

function expectSameRun(a: CompletionResult, b: CompletionResult): void {
  expect(b.sweeps).toBe(a.sweeps);
  expect(b.history.map((h) => h.validationRmse)).toEqual(a.history.map((h) => h.validationRmse));
  expect(b.nValidation).toBe(a.nValidation);
  expect(Buffer.from(b.model.K.buffer).equals(Buffer.from(a.model.K.buffer))).toBe(true);
  expect(b.model.scale).toBe(a.model.scale);
  expect(b.model.transposed).toBe(a.model.transposed);
}

describe(`spilled load (seed ${SEED})`, () => {
  const cases: Array<{ name: string; rows: number; cols: number; center: CenterKind; duplicates: 'last' | 'mean'; parquet: boolean }> = [
    { name: 'CSV, more rows than columns, bias centering, repeats averaged', rows: 300, cols: 40, center: 'bias', duplicates: 'mean', parquet: false },
    { name: 'Parquet, more columns than rows (transposed), mean centering, last repeat kept', rows: 40, cols: 260, center: 'mean', duplicates: 'last', parquet: true },
  ];
  for (const [k, c] of cases.entries()) {
    it(`${c.name}: the in-memory load's centering and run, bit for bit`, async () => {
      const t = ratings(c.rows, c.cols, 3500, 40, SEED + k);
      const path = join(dir, `r${k}.${c.parquet ? 'parquet' : 'csv'}`);
      if (c.parquet) {
        await writeTableParquetAtomic(path, [
          { name: 'user', values: t.user },
          { name: 'item', values: t.item },
          { name: 'rating', values: Float64Array.from(t.rating) },
        ]);
      } else writeCsv(path, t);
      const ref = await inMemory(path, c.center, c.duplicates, join(dir, `ref${k}`));
      const work = join(dir, `work${k}`, 'deep');
      const load = await streamLoad({ input: path, columns, duplicates: c.duplicates, center: c.center, dir: work, bucketEntries: 450, validationFraction: 0.05, seed: engine.seed, keepRows: true });
      expect(load.prepared.buckets.length).toBeGreaterThanOrEqual(6);
      expect(load.prepared.transposed).toBe(c.cols > c.rows);
      expect(load.nnz).toBe(ref.nnz);
      expect(load.nnz).toBeLessThan(t.user.length);
      expect([...Array(load.rowKeys.size).keys()].map((i) => load.rowKeys.key(i))).toEqual([...Array(ref.tri.rowKeys.size).keys()].map((i) => ref.tri.rowKeys.key(i)));
      expect(load.center.mean).toBe(ref.center.mean);
      expect(Array.from(load.center.colBias)).toEqual(Array.from(ref.center.colBias));
      expect(Array.from(load.rowBias)).toEqual(Array.from(ref.rowBias));
      const result = complete(load.prepared, { ...engine, spill: { dir: join(dir, `chunks${k}`), chunkEntries: 700 } });
      expectSameRun(ref.result, result);
      const rowsQ = Int32Array.from({ length: 50 }, (_, e) => e % load.nRows);
      const colsQ = Int32Array.from({ length: 50 }, (_, e) => (7 * e) % load.nCols);
      expect(Array.from(result.predict(rowsQ, colsQ))).toEqual(Array.from(ref.result.predict(rowsQ, colsQ)));
      if (!load.prepared.transposed) {
        const obs = load.observedRows(17, 40);
        for (let i = 17; i < 40; i++) {
          const want: number[] = [];
          for (let e = 0; e < t.user.length; e++) if (t.user[e] === load.rowKeys.key(i)) want.push(load.colKeys.get(t.item[e]!));
          expect(Array.from(obs.colIdx.subarray(obs.rowPtr[i - 17]!, obs.rowPtr[i - 16]!))).toEqual([...new Set(want)].sort((x, y) => x - y));
        }
      }
      // the prepared buckets went into the chunks; the sorted rows stay for the outputs until dispose
      result.release();
      ref.result.release();
      load.dispose();
      expect(existsSync(join(dir, `work${k}`))).toBe(false);
    });
  }

  it('a repeated pair is refused with the in-memory reader\'s message; nothing is left in the work directory', async () => {
    const t = ratings(200, 30, 2000, 3, SEED + 9);
    const path = join(dir, 'dup.csv');
    writeCsv(path, t);
    const want = await readObserved(path, columns, 'error').then(() => 'no error', (e: Error) => e.message);
    expect(want).toMatch(/line \d+: duplicate pair \(user .+, item .+\), first seen at line \d+/);
    const work = join(dir, 'dupwork');
    const got = await streamLoad({ input: path, columns, duplicates: 'error', center: 'mean', dir: work, bucketEntries: 300, validationFraction: 0.05, seed: 0, keepRows: false })
      .then(() => 'no error', (e: Error) => e.message);
    expect(got).toBe(want);
    expect(existsSync(work)).toBe(false);
  });

  it('only bucket-sized arrays per entry: a stale bucket of a killed load is removed, and the load finds its rows', async () => {
    const t = ratings(120, 20, 900, 0, SEED + 11);
    const path = join(dir, 'stale.csv');
    writeCsv(path, t);
    const work = join(dir, 'stalework');
    rmSync(work, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work, { recursive: true });
    writeFileSync(join(work, 'load-00003.bin'), 'left by a killed run');
    writeFileSync(join(work, 'notes.txt'), 'the user\'s');
    const load = await streamLoad({ input: path, columns, duplicates: 'error', center: 'none', dir: work, bucketEntries: 100, validationFraction: 0.05, seed: 0, keepRows: false });
    expect(load.nnz).toBe(900);
    expect(readdirSync(work).filter((f) => f.startsWith('load-'))).toEqual([]);
    load.prepared.dispose();
    load.dispose();
    expect(readdirSync(work)).toEqual(['notes.txt']);
  });

  it('stopped between batches or buckets (a signal), it removes every file it wrote and the directory it made', async () => {
    const t = ratings(300, 40, 3500, 0, SEED + 13);
    const path = join(dir, 'stop.csv');
    writeCsv(path, t);
    // calls: 1 the first read, 2 the second, then one per bucket and step (sorting, centering, scale, split)
    for (const at of [1, 2, 3, 8, 14, 40]) {
      const work = join(dir, `stop${at}`, 'inner');
      let calls = 0;
      const stop = new Error(`stopped at call ${at}`);
      const got = await streamLoad({
        input: path, columns, duplicates: 'error', center: 'bias', dir: work, bucketEntries: 400, validationFraction: 0.05, seed: 0, keepRows: true,
        checkInterrupt: () => {
          if (++calls === at) throw stop;
        },
      }).then(() => null, (e: unknown) => e);
      expect(got).toBe(stop);
      expect(existsSync(join(dir, `stop${at}`)), `stopped at call ${at}`).toBe(false);
    }
  });

  it('an input rewritten between the two reads (same keys, same count) is refused as changed, nothing left behind', async () => {
    const t = ratings(120, 20, 900, 0, SEED + 15);
    const path = join(dir, 'changed.csv');
    writeCsv(path, t);
    const work = join(dir, 'changedwork');
    const got = await streamLoad({
      input: path, columns, duplicates: 'error', center: 'mean', dir: work, bucketEntries: 200, validationFraction: 0.05, seed: 0, keepRows: false,
      onCounted: () => {
        writeCsv(path, { ...t, rating: t.rating.map((v) => v + 1) });
        utimesSync(path, new Date(2001, 0, 1), new Date(2001, 0, 1));
      },
    }).then(() => 'loaded', (e: Error) => e.message);
    expect(got).toMatch(/changed\.csv: file: the input changed between the two reads of a spilled load/);
    expect(existsSync(work)).toBe(false);
  });
});
