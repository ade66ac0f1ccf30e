// WASM SIMD (f64x2) dgemm/dsyrk with exactly the signatures of kernels/blas.ts, plus arrays that live in wasm memory.
//
// The module (kernels/wasm/assembly/gemm.ts, embedded by scripts/build-wasm.mjs) is instantiated
// synchronously at import; `wasmAvailable` is false when it was not built or the engine lacks
// SIMD, and then every export here throws: callers go through kernels/index.ts, which falls back
// to the TypeScript kernels.
//
// Of the two builds, the relaxed-SIMD one (fused multiply-adds in the GEMM micro-kernel, ~1.3x the
// GFLOP/s) is used when the engine validates it. Node 20's V8 does so only under the V8 flag
// --experimental-wasm-relaxed-simd, which this module sets (process-wide, so every worker thread
// sees it too) before it validates; newer engines ship relaxed SIMD and need no flag. Otherwise,
// or with LINRFM_FMA=0, the plain build. Each thread instantiates its own module, but the flag and
// the CPU are the process's, so all threads of a process pick the same build and give the same bits.
//
// Operands that are ordinary Float64Arrays are copied into a staging block of wasm memory (only
// the addressed rows x cols, compacted), and the output block is copied back: O(n^2) copies
// against the O(n^3) product. The staging block is kept between calls and only ever grows, so
// memory does not grow per call once it is big enough.
//
// Copy-free path: `wasmAlloc(len)` returns a Float64Array that is a view into wasm memory; the
// kernels recognise such operands (and subarrays of them) and use them in place. Growing wasm
// memory (by wasmAlloc, or a kernel call whose copied operands need a bigger staging block)
// detaches every existing view: its length becomes 0. The block itself stays put and keeps its
// contents, and the kernels still accept the stale view returned by wasmAlloc (not a subarray of
// it) by identity; `wasmRefresh(view)` returns a usable view of the same block (the same object
// when memory has not grown). So: after any call that may grow memory, refresh before reading.

import {
  ALIGN, alignUp, allocBytes, exportsOrThrow, freeBytes, residentOf, workPtr, type Block, type WasmMemory,
} from './wasm-memory.ts';

// The instance and its memory live in kernels/wasm-memory.ts, the row solver and the Q accumulator in
// kernels/wasm-rows.ts; this module exports all of the WASM kernels' API, theirs included.
export {
  fmaWanted, wasmAvailable, wasmFma, wasmAlloc, wasmRefresh, wasmFree, isWasmAllocation, isWasmView, wasmMemoryGrowths,
} from './wasm-memory.ts';
export { createRowSolver, createQAccumulator, type RowSolver, type QAccumulator } from './wasm-rows.ts';

// ---- operands: in place when resident, else copied (compacted to ld = cols) into staging ----

function checkRegion(what: string, len: number, rows: number, cols: number, ld: number, off: number): void {
  if (rows <= 0 || cols <= 0) return;
  // ld matters only between rows; it and the offset must be whole so that addresses are.
  const ldOk = Number.isInteger(ld) && (rows === 1 || ld >= cols);
  if (!ldOk || !Number.isInteger(off) || off < 0 || off + (rows - 1) * ld + cols > len) {
    throw new RangeError(
      `kernels/wasm: ${what} (${rows} x ${cols}, ld ${ld}, offset ${off}) does not fit its array of ${len}` +
      (len === 0 ? ' (a view of wasm memory detached by growth? see wasmRefresh)' : ''),
    );
  }
}

// One operand of a call: where the kernel finds it and, when copied, where it came from.
interface Operand {
  x: Float64Array; ld: number; off: number; rows: number; cols: number;
  ptr: number; // byte address in wasm memory (set for resident operands now, for copied ones once staged)
  kld: number; // leading dimension the kernel sees
  copied: boolean;
}

function operand(what: string, mem: WasmMemory, x: Float64Array, ld: number, off: number, rows: number, cols: number): Operand {
  const r = residentOf(x, mem);
  checkRegion(what, r === null ? x.length : r.len, rows, cols, ld, off);
  if (r !== null) return { x, ld, off, rows, cols, ptr: r.base + off * 8, kld: ld, copied: false };
  return { x, ld, off, rows, cols, ptr: 0, kld: Math.max(cols, 1), copied: true };
}

let staging: Block = { ptr: 0, bytes: 0 };

// Places the copied operands in the staging block (grown if needed: this may grow memory, so every
// resident pointer must be resolved before it is called) and returns the current heap view.
function stage(ops: Operand[]): Float64Array {
  let need = 0;
  for (const o of ops) if (o.copied) need += alignUp(o.rows * o.cols * 8, ALIGN);
  if (need > staging.bytes) {
    if (staging.bytes > 0) freeBytes(staging.ptr, staging.bytes);
    const bytes = alignUp(need, ALIGN);
    staging = { ptr: allocBytes(bytes), bytes };
  }
  let p = staging.ptr;
  for (const o of ops) {
    if (!o.copied) continue;
    o.ptr = p;
    p += alignUp(o.rows * o.cols * 8, ALIGN);
  }
  return new Float64Array(exportsOrThrow().memory.buffer);
}

// Copies rows x cols (row r from element 0 to rowLen(r) - 1) of a staged operand into wasm memory.
function copyIn(heap: Float64Array, o: Operand, rowLen?: (r: number) => number): void {
  const dst = o.ptr / 8;
  if (rowLen === undefined && o.ld === o.cols) {
    heap.set(o.x.subarray(o.off, o.off + o.rows * o.cols), dst);
    return;
  }
  for (let r = 0; r < o.rows; r++) {
    const s = o.off + r * o.ld;
    heap.set(o.x.subarray(s, s + (rowLen === undefined ? o.cols : rowLen(r))), dst + r * o.cols);
  }
}

function copyOut(heap: Float64Array, o: Operand): void {
  const src = o.ptr / 8;
  if (o.ld === o.cols) {
    o.x.set(heap.subarray(src, src + o.rows * o.cols), o.off);
    return;
  }
  for (let r = 0; r < o.rows; r++) {
    const s = src + r * o.cols;
    o.x.set(heap.subarray(s, s + o.cols), o.off + r * o.ld);
  }
}

/**
 * C (m x n) = alpha * op(A) * op(B) + beta * C, with op(A) m x k and op(B) k x n, all row-major.
 * op(A) = A^T when transA (A stored k x m), op(B) = B^T when transB (B stored n x k).
 * beta = 0 overwrites C without reading it; alpha = 0 or k = 0 leaves A and B unread. Returns C.
 * Throws RangeError when an addressed region does not fit its array.
 */
export function dgemm(
  transA: boolean, transB: boolean,
  m: number, n: number, k: number,
  alpha: number,
  A: Float64Array, lda: number, offsetA: number,
  B: Float64Array, ldb: number, offsetB: number,
  beta: number,
  C: Float64Array, ldc: number, offsetC: number,
): Float64Array {
  const w = exportsOrThrow();
  if (m <= 0 || n <= 0) return C;
  const reads = k > 0 && alpha !== 0;
  const kk = reads ? k : 0;
  const a = operand('A', w.memory, A, lda, offsetA, transA ? kk : m, transA ? m : kk);
  const b = operand('B', w.memory, B, ldb, offsetB, transB ? n : kk, transB ? kk : n);
  const c = operand('C', w.memory, C, ldc, offsetC, m, n);
  const heap = stage([a, b, c]);
  if (a.copied) copyIn(heap, a);
  if (b.copied) copyIn(heap, b);
  if (c.copied && beta !== 0) copyIn(heap, c);
  w.dgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, kk, alpha, a.ptr, a.kld, b.ptr, b.kld, beta, c.ptr, c.kld, workPtr);
  if (c.copied) copyOut(heap, c);
  return C;
}

/**
 * Symmetric rank-k update. trans = false: C (n x n) = alpha * A * A^T + beta * C with A n x k;
 * trans = true: C = alpha * A^T * A + beta * C with A k x n. Only the lower triangle is computed
 * and then copied to the upper one, so C comes out exactly symmetric; the upper triangle of C on
 * entry is never read. Returns C. Throws RangeError when an addressed region does not fit its array.
 */
export function dsyrk(
  trans: boolean,
  n: number, k: number,
  alpha: number,
  A: Float64Array, lda: number, offsetA: number,
  beta: number,
  C: Float64Array, ldc: number, offsetC: number,
): Float64Array {
  const w = exportsOrThrow();
  if (n <= 0) return C;
  const kk = k > 0 && alpha !== 0 ? k : 0;
  const a = operand('A', w.memory, A, lda, offsetA, trans ? kk : n, trans ? n : kk);
  const c = operand('C', w.memory, C, ldc, offsetC, n, n);
  const heap = stage([a, c]);
  if (a.copied) copyIn(heap, a);
  // Only the lower triangle of C is an input.
  if (c.copied && beta !== 0) copyIn(heap, c, (r) => r + 1);
  w.dsyrk(trans ? 1 : 0, n, kk, alpha, a.ptr, a.kld, beta, c.ptr, c.kld, workPtr);
  if (c.copied) copyOut(heap, c);
  return C;
}

// ---- op(B) packed once for the row blocks of one product ----

/**
 * op(B) (k x n) in the micro-kernel's packed layout, for dgemmPacked: the row blocks of one product
 * C = op(A) op(B) then pack B once instead of once per block. Opaque; k and n are what it holds.
 */
export interface PackedB {
  readonly k: number;
  readonly n: number;
}

interface PackedBlock { ptr: number; bytes: number; live: boolean }
const packedBlocks = new WeakMap<PackedB, PackedBlock>();

/**
 * Packs op(B) (B^T when transB, B stored n x k) into wasm memory: a copy, so B may change after.
 * `reuse` (a PackedB from here) is repacked in place when its block is big enough, else freed.
 * An ordinary B is copied in one depth slice at a time, so no staging block of all of B is needed.
 */
export function dgemmPackB(
  transB: boolean, k: number, n: number, B: Float64Array, ldb: number, offsetB: number, reuse?: PackedB | null,
): PackedB {
  const w = exportsOrThrow();
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0) {
    throw new RangeError(`dgemmPackB: k and n must be non-negative integers, got ${k} and ${n}`);
  }
  const bytes = w.packedBBytes(k, n);
  const old = reuse ? packedBlocks.get(reuse) : undefined;
  let block: PackedBlock;
  if (old !== undefined && old.live && old.bytes >= bytes) block = old;
  else {
    if (old !== undefined && old.live) {
      old.live = false;
      freeBytes(old.ptr, old.bytes);
    }
    block = { ptr: allocBytes(bytes), bytes: Math.max(bytes, 1), live: true };
  }
  const handle: PackedB = { k, n };
  packedBlocks.set(handle, block);
  if (reuse && old === block) packedBlocks.delete(reuse);
  if (k === 0 || n === 0) return handle;
  const whole = operand('B', w.memory, B, ldb, offsetB, transB ? n : k, transB ? k : n);
  if (!whole.copied) {
    w.packB(transB ? 1 : 0, k, n, whole.ptr, whole.kld, block.ptr);
    return handle;
  }
  const kc = w.depthBlock();
  for (let pc = 0; pc < k; pc += kc) {
    const depth = Math.min(kc, k - pc);
    const slice = transB
      ? operand('B', w.memory, B, ldb, offsetB + pc, n, depth)
      : operand('B', w.memory, B, ldb, offsetB + pc * ldb, depth, n);
    copyIn(stage([slice]), slice);
    // the slice starting at depth pc sits after pc rows of the packed layout
    w.packB(transB ? 1 : 0, depth, n, slice.ptr, slice.kld, block.ptr + w.packedBBytes(pc, n));
  }
  return handle;
}

/**
 * C (m x n) = alpha * op(A) * P + beta * C with P = op(B) packed by dgemmPackB (k x n): the bits of
 * dgemm on that op(B). Returns C. Throws RangeError when P's sizes differ or a region does not fit.
 */
export function dgemmPacked(
  transA: boolean,
  m: number, n: number, k: number,
  alpha: number,
  A: Float64Array, lda: number, offsetA: number,
  P: PackedB,
  beta: number,
  C: Float64Array, ldc: number, offsetC: number,
): Float64Array {
  const w = exportsOrThrow();
  const block = packedBlocks.get(P);
  if (block === undefined || !block.live) throw new Error('dgemmPacked: not a live PackedB from dgemmPackB');
  if (P.k !== k || P.n !== n) throw new RangeError(`dgemmPacked: the packed op(B) is ${P.k} x ${P.n}, the call needs ${k} x ${n}`);
  if (m <= 0 || n <= 0) return C;
  const kk = k > 0 && alpha !== 0 ? k : 0;
  const a = operand('A', w.memory, A, lda, offsetA, transA ? kk : m, transA ? m : kk);
  const c = operand('C', w.memory, C, ldc, offsetC, m, n);
  const heap = stage([a, c]);
  if (a.copied) copyIn(heap, a);
  if (c.copied && beta !== 0) copyIn(heap, c);
  w.dgemmPacked(transA ? 1 : 0, m, n, kk, alpha, a.ptr, a.kld, block.ptr, beta, c.ptr, c.kld, workPtr);
  if (c.copied) copyOut(heap, c);
  return C;
}

/** Returns a PackedB's wasm memory; it is dead after (and so is any handle dgemmPackB reused). */
export function dgemmPackedFree(P: PackedB): void {
  const block = packedBlocks.get(P);
  if (block === undefined || !block.live) return;
  block.live = false;
  freeBytes(block.ptr, block.bytes);
  packedBlocks.delete(P);
}
