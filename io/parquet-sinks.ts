// The batch sinks of the Parquet loaders: column selection and checks, key mapping, and the triplets or pairs they build.

import { Schema, Field, type Data } from 'apache-arrow';
import { Errors, quote } from '../config/errors.ts';
import { streamedTriplets, type EntriesCallback, type Pairs, type Triplets } from './entries.ts';
import { findDuplicatePair } from './duplicates.ts';
import { KeyDictionary } from './key-dictionary.ts';
import { KEY_TYPES, KeyColumnMapper, VALUE_TYPES, firstNull, isValueType, keyKind, readValues, typeName } from './parquet-columns.ts';

/*
 * Locations in messages are `row group G, row R`, both 0-based as Parquet tools count them: R is
 * the row within its row group.
 */

// ---------------------------------------------------------------------------------------------
// What io/parquet.ts scanDataset feeds

export interface Dataset {
  /** What the result's `file` says: the path given, or the first of a list and how many more. */
  label: string;
  files: string[];
}

/** What a loader does with the dataset's batches. */
export interface BatchSink {
  /** Chooses the columns of a file, in the order batch() wants them; throws BadData if it cannot. */
  columns(file: string, schema: Schema): string[];
  /** Called once per file before its batches, with its total row count. */
  startFile(file: number, rows: number): void;
  /** One batch: `columns` in the order columns() gave, n rows, the first being row `row` of row group `rowGroup`. */
  batch(file: number, rowGroup: number, row: number, columns: Data[], n: number): void;
}

// ---------------------------------------------------------------------------------------------
// Column selection

function fieldNames(schema: Schema): string {
  const names = schema.fields.map((f) => quote(f.name, 40));
  return names.length > 20 ? `${names.slice(0, 20).join(', ')}, ... (${names.length} in all)` : names.join(', ');
}

/** The field named `name`, checked to be a key (or value) column. */
function findField(file: string, schema: Schema, name: string, role: 'key' | 'value'): Field {
  const matches = schema.fields.filter((f) => f.name === name);
  if (matches.length === 0) {
    throw Errors.BadData(file, `column ${quote(name)}`, `no column ${quote(name)} (found ${fieldNames(schema)})`);
  }
  if (matches.length > 1) throw Errors.BadData(file, `column ${quote(name)}`, 'column appears twice in the schema');
  checkType(file, matches[0], role);
  return matches[0];
}

function checkType(file: string, field: Field, role: 'key' | 'value'): void {
  const ok = role === 'key' ? keyKind(field.type) !== null : isValueType(field.type);
  if (!ok) {
    const expected = role === 'key' ? `a key column must be ${KEY_TYPES}` : `the value column must be ${VALUE_TYPES}`;
    throw Errors.BadData(file, `column ${quote(field.name)}`, `has type ${typeName(field.type)}; ${expected}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Loaders

/** Where each batch's entries came from, so an entry index can be turned back into a location. */
class Locations {
  private readonly firstEntry: number[] = [];
  private readonly file: number[] = [];
  private readonly rowGroup: number[] = [];
  private readonly row: number[] = [];

  add(entry: number, file: number, rowGroup: number, row: number): void {
    this.firstEntry.push(entry);
    this.file.push(file);
    this.rowGroup.push(rowGroup);
    this.row.push(row);
  }

  /** [file index, row group, row] of entry e. */
  find(e: number): [number, number, number] {
    let lo = 0;
    let hi = this.firstEntry.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.firstEntry[mid] <= e) lo = mid;
      else hi = mid - 1;
    }
    return [this.file[lo], this.rowGroup[lo], this.row[lo] + (e - this.firstEntry[lo])];
  }
}

/** Index of the first failing row among candidates (-1 = none), so errors come in row order like the CSV reader's. */
function earliest(...rows: number[]): number {
  let best = -1;
  for (const r of rows) if (r >= 0 && (best < 0 || r < best)) best = r;
  return best;
}

export class TripletSink implements BatchSink {
  allowDuplicates = false;
  /** A NaN value is read as NaN (see TripletColumns.nan), not refused. */
  allowNaN = false;
  private rowKeys = new KeyDictionary();
  private colKeys = new KeyDictionary();
  private readonly rowMapper = new KeyColumnMapper((text) => this.rowKeys.intern(text));
  private readonly colMapper = new KeyColumnMapper((text) => this.colKeys.intern(text));
  private rows = new Int32Array(0);
  private cols = new Int32Array(0);
  private values = new Float64Array(0);
  /** Streaming mode: the global entry index of each buffered entry, filled when handed over. */
  private ordinals = new Float64Array(0);
  /** Entries held; in streaming mode, the buffer's count. */
  private nnz = 0;
  /** Streaming mode: entries handed over so far, so buffer position + delivered is the global entry index. */
  private delivered = 0;
  /** Keyed by global entry index in both modes (the same thing when nothing is handed over). */
  private readonly where = new Locations();

  /** With `stream`, entries are buffered up to its size (or one batch, if bigger) and handed to its callback. */
  constructor(
    private readonly dataset: Dataset,
    private readonly names: { row: string; col: string; value: string },
    private readonly stream: { onEntries: EntriesCallback; size: number } | null = null,
  ) {}

  /** Interns into these dictionaries (before the first batch). */
  useKeys(keys: { rowKeys: KeyDictionary; colKeys: KeyDictionary }): void {
    this.rowKeys = keys.rowKeys;
    this.colKeys = keys.colKeys;
  }

  columns(file: string, schema: Schema): string[] {
    return [
      findField(file, schema, this.names.row, 'key').name,
      findField(file, schema, this.names.col, 'key').name,
      findField(file, schema, this.names.value, 'value').name,
    ];
  }

  startFile(_file: number, rows: number): void {
    // Streaming: the buffer is sized by batch() instead, never by the file.
    if (this.stream !== null) return;
    // Exact for one file, so a single-file load never copies; a dataset grows geometrically past that.
    const need = this.nnz + rows;
    if (need > this.rows.length) this.grow(this.rows.length === 0 ? need : Math.max(need, Math.ceil(this.rows.length * 1.5)));
  }

  batch(file: number, rowGroup: number, row: number, [rowData, colData, valueData]: Data[], n: number): void {
    let at = this.nnz;
    if (at + n > this.rows.length) {
      if (this.stream === null) this.grow(Math.max(at + n, this.rows.length * 2));
      else {
        // Hand over what is held rather than grow: the buffer never exceeds max(streamEntries, largest batch).
        if (at > 0) {
          this.flush();
          at = 0;
        }
        if (n > this.rows.length) this.grow(Math.max(n, this.stream.size));
      }
    }
    const path = this.dataset.files[file];
    const where = (i: number, column: string): string => `row group ${rowGroup}, row ${row + i}, column ${quote(column)}`;
    const nullRow = earliest(firstNull(rowData, n), firstNull(colData, n), firstNull(valueData, n));
    // Rows before the first null are checked as usual, so whatever is wrong first is what is reported.
    const m = nullRow >= 0 ? nullRow : n;
    const badRow = this.rowMapper.map(rowData, m, this.rows, at);
    const badCol = this.colMapper.map(colData, m, this.cols, at);
    const badValue = readValues(valueData, m, this.values, at, this.allowNaN);
    const first = earliest(badRow, badCol, badValue);
    if (first >= 0) {
      if (first === badRow) throw Errors.BadData(path, where(first, this.names.row), this.rowMapper.problem);
      if (first === badCol) throw Errors.BadData(path, where(first, this.names.col), this.colMapper.problem);
      throw Errors.BadData(path, where(first, this.names.value), `not a finite number: ${this.values[at + first]}`);
    }
    if (nullRow >= 0) {
      const column = !rowData.getValid(nullRow) ? this.names.row : !colData.getValid(nullRow) ? this.names.col : this.names.value;
      throw Errors.BadData(path, where(nullRow, column), column === this.names.value ? 'null value' : 'null key');
    }
    this.where.add(this.delivered + at, file, rowGroup, row);
    this.nnz = at + n;
    if (this.stream !== null && this.nnz >= this.stream.size) this.flush();
  }

  result(): Triplets {
    const nnz = this.nnz;
    if (nnz + this.delivered === 0) {
      throw Errors.BadData(this.dataset.label, '', 'no rows: the Parquet data has no row groups or only empty ones');
    }
    if (this.stream !== null) return this.streamResult();
    const twins = this.allowDuplicates ? null : findDuplicatePair(this.rowKeys.size, this.colKeys.size, nnz, this.rows, this.cols);
    if (twins !== null) {
      const [earlier, later] = twins;
      const [f1, g1, r1] = this.where.find(earlier);
      const [f2, g2, r2] = this.where.find(later);
      const row = this.rowKeys.key(this.rows[later]);
      const col = this.colKeys.key(this.cols[later]);
      const other = f1 === f2 ? '' : ` of ${this.dataset.files[f1]}`;
      throw Errors.BadData(
        this.dataset.files[f2],
        `row group ${g2}, row ${r2}`,
        `duplicate pair (${this.names.row} ${quote(row)}, ${this.names.col} ${quote(col)}), first seen at row group ${g1}, row ${r1}${other}`,
      );
    }
    // Exact-size buffers (transferable whole); a single file was allocated exactly, so nothing is copied.
    const exact = this.rows.length === nnz;
    return {
      file: this.dataset.label,
      rowKeys: this.rowKeys,
      colKeys: this.colKeys,
      rows: exact ? this.rows : this.rows.slice(0, nnz),
      cols: exact ? this.cols : this.cols.slice(0, nnz),
      values: exact ? this.values : this.values.slice(0, nnz),
      nnz,
    };
  }

  /** Streaming mode: hands the rest over; the entries are gone, so no duplicate check (the caller's job). */
  private streamResult(): Triplets {
    if (this.nnz > 0) this.flush();
    const { where, dataset } = this;
    return streamedTriplets(dataset.label, { rowKeys: this.rowKeys, colKeys: this.colKeys }, this.delivered, (ordinal) => {
      const [f, g, r] = where.find(ordinal);
      return { file: dataset.files[f], where: `row group ${g}, row ${r}` };
    });
  }

  private flush(): void {
    const n = this.nnz;
    const ordinals = this.ordinals;
    for (let i = 0; i < n; i++) ordinals[i] = this.delivered + i;
    this.stream!.onEntries(this.rows, this.cols, this.values, ordinals, n);
    this.delivered += n;
    this.nnz = 0;
  }

  private grow(cap: number): void {
    if (this.stream !== null) {
      const ordinals = new Float64Array(cap);
      ordinals.set(this.ordinals.subarray(0, this.nnz));
      this.ordinals = ordinals;
    }
    const rows = new Int32Array(cap);
    rows.set(this.rows.subarray(0, this.nnz));
    this.rows = rows;
    const cols = new Int32Array(cap);
    cols.set(this.cols.subarray(0, this.nnz));
    this.cols = cols;
    const values = new Float64Array(cap);
    values.set(this.values.subarray(0, this.nnz));
    this.values = values;
  }
}

/** Per distinct key seen: its dictionary index (-1 if training never saw it) and its text. */
class KeyLookup {
  readonly index: number[] = [];
  readonly text: string[] = [];
  readonly mapper = new KeyColumnMapper((text) => {
    this.index.push(this.dict.get(text));
    // A known key reuses the dictionary's string so equal keys share one string.
    const known = this.index[this.index.length - 1];
    this.text.push(known >= 0 ? this.dict.key(known) : text);
    return this.text.length - 1;
  });

  constructor(private readonly dict: KeyDictionary) {}
}

export class PairSink implements BatchSink {
  private readonly rowLookup: KeyLookup;
  private readonly colLookup: KeyLookup;
  private readonly rowText: string[] = [];
  private readonly colText: string[] = [];
  private rows = new Int32Array(0);
  private cols = new Int32Array(0);
  /** Slots for one batch (reused): the lookup's entry per row. */
  private rowSlots = new Int32Array(0);
  private colSlots = new Int32Array(0);
  private n = 0;
  private names = ['row', 'col'];

  constructor(
    private readonly dataset: Dataset,
    rowKeys: KeyDictionary,
    colKeys: KeyDictionary,
    private readonly keyNames: { rowKey: string; colKey: string } = { rowKey: 'row', colKey: 'col' },
  ) {
    this.rowLookup = new KeyLookup(rowKeys);
    this.colLookup = new KeyLookup(colKeys);
  }

  /**
   * The key columns: by the key names when the schema has both, else "row" and "col" when it has
   * both, else the first two; a schema with one key name only could mean either and is refused.
   */
  columns(file: string, schema: Schema): string[] {
    const has = (name: string): boolean => schema.fields.some((f) => f.name === name);
    for (const [r, c] of [[this.keyNames.rowKey, this.keyNames.colKey], ['row', 'col']] as const) {
      if (has(r) && has(c)) {
        this.names = [findField(file, schema, r, 'key').name, findField(file, schema, c, 'key').name];
        return this.names;
      }
    }
    const { rowKey, colKey } = this.keyNames;
    if (has(rowKey) !== has(colKey)) {
      throw Errors.BadData(file, 'schema', `ambiguous key columns (found ${fieldNames(schema)}): it names ${quote(has(rowKey) ? rowKey : colKey)} but not ${quote(has(rowKey) ? colKey : rowKey)}; name both key columns (--row-key, --col-key) or neither (then the first two are the row and the column)`);
    }
    if (schema.fields.length < 2) {
      throw Errors.BadData(
        file,
        'column 2',
        `has ${schema.fields.length} column (found ${fieldNames(schema)}); expected columns "row" and "col", or the row and col key columns first`,
      );
    }
    const [first, second] = schema.fields;
    if (first.name === second.name) throw Errors.BadData(file, `column ${quote(first.name)}`, 'column appears twice in the schema');
    checkType(file, first, 'key');
    checkType(file, second, 'key');
    this.names = [first.name, second.name];
    return this.names;
  }

  startFile(_file: number, rows: number): void {
    const need = this.n + rows;
    if (need > this.rows.length) {
      const cap = this.rows.length === 0 ? need : Math.max(need, Math.ceil(this.rows.length * 1.5));
      const rows2 = new Int32Array(cap);
      rows2.set(this.rows.subarray(0, this.n));
      this.rows = rows2;
      const cols2 = new Int32Array(cap);
      cols2.set(this.cols.subarray(0, this.n));
      this.cols = cols2;
    }
  }

  batch(file: number, rowGroup: number, row: number, [rowData, colData]: Data[], n: number): void {
    const path = this.dataset.files[file];
    if (this.rowSlots.length < n) {
      this.rowSlots = new Int32Array(n);
      this.colSlots = new Int32Array(n);
    }
    const nullRow = earliest(firstNull(rowData, n), firstNull(colData, n));
    const m = nullRow >= 0 ? nullRow : n;
    const badRow = this.rowLookup.mapper.map(rowData, m, this.rowSlots, 0);
    const badCol = this.colLookup.mapper.map(colData, m, this.colSlots, 0);
    const first = earliest(nullRow, badRow, badCol);
    if (first >= 0) {
      const where = (column: string): string => `row group ${rowGroup}, row ${row + first}, column ${quote(column)}`;
      if (first === badRow) throw Errors.BadData(path, where(this.names[0]), this.rowLookup.mapper.problem);
      if (first === badCol) throw Errors.BadData(path, where(this.names[1]), this.colLookup.mapper.problem);
      throw Errors.BadData(path, where(rowData.getValid(first) ? this.names[1] : this.names[0]), 'null key');
    }
    const at = this.n;
    const { rowSlots, colSlots, rows, cols, rowText, colText } = this;
    const ri = this.rowLookup.index;
    const rt = this.rowLookup.text;
    const ci = this.colLookup.index;
    const ct = this.colLookup.text;
    for (let i = 0; i < n; i++) {
      rows[at + i] = ri[rowSlots[i]];
      cols[at + i] = ci[colSlots[i]];
      rowText.push(rt[rowSlots[i]]);
      colText.push(ct[colSlots[i]]);
    }
    this.n = at + n;
  }

  result(): Pairs {
    const n = this.n;
    return {
      file: this.dataset.label,
      rowText: this.rowText,
      colText: this.colText,
      rows: this.rows.length === n ? this.rows : this.rows.slice(0, n),
      cols: this.cols.length === n ? this.cols : this.cols.slice(0, n),
      n,
    };
  }
}
