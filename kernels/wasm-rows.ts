// The WASM RowSolver and QAccumulator (batched CSR row solves, the Q accumulation) and the integer blocks they share.

import { ALIGN, alignUp, allocBytes, exportsOrThrow, freeBytes, residentOf, type Block } from './wasm-memory.ts';

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
