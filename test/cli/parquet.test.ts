// The CLI on Parquet input: a ratings-style file with named key columns in, Parquet predictions out.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPairsParquet, readTripletsParquet, writeTableParquetAtomic } from '../../io/parquet.ts';
import { KeyDictionary } from '../../io/key-dictionary.ts';
import { generateLowRank } from '../../engine/synthetic.ts';
import { BIN } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-pq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lin-rfm complete on Parquet', () => {
  it('reads user/item/rating columns by name and writes predictions.parquet with the original keys (seed 9)', async () => {
    const p = generateLowRank({ rows: 80, cols: 50, rank: 2, observed: 1500, seed: 9 });
    const users: string[] = [];
    const items: string[] = [];
    const ratings: number[] = [];
    for (let i = 0; i < 80; i++) {
      for (let q = p.train.rowPtr[i]!; q < p.train.rowPtr[i + 1]!; q++) {
        users.push(`user-${i}`);
        items.push(`item-${p.train.colIdx[q]}`);
        ratings.push(3 + p.train.values[q]!);
      }
    }
    await writeTableParquetAtomic(join(dir, 'ratings.parquet'), [
      { name: 'user', values: users },
      { name: 'item', values: items },
      { name: 'rating', values: Float64Array.from(ratings) },
    ]);
    // pairs: 20 unobserved entries
    const pu: string[] = [];
    const pi: string[] = [];
    const truth: number[] = [];
    for (let i = 0; pu.length < 20; i++) {
      const j = (i * 7) % 50;
      let seen = false;
      for (let q = p.train.rowPtr[i % 80]!; q < p.train.rowPtr[(i % 80) + 1]!; q++) if (p.train.colIdx[q] === j) seen = true;
      if (seen) continue;
      pu.push(`user-${i % 80}`);
      pi.push(`item-${j}`);
      truth.push(3 + p.truth(i % 80, j));
    }
    await writeTableParquetAtomic(join(dir, 'pairs.parquet'), [
      { name: 'user', values: pu },
      { name: 'item', values: pi },
    ]);
    const r = spawnSync(process.execPath, [BIN, 'complete', '--input', 'ratings.parquet', '--row-key', 'user', '--col-key', 'item', '--value-key', 'rating', '--predict', 'pairs.parquet', '--output', 'out', '--full', '--quiet'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['full', 'model', 'predictions.parquet', 'report.json']);
    // the full matrix as a Parquet dataset: every (user, item) once
    const full = await readTripletsParquet(join(dir, 'out', 'full'), { rowKey: 'user', colKey: 'item', valueKey: 'value' });
    expect(full.nnz).toBe(80 * 50);
    expect(full.rowKeys.size).toBe(80);
    expect(full.colKeys.size).toBe(50);
    // read predictions back: keys as given, prediction close to the truth (shifted data, no centering: loose bound)
    const back = await readTripletsParquet(join(dir, 'out', 'predictions.parquet'), { rowKey: 'user', colKey: 'item', valueKey: 'prediction' });
    expect(back.nnz).toBe(20);
    let num = 0;
    let den = 0;
    for (let e = 0; e < 20; e++) {
      expect(back.rowKeys.key(back.rows[e]!)).toBe(pu[e]);
      expect(back.colKeys.key(back.cols[e]!)).toBe(pi[e]);
      num += (back.values[e]! - truth[e]!) ** 2;
      den += truth[e]! ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(0.05);
    const pairs = await readPairsParquet(join(dir, 'pairs.parquet'), KeyDictionary.from(pu), KeyDictionary.from(pi));
    expect(pairs.n).toBe(20);
  });
});
