// CSV sources and sink: (row, col, value) triplets to train on, (row, col) pairs to predict, atomic CSV output.

import type { Buffer } from 'node:buffer';
import { Errors, quote, type LinRfmError } from '../config/errors.ts';
import { replaceFileAtomic, writeAll } from './atomic.ts';
import { ByteKeyMap } from './byte-key-map.ts';
import { scanCsvFile, type RecordSink } from './csv-scanner.ts';
import { parseDecimal } from './decimal.ts';
import { findDuplicatePair } from './duplicates.ts';
import { KeyDictionary } from './keys.ts';

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

function headerNames(fields: string[]): string {
  return fields.map((f) => quote(f, 40)).join(', ');
}

class TripletSink implements RecordSink {
  allowDuplicates = false;
  /** Set when onEntries threw, so the reader can rethrow that error rather than the scanner's wrapping of it. */
  callbackFailure: { error: unknown } | undefined;
  readonly expectedHeader: string;
  private rowKeys = new KeyDictionary();
  private colKeys = new KeyDictionary();
  /** Raw key bytes -> dictionary index, so a repeated key costs a hash of its bytes, not a string. */
  private readonly rowBytes = new ByteKeyMap();
  private readonly colBytes = new ByteKeyMap();
  private rows: Int32Array<ArrayBuffer>;
  private cols: Int32Array<ArrayBuffer>;
  private values: Float64Array<ArrayBuffer>;
  /** Line of each entry, kept only so a duplicate can name where its twin was. */
  private lines: Int32Array<ArrayBuffer>;
  /** Streaming mode: the line of each buffered entry, as a double since a file too big for memory may pass 2^31 lines. */
  private readonly ordinals: Float64Array<ArrayBuffer> | null;
  /** Entries held; in streaming mode, the buffer's count. */
  private nnz = 0;
  /** Streaming mode: entries handed over so far. */
  private delivered = 0;
  /** The count at which the buffer is handed over; -1 (never) when not streaming. */
  private readonly flushAt: number;

  /** With `stream`, capacity is its buffer size and the entries go to its callback. */
  constructor(
    private readonly file: string,
    private readonly names: { row: string; col: string; value: string },
    capacity: number,
    private readonly stream: { onEntries: EntriesCallback; size: number } | null = null,
  ) {
    this.expectedHeader = `columns ${quote(names.row)}, ${quote(names.col)}, ${quote(names.value)}`;
    this.rows = new Int32Array(capacity);
    this.cols = new Int32Array(capacity);
    this.values = new Float64Array(capacity);
    this.lines = new Int32Array(stream === null ? capacity : 0);
    this.ordinals = stream === null ? null : new Float64Array(capacity);
    this.flushAt = stream === null ? -1 : capacity;
  }

  /** Interns into these dictionaries (before the first record). */
  useKeys(keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary }): void {
    this.rowKeys = keys.rowKeys;
    this.colKeys = keys.colKeys;
  }

  header(fields: string[]): Int32Array {
    const slotOf = new Int32Array(fields.length).fill(-1);
    const wanted = [this.names.row, this.names.col, this.names.value];
    for (let slot = 0; slot < wanted.length; slot++) {
      const name = wanted[slot];
      let at = -1;
      for (let f = 0; f < fields.length; f++) {
        if (fields[f].trim() !== name) continue;
        if (at >= 0) {
          throw Errors.BadData(this.file, `line 1, column ${quote(name)}`, `column appears twice in the header (fields ${at + 1} and ${f + 1})`);
        }
        at = f;
      }
      if (at < 0) {
        throw Errors.BadData(
          this.file,
          `line 1, column ${quote(name)}`,
          `header has no column ${quote(name)} (found ${headerNames(fields)}); the first line must be a header naming the columns`,
        );
      }
      slotOf[at] = slot;
    }
    return slotOf;
  }

  record(src: Buffer, start: Int32Array, end: Int32Array, line: number): void {
    const rs = start[0];
    const re = end[0];
    const cs = start[1];
    const ce = end[1];
    if (rs === re) throw emptyKey(this.file, line, this.names.row);
    if (cs === ce) throw emptyKey(this.file, line, this.names.col);
    const value = parseDecimal(src, start[2], end[2]);
    if (!(value - value === 0)) {
      throw Errors.BadData(
        this.file,
        `line ${line}, column ${quote(this.names.value)}`,
        `not a finite number: ${quote(src.toString('utf8', start[2], end[2]))}`,
      );
    }
    const r = internKey(this.rowBytes, this.rowKeys, src, rs, re);
    const c = internKey(this.colBytes, this.colKeys, src, cs, ce);
    const i = this.nnz;
    if (i === this.rows.length) this.grow();
    this.rows[i] = r;
    this.cols[i] = c;
    this.values[i] = value;
    if (this.ordinals === null) this.lines[i] = line;
    else this.ordinals[i] = line;
    this.nnz = i + 1;
    if (this.nnz === this.flushAt) this.flush();
  }

  result(): Triplets {
    if (this.stream !== null) return this.streamResult();
    const nnz = this.nnz;
    // Checked once after loading rather than per line: see findDuplicatePair for why.
    const twins = this.allowDuplicates ? null : findDuplicatePair(this.rowKeys.size, this.colKeys.size, nnz, this.rows, this.cols);
    if (twins !== null) {
      const [earlier, later] = twins;
      const row = this.rowKeys.key(this.rows[later]);
      const col = this.colKeys.key(this.cols[later]);
      throw Errors.BadData(
        this.file,
        `line ${this.lines[later]}`,
        `duplicate pair (${this.names.row} ${quote(row)}, ${this.names.col} ${quote(col)}), first seen at line ${this.lines[earlier]}`,
      );
    }
    // slice, not subarray: exact-size buffers so the slack is freed and the arrays can be transferred whole.
    return {
      file: this.file,
      rowKeys: this.rowKeys,
      colKeys: this.colKeys,
      rows: this.rows.slice(0, nnz),
      cols: this.cols.slice(0, nnz),
      values: this.values.slice(0, nnz),
      nnz,
    };
  }

  /** Streaming mode: hands the rest over; the entries are gone, so no duplicate check (the caller's job). */
  private streamResult(): Triplets {
    if (this.nnz > 0) this.flush();
    const file = this.file;
    return streamedTriplets(file, { rowKeys: this.rowKeys, colKeys: this.colKeys }, this.delivered, (ordinal) => ({ file, where: `line ${ordinal}` }));
  }

  private flush(): void {
    const n = this.nnz;
    try {
      this.stream!.onEntries(this.rows, this.cols, this.values, this.ordinals!, n);
    } catch (err) {
      this.callbackFailure = { error: err };
      throw err;
    }
    this.delivered += n;
    this.nnz = 0;
  }

  /** Never called in streaming mode: the buffer is handed over when full. */
  private grow(): void {
    const cap = this.rows.length * 2;
    this.rows = growInt32(this.rows, cap);
    this.cols = growInt32(this.cols, cap);
    this.lines = growInt32(this.lines, cap);
    const values = new Float64Array(cap);
    values.set(this.values);
    this.values = values;
  }
}

class PairSink implements RecordSink {
  readonly expectedHeader = 'at least two columns (row key, col key)';
  private readonly rowBytes = new ByteKeyMap();
  private readonly colBytes = new ByteKeyMap();
  private readonly rowText: string[] = [];
  private readonly colText: string[] = [];
  private rows: Int32Array<ArrayBuffer>;
  private cols: Int32Array<ArrayBuffer>;
  private n = 0;
  private names = ['', ''];

  constructor(
    private readonly file: string,
    private readonly rowKeys: KeyDictionary,
    private readonly colKeys: KeyDictionary,
    capacity: number,
  ) {
    this.rows = new Int32Array(capacity);
    this.cols = new Int32Array(capacity);
  }

  header(fields: string[]): Int32Array {
    if (fields.length < 2) {
      throw Errors.BadData(
        this.file,
        'line 1, column 2',
        `header has ${fields.length} column (found ${headerNames(fields)}); expected the row and col key columns first`,
      );
    }
    this.names = [fields[0].trim() || 'column 1', fields[1].trim() || 'column 2'];
    const slotOf = new Int32Array(fields.length).fill(-1);
    slotOf[0] = 0;
    slotOf[1] = 1;
    return slotOf;
  }

  record(src: Buffer, start: Int32Array, end: Int32Array, line: number): void {
    if (start[0] === end[0]) throw emptyKey(this.file, line, this.names[0]);
    if (start[1] === end[1]) throw emptyKey(this.file, line, this.names[1]);
    const i = this.n;
    if (i === this.rows.length) {
      this.rows = growInt32(this.rows, i * 2);
      this.cols = growInt32(this.cols, i * 2);
    }
    // The map caches the decoded text per distinct key: one string per key, not one per line.
    const re = lookupKey(this.rowBytes, this.rowKeys, src, start[0], end[0]);
    const ce = lookupKey(this.colBytes, this.colKeys, src, start[1], end[1]);
    this.rows[i] = this.rowBytes.value(re);
    this.cols[i] = this.colBytes.value(ce);
    this.rowText.push(this.rowBytes.text(re));
    this.colText.push(this.colBytes.text(ce));
    this.n = i + 1;
  }

  result(): Pairs {
    const n = this.n;
    return {
      file: this.file,
      rowText: this.rowText,
      colText: this.colText,
      rows: this.rows.slice(0, n),
      cols: this.cols.slice(0, n),
      n,
    };
  }
}

/** Dictionary index of the key in src[start..end), adding it to both the byte map and the dictionary if new. */
function internKey(bytes: ByteKeyMap, dict: KeyDictionary, src: Buffer, start: number, end: number): number {
  const entry = bytes.find(src, start, end);
  if (entry >= 0) return bytes.value(entry);
  const text = src.toString('utf8', start, end);
  return bytes.value(bytes.add(src, start, end, dict.intern(text), text));
}

/** Byte-map entry for the key in src[start..end); its value is the dictionary index, or -1 if the dictionary lacks it. */
function lookupKey(bytes: ByteKeyMap, dict: KeyDictionary, src: Buffer, start: number, end: number): number {
  const entry = bytes.find(src, start, end);
  if (entry >= 0) return entry;
  const text = src.toString('utf8', start, end);
  const index = dict.get(text);
  // A known key reuses the dictionary's string so equal keys share one string.
  return bytes.add(src, start, end, index, index >= 0 ? dict.key(index) : text);
}

function emptyKey(file: string, line: number, column: string): LinRfmError {
  return Errors.BadData(file, `line ${line}, column ${quote(column)}`, 'empty key');
}

function growInt32(a: Int32Array<ArrayBuffer>, cap: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
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
