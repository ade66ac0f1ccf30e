// A job's outputs: predictions for pairs, every row's top-k unobserved columns and the whole completed
// matrix, as CSV or Parquet tables written atomically.

import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ColdStartPolicy, TableFormat } from '../config/settings.ts';
import { writeCsvAtomic } from '../io/csv.ts';
import type { Pairs, Triplets } from '../io/entries.ts';
import { writeTableParquetAtomic } from '../io/parquet.ts';
import type { Center } from '../engine/center.ts';
import { isParquet, type ObservedRows } from './inputs.ts';
import { makeDirs } from '../io/dirs.ts';

/** Writes predictions.csv or predictions.parquet (format of the pairs file unless `format`); returns the path. */
export async function writePredictions(
  outDir: string,
  format: TableFormat | undefined,
  predictPath: string,
  columns: { rowKey: string; colKey: string },
  pairs: Pairs,
  pred: Float64Array,
  cold: ColdStart,
): Promise<string> {
  const fmt = format ?? (isParquet(predictPath) ? 'parquet' : 'csv');
  const path = join(outDir, `predictions.${fmt}`);
  // Pairs with a key never seen in training: NaN, left out, or the centering's best guess.
  const keep: number[] = [];
  for (let e = 0; e < pairs.n; e++) {
    const i = pairs.rows[e]!;
    const j = pairs.cols[e]!;
    if (i >= 0 && j >= 0) keep.push(e);
    else if (cold.policy === 'drop') continue;
    else {
      if (cold.policy === 'mean') {
        const c = cold.center;
        let v = c.kind === 'none' ? Number.NaN : c.mean;
        if (c.kind === 'bias') v += (i >= 0 ? cold.rowBias[i]! : 0) + (j >= 0 ? c.colBias[j]! : 0);
        pred[e] = cold.clip === undefined || Number.isNaN(v) ? v : Math.min(cold.clip[1], Math.max(cold.clip[0], v));
      } else pred[e] = Number.NaN;
      keep.push(e);
    }
  }
  await writeKeyedTable(path, fmt, columns, [
    keep.map((e) => pairs.rowText[e]!),
    keep.map((e) => pairs.colText[e]!),
  ], [{ name: 'prediction', values: Float64Array.from(keep, (e) => pred[e]!) }]);
  return path;
}

/**
 * A table of (row key, column key, numeric columns...) as Parquet or CSV, the key columns under
 * their input names, written atomically.
 */
export async function writeKeyedTable(
  path: string,
  format: string,
  columns: { rowKey: string; colKey: string },
  [rowText, colText]: [string[], string[]],
  numeric: { name: string; values: Float64Array | Int32Array }[],
): Promise<void> {
  if (format === 'parquet') {
    await writeTableParquetAtomic(path, [
      { name: columns.rowKey, values: rowText },
      { name: columns.colKey, values: colText },
      ...numeric,
    ]);
    return;
  }
  await writeCsvAtomic(path, [columns.rowKey, columns.colKey, ...numeric.map((c) => c.name)], (function* () {
    for (let e = 0; e < rowText.length; e++) yield [rowText[e]!, colText[e]!, ...numeric.map((c) => c.values[e]!)];
  })());
}

export type ColdStart = { policy: ColdStartPolicy; center: Center; rowBias: Float64Array; clip?: readonly [number, number] | undefined };

/**
 * The whole completed matrix in long format (row key, column key, value, observed), a chunk of rows
 * at a time: CSV streams into full.csv; Parquet becomes a dataset directory full/ of part files,
 * one per chunk, each written atomically (the directory itself appears under its name last).
 */
export async function writeFull(
  outDir: string,
  format: string,
  observed: ObservedRows,
  tri: Pick<Triplets, 'rowKeys' | 'colKeys'>,
  columns: { rowKey: string; colKey: string },
  predict: (rows: Int32Array, cols: Int32Array) => Float64Array,
  byColumn = false,
): Promise<string> {
  // observed a chunk of its rows at a time, or (byColumn) of its columns: the file follows that order
  const { nRows: n, nCols: d } = observed;
  const chunk = Math.max(1, Math.floor(2_000_000 / d));
  const block = (c0: number, c1: number): { rows: Int32Array; cols: Int32Array; pred: Float64Array; seen: Uint8Array } => {
    const major = new Int32Array((c1 - c0) * d);
    const minor = new Int32Array((c1 - c0) * d);
    const seen = new Uint8Array((c1 - c0) * d);
    const obs = observed.rows(c0, c1);
    for (let i = c0; i < c1; i++) {
      major.fill(i, (i - c0) * d, (i - c0 + 1) * d);
      for (let j = 0; j < d; j++) minor[(i - c0) * d + j] = j;
      for (let p = obs.rowPtr[i - c0]!; p < obs.rowPtr[i - c0 + 1]!; p++) seen[(i - c0) * d + obs.colIdx[p]!] = 1;
    }
    const [rows, cols] = byColumn ? [minor, major] : [major, minor];
    return { rows, cols, pred: predict(rows, cols), seen };
  };
  if (format === 'csv') {
    const path = join(outDir, 'full.csv');
    await writeCsvAtomic(path, [columns.rowKey, columns.colKey, 'value', 'observed'], (function* () {
      for (let c0 = 0; c0 < n; c0 += chunk) {
        const b = block(c0, Math.min(n, c0 + chunk));
        for (let e = 0; e < b.rows.length; e++) yield [tri.rowKeys.key(b.rows[e]!), tri.colKeys.key(b.cols[e]!), b.pred[e]!, b.seen[e]!];
      }
    })());
    return path;
  }
  const final = join(outDir, 'full');
  const tmp = join(outDir, `.full.tmp-${process.pid}`);
  makeDirs(tmp);
  for (let c0 = 0, part = 0; c0 < n; c0 += chunk, part++) {
    const b = block(c0, Math.min(n, c0 + chunk));
    await writeTableParquetAtomic(join(tmp, `part-${String(part).padStart(5, '0')}.parquet`), [
      { name: columns.rowKey, values: Array.from(b.rows, (i) => tri.rowKeys.key(i)) },
      { name: columns.colKey, values: Array.from(b.cols, (j) => tri.colKeys.key(j)) },
      { name: 'value', values: b.pred },
      { name: 'observed', values: Int32Array.from(b.seen) },
    ]);
  }
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  return final;
}

/** Top-k lists in long form: entry e is column cols[e] at rank ranks[e] (1-based) of row rows[e], each row's entries in rank order. */
export interface TopKLists {
  rows: Int32Array;
  cols: Int32Array;
  scores: Float64Array;
  ranks: Int32Array;
}

/** Top-k lists built one entry at a time, in the order they are added. */
export function topKCollector(): { add(row: number, col: number, score: number, rank: number): void; lists(): TopKLists } {
  const rows: number[] = [];
  const cols: number[] = [];
  const scores: number[] = [];
  const ranks: number[] = [];
  return {
    add(row, col, score, rank) {
      rows.push(row);
      cols.push(col);
      scores.push(score);
      ranks.push(rank);
    },
    lists: () => ({ rows: Int32Array.from(rows), cols: Int32Array.from(cols), scores: Float64Array.from(scores), ranks: Int32Array.from(ranks) }),
  };
}

/**
 * The k highest predicted unobserved entries of every row (ties: lower column first), in rank order,
 * computed a chunk of rows at a time so that only a chunk of the completed matrix exists at once.
 */
export function topKPerRow(
  observed: ObservedRows,
  k: number,
  predict: (rows: Int32Array, cols: Int32Array) => Float64Array,
): TopKLists {
  const { nRows: n, nCols: d } = observed;
  const per = Math.min(k, d);
  const out = topKCollector();
  const chunk = Math.max(1, Math.floor(4_000_000 / d));
  const order = new Int32Array(d);
  const seen = new Uint8Array(d);
  for (let c0 = 0; c0 < n; c0 += chunk) {
    const c1 = Math.min(n, c0 + chunk);
    const rows = new Int32Array((c1 - c0) * d);
    const cols = new Int32Array((c1 - c0) * d);
    for (let i = c0; i < c1; i++) {
      rows.fill(i, (i - c0) * d, (i - c0 + 1) * d);
      for (let j = 0; j < d; j++) cols[(i - c0) * d + j] = j;
    }
    const pred = predict(rows, cols);
    const obs = observed.rows(c0, c1);
    for (let i = c0; i < c1; i++) {
      const base = (i - c0) * d;
      const p0 = obs.rowPtr[i - c0]!;
      const p1 = obs.rowPtr[i - c0 + 1]!;
      for (let p = p0; p < p1; p++) seen[obs.colIdx[p]!] = 1;
      let m = 0;
      for (let j = 0; j < d; j++) if (!seen[j] && Number.isFinite(pred[base + j]!)) order[m++] = j;
      // clear only what this row marked
      for (let p = p0; p < p1; p++) seen[obs.colIdx[p]!] = 0;
      const cand = Array.from(order.subarray(0, m));
      cand.sort((x, y) => pred[base + y]! - pred[base + x]! || x - y);
      for (let r = 0; r < Math.min(per, cand.length); r++) out.add(i, cand[r]!, pred[base + cand[r]!]!, r + 1);
    }
  }
  return out.lists();
}

/**
 * topKPerRow when the observed entries come grouped by column (a spilled load of an input with more
 * columns than rows): `byColumn.rows(j0, j1)` gives columns j0..j1 with the rows observed in each.
 * The columns are visited a chunk at a time in ascending order and every row keeps its best k so
 * far (a later column displaces an earlier one only with a strictly higher score), so the result is
 * topKPerRow's, ties to the lower column included.
 */
export function topKPerRowByColumns(
  byColumn: ObservedRows,
  k: number,
  predict: (rows: Int32Array, cols: Int32Array) => Float64Array,
): { rows: Int32Array; cols: Int32Array; scores: Float64Array; ranks: Int32Array } {
  const n = byColumn.nCols;
  const d = byColumn.nRows;
  const per = Math.min(k, d);
  const bestCol = new Int32Array(n * per);
  const bestScore = new Float64Array(n * per);
  const held = new Int32Array(n);
  const chunk = Math.max(1, Math.floor(4_000_000 / n));
  const seen = new Uint8Array(n);
  for (let j0 = 0; j0 < d; j0 += chunk) {
    const j1 = Math.min(d, j0 + chunk);
    const rows = new Int32Array((j1 - j0) * n);
    const cols = new Int32Array((j1 - j0) * n);
    for (let j = j0; j < j1; j++) {
      cols.fill(j, (j - j0) * n, (j - j0 + 1) * n);
      for (let i = 0; i < n; i++) rows[(j - j0) * n + i] = i;
    }
    const pred = predict(rows, cols);
    const obs = byColumn.rows(j0, j1);
    for (let j = j0; j < j1; j++) {
      const p0 = obs.rowPtr[j - j0]!;
      const p1 = obs.rowPtr[j - j0 + 1]!;
      for (let p = p0; p < p1; p++) seen[obs.colIdx[p]!] = 1;
      for (let i = 0; i < n; i++) {
        const v = pred[(j - j0) * n + i]!;
        if (seen[i] || !Number.isFinite(v)) continue;
        const base = i * per;
        let m = held[i]!;
        if (m === per && !(v > bestScore[base + per - 1]!)) continue;
        if (m < per) held[i] = ++m;
        // insert after every kept score >= v
        let q = m - 1;
        while (q > 0 && bestScore[base + q - 1]! < v) {
          bestScore[base + q] = bestScore[base + q - 1]!;
          bestCol[base + q] = bestCol[base + q - 1]!;
          q--;
        }
        bestScore[base + q] = v;
        bestCol[base + q] = j;
      }
      for (let p = p0; p < p1; p++) seen[obs.colIdx[p]!] = 0;
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += held[i]!;
  const out = { rows: new Int32Array(total), cols: new Int32Array(total), scores: new Float64Array(total), ranks: new Int32Array(total) };
  let e = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < held[i]!; r++, e++) {
      out.rows[e] = i;
      out.cols[e] = bestCol[i * per + r]!;
      out.scores[e] = bestScore[i * per + r]!;
      out.ranks[e] = r + 1;
    }
  }
  return out;
}
