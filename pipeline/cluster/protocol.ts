// What the coordinator and the workers of a scale-out run say to each other through Redis: the
// task (a small JSON job of the queue), the kernel of a sweep and a task's result (binary values of
// their own keys), their checks and their key names. Nothing read from Redis is ever evaluated.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { kernelFma, kernelImpl } from '../../kernels/index.ts';

/** The format of tasks, kernels and results; a worker refuses a task of another format. */
export const FORMAT = 1;

/** The queue every job's tasks go to (its keys under the prefix); the job's own keys are under jobKey. */
export const QUEUE = 'solve';

/** Keys of one job: all under `${prefix}:job:${job}:`, removed when the job ends. */
export function jobKey(prefix: string, job: string, ...parts: Array<string | number>): string {
  return [prefix, 'job', job, ...parts].join(':');
}

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

const solveRange = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()]);

/** A task: the row solves of one chunk (partition) of the spilled matrix under one sweep's kernel. */
export const taskSchema = z.object({
  format: z.number().int(),
  code: z.object({ version: z.string().max(64), kernels: z.string().max(32), fma: z.boolean() }),
  job: z.string().regex(/^[0-9a-f]{16}$/),
  sweep: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  /** The chunk's file, relative to the shared storage. */
  path: z.string().regex(/^job-[0-9a-f]{16}\/chunk-\d{5}\.arrow$/),
  rows: z.number().int().positive(),
  nnz: z.number().int().positive(),
  nTrain: z.number().int().nonnegative(),
  nVal: z.number().int().nonnegative(),
  d: z.number().int().positive(),
  lambda: z.number().finite().positive(),
  /** The chunk's solve blocks, in its local rows and held-out entries. */
  ranges: z.array(solveRange).min(1).max(1_000_000),
  /** The sweep's kernel: its key, and the SHA-256 of its bytes. */
  kernelKey: z.string().max(200),
  kernelSha: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where the worker puts its result. */
  resultKey: z.string().max(200),
}).strict();

export type Task = z.infer<typeof taskSchema>;

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

// A result: header, then per solve block (se, fallbacks) as two doubles, then the chunk's
// coefficients a (nTrain doubles).
//   0  magic "LRFMSOL\0"     8 bytes
//   8  format, sweep, chunk, blocks, nTrain   5 x u32
//  28  zero                  4 bytes
//  32  job id (16 hex digits, ASCII)  16 bytes
//  48  kernel SHA-256        32 bytes
//  80  SHA-256 of the bytes from 112 on  32 bytes
// 112  blocks x (se f64, fallbacks f64), then nTrain x f64
const MAGIC = Buffer.from('LRFMSOL\0', 'latin1');
const HEADER = 112;

export function resultBytes(blocks: number, nTrain: number): number {
  return HEADER + 16 * blocks + 8 * nTrain;
}

export interface SolveResult {
  se: number[];
  fallbacks: number[];
  a: Float64Array;
}

export function encodeResult(t: Pick<Task, 'job' | 'sweep' | 'chunk' | 'kernelSha'>, r: SolveResult): Buffer {
  const blocks = r.se.length;
  const out = Buffer.alloc(resultBytes(blocks, r.a.length));
  MAGIC.copy(out, 0);
  [FORMAT, t.sweep, t.chunk, blocks, r.a.length].forEach((v, q) => out.writeUInt32LE(v, 8 + 4 * q));
  out.write(t.job, 32, 16, 'latin1');
  Buffer.from(t.kernelSha, 'hex').copy(out, 48);
  for (let b = 0; b < blocks; b++) {
    out.writeDoubleLE(r.se[b]!, HEADER + 16 * b);
    out.writeDoubleLE(r.fallbacks[b]!, HEADER + 16 * b + 8);
  }
  bytesOf(r.a).copy(out, HEADER + 16 * blocks);
  Buffer.from(sha256(out.subarray(HEADER)), 'hex').copy(out, 80);
  return out;
}

/**
 * Reads a result, checking that it answers this very task (job, sweep, chunk, kernel, sizes);
 * the coefficients are copied into `a`. Throws a RangeError saying what differs.
 */
export function decodeResult(buf: Buffer, t: Pick<Task, 'job' | 'sweep' | 'chunk' | 'kernelSha' | 'nTrain'> & { blocks: number }, a: Float64Array): { se: number[]; fallbacks: number[] } {
  const want = resultBytes(t.blocks, t.nTrain);
  if (buf.length !== want) throw new RangeError(`${buf.length} bytes, expected ${want}`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new RangeError('not a solve result (magic)');
  const [format, sweep, chunk, blocks, nTrain] = [0, 1, 2, 3, 4].map((q) => buf.readUInt32LE(8 + 4 * q));
  if (format !== FORMAT) throw new RangeError(`result format ${format}, expected ${FORMAT}`);
  const job = buf.toString('latin1', 32, 48);
  if (job !== t.job) throw new RangeError(`result of job ${JSON.stringify(job)}, expected ${t.job}`);
  if (sweep !== t.sweep || chunk !== t.chunk) throw new RangeError(`result of sweep ${sweep} chunk ${chunk}, expected sweep ${t.sweep} chunk ${t.chunk}`);
  if (blocks !== t.blocks || nTrain !== t.nTrain) throw new RangeError(`result of ${blocks} blocks and ${nTrain} coefficients, expected ${t.blocks} and ${t.nTrain}`);
  const kernel = buf.toString('hex', 48, 80);
  if (kernel !== t.kernelSha) throw new RangeError(`result under kernel ${kernel.slice(0, 12)}..., expected ${t.kernelSha.slice(0, 12)}...`);
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
  new Uint8Array(a.buffer, a.byteOffset, 8 * nTrain).set(buf.subarray(at, at + 8 * nTrain));
  return { se, fallbacks };
}
