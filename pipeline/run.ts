// Running a completion: the entry points complete() (in this thread) and completeAsync() (on a worker pool).

import { availableParallelism } from 'node:os';
import { blockContext, disposeBlockContext, runBlock, type Block, type BlockResult, type RemotePass, type SweepArrays } from './blocks.ts';
import { lowRankLoop } from './lowrank-loop.ts';
import { setupLowRank } from './lowrank-setup.ts';
import type { RunControl } from '../engine/state.ts';
import type { Csr } from '../engine/csr.ts';
import { defaultEngineOptions, validateEngineOptions, type CompletionResult, type CsrSource, type EngineOptions, type SweepCallback } from '../engine/options.ts';
import { SweepPool } from './pool.ts';
import type { SpillOptions } from './spill.ts';
import type { PreparedBuckets } from './streamload.ts';
import { setupRun } from './setup.ts';
import { sweepLoop } from './sweeploop.ts';

/** Where a run keeps the matrix. */
export interface StorageOptions {
  /**
   * Spill the prepared matrix to row-partitioned Arrow IPC chunks and stream them back each sweep
   * (the factored AGOP; same bits as in memory). Omitted: the matrix stays in memory.
   */
  spill?: SpillOptions;
  /**
   * A spilled run's row solves (and the low-rank form's operator rows) done elsewhere (the cluster,
   * pipeline/cluster/): the same bits as doing them here.
   */
  remote?: RemoteSolves;
}

/** Where a scale-out run's passes go (pipeline/cluster/coordinator.ts). */
export interface RemoteSolves {
  dispatch(pass: RemotePass): Promise<void>;
  /** One chunk's result of the pass last dispatched: its values into `out`, its solve blocks' results. */
  collect(chunk: number, out: Float64Array): Promise<BlockResult[]>;
}

/** A run set up: its arrays (a spilled run points them at the chunk in hand), its sweep loop, and what to free if it fails. */
interface StartedRun {
  run: { arrays: SweepArrays };
  loop: Generator<Block[], CompletionResult, BlockResult[]>;
  dispose(): void;
}

function startRun(
  input: Csr | CsrSource | PreparedBuckets, opts: EngineOptions, shared: boolean, spill: SpillOptions | undefined,
  onSweep: SweepCallback | undefined, control: RunControl, t0: number, remote = false,
): StartedRun {
  if (remote && spill === undefined) throw new RangeError('a run on the cluster is a spilled run: give the spill options');
  if (opts.kernel === 'low-rank') {
    const run = setupLowRank(input, opts, shared, spill);
    return { run, loop: lowRankLoop(run, opts, onSweep, control, t0, remote), dispose: () => run.store?.dispose() };
  }
  const run = setupRun(input, opts, shared, spill);
  return { run, loop: sweepLoop(run, opts, onSweep, control, t0, remote), dispose: () => run.store?.dispose() };
}

/**
 * Completes a sparse matrix given as CSR (any shape) with lin-RFM, in this thread. Runs the same
 * blocks as completeAsync, so it gives the same bits as completeAsync with any number of workers.
 */
export function complete(input: Csr | CsrSource | PreparedBuckets, options: Partial<EngineOptions & StorageOptions> = {}, onSweep?: SweepCallback, control: RunControl = {}): CompletionResult {
  const { spill, remote, ...engine } = options;
  if (remote !== undefined) throw new RangeError('complete() runs in this thread: a run on the cluster needs completeAsync');
  const opts: EngineOptions = { ...defaultEngineOptions, ...engine };
  validateEngineOptions(opts);
  const started = startRun(input, opts, false, spill, onSweep, control, performance.now());
  const ctx = blockContext(started.run.arrays);
  try {
    const { loop } = started;
    let step = loop.next();
    while (!step.done) step = loop.next(step.value.map((b) => runBlock(ctx, b)));
    return step.value;
  } catch (err) {
    started.dispose();
    throw err;
  } finally {
    disposeBlockContext(ctx);
  }
}

/** complete() in this thread, but giving the event loop a turn between phases (so signals get through). */
async function completeInline(
  input: Csr | CsrSource | PreparedBuckets, opts: EngineOptions, spill: SpillOptions | undefined, onSweep: SweepCallback | undefined, control: RunControl,
  remote: RemoteSolves | undefined,
): Promise<CompletionResult> {
  const started = startRun(input, opts, false, spill, onSweep, control, performance.now(), remote !== undefined);
  const ctx = blockContext(started.run.arrays);
  try {
    return await drive(started, remote, async (blocks) => {
      const results = blocks.map((b) => runBlock(ctx, b));
      await new Promise<void>((r) => setImmediate(r));
      return results;
    });
  } finally {
    disposeBlockContext(ctx);
  }
}

/**
 * Runs a run's sweep loop, each phase's blocks through `exec` (a scale-out run's dispatch and
 * collect through `remote`); a run that fails takes its spill files with it.
 */
async function drive(started: StartedRun, remote: RemoteSolves | undefined, exec: (blocks: Block[]) => Promise<BlockResult[]>): Promise<CompletionResult> {
  const run = async (blocks: Block[]): Promise<BlockResult[]> => {
    const b = blocks[0];
    if (b?.kind === 'dispatch') {
      await remote!.dispatch(b.pass);
      return [];
    }
    if (b?.kind === 'collect') return remote!.collect(b.chunk, b.out);
    return exec(blocks);
  };
  try {
    const { loop } = started;
    let step = loop.next();
    while (!step.done) step = loop.next(await run(step.value));
    return step.value;
  } catch (err) {
    started.dispose();
    throw err;
  }
}

/** How completeAsync spreads the sweeps over threads. */
export interface ParallelOptions {
  /** Worker threads (default: os.availableParallelism()); 1 runs the blocks in this thread, with no pool. */
  workers: number;
  /**
   * A pool to use instead of starting (and closing) one for this run; at most `workers` of its
   * threads (all of them when workers is not given) get tasks at a time.
   */
  pool?: SweepPool;
}

/**
 * complete() on a worker pool: each phase of a sweep is cut into blocks whose boundaries depend on
 * the data alone, the blocks go to the workers over SharedArrayBuffers, and the result is
 * bit-identical to complete() whatever the number of workers. onSweep runs in this thread.
 */
export async function completeAsync(
  input: Csr | CsrSource | PreparedBuckets,
  options: Partial<EngineOptions & ParallelOptions & StorageOptions> = {},
  onSweep?: SweepCallback,
  control: RunControl = {},
): Promise<CompletionResult> {
  const { workers: w, pool: given, spill, remote, ...engine } = options;
  const opts: EngineOptions = { ...defaultEngineOptions, ...engine };
  validateEngineOptions(opts);
  const workers = w ?? given?.threads ?? availableParallelism();
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new RangeError(`option workers = ${String(workers)}: must be an integer >= 1`);
  }
  if (workers === 1 && given === undefined) return completeInline(input, opts, spill, onSweep, control, remote);
  const started = startRun(input, opts, true, spill, onSweep, control, performance.now(), remote !== undefined);
  let pool: SweepPool;
  try {
    pool = given ?? new SweepPool(workers);
  } catch (err) {
    started.dispose();
    throw err;
  }
  try {
    // run.arrays is read at each phase: a spilled run points it at the chunk in hand
    const { run } = started;
    return await drive(started, remote, (blocks) => pool.runBlocks(run.arrays, blocks, workers));
  } finally {
    if (given === undefined) await pool.close();
  }
}
