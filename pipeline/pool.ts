// The worker pool for parallel sweeps: piscina threads that run sweep blocks over shared typed arrays.

import { Piscina } from 'piscina';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { kernelFma, kernelImpl } from '../kernels/index.ts';
import type { Block, BlockResult, SweepArrays } from './blocks.ts';

/**
 * One task: a block of a run, with the run's arrays. Those are views over SharedArrayBuffers, so
 * posting them shares the memory (no copy; a few microseconds for the handles).
 */
export interface WorkerTask {
  arrays: SweepArrays;
  block: Block;
}

export type WorkerResult = BlockResult;

// Compiled (dist/, the executable) the worker is JavaScript; from the sources (tests, benches) it is
// TypeScript, loaded through tsx, resolved from here so that the pool starts whatever the working
// directory (`--import tsx` resolves from the cwd).
const COMPILED = import.meta.url.endsWith('.js');
const WORKER_URL = new URL(COMPILED ? './worker.js' : './worker.ts', import.meta.url).href;
// piscina loads a worker's file with require() first, which Node 20.19+ lets load ES modules
// (require(esm)); that path once aborted a run here (v8 "IsGraphAsync must be used on an instantiated
// module", a known race of that Node feature). Without it require() throws at once and piscina
// imports the file instead.
const NO_REQUIRE_ESM = '--no-experimental-require-module';
const WORKER_ARGV = COMPILED ? [NO_REQUIRE_ESM] : [NO_REQUIRE_ESM, '--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];

/** A fixed set of worker threads that run sweep blocks. */
export class SweepPool {
  readonly threads: number;
  readonly #pool: Piscina<WorkerTask, WorkerResult>;

  constructor(threads: number = availableParallelism()) {
    if (!(Number.isInteger(threads) && threads >= 1)) {
      throw new RangeError(`SweepPool threads = ${String(threads)}: must be an integer >= 1`);
    }
    this.threads = threads;
    this.#pool = new Piscina<WorkerTask, WorkerResult>({
      filename: WORKER_URL,
      minThreads: threads,
      maxThreads: threads,
      // Sweeps come back to back; idle threads should not be torn down between them.
      idleTimeout: 60_000,
      // A second task waits in the worker's port, so it starts without a round trip to this thread
      // (~0.2 ms here); measured ~8% faster on the paper case's short phases.
      concurrentTasksPerWorker: 2,
      execArgv: WORKER_ARGV,
      // The workers run this thread's kernels (fused or not changes the bits), whatever the
      // environment says by the time they start.
      env: { ...process.env, LINRFM_KERNELS: kernelImpl, LINRFM_FMA: kernelFma ? '1' : '0' },
    });
  }

  /**
   * Runs the blocks of one phase, at most `concurrency` at a time, and returns their results in
   * block order (whatever order they finished in).
   */
  async runBlocks(arrays: SweepArrays, blocks: Block[], concurrency: number = this.threads): Promise<BlockResult[]> {
    if (concurrency >= this.threads) {
      // piscina queues what the threads cannot take yet, so they never wait for a round trip
      return Promise.all(blocks.map((block) => this.#pool.run({ arrays, block })));
    }
    const out = new Array<BlockResult>(blocks.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < blocks.length) {
        const b = next++;
        out[b] = await this.#pool.run({ arrays, block: blocks[b]! });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, blocks.length) }, lane));
    return out;
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
