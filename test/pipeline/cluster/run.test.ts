// A run on the cluster (Redis and BullMQ): the coordinator sends each sweep's row solves to workers
// chunk by chunk and adds their results in chunk order, so it gives the local spilled run's bits
// (kernel, history, predictions) whatever the number of workers; its keys go when it ends.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAsync } from '../../../pipeline/run.ts';
import type { CompletionResult } from '../../../engine/options.ts';
import type { EngineState, RunControl } from '../../../engine/state.ts';
import { generateLowRank, unobservedPairs } from '../../../engine/synthetic.ts';
import { clusterTarget } from '../../../pipeline/cluster/connection.ts';
import { ClusterCoordinator } from '../../../pipeline/cluster/coordinator.ts';
import { startWorker, type RunningWorker } from '../../../pipeline/cluster/worker.ts';
import { codeIdentity, FORMAT, QUEUE, type Task } from '../../../pipeline/cluster/protocol.ts';
import { exitCodes, LinRfmError } from '../../../config/errors.ts';
import { openStorage } from '../../../pipeline/cluster/storage.ts';
import { clusterStatus } from '../../../pipeline/cluster/status.ts';
import { startRedis, type TestRedis } from '../../../bench/redis.ts';

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

const worker = (prefix: string, workerCode = code): Promise<RunningWorker> =>
  startWorker({ target: clusterTarget(redis.url), prefix, storage: openStorage(storage), code: workerCode, threads: 1, cacheBytes: 1e9, lockMs: 5000, waitMs: 5000, holdMs: 0, log: quiet });

/** A job on the cluster, on workers already started. */
async function job(prefix: string, events: string[] = [], partBytes?: number, dispatched: Array<Record<string, unknown>> = []): Promise<{ result: CompletionResult; coord: ClusterCoordinator }> {
  const log = (e: string, fields: Record<string, unknown>): void => {
    events.push(e);
    if (e === 'dispatch') dispatched.push(fields);
  };
  const coord = await ClusterCoordinator.open({ target: clusterTarget(redis.url), prefix, storage: openStorage(storage), code, waitMs: 5000, attempts: 3, partBytes, log });
  try {
    const result = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(storage, `job-${coord.job}`), chunkEntries: 600 }, remote: coord });
    return { result, coord };
  } finally {
    await coord.close();
  }
}

async function clusterRun(workers: number, prefix: string): Promise<{ result: CompletionResult; coord: ClusterCoordinator }> {
  const running: RunningWorker[] = [];
  for (let w = 0; w < workers; w++) running.push(await worker(prefix));
  try {
    return await job(prefix);
  } finally {
    await Promise.all(running.map((w) => w.close()));
  }
}

let local: CompletionResult;
function expectLocalBits(result: CompletionResult): void {
  expect(result.sweeps).toBe(local.sweeps);
  expect(result.history.map((h) => h.validationRmse)).toEqual(local.history.map((h) => h.validationRmse));
  expect(Buffer.from(result.model.K.buffer).equals(Buffer.from(local.model.K.buffer))).toBe(true);
  const pl = local.predict(pairs.rows, pairs.cols);
  const pr = result.predict(pairs.rows, pairs.cols);
  expect(Buffer.from(pr.buffer).equals(Buffer.from(pl.buffer))).toBe(true);
}

describe(`a run on the cluster (seed ${SEED}, 160 x 60, 3,000 observed, chunks of 600 entries)`, () => {
  it('gives the local spilled run\'s bits with 1 and 3 workers, and leaves no keys of its job', async () => {
    local = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(storage, 'local'), chunkEntries: 600 } });
    expect(local.spilledChunks).toBeGreaterThanOrEqual(4);
    for (const workers of [1, 3]) {
      const { result, coord } = await clusterRun(workers, `t${workers}`);
      expectLocalBits(result);
      // the sweeps, then the final ridge search's passes under one more sweep number
      expect(result.ridgeSearch).not.toBeNull();
      expect(coord.history.length).toBe(result.sweeps + 1);
      expect(coord.history.slice(0, result.sweeps).every((h) => h.tasks === local.spilledChunks && h.retried === 0)).toBe(true);
      result.release?.();
      const r = new Redis(redis.port, '127.0.0.1');
      const left = await r.keys(`t${workers}:job:*`);
      r.disconnect();
      expect(left).toEqual([]);
    }
  }, 120_000);

  it.each([false, true])('the low-rank kernel (side biases: %s): the local spilled run\'s bits with 2 workers, and again resumed from a checkpoint on the cluster', async (sideBias) => {
    // rank 3 with oversampling: the solves and every pass of the operator (extrapolated too) go out as tasks
    const lr = { ...opts, kernel: 'low-rank' as const, kernelRank: 3, sideBias };
    const prefix = sideBias ? 'lowrank-sb' : 'lowrank';
    const spill = (dir: string) => ({ dir: join(storage, dir), chunkEntries: 600 });
    const want = await completeAsync(problem.train, { ...lr, workers: 2, spill: spill(`local-${prefix}`) });
    expect(want.model.bias?.length).toBe(sideBias ? 60 : undefined);
    const bitsOf = (r: CompletionResult): Buffer[] => {
      const K = r.model.lowRank!;
      const bias = r.model.bias === undefined ? [] : [Buffer.from(r.model.bias.buffer)];
      return [Buffer.from(K.U.buffer), Buffer.from(K.w.buffer), Buffer.from(Float64Array.of(K.tauK).buffer), Buffer.from(r.predict(pairs.rows, pairs.cols).buffer), ...bias];
    };
    const running = [await worker(prefix), await worker(prefix)];
    try {
      let saved: EngineState | undefined;
      const onCluster = async (control: RunControl): Promise<{ result: CompletionResult; coord: ClusterCoordinator }> => {
        const coord = await ClusterCoordinator.open({ target: clusterTarget(redis.url), prefix, storage: openStorage(storage), code, waitMs: 5000, attempts: 3, log: quiet });
        try {
          return { result: await completeAsync(problem.train, { ...lr, workers: 2, spill: spill(`job-${coord.job}`), remote: coord }, undefined, control), coord };
        } finally {
          await coord.close();
        }
      };
      const first = await onCluster({ checkpointEvery: 4, onCheckpoint: (st) => { saved ??= structuredClone(st); } });
      const resumed = await onCluster({ resume: saved! });
      expect(saved!.sweepsDone).toBe(4);
      for (const { result, coord } of [first, resumed]) {
        expect(result.sweeps).toBe(want.sweeps);
        expect(result.history.map((h) => h.validationRmse)).toEqual(want.history.map((h) => h.validationRmse));
        const wanted = bitsOf(want);
        expect(bitsOf(result).length).toBe(wanted.length);
        bitsOf(result).forEach((b, i) => expect(b.equals(wanted[i]!)).toBe(true));
        // several passes a sweep: the solves and the operator's
        expect(coord.history.some((h) => h.passes > 2)).toBe(true);
        expect(coord.history.every((h) => h.failed === 0)).toBe(true);
      }
    } finally {
      await Promise.all(running.map((w) => w.close()));
    }
  }, 120_000);

  it('two jobs at once on one Redis and the same two workers each give the local bits (one with its kernel in 4 KB parts)', async () => {
    const running = [await worker('shared'), await worker('shared')];
    try {
      // the 60 x 60 kernel (28,800 bytes) in 8 parts, as a kernel past Redis's 512 MB value limit goes
      const dispatched: Array<Record<string, unknown>> = [];
      const [a, b] = await Promise.all([job('shared', [], 4096, dispatched), job('shared')]);
      // a pass a sweep, and one a ridge the final search tried past the best sweep's own
      expect(dispatched.length).toBe(a.result.sweeps + a.result.ridgeSearch!.tried.length - 1);
      expect(dispatched.every((f) => f['operandParts'] === 8)).toBe(true);
      expect(a.coord.job).not.toBe(b.coord.job);
      expectLocalBits(a.result);
      expectLocalBits(b.result);
    } finally {
      await Promise.all(running.map((w) => w.close()));
    }
  }, 120_000);

  it('a result that does not answer its task is refused, logged and asked for again: still the local bits', async () => {
    // a rogue worker answers its first task with another sweep's number in the result, then leaves
    const r = new Redis(redis.port, '127.0.0.1');
    let rogue!: Worker;
    const answered = new Promise<void>((resolve) => {
      rogue = new Worker(QUEUE, async (j) => {
        const t = j.data as Task;
        const { encodeResult } = await import('../../../pipeline/cluster/protocol.ts');
        const buf = encodeResult({ ...t, sweep: t.sweep + 1 }, { se: t.ranges.map(() => 0), fallbacks: t.ranges.map(() => 0), values: new Float64Array(t.nTrain) });
        await r.set(t.resultKey, buf);
        setImmediate(resolve);
        return { resultKey: t.resultKey, bytes: buf.length, sha: '0'.repeat(64), worker: 'rogue' };
      }, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, prefix: 'rogue', concurrency: 1 });
    });
    const events: string[] = [];
    const pending = job('rogue', events);
    await answered;
    await rogue.close();
    const honest = await worker('rogue');
    try {
      const { result, coord } = await pending;
      expectLocalBits(result);
      expect(events).toContain('task-refused');
      expect(coord.history.reduce((s, h) => s + h.failed, 0)).toBeGreaterThanOrEqual(1);
    } finally {
      await honest.close();
      r.disconnect();
    }
  }, 120_000);

  it('Redis restarted empty mid-run, within the wait: the lost tasks and the operand are sent again, and the run ends with the local bits', async () => {
    const own = await startRedis();
    let back: TestRedis | null = null;
    const target = clusterTarget(own.url);
    const events: string[] = [];
    const running = [
      // each task held a moment, so that the restart finds them out
      await startWorker({ target, prefix: 'restart', storage: openStorage(storage), code, threads: 1, cacheBytes: 1e9, lockMs: 5000, waitMs: 5000, holdMs: 50, log: quiet }),
    ];
    // the restart once the third sweep's tasks are out: the queue, the kernel and the results in Redis are lost
    let restarted: Promise<void> | null = null;
    const coord = await ClusterCoordinator.open({
      target, prefix: 'restart', storage: openStorage(storage), code, waitMs: 15_000, attempts: 3,
      log: (e, fields) => {
        events.push(e);
        if (e === 'dispatch' && fields['sweep'] === 2 && restarted === null) {
          restarted = (async () => {
            await own.stop();
            back = await startRedis({ port: own.port });
          })();
        }
      },
    });
    try {
      const result = await completeAsync(problem.train, { ...opts, workers: 2, spill: { dir: join(storage, `job-${coord.job}`), chunkEntries: 600 }, remote: coord });
      expect(restarted).not.toBeNull();
      expectLocalBits(result);
      expect(events.filter((e) => e === 'task-lost' || e === 'operand-restored').length).toBeGreaterThanOrEqual(1);
    } finally {
      await coord.close();
      await Promise.all(running.map((w) => w.close()));
      await restarted;
      await (back as TestRedis | null)?.stop();
    }
  }, 120_000);

  it('a task whose job has no coordinator any more (no heartbeat) is dropped unsolved; cluster status lists a job by its heartbeat; a worker whose Redis is gone still stops', async () => {
    const own = await startRedis();
    const target = clusterTarget(own.url);
    const w = await startWorker({ target, prefix: 'orphan', storage: openStorage(storage), code, threads: 1, cacheBytes: 1e9, lockMs: 5000, waitMs: 1500, holdMs: 0, log: quiet });
    const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: own.port, maxRetriesPerRequest: null }, prefix: 'orphan' });
    const events = new QueueEvents(QUEUE, { connection: { host: '127.0.0.1', port: own.port, maxRetriesPerRequest: null }, prefix: 'orphan' });
    try {
      await events.waitUntilReady();
      const job = '0123456789abcdef';
      const key = (...p: Array<string | number>): string => ['orphan', 'job', job, ...p].join(':');
      const task: Task = {
        kind: 'solve', format: FORMAT, code, job, sweep: 0, pass: 0, chunk: 0, path: `job-${job}/chunk-00000.arrow`, rows: 1, nnz: 1, nTrain: 1, nVal: 0, d: 1,
        ranges: [[0, 1, 0, 0]], operandKey: key('operand', 0, 0), operandSha: '0'.repeat(64), operandParts: 1, resultKey: key('result', 0, 0, 0), lambda: 1,
      };
      const failed = new Promise<string>((r) => events.on('failed', ({ failedReason }) => r(failedReason)));
      await queue.add('solve', task, { attempts: 1 });
      expect(await failed).toMatch(/job 0123456789abcdef has no coordinator any more/);
      expect(w.tasks()).toBe(0);
      // cluster status lists a job while its coordinator's heartbeat is there, and the worker
      const coord = await ClusterCoordinator.open({ target, prefix: 'orphan', storage: openStorage(storage), code, waitMs: 5000, attempts: 3, log: quiet });
      const st = await clusterStatus(target, 'orphan', 5000);
      expect(st.jobs.map((j) => j.job)).toEqual([coord.job]);
      expect(st.workers.length).toBe(1);
      await coord.close();
      expect((await clusterStatus(target, 'orphan', 5000)).jobs).toEqual([]);
    } finally {
      await Promise.all([queue.close(), events.close()]);
      await own.stop();
    }
    // Redis gone: close() gives up on it after the worker's wait instead of waiting for ever
    const t0 = Date.now();
    await w.close();
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 60_000);

  it('a worker of another version refuses the tasks: the job ends with exit code 76 (E_PROTOCOL)', async () => {
    const old = await worker('versions', codeIdentity('0.0.1'));
    try {
      const err = await job('versions').then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LinRfmError);
      expect((err as LinRfmError).exitCode).toBe(exitCodes.E_PROTOCOL);
      expect((err as LinRfmError).message).toMatch(/version 0\.0\.1/);
    } finally {
      await old.close();
    }
  }, 120_000);
});
