// A run on the cluster (Redis and BullMQ): the coordinator sends each sweep's row solves to workers
// chunk by chunk and adds their results in chunk order, so it gives the local spilled run's bits
// (kernel, history, predictions) whatever the number of workers; its keys go when it ends.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAsync } from '../../../pipeline/run.ts';
import type { CompletionResult } from '../../../engine/options.ts';
import { generateLowRank, unobservedPairs } from '../../../engine/synthetic.ts';
import { clusterTarget } from '../../../pipeline/cluster/connection.ts';
import { ClusterCoordinator } from '../../../pipeline/cluster/coordinator.ts';
import { startWorker, type RunningWorker } from '../../../pipeline/cluster/worker.ts';
import { codeIdentity } from '../../../pipeline/cluster/protocol.ts';
import { startRedis, type TestRedis } from './redis.ts';

const SEED = 29;
const problem = generateLowRank({ rows: 160, cols: 60, rank: 3, observed: 3000, seed: SEED });
const opts = { seed: SEED, maxSweeps: 12, tol: 0, agop: 'factored' as const, blockFlops: 2e4 };
const pairs = unobservedPairs(problem.train);
const storage = mkdtempSync(join(tmpdir(), 'linrfm-cluster-'));
const code = codeIdentity('test');
const quiet = (): void => undefined;

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(storage, { recursive: true, force: true });
});

async function clusterRun(workers: number, prefix: string): Promise<{ result: CompletionResult; coord: ClusterCoordinator }> {
  const target = clusterTarget(redis.url);
  const running: RunningWorker[] = [];
  for (let w = 0; w < workers; w++) {
    running.push(await startWorker({ target, prefix, storage, code, threads: 1, cacheBytes: 1e9, lockMs: 5000, waitMs: 5000, log: quiet }));
  }
  const coord = await ClusterCoordinator.open({ target, prefix, storage, code, waitMs: 5000, attempts: 3, log: quiet });
  try {
    const result = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(storage, `job-${coord.job}`), chunkEntries: 600 }, remote: coord });
    return { result, coord };
  } finally {
    await coord.close();
    await Promise.all(running.map((w) => w.close()));
  }
}

describe(`a run on the cluster (seed ${SEED}, 160 x 60, 3,000 observed, chunks of 600 entries)`, () => {
  it('gives the local spilled run\'s bits with 1 and 3 workers, and leaves no keys of its job', async () => {
    const local = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(storage, 'local'), chunkEntries: 600 } });
    expect(local.spilledChunks).toBeGreaterThanOrEqual(4);
    for (const workers of [1, 3]) {
      const { result, coord } = await clusterRun(workers, `t${workers}`);
      expect(result.sweeps).toBe(local.sweeps);
      expect(result.history.map((h) => h.validationRmse)).toEqual(local.history.map((h) => h.validationRmse));
      expect(Buffer.from(result.model.K.buffer).equals(Buffer.from(local.model.K.buffer))).toBe(true);
      const pl = local.predict(pairs.rows, pairs.cols);
      const pr = result.predict(pairs.rows, pairs.cols);
      expect(Buffer.from(pr.buffer).equals(Buffer.from(pl.buffer))).toBe(true);
      expect(coord.history.length).toBe(result.sweeps);
      expect(coord.history.every((h) => h.tasks === local.spilledChunks && h.retried === 0)).toBe(true);
      result.release?.();
      const r = new Redis(redis.port, '127.0.0.1');
      const left = await r.keys(`t${workers}:job:*`);
      r.disconnect();
      expect(left).toEqual([]);
    }
    local.release?.();
  }, 120_000);
});
