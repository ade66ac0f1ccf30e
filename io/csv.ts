// CSV sources and sink: (row, col, value) triplets to train on, (row, col) pairs to predict, atomic CSV output.

import { Errors } from '../config/errors.ts';
import { replaceFileAtomic, writeAll } from './atomic.ts';
import { scanCsvFile, separatorOf } from './csv-scanner.ts';
import { PairSink, TripletSink } from './csv-sinks.ts';
import type { KeyDictionary } from './key-dictionary.ts';
import { entryStream, type Pairs, type TripletColumns, type Triplets } from './entries.ts';

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
        made.allowNaN = opts.nan === 'keep';
        if (opts.keys !== undefined) made.useKeys(opts.keys);
        return made;
      },
      undefined,
      progress === undefined ? undefined : (lines) => progress(Math.max(0, lines - 1), 0, 1),
      separatorOf(path, opts.delimiter),
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
export async function readPairsCsv(path: string, rowKeys: KeyDictionary, colKeys: KeyDictionary, keyNames?: { rowKey: string; colKey: string; delimiter?: string | undefined }): Promise<Pairs> {
  const sink = await scanCsvFile(path, (bytes) => new PairSink(path, rowKeys, colKeys, estimateLines(bytes), keyNames), undefined, undefined, separatorOf(path, keyNames?.delimiter));
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
