// The kernel side's biases fitted along with the sweeps (docs/DESIGN.md, "Side biases"): a bias
// c_j for each column j of the oriented matrix (the items of a users x items matrix), taken out of
// the targets the row solves fit, so that the kernel keeps its directions for the signal.

import { BIAS_REG, fitCenter } from './center.ts';
import type { PreparedData } from './split.ts';

/**
 * The biases and the training and held-out values they are taken from. The prepared data's values
 * become the targets `value - c_j` (apply); the original values are kept, so the targets are
 * always one subtraction from them whatever the biases went through, and a resumed run, handed the
 * biases, has the targets of the run it continues.
 */
export class SideBias {
  /** The biases the next sweep's targets are taken with (oriented columns, the engine's units). */
  readonly current: Float64Array;
  /** The biases of the last fit's targets (what a previous fit was made with, for a resumed run). */
  readonly fitted: Float64Array;
  /** The biases of the best sweep's targets. */
  readonly best: Float64Array;
  /** The training entries' mean, which the biases' ridge pulls them towards. */
  readonly mean: number;
  readonly #count: Float64Array;
  readonly #train0: Float64Array;
  readonly #val0: Float64Array;

  constructor(private readonly data: PreparedData) {
    const { train, valValue } = data;
    const d = train.nCols;
    this.#train0 = train.values.slice();
    this.#val0 = valValue.slice();
    this.#count = new Float64Array(d);
    for (let q = 0; q < train.colIdx.length; q++) this.#count[train.colIdx[q]!]++;
    // the start: the biases of a row-and-column bias fit of the training entries, the rows' dropped
    // (they are the kernel's: each row's coefficient on the all-ones direction)
    const c = fitCenter(train, 'bias');
    this.mean = c.mean;
    this.current = Float64Array.from(c.colBias, (b) => c.mean + b);
    this.fitted = this.current.slice();
    this.best = this.current.slice();
  }

  /** The training and held-out targets taken with the biases b: value - b_j. */
  apply(b: Float64Array): void {
    const { train, valCol, valValue } = this.data;
    this.fitted.set(b);
    for (let q = 0; q < train.colIdx.length; q++) train.values[q] = this.#train0[q]! - b[train.colIdx[q]!]!;
    for (let q = 0; q < valValue.length; q++) valValue[q] = this.#val0[q]! - b[valCol[q]!]!;
  }

  /**
   * One bias half step from a fit of the current targets (a next to the training values, `c` the
   * fit's tauK + lambda): the part of an entry the kernel's directions do not explain is c a_ij
   * (c a = y - U_O bs, engine/lowrank.ts refitRows), so with m the mean,
   * c_j <- m + (n_j (c_j - m) + sum_i c a_ij) / (n_j + reg), the minimiser of
   * sum_i (value_ij - c_j - (U_O bs)_ij)^2 + reg (c_j - m)^2. Sums in entry order.
   */
  step(a: Float64Array, c: number): void {
    const { colIdx } = this.data.train;
    const sum = new Float64Array(this.current.length);
    for (let q = 0; q < colIdx.length; q++) sum[colIdx[q]!] += c * a[q]!;
    const b = this.fitted;
    const m = this.mean;
    for (let j = 0; j < b.length; j++) this.current[j] = m + (this.#count[j]! * (b[j]! - m) + sum[j]!) / (this.#count[j]! + BIAS_REG);
  }

  /**
   * After the sweeps: the best sweep's biases in the data's units (what the model keeps), and every
   * observed entry (what predictions are made from) taken with them as a fold-in takes a new row's
   * (engine/prediction.ts predictWithModel: value / scale - bias / scale), so the two agree to the bit.
   */
  finish(): Float64Array {
    const { all, scale } = this.data;
    const model = Float64Array.from(this.best, (b) => b * scale);
    const b = Float64Array.from(model, (x) => x / scale);
    this.apply(b);
    // all.values are the engine's own (engine/split.ts prepareData): taken in place, once
    for (let q = 0; q < all.colIdx.length; q++) all.values[q] = all.values[q]! - b[all.colIdx[q]!]!;
    return model;
  }

  /** The biases as state: [current, fitted, best]. */
  pack(): Float64Array {
    const d = this.current.length;
    const out = new Float64Array(3 * d);
    out.set(this.current, 0);
    out.set(this.fitted, d);
    out.set(this.best, 2 * d);
    return out;
  }

  /** Takes up packed biases; false when they are not this run's length. */
  unpack(x: Float64Array): boolean {
    const d = this.current.length;
    if (x.length !== 3 * d) return false;
    this.current.set(x.subarray(0, d));
    this.best.set(x.subarray(2 * d));
    this.apply(x.subarray(d, 2 * d));
    return true;
  }
}

/** Adds the biases b (the data's units) back to predictions in the data's units at (row, col) pairs of the input. */
export function addSideBias(b: Float64Array, transposed: boolean, rows: Int32Array, cols: Int32Array, out: Float64Array): Float64Array {
  const d = b.length;
  for (let e = 0; e < out.length; e++) {
    const j = transposed ? rows[e]! : cols[e]!;
    if (j >= 0 && j < d) out[e] = out[e]! + b[j]!;
  }
  return out;
}
