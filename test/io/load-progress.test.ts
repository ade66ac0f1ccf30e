// Load progress: the readers report the rows read so far as they go, ending at the row count; and
// the row counts Parquet footers declare, read before any data.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTripletsCsv } from '../../io/csv.ts';
import { countParquetRows, readTripletsParquet, writeTableParquetAtomic } from '../../io/parquet.ts';
import { footerRowCount } from '../../io/parquet-footer.ts';
import { hugeFooterFile } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'lin-rfm-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 5000;

describe('load progress', () => {
  it('CSV: non-decreasing counts ending at the number of data rows', async () => {
    const path = join(dir, 'a.csv');
    const lines = ['row,col,value'];
    for (let e = 0; e < N; e++) lines.push(`${e % 97},${Math.floor(e / 97)},${e * 0.5}`);
    writeFileSync(path, lines.join('\n') + '\n');
    const seen: number[] = [];
    const tri = await readTripletsCsv(path, { onProgress: (rows, file, files) => {
      expect([file, files]).toEqual([0, 1]);
      seen.push(rows);
    } });
    expect(tri.nnz).toBe(N);
    expect(seen.length).toBeGreaterThan(0);
    for (let k = 1; k < seen.length; k++) expect(seen[k]!).toBeGreaterThanOrEqual(seen[k - 1]!);
    expect(seen.at(-1)).toBe(N);
  });

  it('Parquet directory: counts across files, with the file number', async () => {
    const ds = join(dir, 'ds');
    mkdirSync(ds);
    for (const [f, start] of [['part-0.parquet', 0], ['part-1.parquet', N]] as const) {
      const rows = Int32Array.from({ length: N }, (_, e) => (start + e) % 113);
      const cols = Int32Array.from({ length: N }, (_, e) => Math.floor((start + e) / 113));
      await writeTableParquetAtomic(join(ds, f), [{ name: 'row', values: rows }, { name: 'col', values: cols }, { name: 'value', values: Float64Array.from(rows, (r) => r + 1) }]);
    }
    const seen: Array<[number, number, number]> = [];
    const tri = await readTripletsParquet(ds, { onProgress: (rows, file, files) => seen.push([rows, file, files]) });
    expect(tri.nnz).toBe(2 * N);
    expect(seen.at(-1)).toEqual([2 * N, 1, 2]);
    expect(seen.some(([r, f]) => f === 0 && r === N)).toBe(true);
    // the footers say the same, without reading the data
    expect(await countParquetRows(ds)).toBe(2 * N);
  });

  it('a footer declaring 3e9 rows (past 32 bits) is read exactly; a file without a footer gives null', async () => {
    const path = join(dir, 'huge.parquet');
    writeFileSync(path, hugeFooterFile(3e9));
    expect(await footerRowCount(path)).toBe(3e9);
    writeFileSync(join(dir, 'not.parquet'), 'no footer here at all');
    expect(await footerRowCount(join(dir, 'not.parquet'))).toBeNull();
  });
});
