// Oriented, scaled training/validation split of the observed entries (the engine's view of the data).

import { Rng, shuffleInt32 } from '../kernels/random.ts';
import { nnzOf, transposeCsr, type Csr } from './csr.ts';

export interface PreparedData {
  /** True when the input was transposed so that the kernel side d is the smaller one. */
  transposed: boolean;
  /** Values are divided by this (the root mean square of all observed values). */
  scale: number;
  /** All observed entries, oriented and scaled: what predictions are made from. */
  all: Csr;
  /** The entries the sweeps fit. */
  train: Csr;
  /** Held-out entries, ascending by row then column. */
  valRow: Int32Array;
  valCol: Int32Array;
  valValue: Float64Array;
}

/**
 * Orients the matrix (rows = the larger side), scales values to mean square 1, and holds out
 * round(fraction * nnz) entries for validation. The split is drawn on the oriented matrix in
 * (row, column) order, so a transposed input gives exactly the same internal problem. An entry is
 * held out only if its row and its column both keep at least one training entry.
 */
export function prepareData(input: Csr, validationFraction: number, seed: number): PreparedData {
  const transposed = input.nCols > input.nRows;
  const oriented = transposed ? transposeCsr(input) : input;
  const nnz = nnzOf(oriented);
  if (nnz === 0) throw new RangeError('no observed entries');
  let ss = 0;
  for (let p = 0; p < nnz; p++) ss += oriented.values[p]! * oriented.values[p]!;
  const ms = ss / nnz;
  const scale = ms > 0 ? Math.sqrt(ms) : 1;
  const values = new Float64Array(nnz);
  for (let p = 0; p < nnz; p++) values[p] = oriented.values[p]! / scale;
  const all: Csr = { nRows: oriented.nRows, nCols: oriented.nCols, rowPtr: oriented.rowPtr, colIdx: oriented.colIdx, values };

  const { nRows, nCols, rowPtr, colIdx } = all;
  const rowOf = new Int32Array(nnz);
  for (let i = 0; i < nRows; i++) rowOf.fill(i, rowPtr[i]!, rowPtr[i + 1]!);
  const rowLeft = new Int32Array(nRows);
  for (let i = 0; i < nRows; i++) rowLeft[i] = rowPtr[i + 1]! - rowPtr[i]!;
  const colLeft = new Int32Array(nCols);
  for (let p = 0; p < nnz; p++) colLeft[colIdx[p]!]!++;

  const want = Math.round(Math.max(0, Math.min(1, validationFraction)) * nnz);
  const held = new Uint8Array(nnz);
  let nVal = 0;
  if (want > 0) {
    const order = new Int32Array(nnz);
    for (let p = 0; p < nnz; p++) order[p] = p;
    shuffleInt32(nnz, order, new Rng(seed ^ 0x5eed5));
    for (let q = 0; q < nnz && nVal < want; q++) {
      const p = order[q]!;
      const i = rowOf[p]!;
      const j = colIdx[p]!;
      if (rowLeft[i]! > 1 && colLeft[j]! > 1) {
        held[p] = 1;
        rowLeft[i]!--;
        colLeft[j]!--;
        nVal++;
      }
    }
  }
  const tPtr = new Int32Array(nRows + 1);
  const tCol = new Int32Array(nnz - nVal);
  const tVal = new Float64Array(nnz - nVal);
  const valRow = new Int32Array(nVal);
  const valCol = new Int32Array(nVal);
  const valValue = new Float64Array(nVal);
  let t = 0;
  let v = 0;
  for (let i = 0; i < nRows; i++) {
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      if (held[p]) {
        valRow[v] = i;
        valCol[v] = colIdx[p]!;
        valValue[v++] = values[p]!;
      } else {
        tCol[t] = colIdx[p]!;
        tVal[t++] = values[p]!;
      }
    }
    tPtr[i + 1] = t;
  }
  const train: Csr = { nRows, nCols, rowPtr: tPtr, colIdx: tCol, values: tVal };
  return { transposed, scale, all, train, valRow, valCol, valValue };
}
