// stripPageIndex / pageIndexPatch: the footer loses only its page-index references and still reads the same.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pageIndexPatch, stripPageIndex } from '../../io/parquet-footer.ts';
import { readTripletsParquet } from '../../io/parquet.ts';
import { fileFacts, vec, writeParquetWasm, writeParquetjs } from './parquet-fixtures.ts';
import { seededRandom, tempDir } from './helpers.ts';

function footerOf(bytes: Uint8Array): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
  return bytes.subarray(bytes.length - 8 - length, bytes.length - 8);
}

function wasmFile(rows: number, groupSize: number): string {
  const path = join(tempDir(), 'indexed.parquet');
  writeParquetWasm(path, [
    { name: 'row', vector: vec.utf8(Array.from({ length: rows }, (_, i) => `u${i}`)) },
    { name: 'col', vector: vec.int64(Array.from({ length: rows }, (_, i) => i * 3)) },
    { name: 'value', vector: vec.float64(Array.from({ length: rows }, (_, i) => i / 8)) },
  ], { maxRowGroupSize: groupSize });
  return path;
}

describe('stripPageIndex', () => {
  it('drops the page-index fields of a parquet-wasm footer; the patched file has the same row groups', async () => {
    const path = wasmFile(100, 30);
    const bytes = readFileSync(path);
    const stripped = stripPageIndex(footerOf(bytes));
    expect(stripped).not.toBeNull();
    expect(stripped!.length).toBeLessThan(footerOf(bytes).length);
    // Nothing left to strip the second time.
    expect(stripPageIndex(stripped!)).toBeNull();
    const patch = await pageIndexPatch(path);
    expect(patch).not.toBeNull();
    const patched = join(tempDir(), 'patched.parquet');
    writeFileSync(patched, Buffer.concat([bytes.subarray(0, patch!.keep), patch!.footer]));
    expect((await fileFacts(patched)).rowGroups).toEqual([30, 30, 30, 10]);
    const [a, b] = await Promise.all([readTripletsParquet(path), readTripletsParquet(patched)]);
    expect(b).toEqual({ ...a, file: patched });
  });

  it('returns null for footers without a page index and for garbage, never throws', ({ annotate }) => {
    const rand = seededRandom('stripPageIndex garbage', 4242, annotate);
    const footer = footerOf(readFileSync(wasmFile(10, 10)));
    for (let trial = 0; trial < 300; trial++) {
      const junk = footer.slice();
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) junk[Math.floor(rand() * junk.length)] = Math.floor(rand() * 256);
      expect(() => stripPageIndex(junk)).not.toThrow();
      expect(() => stripPageIndex(junk.subarray(0, Math.floor(rand() * junk.length)))).not.toThrow();
    }
    expect(stripPageIndex(new Uint8Array(0))).toBeNull();
    expect(stripPageIndex(Uint8Array.of(0x19, 0xfc))).toBeNull();
  });

  it('makes parquetjs-lite files with their malformed ColumnIndex readable', async () => {
    const path = join(tempDir(), 'pjs.parquet');
    await writeParquetjs(path, [
      { name: 'row', type: 'UTF8', values: ['a', 'b', 'c'] },
      { name: 'col', type: 'INT32', values: [1, 2, 3] },
      { name: 'value', type: 'DOUBLE', values: [0.5, 1.5, 2.5] },
    ], { rowGroupSize: 2 });
    expect(await pageIndexPatch(path)).not.toBeNull();
    const t = await readTripletsParquet(path);
    expect(t.rowKeys.keys()).toEqual(['a', 'b', 'c']);
    expect(Array.from(t.values)).toEqual([0.5, 1.5, 2.5]);
  });

  it('leaves files that are not Parquet alone', async () => {
    const path = join(tempDir(), 'x.parquet');
    writeFileSync(path, 'row,col,value\n1,2,3\n');
    expect(await pageIndexPatch(path)).toBeNull();
  });
});
