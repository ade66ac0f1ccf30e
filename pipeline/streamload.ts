// A spilled load: observed entries from a file or dataset larger than memory, grouped by row into
// bucket files a chunk of rows at a time, centred, scaled and split there, and handed to the engine
// as prepared buckets. Only per-row and per-column arrays, the keys and one bucket are ever held.
//
// Passes: (1) read the input, interning keys and counting entries per row and column; (2) read it
// again, appending each entry to the bucket of its (oriented) row; then per bucket (3) sort rows and
// columns and settle repeated pairs; (4) fit the centering; (5) the scale; (6) the validation split,
// the run's digest and the plan's shape. Every sum runs in the order the in-memory load's does, so
// the engine gets the same prepared matrix to the bit and the run ends with the same bits.

import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { datasetFiles } from '../io/dataset-files.ts';
import { Errors } from '../config/errors.ts';
import { BucketWriter, readBucket } from '../io/buckets.ts';
import { readChunk, writeChunk } from '../io/chunks.ts';
import { readTripletsCsv } from '../io/csv.ts';
import type { EntriesCallback, PartitionFilter, TripletColumns, Triplets } from '../io/entries.ts';
import type { KeyDictionary } from '../io/key-dictionary.ts';
import { readTripletsParquet } from '../io/parquet.ts';
import { fitCenterEntries, offset, rowBiasesEntries, type Center, type CenterKind, type EntryVisitor } from '../engine/center.ts';
import { RunHasher } from '../engine/state.ts';
import type { EngineOptions } from '../engine/options.ts';
import type { RowShape } from './plan.ts';
import { isParquet } from './inputs.ts';
import { HoldOut, SquareSum } from '../engine/split.ts';
import type { OutlierPolicy } from '../config/settings.ts';
import { findOutliers, type OutlierReport } from './outliers.ts';
import { duplicateError, ObservedBuckets, sortBucket, type RowBucket } from './bucketrows.ts';
import { makeDir, onExit, removeMadeDirs } from './workdir.ts';

/** A row range of the oriented matrix in one file (Arrow IPC, the spill chunk format). */
/** What the engine takes from a spilled load: the prepared matrix in buckets of rows, and its shape. */
export interface PreparedBuckets {
  transposed: boolean;
  scale: number;
  n: number;
  d: number;
  nTrain: number;
  nVal: number;
  maxRow: number;
  shape: RowShape;
  /** The split was drawn with these; a run must use the same. */
  validationFraction: number;
  seed: number;
  /** runId of the prepared matrix under `opts` (see RunHasher). */
  digest(opts: EngineOptions): string;
  /** Oriented rows, scaled, with the held-out entries marked, bucket after bucket in ascending rows. */
  buckets: RowBucket[];
  /** The engine has copied bucket b into its chunks: its file can go. */
  consumed(b: RowBucket): void;
  /** Removes the bucket files. */
  dispose(): void;
}

export interface StreamLoadOptions {
  input: string;
  columns: { rowKey: string; colKey: string; valueKey: string; delimiter?: string | undefined; partitions?: PartitionFilter | undefined };
  duplicates: 'error' | 'last' | 'mean';
  center: CenterKind;
  /** Values far from the bulk (pipeline/outliers.ts): kept (the default), clipped or refused. */
  outliers?: OutlierPolicy;
  outlierLimit?: number;
  /** The work directory for the bucket files. */
  dir: string;
  /** Entries a bucket holds at most (a row longer than that gets a bucket alone). */
  bucketEntries: number;
  validationFraction: number;
  seed: number;
  /** Rows read so far in pass `pass` (1: counting, 2: grouping). */
  onRows?: (pass: 1 | 2, rows: number, file: number, files: number) => void;
  /** A step of the per-bucket passes begins. */
  onStep?: (step: string) => void;
  /** After the first pass: the input's rows, columns and entries (before merging repeats); may throw to refuse the job. */
  onCounted?: (nRows: number, nCols: number, entries: number) => void;
  /** Called between batches and buckets; throws to stop the load (a signal), which then removes its files. */
  checkInterrupt?: () => void;
  /** Keep the sorted rows for observedRows (top-k, the full matrix); without, they go once prepared. */
  keepRows: boolean;
}

export interface StreamLoad {
  rowKeys: KeyDictionary;
  colKeys: KeyDictionary;
  /** The input's rows and columns (before orienting). */
  nRows: number;
  nCols: number;
  /** Distinct observed pairs (after merging repeats). */
  nnz: number;
  /** Entries that repeated a pair and were merged into it. */
  merged: number;
  center: Center;
  /** Row biases of the input's rows (zeros unless bias centering). */
  rowBias: Float64Array;
  outliers: OutlierReport;
  prepared: PreparedBuckets;
  /** The observed entries of oriented rows [r0, r1) (a CSR of those rows): input rows, or input columns when transposed. */
  observedRows(r0: number, r1: number): { rowPtr: Int32Array; colIdx: Int32Array };
  /** Removes every file of the load. */
  dispose(): void;
}

/** Loads `o.input` through bucket files in `o.dir` (see the file comment). */
export async function streamLoad(o: StreamLoadOptions): Promise<StreamLoad> {
  const files: string[] = [];
  // removed again at the end if left empty
  const created = makeDir(o.dir);
  const cleanup = (): void => {
    forget();
    for (const f of files) rmSync(f, { force: true });
    removeMadeDirs(o.dir, created);
  };
  // a second signal exits at once: what the load still holds on disk goes with the process
  const forget = onExit(cleanup);
  removeStale(o.dir);
  try {
    return await load(o, files, cleanup);
  } catch (err) {
    cleanup();
    throw err;
  }
}

async function load(o: StreamLoadOptions, files: string[], cleanup: () => void): Promise<StreamLoad> {
  const parquet = isParquet(o.input);
  const read = (pass: 1 | 2, onEntries: EntriesCallback, keys?: TripletColumns['keys']): Promise<Triplets> => {
    const opts: TripletColumns = {
      ...o.columns,
      duplicates: o.duplicates,
      onEntries,
      keys,
      onProgress: o.onRows === undefined ? undefined : (rows, file, count) => o.onRows!(pass, rows, file, count),
    };
    return parquet ? readTripletsParquet(o.input, opts) : readTripletsCsv(o.input, opts);
  };

  const before = inputStamp(o.input, o.columns.partitions);
  // (1) keys and counts
  let rowCount = new Int32Array(1024);
  let colCount = new Int32Array(1024);
  const first = await read(1, (rows, cols, _values, _ord, n) => {
    o.checkInterrupt?.();
    for (let e = 0; e < n; e++) {
      const r = rows[e]!;
      const c = cols[e]!;
      if (r >= rowCount.length) rowCount = grow(rowCount, r);
      if (c >= colCount.length) colCount = grow(colCount, c);
      rowCount[r]!++;
      colCount[c]!++;
    }
  });
  const nRows = first.rowKeys.size;
  const nCols = first.colKeys.size;
  const transposed = nCols > nRows;
  const n = transposed ? nCols : nRows;
  const d = transposed ? nRows : nCols;
  const perRow = (transposed ? colCount : rowCount).subarray(0, n);

  // bucket boundaries: whole rows, up to bucketEntries entries each
  const starts: number[] = [0];
  let acc = 0;
  for (let i = 0; i < n; i++) {
    if (acc > 0 && acc + perRow[i]! > o.bucketEntries) {
      starts.push(i);
      acc = 0;
    }
    acc += perRow[i]!;
  }
  starts.push(n);
  const nb = starts.length - 1;
  const bucketOf = (i: number): number => {
    let lo = 0;
    let hi = nb - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  // (2) group by row
  const writer = new BucketWriter(o.dir, nb, Math.max(64, Math.min(1 << 16, Math.floor((64 << 20) / (24 * nb)))), 'load');
  files.push(...writer.paths);
  o.onCounted?.(nRows, nCols, first.nnz);
  const second = await read(2, (rows, cols, values, ordinals, nEntries) => {
    o.checkInterrupt?.();
    for (let e = 0; e < nEntries; e++) {
      const r = transposed ? cols[e]! : rows[e]!;
      const c = transposed ? rows[e]! : cols[e]!;
      if (r >= n || c >= d) throw inputChanged(o.input);
      const b = bucketOf(r);
      writer.add(b, r - starts[b]!, c, values[e]!, ordinals[e]!);
    }
  }, first);
  writer.finish();
  writer.release();
  // the second read interned into the first's dictionaries: a key it had not seen grew them
  if (second.rowKeys.size !== nRows || second.colKeys.size !== nCols || second.nnz !== first.nnz || inputStamp(o.input, o.columns.partitions) !== before) {
    throw inputChanged(o.input);
  }

  // (3) sort each bucket's rows and columns, settle repeated pairs
  o.onStep?.('sorting');
  const buckets: RowBucket[] = [];
  const rowLen = new Int32Array(n);
  const colLen = new Float64Array(d);
  let twin: { earlier: number; later: number; r: number; c: number } | null = null;
  let nnz = 0;
  for (let b = 0; b < nb; b++) {
    o.checkInterrupt?.();
    const raw = readBucket(writer.paths[b]!, writer.counts[b]!);
    rmSync(writer.paths[b]!, { force: true });
    const sorted = sortBucket(raw, starts[b + 1]! - starts[b]!, d, o.duplicates);
    if (sorted.twin !== null && (twin === null || sorted.twin.later < twin.later)) {
      twin = { ...sorted.twin, r: sorted.twin.row + starts[b]! };
    }
    const path = join(o.dir, `rows-${String(b).padStart(5, '0')}.arrow`);
    files.push(path);
    writeChunk(path, { row: sorted.row, col: sorted.col, value: sorted.value, held: new Uint8Array(sorted.row.length) });
    for (let p = 0; p < sorted.row.length; p++) {
      rowLen[starts[b]! + sorted.row[p]!]!++;
      colLen[sorted.col[p]!]!++;
    }
    nnz += sorted.row.length;
    buckets.push({ r0: starts[b]!, r1: starts[b + 1]!, path, nnz: sorted.row.length });
  }
  if (twin !== null) throw duplicateError(o, first.locate!, twin, transposed, first.rowKeys, first.colKeys);
  if (nnz === 0) throw Errors.BadData(o.input, 'line 2', 'no observed entries');

  // the buckets' entries in oriented order, with the input's (i, j)
  const eachBucket = (visit: (b: RowBucket, e: { row: Int32Array; col: Int32Array; value: Float64Array; held: Uint8Array }) => void): void => {
    for (const b of buckets) {
      o.checkInterrupt?.();
      visit(b, readChunk(b.path, b.nnz));
    }
  };
  const rawEntries: EntryVisitor = (visit) => eachBucket((b, e) => {
    for (let p = 0; p < b.nnz; p++) {
      const i = b.r0 + e.row[p]!;
      const j = e.col[p]!;
      if (transposed) visit(j, i, e.value[p]!);
      else visit(i, j, e.value[p]!);
    }
  });
  // outliers: found as the load in memory finds them, and clipped on every later read of a value
  o.onStep?.('outliers');
  const { report: outliers, clip } = findOutliers(rawEntries, nnz, o.outliers ?? 'keep', o.outlierLimit ?? 50, o.input, (i, j) => [first.rowKeys.key(i), first.colKeys.key(j)]);
  const valueOf = clip ?? ((v: number): number => v);
  const entries: EntryVisitor = clip === null ? rawEntries : (visit) => rawEntries((i, j, v) => visit(i, j, clip(v)));

  // (4) centering
  o.onStep?.('centering');
  const center = fitCenterEntries(entries, nRows, nCols, o.center);
  const rowBias = rowBiasesEntries(entries, nRows, center, new Float64Array(nRows));
  const centred = (i: number, j: number, v: number): number => valueOf(v) - (transposed ? offset(center, rowBias, j, i) : offset(center, rowBias, i, j));

  // (5) scale
  const squares = new SquareSum();
  eachBucket((b, e) => {
    for (let p = 0; p < b.nnz; p++) squares.add(centred(b.r0 + e.row[p]!, e.col[p]!, e.value[p]!));
  });
  const scale = squares.rms(nnz, 'the observed values after centering');

  // (6) split, digest, shape; the prepared buckets replace the sorted ones
  o.onStep?.('splitting');
  const hold = new HoldOut(colLen, nnz, o.validationFraction, o.seed);
  const hasher = new RunHasher(n, d, transposed);
  const trainLen = new Int32Array(n);
  const valStart = new Float64Array(n + 1);
  const colCost = new Float64Array(d).fill(16);
  let maxRow = 0;
  const prepared: RowBucket[] = [];
  for (const b of buckets) {
    o.checkInterrupt?.();
    const e = readChunk(b.path, b.nnz);
    const col = e.col.slice();
    const value = new Float64Array(b.nnz);
    const held = new Uint8Array(b.nnz);
    for (let p = 0; p < b.nnz; p++) value[p] = centred(b.r0 + e.row[p]!, col[p]!, e.value[p]!) / scale;
    let p0 = 0;
    for (let i = b.r0; i < b.r1; i++) {
      const p1 = p0 + rowLen[i]!;
      hold.row(i, col, p0, p1, held);
      hasher.row(col, value, held, p0, p1);
      let k = 0;
      for (let p = p0; p < p1; p++) if (held[p] === 0) k++;
      trainLen[i] = k;
      valStart[i + 1] = valStart[i]! + (p1 - p0 - k);
      for (let p = p0; p < p1; p++) if (held[p] === 0) colCost[col[p]!]! += 2 * k;
      maxRow = Math.max(maxRow, p1 - p0);
      p0 = p1;
    }
    const path = join(o.dir, `prepared-${basename(b.path)}`);
    files.push(path);
    writeChunk(path, { row: e.row.slice(), col, value, held });
    prepared.push({ r0: b.r0, r1: b.r1, path, nnz: b.nnz });
    if (!o.keepRows) rmSync(b.path, { force: true });
  }
  const nVal = valStart[n]!;
  const observed = new ObservedBuckets(buckets, rowLen);
  const preparedFiles = prepared.map((b) => b.path);
  const result: StreamLoad = {
    rowKeys: first.rowKeys,
    colKeys: first.colKeys,
    nRows,
    nCols,
    nnz,
    merged: first.nnz - nnz,
    center,
    rowBias,
    outliers,
    prepared: {
      transposed, scale, n, d, nTrain: nnz - nVal, nVal, maxRow,
      shape: { n, d, trainLen, valStart, colCost },
      validationFraction: o.validationFraction,
      seed: o.seed,
      digest: (opts) => hasher.digest(opts),
      consumed: (b) => rmSync(b.path, { force: true }),
      buckets: prepared,
      dispose: () => {
        for (const f of preparedFiles) rmSync(f, { force: true });
      },
    },
    observedRows: (r0, r1) => {
      if (!o.keepRows) throw new RangeError('observedRows: the load was told not to keep its rows');
      return observed.rows(r0, r1);
    },
    dispose: cleanup,
  };
  return result;
}

/** Names, sizes and modification times of the input's files: a file rewritten between the two reads changes it. */
function inputStamp(input: string, partitions?: PartitionFilter): string {
  try {
    const st = statSync(input);
    if (!st.isDirectory()) return `${st.size}:${st.mtimeMs}`;
    return datasetFiles(input, partitions)
      .map((f) => {
        const fs = statSync(f);
        return `${f}:${fs.size}:${fs.mtimeMs}`;
      }).join('|');
  } catch {
    return 'unreadable';
  }
}

function inputChanged(input: string): Error {
  return Errors.BadData(input, 'file', 'the input changed between the two reads of a spilled load');
}

function grow(a: Int32Array<ArrayBuffer>, index: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(Math.max(index + 1, 2 * a.length));
  out.set(a);
  return out;
}


/** Files of an earlier spilled load that was killed (kill -9, a second signal) before it could remove them. */
function removeStale(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (/^(load-\d+\.bin|rows-\d+\.arrow|prepared-rows-\d+\.arrow)(\.tmp-.*)?$/.test(f)) rmSync(join(dir, f), { force: true });
  }
}
