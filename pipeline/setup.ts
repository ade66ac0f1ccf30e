// Setting up a run: the prepared data (in memory, spilled from memory, or a spilled load's buckets),
// the plan of its blocks and the arrays they work on, shared with the workers when on a pool.

import { readChunk } from '../io/chunks.ts';
import { runId } from '../engine/state.ts';
import { type Csr } from '../engine/csr.ts';
import { sweepMats, type SweepArrays } from './blocks.ts';
import type { CsrSource, EngineOptions } from '../engine/options.ts';
import { planShape, planSweep, rowShape, type SweepPlan } from './plan.ts';
import type { PreparedBuckets } from './streamload.ts';
import { SpillStore, type PreparedBlock, type SpillOptions } from './spill.ts';
import { float64s, prepareData, type PreparedData } from '../engine/split.ts';
import { chooseAgopPath, columnIndex, maxRowLength, type AgopPath, type ColumnIndex } from '../engine/sweep.ts';

export interface RunSetup {
  /** See runId: names the input and the options for checkpoints. */
  id: string;
  data: PreparedData;
  arrays: SweepArrays;
  plan: SweepPlan;
  path: AgopPath;
  chunkRows: number;
  momentum: number;
  /** Rows and columns of the oriented matrix, training and held-out entries (data's arrays are empty when spilled). */
  n: number;
  d: number;
  nTrain: number;
  nVal: number;
  /** The spilled matrix, or null when it is in memory. */
  store: SpillStore | null;
}

export function sharedCopy(x: Int32Array): Int32Array;
export function sharedCopy(x: Float64Array): Float64Array;
export function sharedCopy(x: Int32Array | Float64Array): Int32Array | Float64Array {
  const out = x instanceof Int32Array
    ? new Int32Array(new SharedArrayBuffer(x.length * 4))
    : new Float64Array(new SharedArrayBuffer(x.length * 8));
  out.set(x);
  return out;
}

export const EMPTY_ROWS: Csr = { nRows: 0, nCols: 0, rowPtr: new Int32Array(1), colIdx: new Int32Array(0), values: new Float64Array(0) };

/**
 * Prepares the data and the arrays the blocks work on; `shared` puts those in SharedArrayBuffers.
 * With `spill`, the prepared matrix goes to chunk files and only the run's d x d matrices and one
 * chunk's work arrays stay in memory.
 */
export function setupRun(source: Csr | CsrSource | PreparedBuckets, opts: EngineOptions, shared: boolean, spill?: SpillOptions): RunSetup {
  if ('buckets' in source) return setupFromBuckets(source, opts, shared, spill);
  const owned = 'take' in source;
  let input: Csr | null = owned ? source.take() : source;
  const data = prepareData(input, opts.validationFraction, opts.seed, { owned, shared });
  input = null;
  const id = runId(data, opts);
  const n = data.train.nRows;
  const d = data.train.nCols;
  const nTrain = data.train.values.length;
  const nVal = data.valRow.length;
  if (spill !== undefined) return setupSpilled(id, data, opts, shared, spill);
  const f64 = float64s(shared);
  const train = data.train;
  const path: AgopPath = opts.agop === 'auto' ? chooseAgopPath(train) : opts.agop;
  const chunkRows = Math.min(opts.chunkRows, n);
  let cols: ColumnIndex | null = null;
  if (path === 'factored') {
    cols = columnIndex(train);
    if (shared) cols = { colPtr: sharedCopy(cols.colPtr), rowOf: sharedCopy(cols.rowOf), posOf: sharedCopy(cols.posOf) };
  }
  const plan = planSweep(train, data.valRow, path, chunkRows, opts.blockFlops, opts.superChunkRows);
  // Without a validation split there is no signal to restart on, so no extrapolation either.
  const momentum = data.valRow.length > 0 ? opts.momentum : 0;
  const mats = sweepMats(d, { momentum: momentum > 0, factored: path === 'factored' }, f64);
  const arrays: SweepArrays = {
    d,
    train,
    a: f64(train.values.length),
    valRow: data.valRow,
    valCol: data.valCol,
    valValue: data.valValue,
    cols,
    mats,
    ybuf: f64(plan.superRows * d),
    maxRow: maxRowLength(data.all),
    lr: null,
  };
  return { id, data, arrays, plan, path, chunkRows, momentum, n, d, nTrain, nVal, store: null };
}

/** setupRun for a spilled run: the factored AGOP, over chunks of whole solve blocks. */
function setupSpilled(id: string, data: PreparedData, opts: EngineOptions, shared: boolean, spill: SpillOptions): RunSetup {
  const n = data.train.nRows;
  const chunkRows = Math.min(opts.chunkRows, n);
  // the in-memory plan, so the solve blocks (and their sums) are the in-memory run's
  const shape = rowShape(data.train, data.valRow, true);
  const plan = planShape(shape, 'factored', chunkRows, opts.blockFlops, opts.superChunkRows);
  const sizes = { n, d: data.train.nCols, nTrain: data.train.values.length, nVal: data.valRow.length, maxRow: maxRowLength(data.all) };
  const store = SpillStore.create(data, shape, plan, spill, shared);
  // from here on the chunk files hold the entries
  const emptied: PreparedData = { transposed: data.transposed, scale: data.scale, all: EMPTY_ROWS, train: EMPTY_ROWS, valRow: new Int32Array(0), valCol: new Int32Array(0), valValue: new Float64Array(0) };
  try {
    return spilledSetup(id, emptied, opts, shared, plan, store, chunkRows, sizes);
  } catch (err) {
    store.dispose();
    throw err;
  }
}

/** setupRun for a spilled load's prepared buckets: its shape plans the run, its buckets become the chunks. */
function setupFromBuckets(src: PreparedBuckets, opts: EngineOptions, shared: boolean, spill: SpillOptions | undefined): RunSetup {
  if (spill === undefined) throw new RangeError('a spilled load runs spilled: give the spill options');
  if (src.validationFraction !== opts.validationFraction || src.seed !== opts.seed) {
    throw new RangeError(`the spilled load drew its split with validationFraction ${src.validationFraction}, seed ${src.seed}; the run has ${opts.validationFraction}, ${opts.seed}`);
  }
  const id = src.digest(opts);
  const chunkRows = Math.min(opts.chunkRows, src.n);
  const plan = planShape(src.shape, 'factored', chunkRows, opts.blockFlops, opts.superChunkRows);
  const store = SpillStore.fromBlocks(src.shape, plan, bucketBlocks(src), spill, shared);
  try {
    src.dispose();
    const data: PreparedData = { transposed: src.transposed, scale: src.scale, all: EMPTY_ROWS, train: EMPTY_ROWS, valRow: new Int32Array(0), valCol: new Int32Array(0), valValue: new Float64Array(0) };
    return spilledSetup(id, data, opts, shared, plan, store, chunkRows, src);
  } catch (err) {
    store.dispose();
    throw err;
  }
}

/** The prepared buckets as blocks, each bucket's file removed once the chunks have taken it. */
export function* bucketBlocks(src: PreparedBuckets): Generator<PreparedBlock> {
  for (const b of src.buckets) {
    yield { r0: b.r0, nnz: b.nnz, ...readChunk(b.path, b.nnz) };
    src.consumed(b);
  }
}

function spilledSetup(
  id: string, data: PreparedData, opts: EngineOptions, shared: boolean, plan: SweepPlan, store: SpillStore, chunkRows: number,
  sizes: { n: number; d: number; nTrain: number; nVal: number; maxRow: number },
): RunSetup {
  const { n, d, nTrain, nVal, maxRow } = sizes;
  const f64 = float64s(shared);
  const momentum = nVal > 0 ? opts.momentum : 0;
  const arrays: SweepArrays = {
    d,
    train: EMPTY_ROWS,
    a: f64(0),
    valRow: data.valRow,
    valCol: data.valCol,
    valValue: data.valValue,
    cols: null,
    mats: sweepMats(d, { momentum: momentum > 0, factored: true }, f64),
    ybuf: f64(0),
    maxRow,
    lr: null,
  };
  return { id, data, arrays, plan, path: 'factored', chunkRows, momentum, n, d, nTrain, nVal, store };
}
