// A sweep as blocks: the arrays a run's blocks share, the block kinds, and running one block (in this
// thread or a pool worker).

import { dgemm, dgemmPackB, dgemmPacked, dgemmPackedFree, createRowSolver, kernelImpl, type PackedB, type RowSolver } from '../kernels/index.ts';
import type { Center } from '../engine/center.ts';
import type { Csr } from '../engine/csr.ts';
import type { LinRfmModel } from '../engine/options.ts';
import { runLowRankBlock, type LowRankArrays, type LowRankBlock } from './lowrank-blocks.ts';
import { accumulateQ, predictEntry, rowScratch, solveRows, yhatRows, type ColumnIndex, type RowScratch } from '../engine/sweep.ts';

// ---- A sweep as blocks: work units whose boundaries depend on the data, never on the worker count ----
//
// Every block owns a fixed set of output elements and sums each of them in a fixed order, so the
// result is bit-identical however the blocks are spread over workers (docs/DESIGN.md, "Determinism"). The
// in-process engine runs the very same blocks inline.

/**
 * The d x d matrices' slots in SweepArrays.mats, as a run starts: the kernel K, the AGOP G and the
 * extrapolated AGOP trade slots as the sweeps go (the sweep loop tracks where each is); Q = S^T S and
 * the product T = Q (K + lambda I) of the factored AGOP stay put. Blocks name their matrices by slot.
 */
export const Slot = { kernel: 0, agop: 1, extrapolated: 2, q: 3, product: 4 } as const;

/**
 * The matrices of a run, by slot: the extrapolated AGOP only with momentum, Q and the product only
 * on the factored path (empty arrays hold the other slots).
 */
export function sweepMats(d: number, o: { momentum: boolean; factored: boolean }, f64: (len: number) => Float64Array): Float64Array[] {
  const dd = d * d;
  const mats: Float64Array[] = [];
  mats[Slot.kernel] = f64(dd);
  mats[Slot.agop] = f64(dd);
  mats[Slot.extrapolated] = f64(o.momentum ? dd : 0);
  mats[Slot.q] = f64(o.factored ? dd : 0);
  mats[Slot.product] = f64(o.factored ? dd : 0);
  return mats;
}

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
  /** The d x d matrices, by Slot; blocks name them by slot. */
  mats: Float64Array[];
  /** Rows of Yhat, superRows x d (streamed path only). */
  ybuf: Float64Array;
  maxRow: number;
  /** The low-rank form's arrays (null for the dense form, whose matrices are in mats). */
  lr: LowRankArrays | null;
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
  | { kind: 'symm'; G: number; r0: number; r1: number }
  /**
   * A scale-out run's passes, done elsewhere (pipeline/cluster/): `dispatch` sends a pass's operand
   * and one task per chunk; `collect` takes one chunk's back, its values into `out` and its solve
   * blocks' results. Never run by runBlock.
   */
  | { kind: 'dispatch'; pass: RemotePass }
  | { kind: 'collect'; chunk: number; out: Float64Array }
  | LowRankBlock;

/** One chunk of a spilled run as a remote task describes it: its file, sizes and blocks (chunk-local). */
export interface RemoteChunk {
  chunk: number;
  path: string;
  /** Its first row in the whole matrix. */
  r0: number;
  rows: number;
  nnz: number;
  nTrain: number;
  nVal: number;
  ranges: Array<[number, number, number, number]>;
}

/**
 * A pass of a sweep over all chunks, done on the cluster: the dense form's row solves (kernel K,
 * d x d), the low-rank form's row solves (U d x k, w), or the rows' phase of its operator G X
 * (U, X d x p, T = U^T X, over the fit bs (n x k) that the pass `fit` named when it was solved).
 * Or predict's fold-in (`fold`, sweep and pass 0): the chunks' rows solved with a saved model's
 * kernel, their pairs predicted, and with topK > 0 their best topK columns ranked (the rows'
 * biases `rowBias`, named `fit`, and the model's centering for the scores). With side biases
 * (engine/side-bias.ts) the low-rank passes carry the biases `bias` their chunks' values are taken
 * with, and lr-solve's results each chunk's share of the biases' half step.
 */
export type RemotePass = { sweep: number; pass: number; d: number; chunks: RemoteChunk[] } & (
  | { kind: 'solve'; lambda: number; K: Float64Array }
  | { kind: 'lr-solve'; k: number; tauK: number; lambda: number; U: Float64Array; w: Float64Array; bias?: Float64Array }
  | { kind: 'lr-rows'; k: number; p: number; c: number; U: Float64Array; X: Float64Array; T: Float64Array; fit: number; bs: Float64Array; bias?: Float64Array }
  | { kind: 'fold'; model: Pick<LinRfmModel, 'K' | 'lowRank' | 'lambda' | 'scale' | 'bias'>; center: Center; topK: number; fit: number; rowBias: Float64Array }
);

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
  // a low-rank run's rows need no maxRow^2 scratch (power-law rows would make it large)
  return { arrays, scratch: rowScratch(arrays.lr === null ? arrays.maxRow : 0), packed: null, solver: null };
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
  if (arrays.lr === null && ctx.scratch.sub.length < arrays.maxRow * arrays.maxRow) ctx.scratch = rowScratch(arrays.maxRow);
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
    case 'dispatch':
    case 'collect':
      throw new RangeError(`a ${b.kind} block runs on the cluster, not in a thread`);
    default:
      return runLowRankBlock(s, s.lr!, b);
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
