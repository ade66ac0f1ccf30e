// Centering of ratings before completion: the global mean or row and column biases, added back on output.

import type { Csr } from './csr.ts';

/** side-bias: the mean here; the kernel side's biases are the engine's, fitted with the sweeps (engine/side-bias.ts). */
export type CenterKind = 'none' | 'mean' | 'bias' | 'side-bias';

export interface Center {
  kind: CenterKind;
  mean: number;
  /** Column biases (kind 'bias'), indexed like the columns; empty otherwise. */
  colBias: Float64Array;
  /** Ridge on the biases, in counts of pseudo-entries (shrinks rarely observed rows/columns to 0). */
  reg: number;
}

const BIAS_PASSES = 10;
export const BIAS_REG = 5;

/**
 * The observed entries (i, j, v), i and j in the input's rows and columns, every call visiting
 * them in the same order, and each row's (each column's) entries in ascending columns (rows): a
 * CSR in row order, or a spilled load's transposed chunks. Sums per row and per column then run in
 * the same order either way, so the centering comes out with the same bits.
 */
export type EntryVisitor = (visit: (i: number, j: number, v: number) => void) => void;

/** The entries of a CSR matrix, row after row. */
export function csrEntries(m: Csr): EntryVisitor {
  return (visit) => {
    for (let i = 0; i < m.nRows; i++) {
      for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) visit(i, m.colIdx[p]!, m.values[p]!);
    }
  };
}

/**
 * Fits the centering on the observed entries (rows of m): the mean; for 'bias' also column biases
 * c_j by a few alternating ridge passes (as for a biased baseline predictor), and the row biases
 * follow from c (rowBiases), so a new row's bias is computed exactly as a training row's.
 */
export function fitCenter(m: Csr, kind: CenterKind): Center {
  return fitCenterEntries(csrEntries(m), m.nRows, m.nCols, kind);
}

/** fitCenter over entries given by a visitor (see EntryVisitor), nRows x nCols. */
export function fitCenterEntries(each: EntryVisitor, nRows: number, nCols: number, kind: CenterKind): Center {
  let mean = 0;
  if (kind !== 'none') {
    // a sum of row sums: the same bits whichever way round the entries are visited
    const rowSum = new Float64Array(nRows);
    let nnz = 0;
    each((i, _j, v) => {
      rowSum[i] += v;
      nnz++;
    });
    mean = nnz > 0 ? sumInOrder(rowSum) / nnz : 0;
  }
  const colBias = new Float64Array(kind === 'bias' ? nCols : 0);
  if (kind === 'bias') {
    const rowBias = new Float64Array(nRows);
    const colSum = new Float64Array(nCols);
    const colCount = new Float64Array(nCols);
    for (let pass = 0; pass < BIAS_PASSES; pass++) {
      rowBiasesEntries(each, nRows, { kind, mean, colBias, reg: BIAS_REG }, rowBias);
      colSum.fill(0);
      colCount.fill(0);
      each((i, j, v) => {
        colSum[j] += v - mean - rowBias[i]!;
        colCount[j]++;
      });
      for (let j = 0; j < nCols; j++) colBias[j] = colSum[j]! / (colCount[j]! + BIAS_REG);
    }
  }
  return { kind, mean, colBias, reg: BIAS_REG };
}

/** Row biases given the mean and column biases: b_i = sum_j (y_ij - mean - c_j) / (k_i + reg). */
export function rowBiases(m: Csr, c: Center, out: Float64Array): Float64Array {
  return rowBiasesEntries(csrEntries(m), m.nRows, c, out);
}

/** rowBiases over entries given by a visitor. */
export function rowBiasesEntries(each: EntryVisitor, nRows: number, c: Center, out: Float64Array): Float64Array {
  out.fill(0);
  if (c.kind !== 'bias') return out;
  const count = new Float64Array(nRows);
  each((i, j, v) => {
    out[i] += v - c.mean - c.colBias[j]!;
    count[i]++;
  });
  for (let i = 0; i < nRows; i++) out[i] = out[i]! / (count[i]! + c.reg);
  return out;
}

/** The offset mean + b_i + c_j of each observed entry removed: a new CSR with the residuals. */
export function centered(m: Csr, c: Center, rowBias: Float64Array): Csr {
  const values = new Float64Array(m.values.length);
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      values[p] = m.values[p]! - offset(c, rowBias, i, m.colIdx[p]!);
    }
  }
  return { nRows: m.nRows, nCols: m.nCols, rowPtr: m.rowPtr, colIdx: m.colIdx, values };
}

export function offset(c: Center, rowBias: Float64Array, i: number, j: number): number {
  if (c.kind === 'none') return 0;
  if (c.kind === 'mean' || c.kind === 'side-bias') return c.mean;
  return c.mean + rowBias[i]! + c.colBias[j]!;
}

/** Adds the offsets back to predictions at (row, col) pairs; pairs with an index < 0 stay as they are. */
export function uncenter(c: Center, rowBias: Float64Array, rows: Int32Array, cols: Int32Array, pred: Float64Array): Float64Array {
  for (let e = 0; e < pred.length; e++) {
    const i = rows[e]!;
    const j = cols[e]!;
    if (i < 0 || j < 0) continue;
    pred[e] = pred[e]! + offset(c, rowBias, i, j);
  }
  return pred;
}

/** Values clipped into [lo, hi] in place (a rating scale); NaN stays NaN; no range: as they are. */
export function clipTo(range: readonly [number, number] | undefined, values: Float64Array): Float64Array {
  if (range === undefined) return values;
  const [lo, hi] = range;
  for (let e = 0; e < values.length; e++) {
    const v = values[e]!;
    if (v < lo) values[e] = lo;
    else if (v > hi) values[e] = hi;
  }
  return values;
}

export function sumInOrder(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}
