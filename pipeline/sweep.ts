// The phases of one lin-RFM sweep over typed arrays: row solves, AGOP (streamed or factored), next kernel.

import {
  accumulateQJs, createRowSolver, daxpy, dgemm, dgemmPackB, dgemmPacked, dgemmPackedFree, dsyrk, kernelImpl, type PackedB, type RowSolver,
} from '../kernels/index.ts';
import { dpotrf, dpotrs } from '../kernels/chol.ts';
import { dsympow } from '../kernels/eig.ts';
import { dsqrtmNewtonSchulz, newtonSchulzSteps, newtonSchulzWork } from '../kernels/sqrtm.ts';
import { dgathersymlower, dsymmetrize } from '../kernels/sym.ts';
import { nnzOf, type Csr } from './csr.ts';

export type AgopPath = 'streamed' | 'factored';

/** Scratch for the per-row solves, sized by the longest row. */
export interface RowScratch {
  sub: Float64Array;
}

export function rowScratch(maxRow: number): RowScratch {
  return { sub: new Float64Array(Math.max(1, maxRow * maxRow)) };
}

export function maxRowLength(m: Csr): number {
  let k = 0;
  for (let i = 0; i < m.nRows; i++) k = Math.max(k, m.rowPtr[i + 1]! - m.rowPtr[i]!);
  return k;
}

/**
 * Solves (K[idx, idx] + lambda I) a = y for one row whose k observed columns are idx = colIdx[p0..p0+k)
 * and values y = values[p0..p0+k), writing a into out[outOffset..]. If the Cholesky factorisation
 * fails (K is only positive semidefinite and lambda can be tiny), the ridge is raised tenfold until
 * it succeeds; the return value is the ridge actually used, so callers can count fallbacks.
 */
export function solveRow(
  d: number,
  K: Float64Array,
  lambda: number,
  k: number,
  colIdx: Int32Array,
  values: Float64Array,
  p0: number,
  scratch: RowScratch,
  out: Float64Array,
  outOffset: number,
): number {
  const sub = scratch.sub;
  let ridge = lambda;
  for (let attempt = 0; ; attempt++) {
    dgathersymlower(k, colIdx, p0, K, d, 0, sub, k, 0);
    for (let q = 0; q < k; q++) sub[q * k + q] += ridge;
    if (dpotrf(k, sub, k, 0) === 0) break;
    if (attempt >= 40) {
      // K is not even near-semidefinite (non-finite entries): leave a zero coefficient vector.
      out.fill(0, outOffset, outOffset + k);
      return Number.POSITIVE_INFINITY;
    }
    ridge = Math.max(ridge * 10, 1e-12);
  }
  for (let q = 0; q < k; q++) out[outOffset + q] = values[p0 + q]!;
  dpotrs(k, sub, k, 0, out, 1, outOffset);
  return ridge;
}

/** Phase 1: coefficients a_i for rows [r0, r1) of the training matrix, stored next to its values. */
export function solveRows(
  d: number,
  K: Float64Array,
  lambda: number,
  train: Csr,
  a: Float64Array,
  r0: number,
  r1: number,
  scratch: RowScratch,
): number {
  let fallbacks = 0;
  const { rowPtr, colIdx, values } = train;
  for (let i = r0; i < r1; i++) {
    const p0 = rowPtr[i]!;
    const k = rowPtr[i + 1]! - p0;
    if (k === 0) continue;
    if (solveRow(d, K, lambda, k, colIdx, values, p0, scratch, a, p0) !== lambda) fallbacks++;
  }
  return fallbacks;
}

/**
 * Prediction of entry (i, j) from row i's coefficients: sum_l a_il (K + lambda I)[l, j]. For an
 * observed j this is the put-back value itself (up to rounding); callers put observed values back.
 */
export function predictEntry(d: number, K: Float64Array, lambda: number, m: Csr, a: Float64Array, i: number, j: number): number {
  let s = 0;
  const jd = j * d;
  for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
    const l = m.colIdx[p]!;
    // K is symmetric: read row j (contiguous) instead of column j.
    s += a[p]! * (K[jd + l]! + (l === j ? lambda : 0));
  }
  return s;
}

/** Flop estimates of the two ways to form the AGOP (multiply-adds count as 2). */
export function agopCosts(m: Csr): { streamed: number; factored: number } {
  const d = m.nCols;
  const n = m.nRows;
  const nnz = nnzOf(m);
  let sumK2 = 0;
  for (let i = 0; i < n; i++) {
    const k = m.rowPtr[i + 1]! - m.rowPtr[i]!;
    sumK2 += k * k;
  }
  return {
    // completed rows (an axpy of length d per observed entry) + the Gram matrix (SYRK, one triangle)
    streamed: 2 * d * nnz + n * d * (d + 1),
    // the scatter of a a^T + two d x d products
    factored: 2 * sumK2 + 4 * d * d * d,
  };
}

export function chooseAgopPath(m: Csr): AgopPath {
  const c = agopCosts(m);
  return c.factored < c.streamed ? 'factored' : 'streamed';
}

/**
 * AGOP by streamed rows: completes `chunkRows` rows at a time as Yhat_c = S_c K with the observed
 * values put back literally (which is the same as S_c (K + lambda I)), and accumulates G += Yhat_c^T Yhat_c. G = Yhat^T Yhat / n.
 * ybuf holds chunkRows x d.
 */
export function agopStreamed(
  d: number,
  K: Float64Array,
  m: Csr,
  a: Float64Array,
  chunkRows: number,
  ybuf: Float64Array,
  G: Float64Array,
): Float64Array {
  const n = m.nRows;
  G.fill(0, 0, d * d);
  for (let c0 = 0; c0 < n; c0 += chunkRows) {
    const c1 = Math.min(n, c0 + chunkRows);
    const rows = c1 - c0;
    yhatRows(d, K, m, a, c0, c1, ybuf, 0);
    dsyrk(true, d, rows, 1, ybuf, d, 0, 1, G, d, 0);
  }
  const inv = 1 / n;
  for (let q = 0; q < d * d; q++) G[q] *= inv;
  return G;
}

/**
 * AGOP in factored form: Q = sum_i a_i a_i^T scattered on Omega_i x Omega_i, then
 * G = (K + lambda I) Q (K + lambda I) / n, symmetrised (rounding makes the product slightly
 * asymmetric and, left alone, the asymmetry grows over sweeps). Adds lambda to K's diagonal and
 * removes it again; Q and T are d x d work buffers.
 */
export function agopFactored(
  d: number,
  K: Float64Array,
  lambda: number,
  m: Csr,
  a: Float64Array,
  cols: ColumnIndex,
  Q: Float64Array,
  T: Float64Array,
  G: Float64Array,
): Float64Array {
  const n = m.nRows;
  accumulateQ(d, m, a, cols, Q, 0, d);
  const saved = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    saved[j] = K[j * d + j]!;
    K[j * d + j] += lambda;
  }
  dgemm(false, false, d, d, d, 1, Q, d, 0, K, d, 0, 0, T, d, 0);
  dgemm(false, false, d, d, d, 1 / n, K, d, 0, T, d, 0, 0, G, d, 0);
  for (let j = 0; j < d; j++) K[j * d + j] = saved[j]!;
  return dsymmetrize(d, G, d, 0);
}

/** Column access to a CSR matrix: for column j, the rows holding it and the entries' CSR positions. */
export interface ColumnIndex {
  colPtr: Int32Array;
  rowOf: Int32Array;
  posOf: Int32Array;
}

export function columnIndex(m: Csr): ColumnIndex {
  const nnz = nnzOf(m);
  return columnIndexInto(m, new Int32Array(m.nCols + 1), new Int32Array(nnz), new Int32Array(nnz));
}

/** columnIndex into given arrays (colPtr: nCols + 1; rowOf, posOf: one per entry), which it returns. */
export function columnIndexInto(m: Csr, colPtr: Int32Array, rowOf: Int32Array, posOf: Int32Array): ColumnIndex {
  const nnz = nnzOf(m);
  colPtr.fill(0);
  for (let p = 0; p < nnz; p++) colPtr[m.colIdx[p]! + 1]!++;
  for (let j = 0; j < m.nCols; j++) colPtr[j + 1]! += colPtr[j]!;
  const next = colPtr.slice(0, m.nCols);
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      const t = next[m.colIdx[p]!]!++;
      rowOf[t] = i;
      posOf[t] = p;
    }
  }
  return { colPtr, rowOf, posOf };
}

/**
 * Rows [j0, j1) of Q = sum_i a_i a_i^T (scattered on Omega_i x Omega_i): row j of Q sums a_ij a_i over
 * the rows i that observe j, in ascending i. Working a row of Q at a time keeps the writes in cache
 * (scattering whole outer products into a large Q misses cache on nearly every update), and gives
 * each row of Q one owner and one summation order, whatever the partition.
 */
export function accumulateQ(d: number, m: Csr, a: Float64Array, cols: ColumnIndex, Q: Float64Array, j0: number, j1: number, zero = true): Float64Array {
  return accumulateQJs(d, m.rowPtr, m.colIdx, cols.colPtr, cols.rowOf, cols.posOf, a, j0, j1, Q, zero);
}

/** Scratch for the next-kernel step when alpha != 1/2 (an eigendecomposition of G, or Newton-Schulz). */
export interface PowerScratch {
  V: Float64Array;
  w: Float64Array;
  work: Float64Array;
}

export function powerScratch(d: number): PowerScratch {
  return { V: new Float64Array(d * d), w: new Float64Array(d), work: new Float64Array(d * d + d) };
}

/** How a half-integer power G^(m/2) gets its square root: by eigendecomposition or by products only. */
export type RootMethod = 'auto' | 'eig' | 'newton-schulz';

export interface PowerOptions {
  /**
   * 'eig' takes every power, whole ones included, through the eigendecomposition (the IRLS way);
   * 'newton-schulz' takes the square root of half-integer powers by products only; 'auto' (the
   * default) does the latter when its predicted product count is below an eigendecomposition's cost.
   */
  root?: RootMethod;
  /**
   * The ridge the next kernel will be used with (same units as G's root). Newton-Schulz then
   * resolves K only to ROOT_RESOLUTION of it (see nextKernelPower); without it, to rounding.
   */
  lambda?: number;
}

/**
 * The eigendecomposition path's time in d x d products, on this machine (Node 20, 2 shared cores,
 * min of interleaved runs, d = 100 to 1000): 41 to 79 with the WASM products, and Newton-Schulz
 * took 0.56-0.8 of its time at 12-13 steps, 0.73-0.92 at 16-17, 0.9-1.1 at 21-22, at every d (both
 * are ~d^3, so there is no crossover in d, only in steps). 3 k < 60 picks it up to 19 steps.
 * With the TypeScript products (~10x slower, the eigensolver unchanged) it is 7 to 11: never.
 */
const EIG_PRODUCTS = kernelImpl === 'wasm' ? 60 : 8;
/**
 * Newton-Schulz resolves the root's eigenvalues to sqrt(shift) / 2 with shift = (ROOT_RESOLUTION
 * lambda)^2, i.e. to 5% of the ridge the solves add anyway: G's eigenvalues far below the shift
 * (the rank-r part's rounding-level tail) are where the unscaled iteration spends its steps.
 * Measured (alpha 1/4, no momentum, 100 x 100 rank 5, 4,000 observed, seeds 1-3): 383, 475, 269
 * sweeps against the eigendecomposition's 391, 484, 271, the same sweeps to test MSE 1e-3 and
 * final test MSEs equal to two digits.
 */
export const ROOT_RESOLUTION = 0.1;
const EPS = 2.220446049250313e-16;

/**
 * K = G^(2 alpha) with negative eigenvalues clipped at 0; returns 0, or the eigensolver's status.
 * When 2 alpha is a whole number the power is a chain of products (G is positive semidefinite, so
 * no clipping is needed) and stays SVD-free; when it is a half-integer, G^(1/2) can come from the
 * Newton-Schulz iteration (products only). That one computes
 *   R = (G + mu I)^(1/2) - (mu / 2) (G + mu I)^(-1/2),  mu = max((ROOT_RESOLUTION lambda)^2, 4 d eps ||G||_F),
 * whose eigenvalues are within sqrt(mu) / 2 of G^(1/2)'s (and within mu^2 / (8 x^(3/2)) for the
 * eigenvalues x >> mu), and whose scaled iteration needs ~log(||G|| / mu) / log(2.6) steps; the floor
 * keeps G's rounding-level negative eigenvalues out of the iteration. When G + (mu / 2) I is not
 * positive definite, or the iteration reports failure, the eigendecomposition takes over.
 */
export function nextKernelPower(d: number, G: Float64Array, alpha: number, K: Float64Array, s: PowerScratch, o: PowerOptions = {}): number {
  const m = 2 * alpha;
  const root = o.root ?? 'auto';
  const whole = Number.isInteger(m) && m >= 1 && m <= 8;
  const half = !whole && Number.isInteger(2 * m) && m > 0 && m <= 8;
  if (root !== 'eig' && (whole || half)) {
    const dd = d * d;
    let done = whole;
    if (half) {
      let f2 = 0;
      for (let q = 0; q < dd; q++) f2 += G[q]! * G[q]!;
      const fro = Math.sqrt(f2);
      const res = o.lambda === undefined ? 0 : ROOT_RESOLUTION * o.lambda;
      const mu = Math.max(res * res, 4 * d * EPS * fro);
      const tol = 1e-10;
      // ||G + mu I||_F bounds the iteration's scale from above, so this over-counts by a step at most.
      const steps = newtonSchulzSteps(mu / (2 * (fro + Math.sqrt(d) * mu)), tol);
      // the iteration's products (3 a step, the first 1), the Cholesky check (~2), then G^floor(m)
      const products = 3 * steps - 2 + 2 + Math.floor(m);
      if (root === 'newton-schulz' || products < EIG_PRODUCTS) {
        // The iteration assumes G + mu I >= mu / 2; Cholesky of G + (mu / 2) I is the exact test. An
        // extrapolated G (momentum) fails it often, by eigenvalues down to -4 lambda^2: no shift the
        // ridge tolerates covers those, so the eigendecomposition clips them.
        s.V.set(G.subarray(0, dd));
        for (let i = 0; i < d; i++) s.V[i * d + i] += 0.5 * mu;
        if (dpotrf(d, s.V, d, 0) !== 0) return dsympow(d, G, d, 0, m, K, d, 0, s.V, s.w, s.work);
        done = dsqrtmNewtonSchulz(d, G, K, newtonSchulzWork(4 * dd), { shift: mu, lower: mu / 2, tol, unshift: true }) >= 0;
      }
    }
    if (done) {
      // whole: K = G G ... G (m factors); half-integer: K = R G ... G (floor(m) factors of G)
      if (whole) K.set(G.subarray(0, dd));
      for (let q = whole ? 1 : 0; q < Math.floor(m); q++) {
        dgemm(false, false, d, d, d, 1, K, d, 0, G, d, 0, 0, s.work, d, 0);
        K.set(s.work.subarray(0, dd));
      }
      // products of a symmetric matrix with itself are symmetric only up to rounding
      dsymmetrize(d, K, d, 0);
      return 0;
    }
  }
  return dsympow(d, G, d, 0, m, K, d, 0, s.V, s.w, s.work);
}

// ---- A sweep as blocks: work units whose boundaries depend on the data, never on the worker count ----
//
// Every block owns a fixed set of output elements and sums each of them in a fixed order, so the
// result is bit-identical however the blocks are spread over workers (DESIGN.md, section 4). The
// in-process engine runs the very same blocks inline.

/** Everything the blocks of one run read and write; over SharedArrayBuffers when workers share them. */
export interface SweepArrays {
  d: number;
  train: Csr;
  /** Coefficients a_i, next to train.values. */
  a: Float64Array;
  /** Held-out entries, ascending by row. */
  valRow: Int32Array;
  valCol: Int32Array;
  valValue: Float64Array;
  /** Column access to train (factored path only). */
  cols: ColumnIndex | null;
  /** The d x d matrices (kernel, AGOP, extrapolation, Q, T); blocks name them by index. */
  mats: Float64Array[];
  /** Rows of Yhat, superRows x d (streamed path only). */
  ybuf: Float64Array;
  maxRow: number;
}

export type Block =
  /**
   * Row solves of rows [r0, r1) with kernel mats[K], and the squared error of held-out entries
   * [v0, v1) (those rows'); with `yhat`, also those rows of Yhat into ybuf (one super-chunk of all rows).
   */
  | { kind: 'solve'; K: number; lambda: number; r0: number; r1: number; v0: number; v1: number; yhat: boolean; runKey: number; kKey: number }
  /** Rows [r0, r1) of Yhat = S K with the observed values put back, into ybuf from its row r0 - s0. */
  | { kind: 'yhat'; K: number; r0: number; r1: number; s0: number }
  /**
   * Rows [r0, r1), columns [0, r1) of G += Yhat_s^T Yhat_s, for the `rows` rows of ybuf, chunkRows at a
   * time (the order, and so the bits, of the former dsyrk over chunks). `first` zeroes the block;
   * `last` scales it by `scale` and mirrors its strict lower part onto the upper triangle.
   */
  | { kind: 'gram'; G: number; r0: number; r1: number; rows: number; chunkRows: number; first: boolean; last: boolean; scale: number }
  /**
   * Rows [r0, r1) of Q = sum_i a_i a_i^T into mats[Q] over the rows of train; `zero` clears them
   * first, else they are added to (the next chunk of rows of a spilled run).
   */
  | { kind: 'q'; Q: number; r0: number; r1: number; zero: boolean }
  /**
   * Rows [r0, r1) of mats[C] = alpha mats[A] mats[B]. bKey names mats[B]'s current contents, unique
   * in the process (nextOperandKey), so that a thread keeps one resident copy of it per phase.
   */
  | { kind: 'gemm'; A: number; B: number; C: number; r0: number; r1: number; alpha: number; bKey: number }
  /** G <- (G + G^T) / 2 on the pairs (i, j), j < i, i in [r0, r1). */
  | { kind: 'symm'; G: number; r0: number; r1: number };

export interface BlockResult {
  /** Row solves that needed a larger ridge (solve blocks). */
  fallbacks: number;
  /** Squared error of the block's held-out entries, summed in entry order (solve blocks). */
  se: number;
}

/**
 * Per-thread state for running blocks: the arrays of the current task, row scratch, and a gemm's
 * B operand packed for the kernels (named by its bKey, unique in the process).
 */
export interface BlockContext {
  arrays: SweepArrays;
  scratch: RowScratch;
  packed: { key: number; B: PackedB } | null;
  /** The batched row solver over this run's training rows (its own copies of the CSR and of K). */
  solver: { runKey: number; kKey: number; rs: RowSolver } | null;
}

export function blockContext(arrays: SweepArrays): BlockContext {
  return { arrays, scratch: rowScratch(arrays.maxRow), packed: null, solver: null };
}

/**
 * The row solver for a run (keyed by runKey: shared-memory views differ per task, the run does not),
 * loaded with the kernel whose contents kKey names. It gives the same bits as solveRows.
 */
function rowSolverFor(ctx: BlockContext, s: SweepArrays, K: Float64Array, runKey: number, kKey: number): RowSolver {
  if (ctx.solver === null || ctx.solver.runKey !== runKey) {
    ctx.solver?.rs.dispose();
    ctx.solver = { runKey, kKey: Number.NaN, rs: createRowSolver(s.d, s.train.rowPtr, s.train.colIdx, s.train.values) };
  }
  if (ctx.solver.kKey !== kKey) {
    ctx.solver.rs.setKernel(K);
    ctx.solver.kKey = kKey;
  }
  return ctx.solver.rs;
}

/** Points the context at another run's arrays (a worker serves runs one after another), keeping what it can. */
export function retargetBlockContext(ctx: BlockContext, arrays: SweepArrays): BlockContext {
  ctx.arrays = arrays;
  if (ctx.scratch.sub.length < arrays.maxRow * arrays.maxRow) ctx.scratch = rowScratch(arrays.maxRow);
  return ctx;
}

/** Releases the context's wasm memory. */
export function disposeBlockContext(ctx: BlockContext): void {
  if (ctx.packed !== null) dgemmPackedFree(ctx.packed.B);
  ctx.packed = null;
  ctx.solver?.rs.dispose();
  ctx.solver = null;
}

const NO_RESULT: BlockResult = { fallbacks: 0, se: 0 };

export function runBlock(ctx: BlockContext, b: Block): BlockResult {
  const s = ctx.arrays;
  const d = s.d;
  switch (b.kind) {
    case 'solve': {
      const K = s.mats[b.K]!;
      const fallbacks = kernelImpl === 'wasm'
        ? rowSolverFor(ctx, s, K, b.runKey, b.kKey).solve(b.lambda, b.r0, b.r1, s.a)
        : solveRows(d, K, b.lambda, s.train, s.a, b.r0, b.r1, ctx.scratch);
      let se = 0;
      for (let e = b.v0; e < b.v1; e++) {
        const r = predictEntry(d, K, b.lambda, s.train, s.a, s.valRow[e]!, s.valCol[e]!) - s.valValue[e]!;
        se += r * r;
      }
      if (b.yhat) yhatRows(d, K, s.train, s.a, b.r0, b.r1, s.ybuf, b.r0 * d);
      return { fallbacks, se };
    }
    case 'yhat':
      yhatRows(d, s.mats[b.K]!, s.train, s.a, b.r0, b.r1, s.ybuf, (b.r0 - b.s0) * d);
      return NO_RESULT;
    case 'gram':
      gramBlock(d, s.ybuf, b.rows, b.chunkRows, s.mats[b.G]!, b.r0, b.r1, b.first, b.last, b.scale);
      return NO_RESULT;
    case 'q':
      accumulateQ(d, s.train, s.a, s.cols!, s.mats[b.Q]!, b.r0, b.r1, b.zero);
      return NO_RESULT;
    case 'gemm': {
      const B = packedOperand(ctx, s.mats[b.B]!, b.bKey, d);
      dgemmPacked(false, b.r1 - b.r0, d, d, b.alpha, s.mats[b.A]!, d, b.r0 * d, B, 0, s.mats[b.C]!, d, b.r0 * d);
      return NO_RESULT;
    }
    case 'symm':
      symmetrizeRows(d, s.mats[b.G]!, b.r0, b.r1);
      return NO_RESULT;
  }
}

let operandKeys = 0;

/** A fresh key naming the contents of a gemm block's B operand (see Block). */
export function nextOperandKey(): number {
  return ++operandKeys;
}

// A gemm row block given B itself would copy (under the WASM kernels) and pack all of B for its
// few rows. Pack it once per thread and phase instead, repacked when the engine says B's contents
// changed (a new key); dgemmPacked gives the bits of dgemm either way.
function packedOperand(ctx: BlockContext, x: Float64Array, key: number, d: number): PackedB {
  if (ctx.packed === null || ctx.packed.key !== key) {
    ctx.packed = { key, B: dgemmPackB(false, d, d, x, d, 0, ctx.packed?.B) };
  }
  return ctx.packed.B;
}

/** Rows [r0, r1) of Yhat = S K with the observed values put back, written from y[yoff] on (d per row). */
export function yhatRows(d: number, K: Float64Array, m: Csr, a: Float64Array, r0: number, r1: number, y: Float64Array, yoff: number): Float64Array {
  const { rowPtr, colIdx, values } = m;
  y.fill(0, yoff, yoff + (r1 - r0) * d);
  for (let i = r0; i < r1; i++) {
    const o = yoff + (i - r0) * d;
    const pe = rowPtr[i + 1]!;
    let p = rowPtr[i]!;
    // Four rows of K per pass over y: one load and store of y per four multiply-adds (1.6x faster
    // than four daxpy calls here). Left to right, y + s0 k0 + s1 k1 + ... rounds exactly as the
    // daxpy calls one after another would.
    for (; p + 4 <= pe; p += 4) {
      const s0 = a[p]!, s1 = a[p + 1]!, s2 = a[p + 2]!, s3 = a[p + 3]!;
      const k0 = colIdx[p]! * d, k1 = colIdx[p + 1]! * d, k2 = colIdx[p + 2]! * d, k3 = colIdx[p + 3]! * d;
      for (let j = 0; j < d; j++) {
        y[o + j] = y[o + j]! + s0 * K[k0 + j]! + s1 * K[k1 + j]! + s2 * K[k2 + j]! + s3 * K[k3 + j]!;
      }
    }
    for (; p < pe; p++) daxpy(d, a[p]!, K, 1, colIdx[p]! * d, y, 1, o);
    // The ridge term lambda a_il lands only on observed columns, which the put-back overwrites.
    for (let q = rowPtr[i]!; q < pe; q++) y[o + colIdx[q]!] = values[q]!;
  }
  return y;
}

/**
 * Rows [r0, r1), columns [0, r1) of G += Y^T Y over the first `rows` rows of Y (d columns), one dgemm
 * per chunk of chunkRows rows. Each element is summed over the chunks in order, and within a chunk in
 * the kernels' fixed depth order, whatever the row range: the same bits as dsyrk over the same
 * chunks (whose lower triangle is this very product; test/pipeline/pool.test.ts checks it).
 */
export function gramBlock(
  d: number, Y: Float64Array, rows: number, chunkRows: number, G: Float64Array,
  r0: number, r1: number, first: boolean, last: boolean, scale: number,
): Float64Array {
  const m = r1 - r0;
  if (m <= 0) return G;
  if (first) for (let i = r0; i < r1; i++) G.fill(0, i * d, i * d + r1);
  for (let c0 = 0; c0 < rows; c0 += chunkRows) {
    const k = Math.min(rows, c0 + chunkRows) - c0;
    dgemm(true, false, m, r1, k, 1, Y, d, c0 * d + r0, Y, d, c0 * d, 1, G, d, r0 * d);
  }
  if (last) {
    for (let i = r0; i < r1; i++) {
      const row = i * d;
      for (let j = 0; j < i; j++) {
        const v = G[row + j]! * scale;
        G[row + j] = v;
        G[j * d + i] = v;
      }
      G[row + i] *= scale;
    }
  }
  return G;
}

/** (G + G^T) / 2 on the pairs (i, j), j < i, for rows i in [r0, r1): the pairs of dsymmetrize, so the same bits. */
export function symmetrizeRows(d: number, G: Float64Array, r0: number, r1: number): Float64Array {
  for (let i = r0; i < r1; i++) {
    const row = i * d;
    for (let j = 0; j < i; j++) {
      const t = j * d + i;
      const v = 0.5 * (G[row + j]! + G[t]!);
      G[row + j] = v;
      G[t] = v;
    }
  }
  return G;
}

// ---- planning: block boundaries from the data's shape alone ----

/** Splits [0, count) into ranges of about equal cost (at least minCost each, at most maxBlocks of them). */
export function splitByCost(count: number, cost: (i: number) => number, minCost: number, maxBlocks: number, align = 1): Array<[number, number]> {
  let total = 0;
  for (let i = 0; i < count; i++) total += cost(i);
  const blocks = Math.max(1, Math.min(maxBlocks, Math.floor(total / minCost), Math.ceil(count / align)));
  const out: Array<[number, number]> = [];
  const target = total / blocks;
  let start = 0;
  let acc = 0;
  for (let i = 0; i < count; i++) {
    acc += cost(i);
    const end = i + 1;
    if (acc >= target * (out.length + 1) && end < count && (end - start) >= align && end % align === 0) {
      out.push([start, end]);
      start = end;
    }
  }
  if (start < count) out.push([start, count]);
  return out;
}

/** Splits the rows of a d x d lower triangle into ranges of about equal area (multiples of 4 rows). */
export function splitTriangle(d: number, blocks: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let r0 = 0;
  for (let b = 1; b <= blocks && r0 < d; b++) {
    const r1 = b === blocks ? d : Math.min(d, 4 * Math.round((d * Math.sqrt(b / blocks)) / 4));
    if (r1 > r0) {
      out.push([r0, r1]);
      r0 = r1;
    }
  }
  return out;
}

/** Row ranges of the factored path's d x d GEMM phases (planSweep's plan.gemm): multiples of 4 rows. */
export function gemmRowRanges(d: number, blockFlops: number): Array<[number, number]> {
  const rowBlocks = Math.max(1, Math.min(32, Math.ceil(d / 64), Math.floor((d * d * d) / blockFlops)));
  return splitByCost(d, () => 2 * d * d, blockFlops, rowBlocks, 4);
}

/** Where each phase's blocks begin and end for one run. */
export interface SweepPlan {
  /** Row ranges of the solves, with their held-out entry ranges. */
  solve: Array<[number, number, number, number]>;
  /** Streamed path: super-chunks of rows [s0, s1), each with its Yhat row ranges. */
  superChunks: Array<{ s0: number; s1: number; rows: Array<[number, number]> }>;
  /** Streamed path: Gram row ranges (lower triangle, equal area). */
  gram: Array<[number, number]>;
  /** Factored path: Q row ranges. */
  q: Array<[number, number]>;
  /** Factored path: GEMM output row ranges. */
  gemm: Array<[number, number]>;
  /** Symmetrisation row ranges. */
  symm: Array<[number, number]>;
  /** Rows of ybuf (streamed path; 0 on the factored one). */
  superRows: number;
  /** Streamed path with all rows in one super-chunk: the solve blocks complete their rows of Yhat too. */
  fuseYhat: boolean;
}

// At most this many blocks a phase. Like blockFlops, a constant: the blocks must not depend on
// the number of workers.
const MAX_BLOCKS = 256;
// The streamed path completes this many Yhat elements between Gram updates (64 MB).
const SUPER_CHUNK_ELEMENTS = 1 << 23;

/**
 * The blocks of every phase for one run: from the data's shape and the two sizes alone. blockFlops
 * is the least work per block: a pool task costs ~0.15 ms of messaging, about 1e6 flops of the
 * JavaScript parts (row solves, Yhat rows, Q).
 */
export function planSweep(
  m: Csr, valRow: Int32Array, path: AgopPath, chunkRows: number, cols: ColumnIndex | null, blockFlops: number,
  superChunkRows = 0,
): SweepPlan {
  const d = m.nCols;
  const n = m.nRows;
  const { rowPtr } = m;
  const kOf = (i: number): number => rowPtr[i + 1]! - rowPtr[i]!;
  const lowerBound = (x: number): number => {
    let lo = 0;
    let hi = valRow.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (valRow[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const chunksPerSuper = superChunkRows > 0
    ? Math.ceil(superChunkRows / chunkRows)
    : Math.max(1, Math.floor(SUPER_CHUNK_ELEMENTS / (d * chunkRows)));
  const superRows = path === 'streamed' ? Math.min(n, chunksPerSuper * chunkRows) : 0;
  const fuseYhat = path === 'streamed' && superRows === n;
  // gather (k^2/2) + Cholesky (k^3/3) + solve (2 k^2), and a little per row; then maybe its Yhat row
  const solveCost = (i: number): number => {
    const k = kOf(i);
    return (k * k * k) / 3 + 2.5 * k * k + 16 + (fuseYhat ? 2 * d * (k + 1) : 0);
  };
  const solve = splitByCost(n, solveCost, blockFlops, MAX_BLOCKS).map(
    ([r0, r1]): [number, number, number, number] => [r0, r1, lowerBound(r0), lowerBound(r1)],
  );
  // Row blocks of a d x d product: 64 rows or so each, enough for the kernels to amortise packing B.
  const rowBlocks = Math.max(1, Math.min(32, Math.ceil(d / 64), Math.floor((d * d * d) / blockFlops)));
  const plan: SweepPlan = { solve, superChunks: [], gram: [], q: [], gemm: [], symm: [], superRows, fuseYhat };
  if (path === 'streamed') {
    for (let s0 = 0; s0 < n; s0 += plan.superRows) {
      const s1 = Math.min(n, s0 + plan.superRows);
      const rows = splitByCost(s1 - s0, (i) => 2 * d * (kOf(s0 + i) + 1), blockFlops, MAX_BLOCKS).map(
        ([a, b]): [number, number] => [s0 + a, s0 + b],
      );
      plan.superChunks.push({ s0, s1, rows });
    }
    plan.gram = splitTriangle(d, rowBlocks);
  } else {
    const c = cols!;
    const qCost = (j: number): number => {
      let w = 16;
      for (let t = c.colPtr[j]!; t < c.colPtr[j + 1]!; t++) w += 2 * kOf(c.rowOf[t]!);
      return w;
    };
    plan.q = splitByCost(d, qCost, blockFlops, MAX_BLOCKS);
    plan.gemm = gemmRowRanges(d, blockFlops);
    plan.symm = splitTriangle(d, Math.min(8, rowBlocks));
  }
  return plan;
}
