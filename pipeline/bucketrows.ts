// The spilled load's buckets of rows: one bucket sorted and its repeated pairs settled, the message
// for a repeat, and the sorted rows read back a range at a time for the outputs.

import { Errors, quote } from '../config/errors.ts';
import { readChunk } from '../io/chunks.ts';
import type { EntryLocator } from '../io/entries.ts';
import type { KeyDictionary } from '../io/key-dictionary.ts';
import { csrFromTripletsCarrying } from '../engine/csr.ts';

/** Row ranges' observed columns gathered from the sorted buckets, the last bucket read kept for the next range. */
export interface RowBucket {
  r0: number;
  r1: number;
  path: string;
  nnz: number;
}

export class ObservedBuckets {
  #cache: { index: number; col: Int32Array } | null = null;

  constructor(private readonly buckets: RowBucket[], private readonly rowLen: Int32Array) {}

  rows(r0: number, r1: number): { rowPtr: Int32Array; colIdx: Int32Array } {
    const { rowLen } = this;
    const rowPtr = new Int32Array(r1 - r0 + 1);
    for (let i = r0; i < r1; i++) rowPtr[i - r0 + 1] = rowPtr[i - r0]! + rowLen[i]!;
    const colIdx = new Int32Array(rowPtr[r1 - r0]!);
    for (const [index, b] of this.buckets.entries()) {
      if (b.r1 <= r0 || b.r0 >= r1) continue;
      if (this.#cache?.index !== index) this.#cache = { index, col: readChunk(b.path, b.nnz).col };
      const col = this.#cache.col;
      let p = 0;
      for (let i = b.r0; i < b.r1; i++) {
        const len = rowLen[i]!;
        if (i >= r0 && i < r1) colIdx.set(col.subarray(p, p + len), rowPtr[i - r0]!);
        p += len;
      }
    }
    return { rowPtr, colIdx };
  }
}

/**
 * One bucket's entries sorted by row, then column (stable: repeats of a pair stay in input order),
 * repeats merged as the policy says; with 'error' the first repeat (by input position) is returned.
 */
export function sortBucket(
  e: { row: Int32Array; col: Int32Array; value: Float64Array; ordinal: Float64Array; n: number },
  rows: number,
  d: number,
  policy: 'error' | 'last' | 'mean',
): { row: Int32Array; col: Int32Array; value: Float64Array; twin: { earlier: number; later: number; row: number; c: number } | null } {
  const n = e.n;
  // stable: repeats of a pair stay in input order, as the in-memory merge takes them
  const { csr, carried: ord } = csrFromTripletsCarrying(rows, d, n, e.row, e.col, e.value, e.ordinal);
  const { rowPtr: ptr, colIdx: col, values: value } = csr;
  // merge runs of one column
  const outRow = new Int32Array(n);
  let m = 0;
  let twin: { earlier: number; later: number; row: number; c: number } | null = null;
  for (let i = 0; i < rows; i++) {
    let p = ptr[i]!;
    while (p < ptr[i + 1]!) {
      let q = p + 1;
      let sum = value[p]!;
      while (q < ptr[i + 1]! && col[q] === col[p]) {
        if (policy === 'last') sum = value[q]!;
        else sum += value[q]!;
        q++;
      }
      if (q - p > 1 && policy === 'error' && (twin === null || ord[p + 1]! < twin.later)) {
        twin = { earlier: ord[p]!, later: ord[p + 1]!, row: i, c: col[p]! };
      }
      outRow[m] = i;
      col[m] = col[p]!;
      value[m] = policy === 'mean' ? sum / (q - p) : sum;
      m++;
      p = q;
    }
  }
  return { row: outRow.slice(0, m), col: col.slice(0, m), value: value.slice(0, m), twin };
}

export function duplicateError(
  o: { columns: { rowKey: string; colKey: string } }, locate: EntryLocator, t: { earlier: number; later: number; r: number; c: number },
  transposed: boolean, rowKeys: KeyDictionary, colKeys: KeyDictionary,
): Error {
  const later = locate(t.later);
  const earlier = locate(t.earlier);
  const row = rowKeys.key(transposed ? t.c : t.r);
  const col = colKeys.key(transposed ? t.r : t.c);
  const other = earlier.file === later.file ? '' : ` of ${earlier.file}`;
  return Errors.BadData(later.file, later.where,
    `duplicate pair (${o.columns.rowKey} ${quote(row)}, ${o.columns.colKey} ${quote(col)}), first seen at ${earlier.where}${other}`);
}
