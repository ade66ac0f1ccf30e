// The low-rank kernel's row solves by Woodbury in TypeScript: one row (woodburyRow, also what
// prediction folds rows in with) and rows of a CSR matrix (woodburyRowsJs, the form
// kernels/wasm-woodbury.ts runs in WASM).

import { dsyrk } from './blas.ts';
import { dpotrf, dpotrs } from './chol.ts';

/** Scratch of one row solve, for rows of up to `maxRow` entries and rank k. */
export interface WoodburyScratch {
  W: Float64Array;
  M: Float64Array;
  t: Float64Array;
}

export function woodburyScratch(maxRow: number, k: number): WoodburyScratch {
  return { W: new Float64Array(Math.max(1, maxRow * k)), M: new Float64Array(Math.max(1, k * k)), t: new Float64Array(Math.max(1, k)) };
}

/**
 * Rows at least this long form W^T W with dsyrk (shorter ones cost less than the call). Measured at
 * 20,000 x 2,000, 50 entries a row, k = 20: the row solves took 0.3-0.5 s a sweep with the kernel
 * from 8 entries, 0.8-1.1 s with the loop.
 */
const SYRK_ROWS = 8;

/**
 * One row's solve, entries [p0, p0 + len) of cols/vals, with the kernel U diag(sw^2) U^T + (c -
 * lambda) I (U d x k row-major): W = U_O diag(sw), t = (c I + W^T W)^-1 W^T y and a = (y - W t) / c
 * (|O| k^2 + k^3 / 3 flops) into a[aOff..]; and bs = w * U_O^T a = sw * t into bs at bOff (W^T a = t
 * exactly, which also spares the cancellation in y - W t when c is small). Returns false (and
 * zeros) when c I + W^T W does not factor.
 */
export function woodburyRow(
  U: Float64Array, k: number, sw: Float64Array, c: number, cols: Int32Array, vals: Float64Array, p0: number, len: number,
  s: WoodburyScratch, a: Float64Array, aOff: number, bs: Float64Array, bOff: number,
): boolean {
  const { W, M, t } = s;
  // W = U_O diag(sqrt w), t = W^T y
  t.fill(0, 0, k);
  for (let q = 0; q < len; q++) {
    const uj = cols[p0 + q]! * k;
    const y = vals[p0 + q]!;
    const wq = q * k;
    for (let r = 0; r < k; r++) {
      const x = U[uj + r]! * sw[r]!;
      W[wq + r] = x;
      t[r] += x * y;
    }
  }
  // M = c I + W^T W (lower triangle)
  if (len >= SYRK_ROWS) dsyrk(true, k, len, 1, W, k, 0, 0, M, k, 0);
  else {
    M.fill(0, 0, k * k);
    for (let q = 0; q < len; q++) {
      for (let r = 0; r < k; r++) {
        const wr = W[q * k + r]!;
        for (let u = 0; u <= r; u++) M[r * k + u] += wr * W[q * k + u]!;
      }
    }
  }
  for (let r = 0; r < k; r++) M[r * k + r] += c;
  if (dpotrf(k, M, k, 0) !== 0) {
    a.fill(0, aOff, aOff + len);
    bs.fill(0, bOff, bOff + k);
    return false;
  }
  dpotrs(k, M, k, 0, t, 1, 0);
  for (let q = 0; q < len; q++) {
    let wz = 0;
    const wq = q * k;
    for (let r = 0; r < k; r++) wz += W[wq + r]! * t[r]!;
    a[aOff + q] = (vals[p0 + q]! - wz) / c;
  }
  for (let r = 0; r < k; r++) bs[bOff + r] = sw[r]! * t[r]!;
  return true;
}

/**
 * Rows [r0, r1) of the CSR matrix (rowPtr, colIdx, vals) by woodburyRow: a like vals, bs n x k.
 * `uKey` names U's contents (the WASM form keeps one copy per key; unused here). Returns the rows
 * that did not factor.
 */
export function woodburyRowsJs(
  U: Float64Array, uKey: number, k: number, sw: Float64Array, c: number,
  rowPtr: Int32Array, colIdx: Int32Array, vals: Float64Array, r0: number, r1: number, a: Float64Array, bs: Float64Array,
): number {
  void uKey;
  let maxRow = 0;
  for (let i = r0; i < r1; i++) maxRow = Math.max(maxRow, rowPtr[i + 1]! - rowPtr[i]!);
  const s = woodburyScratch(maxRow, k);
  let failed = 0;
  for (let i = r0; i < r1; i++) {
    const p0 = rowPtr[i]!;
    const len = rowPtr[i + 1]! - p0;
    if (len > 0 && !woodburyRow(U, k, sw, c, colIdx, vals, p0, len, s, a, p0, bs, i * k)) failed++;
  }
  return failed;
}
