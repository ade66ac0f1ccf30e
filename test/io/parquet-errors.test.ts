// readTripletsParquet refusals: each a one-line error with its exit code, naming file, row group, row and column.

import { mkdirSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bool, Dictionary, Float64, Int32, Utf8, vectorFromArray } from 'apache-arrow';
import { Compression, ParquetFile } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { LinRfmError } from '../../config/errors.ts';
import { readTripletsParquet } from '../../io/parquet.ts';
import { vec, writeParquetWasm, type WasmColumn } from './parquet-fixtures.ts';
import { tempDir } from './helpers.ts';

async function failure(run: () => Promise<unknown>): Promise<LinRfmError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof LinRfmError) return err;
    throw err;
  }
  throw new Error('expected a LinRfmError');
}

function file(columns: WasmColumn[], opts: Parameters<typeof writeParquetWasm>[2] = {}, name = 'bad.parquet'): string {
  const path = join(tempDir(), name);
  writeParquetWasm(path, columns, opts);
  return path;
}

/** A valid file of 12 rows in row groups of 5: (u0..u11, 0..11, i / 4). */
function goodFile(name = 'good.parquet'): string {
  const n = 12;
  return file(
    [
      { name: 'row', vector: vec.utf8(Array.from({ length: n }, (_, i) => `u${i}`)) },
      { name: 'col', vector: vec.int32(Array.from({ length: n }, (_, i) => i)) },
      { name: 'value', vector: vec.float64(Array.from({ length: n }, (_, i) => i / 4)) },
    ],
    { maxRowGroupSize: 5, dictionary: false },
    name,
  );
}

describe('readTripletsParquet: missing input', () => {
  it('a missing file -> E_MISSING_INPUT (66)', async () => {
    const path = join(tempDir(), 'nope.parquet');
    const err = await failure(() => readTripletsParquet(path));
    expect([err.code, err.exitCode, err.message]).toEqual(['E_MISSING_INPUT', 66, `${path}: no such file`]);
  });

  it('a missing file in a list, and a directory without Parquet files -> E_MISSING_INPUT', async () => {
    const good = goodFile();
    const missing = join(tempDir(), 'gone.parquet');
    const err = await failure(() => readTripletsParquet([good, missing]));
    expect([err.exitCode, err.message]).toEqual([66, `${missing}: no such file`]);
    const dir = tempDir();
    writeFileSync(join(dir, '_SUCCESS'), '');
    writeFileSync(join(dir, 'data.csv'), 'row,col,value\n');
    const empty = await failure(() => readTripletsParquet(dir));
    expect([empty.exitCode, empty.message]).toEqual([66, `${dir}: no *.parquet files in this directory`]);
  });

  it('an empty list and clashing column names -> E_CONFIG (78)', async () => {
    const none = await failure(() => readTripletsParquet([]));
    expect([none.exitCode, none.message]).toEqual([78, 'config input = []: names no Parquet files']);
    const same = await failure(() => readTripletsParquet(goodFile(), { rowKey: 'k', colKey: 'k' }));
    expect([same.exitCode, same.message]).toEqual([78, 'config colKey = "k": must differ from rowKey']);
    const blank = await failure(() => readTripletsParquet(goodFile(), { valueKey: ' ' }));
    expect(blank.message).toBe('config valueKey = " ": must be a non-empty column name');
  });
});

describe('readTripletsParquet: unreadable files -> E_BAD_DATA (65)', () => {
  it('not a Parquet file, an empty file, a truncated file', async () => {
    const dir = tempDir();
    const csv = join(dir, 'csv.parquet');
    writeFileSync(csv, 'row,col,value\nu1,i1,5\nu2,i1,3\nu3,i2,4\n');
    const empty = join(dir, 'empty.parquet');
    writeFileSync(empty, '');
    const good = readFileSync(goodFile());
    const truncated = join(dir, 'truncated.parquet');
    writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    const cut = join(dir, 'cut.parquet');
    writeFileSync(cut, good.subarray(0, good.length - 3));
    for (const path of [csv, empty, truncated, cut]) {
      const err = await failure(() => readTripletsParquet(path));
      expect(err.exitCode).toBe(65);
      expect(err.message).toMatch(new RegExp(`^${escape(path)}: not a readable Parquet file: \\S`));
      expect(err.message).not.toMatch(/\n/);
    }
    expect((await failure(() => readTripletsParquet(csv))).message).toBe(`${csv}: not a readable Parquet file: Parquet error: Invalid Parquet file. Corrupt footer`);
  });

  it('corrupt page data in one row group names that row group, and the next read is unaffected', async () => {
    const path = goodFile('corrupt.parquet');
    const bytes = readFileSync(path);
    const meta = (await ParquetFile.fromFile(await openAsBlob(path))).metadata();
    // Without dictionaries the chunks are laid out row group after row group, right after "PAR1".
    const second = 4 + meta.rowGroup(0).compressedSize();
    for (let i = second; i < second + 24; i++) bytes[i] = 0xab;
    writeFileSync(path, bytes);
    const err = await failure(() => readTripletsParquet(path));
    expect(err.exitCode).toBe(65);
    expect(err.message).toMatch(new RegExp(`^${escape(path)}: row group 1: not a readable Parquet file: \\S`));
    const ok = await readTripletsParquet(goodFile('after.parquet'));
    expect(ok.nnz).toBe(12);
  });

  it('a file with no rows', async () => {
    const path = file([
      { name: 'row', vector: vec.utf8([]) },
      { name: 'col', vector: vec.int32([]) },
      { name: 'value', vector: vec.float64([]) },
    ]);
    const err = await failure(() => readTripletsParquet(path));
    expect([err.code, err.message]).toEqual(['E_BAD_DATA', `${path}: no rows: the Parquet data has no row groups or only empty ones`]);
  });
});

describe('readTripletsParquet: schema problems -> E_BAD_DATA (65)', () => {
  it('a missing column lists the columns found', async () => {
    const path = file([
      { name: 'row', vector: vec.utf8(['a']) },
      { name: 'col', vector: vec.utf8(['b']) },
      { name: 'rating', vector: vec.float64([1]) },
    ]);
    const err = await failure(() => readTripletsParquet(path));
    expect([err.exitCode, err.message]).toEqual([65, `${path}: column "value": no column "value" (found "row", "col", "rating")`]);
  });

  it('a key column of the wrong type, a value column of the wrong type', async () => {
    const floatKey = file([
      { name: 'row', vector: vectorFromArray([1.5], new Float64()) },
      { name: 'col', vector: vec.utf8(['b']) },
      { name: 'value', vector: vec.float64([1]) },
    ]);
    const err = await failure(() => readTripletsParquet(floatKey));
    expect([err.exitCode, err.message]).toEqual([
      65,
      `${floatKey}: column "row": has type Float64; a key column must be an integer (int8..int64, uint8..uint64), utf8, large utf8, or a dictionary of those`,
    ]);
    const textValue = file([
      { name: 'row', vector: vec.utf8(['a']) },
      { name: 'col', vector: vec.utf8(['b']) },
      { name: 'value', vector: vec.utf8(['5']) },
    ]);
    const err2 = await failure(() => readTripletsParquet(textValue));
    expect(err2.message).toBe(
      `${textValue}: column "value": has type Utf8; the value column must be numeric (int8..int64, uint8..uint64, float16/32/64 or decimal)`,
    );
    const boolValue = file([
      { name: 'row', vector: vec.utf8(['a']) },
      { name: 'col', vector: vec.utf8(['b']) },
      { name: 'value', vector: vectorFromArray([true], new Bool()) },
    ]);
    expect((await failure(() => readTripletsParquet(boolValue))).message).toMatch(/column "value": has type Bool; /);
  });
});

describe('readTripletsParquet: bad rows -> E_BAD_DATA (65) with row group and row', () => {
  /** 12 rows in row groups of 5; row 8 is row 3 of row group 1. */
  function withRow8(row: (string | null)[] | null, col: (number | null)[] | null, value: (number | null)[] | null, dictRow = false): string {
    const n = 12;
    const rows = row ?? Array.from({ length: n }, (_, i) => `u${i}`);
    const cols = col ?? Array.from({ length: n }, (_, i) => i);
    const values = value ?? Array.from({ length: n }, (_, i) => i);
    return file(
      [
        { name: 'row', vector: vectorFromArray(rows, dictRow ? new Dictionary(new Utf8(), new Int32()) : new Utf8()), nullable: true },
        { name: 'col', vector: vectorFromArray(cols, new Int32()), nullable: true },
        { name: 'value', vector: vectorFromArray(values, new Float64()), nullable: true },
      ],
      { maxRowGroupSize: 5, compression: Compression.SNAPPY },
    );
  }
  const at8 = <T>(fill: (i: number) => T, bad: T): T[] => Array.from({ length: 12 }, (_, i) => (i === 8 ? bad : fill(i)));

  it('null keys and null values', async () => {
    const cases: [string, string][] = [
      [withRow8(at8((i) => `u${i}`, null), null, null), 'row group 1, row 3, column "row": null key'],
      [withRow8(at8((i) => `u${i}`, null), null, null, true), 'row group 1, row 3, column "row": null key'],
      [withRow8(null, at8((i) => i, null), null), 'row group 1, row 3, column "col": null key'],
      [withRow8(null, null, at8((i) => i, null)), 'row group 1, row 3, column "value": null value'],
    ];
    for (const [path, where] of cases) {
      const err = await failure(() => readTripletsParquet(path));
      expect([err.exitCode, err.message]).toEqual([65, `${path}: ${where}`]);
    }
  });

  it('values that are not finite numbers', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const path = withRow8(null, null, at8((i) => i, bad));
      const err = await failure(() => readTripletsParquet(path));
      expect([err.exitCode, err.message]).toEqual([65, `${path}: row group 1, row 3, column "value": not a finite number: ${bad}`]);
    }
  });

  it('an empty string key, as the CSV reader refuses an empty field', async () => {
    const path = withRow8(at8((i) => `u${i}`, ''), null, null);
    expect((await failure(() => readTripletsParquet(path))).message).toBe(`${path}: row group 1, row 3, column "row": empty key`);
    const dict = withRow8(at8((i) => `u${i}`, ''), null, null, true);
    expect((await failure(() => readTripletsParquet(dict))).message).toBe(`${dict}: row group 1, row 3, column "row": empty key`);
  });

  it('the first bad row is reported, whichever column it is in', async () => {
    const rows = Array.from({ length: 12 }, (_, i): string | null => (i === 9 ? null : `u${i}`));
    const values = Array.from({ length: 12 }, (_, i) => (i === 7 ? NaN : i));
    const path = withRow8(rows, null, values);
    expect((await failure(() => readTripletsParquet(path))).message).toBe(`${path}: row group 1, row 2, column "value": not a finite number: NaN`);
  });
});

describe('readTripletsParquet: duplicate pairs -> E_BAD_DATA (65) naming both places', () => {
  it('within a file, across row groups', async () => {
    const path = file(
      [
        { name: 'row', vector: vec.utf8(['u0', 'u1', 'u2', 'u1', 'u3', 'u4', 'u5', 'u1', 'u1']) },
        { name: 'col', vector: vec.int64([1, 2, 3, 7, 1, 1, 1, 3, 7]) },
        { name: 'value', vector: vec.float64([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
      ],
      { maxRowGroupSize: 3 },
    );
    const err = await failure(() => readTripletsParquet(path));
    expect([err.exitCode, err.message]).toEqual([65, `${path}: row group 2, row 2: duplicate pair (row "u1", col "7"), first seen at row group 1, row 0`]);
  });

  it('across the files of a directory', async () => {
    const dir = join(tempDir(), 'ds');
    mkdirSync(dir);
    const columns = (rows: string[], cols: number[]): WasmColumn[] => [
      { name: 'row', vector: vec.utf8(rows) },
      { name: 'col', vector: vec.int32(cols) },
      { name: 'value', vector: vec.float64(rows.map(() => 1)) },
    ];
    writeParquetWasm(join(dir, 'a.parquet'), columns(['x', 'y', 'z'], [1, 2, 3]));
    writeParquetWasm(join(dir, 'b.parquet'), columns(['w', 'y'], [9, 2]), { maxRowGroupSize: 1 });
    const err = await failure(() => readTripletsParquet(dir));
    expect(err.message).toBe(`${join(dir, 'b.parquet')}: row group 1, row 0: duplicate pair (row "y", col "2"), first seen at row group 0, row 1 of ${join(dir, 'a.parquet')}`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
