// The worker role of a scale-out run: takes tasks from the queue (BullMQ over Redis), each the row
// solves of one chunk of a spilled matrix under one sweep's kernel, runs them with the very blocks
// of a local run (pipeline/blocks.ts, on a thread pool so that this thread keeps the task's lock),
// and puts the result back as a binary value. Chunks read stay cached across sweeps, within a budget.

import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { chunkFromBytes, type ChunkEntries } from '../../io/chunks.ts';
import type { Csr } from '../../engine/csr.ts';
import { nextOperandKey, type Block, type SweepArrays } from '../blocks.ts';
import { splitChunk } from '../spill.ts';
import { SweepPool } from '../pool.ts';
import { bullConnection, connect, type ClusterTarget } from './connection.ts';
import type { SharedStorage } from './storage.ts';
import { encodeResult, FORMAT, QUEUE, sha256, taskSchema, type CodeIdentity, type Receipt, type Task } from './protocol.ts';

export interface WorkerOptions {
  target: ClusterTarget;
  prefix: string;
  /** The shared storage the coordinators write their chunks into. */
  storage: SharedStorage;
  code: CodeIdentity;
  threads: number;
  /** Bytes of chunks kept in memory between sweeps (least recently used dropped first). */
  cacheBytes: number;
  /** A task's lock: a worker silent for this long has its task handed to another (BullMQ's stalled jobs). */
  lockMs: number;
  /** How long to wait for Redis at the start. */
  waitMs: number;
  /** Fault drills: each task held this long before it is solved (LINRFM_WORKER_HOLD_MS; 0 in use). */
  holdMs: number;
  log: (event: string, fields: Record<string, unknown>) => void;
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
  const chunks = new Map<string, CachedChunk>();
  let cached = 0;
  let kernel: { key: string; sha: string; K: Float64Array; kKey: number } | null = null;
  let done = 0;

  const chunkFor = (t: Task): CachedChunk => {
    const hit = chunks.get(t.path);
    if (hit !== undefined) {
      // most recently used last
      chunks.delete(t.path);
      chunks.set(t.path, hit);
      return hit;
    }
    const c = loadChunk(t.path, chunkFromBytes(t.path, o.storage.read(t.path), t.nnz), t);
    while (chunks.size > 0 && cached + c.bytes > o.cacheBytes) {
      const [oldest, old] = chunks.entries().next().value as [string, CachedChunk];
      chunks.delete(oldest);
      cached -= old.bytes;
    }
    chunks.set(t.path, c);
    cached += c.bytes;
    return c;
  };

  const kernelFor = async (t: Task): Promise<{ K: Float64Array; kKey: number }> => {
    if (kernel !== null && kernel.key === t.kernelKey && kernel.sha === t.kernelSha) return kernel;
    const want = 8 * t.d * t.d;
    // the size first: never read a value larger than the task says it is
    const len = await redis.strlen(t.kernelKey);
    if (len !== want) throw new Error(`kernel ${t.kernelKey}: ${len} bytes, expected ${want}`);
    const buf = await redis.getBuffer(t.kernelKey);
    if (buf === null || buf.length !== want) throw new Error(`kernel ${t.kernelKey}: gone or changed while read`);
    const sha = sha256(buf);
    if (sha !== t.kernelSha) throw new Error(`kernel ${t.kernelKey}: SHA-256 ${sha.slice(0, 12)}..., expected ${t.kernelSha.slice(0, 12)}...`);
    const K = new Float64Array(new SharedArrayBuffer(want));
    new Uint8Array(K.buffer).set(buf);
    kernel = { key: t.kernelKey, sha, K, kKey: nextOperandKey() };
    return kernel;
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
    if (!t.resultKey.startsWith(own) || !t.kernelKey.startsWith(own)) throw new Error(`task keys outside ${own}*`);
    const ts = performance.now();
    o.log('task-start', { job: t.job, sweep: t.sweep, chunk: t.chunk });
    if (o.holdMs > 0) await new Promise((r) => setTimeout(r, o.holdMs));
    const { K, kKey } = await kernelFor(t);
    const chunk = chunkFor(t);
    const a = new Float64Array(new SharedArrayBuffer(8 * t.nTrain));
    const arrays: SweepArrays = {
      d: t.d, train: chunk.train, a, valRow: chunk.valRow, valCol: chunk.valCol, valValue: chunk.valValue,
      cols: null, mats: [K], ybuf: new Float64Array(0), maxRow: chunk.maxRow, lr: null,
    };
    const blocks = t.ranges.map(([r0, r1, v0, v1]): Block => ({ kind: 'solve', K: 0, lambda: t.lambda, r0, r1, v0, v1, yhat: false, runKey: chunk.runKey, kKey }));
    const results = await pool.runBlocks(arrays, blocks);
    const buf = encodeResult(t, { se: results.map((r) => r.se), fallbacks: results.map((r) => r.fallbacks), a });
    await redis.set(t.resultKey, buf, 'EX', 24 * 3600);
    done++;
    o.log('task', { job: t.job, sweep: t.sweep, chunk: t.chunk, seconds: (performance.now() - ts) / 1000, bytes: buf.length });
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
      await worker.close();
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

