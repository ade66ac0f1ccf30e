// CSV sources and sink: (row, col, value) triplets to train on, (row, col) pairs to predict, atomic CSV output.

import { Errors } from '../config/errors.ts';
import { replaceFileAtomic, writeAll } from './atomic.ts';
import { scanCsvFile } from './csv-scanner.ts';
import { PairSink, TripletSink } from './csv-sinks.ts';
import type { KeyDictionary } from './key-dictionary.ts';

export interface Triplets {
  file: string;
  rowKeys: KeyDictionary;
  colKeys: KeyDictionary;
  /**
   * Entry i is (rows[i], cols[i]) = values[i], in file order; every array has exactly nnz elements,
   * except in streaming mode (TripletColumns.onEntries), where the entries went to the callback and
   * these are empty.
   */
  rows: Int32Array<ArrayBuffer>;
  cols: Int32Array<ArrayBuffer>;
  values: Float64Array<ArrayBuffer>;
  nnz: number;
  /** Streaming mode only: where the entry with a given ordinal came from, for the caller's messages. */
  locate?: EntryLocator;
}

/**
 * Turns an entry's ordinal (see TripletColumns.onEntries) into the file and the place in it, in the
 * same words the reader's own messages use: `line N` (CSV) or `row group G, row R` (Parquet).
 */
export type EntryLocator = (ordinal: number) => { file: string; where: string };

/** The entries of a streaming read, in file order; the arrays are reused, only the first n elements count. */
export type EntriesCallback = (rows: Int32Array, cols: Int32Array, values: Float64Array, ordinals: Float64Array, n: number) => void;

export interface TripletColumns {
  rowKey?: string;
  colKey?: string;
  valueKey?: string;
  /** A (row, col) pair given twice: an error (default), or kept for the caller to merge (io/duplicates.ts). */
  duplicates?: 'error' | 'last' | 'mean';
  /** Called as rows are read (Parquet: after each row group; CSV: after each read) with the rows so far, the file number and the file count. */
  onProgress?: (rowsRead: number, file: number, files: number) => void;
  /**
   * Streaming mode, for inputs too big to hold as one array: the reader buffers at most about
   * `streamEntries` entries and hands them over in file order, a buffer at a time. The arrays are
   * reused once the call returns, so the callback copies what it keeps; only the first n elements are
   * meaningful. ordinals[e] locates entry e for messages (Triplets.locate turns it into words): for
   * CSV its 1-based line number, for Parquet its 0-based entry index in dataset order. The result
   * then has empty rows, cols and values but the full nnz (entries delivered) and the dictionaries.
   * Duplicate pairs are not checked whatever `duplicates` says, since that needs all entries at once:
   * the caller checks them. Every other check stays, but an error may come after some entries were
   * delivered. An error the callback throws ends the read and is rethrown as is.
   */
  onEntries?: EntriesCallback;
  /** Entries buffered between onEntries calls (default 1 << 16); a Parquet batch bigger than this is handed over whole. */
  streamEntries?: number;
  /**
   * Dictionaries to intern the keys into instead of new ones: a second read of the same input (a
   * spilled load's) reuses the first's, so the keys are held once and get the same indices.
   */
  keys?: { rowKeys: KeyDictionary; colKeys: KeyDictionary };
}

/** What a streaming read returns: the keys and the count; the entries went to onEntries. */
export function streamedTriplets(
  file: string, keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary }, nnz: number, locate: EntryLocator,
): Triplets {
  const { rowKeys, colKeys } = keys;
  return { file, rowKeys, colKeys, rows: new Int32Array(0), cols: new Int32Array(0), values: new Float64Array(0), nnz, locate };
}

/** The streaming options of a triplet read, checked; null when entries are to be kept in memory. */
export function entryStream(opts: TripletColumns): { onEntries: EntriesCallback; size: number } | null {
  if (opts.onEntries === undefined) return null;
  const size = opts.streamEntries ?? 1 << 16;
  if (!Number.isSafeInteger(size) || size < 1) throw Errors.Config('streamEntries', size, 'must be a positive integer');
  return { onEntries: opts.onEntries, size };
}

export interface Pairs {
  file: string;
  /** The key text exactly as in the file, so output can echo it even for keys unseen in training. */
  rowText: string[];
  colText: string[];
  /** Dense index in the training dictionaries, or -1 for a key training never saw. */
  rows: Int32Array<ArrayBuffer>;
  cols: Int32Array<ArrayBuffer>;
  n: number;
}

/**
 * Reads a header-first CSV of (row, col, value) triplets, finding the three columns by name; other
 * columns are ignored. Rejects, with file and line: missing columns, ragged lines, empty keys,
 * values that are not finite numbers, and a (row, col) pair given twice (not in streaming mode).
 */
export async function readTripletsCsv(path: string, opts: TripletColumns = {}): Promise<Triplets> {
  const names = tripletColumnNames(opts);
  const stream = entryStream(opts);
  const allowDuplicates = (opts.duplicates ?? 'error') !== 'error';
  const progress = opts.onProgress;
  let made: TripletSink | undefined;
  let sink: TripletSink;
  try {
    sink = await scanCsvFile(
      path,
      (bytes) => {
        made = stream === null ? new TripletSink(path, names, estimateLines(bytes)) : new TripletSink(path, names, stream.size, stream);
        made.allowDuplicates = allowDuplicates;
        if (opts.keys !== undefined) made.useKeys(opts.keys);
        return made;
      },
      undefined,
      progress === undefined ? undefined : (lines) => progress(Math.max(0, lines - 1), 0, 1),
    );
  } catch (err) {
    // The scanner would report the callback's own error as a failed read of the file.
    if (made?.callbackFailure !== undefined) throw made.callbackFailure.error;
    throw err;
  }
  return sink.result();
}

/**
 * Reads a header-first CSV whose first two columns are row and col keys (names are free, later
 * columns are ignored) and maps them through the training dictionaries, without adding to them.
 */
export async function readPairsCsv(path: string, rowKeys: KeyDictionary, colKeys: KeyDictionary): Promise<Pairs> {
  const sink = await scanCsvFile(path, (bytes) => new PairSink(path, rowKeys, colKeys, estimateLines(bytes)));
  return sink.result();
}

/**
 * Writes header + rows as CSV to a temp file beside `path` and renames it into place, so readers
 * never see a half-written file and a failure (including `rows` throwing) leaves the old file as it was.
 */
export async function writeCsvAtomic(path: string, header: string[], rows: Iterable<(string | number)[]>): Promise<void> {
  // Chunks are awaited one at a time: that is the backpressure, and memory stays at one chunk however many rows.
  await replaceFileAtomic(path, async (fh) => {
    for (const chunk of csvChunks(header, rows)) await writeAll(fh, chunk);
  });
}

/** Triplet lines run ~10-40 bytes: 16 rarely regrows on short lines and result() trims the slack on long ones. */
function estimateLines(bytes: number): number {
  return Math.min(Math.max(Math.ceil(bytes / 16), 1024), 1 << 22);
}

/** The three column names of a triplet source (defaults row, col, value), checked non-empty and distinct. */
export function tripletColumnNames(opts: TripletColumns): { row: string; col: string; value: string } {
  const names = {
    row: columnOption('rowKey', opts.rowKey, 'row'),
    col: columnOption('colKey', opts.colKey, 'col'),
    value: columnOption('valueKey', opts.valueKey, 'value'),
  };
  if (names.col === names.row) throw Errors.Config('colKey', names.col, 'must differ from rowKey');
  if (names.value === names.row || names.value === names.col) {
    throw Errors.Config('valueKey', names.value, 'must differ from rowKey and colKey');
  }
  return names;
}

function columnOption(key: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') throw Errors.Config(key, value, 'must be a non-empty column name');
  return value.trim();
}


/** Rows are batched into ~256 KB strings: a write per row would cost more than the formatting. */
function* csvChunks(header: string[], rows: Iterable<(string | number)[]>): Generator<string> {
  const width = header.length;
  let chunk = csvLine(header);
  let index = 0;
  for (const row of rows) {
    index++;
    // A ragged row would make the file unreadable by our own reader, so fail while the old file is intact.
    if (row.length !== width) throw new RangeError(`row ${index} has ${row.length} fields, the header has ${width}`);
    chunk += csvLine(row);
    if (chunk.length >= 1 << 18) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

const NEEDS_QUOTES = /[",\r\n]/;

function csvLine(fields: readonly (string | number)[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (i > 0) line += ',';
    // String(number) is the shortest text that parses back to the same double, except that it drops -0's sign.
    if (typeof f === 'number') line += f === 0 && 1 / f < 0 ? '-0' : String(f);
    else line += NEEDS_QUOTES.test(f) ? `"${f.replaceAll('"', '""')}"` : f;
  }
  return line + '\n';
}
