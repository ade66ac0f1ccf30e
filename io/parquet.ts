// Parquet sources and sink: (row, col, value) triplets and (row, col) pairs in, a table out, a row group at a time.

import { stat } from 'node:fs/promises';
import { Schema, tableFromIPC, Table } from 'apache-arrow';
import { Errors, LinRfmError } from '../config/errors.ts';
import { datasetFiles } from './dataset-files.ts';
import { entryStream, type PartitionFilter, type Pairs, type TripletColumns, type Triplets } from './entries.ts';
import { tripletColumnNames } from './csv.ts';
import type { KeyDictionary } from './key-dictionary.ts';
import { footerRowCount, pageIndexPatch } from './parquet-footer.ts';
import { PairSink, TripletSink, type BatchSink, type Dataset } from './parquet-sinks.ts';
import { ParquetDecodeError, ParquetRowGroupSource } from './parquet-source.ts';

/*
 * Locations in messages are `row group G, row R`, both 0-based as Parquet tools count them: R is
 * the row within its row group.
 */

/**
 * Reads (row, col, value) triplets from one Parquet file, a directory (its *.parquet files, sorted
 * by name, not recursing, as one dataset) or a list of those. Columns are found by name (default
 * row, col, value); keys may be integer, string or dictionary-encoded string columns and are kept as
 * their text, so the result equals readTripletsCsv on the same data; values may be any numeric type,
 * converted to float64. One row group is decoded at a time, on a worker thread. Rejects, naming file,
 * row group, row and column: unreadable files, missing or mistyped columns, null or empty keys, null
 * values, values that are not finite, a dataset with no rows at all, and a (row, col) pair given
 * twice (naming both places; not in streaming mode, see TripletColumns.onEntries).
 */
export async function readTripletsParquet(paths: string | string[], opts: TripletColumns = {}): Promise<Triplets> {
  const names = tripletColumnNames(opts);
  const stream = entryStream(opts);
  const dataset = await resolveDataset(paths, opts.partitions);
  const sink = new TripletSink(dataset, names, stream);
  sink.allowDuplicates = (opts.duplicates ?? 'error') !== 'error';
  sink.allowNaN = opts.nan === 'keep';
  if (opts.keys !== undefined) sink.useKeys(opts.keys);
  await scanDataset(dataset.files, sink, opts.onProgress);
  return sink.result();
}

/**
 * Reads (row, col) pairs to predict from Parquet (a file, directory or list, as readTripletsParquet)
 * and maps them through the training dictionaries without adding to them. The key columns are
 * `row` and `col` if the file has both, else its first two columns.
 */
export async function readPairsParquet(paths: string | string[], rowKeys: KeyDictionary, colKeys: KeyDictionary, keyNames?: { rowKey: string; colKey: string }): Promise<Pairs> {
  const dataset = await resolveDataset(paths);
  const sink = new PairSink(dataset, rowKeys, colKeys, keyNames);
  await scanDataset(dataset.files, sink);
  return sink.result();
}

export { writeTableParquetAtomic, type ParquetColumn } from './parquet-write.ts';

/**
 * The rows a Parquet file, directory or list declares in its footers, without reading any data;
 * null when a footer cannot be read (the full read then says what is wrong).
 */
export async function countParquetRows(paths: string | string[], filter?: PartitionFilter): Promise<number | null> {
  const dataset = await resolveDataset(paths, filter);
  let total = 0;
  for (const f of dataset.files) {
    const n = await footerRowCount(f).catch(() => null);
    if (n === null || n < 0) return null;
    total += n;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Dataset resolution and scanning

/** Spark, Hive and DuckDB mark metadata and in-progress files with a leading _ or .: never data. */

async function resolveDataset(paths: string | string[], filter?: PartitionFilter): Promise<Dataset> {
  const list = typeof paths === 'string' ? [paths] : paths;
  if (list.length === 0) throw Errors.Config('input', [], 'names no Parquet files');
  const files: string[] = [];
  for (const path of list) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (err) {
      throw openError(path, err);
    }
    if (!isDirectory) {
      files.push(path);
      continue;
    }
    let found: string[];
    try {
      found = datasetFiles(path, filter);
    } catch (err) {
      throw openError(path, err);
    }
    if (found.length === 0) {
      throw Errors.MissingInput(path, filter === undefined ? 'no *.parquet files in this directory' : `no *.parquet files under a ${filter.key}=${filter.values.join('|')} directory here (--filter)`);
    }
    files.push(...found);
  }
  const label = list.length === 1 ? list[0] : `${list[0]} (and ${list.length - 1} more)`;
  return { label, files };
}

function openError(path: string, err: unknown): LinRfmError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return Errors.MissingInput(path, 'no such file', { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return Errors.MissingInput(path, 'permission denied', { cause: err });
  const why = err instanceof Error ? err.message : String(err);
  return Errors.Io(path, `read failed: ${why}`, { cause: err });
}

/** Reports the rows read so far after each row group, with the file number and the file count. */
export type LoadProgress = (rowsRead: number, file: number, files: number) => void;

async function scanDataset(files: string[], sink: BatchSink, onProgress?: LoadProgress): Promise<void> {
  const source = new ParquetRowGroupSource();
  let rowsRead = 0;
  const counted = onProgress === undefined ? undefined : (rows: number, file: number): void => {
    rowsRead += rows;
    onProgress(rowsRead, file, files.length);
  };
  try {
    for (let f = 0; f < files.length; f++) await scanFile(source, files[f], f, sink, counted);
  } finally {
    await source.close();
  }
}

async function scanFile(
  source: ParquetRowGroupSource, file: string, fileIndex: number, sink: BatchSink, onRowGroup?: (rows: number, file: number) => void,
): Promise<void> {
  let opened;
  try {
    // No patch when the footer cannot be read or parsed: the decoder then says what is wrong in its own words.
    const patch = await pageIndexPatch(file).catch(() => null);
    opened = await source.open(file, patch);
  } catch (err) {
    throw unreadable(file, '', err);
  }
  let schema: Schema;
  try {
    schema = tableFromIPC(opened.schema).schema;
  } catch (err) {
    throw unreadable(file, '', err, 'its schema has no Arrow equivalent: ');
  }
  const names = sink.columns(file, schema);
  const groups: number[] = [];
  let rows = 0;
  opened.rowGroups.forEach((n, g) => {
    rows += n;
    if (n > 0) groups.push(g);
  });
  sink.startFile(fileIndex, rows);
  const read = (k: number): Promise<Uint8Array> | null => {
    if (k >= groups.length) return null;
    const p = source.read(groups[k], names);
    // Read-ahead may be abandoned when a row group before it fails; its rejection is not news.
    p.catch(() => undefined);
    return p;
  };
  let next = read(0);
  for (let k = 0; next !== null; k++) {
    const g = groups[k];
    let ipc: Uint8Array;
    try {
      ipc = await next;
    } catch (err) {
      throw unreadable(file, `row group ${g}`, err);
    }
    next = read(k + 1);
    let table: Table;
    try {
      table = tableFromIPC(ipc);
    } catch (err) {
      throw unreadable(file, `row group ${g}`, err, 'cannot convert to Arrow: ');
    }
    // The projection comes back in file order, not request order: look the columns up by name.
    const at = names.map((name) => table.schema.fields.findIndex((field) => field.name === name));
    let row = 0;
    for (const batch of table.batches) {
      const n = batch.numRows;
      if (n === 0) continue;
      sink.batch(fileIndex, g, row, at.map((i) => batch.data.children[i]), n);
      row += n;
    }
    if (row !== opened.rowGroups[g]) {
      throw Errors.BadData(file, `row group ${g}`, `not a readable Parquet file: the footer says ${opened.rowGroups[g]} rows, the data has ${row}`);
    }
    onRowGroup?.(row, fileIndex);
  }
}

function unreadable(file: string, where: string, err: unknown, prefix = ''): LinRfmError {
  if (err instanceof LinRfmError) return err;
  let why = err instanceof Error ? err.message : String(err);
  if (!(err instanceof ParquetDecodeError) && err instanceof Error && err.name !== 'Error') why = `${err.name}: ${why}`;
  return Errors.BadData(file, where, `not a readable Parquet file: ${prefix}${why}`);
}
