// The coordinator's side of a scale-out run: per pass of a sweep (the row solves; the low-rank
// form's operator rows too), the operand goes to Redis once (binary), one task per chunk goes to
// the queue, and each chunk's result is taken back in chunk order, checked against its task and
// handed to the sweep loop, which adds it up exactly as a local spilled run does
// (pipeline/sweeploop.ts, pipeline/lowrank-loop.ts): the same bits whoever did what, in whatever
// order, however often.

import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Errors } from '../../config/errors.ts';
import type { BlockResult, RemotePass } from '../blocks.ts';
import type { RemoteSolves } from '../run.ts';
import { bullConnection, connect, scanKeys, within, type ClusterTarget } from './connection.ts';
import type { SharedStorage } from './storage.ts';
import {
  ALIVE_RENEW_MS, ALIVE_SECONDS, bytesOf, decodeResult, FORMAT, jobKey, operandBytes, taskOf, PART_BYTES, partKeys, QUEUE, receiptSchema, resultBytesOf, sha256, type CodeIdentity, type Stored, type Task,
} from './protocol.ts';

export interface CoordinatorOptions {
  target: ClusterTarget;
  /** The shared storage: the chunk files are named in tasks by their names there. */
  storage: SharedStorage;
  prefix: string;
  code: CodeIdentity;
  /** How long to wait for Redis (at the start, and when it goes away mid-run). */
  waitMs: number;
  /** Attempts of a task (a worker's failures, stalls and refused results all count). */
  attempts: number;
  /** An operand larger than this goes to Redis in parts (default PART_BYTES; tests make it small). */
  partBytes?: number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

/** Per sweep: what the cluster did, over all its passes. */
export interface SweepTraffic {
  sweep: number;
  passes: number;
  tasks: number;
  retried: number;
  failed: number;
  bytesOut: number;
  bytesIn: number;
  slowest: { chunk: number; seconds: number; worker: string } | null;
}

interface Pending {
  task: Task;
  attempt: number;
  sent: number;
  done: Promise<unknown>;
}

/** How often a task waited for is looked at in Redis (a missed event, a lost task, Redis gone). */
const POLL_MS = 2000;

/** A waiter for the queue's events about one task. */
interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class ClusterCoordinator implements RemoteSolves {
  readonly job: string;
  readonly #o: CoordinatorOptions;
  #redis: Redis;
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #waiters = new Map<string, Waiter>();
  #pending = new Map<number, Pending>();
  /** The pass's operand, kept to put back should Redis restart empty. */
  #operand: Stored | null = null;
  /** The low-rank form's fits published, by the sweep loop's name for them, then by chunk (at most two: the current and the previous sweep's). */
  readonly #fits = new Map<number, Map<number, Stored>>();
  /** The fits the pass's tasks read. */
  #passFits: Map<number, Stored> | null = null;
  #traffic: SweepTraffic | null = null;
  readonly #alive: NodeJS.Timeout;
  readonly history: SweepTraffic[] = [];

  private constructor(o: CoordinatorOptions, job: string, redis: Redis, queue: Queue, events: QueueEvents) {
    this.#o = o;
    this.job = job;
    this.#redis = redis;
    this.#queue = queue;
    this.#events = events;
    // BullMQ reports a lost connection as events (and prints them when nobody listens); the waits
    // notice Redis gone through #call
    let last = { text: '', at: 0 };
    const lost = (err: Error): void => {
      // once per message and 10 s: a reconnecting client repeats itself
      if (err.message === last.text && Date.now() - last.at < 10_000) return;
      last = { text: err.message, at: Date.now() };
      o.log('connection', { error: err.message });
    };
    queue.on('error', lost);
    events.on('error', lost);
    events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, null, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.#settle(jobId, failedReason, null));
    // a task whose worker went silent (killed, hung) is handed to another one by BullMQ
    // the job's heartbeat, renewed in the background (a failed renewal is for the waits to notice)
    this.#alive = setInterval(() => void this.#beat().catch(() => undefined), ALIVE_RENEW_MS);
    this.#alive.unref();
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
      await within(o.waitMs, () => Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), `BullMQ's connections not ready in ${Math.round(o.waitMs / 1000)} s`);
    } catch (err) {
      redis.disconnect();
      await Promise.allSettled([queue.close(), events.close()]);
      throw Errors.ClusterDown(o.target.shown, err instanceof Error ? err.message : String(err));
    }
    const coord = new ClusterCoordinator(o, job, redis, queue, events);
    try {
      await coord.#beat();
    } catch (err) {
      await coord.close();
      throw Errors.ClusterDown(o.target.shown, err instanceof Error ? err.message : String(err));
    }
    return coord;
  }

  /** The job's heartbeat (see ALIVE_SECONDS). */
  async #beat(): Promise<void> {
    await within(this.#o.waitMs, () => this.#redis.set(jobKey(this.#o.prefix, this.job, 'alive'), '1', 'EX', ALIVE_SECONDS));
  }

  /** The queue's job ID of a task's attempt. */
  #taskId(p: { task: Pick<Task, 'sweep' | 'pass' | 'chunk'>; attempt: number }): string {
    return `${this.job}-${p.task.sweep}-${p.task.pass}-${p.task.chunk}-${p.attempt}`;
  }

  #settle(jobId: string, failed: string | null, value: unknown): void {
    const w = this.#waiters.get(jobId);
    if (w === undefined) return;
    this.#waiters.delete(jobId);
    if (failed !== null) w.reject(new Error(failed));
    else w.resolve(value);
  }

  /** Publishes a pass's operand (and the fits it reads) and one task per chunk. */
  async dispatch(pass: RemotePass): Promise<void> {
    const { sweep } = pass;
    const bytes = operandBytes(pass);
    const operandSha = sha256(bytes);
    const operandKey = jobKey(this.#o.prefix, this.job, 'operand', sweep, pass.pass);
    const operandParts = Math.max(1, Math.ceil(bytes.length / (this.#o.partBytes ?? PART_BYTES)));
    const operand: Stored = { key: operandKey, bytes, sha: operandSha, parts: operandParts };
    await this.#put(operand);
    const old = this.#operand;
    if (old !== null && old.key !== operandKey) await this.#call(() => this.#redis.del(...partKeys(old.key, old.parts)));
    this.#operand = operand;
    if (this.#traffic?.sweep !== sweep) {
      if (this.#traffic !== null) this.#o.log('sweep', { ...this.#traffic });
      this.#traffic = { sweep, passes: 0, tasks: 0, retried: 0, failed: 0, bytesOut: 0, bytesIn: 0, slowest: null };
      this.history.push(this.#traffic);
    }
    const tr = this.#traffic;
    tr.passes++;
    tr.tasks += pass.chunks.length;
    tr.bytesOut += bytes.length;
    this.#passFits = pass.kind === 'lr-rows' ? await this.#fitsOf(pass.fit, pass.bs, pass.k, pass.chunks)
      : pass.kind === 'fold' ? await this.#fitsOf(pass.fit, pass.rowBias, 1, pass.chunks) : null;
    this.#pending = new Map();
    const common = { format: FORMAT, code: this.#o.code, job: this.job, operandKey, operandSha, operandParts };
    const tasks = pass.chunks.map((c) => taskOf(pass, c, this.#o.storage.nameOf(c.path), common, this.#passFits?.get(c.chunk)));
    await this.#send(tasks.map((task) => ({ task, attempt: 0 })));
    this.#o.log('dispatch', { sweep, pass: pass.pass, kind: pass.kind, tasks: tasks.length, operandBytes: bytes.length, operandParts });
  }

  /**
   * The chunks' fits a pass reads (their rows' k values each in `bs`: the operator's bs, the fold-in's
   * row biases), put in Redis the first time a fit is named. The sweep loop names a fit afresh
   * whenever it solves it again, so a name seen before still holds the same values.
   */
  async #fitsOf(name: number, bs: Float64Array, k: number, chunks: RemotePass['chunks']): Promise<Map<number, Stored>> {
    const known = this.#fits.get(name);
    if (known !== undefined) return known;
    const fits = new Map<number, Stored>();
    for (const c of chunks) {
      const bytes = bytesOf(bs.subarray(c.r0 * k, (c.r0 + c.rows) * k));
      const fit: Stored = { key: jobKey(this.#o.prefix, this.job, 'fit', name, c.chunk), bytes, sha: sha256(bytes), parts: 1 };
      await this.#put(fit);
      this.#traffic!.bytesOut += bytes.length;
      fits.set(c.chunk, fit);
    }
    this.#fits.set(name, fits);
    // the extrapolation reads two fits: the current sweep's and the previous one's; older ones go
    while (this.#fits.size > 2) {
      const [oldest, old] = this.#fits.entries().next().value as [number, Map<number, Stored>];
      this.#fits.delete(oldest);
      const keys = [...old.values()].map((f) => f.key);
      if (keys.length > 0) await this.#call(() => this.#redis.del(...keys));
    }
    return fits;
  }

  /** A value into Redis, in its parts. */
  async #put(v: Stored): Promise<void> {
    const size = Math.ceil(v.bytes.length / v.parts);
    for (const [i, key] of partKeys(v.key, v.parts).entries()) {
      await this.#call(() => this.#redis.set(key, v.bytes.subarray(i * size, (i + 1) * size), 'EX', 24 * 3600));
    }
  }

  async #send(list: Array<{ task: Task; attempt: number }>): Promise<void> {
    const entries = list.map((q) => {
      // each attempt its own result key: a refused result can never be taken for a later attempt's
      const p = { ...q, task: { ...q.task, resultKey: jobKey(this.#o.prefix, this.job, 'result', q.task.sweep, q.task.pass, q.task.chunk, q.attempt) } };
      const id = this.#taskId(p);
      const done = new Promise<unknown>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
      // a task that fails for good is reported when its chunk is collected, not as an unhandled rejection now
      done.catch(() => undefined);
      this.#pending.set(p.task.chunk, { ...p, sent: performance.now(), done });
      this.#traffic!.bytesOut += JSON.stringify(p.task).length;
      return {
        name: 'solve',
        data: p.task,
        // the attempts are counted here (a failure comes back at once and is sent again from here)
        opts: { jobId: id, attempts: 1, removeOnComplete: true, removeOnFail: true },
      };
    });
    await this.#call(() => this.#queue.addBulk(entries));
  }

  /**
   * Waits for a chunk's result of this pass, checks it against its task, copies its values into
   * `out` and returns its solve blocks' results in block order. A result that does not answer
   * its task is refused, logged and asked for again (up to o.attempts times in all).
   */
  async collect(chunk: number, out: Float64Array): Promise<BlockResult[]> {
    for (;;) {
      const p = this.#pending.get(chunk);
      if (p === undefined) throw new RangeError(`cluster: no task out for chunk ${chunk}`);
      const t = p.task;
      let refused: string;
      try {
        const receipt = receiptSchema.parse(await this.#wait(p));
        const want = resultBytesOf(t);
        if (receipt.resultKey !== t.resultKey) throw new RangeError(`receipt names ${receipt.resultKey}, expected ${t.resultKey}`);
        const len = await this.#call(() => this.#redis.strlen(t.resultKey));
        if (len !== want) throw new RangeError(`result of ${len} bytes, expected ${want}`);
        const buf = await this.#call(() => this.#redis.getBuffer(t.resultKey));
        if (buf === null) throw new RangeError('result gone');
        const r = decodeResult(buf, t, out);
        await this.#call(() => this.#redis.del(t.resultKey));
        // a result taken by the poll leaves its waiter: gone now, or a lost-task check would send it again
        this.#waiters.delete(this.#taskId(p));
        const tr = this.#traffic!;
        tr.bytesIn += buf.length;
        const seconds = (performance.now() - p.sent) / 1000;
        if (tr.slowest === null || seconds > tr.slowest.seconds) tr.slowest = { chunk, seconds, worker: receipt.worker };
        return r.se.map((se, b) => ({ se, fallbacks: r.fallbacks[b]! }));
      } catch (err) {
        if (isLinRfm(err)) throw err;
        refused = err instanceof Error ? err.message : String(err);
      }
      this.#traffic!.failed++;
      this.#o.log('task-refused', { sweep: t.sweep, chunk, attempt: p.attempt, why: refused });
      if (p.attempt + 1 >= this.#o.attempts) {
        throw Errors.ClusterTask(this.#o.target.shown, `sweep ${t.sweep}, pass ${t.pass}, chunk ${chunk}: ${refused} (after ${p.attempt + 1} attempts)`);
      }
      this.#traffic!.retried++;
      await this.#call(() => this.#redis.del(t.resultKey));
      await this.#operandsBack([chunk]);
      await this.#send([{ task: t, attempt: p.attempt + 1 }]);
    }
  }

  /** Sends again, at once, every task of the sweep still out that the queue lost and that left no result. */
  async #resendLost(): Promise<void> {
    const lost: Pending[] = [];
    for (const q of this.#pending.values()) {
      const id = this.#taskId(q);
      if (!this.#waiters.has(id)) continue;
      const state = await this.#call(() => this.#queue.getJobState(id));
      if (state !== 'unknown' || (await this.#call(() => this.#redis.exists(q.task.resultKey))) === 1) continue;
      this.#o.log('task-lost', { id, why: `task ${id}: the queue lost it (Redis restarted?); sent again` });
      this.#traffic!.retried++;
      this.#waiters.delete(id);
      lost.push(q);
    }
    if (lost.length === 0) return;
    await this.#operandsBack(lost.map((q) => q.task.chunk));
    await this.#send(lost.map((q) => ({ task: q.task, attempt: q.attempt })));
  }

  /** Puts the pass's operand, and the fits of these chunks' tasks, back if Redis lost them (a restart without persistence). */
  async #operandsBack(chunks: number[]): Promise<void> {
    await this.#call(() => this.#beat());
    const stored = [this.#operand, ...chunks.map((c) => this.#passFits?.get(c) ?? null)];
    for (const v of stored) {
      if (v === null) continue;
      const keys = partKeys(v.key, v.parts);
      if ((await this.#call(() => this.#redis.exists(...keys))) === keys.length) continue;
      this.#o.log('operand-restored', { key: v.key });
      await this.#put(v);
    }
  }

  /**
   * A task's receipt, or an error once it has failed for good. Every POLL_MS the task is looked at
   * too: a result already there (its event missed) is taken; a task the queue no longer knows,
   * with no result (Redis restarted empty), is sent again; Redis gone fails the wait through #call.
   */
  async #wait(p: Pending): Promise<unknown> {
    const id = this.#taskId(p);
    for (let ticks = 1; ; ticks++) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((r) => {
        timer = setTimeout(() => r('tick'), POLL_MS);
      });
      const value = await Promise.race([p.done, tick]).finally(() => clearTimeout(timer));
      if (value !== 'tick') return typeof value === 'string' ? JSON.parse(value) : value;
      // the state first: a task finished meanwhile is gone from the queue but has its result
      const state = await this.#call(() => this.#queue.getJobState(id));
      if ((await this.#call(() => this.#redis.exists(p.task.resultKey))) === 1) {
        return { resultKey: p.task.resultKey, bytes: resultBytesOf(p.task), worker: 'unknown' };
      }
      if (state === 'unknown') {
        // Redis lost this one: the sweep's other tasks still out are looked at now, not one poll each
        await this.#resendLost();
        p = this.#pending.get(p.task.chunk)!;
      } else if (ticks % 15 === 0) {
        this.#o.log('waiting', { why: `no result for sweep ${p.task.sweep}, pass ${p.task.pass}, chunk ${p.task.chunk} after ${(ticks * POLL_MS) / 1000} s (task ${state}): are workers running? (lin-rfm cluster status)` });
      }
    }
  }

  /**
   * A Redis command. Redis gone: reconnect, waiting up to o.waitMs, and try once more; still gone,
   * or a command hanging that long (BullMQ's connections retry on their own), a ClusterDown error.
   */
  async #call<T>(f: () => Promise<T>): Promise<T> {
    const bounded = (): Promise<T> => within(this.#o.waitMs, f);
    try {
      return await bounded();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (/^no answer/.test(why) || this.#redis.status === 'ready') throw Errors.ClusterDown(this.#o.target.shown, why);
      this.#o.log('waiting', { why: `Redis at ${this.#o.target.shown} lost (${why}); reconnecting for up to ${Math.round(this.#o.waitMs / 1000)} s` });
      this.#redis.disconnect();
      this.#redis = await connect(this.#o.target, this.#o.waitMs, (w) => this.#o.log('waiting', { why: w }));
      try {
        return await bounded();
      } catch (again) {
        throw Errors.ClusterDown(this.#o.target.shown, again instanceof Error ? again.message : String(again));
      }
    }
  }

  /** Removes the job's keys and its tasks still queued, and closes the connections. */
  async close(): Promise<void> {
    clearInterval(this.#alive);
    if (this.#traffic !== null) this.#o.log('sweep', { ...this.#traffic });
    this.#traffic = null;
    const upTo = <T>(ms: number, f: () => Promise<T>): Promise<T | undefined> => within(ms, f).catch(() => undefined);
    // Redis gone: nothing to remove there now (the job's keys expire on their own after 24 h)
    if (this.#redis.status === 'ready') {
      await upTo(10_000, async () => {
        for (const id of this.#waiters.keys()) await this.#queue.remove(id).catch(() => undefined);
        await scanKeys(this.#redis, jobKey(this.#o.prefix, this.job, '*'), (keys) => this.#redis.del(...keys));
      });
    }
    this.#waiters.clear();
    // BullMQ's connections retry for ever: closed within a bound, then dropped
    await upTo(3000, () => Promise.allSettled([this.#queue.close(), this.#events.close()]));
    await upTo(1000, () => Promise.allSettled([this.#queue.disconnect(), this.#events.disconnect()]));
    this.#redis.disconnect();
  }
}




function isLinRfm(err: unknown): boolean {
  return err instanceof Error && err.name === 'LinRfmError';
}
