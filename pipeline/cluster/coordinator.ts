// The coordinator's side of a scale-out run: per sweep, the kernel goes to Redis once (binary), one
// task per chunk goes to the queue, and each chunk's result is taken back in chunk order, checked
// against its task and handed to the sweep loop, which adds it up exactly as a local spilled run
// does (pipeline/sweeploop.ts): the same bits whoever solved what, in whatever order, however often.

import { randomBytes } from 'node:crypto';
import { relative, resolve, sep } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Errors } from '../../config/errors.ts';
import type { BlockResult, RemoteChunk } from '../blocks.ts';
import type { RemoteSolves } from '../run.ts';
import { bullConnection, connect, type ClusterTarget } from './connection.ts';
import { bytesOf, decodeResult, FORMAT, jobKey, QUEUE, receiptSchema, resultBytes, sha256, type CodeIdentity, type Task } from './protocol.ts';

export interface CoordinatorOptions {
  target: ClusterTarget;
  /** The shared storage's root as this host sees it: the chunk files' paths in tasks are relative to it. */
  storage: string;
  prefix: string;
  code: CodeIdentity;
  /** How long to wait for Redis (at the start, and when it goes away mid-run). */
  waitMs: number;
  /** Attempts of a task (a worker's failures, stalls and refused results all count). */
  attempts: number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

/** Per sweep: what the cluster did. */
export interface SweepTraffic {
  sweep: number;
  tasks: number;
  retried: number;
  failed: number;
  bytesOut: number;
  bytesIn: number;
  slowest: { chunk: number; seconds: number; worker: string } | null;
}

interface Pending {
  task: Task;
  blocks: number;
  attempt: number;
  sent: number;
  done: Promise<unknown>;
}

/** A waiter for the queue's events about one task. */
interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class ClusterCoordinator implements RemoteSolves {
  readonly job: string;
  readonly #o: CoordinatorOptions;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #waiters = new Map<string, Waiter>();
  #pending = new Map<number, Pending>();
  #kernelKey: string | null = null;
  #traffic: SweepTraffic | null = null;
  readonly history: SweepTraffic[] = [];

  private constructor(o: CoordinatorOptions, job: string, redis: Redis, queue: Queue, events: QueueEvents) {
    this.#o = o;
    this.job = job;
    this.#redis = redis;
    this.#queue = queue;
    this.#events = events;
    events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, null, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId, failedReason, null));
    // a task whose worker went silent (killed, hung) is handed to another one by BullMQ
    events.on('stalled', ({ jobId }) => {
      if (!this.#waiters.has(jobId) || this.#traffic === null) return;
      this.#traffic.retried++;
      o.log('task-stalled', { id: jobId, why: `task ${jobId}: its worker went silent; handed to another` });
    });
  }

  /** Connects (waiting up to o.waitMs for Redis) and names a new job; `job` is its 16 hex digits. */
  static async open(o: CoordinatorOptions, job: string = randomBytes(8).toString('hex')): Promise<ClusterCoordinator> {
    const redis = await connect(o.target, o.waitMs, (why) => o.log('waiting', { why }));
    const connection = bullConnection(o.target);
    const queue = new Queue(QUEUE, { connection, prefix: o.prefix });
    const events = new QueueEvents(QUEUE, { connection, prefix: o.prefix });
    try {
      await queue.waitUntilReady();
      await events.waitUntilReady();
    } catch (err) {
      redis.disconnect();
      await Promise.allSettled([queue.close(), events.close()]);
      throw Errors.ClusterDown(o.target.shown, err instanceof Error ? err.message : String(err));
    }
    return new ClusterCoordinator(o, job, redis, queue, events);
  }

  #settle(jobId: string, failed: string | null, value: unknown): void {
    const w = this.#waiters.get(jobId);
    if (w === undefined) return;
    this.#waiters.delete(jobId);
    if (failed !== null) w.reject(new Error(failed));
    else w.resolve(value);
  }

  /** Publishes the sweep's kernel and one task per chunk. */
  async dispatch(sweep: number, K: Float64Array, d: number, lambda: number, chunks: RemoteChunk[]): Promise<void> {
    const kbytes = bytesOf(K.subarray(0, d * d));
    const kernelSha = sha256(kbytes);
    const kernelKey = jobKey(this.#o.prefix, this.job, 'kernel', sweep);
    await this.#call(() => this.#redis.set(kernelKey, kbytes, 'EX', 24 * 3600));
    if (this.#kernelKey !== null && this.#kernelKey !== kernelKey) await this.#call(() => this.#redis.del(this.#kernelKey!));
    this.#kernelKey = kernelKey;
    this.#traffic = { sweep, tasks: chunks.length, retried: 0, failed: 0, bytesOut: kbytes.length, bytesIn: 0, slowest: null };
    this.#pending = new Map();
    const tasks = chunks.map((c): Task => ({
      format: FORMAT, code: this.#o.code, job: this.job, sweep, chunk: c.chunk, path: relative(resolve(this.#o.storage), c.path).split(sep).join('/'),
      rows: c.rows, nnz: c.nnz, nTrain: c.nTrain, nVal: c.nVal, d, lambda, ranges: c.ranges,
      kernelKey, kernelSha, resultKey: jobKey(this.#o.prefix, this.job, 'result', sweep, c.chunk),
    }));
    await this.#send(tasks.map((task) => ({ task, blocks: task.ranges.length, attempt: 0 })));
  }

  async #send(list: Array<{ task: Task; blocks: number; attempt: number }>): Promise<void> {
    const entries = list.map((p) => {
      const id = `${this.job}-${p.task.sweep}-${p.task.chunk}-${p.attempt}`;
      const done = new Promise<unknown>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
      // a task that fails for good is reported when its chunk is collected, not as an unhandled rejection now
      done.catch(() => undefined);
      this.#pending.set(p.task.chunk, { ...p, sent: performance.now(), done });
      this.#traffic!.bytesOut += JSON.stringify(p.task).length;
      return {
        name: 'solve',
        data: p.task,
        opts: { jobId: id, attempts: this.#o.attempts, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: true, removeOnFail: true },
      };
    });
    await this.#call(() => this.#queue.addBulk(entries));
  }

  /**
   * Waits for a chunk's result of this sweep, checks it against its task, copies its coefficients
   * into `a` and returns its solve blocks' results in block order. A result that does not answer
   * its task is refused, logged and asked for again (up to o.attempts times in all).
   */
  async collect(chunk: number, a: Float64Array): Promise<BlockResult[]> {
    for (;;) {
      const p = this.#pending.get(chunk);
      if (p === undefined) throw new RangeError(`cluster: no task out for chunk ${chunk}`);
      const t = p.task;
      let refused: string;
      try {
        const receipt = receiptSchema.parse(await this.#wait(p));
        const want = resultBytes(p.blocks, t.nTrain);
        if (receipt.resultKey !== t.resultKey) throw new RangeError(`receipt names ${receipt.resultKey}, expected ${t.resultKey}`);
        const len = await this.#call(() => this.#redis.strlen(t.resultKey));
        if (len !== want) throw new RangeError(`result of ${len} bytes, expected ${want}`);
        const buf = await this.#call(() => this.#redis.getBuffer(t.resultKey));
        if (buf === null) throw new RangeError('result gone');
        const r = decodeResult(buf, { ...t, blocks: p.blocks }, a);
        await this.#call(() => this.#redis.del(t.resultKey));
        const tr = this.#traffic!;
        tr.bytesIn += buf.length;
        const seconds = (performance.now() - p.sent) / 1000;
        if (tr.slowest === null || seconds > tr.slowest.seconds) tr.slowest = { chunk, seconds, worker: receipt.worker };
        if (chunk === Math.max(...this.#pending.keys())) this.history.push({ ...tr });
        return r.se.map((se, b) => ({ se, fallbacks: r.fallbacks[b]! }));
      } catch (err) {
        if (isLinRfm(err)) throw err;
        refused = err instanceof Error ? err.message : String(err);
      }
      this.#traffic!.failed++;
      this.#o.log('task-refused', { sweep: t.sweep, chunk, attempt: p.attempt, why: refused });
      if (p.attempt + 1 >= this.#o.attempts) {
        throw Errors.ClusterTask(this.#o.target.shown, `sweep ${t.sweep}, chunk ${chunk}: ${refused} (after ${p.attempt + 1} attempts)`);
      }
      this.#traffic!.retried++;
      await this.#send([{ task: t, blocks: p.blocks, attempt: p.attempt + 1 }]);
    }
  }

  /** A task's receipt, or an error once it has failed for good. */
  async #wait(p: Pending): Promise<unknown> {
    const value = await p.done;
    return typeof value === 'string' ? JSON.parse(value) : value;
  }

  /** A Redis command, its failure (Redis gone past the connection's retries) a clear error. */
  async #call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw Errors.ClusterDown(this.#o.target.shown, err instanceof Error ? err.message : String(err));
    }
  }

  /** Removes the job's keys and its tasks still queued, and closes the connections. */
  async close(): Promise<void> {
    try {
      const pattern = jobKey(this.#o.prefix, this.job, '*');
      let cursor = '0';
      do {
        const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length > 0) await this.#redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      for (const id of this.#waiters.keys()) await this.#queue.remove(id).catch(() => undefined);
    } catch {
      // Redis gone: its keys expire on their own (24 h)
    }
    this.#waiters.clear();
    await Promise.allSettled([this.#queue.close(), this.#events.close()]);
    this.#redis.disconnect();
  }
}

function isLinRfm(err: unknown): boolean {
  return err instanceof Error && err.name === 'LinRfmError';
}
