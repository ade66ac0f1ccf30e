// The kernel side's biases fitted along with the sweeps (docs/DESIGN.md, "Side biases"): a bias
// c_j for each column j of the oriented matrix (the items of a users x items matrix), taken out of
// the targets the row solves fit, so that the kernel keeps its directions for the signal.

import { BIAS_REG, csrEntries, fitCenterEntries, type EntryVisitor } from './center.ts';
import type { PreparedData } from './split.ts';

/**
 * The biases, and the half step that moves them. Where the targets live is the caller's: `targets`
 * makes them `value - b_j` from the original values (in memory, inMemoryTargets; a spilled run's
 * chunks take them on load), always one subtraction from the originals whatever the biases went
 * through, so a resumed run, handed the biases, has the targets of the run it continues.
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
  readonly #sum: Float64Array;
  readonly #targets: (b: Float64Array) => void;

  /**
   * Starts from the column biases (plus the mean) of a row-and-column bias fit of the training
   * entries `each` (engine/center.ts), the rows' dropped: they are the kernel's, each row's
   * coefficient on the all-ones direction.
   */
  constructor(each: EntryVisitor, nRows: number, d: number, targets: (b: Float64Array) => void) {
    const c = fitCenterEntries(each, nRows, d, 'bias');
    this.mean = c.mean;
    this.current = Float64Array.from(c.colBias, (b) => c.mean + b);
    this.fitted = this.current.slice();
    this.best = this.current.slice();
    this.#count = new Float64Array(d);
    each((_i, j) => {
      this.#count[j]++;
    });
    this.#sum = new Float64Array(d);
    this.#targets = targets;
  }

  /** The targets taken with the biases b: value - b_j. */
  apply(b: Float64Array): void {
    this.fitted.set(b);
    this.#targets(this.fitted);
  }

  /**
   * The biases b for the next fit, whose solves take its targets themselves, each its rows' (a run
   * in memory: pipeline/lowrank-blocks.ts); the same targets as apply's.
   */
  use(b: Float64Array): void {
    this.fitted.set(b);
  }

  /** A fit's entries [0, len) of colIdx and a (c = its tauK + lambda) into the next half step (biasSums). */
  add(colIdx: Int32Array, a: Float64Array, c: number, len: number): void {
    this.addSums(biasSums(colIdx, a, c, len, this.#sum.length));
  }

  /** A share of the half step's sums (biasSums of a chunk: in memory one, spilled or on the cluster each chunk's, in chunk order). */
  addSums(x: Float64Array): void {
    for (let j = 0; j < x.length; j++) this.#sum[j] += x[j]!;
  }

  /**
   * The half step from the fit added: with m the mean, c_j <- m + (n_j (c_j - m) + sum_i c a_ij) /
   * (n_j + reg), the minimiser of sum_i (value_ij - c_j - (U_O bs)_ij)^2 + reg (c_j - m)^2. The
   * result is the next sweep's (current); the sums start again.
   */
  step(): void {
    const b = this.fitted;
    const m = this.mean;
    for (let j = 0; j < b.length; j++) this.current[j] = m + (this.#count[j]! * (b[j]! - m) + this.#sum[j]!) / (this.#count[j]! + BIAS_REG);
    this.#sum.fill(0);
  }

  /**
   * After the sweeps: the best sweep's biases in the data's units (what the model keeps), and the
   * targets taken with them as a fold-in takes a new row's (engine/prediction.ts predictWithModel:
   * value / scale - bias / scale), so the two agree to the bit. Returns both.
   */
  finish(scale: number): { model: Float64Array; engine: Float64Array } {
    const model = Float64Array.from(this.best, (b) => b * scale);
    const engine = Float64Array.from(model, (x) => x / scale);
    this.apply(engine);
    return { model, engine };
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

  /** Takes up packed biases (the targets become the last fit's); false when they are not this run's length. */
  unpack(x: Float64Array): boolean {
    const d = this.current.length;
    if (x.length !== 3 * d) return false;
    this.current.set(x.subarray(0, d));
    this.best.set(x.subarray(2 * d));
    this.apply(x.subarray(d, 2 * d));
    return true;
  }
}

/**
 * Side biases over prepared data in memory: the training and held-out values become the targets,
 * taken from copies of the originals (train0, val0); `all` (what predictions are made from) is
 * taken once, by takeAll, with the biases finish gives.
 */
export function inMemorySideBias(
  data: PreparedData, originals: { train0: Float64Array; val0: Float64Array },
): { side: SideBias; takeAll: (b: Float64Array) => void } {
  const { train, valCol, valValue, all } = data;
  const { train0, val0 } = originals;
  const side = new SideBias(csrEntries(train), train.nRows, train.nCols, (b) => {
    offsetInto(train0, train.colIdx, b, train.values, train0.length);
    offsetInto(val0, valCol, b, valValue, val0.length);
  });
  // all.values are the engine's own (engine/split.ts prepareData): taken in place, once
  const takeAll = (b: Float64Array): void => {
    offsetInto(all.values, all.colIdx, b, all.values, all.colIdx.length);
  };
  return { side, takeAll };
}

/**
 * A fit's share of the half step's sums, entries [0, len) of colIdx and a with c = its tauK + lambda:
 * c a = y - U_O bs (engine/lowrank.ts refitRows) is the part of an entry the kernel's directions
 * leave, summed into its column in entry order (a new d-vector; the same bits wherever it runs).
 */
export function biasSums(colIdx: Int32Array, a: Float64Array, c: number, len: number, d: number): Float64Array {
  const sum = new Float64Array(d);
  for (let q = 0; q < len; q++) sum[colIdx[q]!] += c * a[q]!;
  return sum;
}

/**
 * Values [0, len) taken with column offsets b into out: out_q = value_q - b_{col_q} (out may be the
 * values themselves). Every place the side biases meet the values (the in-memory targets, a spilled
 * chunk's reads, a cluster worker's chunk) goes through here: the same operation, the same bits.
 */
export function offsetInto(values: Float64Array, colIdx: Int32Array, b: Float64Array, out: Float64Array, len: number): Float64Array {
  for (let q = 0; q < len; q++) out[q] = values[q]! - b[colIdx[q]!]!;
  return out;
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
