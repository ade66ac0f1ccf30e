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
export function estimateSpilledMemory(rows: number, cols: number, observed: number, workers: number, chunkEntries: number): MemoryEstimate {
  const n = Math.max(rows, cols);
  return spilledSweeps(rows, cols, observed, workers, chunkEntries, { entries: observed * LOAD_BYTES_PER_ENTRY + n * 24 });
}

/**
 * Peak resident memory of a spilled load and run: no per-entry arrays, only per-row and per-column
 * ones (counts, lengths, biases, the split's and the plan's), the keys (the dictionaries, and the
 * reader's lookup of key bytes while it reads), the load's bucket buffers and one bucket being
 * sorted; then the sweeps (spilledSweeps).
 */
export function estimateStreamedMemory(rows: number, cols: number, observed: number, workers: number, chunkEntries: number): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const chunk = Math.min(observed, chunkEntries);
  return spilledSweeps(rows, cols, observed, workers, chunkEntries, {
    keys: 2 * KEY_BYTES * (rows + cols),
    rowArrays: 56 * n + 40 * d,
    loadBuffers: 64e6 + chunk * 100,
  });
}

/**
 * The sweeps of a spilled run, whichever way it was loaded, plus the load's own parts: the d x d
 * matrices, one chunk's work arrays in this thread and a copy of its rows in each worker's row solver.
 */
function spilledSweeps(rows: number, cols: number, observed: number, workers: number, chunkEntries: number, load: Record<string, number>): MemoryEstimate {
  const n = Math.max(rows, cols);
  const d = Math.min(rows, cols);
  const dd = 8 * d * d;
  const chunk = Math.min(observed, chunkEntries);
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
