// A job's inputs: observed entries and pairs to predict from CSV or Parquet, the observed columns of
// each row for the outputs, and the fingerprint of an input for the report.

import { closeSync, openSync, readSync, statSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, resolve } from 'node:path';
import type { Duplicates } from '../config/settings.ts';
import { readPairsCsv, readTripletsCsv } from '../io/csv.ts';
import { datasetFiles } from '../io/dataset-files.ts';
import { type PartitionFilter, type Pairs, type TripletColumns, type Triplets } from '../io/entries.ts';
import { mergeDuplicatePairs } from '../io/duplicates.ts';
import type { KeyDictionary } from '../io/key-dictionary.ts';
import { readPairsParquet, readTripletsParquet } from '../io/parquet.ts';
import type { Csr } from '../engine/csr.ts';

/**
 * The observed columns of each row, a range of rows at a time: rows(r0, r1) gives rowPtr with
 * r1 - r0 + 1 positions into colIdx (row i's columns are colIdx[rowPtr[i - r0]..rowPtr[i - r0 + 1])).
 */
export interface ObservedRows {
  nRows: number;
  nCols: number;
  rows(r0: number, r1: number): { rowPtr: Int32Array; colIdx: Int32Array };
}

/** ObservedRows of a matrix in memory (views, no copies). */
export function observedOf(m: Csr): ObservedRows {
  // the index arrays only: the values are not kept alive for this
  const { rowPtr, colIdx } = m;
  return { nRows: m.nRows, nCols: m.nCols, rows: (r0, r1) => ({ rowPtr: rowPtr.subarray(r0, r1 + 1), colIdx }) };
}

/** Observed entries from CSV or Parquet; repeated pairs are an error, or merged (last value, or mean). */
export async function readObserved(
  input: string,
  columns: { rowKey: string; colKey: string; valueKey: string; delimiter?: string | undefined; partitions?: PartitionFilter | undefined },
  duplicates: Duplicates,
  onProgress?: TripletColumns['onProgress'],
): Promise<Triplets & { merged: number }> {
  const opts = { ...columns, duplicates, onProgress };
  const tri = isParquet(input) ? await readTripletsParquet(input, opts) : await readTripletsCsv(input, opts);
  if (duplicates === 'error') return { ...tri, merged: 0 };
  const m = mergeDuplicatePairs(tri.nnz, tri.rows, tri.cols, tri.values, tri.rowKeys.size, tri.colKeys.size, duplicates);
  // entries that repeated a pair and were merged into it
  return { ...tri, rows: m.rows, cols: m.cols, values: m.values, nnz: m.nnz, merged: tri.nnz - m.nnz };
}

/**
 * What identifies an input file or dataset for a report: size, modification time and a SHA-256 of
 * the first and last MiB of each file (hashing whole data-lake files would cost a full extra read).
 */
export function fingerprint(path: string, filter?: PartitionFilter): { file: string; bytes: number; modified: string; sha256HeadTail: string }[] {
  // a dataset's files as its reader lists them
  const files = statSync(path).isDirectory() ? datasetFiles(path, filter) : [path];
  return files.map((f) => {
    const st = statSync(f);
    const h = createHash('sha256');
    const fd = openSync(f, 'r');
    try {
      const chunk = Buffer.alloc(Math.min(st.size, 1 << 20));
      readSync(fd, chunk, 0, chunk.length, 0);
      h.update(chunk);
      if (st.size > 1 << 20) {
        const tail = Buffer.alloc(Math.min(st.size - (1 << 20), 1 << 20));
        readSync(fd, tail, 0, tail.length, st.size - tail.length);
        h.update(tail);
      }
    } finally {
      closeSync(fd);
    }
    return { file: resolve(f), bytes: st.size, modified: st.mtime.toISOString(), sha256HeadTail: h.digest('hex') };
  });
}

/** A .parquet file, or a directory (a Parquet dataset of part files). */
export function isParquet(path: string): boolean {
  if (extname(path).toLowerCase() === '.parquet') return true;
  return existsSync(path) && statSync(path).isDirectory();
}

/**
 * Pairs to predict. A CSV's key columns are found by the key names when its header has both (the
 * first two when it has neither); a Parquet file's by name as its reader does.
 */
export async function readPairs(path: string, rowKeys: KeyDictionary, colKeys: KeyDictionary, keyNames?: { rowKey: string; colKey: string; delimiter?: string | undefined }): Promise<Pairs> {
  return isParquet(path) ? readPairsParquet(path, rowKeys, colKeys, keyNames) : readPairsCsv(path, rowKeys, colKeys, keyNames);
}
