// Planning a run's sweeps: the block boundaries of every phase, from the data's shape alone.

import type { Csr } from '../engine/csr.ts';
import type { AgopPath } from '../engine/sweep.ts';

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
// Solve blocks hold about this many training entries at most (more blocks than MAX_BLOCKS past 64M).
const MAX_BLOCK_ENTRIES = 250_000;
// The streamed path completes this many Yhat elements between Gram updates (64 MB).
const SUPER_CHUNK_ELEMENTS = 1 << 23;

/** What the plan needs of the data: per-row training counts, where each row's held-out entries begin, per-column Q costs. */
export interface RowShape {
  n: number;
  d: number;
  /** Training entries of each row. */
  trainLen: Int32Array;
  /** valStart[i]: held-out entries in rows before i (length n + 1; ascending by row, as valRow). */
  valStart: Float64Array;
  /** Factored path: the Q cost of each column, 16 + 2 k_i summed over its training entries (row i having k_i). */
  colCost: Float64Array | null;
}

/**
 * The shape of data held in memory (colCost only `withColCost`, for the factored path), its column
 * costs summed row by row, in ascending rows within each column as a spilled load sums them.
 */
export function rowShape(m: Csr, valRow: Int32Array, withColCost: boolean): RowShape {
  const n = m.nRows;
  const d = m.nCols;
  const trainLen = new Int32Array(n);
  for (let i = 0; i < n; i++) trainLen[i] = m.rowPtr[i + 1]! - m.rowPtr[i]!;
  const valStart = new Float64Array(n + 1);
  for (let v = 0; v < valRow.length; v++) valStart[valRow[v]! + 1]!++;
  for (let i = 0; i < n; i++) valStart[i + 1]! += valStart[i]!;
  let colCost: Float64Array | null = null;
  if (withColCost) {
    colCost = new Float64Array(d).fill(16);
    for (let i = 0; i < n; i++) {
      for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) colCost[m.colIdx[p]!]! += 2 * trainLen[i]!;
    }
  }
  return { n, d, trainLen, valStart, colCost };
}

/**
 * The blocks of every phase for one run: from the data's shape and the two sizes alone. blockFlops
 * is the least work per block: a pool task costs ~0.15 ms of messaging, about 1e6 flops of the
 * JavaScript parts (row solves, Yhat rows, Q).
 */
export function planSweep(m: Csr, valRow: Int32Array, path: AgopPath, chunkRows: number, blockFlops: number, superChunkRows = 0): SweepPlan {
  return planShape(rowShape(m, valRow, path === 'factored'), path, chunkRows, blockFlops, superChunkRows);
}

/** planSweep from the data's shape (what a spilled load knows without holding the entries). */
export function planShape(shape: RowShape, path: AgopPath, chunkRows: number, blockFlops: number, superChunkRows = 0): SweepPlan {
  const { n, d, trainLen, valStart } = shape;
  const kOf = (i: number): number => trainLen[i]!;
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
  // a spilled chunk holds whole solve blocks, so their entries are bounded too (past 64 million entries)
  let entries = 0;
  for (let i = 0; i < n; i++) entries += trainLen[i]!;
  const solveBlocks = Math.max(MAX_BLOCKS, Math.ceil(entries / MAX_BLOCK_ENTRIES));
  const solve = splitByCost(n, solveCost, blockFlops, solveBlocks).map(
    ([r0, r1]): [number, number, number, number] => [r0, r1, valStart[r0]!, valStart[r1]!],
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
    const cost = shape.colCost!;
    plan.q = splitByCost(d, (j) => cost[j]!, blockFlops, MAX_BLOCKS);
    plan.gemm = gemmRowRanges(d, blockFlops);
    plan.symm = splitTriangle(d, Math.min(8, rowBlocks));
  }
  return plan;
}

/** The low-rank form's blocks: row solves with their held-out ranges, the operator's row groups and column blocks. */
export interface LowRankPlan {
  solve: Array<[number, number, number, number]>;
  rows: Array<[number, number]>;
  cols: Array<[number, number]>;
}

/**
 * Row groups of the low-rank operator: each keeps its own d x p share of A^T Z (so the shares add in
 * group order, whatever the workers), which bounds them; 8 keep up to 8 workers busy.
 */
const ROW_GROUPS = 8;

/**
 * The low-rank form's blocks, from the data's shape, the rank k and the operator's block width p
 * alone: a row solve costs |O| k^2 + k^3 / 3 and a little per entry; the operator, 4 p flops per
 * entry and 4 p k per row (row groups) and p (k + groups) per column (columns).
 */
export function planLowRank(shape: Pick<RowShape, 'n' | 'd' | 'trainLen' | 'valStart'>, k: number, p: number, blockFlops: number): LowRankPlan {
  const { n, d } = shape;
  const { solve, rows } = planLowRankRows(shape, 0, n, k, p, blockFlops);
  const cols = splitByCost(d, () => 2 * p * (k + rows.length) + 16, blockFlops, MAX_BLOCKS);
  return { solve, rows, cols };
}

/**
 * The row solves and the operator's row groups of rows [r0, r1) alone, numbered from r0 (held-out
 * entries from the first of r0's): the whole plan's, or a spilled chunk's.
 */
export function planLowRankRows(
  shape: Pick<RowShape, 'trainLen' | 'valStart'>, r0: number, r1: number, k: number, p: number, blockFlops: number,
): Pick<LowRankPlan, 'solve' | 'rows'> {
  const { trainLen, valStart } = shape;
  let entries = 0;
  for (let i = r0; i < r1; i++) entries += trainLen[i]!;
  const maxBlocks = Math.max(MAX_BLOCKS, Math.ceil(entries / MAX_BLOCK_ENTRIES));
  const solveCost = (i: number): number => {
    const len = trainLen[r0 + i]!;
    return len * k * k + (k * k * k) / 3 + 4 * len * k + 16;
  };
  const v = valStart[r0]!;
  const solve = splitByCost(r1 - r0, solveCost, blockFlops, maxBlocks).map(
    ([a, b]): [number, number, number, number] => [a, b, valStart[r0 + a]! - v, valStart[r0 + b]! - v],
  );
  const rows = splitByCost(r1 - r0, (i) => 4 * p * (k + trainLen[r0 + i]!) + 16, blockFlops, ROW_GROUPS);
  return { solve, rows };
}
