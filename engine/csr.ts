// Compressed sparse rows over typed arrays: building from triplets, transposing, row views.

export interface Csr {
  readonly nRows: number;
  readonly nCols: number;
  /** rowPtr[i]..rowPtr[i+1] is row i's slice of colIdx/values; length nRows + 1. */
  readonly rowPtr: Int32Array;
  /** Column indices, ascending within each row. */
  readonly colIdx: Int32Array;
  readonly values: Float64Array;
}

export function nnzOf(m: Csr): number {
  return m.rowPtr[m.nRows]!;
}

/**
 * Builds a CSR matrix from (row, col, value) triplets by a counting sort on rows, then a sort of
 * each row's columns; both sorts are stable, so repeats of a pair stay in input order. Throws on
 * out-of-range indices; duplicate pairs are the caller's concern (io/ rejects them with the
 * offending line).
 */
export function csrFromTriplets(
  nRows: number,
  nCols: number,
  nnz: number,
  rows: Int32Array,
  cols: Int32Array,
  values: Float64Array,
): Csr {
  return groupTriplets(nRows, nCols, nnz, rows, cols, values, null).csr;
}

/** csrFromTriplets carrying one more number per entry along (where each entry was in the input, say). */
export function csrFromTripletsCarrying(
  nRows: number,
  nCols: number,
  nnz: number,
  rows: Int32Array,
  cols: Int32Array,
  values: Float64Array,
  carry: Float64Array,
): { csr: Csr; carried: Float64Array } {
  return groupTriplets(nRows, nCols, nnz, rows, cols, values, carry) as { csr: Csr; carried: Float64Array };
}

function groupTriplets(
  nRows: number,
  nCols: number,
  nnz: number,
  rows: Int32Array,
  cols: Int32Array,
  values: Float64Array,
  carry: Float64Array | null,
): { csr: Csr; carried: Float64Array | null } {
  const rowPtr = new Int32Array(nRows + 1);
  for (let e = 0; e < nnz; e++) {
    const r = rows[e]!;
    const c = cols[e]!;
    if (r < 0 || r >= nRows || c < 0 || c >= nCols) {
      throw new RangeError(`triplet ${e}: (${r}, ${c}) outside a ${nRows} x ${nCols} matrix`);
    }
    rowPtr[r + 1]!++;
  }
  for (let i = 0; i < nRows; i++) rowPtr[i + 1]! += rowPtr[i]!;
  const next = rowPtr.slice(0, nRows);
  const colIdx = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  const carried = carry === null ? null : new Float64Array(nnz);
  for (let e = 0; e < nnz; e++) {
    const p = next[rows[e]!]!++;
    colIdx[p] = cols[e]!;
    vals[p] = values[e]!;
    if (carried !== null) carried[p] = carry![e]!;
  }
  const csr = { nRows, nCols, rowPtr, colIdx, values: vals };
  sortRows(csr, carried);
  return { csr, carried };
}

/** Sorts the columns of every row ascending (insertion sort, stable: rows are short and usually sorted). */
function sortRows(m: Csr, carried: Float64Array | null): void {
  const { rowPtr, colIdx, values } = m;
  for (let i = 0; i < m.nRows; i++) {
    const lo = rowPtr[i]!;
    const hi = rowPtr[i + 1]!;
    for (let p = lo + 1; p < hi; p++) {
      const c = colIdx[p]!;
      const v = values[p]!;
      const w = carried === null ? 0 : carried[p]!;
      let q = p - 1;
      while (q >= lo && colIdx[q]! > c) {
        colIdx[q + 1] = colIdx[q]!;
        values[q + 1] = values[q]!;
        if (carried !== null) carried[q + 1] = carried[q]!;
        q--;
      }
      colIdx[q + 1] = c;
      values[q + 1] = v;
      if (carried !== null) carried[q + 1] = w;
    }
  }
}

/** The transpose, again with ascending columns within each row (a counting sort keeps them ordered). */
export function transposeCsr(m: Csr): Csr {
  const nnz = nnzOf(m);
  const rowPtr = new Int32Array(m.nCols + 1);
  for (let p = 0; p < nnz; p++) rowPtr[m.colIdx[p]! + 1]!++;
  for (let j = 0; j < m.nCols; j++) rowPtr[j + 1]! += rowPtr[j]!;
  const next = rowPtr.slice(0, m.nCols);
  const colIdx = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      const q = next[m.colIdx[p]!]!++;
      colIdx[q] = i;
      values[q] = m.values[p]!;
    }
  }
  return { nRows: m.nCols, nCols: m.nRows, rowPtr, colIdx, values };
}

/** Binary search for column j in row i; returns the entry position or -1. */
export function findEntry(m: Csr, i: number, j: number): number {
  let lo = m.rowPtr[i]!;
  let hi = m.rowPtr[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = m.colIdx[mid]!;
    if (c === j) return mid;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
