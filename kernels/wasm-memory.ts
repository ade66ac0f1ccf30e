// The WASM kernels' instance (which build, set up at import) and its memory: the allocator and the arrays that live in wasm memory.

import { WASM_BASE64, WASM_FMA_BASE64 } from './wasm/generated.ts';

// The root tsconfig has no DOM lib and @types/node declares no WebAssembly API: the little used
// here is typed by hand.
export interface WasmMemory {
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
  sparseRows(pRowPtr: number, nRows: number, pColIdx: number, pA: number, c: number, pX: number, pZ: number, pYP: number, p: number): void;
  woodburyRows(
    k: number, pU: number, pSw: number, c: number, pRowPtr: number, nRows: number, pColIdx: number, pVals: number,
    pA: number, pBs: number, pW: number, pM: number, pT: number,
  ): number;
}

const PAGE = 65536;
// Allocations are cache-line aligned (v128 loads need 16 only for speed, not correctness).
export const ALIGN = 64;

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

export interface Block { ptr: number; bytes: number }

export const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

export const workPtr = wasm === null ? 0 : alignUp(wasm.heapBase(), ALIGN);
let top = wasm === null ? 0 : alignUp(workPtr + wasm.workBytes(), ALIGN);
const free: Block[] = []; // sorted by ptr, coalesced
let growths = 0;

export function exportsOrThrow(): KernelExports {
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

export function allocBytes(size: number): number {
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

export function freeBytes(ptr: number, size: number): void {
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

// Byte address of element 0 of a resident operand and how many elements it may address, or null.
export function residentOf(x: Float64Array, mem: WasmMemory): { base: number; len: number } | null {
  if (x.buffer === mem.buffer) return { base: x.byteOffset, len: x.length };
  const a = allocations.get(x);
  if (a !== undefined && a.live) return { base: a.ptr, len: a.len };
  return null;
}
