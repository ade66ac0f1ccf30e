// Streaming mode of the triplet readers: entries handed over in buffers, in file order, with ordinals
// that locate them in the same words as the readers' own messages.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTripletsCsv } from '../../io/csv.ts';
import type { TripletColumns, Triplets } from '../../io/entries.ts';
import { readTripletsParquet } from '../../io/parquet.ts';
import { csvFile, tempDir } from './helpers.ts';
import { fileFacts, vec, writeParquetWasm, type Key } from './parquet-fixtures.ts';

/** Everything the callback was handed, copied, plus each call's n. */
interface Streamed {
  rows: number[];
  cols: number[];
  values: number[];
  ordinals: number[];
  calls: number[];
}

async function streamed(read: (opts: TripletColumns) => Promise<Triplets>, size: number, opts: TripletColumns = {}): Promise<[Triplets, Streamed]> {
  const got: Streamed = { rows: [], cols: [], values: [], ordinals: [], calls: [] };
  const tri = await read({
    ...opts,
    streamEntries: size,
    onEntries: (rows, cols, values, ordinals, n) => {
      got.calls.push(n);
      // Copy: the reader reuses the arrays after the call.
      for (let i = 0; i < n; i++) {
        got.rows.push(rows[i]);
        got.cols.push(cols[i]);
        got.values.push(values[i]);
        got.ordinals.push(ordinals[i]);
      }
    },
  });
  return [tri, got];
}

/** The streamed entries equal the in-memory read's, the result keeps only dictionaries and nnz. */
function expectSameEntries(whole: Triplets, tri: Triplets, got: Streamed): void {
  expect(got.rows).toEqual(Array.from(whole.rows));
  expect(got.cols).toEqual(Array.from(whole.cols));
  expect(got.values).toEqual(Array.from(whole.values));
  expect(tri.nnz).toBe(whole.nnz);
  expect(tri.rowKeys.keys()).toEqual(whole.rowKeys.keys());
  expect(tri.colKeys.keys()).toEqual(whole.colKeys.keys());
  expect([tri.rows.length, tri.cols.length, tri.values.length]).toEqual([0, 0, 0]);
  expect(tri.file).toBe(whole.file);
  expect(whole.locate).toBeUndefined();
}

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the read to fail');
}

// ---------------------------------------------------------------------------------------------
// CSV

/** 40 entries with string keys; the key of entry 20 holds a line break, so later entries sit one line further down. */
function csvText(): { text: string; lineOf: number[] } {
  const lines = ['row,col,value'];
  const lineOf: number[] = [];
  let line = 2;
  for (let e = 0; e < 40; e++) {
    const row = e === 20 ? '"user\nbroken"' : `user${e % 9}`;
    lines.push(`${row},item${Math.floor(e / 9)},${e * 0.25 - 3}`);
    lineOf.push(line);
    line += e === 20 ? 2 : 1;
  }
  return { text: lines.join('\n') + '\n', lineOf };
}

describe('CSV streaming', () => {
  it('delivers the same entries, in order, in buffers of exactly streamEntries but the last', async () => {
    const { text, lineOf } = csvText();
    const path = csvFile(text);
    const whole = await readTripletsCsv(path);
    const [tri, got] = await streamed((o) => readTripletsCsv(path, o), 7);
    expectSameEntries(whole, tri, got);
    expect(whole.nnz).toBe(40);
    expect(got.calls).toEqual([7, 7, 7, 7, 7, 5]);
    expect(got.ordinals).toEqual(lineOf);
    expect(whole.rowKeys.key(whole.rows[20])).toBe('user\nbroken');
    expect(tri.locate!(got.ordinals[0])).toEqual({ file: path, where: 'line 2' });
    expect(tri.locate!(got.ordinals[20])).toEqual({ file: path, where: 'line 22' });
    // past the two-line record
    expect(tri.locate!(got.ordinals[21])).toEqual({ file: path, where: 'line 24' });
    expect(tri.locate!(got.ordinals[39])).toEqual({ file: path, where: 'line 42' });
  });

  it('the default buffer holds a small file in one call', async () => {
    const path = csvFile(csvText().text);
    const calls: number[] = [];
    const tri = await readTripletsCsv(path, { onEntries: (_r, _c, _v, _o, n) => calls.push(n) });
    expect(calls).toEqual([40]);
    expect(tri.nnz).toBe(40);
  });

  it('a bad value fails with the same message, after earlier buffers went out', async () => {
    const lines = ['row,col,value'];
    for (let e = 0; e < 30; e++) lines.push(`u${e},i${e % 4},${e === 25 ? 'abc' : e}`);
    const path = csvFile(lines.join('\n') + '\n');
    const expected = await message(readTripletsCsv(path));
    expect(expected).toContain('line 27');
    expect(expected).toContain('not a finite number');
    let delivered = 0;
    const got = await message(readTripletsCsv(path, { streamEntries: 7, onEntries: (_r, _c, _v, _o, n) => (delivered += n) }));
    expect(got).toBe(expected);
    expect(delivered).toBe(21);
  });

  it('a pair given twice is delivered twice, and locate names both lines as the in-memory error does', async () => {
    const path = csvFile('row,col,value\na,x,1\nb,x,2\nc,y,3\na,y,4\nb,x,5\nc,x,6\n');
    const error = await message(readTripletsCsv(path));
    const [tri, got] = await streamed((o) => readTripletsCsv(path, o), 2, { duplicates: 'error' });
    expect(tri.nnz).toBe(6);
    expect(got.calls).toEqual([2, 2, 2]);
    const pairs = got.rows.map((r, e) => `${tri.rowKeys.key(r)}/${tri.colKeys.key(got.cols[e])}`);
    expect(pairs).toEqual(['a/x', 'b/x', 'c/y', 'a/y', 'b/x', 'c/x']);
    expect(got.values).toEqual([1, 2, 3, 4, 5, 6]);
    const later = tri.locate!(got.ordinals[4]);
    const earlier = tri.locate!(got.ordinals[1]);
    expect([later.where, earlier.where]).toEqual(['line 6', 'line 3']);
    expect(error).toBe(`${path}: ${later.where}: duplicate pair (row "b", col "x"), first seen at ${earlier.where}`);
  });

  it('an error thrown by the callback comes back as is; a bad streamEntries is a config error', async () => {
    const path = csvFile(csvText().text);
    const mine = new RangeError('caller gave up');
    const thrown = await readTripletsCsv(path, { streamEntries: 7, onEntries: () => { throw mine; } }).catch((err: unknown) => err);
    expect(thrown).toBe(mine);
    const noop = (): void => undefined;
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      await expect(readTripletsCsv(path, { streamEntries: bad, onEntries: noop })).rejects.toThrow(/config streamEntries = .*must be a positive integer/);
    }
  });

  it('errors about the file as a whole are unchanged', async () => {
    const noop = (): void => undefined;
    for (const text of ['', 'row,col\na,b\n', 'row,col,value\na,,1\n']) {
      const path = csvFile(text);
      const expected = await message(readTripletsCsv(path));
      expect(await message(readTripletsCsv(path, { streamEntries: 7, onEntries: noop }))).toBe(expected);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Parquet

function parquetFile(path: string, row: Key[], col: Key[], value: number[], maxRowGroupSize: number): void {
  writeParquetWasm(
    path,
    [
      { name: 'row', vector: vec.utf8(row) },
      { name: 'col', vector: vec.dictUtf8(col) },
      { name: 'value', vector: vec.float64(value) },
    ],
    { maxRowGroupSize },
  );
}

/** n entries with string keys, entry e of the dataset being (u(start+e) % 11, i(start+e) / 11) = start+e - 0.5. */
function entries(start: number, n: number): [string[], string[], number[]] {
  const row: string[] = [];
  const col: string[] = [];
  const value: number[] = [];
  for (let e = start; e < start + n; e++) {
    row.push(`u${e % 11}`);
    col.push(`i${Math.floor(e / 11)}`);
    value.push(e - 0.5);
  }
  return [row, col, value];
}

describe('Parquet streaming', () => {
  it('one file of row groups bigger than the buffer: each batch goes out whole', async () => {
    const path = join(tempDir(), 'groups.parquet');
    parquetFile(path, ...entries(0, 45), 10);
    expect((await fileFacts(path)).rowGroups).toEqual([10, 10, 10, 10, 5]);
    const whole = await readTripletsParquet(path);
    const [tri, got] = await streamed((o) => readTripletsParquet(path, o), 7);
    expectSameEntries(whole, tri, got);
    expect(got.calls).toEqual([10, 10, 10, 10, 5]);
    expect(got.ordinals).toEqual(Array.from({ length: 45 }, (_, e) => e));
    expect(tri.locate!(0)).toEqual({ file: path, where: 'row group 0, row 0' });
    expect(tri.locate!(13)).toEqual({ file: path, where: 'row group 1, row 3' });
    expect(tri.locate!(44)).toEqual({ file: path, where: 'row group 4, row 4' });
  });

  it('a two-file directory: same entries and dictionaries, buffers bounded, locations per file', async () => {
    const dir = join(tempDir(), 'ds');
    mkdirSync(dir);
    const a = join(dir, 'part-0.parquet');
    const b = join(dir, 'part-1.parquet');
    parquetFile(a, ...entries(0, 23), 5);
    parquetFile(b, ...entries(23, 20), 12);
    expect((await fileFacts(a)).rowGroups).toEqual([5, 5, 5, 5, 3]);
    expect((await fileFacts(b)).rowGroups).toEqual([12, 8]);
    const whole = await readTripletsParquet(dir);
    expect(whole.nnz).toBe(43);
    const [tri, got] = await streamed((o) => readTripletsParquet(dir, o), 7);
    expectSameEntries(whole, tri, got);
    // Batches of 5 are handed over before the next would overflow the buffer; 12 and 8 reach the size alone.
    expect(got.calls).toEqual([5, 5, 5, 5, 3, 12, 8]);
    expect(got.calls.every((n) => n <= 12)).toBe(true);
    expect(got.ordinals).toEqual(Array.from({ length: 43 }, (_, e) => e));
    expect(tri.locate!(12)).toEqual({ file: a, where: 'row group 2, row 2' });
    expect(tri.locate!(22)).toEqual({ file: a, where: 'row group 4, row 2' });
    expect(tri.locate!(23)).toEqual({ file: b, where: 'row group 0, row 0' });
    expect(tri.locate!(38)).toEqual({ file: b, where: 'row group 1, row 3' });
  });

  it('buffers fill across batches when they fit', async () => {
    const path = join(tempDir(), 'small.parquet');
    parquetFile(path, ...entries(0, 26), 3);
    const whole = await readTripletsParquet(path);
    const [tri, got] = await streamed((o) => readTripletsParquet(path, o), 7);
    expectSameEntries(whole, tri, got);
    // 3 + 3 fit in 7; a third batch would not, so 6 go out; the last group has 2 rows
    expect(got.calls).toEqual([6, 6, 6, 6, 2]);
    expect(tri.locate!(25)).toEqual({ file: path, where: 'row group 8, row 1' });
  });

  it('a bad value in a later row group fails with the same message as the in-memory read', async () => {
    const path = join(tempDir(), 'nan.parquet');
    const [row, col, value] = entries(0, 30);
    value[27] = Number.NaN;
    parquetFile(path, row, col, value, 10);
    const expected = await message(readTripletsParquet(path));
    expect(expected).toBe(`${path}: row group 2, row 7, column "value": not a finite number: NaN`);
    let delivered = 0;
    const got = await message(readTripletsParquet(path, { streamEntries: 7, onEntries: (_r, _c, _v, _o, n) => (delivered += n) }));
    expect(got).toBe(expected);
    expect(delivered).toBe(20);
  });

  it('a pair given twice across files is delivered twice, and locate gives the places the in-memory error names', async () => {
    const dir = join(tempDir(), 'dups');
    mkdirSync(dir);
    const a = join(dir, 'a.parquet');
    const b = join(dir, 'b.parquet');
    const [row, col, value] = entries(0, 20);
    parquetFile(a, row.slice(0, 12), col.slice(0, 12), value.slice(0, 12), 5);
    // b's row 6 repeats entry 8 of a (row group 1, row 3)
    const rowB = row.slice(12);
    const colB = col.slice(12);
    rowB[6] = row[8];
    colB[6] = col[8];
    parquetFile(b, rowB, colB, value.slice(12), 4);
    const error = await message(readTripletsParquet(dir));
    const [tri, got] = await streamed((o) => readTripletsParquet(dir, o), 7);
    expect(tri.nnz).toBe(20);
    expect([got.rows[18], got.cols[18]]).toEqual([got.rows[8], got.cols[8]]);
    const later = tri.locate!(got.ordinals[18]);
    const earlier = tri.locate!(got.ordinals[8]);
    expect(later).toEqual({ file: b, where: 'row group 1, row 2' });
    expect(earlier).toEqual({ file: a, where: 'row group 1, row 3' });
    expect(error).toBe(`${later.file}: ${later.where}: duplicate pair (row "u8", col "i0"), first seen at ${earlier.where} of ${earlier.file}`);
  });

  it('an empty dataset is still an error, and a callback error comes back as is', async () => {
    const dir = join(tempDir(), 'empty');
    mkdirSync(dir);
    const path = join(dir, 'none.parquet');
    parquetFile(path, [], [], [], 10);
    const noop = (): void => undefined;
    const expected = await message(readTripletsParquet(path));
    expect(await message(readTripletsParquet(path, { streamEntries: 7, onEntries: noop }))).toBe(expected);
    const full = join(tempDir(), 'full.parquet');
    parquetFile(full, ...entries(0, 30), 10);
    const mine = new RangeError('caller gave up');
    expect(await readTripletsParquet(full, { streamEntries: 7, onEntries: () => { throw mine; } }).catch((err: unknown) => err)).toBe(mine);
  });
});
