// Predictions from a kernel: for rows in training (the model, a sweep's probe) and rows folded in.

import { uncenter, type Center } from './center.ts';
import type { Csr } from './csr.ts';
import { woodburyRow, woodburyScratch } from '../kernels/index.ts';
import type { LowRankFit, LowRankKernel } from './lowrank.ts';
import type { LinRfmModel } from './options.ts';
import { addSideBias } from './side-bias.ts';
import type { PreparedData } from './split.ts';
import { maxRowLength, rowScratch, solveRow } from './sweep.ts';

/**
 * Fold-in: predictions for (row, col) pairs of rows that were not in training, from their observed
 * entries alone (one small solve a row with the model's kernel; no refit). `observed` holds those
 * rows, with columns already mapped to the model's column indices, in the data's units.
 */
export function predictWithModel(model: LinRfmModel, observed: Csr, rows: Int32Array, cols: Int32Array, out?: Float64Array): Float64Array {
  if (model.transposed) throw new RangeError('the model\'s kernel is on the input\'s rows (it had more columns than rows): fold-in of new rows is not possible');
  // the kernel side's biases (engine/side-bias.ts) come out of the targets and back into the predictions
  const bias = model.bias ?? new Float64Array(0);
  const values = new Float64Array(observed.values.length);
  for (let p = 0; p < values.length; p++) values[p] = observed.values[p]! / model.scale - (bias.length > 0 ? bias[observed.colIdx[p]!]! / model.scale : 0);
  const all: Csr = { nRows: observed.nRows, nCols: model.d, rowPtr: observed.rowPtr, colIdx: observed.colIdx, values };
  const data: PreparedData = {
    transposed: false,
    scale: model.scale,
    all,
    train: all,
    valRow: new Int32Array(0),
    valCol: new Int32Array(0),
    valValue: new Float64Array(0),
  };
  const o = out ?? new Float64Array(rows.length);
  if (model.lowRank === undefined) return predictInput(data, model.K, model.lambda, null, false, rows, cols, o);
  predictLowRank(data, model.lowRank, model.lambda, null, false, rows, cols, o);
  return bias.length > 0 ? addSideBias(bias, false, rows, cols, o) : o;
}

/** Rows folded in together for top-k lists: one call of the fold-in, rows x candidates predictions. */
export const FOLD_ROWS = 256;

/** Rows `rows` of m as a CSR of their own (in that order). */
export function csrRows(m: Csr, rows: Int32Array): Csr {
  const rowPtr = new Int32Array(rows.length + 1);
  rows.forEach((i, q) => { rowPtr[q + 1] = rowPtr[q]! + m.rowPtr[i + 1]! - m.rowPtr[i]!; });
  const colIdx = new Int32Array(rowPtr[rows.length]!);
  const values = new Float64Array(rowPtr[rows.length]!);
  rows.forEach((i, q) => {
    colIdx.set(m.colIdx.subarray(m.rowPtr[i]!, m.rowPtr[i + 1]!), rowPtr[q]!);
    values.set(m.values.subarray(m.rowPtr[i]!, m.rowPtr[i + 1]!), rowPtr[q]!);
  });
  return { nRows: rows.length, nCols: m.nCols, rowPtr, colIdx, values };
}

/**
 * Each row q of `sub` (rows folded in, in the model's columns, centred) ranked by fold-in over the
 * candidate columns: the scores in the data's units (the centering's offsets added, rowBias[q] the
 * row's), the best k handed to `emit` in order (rank 1 first), ties to the lower column, a row's
 * observed columns left out with `excludeSeen`. Rows are independent: any grouping of the rows
 * gives the same lists.
 */
export function topKOfRows(
  model: LinRfmModel, sub: Csr, rowBias: Float64Array, center: Center, cands: Int32Array, k: number, excludeSeen: boolean,
  emit: (q: number, col: number, score: number, rank: number) => void,
): void {
  const n = sub.nRows;
  const m = cands.length;
  const pr = new Int32Array(n * m);
  const pc = new Int32Array(n * m);
  for (let q = 0; q < n; q++) {
    pr.fill(q, q * m, (q + 1) * m);
    pc.set(cands, q * m);
  }
  const pred = uncenter(center, rowBias, pr, pc, predictWithModel(model, sub, pr, pc));
  for (let q = 0; q < n; q++) {
    const seen = new Set(sub.colIdx.subarray(sub.rowPtr[q]!, sub.rowPtr[q + 1]!));
    const order: number[] = [];
    for (let e = 0; e < m; e++) if (!(excludeSeen && seen.has(cands[e]!))) order.push(e);
    const base = q * m;
    order.sort((a, b) => pred[base + b]! - pred[base + a]! || cands[a]! - cands[b]!);
    for (let r = 0; r < Math.min(k, order.length); r++) emit(q, cands[order[r]!]!, pred[base + order[r]!]!, r + 1);
  }
}

/** Pairs in input coordinates grouped by oriented row (a counting sort), so each row is solved once; out-of-range pairs get NaN. */
interface GroupedPairs {
  ocol: Int32Array;
  /** The pairs of row i are order[start[i] .. start[i + 1]). */
  start: Int32Array;
  order: Int32Array;
}

function groupPairs(data: PreparedData, n: number, d: number, rows: Int32Array, cols: Int32Array, out: Float64Array): GroupedPairs {
  const count = rows.length;
  const orow = new Int32Array(count);
  const ocol = new Int32Array(count);
  for (let e = 0; e < count; e++) {
    const i = data.transposed ? cols[e]! : rows[e]!;
    const j = data.transposed ? rows[e]! : cols[e]!;
    const ok = i >= 0 && i < n && j >= 0 && j < d;
    orow[e] = ok ? i : -1;
    ocol[e] = j;
    if (!ok) out[e] = Number.NaN;
  }
  return { ocol, ...rowOrder(n, count, (e) => orow[e]!) };
}

/**
 * Items 0..count-1 grouped by their row (rowOf: a row in 0..n-1, or -1 to leave one out), each
 * row's in their own order: row i's are order[start[i]..start[i+1]).
 */
export function rowOrder(n: number, count: number, rowOf: (e: number) => number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < count; e++) {
    const i = rowOf(e);
    if (i >= 0) start[i + 1]!++;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const order = new Int32Array(start[n]!);
  const next = start.slice(0, n);
  for (let e = 0; e < count; e++) {
    const i = rowOf(e);
    if (i >= 0) order[next[i]!++] = e;
  }
  return { start, order };
}

/**
 * Predictions at (row, col) pairs given in input coordinates. With `coef` (training coefficients)
 * each row's fit is the sweep's own; without, each row is solved afresh from all its observed
 * entries (training and validation). Observed entries are returned as observed. A row with no
 * observed entries, or an index out of range, predicts NaN.
 */
export function predictInput(
  data: PreparedData,
  K: Float64Array,
  lambda: number,
  coef: Float64Array | null,
  trainOnly: boolean,
  rows: Int32Array,
  cols: Int32Array,
  out: Float64Array,
): Float64Array {
  const m = trainOnly ? data.train : data.all;
  const n = m.nRows;
  const d = m.nCols;
  const { ocol, start, order } = groupPairs(data, n, d, rows, cols, out);
  const scratch = rowScratch(maxRowLength(m));
  const rowCoef = new Float64Array(maxRowLength(m));
  for (let i = 0; i < n; i++) {
    if (start[i] === start[i + 1]) continue;
    const p0 = m.rowPtr[i]!;
    const k = m.rowPtr[i + 1]! - p0;
    let a: Float64Array;
    let aOff: number;
    if (coef !== null) {
      a = coef;
      aOff = p0;
    } else {
      if (k > 0) solveRow(d, K, lambda, k, m.colIdx, m.values, p0, scratch, rowCoef, 0);
      a = rowCoef;
      aOff = 0;
    }
    for (let q = start[i]!; q < start[i + 1]!; q++) {
      const e = order[q]!;
      const j = ocol[e]!;
      if (k === 0) {
        out[e] = Number.NaN;
        continue;
      }
      let s = 0;
      let observed = -1;
      const jd = j * d;
      for (let p = 0; p < k; p++) {
        const l = m.colIdx[p0 + p]!;
        if (l === j) observed = p0 + p;
        s += a[aOff + p]! * K[jd + l]!;
      }
      out[e] = (observed >= 0 ? m.values[observed]! : s) * data.scale;
    }
  }
  return out;
}

/**
 * predictInput with a low-rank kernel: with `fit` (a sweep's, on the training rows) each row's bs_i
 * is the sweep's own; without, each row is solved afresh (Woodbury) from all its observed entries.
 * An unobserved entry is bs_i . U_j; observed entries are returned as observed.
 */
export function predictLowRank(
  data: PreparedData, K: LowRankKernel, lambda: number, fit: LowRankFit | null, trainOnly: boolean,
  rows: Int32Array, cols: Int32Array, out: Float64Array,
): Float64Array {
  const m = trainOnly ? data.train : data.all;
  const n = m.nRows;
  const { k, U } = K;
  const { ocol, start, order } = groupPairs(data, n, m.nCols, rows, cols, out);
  const maxRow = maxRowLength(m);
  const scratch = woodburyScratch(maxRow, k);
  const sw = Float64Array.from(K.w, Math.sqrt);
  const c = K.tauK + lambda;
  const a = new Float64Array(maxRow);
  const bsRow = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    if (start[i] === start[i + 1]) continue;
    const p0 = m.rowPtr[i]!;
    const len = m.rowPtr[i + 1]! - p0;
    let bs: Float64Array = bsRow;
    let bOff = 0;
    if (fit !== null) {
      bs = fit.bs;
      bOff = i * k;
    } else if (len > 0) woodburyRow(U, k, sw, c, m.colIdx, m.values, p0, len, scratch, a, 0, bsRow, 0);
    for (let q = start[i]!; q < start[i + 1]!; q++) {
      const e = order[q]!;
      const j = ocol[e]!;
      let v = Number.NaN;
      if (len > 0) {
        v = 0;
        for (let r = 0; r < k; r++) v += bs[bOff + r]! * U[j * k + r]!;
        for (let p = p0; p < p0 + len; p++) if (m.colIdx[p] === j) v = m.values[p]!;
      }
      out[e] = v * data.scale;
    }
  }
  return out;
}
