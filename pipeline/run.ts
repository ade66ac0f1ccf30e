// Running a completion: the entry points complete() (in this thread) and completeAsync() (on a worker pool).

import { availableParallelism } from 'node:os';
import { blockContext, disposeBlockContext, runBlock, type Block, type BlockResult } from './blocks.ts';
import type { RunControl } from '../engine/state.ts';
import type { Csr } from '../engine/csr.ts';
import { defaultEngineOptions, validateEngineOptions, type CompletionResult, type CsrSource, type EngineOptions, type SweepCallback } from '../engine/options.ts';
import { SweepPool } from './pool.ts';
import type { SpillOptions } from './spill.ts';
import type { PreparedBuckets } from './streamload.ts';
import { setupRun, type RunSetup } from './setup.ts';
import { sweepLoop } from './sweeploop.ts';

/** Where a run keeps the matrix. */
export interface StorageOptions {
  /**
   * Spill the prepared matrix to row-partitioned Arrow IPC chunks and stream them back each sweep
   * (the factored AGOP; same bits as in memory). Omitted: the matrix stays in memory.
   */
  spill?: SpillOptions;
}

/**
 * Completes a sparse matrix given as CSR (any shape) with lin-RFM, in this thread. Runs the same
 * blocks as completeAsync, so it gives the same bits as completeAsync with any number of workers.
 */
export function complete(input: Csr | CsrSource | PreparedBuckets, options: Partial<EngineOptions & StorageOptions> = {}, onSweep?: SweepCallback, control: RunControl = {}): CompletionResult {
  const { spill, ...engine } = options;
  const opts: EngineOptions = { ...defaultEngineOptions, ...engine };
  validateEngineOptions(opts);
  const t0 = performance.now();
  const run = setupRun(input, opts, false, spill);
  const ctx = blockContext(run.arrays);
  try {
    const loop = sweepLoop(run, opts, onSweep, control, t0);
    let step = loop.next();
    while (!step.done) step = loop.next(step.value.map((b) => runBlock(ctx, b)));
    return step.value;
  } catch (err) {
    run.store?.dispose();
    throw err;
  } finally {
    disposeBlockContext(ctx);
  }
}

/** complete() in this thread, but giving the event loop a turn between phases (so signals get through). */
async function completeInline(
  input: Csr | CsrSource | PreparedBuckets, opts: EngineOptions, spill: SpillOptions | undefined, onSweep: SweepCallback | undefined, control: RunControl,
): Promise<CompletionResult> {
  const t0 = performance.now();
  const run = setupRun(input, opts, false, spill);
  const ctx = blockContext(run.arrays);
  try {
    return await drive(run, opts, onSweep, control, t0, async (blocks) => {
      const results = blocks.map((b) => runBlock(ctx, b));
      await new Promise<void>((r) => setImmediate(r));
      return results;
    });
  } finally {
    disposeBlockContext(ctx);
  }
}

/** Runs a run's sweep loop, each phase's blocks through `exec`; a run that fails takes its spill files with it. */
async function drive(
  run: RunSetup, opts: EngineOptions, onSweep: SweepCallback | undefined, control: RunControl, t0: number,
  exec: (blocks: Block[]) => Promise<BlockResult[]>,
): Promise<CompletionResult> {
  try {
    const loop = sweepLoop(run, opts, onSweep, control, t0);
    let step = loop.next();
    while (!step.done) step = loop.next(await exec(step.value));
    return step.value;
  } catch (err) {
    run.store?.dispose();
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
  const { workers: w, pool: given, spill, ...engine } = options;
  const opts: EngineOptions = { ...defaultEngineOptions, ...engine };
  validateEngineOptions(opts);
  const workers = w ?? given?.threads ?? availableParallelism();
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new RangeError(`option workers = ${String(workers)}: must be an integer >= 1`);
  }
  if (workers === 1 && given === undefined) return completeInline(input, opts, spill, onSweep, control);
  const t0 = performance.now();
  const run = setupRun(input, opts, true, spill);
  let pool: SweepPool;
  try {
    pool = given ?? new SweepPool(workers);
  } catch (err) {
    run.store?.dispose();
    throw err;
  }
  try {
    // run.arrays is read at each phase: a spilled run points it at the chunk in hand
    return await drive(run, opts, onSweep, control, t0, (blocks) => pool.runBlocks(run.arrays, blocks, workers));
  } finally {
    if (given === undefined) await pool.close();
  }
}
