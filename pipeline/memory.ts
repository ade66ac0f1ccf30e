// Memory estimate of a completion, checked against the budget before any work starts.

export interface MemoryEstimate {
  bytes: number;
  parts: Record<string, number>;
}

/**
 * Peak resident memory of a run, from its shape (docs/DESIGN.md, "Memory and spilling"). d x d float64 matrices: kernel,
 * AGOP, extrapolation, previous AGOP, best kernel, Q and T; per observed entry: the input triplets,
 * two CSR copies (all observed, training), the coefficients, the column index and shared copies;
 * per worker: its wasm copies of the kernel, of a product operand and of the CSR.
 */
export function estimateMemory(rows: number, cols: number, observed: number, workers: number): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const dd = 8 * d * d;
  const parts: Record<string, number> = {
    runtime: 120e6,
    kernelMatrices: 7 * dd,
    entries: observed * 96 + n * 16,
    completedRowsChunk: Math.min(64e6, 8 * n * d),
    workers: workers * (2 * dd + observed * 16 + n * 4 + 60e6),
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { bytes, parts };
}

/**
 * Bytes per observed entry that loading holds at its peak, before a spilled run's chunks are written:
 * the raw matrix kept for the outputs, the centred copy, and the oriented and split copies.
 */
export const LOAD_BYTES_PER_ENTRY = 64;

/** What loading `rows` input rows needs before any sweep (the load is in memory, spilled or not). */
export function estimateLoadMemory(rows: number): number {
  return 120e6 + rows * LOAD_BYTES_PER_ENTRY;
}

/**
 * Peak resident memory of a spilled run: the loading and preparation before the chunks are written
 * (the raw matrix kept for the outputs, the centred copy, the oriented and split copies: ~64 bytes an
 * entry at their peak), then the sweeps (spilledSweeps).
 */
export function estimateSpilledMemory(rows: number, cols: number, observed: number, workers: number, chunkEntries: number, lowRank?: LowRankSize): MemoryEstimate {
  const n = Math.max(rows, cols);
  return spilledSweeps(rows, cols, observed, workers, chunkEntries, { entries: observed * LOAD_BYTES_PER_ENTRY + n * 24 }, lowRank);
}

/** The low-rank form's rank and operator block width (k + oversampling). */
export interface LowRankSize {
  k: number;
  p: number;
}

/**
 * Peak resident memory of a spilled load and run: no per-entry arrays, only per-row and per-column
 * ones (counts, lengths, biases, the split's and the plan's), the keys (the dictionaries, and the
 * reader's lookup of key bytes while it reads), the load's bucket buffers and one bucket being
 * sorted; then the sweeps (spilledSweeps).
 */
export function estimateStreamedMemory(rows: number, cols: number, observed: number, workers: number, chunkEntries: number, lowRank?: LowRankSize): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const chunk = Math.min(observed, chunkEntries);
  return spilledSweeps(rows, cols, observed, workers, chunkEntries, {
    keys: 2 * KEY_BYTES * (rows + cols),
    rowArrays: 56 * n + 40 * d,
    loadBuffers: 64e6 + chunk * 100,
  }, lowRank);
}

/**
 * The sweeps of a spilled run, whichever way it was loaded, plus the load's own parts: the d x d
 * matrices, one chunk's work arrays in this thread and a copy of its rows in each worker's row
 * solver. With the low-rank kernel: no d x d matrix and no per-entry array, but per row the two
 * fits' bs and the operator's Z, the shape the chunks are planned from, and per column the kernels'
 * U and the operator's blocks with the row groups' shares (at most 9 of d x p).
 */
function spilledSweeps(
  rows: number, cols: number, observed: number, workers: number, chunkEntries: number, load: Record<string, number>, lowRank?: LowRankSize,
): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const dd = 8 * d * d;
  const chunk = Math.min(observed, chunkEntries);
  if (lowRank !== undefined) {
    const { k, p } = lowRank;
    const lr: Record<string, number> = {
      runtime: 120e6,
      ...load,
      chunk: chunk * 60,
      rowFactors: 8 * n * (2 * k + p) + 12 * n,
      columnFactors: 8 * d * (3 * k + 4 * p) + 9 * 8 * d * p,
      workers: workers * (chunk * 16 + 60e6),
    };
    return { bytes: Object.values(lr).reduce((a, b) => a + b, 0), parts: lr };
  }
  const parts: Record<string, number> = {
    runtime: 120e6,
    kernelMatrices: 7 * dd,
    ...load,
    chunk: chunk * 60,
    completedRowsChunk: Math.min(64e6, 8 * n * d),
    workers: workers * (2 * dd + chunk * 16 + 60e6),
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { bytes, parts };
}

/** A key in a dictionary: its string, the map entry and the text array slot (short keys). */
const KEY_BYTES = 120;

/**
 * Peak resident memory of a low-rank run (in memory): per observed entry LOW_RANK_BYTES_PER_ENTRY;
 * per row, the fits' b and bs (two of each, k wide) and the operator's Z (p wide); per column, U
 * twice and the blocks.
 */
/**
 * Bytes per observed entry of a low-rank run at its peak: the load's (the file's columns, the CSR,
 * the centred values) or the sweeps' (the kept matrix and its values scaled in place, the training
 * split in shared memory, the two slots' fits). Measured with 2 workers: 55 at 9.8M entries (0.55 GB
 * while loading), 4.80 GB in all at 98M (Netflix shape, bench/results/netflix.json).
 */
const LOW_RANK_BYTES_PER_ENTRY = 56;

export function estimateLowRankMemory(rows: number, cols: number, observed: number, workers: number, k: number, p: number, sideBias = false): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const parts: Record<string, number> = {
    runtime: 120e6,
    entries: observed * LOW_RANK_BYTES_PER_ENTRY + n * 16,
    // the side biases' copy of the original training and held-out values (lowrank-setup.ts sideTargets)
    ...(sideBias ? { sideBiases: 8 * observed } : {}),
    rowFactors: 8 * n * (4 * k + p),
    columnFactors: 8 * d * (3 * k + 4 * p),
    workers: workers * 60e6,
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { bytes, parts };
}

/** The kernel a job runs with, and why (for the log and report.json). */
export interface KernelChoice {
  form: 'dense' | 'low-rank';
  rank: number;
  why: string;
}

/**
 * The work of a sweep in each form, in the dense form's units: the dense form 4 d^3 flops of the
 * SIMD products and sum k_i^3 / 3 of the row solves; the low-rank form (per row k^2 |O_i| + k^3 / 3,
 * then (steps + 1) operator products, each twice with the extrapolation, of 2 p flops an entry and
 * 4 p k a row) at LOW_RANK_FLOP_COST dense flops each, the ratio of their rates measured here (n =
 * 10 d, 50 entries a row, k = 20: at d = 1,000 the dense form on 2 workers did 15 GFLOP/s, the
 * low-rank one in one thread 1.4; the two took about the same seconds a sweep).
 */
export function sweepWork(n: number, d: number, observed: number, sumCubes: number, k: number, p: number, powerSteps: number): { dense: number; lowRank: number } {
  const dense = 4 * d * d * d + sumCubes / 3;
  const operator = 2 * (powerSteps + 1) * (4 * observed * p + 4 * n * k * p + 2 * d * k * p);
  const lowRank = LOW_RANK_FLOP_COST * (observed * k * k + (n * k * k * k) / 3 + operator);
  return { dense, lowRank };
}

const LOW_RANK_FLOP_COST = 10;

/**
 * --kernel auto: the dense form when it is the cheaper and fits the budget (in memory or spilled),
 * else the low-rank one; an explicit form is taken as asked.
 */
export function chooseKernel(
  asked: 'auto' | 'dense' | 'low-rank', rank: number, oversample: number, powerSteps: number,
  shape: { n: number; d: number; observed: number; sumCubes: number }, denseFits: boolean,
): KernelChoice {
  const k = Math.min(rank, shape.d);
  if (asked !== 'auto') return { form: asked, rank: k, why: `--kernel ${asked}` };
  const w = sweepWork(shape.n, shape.d, shape.observed, shape.sumCubes, k, Math.min(shape.d, k + oversample), powerSteps);
  const ratio = `estimated work a sweep: dense ${w.dense.toExponential(2)}, low-rank ${w.lowRank.toExponential(2)} (dense-flop units)`;
  if (!denseFits) return { form: 'low-rank', rank: k, why: `the dense kernel (${shape.d} x ${shape.d}) does not fit the memory budget; ${ratio}` };
  if (w.lowRank < w.dense) return { form: 'low-rank', rank: k, why: `the low-rank kernel is cheaper: ${ratio}` };
  return { form: 'dense', rank: k, why: `the dense kernel is cheaper: ${ratio}` };
}
