// Writing Parquet: columns (string keys, float64 and int32 values) to a ZSTD file, atomically.

import { DataType, Field, Float64, Int32, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC, type Data } from 'apache-arrow';
import { asIoError, writeFileAtomic } from './atomic.ts';

export interface ParquetColumn {
  name: string;
  /** Strings are written as utf8 (keys stay text), typed arrays as float64 / int32. */
  values: string[] | Float64Array | Int32Array;
}

/**
 * Writes the columns as a ZSTD-compressed Parquet file to a temp file beside `path` and renames it
 * into place, so readers never see a half-written file and a failure leaves the old file as it was.
 * Every column must have the same length; names must be distinct and non-empty.
 */
export async function writeTableParquetAtomic(path: string, columns: ParquetColumn[]): Promise<void> {
  const table = arrowTable(columns);
  let bytes: Uint8Array;
  try {
    bytes = await encodeParquet(table);
  } catch (err) {
    throw asIoError(path, err);
  }
  await writeFileAtomic(path, bytes);
}


/** Rows per record batch (and so at most per row group) when writing. */
const WRITE_BATCH_ROWS = 1 << 20;

function arrowTable(columns: ParquetColumn[]): Table {
  if (columns.length === 0) throw new RangeError('writeTableParquetAtomic: no columns');
  const length = columns[0].values.length;
  const seen = new Set<string>();
  for (const c of columns) {
    if (typeof c.name !== 'string' || c.name === '') throw new RangeError('writeTableParquetAtomic: a column name is empty');
    if (seen.has(c.name)) throw new RangeError(`writeTableParquetAtomic: column ${JSON.stringify(c.name)} appears twice`);
    seen.add(c.name);
    if (c.values.length !== length) {
      throw new RangeError(`writeTableParquetAtomic: column ${JSON.stringify(c.name)} has ${c.values.length} values, column ${JSON.stringify(columns[0].name)} has ${length}`);
    }
  }
  const fields = columns.map(
    (c) => new Field(c.name, c.values instanceof Float64Array ? new Float64() : c.values instanceof Int32Array ? new Int32() : new Utf8(), false),
  );
  const schema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (let start = 0; start < length || (length === 0 && batches.length === 0); start += WRITE_BATCH_ROWS) {
    const n = Math.min(WRITE_BATCH_ROWS, length - start);
    const children = columns.map((c, k) => columnData(fields[k].type, c.values, start, n));
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
  }
  return new Table(schema, batches);
}

function columnData(type: DataType, values: string[] | Float64Array | Int32Array, start: number, n: number): Data {
  if (values instanceof Float64Array) return makeData({ type: type as Float64, length: n, nullCount: 0, data: values.subarray(start, start + n) });
  if (values instanceof Int32Array) return makeData({ type: type as Int32, length: n, nullCount: 0, data: values.subarray(start, start + n) });
  return makeData({ type: type as Utf8, length: n, nullCount: 0, ...utf8Buffers(values, start, n) });
}

/** Offsets and bytes of strings[start..start+n), encoded straight into one growing buffer. */
function utf8Buffers(strings: string[], start: number, n: number): { valueOffsets: Int32Array; data: Uint8Array } {
  const encoder = new TextEncoder();
  const valueOffsets = new Int32Array(n + 1);
  let data = new Uint8Array(Math.max(1024, n * 8));
  let used = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[start + i];
    if (typeof s !== 'string') throw new RangeError(`writeTableParquetAtomic: value ${start + i} is not a string`);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (used + s.length * 3 > data.length) {
      const bigger = new Uint8Array(Math.max(data.length * 2, used + s.length * 3));
      bigger.set(data.subarray(0, used));
      data = bigger;
    }
    used += encoder.encodeInto(s, data.subarray(used)).written;
    valueOffsets[i + 1] = used;
  }
  return { valueOffsets, data: data.subarray(0, used) };
}

/** parquet-wasm is loaded on first write: its 5 MB module costs ~60 ms and readers do not need it here. */
async function encodeParquet(table: Table): Promise<Uint8Array> {
  const pw = await import('parquet-wasm');
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).setMaxRowGroupSize(WRITE_BATCH_ROWS).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}
