// Setting up a run with the low-rank kernel (engine/lowrank.ts): the prepared data in memory, spilled
// from memory, or a spilled load's buckets; the plan of its blocks at a rank, and the arrays they
// work on (in shared memory on a pool).

import type { EntryVisitor } from '../engine/center.ts';
import { inMemorySideBias, SideBias } from '../engine/side-bias.ts';
import type { Csr } from '../engine/csr.ts';
import type { CsrSource, EngineOptions } from '../engine/options.ts';
import { float64s, prepareData, type PreparedData } from '../engine/split.ts';
import { runId } from '../engine/state.ts';
import { maxRowLength } from '../engine/sweep.ts';
import type { SweepArrays } from './blocks.ts';
import type { LowRankArrays, LowRankSlot, SideTargets } from './lowrank-blocks.ts';
import { planLowRank, planLowRankRows, rowShape, type LowRankPlan, type RowShape } from './plan.ts';
import { bucketBlocks, EMPTY_ROWS, sharedCopy } from './setup.ts';
import { SpillStore, type SpillOptions } from './spill.ts';
import type { PreparedBuckets } from './streamload.ts';

export interface LowRankSetup {
  id: string;
  /** The prepared data (its arrays are empty when spilled: the chunk files hold the entries). */
  data: PreparedData;
  arrays: SweepArrays;
  plan: LowRankPlan;
  /** What the plans at any rank are made from: per-row training counts and held-out starts. */
  shape: Pick<RowShape, 'n' | 'd' | 'trainLen' | 'valStart'>;
  /** A spilled run's chunks (whole rows each), or null in memory. */
  store: SpillStore | null;
  /** A spilled run's row solves and row groups of each chunk, in the chunk's rows, at the current rank. */
  chunkPlans: Array<Pick<LowRankPlan, 'solve' | 'rows'>>;
  n: number;
  d: number;
  k: number;
  nTrain: number;
  nVal: number;
  momentum: number;
  /** The arrays are in shared memory (a pool's run): a change of rank allocates there too. */
  shared: boolean;
}

/**
 * Prepares the data and the low-rank form's arrays (in shared memory when `shared`). With `spill`
 * the prepared matrix goes to chunk files of whole rows, and the sweeps keep only the per-row and
 * per-column factors besides the chunk in hand (a spilled load's buckets always run spilled).
 */
export function setupLowRank(source: Csr | CsrSource | PreparedBuckets, opts: EngineOptions, shared: boolean, spill?: SpillOptions): LowRankSetup {
  if ('buckets' in source) return setupFromBuckets(source, opts, shared, spill);
  const owned = 'take' in source;
  let input: Csr | null = owned ? source.take() : source;
  const data = prepareData(input, opts.validationFraction, opts.seed, { owned, shared });
  input = null;
  const id = runId(data, opts);
  const { train } = data;
  const shape = rowShape(train, data.valRow, false);
  const sizes = { n: train.nRows, d: train.nCols, nTrain: train.values.length, nVal: data.valRow.length, maxRow: maxRowLength(data.all) };
  if (spill === undefined) return finishSetup(id, data, opts, shared, shape, null, sizes);
  const store = SpillStore.create(data, shape, rowRuns(shape, spill.chunkEntries), spill, shared, false);
  try {
    return finishSetup(id, emptied(data), opts, shared, shape, store, sizes);
  } catch (err) {
    store.dispose();
    throw err;
  }
}

/** setupLowRank for a spilled load's prepared buckets: its shape plans the run, its buckets become the chunks. */
function setupFromBuckets(src: PreparedBuckets, opts: EngineOptions, shared: boolean, spill: SpillOptions | undefined): LowRankSetup {
  if (spill === undefined) throw new RangeError('a spilled load runs spilled: give the spill options');
  if (src.validationFraction !== opts.validationFraction || src.seed !== opts.seed) {
    throw new RangeError(`the spilled load drew its split with validationFraction ${src.validationFraction}, seed ${src.seed}; the run has ${opts.validationFraction}, ${opts.seed}`);
  }
  const id = src.digest(opts);
  const store = SpillStore.fromBlocks(src.shape, rowRuns(src.shape, spill.chunkEntries), bucketBlocks(src), spill, shared, false);
  try {
    src.dispose();
    return finishSetup(id, emptied(src), opts, shared, src.shape, store, src);
  } catch (err) {
    store.dispose();
    throw err;
  }
}

/**
 * Where a spilled run's chunks may be cut: runs of whole rows of at most 1/32 of a chunk's entries
 * (or one row), with their held-out entries. The chunks, and so the run's bits, depend on the data
 * and the chunk size alone; each chunk's blocks are planned within it, at the run's rank.
 */
function rowRuns(shape: Pick<RowShape, 'n' | 'trainLen' | 'valStart'>, chunkEntries: number): { solve: Array<[number, number, number, number]> } {
  const { n, trainLen, valStart } = shape;
  const most = Math.max(1, Math.floor(chunkEntries / 32));
  const solve: Array<[number, number, number, number]> = [];
  const entries = (i: number): number => trainLen[i]! + valStart[i + 1]! - valStart[i]!;
  let r0 = 0;
  let held = 0;
  for (let i = 0; i < n; i++) {
    if (i > r0 && held + entries(i) > most) {
      solve.push([r0, i, valStart[r0]!, valStart[i]!]);
      r0 = i;
      held = 0;
    }
    held += entries(i);
  }
  if (n > r0) solve.push([r0, n, valStart[r0]!, valStart[n]!]);
  return { solve };
}

function emptied(d: Pick<PreparedData, 'transposed' | 'scale'>): PreparedData {
  return { transposed: d.transposed, scale: d.scale, all: EMPTY_ROWS, train: EMPTY_ROWS, valRow: new Int32Array(0), valCol: new Int32Array(0), valValue: new Float64Array(0) };
}

function finishSetup(
  id: string, data: PreparedData, opts: EngineOptions, shared: boolean, shape: LowRankSetup['shape'], store: SpillStore | null,
  sizes: { n: number; d: number; nTrain: number; nVal: number; maxRow: number },
): LowRankSetup {
  const { n, d, nTrain, nVal, maxRow } = sizes;
  const k = Math.min(opts.kernelRank, d);
  const momentum = nVal > 0 ? opts.momentum : 0;
  const run: LowRankSetup = {
    id, data, plan: { solve: [], rows: [], cols: [] }, shape, store, chunkPlans: [], n, d, k, nTrain, nVal, momentum, shared,
    arrays: {
      d, train: data.train, a: float64s(shared)(0), valRow: data.valRow, valCol: data.valCol, valValue: data.valValue,
      cols: null, mats: [], ybuf: float64s(shared)(0), maxRow, lr: null,
    },
  };
  allocLowRank(run, k, opts, null);
  return run;
}

/**
 * Points the run at the low-rank form's arrays and blocks at rank k. `keep` (the run's arrays at
 * another rank) passes on its fits' `a`, which do not depend on k: a run that changes its rank
 * allocates the rest only. A spilled run's slots keep no `a`, and its operator's row groups are
 * each chunk's, their shares added up chunk after chunk into the first group's place.
 */
export function allocLowRank(run: LowRankSetup, k: number, opts: EngineOptions, keep: LowRankArrays | null): LowRankArrays {
  const { shape, store, n, d, nTrain, momentum } = run;
  const p = Math.min(d, k + opts.kernelOversample);
  const f64 = float64s(run.shared);
  run.plan = planLowRank(shape, k, p, opts.blockFlops);
  run.chunkPlans = store === null ? [] : store.chunks.map((c) => planLowRankRows(shape, c.r0, c.r1, k, p, opts.blockFlops));
  const groups = store === null ? run.plan.rows.length : 1 + Math.max(0, ...run.chunkPlans.map((c) => c.rows.length));
  const nnz = store === null ? nTrain : 0;
  // the second slot holds the previous sweep's kernel and fit, for the extrapolation only
  const slot = (s: number, used: boolean): LowRankSlot => {
    const m = used ? 1 : 0;
    return { U: f64(m * d * k), w: f64(m * k), a: keep?.slots[s]!.a ?? f64(m * nnz), bs: f64(m * n * k) };
  };
  const lr: LowRankArrays = {
    k, p, slots: [slot(0, true), slot(1, momentum > 0)],
    X: f64(d * p), T: f64(k * p), Z: f64(n * p), P: f64(groups * k * p), YP: f64(groups * d * p), PS: f64(k * p), Y: f64(d * p),
    side: opts.sideBias && store === null ? sideTargets(run, groups, keep?.side ?? null) : null,
  };
  run.k = k;
  run.arrays.lr = lr;
  return lr;
}

/**
 * A run in memory with side biases: what its blocks take the targets and the half step's sums with
 * (lowrank-blocks.ts SideTargets). The originals are copied as the run starts (`keep` passes them
 * on at another rank).
 */
function sideTargets(run: LowRankSetup, groups: number, keep: SideTargets | null): SideTargets {
  const f64 = float64s(run.shared);
  const { train, valValue } = run.data;
  const copy = (x: Float64Array): Float64Array => (run.shared ? sharedCopy(x) : x.slice());
  return {
    b: f64(run.d), train0: keep?.train0 ?? copy(train.values), val0: keep?.val0 ?? copy(valValue), sums: f64(groups * run.d),
  };
}

/**
 * The side biases of a run (engine/side-bias.ts) and how its targets take them: in memory, the
 * prepared arrays (the solve blocks their rows' as each fit starts; `all` once, at the end);
 * spilled, every chunk as it is read (SpillStore setOffset). Their start visits the training
 * entries row by row, chunk after chunk when spilled: the order of the in-memory CSR, so both
 * start with the same bits.
 */
export function sideBiasOf(run: LowRankSetup): { side: SideBias; takeAll: (b: Float64Array) => void } {
  const { store, arrays, n, d } = run;
  if (store === null) return inMemorySideBias(run.data, arrays.lr!.side!);
  const each: EntryVisitor = (visit) => {
    for (const c of store.chunks) {
      store.load(c, arrays);
      const { rowPtr, colIdx, values } = arrays.train;
      for (let i = 0; i < c.r1 - c.r0; i++) for (let q = rowPtr[i]!; q < rowPtr[i + 1]!; q++) visit(c.r0 + i, colIdx[q]!, values[q]!);
    }
  };
  const side = new SideBias(each, n, d, (b) => store.setOffset(b));
  return { side, takeAll: () => {} };
}
