// Kernel dispatch: the WASM SIMD dgemm/dsyrk when available, else the TypeScript ones; LINRFM_KERNELS=js|wasm forces one.
//
// The selection is made once, at import, per thread (each worker makes its own). The rest of
// kernels/blas.ts is re-exported so that callers import every BLAS routine from here. Callers
// that keep big operands for many calls (the engine's G and row chunk) allocate them with
// kernelAlloc, which under the WASM kernels places them in wasm memory so no call copies them.

import * as js from './blas.ts';
import * as wasm from './wasm.ts';

export { ddot, daxpy } from './blas.ts';

export type KernelImpl = 'js' | 'wasm';

export interface Blas {
  dgemm: typeof js.dgemm;
  dsyrk: typeof js.dsyrk;
}

/** Both implementations, for tests and benchmarks that compare them. */
export const implementations: Readonly<Record<KernelImpl, Blas>> = {
  js: { dgemm: js.dgemm, dsyrk: js.dsyrk },
  wasm: { dgemm: wasm.dgemm, dsyrk: wasm.dsyrk },
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

export const blas: Blas = implementations[kernelImpl];
export const dgemm: Blas['dgemm'] = blas.dgemm;
export const dsyrk: Blas['dsyrk'] = blas.dsyrk;

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
