// Oriented, scaled training/validation split of the observed entries (the engine's view of the data).

import { nnzOf, transposeCsr, type Csr } from './csr.ts';
import { NumericError } from './errors.ts';

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

/** How prepareData may treat its input and where it puts the split. */
export interface PrepareHow {
  /** The caller hands the input over (keeps no reference): its values are scaled in place, not copied. */
  owned?: boolean;
  /** The training matrix and the held-out entries go to SharedArrayBuffers (for a pool's threads). */
  shared?: boolean;
}

/** Allocates float64 arrays, in shared memory (for a pool's threads) when `shared`. */
export function float64s(shared: boolean): (len: number) => Float64Array {
  return (len) => (shared ? new Float64Array(new SharedArrayBuffer(len * 8)) : new Float64Array(len));
}

/** Allocates int32 arrays, in shared memory when `shared`. */
export function int32s(shared: boolean): (len: number) => Int32Array {
  return (len) => (shared ? new Int32Array(new SharedArrayBuffer(len * 4)) : new Int32Array(len));
}

/**
 * Orients the matrix (rows = the larger side), scales values to mean square 1, and holds out about
 * fraction * nnz entries for validation (see HoldOut). The split is drawn on the oriented matrix,
 * so a transposed input gives exactly the same internal problem; it is decided row by row in
 * ascending order, so a spilled load that sees the rows a chunk at a time draws the same split.
 */
export function prepareData(input: Csr, validationFraction: number, seed: number, how: PrepareHow = {}): PreparedData {
  const transposed = input.nCols > input.nRows;
  const oriented = transposed ? transposeCsr(input) : input;
  const nnz = nnzOf(oriented);
  if (nnz === 0) throw new RangeError('no observed entries');
  const scale = rootMeanSquare(oriented.values, nnz);
  // a transposed copy is the engine's own, as is an input handed over (how.owned): scaled in place
  const values = transposed || how.owned === true ? oriented.values.subarray(0, nnz) : new Float64Array(nnz);
  for (let p = 0; p < nnz; p++) values[p] = oriented.values[p]! / scale;
  const i32 = int32s(how.shared === true);
  const f64 = float64s(how.shared === true);
  const all: Csr = { nRows: oriented.nRows, nCols: oriented.nCols, rowPtr: oriented.rowPtr, colIdx: oriented.colIdx, values };

  const { nRows, nCols, rowPtr, colIdx } = all;
  const colCount = new Int32Array(nCols);
  for (let p = 0; p < nnz; p++) colCount[colIdx[p]!]!++;
  const hold = new HoldOut(colCount, nnz, validationFraction, seed);
  const held = new Uint8Array(nnz);
  for (let i = 0; i < nRows; i++) hold.row(i, colIdx, rowPtr[i]!, rowPtr[i + 1]!, held);
  const nVal = hold.count;
  const tPtr = i32(nRows + 1);
  const tCol = i32(nnz - nVal);
  const tVal = f64(nnz - nVal);
  const valRow = i32(nVal);
  const valCol = i32(nVal);
  const valValue = f64(nVal);
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

/** The root mean square of values[0, n) summed in order (1 when it is 0): the unit the engine works in. */
export function rootMeanSquare(values: Float64Array, n: number): number {
  const sum = new SquareSum();
  for (let p = 0; p < n; p++) sum.add(values[p]!);
  return sum.rms(n, 'the observed values after centering');
}

/** Below this mean square the plain sum has lost precision to underflow (squares of values under ~1e-145). */
const PLAIN_MS_MIN = 1e-290;

/**
 * A sum of squares that neither overflows nor underflows: kept plainly, which gives the bits every
 * ordinary run is recorded with, and as LAPACK's dlassq keeps it (t^2 s with t the largest magnitude
 * so far), which the root mean square falls back on when the plain sum overflowed or underflowed
 * (a value of 1e300, or values all near 1e-200).
 */
export class SquareSum {
  #plain = 0;
  #t = 0;
  #s = 1;
  /** The first non-finite value added, if any. */
  #bad: { value: number } | null = null;

  add(v: number): void {
    this.#plain += v * v;
    if (!Number.isFinite(v)) {
      this.#bad ??= { value: v };
      return;
    }
    const a = Math.abs(v);
    if (a === 0) return;
    if (this.#t < a) {
      this.#s = 1 + this.#s * (this.#t / a) ** 2;
      this.#t = a;
    } else this.#s += (a / this.#t) ** 2;
  }

  /** The root mean square of n values added (1 when all were 0); a NumericError names `what` when one was not finite. */
  rms(n: number, what: string): number {
    if (this.#bad !== null) throw new NumericError(`${what} hold a non-finite value (${this.#bad.value})`);
    const ms = this.#plain / n;
    if (Number.isFinite(ms) && ms >= PLAIN_MS_MIN) return Math.sqrt(ms);
    if (this.#t === 0) return 1;
    return this.#t * Math.sqrt(this.#s / n);
  }
}

/**
 * The validation split, drawn a row at a time in ascending rows (columns ascending within a row)
 * by selection sampling: entry (i, j) is held out when u * (entries not yet visited) < (entries
 * still wanted), u a seeded hash of (i, j) in [0, 1), and its row and its column both keep at least
 * one other entry. It holds out round(fraction * nnz) entries unless the row and column rule turns
 * too many down near the end. A hash instead of a shuffle of all entries needs no array of nnz
 * positions, so the split can be drawn over chunks of rows as well as over the whole matrix, with
 * the same result.
 */
export class HoldOut {
  /** Entries held out so far. */
  count = 0;
  readonly #colLeft: Int32Array | Float64Array;
  readonly #want: number;
  #unvisited: number;
  readonly #key: number;

  /** colCount: entries per column of the whole (oriented) matrix; nnz: all its entries. */
  constructor(colCount: Int32Array | Float64Array, nnz: number, fraction: number, seed: number) {
    this.#colLeft = colCount.slice();
    this.#want = Math.round(Math.max(0, Math.min(1, fraction)) * nnz);
    this.#unvisited = nnz;
    this.#key = mix32((seed ^ 0x5eed5) >>> 0);
  }

  /** Marks held[p] = 1 for the held-out entries p in [p0, p1), row i's entries (columns ascending). */
  row(i: number, colIdx: Int32Array, p0: number, p1: number, held: Uint8Array): void {
    let rowLeft = p1 - p0;
    const ki = Math.imul(mix32(this.#key ^ i), 0x9e3779b1);
    for (let p = p0; p < p1; p++, this.#unvisited--) {
      const need = this.#want - this.count;
      if (need <= 0 || rowLeft < 2) continue;
      const j = colIdx[p]!;
      if (this.#colLeft[j]! > 1 && mix32(ki ^ j) * this.#unvisited < need * 4294967296) {
        held[p] = 1;
        rowLeft--;
        this.#colLeft[j]!--;
        this.count++;
      }
    }
  }
}

/** A 32-bit integer hash (murmur3's finaliser), as an unsigned number. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
