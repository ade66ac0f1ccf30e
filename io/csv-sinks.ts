// The CSV loaders' record sinks: column selection and checks, key interning, and the triplets (kept,
// or handed over in batches) or pairs they build.

import type { Buffer } from 'node:buffer';
import { Errors, quote, type LinRfmError } from '../config/errors.ts';
import { ByteKeyMap } from './byte-key-map.ts';
import { streamedTriplets, type EntriesCallback, type Pairs, type Triplets } from './entries.ts';
import type { RecordSink } from './csv-scanner.ts';
import { parseDecimal } from './decimal.ts';
import { findDuplicatePair } from './duplicates.ts';
import { KeyDictionary } from './key-dictionary.ts';

function headerNames(fields: string[]): string {
  return fields.map((f) => quote(f, 40)).join(', ');
}

export class TripletSink implements RecordSink {
  allowDuplicates = false;
  /** The text NaN is read as NaN (see TripletColumns.nan), not refused. */
  allowNaN = false;
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
    let value = parseDecimal(src, start[2], end[2]);
    if (this.allowNaN && end[2] - start[2] === 3 && src.toString('latin1', start[2], end[2]) === 'NaN') value = Number.NaN;
    else if (!(value - value === 0)) {
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

export class PairSink implements RecordSink {
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
    private readonly keyNames?: { rowKey: string; colKey: string },
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
    const [r, c] = this.keyColumns(fields.map((f) => f.trim()));
    this.names = [fields[r]!.trim() || `column ${r + 1}`, fields[c]!.trim() || `column ${c + 1}`];
    const slotOf = new Int32Array(fields.length).fill(-1);
    slotOf[r] = 0;
    slotOf[c] = 1;
    return slotOf;
  }

  /**
   * The row and column key columns: found by the key names when the header has both, the first two
   * when it has neither; a header with one of them only, or one twice, could mean either and is refused.
   */
  private keyColumns(names: string[]): [number, number] {
    if (this.keyNames === undefined) return [0, 1];
    const { rowKey, colKey } = this.keyNames;
    const count = (n: string): number => names.filter((h) => h === n).length;
    const [nr, nc] = [count(rowKey), count(colKey)];
    if (nr === 1 && nc === 1) return [names.indexOf(rowKey), names.indexOf(colKey)];
    if (nr === 0 && nc === 0) return [0, 1];
    const why = nr > 1 || nc > 1
      ? `${quote(nr > 1 ? rowKey : colKey)} names more than one column`
      : `it names ${quote(nr === 1 ? rowKey : colKey)} but not ${quote(nr === 1 ? colKey : rowKey)}`;
    throw Errors.BadData(this.file, 'line 1', `ambiguous header (found ${headerNames(names)}): ${why}; name both key columns (--row-key, --col-key) or neither (then the first two are the row and the column)`);
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
