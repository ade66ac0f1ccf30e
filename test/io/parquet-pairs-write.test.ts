// readPairsParquet (pairs to predict) and writeTableParquetAtomic (results out), including a round trip.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compression } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { LinRfmError } from '../../config/errors.ts';
import { readPairsCsv } from '../../io/csv.ts';
import { KeyDictionary } from '../../io/key-dictionary.ts';
import { readPairsParquet, readTripletsParquet, writeTableParquetAtomic } from '../../io/parquet.ts';
import { fileFacts, randomRows, vec, writeCsv, writeHyparquet, writeParquetWasm } from './parquet-fixtures.ts';
import { seededRandom, tempDir } from './helpers.ts';

async function failure(run: () => Promise<unknown>): Promise<LinRfmError | Error> {
  try {
    await run();
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('readPairsParquet', () => {
  const rowKeys = KeyDictionary.from(['10', 'u2', '-7']);
  const colKeys = KeyDictionary.from(['i1', '5']);

  it('maps columns row and col through the dictionaries without adding to them; unseen keys are -1', async () => {
    const path = join(tempDir(), 'pairs.parquet');
    writeParquetWasm(path, [
      { name: 'col', vector: vec.utf8(['i1', '5', 'new', 'i1', '5']) },
      { name: 'extra', vector: vec.float64([0, 0, 0, 0, 0]) },
      { name: 'row', vector: vec.int64([10, -7, 10, 99, 10]) },
    ], { maxRowGroupSize: 2 });
    const p = await readPairsParquet(path, rowKeys, colKeys);
    expect(p.n).toBe(5);
    expect(p.file).toBe(path);
    expect(p.rowText).toEqual(['10', '-7', '10', '99', '10']);
    expect(p.colText).toEqual(['i1', '5', 'new', 'i1', '5']);
    expect(p.rows).toEqual(Int32Array.of(0, 2, 0, -1, 0));
    expect(p.cols).toEqual(Int32Array.of(0, 1, -1, 0, 1));
    expect(p.rows.buffer.byteLength).toBe(5 * 4);
    expect([rowKeys.size, colKeys.size]).toEqual([3, 2]);
  });

  it('without row and col columns takes the first two, whatever their names', async () => {
    const path = join(tempDir(), 'pairs.parquet');
    writeHyparquet(path, [
      { name: 'user', type: 'STRING', values: ['u2', 'zz', 'u2'] },
      { name: 'item', type: 'INT32', values: [5, 5, 6] },
      { name: 'extra', type: 'STRING', values: ['ignored', 'too', 'x'] },
    ]);
    const p = await readPairsParquet(path, rowKeys, colKeys);
    expect([p.rowText, p.colText]).toEqual([['u2', 'zz', 'u2'], ['5', '5', '6']]);
    expect([...p.rows, ...p.cols]).toEqual([1, -1, 1, 1, 1, -1]);
  });

  it('finds the key columns by the key names in any order, and refuses a schema with one of them only', async () => {
    const path = join(tempDir(), 'swapped.parquet');
    writeHyparquet(path, [
      { name: 'item', type: 'INT32', values: [5, 5, 6] },
      { name: 'user', type: 'STRING', values: ['u2', 'zz', 'u2'] },
    ]);
    const p = await readPairsParquet(path, rowKeys, colKeys, { rowKey: 'user', colKey: 'item' });
    expect([p.rowText, p.colText]).toEqual([['u2', 'zz', 'u2'], ['5', '5', '6']]);
    const one = join(tempDir(), 'one.parquet');
    writeHyparquet(one, [
      { name: 'user', type: 'STRING', values: ['u2'] },
      { name: 'thing', type: 'INT32', values: [5] },
    ]);
    await expect(readPairsParquet(one, rowKeys, colKeys, { rowKey: 'user', colKey: 'item' }))
      .rejects.toThrow(/one\.parquet: schema: ambiguous key columns \(found "user", "thing"\): it names "user" but not "item"/);
  });

  it('gives what readPairsCsv gives on the same pairs', async ({ annotate }) => {
    const rand = seededRandom('parquet pairs vs csv', 31, annotate);
    const data = randomRows(rand, 300, (k) => (k % 2 === 0 ? `u${k}` : String(k)), (k) => k * 5, 80, 30);
    const train = KeyDictionary.from(new Set(data.row.slice(0, 100).map(String)));
    const items = KeyDictionary.from(new Set(data.col.slice(50, 200).map(String)));
    const path = join(tempDir(), 'pairs.parquet');
    writeParquetWasm(path, [
      { name: 'row', vector: vec.dictUtf8(data.row) },
      { name: 'col', vector: vec.int32(data.col) },
    ], { maxRowGroupSize: 70, compression: Compression.SNAPPY });
    const csv = join(tempDir(), 'pairs.csv');
    await writeCsv(csv, data);
    const [p, c] = await Promise.all([readPairsParquet(path, train, items), readPairsCsv(csv, train, items)]);
    expect({ ...p, file: '' }).toEqual({ ...c, file: '' });
  });

  it('reports bad input with row group and row', async () => {
    const missing = join(tempDir(), 'missing.parquet');
    expect((await failure(() => readPairsParquet(missing, rowKeys, colKeys))) as LinRfmError).toMatchObject({ exitCode: 66 });
    const one = join(tempDir(), 'one.parquet');
    writeParquetWasm(one, [{ name: 'user', vector: vec.utf8(['a']) }]);
    expect((await failure(() => readPairsParquet(one, rowKeys, colKeys))).message).toBe(
      `${one}: column 2: has 1 column (found "user"); expected columns "row" and "col", or the row and col key columns first`,
    );
    const nulls = join(tempDir(), 'nulls.parquet');
    const { vectorFromArray, Utf8 } = await import('apache-arrow');
    writeParquetWasm(nulls, [
      { name: 'user', vector: vec.utf8(['a', 'b', 'c']) },
      { name: 'item', vector: vectorFromArray(['x', 'y', null], new Utf8()), nullable: true },
    ], { maxRowGroupSize: 2 });
    const err = (await failure(() => readPairsParquet(nulls, rowKeys, colKeys))) as LinRfmError;
    expect([err.exitCode, err.message]).toEqual([65, `${nulls}: row group 1, row 0, column "item": null key`]);
  });
});

describe('writeTableParquetAtomic', () => {
  it('writes utf8, float64 and int32 columns that read back exactly, ZSTD-compressed', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.parquet');
    const rows = ['u1', 'Zoë', 'a,"b"', 'u1'];
    const values = Float64Array.of(0.1, -0, 1e300, 5e-324);
    await writeTableParquetAtomic(path, [
      { name: 'row', values: rows },
      { name: 'col', values: Int32Array.of(7, 7, -1, 8) },
      { name: 'value', values },
    ]);
    expect(readdirSync(dir)).toEqual(['out.parquet']);
    expect([...(await fileFacts(path)).compressions]).toEqual([Compression.ZSTD]);
    const t = await readTripletsParquet(path);
    expect(t.rowKeys.keys()).toEqual(['u1', 'Zoë', 'a,"b"']);
    expect(t.colKeys.keys()).toEqual(['7', '-1', '8']);
    expect(Array.from(t.rows)).toEqual([0, 1, 2, 0]);
    expect(new BigUint64Array(t.values.buffer)).toEqual(new BigUint64Array(values.buffer));
  });

  it('round-trips a seeded random table through readTripletsParquet', async ({ annotate }) => {
    const rand = seededRandom('parquet write round trip', 77, annotate);
    const data = randomRows(rand, 5000, (k) => `user-${k}`, (k) => `item-${k}`, 700, 300);
    const path = join(tempDir(), 'big.parquet');
    await writeTableParquetAtomic(path, [
      { name: 'row', values: data.row.map(String) },
      { name: 'col', values: data.col.map(String) },
      { name: 'value', values: Float64Array.from(data.value) },
    ]);
    const t = await readTripletsParquet(path);
    expect(t.nnz).toBe(5000);
    for (let i = 0; i < t.nnz; i += 97) {
      expect([t.rowKeys.key(t.rows[i]), t.colKeys.key(t.cols[i]), t.values[i]]).toEqual([data.row[i], data.col[i], data.value[i]]);
    }
  });

  it('rejects ragged or misnamed columns and leaves the old file as it was', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.parquet');
    writeFileSync(path, 'old');
    const cases: [Parameters<typeof writeTableParquetAtomic>[1], RegExp][] = [
      [[{ name: 'a', values: ['x'] }, { name: 'b', values: Float64Array.of(1, 2) }], /column "b" has 2 values, column "a" has 1/],
      [[{ name: 'a', values: ['x'] }, { name: 'a', values: ['y'] }], /column "a" appears twice/],
      [[{ name: '', values: ['x'] }], /a column name is empty/],
      [[], /no columns/],
    ];
    for (const [columns, message] of cases) {
      const err = await failure(() => writeTableParquetAtomic(path, columns));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toMatch(message);
    }
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['out.parquet']);
  });

  it('a directory that does not exist -> E_IO (74), no temp file left', async () => {
    const path = join(tempDir(), 'no', 'such', 'out.parquet');
    const err = (await failure(() => writeTableParquetAtomic(path, [{ name: 'a', values: ['x'] }]))) as LinRfmError;
    expect([err.code, err.exitCode]).toEqual(['E_IO', 74]);
    expect(err.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: write failed: `));
  });

  it('writes a table of zero rows', async () => {
    const path = join(tempDir(), 'empty.parquet');
    await writeTableParquetAtomic(path, [{ name: 'row', values: [] }, { name: 'value', values: new Float64Array(0) }]);
    expect((await fileFacts(path)).rowGroups.reduce((a, b) => a + b, 0)).toBe(0);
  });
});
