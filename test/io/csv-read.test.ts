// readTripletsCsv / readPairsCsv: what they accept, and the exact one-line error for everything they refuse.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LinRfmError } from '../../config/errors.ts';
import { readPairsCsv, readTripletsCsv } from '../../io/csv.ts';
import type { Triplets } from '../../io/entries.ts';
import { KeyDictionary } from '../../io/key-dictionary.ts';
import { csvFile, tempDir } from './helpers.ts';

async function failure(run: () => Promise<unknown>): Promise<LinRfmError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof LinRfmError) return err;
    throw err;
  }
  throw new Error('expected a LinRfmError');
}

/** The triplets as [row text, col text, value] in file order. */
function entries(t: Triplets): [string, string, number][] {
  const out: [string, string, number][] = [];
  for (let i = 0; i < t.nnz; i++) out.push([t.rowKeys.key(t.rows[i]), t.colKeys.key(t.cols[i]), t.values[i]]);
  return out;
}

describe('readTripletsCsv', () => {
  it('reads triplets into dense indices in first-seen order, arrays trimmed to nnz', async () => {
    const path = csvFile('row,col,value\n10,7,4.5\n3,7,-1\n10,8,0.25\n');
    const t = await readTripletsCsv(path);
    expect(t.file).toBe(path);
    expect(t.nnz).toBe(3);
    expect(t.rows).toEqual(Int32Array.of(0, 1, 0));
    expect(t.cols).toEqual(Int32Array.of(0, 0, 1));
    expect(t.values).toEqual(Float64Array.of(4.5, -1, 0.25));
    expect(t.rows.buffer.byteLength).toBe(3 * 4);
    expect(t.values.buffer.byteLength).toBe(3 * 8);
    expect(t.rowKeys.keys()).toEqual(['10', '3']);
    expect(t.colKeys.keys()).toEqual(['7', '8']);
  });

  it('keeps keys as exact text: "007", "7" and " 7" are three keys', async () => {
    const t = await readTripletsCsv(csvFile('row,col,value\n007,a,1\n7,a,2\n 7,a,3\n0,a,4\n00,a,5\n'));
    expect(t.rowKeys.keys()).toEqual(['007', '7', ' 7', '0', '00']);
    expect(entries(t).map((e) => e[2])).toEqual([1, 2, 3, 4, 5]);
  });

  it('unquotes keys that contain commas, quotes and line breaks', async () => {
    const t = await readTripletsCsv(csvFile('row,col,value\n"Smith, J.","say ""hi""",1\n"multi\nline",plain,2\nZoë,"",3\n'.replace(',"",3', ',é,3')));
    expect(entries(t)).toEqual([
      ['Smith, J.', 'say "hi"', 1],
      ['multi\nline', 'plain', 2],
      ['Zoë', 'é', 3],
    ]);
  });

  it('finds columns by name in any order, ignores extra columns, and takes custom names', async () => {
    const t = await readTripletsCsv(csvFile('ts,value,extra,col,row\n99,1.5,x,i1,u1\n98,2.5,y,i2,u1\n'));
    expect(entries(t)).toEqual([
      ['u1', 'i1', 1.5],
      ['u1', 'i2', 2.5],
    ]);
    const named = await readTripletsCsv(csvFile('userId, movieId ,rating,timestamp\n1,31,2.5,1260759144\n'), {
      rowKey: 'userId',
      colKey: 'movieId',
      valueKey: 'rating',
    });
    expect(entries(named)).toEqual([['1', '31', 2.5]]);
  });

  it('tolerates CRLF, a BOM, no final newline and trailing blank lines', async () => {
    const want = [
      ['a', 'b', 1],
      ['c', 'd', 2],
    ];
    expect(entries(await readTripletsCsv(csvFile('row,col,value\r\na,b,1\r\nc,d,2\r\n')))).toEqual(want);
    expect(entries(await readTripletsCsv(csvFile('\uFEFFrow,col,value\na,b,1\nc,d,2')))).toEqual(want);
    expect(entries(await readTripletsCsv(csvFile('row,col,value\na,b,1\nc,d,2\n\n\r\n  \n')))).toEqual(want);
  });

  it('accepts a header with no data', async () => {
    const t = await readTripletsCsv(csvFile('row,col,value\n'));
    expect(t.nnz).toBe(0);
    expect(t.rows).toHaveLength(0);
  });

  it('reads values exactly: every double written with String() comes back bit for bit', async () => {
    const xs = [0.1, 1 / 3, -2.5e-300, 1.7976931348623157e308, 5e-324, 123456789.123456789, -0, 1e21, 4.35];
    const text = 'row,col,value\n' + xs.map((x, i) => `r,${i},${Object.is(x, -0) ? '-0' : String(x)}`).join('\n');
    const t = await readTripletsCsv(csvFile(text));
    xs.forEach((x, i) => expect(Object.is(t.values[i], x), String(x)).toBe(true));
  });

  describe('errors', () => {
    it('missing file -> E_MISSING_INPUT (66)', async () => {
      const path = join(tempDir(), 'nope.csv');
      const err = await failure(() => readTripletsCsv(path));
      expect(err.code).toBe('E_MISSING_INPUT');
      expect(err.exitCode).toBe(66);
      expect(err.message).toBe(`${path}: no such file`);
    });

    it('a directory -> E_MISSING_INPUT', async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'sub.csv'));
      const err = await failure(() => readTripletsCsv(join(dir, 'sub.csv')));
      expect(err.code).toBe('E_MISSING_INPUT');
      expect(err.message).toMatch(/is a directory/);
    });

    const cases: [string, string, string][] = [
      ['empty file', '', 'line 1: empty file, expected a header line with columns "row", "col", "value"'],
      [
        'missing header',
        'u1,i1,5\nu2,i1,3\n',
        'line 1, column "row": header has no column "row" (found "u1", "i1", "5"); the first line must be a header naming the columns',
      ],
      [
        'header lacking value',
        'row,col,rating\nu1,i1,5\n',
        'line 1, column "value": header has no column "value" (found "row", "col", "rating"); the first line must be a header naming the columns',
      ],
      ['column named twice', 'row,col,value,row\n', 'line 1, column "row": column appears twice in the header (fields 1 and 4)'],
      ['too few fields', 'row,col,value\nu1,i1,5\nu2,i2\n', 'line 3: expected 3 fields like the header, found 2'],
      ['too many fields', 'row,col,value\nu1,i1,5\nu2,i2,3,4\n', 'line 3: expected 3 fields like the header, found 4'],
      ['empty row key', 'row,col,value\nu1,i1,5\n,i2,3\n', 'line 3, column "row": empty key'],
      ['empty quoted col key', 'row,col,value\nu1,i1,5\nu1,"",3\n', 'line 3, column "col": empty key'],
      ['not a number', 'row,col,value\nu1,i1,5\nu1,i2,abc\n', 'line 3, column "value": not a finite number: "abc"'],
      ['empty value', 'row,col,value\nu1,i1,\n', 'line 2, column "value": not a finite number: ""'],
      ['NaN', 'row,col,value\nu1,i1,NaN\n', 'line 2, column "value": not a finite number: "NaN"'],
      ['Infinity', 'row,col,value\nu1,i1,Infinity\n', 'line 2, column "value": not a finite number: "Infinity"'],
      ['-Infinity', 'row,col,value\nu1,i1,-Infinity\n', 'line 2, column "value": not a finite number: "-Infinity"'],
      ['overflow', 'row,col,value\nu1,i1,1e999\n', 'line 2, column "value": not a finite number: "1e999"'],
      ['hex', 'row,col,value\nu1,i1,0x1f\n', 'line 2, column "value": not a finite number: "0x1f"'],
      [
        'duplicate pair',
        'row,col,value\nu1,i1,1\nu2,i9,1\nu3,i1,1\nu1,i9,2\nu1,i2,1\nu1,i3,1\nu2,i1,1\nu1,i9,3\nu2,i9,4\n',
        'line 9: duplicate pair (row "u1", col "i9"), first seen at line 5',
      ],
      ['blank line inside data', 'row,col,value\nu1,i1,1\n\nu2,i1,1\n', 'line 3: blank line before the end of the data'],
      ['unclosed quote', 'row,col,value\nu1,i1,1\n"u2,i1,1\n', 'line 3: quoted field 1 is never closed'],
    ];
    for (const [name, text, where] of cases) {
      it(`${name} -> E_BAD_DATA (65) naming the line`, async () => {
        const path = csvFile(text, 'train.csv');
        const err = await failure(() => readTripletsCsv(path));
        expect(err.code).toBe('E_BAD_DATA');
        expect(err.exitCode).toBe(65);
        expect(err.message).toBe(`${path}: ${where}`);
      });
    }

    it('counts lines inside quoted fields, so the line number matches an editor', async () => {
      const path = csvFile('row,col,value\n"a\nb",i,1\n"c\r\nd",i,2\nx,i,oops\n');
      expect((await failure(() => readTripletsCsv(path))).message).toBe(`${path}: line 6, column "value": not a finite number: "oops"`);
    });

    it('names custom columns in messages', async () => {
      const path = csvFile('user,item,rating\nu1,i1,1\nu1,i1,2\n');
      const err = await failure(() => readTripletsCsv(path, { rowKey: 'user', colKey: 'item', valueKey: 'rating' }));
      expect(err.message).toBe(`${path}: line 3: duplicate pair (user "u1", item "i1"), first seen at line 2`);
    });

    it('rejects conflicting column options -> E_CONFIG (78)', async () => {
      const path = csvFile('a,b,c\n');
      const same = await failure(() => readTripletsCsv(path, { rowKey: 'a', colKey: 'a', valueKey: 'c' }));
      expect(same.code).toBe('E_CONFIG');
      expect(same.exitCode).toBe(78);
      expect(same.message).toBe('config colKey = "a": must differ from rowKey');
      const blank = await failure(() => readTripletsCsv(path, { valueKey: ' ' }));
      expect(blank.message).toBe('config valueKey = " ": must be a non-empty column name');
    });
  });
});

describe('readPairsCsv', () => {
  const rowKeys = KeyDictionary.from(['u1', 'u2', '007']);
  const colKeys = KeyDictionary.from(['i1', 'i2']);

  it('maps known keys to training indices and unseen keys to -1, keeping the text', async () => {
    const path = csvFile('user,item,extra\nu2,i1,x\n"u,new",i2,y\n007,i9,z\n7,i1,w\nu2,i1,again\n');
    const p = await readPairsCsv(path, rowKeys, colKeys);
    expect(p.file).toBe(path);
    expect(p.n).toBe(5);
    expect(p.rows).toEqual(Int32Array.of(1, -1, 2, -1, 1));
    expect(p.cols).toEqual(Int32Array.of(0, 1, -1, 0, 0));
    expect(p.rowText).toEqual(['u2', 'u,new', '007', '7', 'u2']);
    expect(p.colText).toEqual(['i1', 'i2', 'i9', 'i1', 'i1']);
    expect(p.rows.buffer.byteLength).toBe(5 * 4);
    // Reading must not add the unseen keys to the training dictionaries.
    expect(rowKeys.size).toBe(3);
    expect(colKeys.size).toBe(2);
  });

  it('works with empty dictionaries and CRLF', async () => {
    const p = await readPairsCsv(csvFile('a,b\r\nx,y\r\n'), new KeyDictionary(), new KeyDictionary());
    expect([...p.rows, ...p.cols]).toEqual([-1, -1]);
    expect([p.rowText, p.colText]).toEqual([['x'], ['y']]);
  });

  it('reports bad input with line numbers', async () => {
    const missing = join(tempDir(), 'missing.csv');
    expect((await failure(() => readPairsCsv(missing, rowKeys, colKeys))).code).toBe('E_MISSING_INPUT');
    const cases: [string, string][] = [
      ['', 'line 1: empty file, expected a header line with at least two columns (row key, col key)'],
      ['user\nu1\n', 'line 1, column 2: header has 1 column (found "user"); expected the row and col key columns first'],
      ['user,item\nu1,i1\nu2\n', 'line 3: expected 2 fields like the header, found 1'],
      ['user,item\nu1,\n', 'line 2, column "item": empty key'],
      [',item\n,i1\n', 'line 2, column "column 1": empty key'],
    ];
    for (const [text, where] of cases) {
      const path = csvFile(text);
      const err = await failure(() => readPairsCsv(path, rowKeys, colKeys));
      expect(err.code).toBe('E_BAD_DATA');
      expect(err.message).toBe(`${path}: ${where}`);
    }
  });
});
