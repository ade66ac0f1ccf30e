// The worker role of a scale-out run: takes tasks from the queue (BullMQ over Redis), each one pass
// over one chunk of a spilled matrix (the row solves under a sweep's kernel, dense or low-rank, or
// the low-rank operator's rows), runs it with the very blocks of a local run (pipeline/blocks.ts,
// on a thread pool so that this thread keeps the task's lock), and puts the result back as a binary
// value. Chunks and fits read stay cached across sweeps, within a budget.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { chunkFileBound, chunkFromBytes, type ChunkEntries } from '../../io/chunks.ts';
import type { Csr } from '../../engine/csr.ts';
import { biasSums, offsetInto } from '../../engine/side-bias.ts';
import { nextOperandKey, type Block, type SweepArrays } from '../blocks.ts';
import { chunkShare, type LowRankArrays } from '../lowrank-blocks.ts';
import { splitChunk } from '../spill.ts';
import { SweepPool } from '../pool.ts';
import { bullConnection, connect, within, type ClusterTarget } from './connection.ts';
import { foldChunk } from './fold.ts';
import type { SharedStorage } from './storage.ts';
import { encodeResult, FORMAT, jobKey, operandValues, partKeys, QUEUE, taskSchema, type CodeIdentity, type Receipt, type Task } from './protocol.ts';

export interface WorkerOptions {
  target: ClusterTarget;
  prefix: string;
  /** The shared storage the coordinators write their chunks into. */
  storage: SharedStorage;
  code: CodeIdentity;
  threads: number;
  /** Bytes of chunks and fits kept in memory between sweeps (least recently used dropped first). */
  cacheBytes: number;
  /** A task's lock: a worker silent for this long has its task handed to another (BullMQ's stalled jobs). */
  lockMs: number;
  /** How long to wait for Redis at the start. */
  waitMs: number;
  /** Fault drills: each task held this long before it is solved (LINRFM_WORKER_HOLD_MS; 0 in use). */
  holdMs: number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

/** A binary value read from Redis (an operand or a fit), in shared memory; `name` a fresh operand key for the threads' copies. */
interface Fetched {
  key: string;
  sha: string;
  x: Float64Array;
  name: number;
}

/** One chunk as the solve blocks read it, in shared memory. */
interface CachedChunk {
  train: Csr;
  valRow: Int32Array;
  valCol: Int32Array;
  valValue: Float64Array;
  maxRow: number;
  bytes: number;
  runKey: number;
}

export interface RunningWorker {
  id: string;
  /** Resolves when the worker has stopped (after close). */
  closed: Promise<void>;
  /** Finishes the task in hand, then stops taking tasks. */
  close(): Promise<void>;
  tasks(): number;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  // the first contact proves the credentials; from then on the connection comes back by itself
  // after Redis restarts (commands wait for it), as BullMQ's own do
  (await connect(o.target, o.waitMs, (why) => o.log('waiting', { why }))).disconnect();
  const redis = new Redis({ ...o.target.options, lazyConnect: false });
  redis.on('error', (err: Error) => o.log('error', { error: err.message }));
  const pool = new SweepPool(o.threads);
  const id = `${hostname()}:${process.pid}`;
  // chunks (by path) and fits (by key), least recently used first
  const cache = new Map<string, { bytes: number; value: CachedChunk | Fetched }>();
  let cached = 0;
  let operand: Fetched | null = null;
  let done = 0;

  const cachedFor = <T extends CachedChunk | Fetched>(key: string, make: () => T | Promise<T>): T | Promise<T> => {
    const hit = cache.get(key);
    if (hit !== undefined) {
      // most recently used last
      cache.delete(key);
      cache.set(key, hit);
      return hit.value as T;
    }
    const keep = (v: T): T => {
      const bytes = 'train' in v ? v.bytes : v.x.byteLength;
      while (cache.size > 0 && cached + bytes > o.cacheBytes) {
        const [oldest, old] = cache.entries().next().value as [string, { bytes: number }];
        cache.delete(oldest);
        cached -= old.bytes;
      }
      cache.set(key, { bytes, value: v });
      cached += bytes;
      return v;
    };
    const v = make();
    return v instanceof Promise ? v.then(keep) : keep(v);
  };
  const chunkFor = (t: Task): CachedChunk => cachedFor(t.path, () => loadChunk(t.path, chunkFromBytes(t.path, o.storage.read(t.path, chunkFileBound(t.nnz)), t.nnz), t)) as CachedChunk;

  /**
   * A binary value of the job's (in `parts` values, see PART_BYTES), in shared memory: its sizes
   * checked before it is read, its SHA-256 after.
   */
  const fetch = async (key: string, sha: string, values: number, parts: number, what: string): Promise<Fetched> => {
    const want = 8 * values;
    const keys = partKeys(key, parts);
    const lens = await Promise.all(keys.map((k) => redis.strlen(k)));
    const len = lens.reduce((a, b) => a + b, 0);
    if (len !== want) throw new Error(`${what} ${key}: ${len} bytes in ${parts} part${parts > 1 ? 's' : ''}, expected ${want}`);
    const x = new Float64Array(new SharedArrayBuffer(want));
    const into = new Uint8Array(x.buffer);
    const hash = createHash('sha256');
    let at = 0;
    for (const [i, k] of keys.entries()) {
      const buf = await redis.getBuffer(k);
      if (buf === null || buf.length !== lens[i]) throw new Error(`${what} ${k}: gone or changed while read`);
      into.set(buf, at);
      hash.update(buf);
      at += buf.length;
    }
    const got = hash.digest('hex');
    if (got !== sha) throw new Error(`${what} ${key}: SHA-256 ${got.slice(0, 12)}..., expected ${sha.slice(0, 12)}...`);
    return { key, sha, x, name: nextOperandKey() };
  };
  const operandFor = async (t: Task): Promise<Fetched> => {
    if (operand === null || operand.key !== t.operandKey || operand.sha !== t.operandSha) {
      operand = null;
      operand = await fetch(t.operandKey, t.operandSha, operandValues(t), t.operandParts, 'operand');
    }
    return operand;
  };
  const fitFor = async (t: Extract<Task, { kind: 'lr-rows' | 'fold' }>): Promise<Float64Array> => {
    // by key and SHA-256: a fit put back with other values after a restart is fetched afresh
    const f = await cachedFor(`${t.fitKey}@${t.fitSha}`, () => fetch(t.fitKey, t.fitSha, t.kind === 'fold' ? t.rows : t.rows * t.k, 1, 'fit'));
    if (f.sha !== t.fitSha) throw new Error(`fit ${t.fitKey}: SHA-256 ${f.sha.slice(0, 12)}..., expected ${t.fitSha.slice(0, 12)}...`);
    return f.x;
  };

  /** Runs a task's blocks on the pool; the values of its result and its solve blocks' figures. */
  const solve = async (t: Task, chunk: CachedChunk, op: Fetched): Promise<{ values: Float64Array; se: number[]; fallbacks: number[] }> => {
    if (t.kind === 'fold') {
      const rowBias = t.topK > 0 && t.center.kind === 'bias' ? await fitFor(t) : new Float64Array(0);
      return { values: await foldChunk(t, chunk, op.x, rowBias), se: [], fallbacks: [] };
    }
    const sab = (len: number): Float64Array => new Float64Array(new SharedArrayBuffer(8 * len));
    const a = sab(t.nTrain);
    // side biases: the chunk's values taken with the biases at the operand's end (the cached chunk keeps the originals)
    const bias = t.kind !== 'solve' && t.bias ? op.x.subarray(op.x.length - t.d) : null;
    const train = bias === null ? chunk.train : { ...chunk.train, values: offsetInto(chunk.train.values, chunk.train.colIdx, bias, sab(t.nTrain), t.nTrain) };
    const valValue = bias === null ? chunk.valValue : offsetInto(chunk.valValue, chunk.valCol, bias, sab(t.nVal), t.nVal);
    const arrays: SweepArrays = {
      d: t.d, train, a, valRow: chunk.valRow, valCol: chunk.valCol, valValue,
      cols: null, mats: [], ybuf: new Float64Array(0), maxRow: chunk.maxRow, lr: null,
    };
    const none = new Float64Array(0);
    let blocks: Block[];
    let values: Float64Array;
    let after = (): void => undefined;
    if (t.kind === 'solve') {
      arrays.mats = [op.x];
      blocks = t.ranges.map(([r0, r1, v0, v1]): Block => ({ kind: 'solve', K: 0, lambda: t.lambda, r0, r1, v0, v1, yhat: false, runKey: chunk.runKey, kKey: op.name }));
      values = a;
    } else if (t.kind === 'lr-solve') {
      const { d, k } = t;
      values = sab(t.rows * k + (bias === null ? 0 : d));
      const slot = { U: op.x.subarray(0, d * k), w: op.x.subarray(d * k, d * k + k), a: none, bs: values.subarray(0, t.rows * k) };
      arrays.lr = { k, p: 0, slots: [slot], X: none, T: none, Z: none, P: none, YP: none, PS: none, Y: none, side: null };
      blocks = t.ranges.map(([r0, r1, v0, v1]): Block => ({ kind: 'lr-solve', slot: 0, uKey: op.name, tauK: t.tauK, lambda: t.lambda, r0, r1, v0, v1, g0: 0 }));
      // the chunk's share of the side biases' half step, after its bs
      if (bias !== null) after = () => void values.set(biasSums(train.colIdx, a, t.tauK + t.lambda, t.nTrain, d), t.rows * k);
    } else {
      const { d, k, p } = t;
      const groups = t.ranges.length;
      const slot = { U: op.x.subarray(0, d * k), w: none, a: none, bs: await fitFor(t) };
      const lr: LowRankArrays = {
        k, p, slots: [slot], X: op.x.subarray(d * k, d * k + d * p), T: op.x.subarray(d * k + d * p, d * k + d * p + k * p),
        Z: sab(t.rows * p), P: sab(groups * k * p), YP: sab(groups * d * p), PS: none, Y: none, side: null,
      };
      arrays.lr = lr;
      blocks = t.ranges.map(([r0, r1], part): Block => ({ kind: 'lr-rows', slot: 0, c: t.c, r0, r1, part, g0: 0 }));
      values = new Float64Array((k + d) * p);
      after = () => void chunkShare(lr.P, lr.YP, 0, groups, k * p, d * p, values);
    }
    const results = await pool.runBlocks(arrays, blocks);
    after();
    return { values, se: t.kind === 'lr-rows' ? [] : results.map((r) => r.se), fallbacks: t.kind === 'lr-rows' ? [] : results.map((r) => r.fallbacks) };
  };

  const handle = async (job: Job): Promise<Receipt> => {
    const parsed = taskSchema.safeParse(job.data);
    if (!parsed.success) {
      const format = (job.data as { format?: unknown } | null)?.format;
      if (typeof format === 'number' && format !== FORMAT) throw new Error(`task format ${format}: this worker (version ${o.code.version}) reads format ${FORMAT}`);
      throw new Error(`malformed task: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const t = parsed.data;
    if (t.format !== FORMAT) throw new Error(`task format ${t.format}: this worker (version ${o.code.version}) reads format ${FORMAT}`);
    const c = o.code;
    if (t.code.version !== c.version || t.code.kernels !== c.kernels || t.code.fma !== c.fma) {
      throw new Error(`task of version ${t.code.version} (kernels ${t.code.kernels}, fma ${t.code.fma}); this worker is version ${c.version} (kernels ${c.kernels}, fma ${c.fma}): their bits would differ`);
    }
    for (const [r0, r1, v0, v1] of t.ranges) {
      if (!(r0 <= r1 && r1 <= t.rows && v0 <= v1 && v1 <= t.nVal)) throw new Error(`task range [${r0}, ${r1}, ${v0}, ${v1}] outside the chunk's ${t.rows} rows and ${t.nVal} held-out entries`);
    }
    // a task writes and reads its own job's keys only
    const own = `${o.prefix}:job:${t.job}:`;
    const keys = [t.resultKey, t.operandKey, ...('fitKey' in t ? [t.fitKey] : [])];
    if (!keys.every((key) => key.startsWith(own))) throw new Error(`task keys outside ${own}*`);
    if (!t.path.startsWith(`job-${t.job}/`)) throw new Error(`chunk ${t.path} outside job-${t.job}/ in the storage`);
    const alive = jobKey(o.prefix, t.job, 'alive');
    if ((await redis.exists(alive)) === 0) throw new Error(`job ${t.job} has no coordinator any more (${alive} is gone): task dropped`);
    const ts = performance.now();
    const where = { job: t.job, sweep: t.sweep, pass: t.pass, kind: t.kind, chunk: t.chunk };
    o.log('task-start', where);
    if (o.holdMs > 0) await new Promise((r) => setTimeout(r, o.holdMs));
    const op = await operandFor(t);
    const buf = encodeResult(t, await solve(t, chunkFor(t), op));
    await redis.set(t.resultKey, buf, 'EX', 24 * 3600);
    done++;
    o.log('task', { ...where, seconds: (performance.now() - ts) / 1000, bytes: buf.length });
    return { resultKey: t.resultKey, bytes: buf.length, worker: id };
  };

  const worker = new Worker(QUEUE, handle, {
    connection: bullConnection(o.target),
    prefix: o.prefix,
    // `lin-rfm cluster status` lists the workers by this name
    name: id,
    concurrency: 1,
    lockDuration: o.lockMs,
    stalledInterval: o.lockMs,
    maxStalledCount: 5,
  });
  worker.on('failed', (job, err) => o.log('task-failed', { id: job?.id ?? null, error: err.message }));
  worker.on('error', (err) => o.log('error', { error: err.message }));
  await worker.waitUntilReady();
  let closing: Promise<void> | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // the task in hand is finished first; but with Redis gone for longer than the wait its result
      // could not be delivered, and BullMQ's close would wait for Redis for ever: then it is dropped
      let downSince: number | null = null;
      let watch: NodeJS.Timeout | undefined;
      const gone = new Promise<'gone'>((r) => {
        watch = setInterval(() => {
          downSince = redis.status === 'ready' ? null : (downSince ?? Date.now());
          if (downSince !== null && Date.now() - downSince > o.waitMs) r('gone');
        }, 500);
      });
      const how = await Promise.race([worker.close(), gone]).finally(() => clearInterval(watch));
      if (how === 'gone') {
        o.log('stopping', { why: `Redis gone for ${Math.round(o.waitMs / 1000)} s: the task in hand, if any, is dropped` });
        await within(3000, () => worker.close(true)).catch(() => undefined);
        await within(1000, () => worker.disconnect()).catch(() => undefined);
      }
      await pool.close();
      redis.disconnect();
      resolveClosed();
    })();
    return closing;
  };
  return { id, closed, close, tasks: () => done };
}

/** Reads a chunk file into shared arrays: its training rows (local numbers) and held-out entries, as SpillStore.load splits them. */
function loadChunk(file: string, e: ChunkEntries, t: Task): CachedChunk {
  const rows = t.rows;
  const sab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(bytes);
  const rowPtr = new Int32Array(sab(4 * (rows + 1)));
  const colIdx = new Int32Array(sab(4 * t.nTrain));
  const values = new Float64Array(sab(8 * t.nTrain));
  const valRow = new Int32Array(sab(4 * t.nVal));
  const valCol = new Int32Array(sab(4 * t.nVal));
  const valValue = new Float64Array(sab(8 * t.nVal));
  // a row outside the chunk would be dropped silently by the split: refused first
  const all = new Int32Array(rows);
  for (let p = 0; p < t.nnz; p++) {
    const i = e.row[p]!;
    if (!(i >= 0 && i < rows)) throw new Error(`${file}: entry ${p} in row ${i}, outside the chunk's ${rows} rows`);
    all[i]!++;
  }
  const { train: tr, held: v } = splitChunk(e, t.nnz, rows, { rowPtr, colIdx, values, valRow, valCol, valValue });
  if (tr !== t.nTrain || v !== t.nVal) throw new Error(`${file}: ${tr} training and ${v} held-out entries, expected ${t.nTrain} and ${t.nVal}`);
  let maxRow = 0;
  for (let i = 0; i < rows; i++) maxRow = Math.max(maxRow, all[i]!);
  for (const c of [colIdx, valCol]) {
    for (let p = 0; p < c.length; p++) if (!(c[p]! >= 0 && c[p]! < t.d)) throw new Error(`${file}: column ${c[p]} outside 0..${t.d - 1}`);
  }
  const train: Csr = { nRows: rows, nCols: t.d, rowPtr, colIdx, values };
  const bytes = 4 * (rows + 1) + 12 * t.nTrain + 16 * t.nVal;
  return { train, valRow, valCol, valValue, maxRow, bytes, runKey: nextOperandKey() };
}

