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

import { WASM_BASE64, WASM_FMA_BASE64 } from './wasm/generated.ts';

// The root tsconfig has no DOM lib and @types/node declares no WebAssembly API: the little used
// here is typed by hand.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  workBytes(): number;
  dgemm(
    transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    pA: number, lda: number, pB: number, ldb: number, beta: number, pC: number, ldc: number,
    work: number,
  ): void;
  dsyrk(
    trans: number, n: number, k: number, alpha: number, pA: number, lda: number,
    beta: number, pC: number, ldc: number, work: number,
  ): void;
  depthBlock(): number;
  packedBBytes(k: number, n: number): number;
  packB(transB: number, k: number, n: number, pB: number, ldb: number, dst: number): void;
  dgemmPacked(
    transA: number, m: number, n: number, k: number, alpha: number, pA: number, lda: number,
    packed: number, beta: number, pC: number, ldc: number, work: number,
  ): void;
  rowScratchBytes(maxRow: number): number;
  solveRows(
    d: number, pK: number, lambda: number, pRowPtr: number, pColIdx: number, pValues: number,
    r0: number, r1: number, pOut: number, sub: number,
  ): number;
  accumulateQ(
    d: number, pRowPtr: number, pColIdx: number, pA: number, pColPtr: number, pRowOf: number, pPosOf: number,
    j0: number, j1: number, pQ: number,
  ): void;
}

const PAGE = 65536;
// Allocations are cache-line aligned (v128 loads need 16 only for speed, not correctness).
const ALIGN = 64;

/** LINRFM_FMA: '0' keeps to the plain build (the bits of kernels/blas.ts); unset or '1', the fused build where the engine has it. */
export function fmaWanted(env: string | undefined): boolean {
  if (env === undefined || env === '' || env === '1') return true;
  if (env === '0') return false;
  throw new Error(`LINRFM_FMA must be '0' or '1', got '${env}'`);
}

function decode(base64: string): Uint8Array {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// Whether the engine validates the relaxed-SIMD build, after setting Node 20's flag for it if need be.
function relaxedSimd(WA: WasmApi, bytes: Uint8Array): boolean {
  if (WA.validate(bytes)) return true;
  type V8 = { setFlagsFromString(flags: string): void };
  const proc = globalThis.process as { getBuiltinModule?: (id: string) => unknown } | undefined;
  try {
    (proc?.getBuiltinModule?.('node:v8') as V8 | undefined)?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WA.validate(bytes);
}

function instantiate(): { exports: KernelExports; fma: boolean } | null {
  const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (WASM_BASE64 === '' || WA === undefined) return null;
  const fma = WASM_FMA_BASE64 !== '' && fmaWanted(globalThis.process?.env?.['LINRFM_FMA']) ? decode(WASM_FMA_BASE64) : null;
  for (const [bytes, fused] of [[fma, true], [decode(WASM_BASE64), false]] as const) {
    if (bytes === null || (fused && !relaxedSimd(WA, bytes))) continue;
    try {
      // Module construction fails on an engine without SIMD; that is the "not available" case.
      const instance = new WA.Instance(new WA.Module(bytes), {});
      return { exports: instance.exports as unknown as KernelExports, fma: fused };
    } catch {
      // the plain build next, or none
    }
  }
  return null;
}

const built = instantiate();
const wasm = built?.exports ?? null;

/** True when the WASM kernels were built and instantiated; false means use kernels/blas.ts. */
export const wasmAvailable: boolean = wasm !== null;

/** True when dgemm/dsyrk fuse the multiply-adds of their depth loop (the relaxed-SIMD build; see LINRFM_FMA). */
export const wasmFma: boolean = built?.fma ?? false;

// ---- memory management: a first-fit free list over [heapStart, top), memory grown on demand ----

interface Block { ptr: number; bytes: number }

const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

const workPtr = wasm === null ? 0 : alignUp(wasm.heapBase(), ALIGN);
let top = wasm === null ? 0 : alignUp(workPtr + wasm.workBytes(), ALIGN);
const free: Block[] = []; // sorted by ptr, coalesced
let growths = 0;

function exportsOrThrow(): KernelExports {
  if (wasm === null) throw new Error('kernels/wasm: the WASM kernels are not available (wasmAvailable is false)');
  return wasm;
}

function ensureMemory(end: number): void {
  const mem = exportsOrThrow().memory;
  const have = mem.buffer.byteLength;
  if (end <= have) return;
  // Headroom of 1/8 keeps a run of growing allocations from growing memory every time.
  const want = Math.max(end, have + Math.floor(have / 8));
  mem.grow(Math.ceil((want - have) / PAGE));
  growths++;
}

// The kernels' packing workspace sits below `top`; the module's initial memory does not hold it.
if (wasm !== null) ensureMemory(top);

function allocBytes(size: number): number {
  const bytes = alignUp(Math.max(size, 1), ALIGN);
  for (let t = 0; t < free.length; t++) {
    const b = free[t]!;
    if (b.bytes >= bytes) {
      const ptr = b.ptr;
      if (b.bytes === bytes) free.splice(t, 1);
      else {
        b.ptr += bytes;
        b.bytes -= bytes;
      }
      return ptr;
    }
  }
  ensureMemory(top + bytes);
  const ptr = top;
  top += bytes;
  return ptr;
}

function freeBytes(ptr: number, size: number): void {
  const bytes = alignUp(Math.max(size, 1), ALIGN);
  let t = 0;
  while (t < free.length && free[t]!.ptr < ptr) t++;
  free.splice(t, 0, { ptr, bytes });
  // Coalesce with the next, then the previous neighbour; a block that ends at `top` lowers it.
  const b = free[t]!;
  const next = free[t + 1];
  if (next !== undefined && b.ptr + b.bytes === next.ptr) {
    b.bytes += next.bytes;
    free.splice(t + 1, 1);
  }
  const prev = free[t - 1];
  let last = b;
  if (prev !== undefined && prev.ptr + prev.bytes === b.ptr) {
    prev.bytes += b.bytes;
    free.splice(t, 1);
    last = prev;
  }
  if (last.ptr + last.bytes === top) {
    top = last.ptr;
    free.splice(free.indexOf(last), 1);
  }
}

interface Allocation { ptr: number; len: number; live: boolean }
// Keyed by every view handed out for a block (wasmAlloc's and wasmRefresh's), so a view that
// memory growth detached still names its block.
const allocations = new WeakMap<Float64Array, Allocation>();

/**
 * A zero-filled Float64Array of `len` elements that lives in wasm memory: kernels given it (or a
 * subarray of it) as an operand use it in place, without copies. Invalidated (length 0) whenever
 * wasm memory grows: see wasmRefresh. Release it with wasmFree.
 */
export function wasmAlloc(len: number): Float64Array<ArrayBuffer> {
  if (!Number.isInteger(len) || len < 0) throw new RangeError(`wasmAlloc: len must be a non-negative integer, got ${len}`);
  const w = exportsOrThrow();
  const ptr = allocBytes(len * 8);
  const view = new Float64Array(w.memory.buffer, ptr, len);
  view.fill(0);
  allocations.set(view, { ptr, len, live: true });
  return view;
}

/** A usable view of the block behind `view` (from wasmAlloc or wasmRefresh): `view` itself unless memory grew. */
export function wasmRefresh(view: Float64Array): Float64Array<ArrayBuffer> {
  const w = exportsOrThrow();
  const a = allocations.get(view);
  if (a === undefined || !a.live) throw new Error('wasmRefresh: not a live array from wasmAlloc');
  if (view.buffer === w.memory.buffer) return view as Float64Array<ArrayBuffer>;
  const fresh = new Float64Array(w.memory.buffer, a.ptr, a.len);
  allocations.set(fresh, a);
  return fresh;
}

/** Returns the block behind `view` (from wasmAlloc or wasmRefresh) to the allocator; every view of it is dead after. */
export function wasmFree(view: Float64Array): void {
  const a = allocations.get(view);
  if (a === undefined || !a.live) throw new Error('wasmFree: not a live array from wasmAlloc');
  a.live = false;
  freeBytes(a.ptr, a.len * 8);
}

/** True when `view` came from wasmAlloc or wasmRefresh and its block has not been freed (it may be stale). */
export function isWasmAllocation(view: Float64Array): boolean {
  return allocations.get(view)?.live === true;
}

/** True when `x` is a current view into wasm memory (a kernel operand that needs no copy). */
export function isWasmView(x: Float64Array): boolean {
  return wasm !== null && x.buffer === wasm.memory.buffer;
}

/** How often wasm memory has grown (each growth detached all views); for tests and diagnostics. */
export function wasmMemoryGrowths(): number {
  return growths;
}

// ---- operands: in place when resident, else copied (compacted to ld = cols) into staging ----

// Byte address of element 0 of a resident operand and how many elements it may address, or null.
function residentOf(x: Float64Array, mem: WasmMemory): { base: number; len: number } | null {
  if (x.buffer === mem.buffer) return { base: x.byteOffset, len: x.length };
  const a = allocations.get(x);
  if (a !== undefined && a.live) return { base: a.ptr, len: a.len };
  return null;
}

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

// ---- batched CSR row solves and the Q accumulation, on operands placed in wasm memory once ----

/**
 * Solves (K[idx, idx] + lambda I) a = y for blocks of rows of a fixed CSR matrix (idx, y = a row's
 * columns and values), writing a into out[rowPtr[r] .. rowPtr[r + 1]) - out is indexed like the
 * CSR values. When the Cholesky factorisation fails the ridge becomes max(10 ridge, 1e-12), at
 * most 40 times; a row failing all attempts gets zeros. solve returns how many rows of the block
 * needed a ridge other than lambda (failed rows included).
 */
export interface RowSolver {
  /** Takes K (d x d, row-major) for the following solves: the WASM solver copies it, the TypeScript one keeps a reference (do not change K in between). */
  setKernel(K: Float64Array): void;
  solve(lambda: number, r0: number, r1: number, out: Float64Array): number;
  /** Releases the solver's wasm memory (no-op for the TypeScript one); it is unusable after. */
  dispose(): void;
}

/** Rows [j0, j1) of Q = sum_i a_i a_i^T (a_i scattered on row i's columns), in pipeline/sweep.ts accumulateQ's order. */
export interface QAccumulator {
  /** a is indexed like the CSR values; writes rows [j0, j1) of Q (d x d, row-major) and returns Q. */
  accumulate(a: Float64Array, j0: number, j1: number, Q: Float64Array): Float64Array;
  dispose(): void;
}

// Calls into wasm are cut into chunks because V8 first runs wasm code in its baseline compiler and
// swaps in optimised code only at the next call (there is no on-stack replacement for wasm): one
// call over 100,000 rows ran 2.5x slower than the same rows in chunks.
const SOLVE_CHUNK = 512;
const Q_CHUNK = 8;

// Integer arrays copied into wasm memory, shared by identity between solvers and accumulators
// (the row solver and the Q accumulator of one run both need rowPtr and colIdx: one copy).
interface IntBlock { ptr: number; len: number; refs: number }
const intBlocks = new WeakMap<Int32Array, IntBlock>();

function retainInts(x: Int32Array): IntBlock {
  let b = intBlocks.get(x);
  if (b === undefined) {
    const ptr = allocBytes(x.length * 4);
    new Int32Array(exportsOrThrow().memory.buffer, ptr, x.length).set(x);
    b = { ptr, len: x.length, refs: 0 };
    intBlocks.set(x, b);
  }
  b.refs++;
  return b;
}

function releaseInts(x: Int32Array): void {
  const b = intBlocks.get(x);
  if (b === undefined || b.refs <= 0) return;
  if (--b.refs === 0) {
    freeBytes(b.ptr, b.len * 4);
    intBlocks.delete(x);
  }
}

// Checks once, at creation, what the kernels then trust without bounds checks.
function checkCsr(what: string, d: number, rowPtr: Int32Array, colIdx: Int32Array, nValues: number): number {
  if (!Number.isInteger(d) || d < 0) throw new RangeError(`${what}: d must be a non-negative integer, got ${d}`);
  if (rowPtr.length < 1) throw new RangeError(`${what}: rowPtr must have nRows + 1 >= 1 entries`);
  const nRows = rowPtr.length - 1;
  if (rowPtr[0] !== 0) throw new RangeError(`${what}: rowPtr[0] must be 0, got ${rowPtr[0]}`);
  let maxRow = 0;
  for (let r = 0; r < nRows; r++) {
    const k = rowPtr[r + 1]! - rowPtr[r]!;
    if (k < 0) throw new RangeError(`${what}: rowPtr decreases at row ${r}`);
    if (k > maxRow) maxRow = k;
  }
  const nnz = rowPtr[nRows]!;
  if (colIdx.length < nnz || nValues < nnz) {
    throw new RangeError(`${what}: colIdx (${colIdx.length}) and values (${nValues}) must hold rowPtr[nRows] = ${nnz} entries`);
  }
  for (let p = 0; p < nnz; p++) {
    const c = colIdx[p]!;
    if (!(c >= 0 && c < d)) throw new RangeError(`${what}: colIdx[${p}] = ${c} is outside [0, ${d})`);
  }
  return maxRow;
}

function checkRange(what: string, lo: number, hi: number, n: number): void {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < lo || hi > n) {
    throw new RangeError(`${what}: [${lo}, ${hi}) is not a range within [0, ${n})`);
  }
}

/**
 * The WASM RowSolver: copies rowPtr, colIdx and values into wasm memory now (they must not change
 * afterwards), K at each setKernel. An `out` that lives in wasm memory (wasmAlloc) is written in
 * place; any other is filled from an internal block, copying only the block's entries.
 */
export function createRowSolver(d: number, rowPtr: Int32Array, colIdx: Int32Array, values: Float64Array): RowSolver {
  const w = exportsOrThrow();
  const maxRow = checkCsr('createRowSolver', d, rowPtr, colIdx, values.length);
  const nRows = rowPtr.length - 1;
  const nnz = rowPtr[nRows]!;
  const rp = retainInts(rowPtr);
  const ci = retainInts(colIdx);
  const vals = allocBytes(nnz * 8);
  new Float64Array(w.memory.buffer, vals, nnz).set(values.subarray(0, nnz));
  const kBlock = allocBytes(d * d * 8);
  const subBytes = w.rowScratchBytes(maxRow);
  const sub = allocBytes(subBytes);
  let outBlock = 0; // allocated on the first solve into an ordinary array
  let haveK = false;
  let live = true;
  const alive = (): void => {
    if (!live) throw new Error('RowSolver: used after dispose');
  };
  return {
    setKernel(K: Float64Array): void {
      alive();
      if (K.length < d * d) throw new RangeError(`RowSolver.setKernel: K has ${K.length} elements, d * d = ${d * d} needed`);
      new Float64Array(w.memory.buffer, kBlock, d * d).set(K.subarray(0, d * d));
      haveK = true;
    },
    solve(lambda: number, r0: number, r1: number, out: Float64Array): number {
      alive();
      if (!haveK) throw new Error('RowSolver.solve: setKernel was not called');
      checkRange('RowSolver.solve', r0, r1, nRows);
      const res = residentOf(out, w.memory);
      if ((res === null ? out.length : res.len) < nnz) {
        throw new RangeError(`RowSolver.solve: out has ${res === null ? out.length : res.len} elements, the matrix ${nnz} entries`);
      }
      if (r1 === r0) return 0;
      if (res === null && outBlock === 0) outBlock = allocBytes(nnz * 8);
      const pOut = res === null ? outBlock : res.base;
      let fallbacks = 0;
      for (let c = r0; c < r1; c += SOLVE_CHUNK) {
        fallbacks += w.solveRows(d, kBlock, lambda, rp.ptr, ci.ptr, vals, c, Math.min(r1, c + SOLVE_CHUNK), pOut, sub);
      }
      if (res === null) {
        const p0 = rowPtr[r0]!, p1 = rowPtr[r1]!;
        out.set(new Float64Array(w.memory.buffer, outBlock + p0 * 8, p1 - p0), p0);
      }
      return fallbacks;
    },
    dispose(): void {
      if (!live) return;
      live = false;
      releaseInts(rowPtr);
      releaseInts(colIdx);
      freeBytes(vals, nnz * 8);
      freeBytes(kBlock, d * d * 8);
      freeBytes(sub, subBytes);
      if (outBlock !== 0) freeBytes(outBlock, nnz * 8);
    },
  };
}

/**
 * The WASM QAccumulator: copies the CSR structure and the column index (colPtr, rowOf, posOf of
 * pipeline/sweep.ts columnIndex) into wasm memory now; they must not change afterwards. An `a` or
 * `Q` in wasm memory (wasmAlloc) is used in place; otherwise each accumulate copies a in whole
 * (so prefer few calls, or a resident a) and the rows [j0, j1) of Q out.
 */
export function createQAccumulator(
  d: number, rowPtr: Int32Array, colIdx: Int32Array, colPtr: Int32Array, rowOf: Int32Array, posOf: Int32Array,
): QAccumulator {
  const w = exportsOrThrow();
  checkCsr('createQAccumulator', d, rowPtr, colIdx, Number.POSITIVE_INFINITY);
  const nRows = rowPtr.length - 1;
  const nnz = rowPtr[nRows]!;
  if (colPtr.length !== d + 1 || colPtr[0] !== 0 || colPtr[d] !== nnz || rowOf.length < nnz || posOf.length < nnz) {
    throw new RangeError(`createQAccumulator: the column index does not match a CSR matrix with ${d} columns and ${nnz} entries`);
  }
  for (let j = 0; j < d; j++) {
    if (colPtr[j + 1]! < colPtr[j]!) throw new RangeError(`createQAccumulator: colPtr decreases at column ${j}`);
  }
  for (let t = 0; t < nnz; t++) {
    const i = rowOf[t]!, p = posOf[t]!;
    if (!(i >= 0 && i < nRows && p >= 0 && p < nnz)) {
      throw new RangeError(`createQAccumulator: rowOf[${t}] = ${i} or posOf[${t}] = ${p} is out of range`);
    }
  }
  const blocks = [rowPtr, colIdx, colPtr, rowOf, posOf].map(retainInts);
  const [rp, ci, cp, ro, po] = blocks as [IntBlock, IntBlock, IntBlock, IntBlock, IntBlock];
  let aBlock = 0;
  let qBlock: Block = { ptr: 0, bytes: 0 };
  let live = true;
  return {
    accumulate(a: Float64Array, j0: number, j1: number, Q: Float64Array): Float64Array {
      if (!live) throw new Error('QAccumulator: used after dispose');
      checkRange('QAccumulator.accumulate', j0, j1, d);
      const ra = residentOf(a, w.memory);
      const rq = residentOf(Q, w.memory);
      if ((ra === null ? a.length : ra.len) < nnz) throw new RangeError(`QAccumulator.accumulate: a has fewer than ${nnz} elements`);
      if ((rq === null ? Q.length : rq.len) < d * d) throw new RangeError(`QAccumulator.accumulate: Q has fewer than d * d = ${d * d} elements`);
      if (j1 === j0) return Q;
      // Every allocation first (each may grow memory), then the copies through fresh views.
      if (ra === null && aBlock === 0) aBlock = allocBytes(nnz * 8);
      const rows = (j1 - j0) * d;
      if (rq === null && qBlock.bytes < rows * 8) {
        if (qBlock.bytes > 0) freeBytes(qBlock.ptr, qBlock.bytes);
        qBlock = { ptr: allocBytes(rows * 8), bytes: alignUp(rows * 8, ALIGN) };
      }
      const pA = ra === null ? aBlock : ra.base;
      if (ra === null) new Float64Array(w.memory.buffer, aBlock, nnz).set(a.subarray(0, nnz));
      const pQ = rq === null ? qBlock.ptr : rq.base + j0 * d * 8;
      for (let c = j0; c < j1; c += Q_CHUNK) {
        w.accumulateQ(d, rp.ptr, ci.ptr, pA, cp.ptr, ro.ptr, po.ptr, c, Math.min(j1, c + Q_CHUNK), pQ + (c - j0) * d * 8);
      }
      if (rq === null) Q.set(new Float64Array(w.memory.buffer, pQ, rows), j0 * d);
      return Q;
    },
    dispose(): void {
      if (!live) return;
      live = false;
      for (const x of [rowPtr, colIdx, colPtr, rowOf, posOf]) releaseInts(x);
      if (aBlock !== 0) freeBytes(aBlock, nnz * 8);
      if (qBlock.bytes > 0) freeBytes(qBlock.ptr, qBlock.bytes);
    },
  };
}
