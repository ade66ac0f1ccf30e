// readTripletsParquet on files from three writers: each must give exactly what readTripletsCsv gives on the same data.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal, Float16, Int16, LargeUtf8, Uint32, makeData, makeVector, vectorFromArray } from 'apache-arrow';
import { Compression, Encoding } from 'parquet-wasm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readTripletsCsv } from '../../io/csv.ts';
import type { TripletColumns, Triplets } from '../../io/entries.ts';
import { readTripletsParquet } from '../../io/parquet.ts';
import { ParquetRowGroupSource } from '../../io/parquet-source.ts';
import {
  fileFacts,
  randomRows,
  vec,
  writeCsv,
  writeHyparquet,
  writeParquetWasm,
  writeParquetjs,
  type Key,
  type Rows,
  type WasmColumn,
} from './parquet-fixtures.ts';
import { randomInt, seededRandom, tempDir } from './helpers.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Same keys (text, order), same entries, and values equal bit for bit. */
function expectSameTriplets(actual: Triplets, expected: Triplets): void {
  expect(actual.nnz).toBe(expected.nnz);
  expect(actual.rowKeys.keys()).toEqual(expected.rowKeys.keys());
  expect(actual.colKeys.keys()).toEqual(expected.colKeys.keys());
  expect(actual.rows).toEqual(expected.rows);
  expect(actual.cols).toEqual(expected.cols);
  expect(actual.values).toEqual(expected.values);
  expect(new BigUint64Array(actual.values.buffer, actual.values.byteOffset, actual.nnz)).toEqual(
    new BigUint64Array(expected.values.buffer, expected.values.byteOffset, expected.nnz),
  );
  // Exact-size arrays, as the CSV reader returns them.
  expect(actual.rows.buffer.byteLength).toBe(actual.nnz * 4);
  expect(actual.values.buffer.byteLength).toBe(actual.nnz * 8);
}

async function expectSameAsCsv(parquet: string | string[], data: Rows, opts: TripletColumns = {}, names?: string[]): Promise<Triplets> {
  const csv = join(tempDir(), 'same.csv');
  await writeCsv(csv, data, names);
  const [p, c] = await Promise.all([readTripletsParquet(parquet, opts), readTripletsCsv(csv, opts)]);
  expectSameTriplets(p, c);
  return p;
}

/** Row keys that cover int64 beyond 2^53, negatives and zero; col keys that are plain ids. */
const bigRowKey = (k: number): Key => (k % 3 === 0 ? BigInt(k) * 1000003n + 9007199254740993n : k % 3 === 1 ? -k * 1000 : k);
const stringKey = (k: number): string => ['Zoë', 'a,b', 'say "hi"', 'multi\nline', ' 7', '007', 'user-'][k % 7] + String(k);

describe('parquet-wasm files', () => {
  it('int64 keys (beyond 2^53, negative), int32 keys, ZSTD, dictionary pages, many row groups', async ({ annotate }) => {
    const rand = seededRandom('parquet-wasm int64', 101, annotate);
    const data = randomRows(rand, 1000, bigRowKey, (k) => k * 7 - 300, 300, 90);
    const path = join(tempDir(), 'w1.parquet');
    writeParquetWasm(path, [
      { name: 'row', vector: vec.int64(data.row) },
      { name: 'col', vector: vec.int32(data.col) },
      { name: 'value', vector: vec.float64(data.value) },
    ], { compression: Compression.ZSTD, dictionary: true, maxRowGroupSize: 97 });
    const facts = await fileFacts(path);
    expect(facts.rowGroups.length).toBe(11);
    expect([...facts.compressions]).toEqual([Compression.ZSTD]);
    expect(facts.encodings.has(Encoding.RLE_DICTIONARY)).toBe(true);
    expect(facts.firstPageType).toBe(2); // dictionary page
    await expectSameAsCsv(path, data);
  });

  it('utf8 keys (unicode, commas, quotes, newlines), float32 values, snappy, data page v2, no dictionary', async ({ annotate }) => {
    const rand = seededRandom('parquet-wasm utf8 v2', 202, annotate);
    const data = randomRows(rand, 600, stringKey, (k) => `item:${k}`, 200, 50);
    data.value = data.value.map(Math.fround);
    const path = join(tempDir(), 'w2.parquet');
    writeParquetWasm(path, [
      { name: 'value', vector: vec.float32(data.value) },
      { name: 'col', vector: vec.utf8(data.col) },
      { name: 'row', vector: vec.utf8(data.row) },
    ], { compression: Compression.SNAPPY, dictionary: false, v2: true, maxRowGroupSize: 250 });
    const facts = await fileFacts(path);
    expect(facts.rowGroups).toEqual([250, 250, 100]);
    expect([...facts.compressions]).toEqual([Compression.SNAPPY]);
    expect(facts.encodings.has(Encoding.RLE_DICTIONARY)).toBe(false);
    expect(facts.firstPageType).toBe(3); // DATA_PAGE_V2
    await expectSameAsCsv(path, data);
  });

  it('an Arrow dictionary-encoded string column, nullable columns without nulls, gzip, v2 pages', async ({ annotate }) => {
    const rand = seededRandom('parquet-wasm dictionary', 303, annotate);
    const data = randomRows(rand, 800, (k) => `u${k}`, (k) => k, 40, 400);
    const path = join(tempDir(), 'w3.parquet');
    writeParquetWasm(path, [
      { name: 'row', vector: vec.dictUtf8(data.row), nullable: true },
      { name: 'col', vector: vec.int32(data.col), nullable: true },
      { name: 'value', vector: vec.float64(data.value), nullable: true },
    ], { compression: Compression.GZIP, dictionary: true, v2: true, maxRowGroupSize: 128 });
    const facts = await fileFacts(path);
    expect(facts.rowGroups.length).toBe(7);
    expect([...facts.compressions]).toEqual([Compression.GZIP]);
    await expectSameAsCsv(path, data);
  });

  it('custom column names, among other columns', async ({ annotate }) => {
    const rand = seededRandom('parquet-wasm names', 404, annotate);
    const data = randomRows(rand, 300, (k) => k, (k) => `i${k}`, 50, 50);
    const path = join(tempDir(), 'w4.parquet');
    writeParquetWasm(path, [
      { name: 'ts', vector: vec.int64(data.row.map((_, i) => i * 1000)) },
      { name: 'rating', vector: vec.float64(data.value) },
      { name: 'item', vector: vec.utf8(data.col) },
      { name: 'user', vector: vec.int64(data.row) },
    ], { maxRowGroupSize: 64 });
    await expectSameAsCsv(path, data, { rowKey: 'user', colKey: 'item', valueKey: 'rating' }, ['user', 'item', 'rating']);
  });

  it('large utf8 and uint64 keys (2^63 and above), decimal values', async () => {
    const n = 6;
    const rows = ['a', 'b', 'a', 'c', 'b', 'Zoë'];
    const cols = [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 9007199254740993n, 1n];
    const unscaled = [12345n, -1n, 0n, 10n ** 17n + 1n, -(10n ** 16n) - 7n, 5n];
    const words = new Uint32Array(n * 4);
    unscaled.forEach((v, i) => {
      const u = BigInt.asUintN(128, v);
      for (let k = 0; k < 4; k++) words[i * 4 + k] = Number((u >> BigInt(32 * k)) & 0xffffffffn);
    });
    const decimal = makeVector(makeData({ type: new Decimal(3, 18, 128), length: n, nullCount: 0, data: words }));
    const path = join(tempDir(), 'w5.parquet');
    writeParquetWasm(path, [
      { name: 'row', vector: vectorFromArray(rows, new LargeUtf8()) },
      { name: 'col', vector: makeVector(BigUint64Array.from(cols)) },
      { name: 'value', vector: decimal },
    ]);
    expect(String(decimal.type)).toMatch(/Decimal/);
    const expected: Rows = { row: rows, col: cols, value: unscaled.map((v) => Number(`${v}e-3`)) };
    const t = await expectSameAsCsv(path, expected);
    expect(t.colKeys.keys()).toEqual(['0', '1', '9223372036854775808', '18446744073709551615', '9007199254740993']);
    expect(Array.from(t.values)).toEqual([12.345, -0.001, 0, 100000000000000.001, -10000000000000.007, 0.005]);
  });

  it('int16 and uint32 keys, float16 values', async () => {
    const rows = [-32768, 0, 32767, 5];
    const cols = [0, 2 ** 31, 2 ** 32 - 1, 7];
    // All exactly float16: a normal, a subnormal, the largest finite, one with a full mantissa.
    const halves = [1.5, -3 * 2 ** -24, 65504, 0.333251953125];
    const path = join(tempDir(), 'w6.parquet');
    writeParquetWasm(path, [
      { name: 'row', vector: vectorFromArray(rows, new Int16()) },
      { name: 'col', vector: vectorFromArray(cols, new Uint32()) },
      { name: 'value', vector: vectorFromArray(halves, new Float16()) },
    ]);
    const t = await readTripletsParquet(path);
    expect(t.rowKeys.keys()).toEqual(['-32768', '0', '32767', '5']);
    expect(t.colKeys.keys()).toEqual(['0', '2147483648', '4294967295', '7']);
    expect(Array.from(t.values)).toEqual(halves);
  });

  it('asks the decoder for one row group at a time, and only the three columns', async ({ annotate }) => {
    const data = randomRows(seededRandom('parquet-wasm per group', 505, annotate), 50, (k) => k, (k) => k, 10, 10);
    const path = join(tempDir(), 'w7.parquet');
    writeParquetWasm(path, [
      { name: 'extra', vector: vec.utf8(data.row.map(() => 'x')) },
      { name: 'row', vector: vec.int32(data.row) },
      { name: 'col', vector: vec.int32(data.col) },
      { name: 'value', vector: vec.float64(data.value) },
    ], { maxRowGroupSize: 20 });
    const read = vi.spyOn(ParquetRowGroupSource.prototype, 'read');
    await expectSameAsCsv(path, data);
    expect(read.mock.calls).toEqual([
      [0, ['row', 'col', 'value']],
      [1, ['row', 'col', 'value']],
      [2, ['row', 'col', 'value']],
    ]);
  });
});

describe('parquetjs-lite files', () => {
  it('int64 and utf8 keys, gzip, data page v2, its (malformed) page index, optional columns, many row groups', async ({ annotate }) => {
    const rand = seededRandom('parquetjs-lite v2', 606, annotate);
    const data = randomRows(rand, 500, (k) => 1_000_000_000_000 + k * 13, (k) => `i-${k}`, 100, 60);
    const path = join(tempDir(), 'p1.parquet');
    await writeParquetjs(path, [
      { name: 'row', type: 'INT64', values: data.row as number[] },
      { name: 'col', type: 'UTF8', values: data.col as string[], optional: true },
      { name: 'value', type: 'DOUBLE', values: data.value },
    ], { compression: 'GZIP', rowGroupSize: 120 });
    const facts = await fileFactsTolerant(path);
    expect(facts.firstPageType).toBe(3);
    await expectSameAsCsv(path, data);
  });

  it('int32 keys, float values, snappy, data page v1', async ({ annotate }) => {
    const rand = seededRandom('parquetjs-lite v1', 707, annotate);
    const data = randomRows(rand, 300, (k) => k - 50, (k) => k, 100, 40);
    data.value = data.value.map(Math.fround);
    const path = join(tempDir(), 'p2.parquet');
    await writeParquetjs(path, [
      { name: 'row', type: 'INT32', values: data.row as number[] },
      { name: 'col', type: 'INT32', values: data.col as number[] },
      { name: 'value', type: 'FLOAT', values: data.value },
    ], { compression: 'SNAPPY', rowGroupSize: 64, v2: false, pageIndex: false });
    const facts = await fileFacts(path);
    expect(facts.firstPageType).toBe(0);
    expect(facts.rowGroups.length).toBe(5);
    expect([...facts.compressions]).toEqual([Compression.SNAPPY]);
    await expectSameAsCsv(path, data);
  });
});

describe('hyparquet-writer files', () => {
  it('repetitive string keys (dictionary pages), int32 keys, nullable columns, snappy, v2 pages', async ({ annotate }) => {
    const rand = seededRandom('hyparquet dictionary', 808, annotate);
    const data = randomRows(rand, 900, (k) => `user-${k}`, (k) => k * 3, 30, 200);
    const path = join(tempDir(), 'h1.parquet');
    writeHyparquet(path, [
      { name: 'row', type: 'STRING', values: data.row },
      { name: 'col', type: 'INT32', values: data.col },
      { name: 'value', type: 'DOUBLE', values: data.value },
    ], { rowGroupSize: 250 });
    const facts = await fileFacts(path);
    expect(facts.rowGroups).toEqual([250, 250, 250, 150]);
    expect(facts.encodings.has(Encoding.RLE_DICTIONARY)).toBe(true);
    expect(facts.createdBy).toBe('hyparquet');
    await expectSameAsCsv(path, data);
  });

  it('int64 keys beyond 2^53, string keys, float values, uncompressed', async ({ annotate }) => {
    const rand = seededRandom('hyparquet int64', 909, annotate);
    const data = randomRows(rand, 400, bigRowKey, stringKey, 120, 40);
    data.value = data.value.map(Math.fround);
    const path = join(tempDir(), 'h2.parquet');
    writeHyparquet(path, [
      { name: 'row', type: 'INT64', values: data.row },
      { name: 'col', type: 'STRING', values: data.col },
      { name: 'value', type: 'FLOAT', values: data.value, nullable: false },
    ], { codec: 'UNCOMPRESSED', rowGroupSize: 100 });
    expect([...(await fileFacts(path)).compressions]).toEqual([Compression.UNCOMPRESSED]);
    await expectSameAsCsv(path, data);
  });
});

describe('datasets of several files', () => {
  /** Three slices of one data set, written by the three writers. */
  async function threeWriters(dir: string, data: Rows): Promise<void> {
    const slice = (from: number, to: number): Rows => ({ row: data.row.slice(from, to), col: data.col.slice(from, to), value: data.value.slice(from, to) });
    const [a, b, c] = [slice(0, 100), slice(100, 250), slice(250, data.row.length)];
    // Created out of name order, so only sorting by name gives part-0, part-1, part-2.
    writeParquetWasm(join(dir, 'part-2.parquet'), [
      { name: 'row', vector: vec.utf8(c.row) },
      { name: 'col', vector: vec.int64(c.col) },
      { name: 'value', vector: vec.float64(c.value) },
    ], { maxRowGroupSize: 40 });
    await writeParquetjs(join(dir, 'part-0.parquet'), [
      { name: 'row', type: 'UTF8', values: a.row as string[] },
      { name: 'col', type: 'INT64', values: a.col as number[] },
      { name: 'value', type: 'DOUBLE', values: a.value },
    ], { rowGroupSize: 30 });
    writeHyparquet(join(dir, 'part-1.parquet'), [
      { name: 'row', type: 'STRING', values: b.row },
      { name: 'col', type: 'INT32', values: b.col },
      { name: 'value', type: 'DOUBLE', values: b.value },
    ], { rowGroupSize: 60 });
  }

  it('a directory of 3 files reads as one dataset, in name order, skipping non-data files', async ({ annotate }) => {
    const rand = seededRandom('parquet dataset', 1001, annotate);
    const data = randomRows(rand, 400, (k) => `u${k}`, (k) => k, 60, 80);
    const dir = join(tempDir(), 'ratings');
    mkdirSync(dir);
    await threeWriters(dir, data);
    writeFileSync(join(dir, '_SUCCESS'), '');
    writeFileSync(join(dir, '.part-0.parquet.crc'), 'crc');
    writeFileSync(join(dir, '_temporary.parquet'), 'not parquet');
    writeFileSync(join(dir, '.hidden.parquet'), 'not parquet');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    mkdirSync(join(dir, 'nested.parquet'));
    const t = await expectSameAsCsv(dir, data);
    expect(t.file).toBe(dir);
  });

  it('a list of files reads in the order given', async ({ annotate }) => {
    const rand = seededRandom('parquet file list', 1002, annotate);
    const data = randomRows(rand, 400, (k) => `u${k}`, (k) => k, 60, 80);
    const dir = tempDir();
    await threeWriters(dir, data);
    const files = ['part-1.parquet', 'part-0.parquet', 'part-2.parquet'].map((f) => join(dir, f));
    const reordered: Rows = { row: [], col: [], value: [] };
    for (const [from, to] of [[100, 250], [0, 100], [250, 400]]) {
      reordered.row.push(...data.row.slice(from, to));
      reordered.col.push(...data.col.slice(from, to));
      reordered.value.push(...data.value.slice(from, to));
    }
    const t = await expectSameAsCsv(files, reordered);
    expect(t.file).toBe(`${files[0]} (and 2 more)`);
  });
});

describe('random files from random writers', () => {
  it('match the CSV reader on the same data', async ({ annotate }) => {
    const rand = seededRandom('parquet random writers', 2024, annotate);
    for (let trial = 0; trial < 12; trial++) {
      const n = 1 + randomInt(rand, 400);
      const rowKinds = ['int64', 'int32', 'utf8', 'dict'] as const;
      const kind = rowKinds[randomInt(rand, rowKinds.length)];
      const rowKey = kind === 'utf8' || kind === 'dict' ? stringKey : kind === 'int64' ? bigRowKey : (k: number): Key => k * 11 - 99;
      const data = randomRows(rand, n, rowKey, (k) => k, 1 + Math.ceil(n / 3), 10);
      const rowVector = kind === 'int64' ? vec.int64(data.row) : kind === 'int32' ? vec.int32(data.row) : kind === 'utf8' ? vec.utf8(data.row) : vec.dictUtf8(data.row);
      const columns: WasmColumn[] = [
        { name: 'row', vector: rowVector, nullable: rand() < 0.5 },
        { name: 'col', vector: vec.int32(data.col), nullable: rand() < 0.5 },
        { name: 'value', vector: vec.float64(data.value), nullable: rand() < 0.5 },
      ];
      const compressions = [Compression.UNCOMPRESSED, Compression.SNAPPY, Compression.GZIP, Compression.ZSTD, Compression.LZ4_RAW, Compression.BROTLI];
      const path = join(tempDir(), `r${trial}.parquet`);
      writeParquetWasm(path, columns, {
        compression: compressions[randomInt(rand, compressions.length)],
        dictionary: rand() < 0.5,
        v2: rand() < 0.5,
        maxRowGroupSize: 1 + randomInt(rand, n),
      });
      await expectSameAsCsv(path, data);
    }
  });
});

/** fileFacts for files whose page index parquet-wasm's own open rejects: only the page type, from the bytes. */
async function fileFactsTolerant(path: string): Promise<{ firstPageType: number }> {
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(path);
  return { firstPageType: bytes[4] === 0x15 ? bytes[5] >> 1 : -1 };
}
