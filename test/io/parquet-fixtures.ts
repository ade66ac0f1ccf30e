// Writes the Parquet test files with three independent writers (parquet-wasm, parquetjs-lite, hyparquet-writer) and the same data as CSV.

import { openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  Dictionary,
  Field,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { parquetWriteFile } from 'hyparquet-writer';
import * as pw from 'parquet-wasm';
import { writeCsvAtomic } from '../../io/csv.ts';
import { randomInt } from './helpers.ts';

/** A key as a writer takes it; its text (String()) is what the CSV holds and the reader must return. */
export type Key = string | number | bigint;

export interface Rows {
  row: Key[];
  col: Key[];
  value: number[];
}

/** The same triplets as a CSV file, for readTripletsCsv to give the expected result. */
export async function writeCsv(path: string, data: Rows, names = ['row', 'col', 'value']): Promise<void> {
  const n = data.row.length;
  await writeCsvAtomic(
    path,
    names,
    (function* () {
      for (let i = 0; i < n; i++) yield [String(data.row[i]), String(data.col[i]), data.value[i]];
    })(),
  );
}

/**
 * n triplets with distinct (row, col) pairs. Values mix integers, short decimals and full doubles
 * (String() of each is exact, so the CSV copy holds the same double).
 */
export function randomRows(rand: () => number, n: number, rowKey: (k: number) => Key, colKey: (k: number) => Key, rowCount: number, colCount: number): Rows {
  const seen = new Set<number>();
  const out: Rows = { row: [], col: [], value: [] };
  while (out.row.length < n) {
    const r = randomInt(rand, rowCount);
    const c = randomInt(rand, colCount);
    if (seen.has(r * colCount + c)) continue;
    seen.add(r * colCount + c);
    out.row.push(rowKey(r));
    out.col.push(colKey(c));
    const kind = randomInt(rand, 3);
    out.value.push(kind === 0 ? randomInt(rand, 11) - 5 : kind === 1 ? randomInt(rand, 1000) / 4 - 100 : (rand() - 0.5) * 1e3);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// parquet-wasm

export interface WasmColumn {
  name: string;
  vector: Vector;
  nullable?: boolean;
}

export interface WasmOptions {
  compression?: pw.Compression;
  dictionary?: boolean;
  v2?: boolean;
  maxRowGroupSize?: number;
  /** Column names to write without dictionary encoding (the rest follow `dictionary`). */
  plain?: string[];
}

/** An Arrow table of one batch from the vectors, with the nullability asked for. */
export function arrowTable(columns: WasmColumn[]): Table {
  const fields = columns.map((c) => new Field(c.name, c.vector.type as DataType, c.nullable ?? false));
  const schema = new Schema(fields);
  const length = columns.length === 0 ? 0 : columns[0].vector.length;
  const children = columns.map((c) => (c.vector.data.length === 1 ? c.vector.data[0] : makeVector(c.vector).data[0]));
  return new Table(schema, [new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }))]);
}

export function parquetWasmBytes(table: Table, opts: WasmOptions = {}): Uint8Array {
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(opts.compression ?? pw.Compression.ZSTD)
    .setDictionaryEnabled(opts.dictionary ?? true)
    .setWriterVersion(opts.v2 ? pw.WriterVersion.V2 : pw.WriterVersion.V1);
  if (opts.maxRowGroupSize !== undefined) builder = builder.setMaxRowGroupSize(opts.maxRowGroupSize);
  for (const name of opts.plain ?? []) builder = builder.setColumnDictionaryEnabled(name, false);
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), builder.build());
}

export function writeParquetWasm(path: string, columns: WasmColumn[], opts: WasmOptions = {}): void {
  writeFileSync(path, parquetWasmBytes(arrowTable(columns), opts));
}

/** Arrow vectors for keys as the writer should store them. */
export const vec = {
  int64: (keys: Key[]): Vector => makeVector(BigInt64Array.from(keys, (k) => BigInt(k))),
  int32: (keys: Key[]): Vector => makeVector(Int32Array.from(keys, (k) => Number(k))),
  utf8: (keys: Key[]): Vector => vectorFromArray(keys.map(String), new Utf8()),
  dictUtf8: (keys: Key[]): Vector => vectorFromArray(keys.map(String), new Dictionary(new Utf8(), new Int32())),
  float64: (values: number[]): Vector => makeVector(Float64Array.from(values)),
  float32: (values: number[]): Vector => makeVector(Float32Array.from(values)),
};

/** What a file holds, from its footer, to check a fixture is what the test says it is. */
export interface FileFacts {
  rowGroups: number[];
  compressions: Set<pw.Compression>;
  encodings: Set<pw.Encoding>;
  createdBy: string | undefined;
  /** Page type of the page at byte 4 (the first page of the first column chunk): 0 v1 data, 2 dictionary, 3 v2 data. */
  firstPageType: number;
}

export async function fileFacts(path: string): Promise<FileFacts> {
  const file = await pw.ParquetFile.fromFile(await openAsBlob(path));
  try {
    const meta = file.metadata();
    const groups = meta.rowGroups();
    const facts: FileFacts = {
      rowGroups: groups.map((g) => g.numRows()),
      compressions: new Set(groups.flatMap((g) => g.columns().map((c) => c.compression()))),
      encodings: new Set(groups.flatMap((g) => g.columns().flatMap((c) => c.encodings()))),
      createdBy: meta.fileMetadata().createdBy(),
      firstPageType: firstPageType(readFileSync(path)),
    };
    return facts;
  } finally {
    file.free();
  }
}

/** PageHeader field 1 (type, i32) is the first thing in a page: header byte 0x15 then a zigzag varint. */
function firstPageType(bytes: Uint8Array): number {
  if (bytes[4] !== 0x15) return -1;
  return bytes[5] >> 1;
}

// ---------------------------------------------------------------------------------------------
// parquetjs-lite (a writer only here: it cannot read dictionary pages)

interface ParquetjsLite {
  ParquetSchema: new (fields: Record<string, { type: string; optional?: boolean; compression?: string }>) => unknown;
  ParquetWriter: {
    openFile(
      schema: unknown,
      path: string,
      opts?: { rowGroupSize?: number; useDataPageV2?: boolean; pageIndex?: boolean },
    ): Promise<{ appendRow(row: Record<string, unknown>): Promise<void>; close(): Promise<void> }>;
  };
}

const parquetjs = createRequire(import.meta.url)('parquetjs-lite') as ParquetjsLite;

export interface ParquetjsColumn {
  name: string;
  /** parquetjs-lite type names: INT64 (JS numbers, so |key| < 2^53), INT32, UTF8, DOUBLE, FLOAT. */
  type: string;
  values: (string | number)[];
  optional?: boolean;
}

export async function writeParquetjs(
  path: string,
  columns: ParquetjsColumn[],
  opts: { compression?: 'UNCOMPRESSED' | 'GZIP' | 'SNAPPY'; rowGroupSize?: number; v2?: boolean; pageIndex?: boolean } = {},
): Promise<void> {
  const fields: Record<string, { type: string; optional?: boolean; compression?: string }> = {};
  for (const c of columns) fields[c.name] = { type: c.type, optional: c.optional ?? false, compression: opts.compression ?? 'UNCOMPRESSED' };
  const writer = await parquetjs.ParquetWriter.openFile(new parquetjs.ParquetSchema(fields), path, {
    rowGroupSize: opts.rowGroupSize,
    useDataPageV2: opts.v2 ?? true,
    pageIndex: opts.pageIndex,
  });
  const n = columns[0].values.length;
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const c of columns) row[c.name] = c.values[i];
    await writer.appendRow(row);
  }
  await writer.close();
}

// ---------------------------------------------------------------------------------------------
// hyparquet-writer

export interface HyparquetColumn {
  name: string;
  type: 'INT32' | 'INT64' | 'STRING' | 'DOUBLE' | 'FLOAT';
  values: Key[] | number[];
  nullable?: boolean;
}

export function writeHyparquet(path: string, columns: HyparquetColumn[], opts: { rowGroupSize?: number; codec?: 'SNAPPY' | 'UNCOMPRESSED' } = {}): void {
  parquetWriteFile({
    filename: path,
    codec: opts.codec ?? 'SNAPPY',
    rowGroupSize: opts.rowGroupSize ?? 1000,
    columnData: columns.map((c) => ({
      name: c.name,
      type: c.type,
      nullable: c.nullable ?? true,
      data: c.type === 'INT64' ? c.values.map((v) => BigInt(v)) : c.type === 'STRING' ? c.values.map(String) : c.values.map(Number),
    })),
  });
}
