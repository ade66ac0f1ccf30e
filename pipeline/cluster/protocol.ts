// What the coordinator and the workers of a scale-out run say to each other through Redis: the
// task (a small JSON job of the queue), the kernel of a sweep and a task's result (binary values of
// their own keys), their checks and their key names. Nothing read from Redis is ever evaluated.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { kernelFma, kernelImpl } from '../../kernels/index.ts';
import type { RemoteChunk, RemotePass } from '../blocks.ts';

/**
 * The format of tasks, operands and results; a worker refuses a task of another format. 2: task
 * kinds (the dense solves, the low-rank form's solves and operator rows), passes, operands.
 */
export const FORMAT = 2;

/** The queue every job's tasks go to (its keys under the prefix); the job's own keys are under jobKey. */
export const QUEUE = 'solve';

/** Keys of one job: all under `${prefix}:job:${job}:`, removed when the job ends. */
export function jobKey(prefix: string, job: string, ...parts: Array<string | number>): string {
  return [prefix, 'job', job, ...parts].join(':');
}

/**
 * A running job's heartbeat: its coordinator keeps `${prefix}:job:${job}:alive` for this long and
 * renews it every ALIVE_RENEW_MS; a worker drops the tasks of a job without one (its coordinator
 * was killed, and nobody would read their results).
 */
export const ALIVE_SECONDS = 600;
export const ALIVE_RENEW_MS = 30_000;

/** What must match between the coordinator and a worker for their bits to agree. */
export interface CodeIdentity {
  version: string;
  kernels: string;
  fma: boolean;
}

/** This process's identity: `version` the package's, the kernels those this process runs. */
export function codeIdentity(version: string): CodeIdentity {
  return { version, kernels: kernelImpl, fma: kernelFma };
}

const count = z.number().int().nonnegative();
const range = z.tuple([count, count, count, count]);
const key = z.string().max(200);
const digest = z.string().regex(/^[0-9a-f]{64}$/);

/** What every task has: one chunk (partition) of the spilled matrix, one pass of one sweep. */
const taskBase = {
  format: z.number().int(),
  code: z.object({ version: z.string().max(64), kernels: z.string().max(32), fma: z.boolean() }),
  job: z.string().regex(/^[0-9a-f]{16}$/),
  sweep: count,
  /** The pass within the sweep (the low-rank form's operator is applied several times a sweep). */
  pass: count,
  chunk: count,
  /** The chunk's file, relative to the shared storage. */
  path: z.string().regex(/^job-[0-9a-f]{16}\/chunk-\d{5}\.arrow$/),
  rows: z.number().int().positive(),
  nnz: z.number().int().positive(),
  nTrain: count,
  nVal: count,
  d: z.number().int().positive(),
  /**
   * The chunk's blocks, in its local rows and held-out entries: [r0, r1, v0, v1] for solves,
   * [r0, r1, 0, 0] for the operator's row groups.
   */
  ranges: z.array(range).min(1).max(1_000_000),
  /** The pass's operand (the kernel, or the operator's factors and block): its key, and the SHA-256 of its bytes. */
  operandKey: key,
  operandSha: digest,
  /** The operand's parts (PART_BYTES each, the last the rest). */
  operandParts: z.number().int().positive().max(1024),
  /** Where the worker puts its result. */
  resultKey: key,
};

const rank = z.number().int().positive().max(100_000);

/**
 * Redis takes values of up to 512 MB (proto-max-bulk-len): an operand larger than a part (the dense
 * kernel past d = 5,792 at 256 MB) goes as several values, `${key}:${i}`, read back in order.
 */
export const PART_BYTES = 256 * 1024 * 1024;

/** The keys of a value stored in `parts` parts. */
export function partKeys(key: string, parts: number): string[] {
  return parts === 1 ? [key] : Array.from({ length: parts }, (_, i) => `${key}:${i}`);
}

/**
 * A task. `solve`: the dense form's row solves, operand K (d x d); result the coefficients a.
 * `lr-solve`: the low-rank form's row solves, operand U (d x k) then w (k); result the rows' bs.
 * `lr-rows`: the operator's row phase over the chunk's fit (bs, its own key), operand U (d x k),
 * X (d x p), T (k x p); result the chunk's shares of PS (k x p) then of c A^T Z (d x p).
 * With `bias` (side biases, engine/side-bias.ts) both operands end with the d biases the chunk's
 * values are taken with, and lr-solve's result with the chunk's d sums of the half step.
 */
export const taskSchema = z.discriminatedUnion('kind', [
  z.object({ ...taskBase, kind: z.literal('solve'), lambda: z.number().finite().positive() }).strict(),
  z.object({ ...taskBase, kind: z.literal('lr-solve'), k: rank, tauK: z.number().finite().nonnegative(), lambda: z.number().finite().positive(), bias: z.boolean() }).strict(),
  z.object({ ...taskBase, kind: z.literal('lr-rows'), k: rank, p: rank, c: z.number().finite().positive(), bias: z.boolean(), fitKey: key, fitSha: digest }).strict(),
  z.object({
    ...taskBase, kind: z.literal('fold'), lambda: z.number().finite().positive(), scale: z.number().finite().positive(),
    /** The kernel's rank (low-rank form), 0 for the dense one; its tauK. */
    k: z.number().int().nonnegative().max(100_000), tauK: z.number().finite().nonnegative(),
    center: z.object({ kind: z.enum(['none', 'mean', 'bias', 'side-bias']), mean: z.number().finite(), reg: z.number().finite().nonnegative() }).strict(),
    topK: z.number().int().nonnegative().max(100_000),
    /** The chunk's rows' biases (centering 'bias'). */
    fitKey: key, fitSha: digest,
  }).strict(),
]);

export type Task = z.infer<typeof taskSchema>;

/** The task of one chunk of a pass (its result key still to be named); `fit` the chunk's fit, for the passes that read one. */
export function taskOf(
  pass: RemotePass, c: RemoteChunk, path: string, common: Pick<Task, 'format' | 'code' | 'job' | 'operandKey' | 'operandSha' | 'operandParts'>, fit: Stored | undefined,
): Task {
  const base = { ...common, sweep: pass.sweep, pass: pass.pass, chunk: c.chunk, path, rows: c.rows, nnz: c.nnz, nTrain: c.nTrain, nVal: c.nVal, d: pass.d, ranges: c.ranges, resultKey: '' };
  const fitOf = (): { fitKey: string; fitSha: string } => ({ fitKey: fit!.key, fitSha: fit!.sha });
  switch (pass.kind) {
    case 'solve': return { ...base, kind: 'solve', lambda: pass.lambda };
    case 'lr-solve': return { ...base, kind: 'lr-solve', k: pass.k, tauK: pass.tauK, lambda: pass.lambda, bias: pass.bias !== undefined };
    case 'lr-rows': return { ...base, kind: 'lr-rows', k: pass.k, p: pass.p, c: pass.c, bias: pass.bias !== undefined, ...fitOf() };
    case 'fold': {
      const { model: m, center } = pass;
      return {
        ...base, kind: 'fold', lambda: m.lambda, scale: m.scale, k: m.lowRank?.k ?? 0, tauK: m.lowRank?.tauK ?? 0,
        center: { kind: center.kind, mean: center.mean, reg: center.reg }, topK: pass.topK, ...fitOf(),
      };
    }
  }
}

/** Doubles of a task's operand. */
export function operandValues(t: Task): number {
  switch (t.kind) {
    case 'solve': return t.d * t.d;
    case 'lr-solve': return t.d * t.k + t.k + (t.bias ? t.d : 0);
    case 'lr-rows': return t.d * t.k + (t.d + t.k) * t.p + (t.bias ? t.d : 0);
    // the kernel (K, or U then w), then the column biases of a 'bias' centering or the model's side biases
    case 'fold': return (t.k === 0 ? t.d * t.d : t.d * t.k + t.k) + (t.center.kind === 'bias' || t.center.kind === 'side-bias' ? t.d : 0);
  }
}

/** Doubles a task's result carries after its blocks' figures. */
export function resultValues(t: Task): number {
  switch (t.kind) {
    case 'solve': return t.nTrain;
    case 'lr-solve': return t.rows * t.k + (t.bias ? t.d : 0);
    case 'lr-rows': return (t.k + t.d) * t.p;
    // the pairs' predictions, then per row topK (column, score) pairs, column -1 where a row has fewer
    case 'fold': return t.nVal + 2 * t.rows * t.topK;
  }
}

/** Solve blocks report their squared error and fallbacks; the operator's row groups report nothing. */
export function resultBlocks(t: Task): number {
  return t.kind === 'lr-rows' || t.kind === 'fold' ? 0 : t.ranges.length;
}

/** What a task's job returns through the queue (JSON): where the binary result is, and its digest. */
export const receiptSchema = z.object({ resultKey: z.string().max(200), bytes: z.number().int().positive(), worker: z.string().max(200) }).strict();
export type Receipt = z.infer<typeof receiptSchema>;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes of a Float64Array (little-endian, as the machine holds it: Node runs on little-endian hosts). */
export function bytesOf(x: Float64Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

// A result: header, then per solve block (se, fallbacks) as two doubles, then the task's values
// (resultValues: the coefficients, the rows' bs, or the operator's shares).
//   0  magic "LRFMSOL\0"     8 bytes
//   8  format, sweep, chunk, blocks, values, pass   6 x u32
//  32  job id (16 hex digits, ASCII)  16 bytes
//  48  operand SHA-256       32 bytes
//  80  SHA-256 of the bytes from 112 on  32 bytes
// 112  blocks x (se f64, fallbacks f64), then values x f64
const MAGIC = Buffer.from('LRFMSOL\0', 'latin1');
const HEADER = 112;

export function resultBytes(blocks: number, values: number): number {
  return HEADER + 16 * blocks + 8 * values;
}

/** A result's size for its task. */
export function resultBytesOf(t: Task): number {
  return resultBytes(resultBlocks(t), resultValues(t));
}

export interface TaskResult {
  se: number[];
  fallbacks: number[];
  values: Float64Array;
}

type Answered = Pick<Task, 'job' | 'sweep' | 'pass' | 'chunk' | 'operandSha'>;

export function encodeResult(t: Answered, r: TaskResult): Buffer {
  const blocks = r.se.length;
  const out = Buffer.alloc(resultBytes(blocks, r.values.length));
  MAGIC.copy(out, 0);
  [FORMAT, t.sweep, t.chunk, blocks, r.values.length, t.pass].forEach((v, q) => out.writeUInt32LE(v, 8 + 4 * q));
  out.write(t.job, 32, 16, 'latin1');
  Buffer.from(t.operandSha, 'hex').copy(out, 48);
  for (let b = 0; b < blocks; b++) {
    out.writeDoubleLE(r.se[b]!, HEADER + 16 * b);
    out.writeDoubleLE(r.fallbacks[b]!, HEADER + 16 * b + 8);
  }
  bytesOf(r.values).copy(out, HEADER + 16 * blocks);
  Buffer.from(sha256(out.subarray(HEADER)), 'hex').copy(out, 80);
  return out;
}

/**
 * Reads a result, checking that it answers this very task (job, sweep, pass, chunk, operand,
 * sizes); its values are copied into `out`. Throws a RangeError saying what differs.
 */
export function decodeResult(buf: Buffer, t: Task, out: Float64Array): { se: number[]; fallbacks: number[] } {
  const want = resultBytesOf(t);
  if (buf.length !== want) throw new RangeError(`${buf.length} bytes, expected ${want}`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new RangeError('not a task result (magic)');
  const [format, sweep, chunk, blocks, values, pass] = [0, 1, 2, 3, 4, 5].map((q) => buf.readUInt32LE(8 + 4 * q));
  if (format !== FORMAT) throw new RangeError(`result format ${format}, expected ${FORMAT}`);
  const job = buf.toString('latin1', 32, 48);
  if (job !== t.job) throw new RangeError(`result of job ${JSON.stringify(job)}, expected ${t.job}`);
  if (sweep !== t.sweep || pass !== t.pass || chunk !== t.chunk) {
    throw new RangeError(`result of sweep ${sweep} pass ${pass} chunk ${chunk}, expected sweep ${t.sweep} pass ${t.pass} chunk ${t.chunk}`);
  }
  if (blocks !== resultBlocks(t) || values !== resultValues(t) || values > out.length) {
    throw new RangeError(`result of ${blocks} blocks and ${values} values, expected ${resultBlocks(t)} and ${resultValues(t)}`);
  }
  const operand = buf.toString('hex', 48, 80);
  if (operand !== t.operandSha) throw new RangeError(`result under operand ${operand.slice(0, 12)}..., expected ${t.operandSha.slice(0, 12)}...`);
  if (buf.toString('hex', 80, 112) !== sha256(buf.subarray(HEADER))) throw new RangeError('result bytes do not match their SHA-256 (corrupted)');
  const se: number[] = [];
  const fallbacks: number[] = [];
  for (let b = 0; b < blocks; b++) {
    se.push(buf.readDoubleLE(HEADER + 16 * b));
    const f = buf.readDoubleLE(HEADER + 16 * b + 8);
    if (!(Number.isInteger(f) && f >= 0)) throw new RangeError(`block ${b}: fallback count ${f}`);
    fallbacks.push(f);
  }
  const at = HEADER + 16 * blocks;
  // copy through bytes: the buffer's offset need not be 8-aligned
  new Uint8Array(out.buffer, out.byteOffset, 8 * values).set(buf.subarray(at, at + 8 * values));
  return { se, fallbacks };
}

/** A value the coordinator put in Redis (in `parts` parts, see PART_BYTES), kept to put back. */
export interface Stored {
  key: string;
  bytes: Buffer;
  sha: string;
  parts: number;
}

/** A pass's operand: K; or U then w; or U, X then T; or a model's kernel and column biases. */
export function operandBytes(pass: RemotePass): Buffer {
  switch (pass.kind) {
    case 'solve': return bytesOf(pass.K.subarray(0, pass.d * pass.d));
    case 'lr-solve': return Buffer.concat([bytesOf(pass.U), bytesOf(pass.w), ...(pass.bias === undefined ? [] : [bytesOf(pass.bias)])]);
    case 'lr-rows': return Buffer.concat([bytesOf(pass.U), bytesOf(pass.X), bytesOf(pass.T), ...(pass.bias === undefined ? [] : [bytesOf(pass.bias)])]);
    case 'fold': {
      const { K, lowRank } = pass.model;
      const kernel = lowRank === undefined ? [bytesOf(K.subarray(0, pass.d * pass.d))] : [bytesOf(lowRank.U), bytesOf(lowRank.w)];
      const biases = pass.center.kind === 'bias' ? [bytesOf(pass.center.colBias)] : pass.model.bias === undefined ? [] : [bytesOf(pass.model.bias)];
      return Buffer.concat([...kernel, ...biases]);
    }
  }
}
