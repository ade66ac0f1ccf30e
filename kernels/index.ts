// Kernel dispatch: the WASM SIMD dgemm/dsyrk when available, else the TypeScript ones; LINRFM_KERNELS=js|wasm forces one.
//
// The selection is made once, at import, per thread (each worker makes its own). The rest of
// kernels/blas.ts is re-exported so that callers import every BLAS routine from here. Callers
// that keep big operands for many calls (the engine's G and row chunk) allocate them with
// kernelAlloc, which under the WASM kernels places them in wasm memory so no call copies them.

import * as js from './blas.ts';
import { createQAccumulatorJs, createRowSolverJs } from './rows.ts';
import { sparseRowsJs } from './sparse.ts';
import { sparseRowsWasm } from './wasm-sparse.ts';
import { woodburyRowsJs } from './woodbury.ts';
import { woodburyRowsWasm } from './wasm-woodbury.ts';
import * as wasm from './wasm.ts';
import type { PackedB } from './wasm.ts';

export type { PackedB, QAccumulator, RowSolver } from './wasm.ts';

export { ddot, daxpy } from './blas.ts';
export { accumulateQJs, createQAccumulatorJs, createRowSolverJs, solveRowRidge, solveRowsJs } from './rows.ts';
// The rest of the package's kernels, so that callers outside kernels/ import from here alone.
export { dpotrf, dpotrs } from './chol.ts';
export { woodburyRow, woodburyScratch, type WoodburyScratch } from './woodbury.ts';
export { dsyev, dsympow } from './eig.ts';
export { Rng, shuffleInt32 } from './random.ts';
export { dgathersym, dgathersymlower, dscatterouter, dsymmetrize } from './sym.ts';
export { wasmAvailable, wasmFma, wasmAlloc, wasmFree, wasmRefresh } from './wasm.ts';

export type KernelImpl = 'js' | 'wasm';

export interface Blas {
  dgemm: typeof js.dgemm;
  dsyrk: typeof js.dsyrk;
  /** op(B) prepared once for many dgemmPacked calls (row blocks of one product); see kernels/wasm.ts dgemmPackB. */
  dgemmPackB: typeof wasm.dgemmPackB;
  /** dgemm with a prepared op(B): the bits of dgemm. */
  dgemmPacked: typeof wasm.dgemmPacked;
  dgemmPackedFree: typeof wasm.dgemmPackedFree;
}

// The TypeScript "packing" keeps a reference to B (the TypeScript dgemm packs per call): B must
// not change while the PackedB is in use.
interface JsPacked { transB: boolean; B: Float64Array; ldb: number; offsetB: number }
const jsPacked = new WeakMap<PackedB, JsPacked>();

function dgemmPackBJs(transB: boolean, k: number, n: number, B: Float64Array, ldb: number, offsetB: number): PackedB {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0) {
    throw new RangeError(`dgemmPackB: k and n must be non-negative integers, got ${k} and ${n}`);
  }
  const handle: PackedB = { k, n };
  jsPacked.set(handle, { transB, B, ldb, offsetB });
  return handle;
}

function dgemmPackedJs(
  transA: boolean, m: number, n: number, k: number, alpha: number, A: Float64Array, lda: number, offsetA: number,
  P: PackedB, beta: number, C: Float64Array, ldc: number, offsetC: number,
): Float64Array {
  const b = jsPacked.get(P);
  if (b === undefined) throw new Error('dgemmPacked: not a live PackedB from dgemmPackB');
  if (P.k !== k || P.n !== n) throw new RangeError(`dgemmPacked: the packed op(B) is ${P.k} x ${P.n}, the call needs ${k} x ${n}`);
  return js.dgemm(transA, b.transB, m, n, k, alpha, A, lda, offsetA, b.B, b.ldb, b.offsetB, beta, C, ldc, offsetC);
}

/** Both implementations, for tests and benchmarks that compare them. */
export const implementations: Readonly<Record<KernelImpl, Blas>> = {
  js: {
    dgemm: js.dgemm, dsyrk: js.dsyrk,
    dgemmPackB: dgemmPackBJs, dgemmPacked: dgemmPackedJs, dgemmPackedFree: (P) => void jsPacked.delete(P),
  },
  wasm: {
    dgemm: wasm.dgemm, dsyrk: wasm.dsyrk,
    dgemmPackB: wasm.dgemmPackB, dgemmPacked: wasm.dgemmPacked, dgemmPackedFree: wasm.dgemmPackedFree,
  },
};

/** The implementation to use: LINRFM_KERNELS when set (forcing 'wasm' where it is unavailable throws), else wasm if available. */
export function selectKernels(env: string | undefined, wasmAvailable: boolean): KernelImpl {
  if (env === undefined || env === '') return wasmAvailable ? 'wasm' : 'js';
  if (env !== 'js' && env !== 'wasm') {
    throw new Error(`LINRFM_KERNELS must be 'js' or 'wasm', got '${env}'`);
  }
  if (env === 'wasm' && !wasmAvailable) {
    throw new Error("LINRFM_KERNELS=wasm, but the WASM kernels are not available (run `npm run build:wasm`)");
  }
  return env;
}

/** Which implementation dgemm and dsyrk below are. */
export const kernelImpl: KernelImpl = selectKernels(globalThis.process?.env?.['LINRFM_KERNELS'], wasm.wasmAvailable);

/** Whether dgemm and dsyrk below fuse their multiply-adds (the WASM relaxed-SIMD build; LINRFM_FMA=0 turns it off). */
export const kernelFma: boolean = kernelImpl === 'wasm' && wasm.wasmFma;

export const blas: Blas = implementations[kernelImpl];
export const dgemm: Blas['dgemm'] = blas.dgemm;
export const dsyrk: Blas['dsyrk'] = blas.dsyrk;
export const dgemmPackB: Blas['dgemmPackB'] = blas.dgemmPackB;
export const dgemmPacked: Blas['dgemmPacked'] = blas.dgemmPacked;
export const dgemmPackedFree: Blas['dgemmPackedFree'] = blas.dgemmPackedFree;

/**
 * A zeroed Float64Array that the selected dgemm/dsyrk use without copying: in wasm memory under
 * the WASM kernels, a plain array under the TypeScript ones. A wasm one is detached (length 0)
 * when wasm memory grows - by another kernelAlloc, or a kernel call on ordinary arrays bigger than
 * any before: call kernelRefresh(x) before reading or writing it after such calls (the kernels
 * themselves accept the stale array). Release it with kernelFree.
 */
export function kernelAlloc(len: number): Float64Array<ArrayBuffer> {
  return kernelImpl === 'wasm' ? wasm.wasmAlloc(len) : new Float64Array(len);
}

/** `x` itself, or a usable view of the same data when `x` is a wasm array detached by memory growth. */
export function kernelRefresh(x: Float64Array): Float64Array {
  return wasm.isWasmAllocation(x) ? wasm.wasmRefresh(x) : x;
}

/** Returns a kernelAlloc array's wasm memory to the allocator (no-op for a plain array); it is dead after. */
export function kernelFree(x: Float64Array): void {
  if (wasm.isWasmAllocation(x)) wasm.wasmFree(x);
}

export interface RowKernels {
  createRowSolver: typeof createRowSolverJs;
  createQAccumulator: typeof createQAccumulatorJs;
}

/** Both implementations of the row solver and Q accumulator, for tests and benchmarks. */
export const rowImplementations: Readonly<Record<KernelImpl, RowKernels>> = {
  js: { createRowSolver: createRowSolverJs, createQAccumulator: createQAccumulatorJs },
  wasm: { createRowSolver: wasm.createRowSolver, createQAccumulator: wasm.createQAccumulator },
};

/** The selected (kernelImpl) RowSolver; see RowSolver in kernels/wasm.ts. Both give the same bits. */
export const createRowSolver: RowKernels['createRowSolver'] = rowImplementations[kernelImpl].createRowSolver;
/** The selected (kernelImpl) QAccumulator. Both give the same bits. */
export const createQAccumulator: RowKernels['createQAccumulator'] = rowImplementations[kernelImpl].createQAccumulator;

/** The low-rank operator's sparse row pass (kernels/sparse.ts): both forms give the same bits. */
export const sparseRowsImplementations: Readonly<Record<KernelImpl, typeof sparseRowsJs>> = { js: sparseRowsJs, wasm: sparseRowsWasm };
export const sparseRows: typeof sparseRowsJs = sparseRowsImplementations[kernelImpl];

/** The low-rank kernel's row solves (kernels/woodbury.ts): the WASM form sums W^T W in its own order, so its last bits differ. */
export const woodburyRowsImplementations: Readonly<Record<KernelImpl, typeof woodburyRowsJs>> = { js: woodburyRowsJs, wasm: woodburyRowsWasm };
export const woodburyRows: typeof woodburyRowsJs = woodburyRowsImplementations[kernelImpl];
