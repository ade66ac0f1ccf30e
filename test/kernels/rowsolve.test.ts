// Tests for the batched CSR row solves and the Q accumulation (kernels/index.ts, kernels/wasm.ts): WASM vs TypeScript vs brute force, bit for bit.
import { describe, it, expect } from 'vitest';
import { Matrix, solve } from 'ml-matrix';
import { rowImplementations, kernelImpl, createRowSolver, createQAccumulator, type RowKernels } from '../../kernels/index.ts';
import { wasmAvailable, wasmAlloc, wasmFree, wasmRefresh } from '../../kernels/wasm.ts';
import { solveRows as pipelineSolveRows, rowScratch, accumulateQ as pipelineAccumulateQ, columnIndex, type ColumnIndex } from '../../engine/sweep.ts';
import { makeRng, SEEDS, type Rng } from './helpers.ts';

interface Csr { nRows: number; nCols: number; rowPtr: Int32Array; colIdx: Int32Array; values: Float64Array }

// A rectangular CSR matrix with empty rows, rows of length 1 and one full row; columns ascending.
function randCsr(rng: Rng, nRows: number, d: number): Csr {
  const rowPtr = new Int32Array(nRows + 1);
  const cols: number[] = [];
  for (let i = 0; i < nRows; i++) {
    const u = rng.uniform();
    let k: number;
    if (i === 3) k = d;
    else if (u < 0.15) k = 0;
    else if (u < 0.3) k = 1;
    else k = 2 + Math.floor(rng.uniform() * (d - 2));
    // a random k-subset of [0, d), ascending
    const pick: number[] = [];
    for (let j = 0; j < d; j++) if (rng.uniform() * (d - j) < k - pick.length) pick.push(j);
    cols.push(...pick);
    rowPtr[i + 1] = rowPtr[i]! + pick.length;
  }
  const values = new Float64Array(cols.length);
  for (let p = 0; p < values.length; p++) values[p] = rng.normal();
  return { nRows, nCols: d, rowPtr, colIdx: Int32Array.from(cols), values };
}


// I + B B^T / r with B d x r: symmetric positive definite, well conditioned.
function spdKernel(rng: Rng, d: number, r = 5): Float64Array {
  const B = new Float64Array(d * r);
  for (let t = 0; t < B.length; t++) B[t] = rng.normal();
  const K = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let q = 0; q < r; q++) s += B[i * r + q]! * B[j * r + q]!;
      const v = s / r + (i === j ? 1 : 0);
      K[i * d + j] = v;
      K[j * d + i] = v;
    }
  }
  return K;
}

// A symmetric kernel with negative eigenvalues: most rows need a raised ridge.
function indefiniteKernel(rng: Rng, d: number): Float64Array {
  const K = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = rng.normal();
      K[i * d + j] = v;
      K[j * d + i] = v;
    }
  }
  return K;
}

const bits = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const impls: Array<[string, RowKernels]> = [['js', rowImplementations.js], ['wasm', rowImplementations.wasm]];

function solveWith(impl: RowKernels, m: Csr, K: Float64Array, lambda: number, splits: number[] = [0, m.nRows]): { a: Float64Array; fallbacks: number } {
  const rs = impl.createRowSolver(m.nCols, m.rowPtr, m.colIdx, m.values);
  rs.setKernel(K);
  const a = new Float64Array(m.values.length).fill(Number.NaN);
  let fallbacks = 0;
  for (let s = 0; s + 1 < splits.length; s++) fallbacks += rs.solve(lambda, splits[s]!, splits[s + 1]!, a);
  rs.dispose();
  return { a, fallbacks };
}

// The reference: (K[idx, idx] + rho I) a = y by ml-matrix (LU), for each rho in the ridge sequence
// from lambda; returns the max relative error of the best-matching rho per row, and that rho.
function referenceError(m: Csr, K: Float64Array, lambda: number, a: Float64Array, ridges: number): number {
  const d = m.nCols;
  let worst = 0;
  for (let i = 0; i < m.nRows; i++) {
    const p0 = m.rowPtr[i]!, k = m.rowPtr[i + 1]! - p0;
    if (k === 0) continue;
    let best = Number.POSITIVE_INFINITY;
    let rho = lambda;
    for (let t = 0; t < ridges; t++, rho = Math.max(rho * 10, 1e-12)) {
      const S = new Matrix(k, k);
      for (let x = 0; x < k; x++) {
        for (let y = 0; y < k; y++) S.set(x, y, K[m.colIdx[p0 + x]! * d + m.colIdx[p0 + y]!]! + (x === y ? rho : 0));
      }
      const y = Matrix.columnVector(Array.from(m.values.subarray(p0, p0 + k)));
      const ref = solve(S, y).getColumn(0);
      let err = 0, scale = 1;
      for (let q = 0; q < k; q++) {
        err = Math.max(err, Math.abs(a[p0 + q]! - ref[q]!));
        scale = Math.max(scale, Math.abs(ref[q]!));
      }
      best = Math.min(best, err / scale);
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

describe.skipIf(!wasmAvailable)('row solves: WASM vs TypeScript vs brute force', () => {
  for (const seed of SEEDS) {
    it(`SPD kernel, rectangular CSR with empty rows and rows of length 1: same bits, 1e-10 of ml-matrix (seed ${seed})`, () => {
      const rng = makeRng(seed);
      const m = randCsr(rng, 70, 37);
      const K = spdKernel(rng, m.nCols);
      const lambda = 1e-3;
      const js = solveWith(rowImplementations.js, m, K, lambda);
      const wa = solveWith(rowImplementations.wasm, m, K, lambda);
      expect(bits(wa.a).equals(bits(js.a)), `seed ${seed}`).toBe(true);
      expect(wa.fallbacks).toBe(0);
      expect(js.fallbacks).toBe(0);
      expect(referenceError(m, K, lambda, wa.a, 1)).toBeLessThan(1e-10);
      // untouched only where rows are empty: every entry was written
      expect(wa.a.every((x) => Number.isFinite(x))).toBe(true);
    });

    it(`indefinite kernel forces the ridge fallback: same bits and counts; solves a raised-ridge system (seed ${seed})`, () => {
      const rng = makeRng(seed + 1000);
      const m = randCsr(rng, 50, 29);
      const K = indefiniteKernel(rng, m.nCols);
      const lambda = 0;
      const js = solveWith(rowImplementations.js, m, K, lambda);
      const wa = solveWith(rowImplementations.wasm, m, K, lambda);
      expect(bits(wa.a).equals(bits(js.a)), `seed ${seed}`).toBe(true);
      expect(wa.fallbacks).toBe(js.fallbacks);
      expect(wa.fallbacks).toBeGreaterThan(10);
      // ridges up to 1e-12 * 10^15 = 1e3 cover normal(0, 1) kernels of this size
      expect(referenceError(m, K, lambda, wa.a, 17)).toBeLessThan(1e-10);
    });

    it(`the same bits as pipeline/sweep.ts solveRows (seed ${seed})`, () => {
      const rng = makeRng(seed + 2000);
      const m = randCsr(rng, 60, 41);
      for (const K of [spdKernel(rng, m.nCols), indefiniteKernel(rng, m.nCols)]) {
        const ref = new Float64Array(m.values.length).fill(Number.NaN);
        const refFallbacks = pipelineSolveRows(m.nCols, K, 1e-6, m, ref, 0, m.nRows, rowScratch(m.nCols));
        for (const [name, impl] of impls) {
          const got = solveWith(impl, m, K, 1e-6);
          expect(bits(got.a).equals(bits(ref)), `${name} seed ${seed}`).toBe(true);
          expect(got.fallbacks, name).toBe(refFallbacks);
        }
      }
    });

    it(`block boundaries: several [r0, r1) splits give the bits of one call (seed ${seed})`, () => {
      const rng = makeRng(seed + 3000);
      const m = randCsr(rng, 45, 23);
      const K = indefiniteKernel(rng, m.nCols);
      for (const [name, impl] of impls) {
        const one = solveWith(impl, m, K, 1e-8);
        for (const splits of [[0, 1, 2, 45], [0, 7, 7, 19, 44, 45], [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45]]) {
          const got = solveWith(impl, m, K, 1e-8, splits);
          expect(bits(got.a).equals(bits(one.a)), `${name} ${splits.join(',')}`).toBe(true);
          expect(got.fallbacks).toBe(one.fallbacks);
        }
      }
    });
  }

  it('non-finite K: every attempt fails, the rows get zeros and count as fallbacks (seed 7)', () => {
    const rng = makeRng(7);
    const m = randCsr(rng, 20, 11);
    const K = spdKernel(rng, m.nCols);
    K.fill(Number.NaN, 0, m.nCols); // row 0 (and column 0 by symmetry of the reads) poisoned
    for (let j = 0; j < m.nCols; j++) K[j * m.nCols] = Number.NaN;
    const js = solveWith(rowImplementations.js, m, K, 1e-3);
    const wa = solveWith(rowImplementations.wasm, m, K, 1e-3);
    expect(bits(wa.a).equals(bits(js.a))).toBe(true);
    expect(wa.fallbacks).toBe(js.fallbacks);
    let withCol0 = 0;
    for (let i = 0; i < m.nRows; i++) {
      const p0 = m.rowPtr[i]!, p1 = m.rowPtr[i + 1]!;
      if (p1 > p0 && m.colIdx[p0] === 0) {
        withCol0++;
        for (let p = p0; p < p1; p++) expect(Object.is(wa.a[p], 0)).toBe(true);
      }
    }
    expect(withCol0).toBeGreaterThan(0);
    expect(wa.fallbacks).toBe(withCol0);
  });

  it('a resident out (wasmAlloc) is written in place, also after memory growth; empty ranges and bad ranges', () => {
    const rng = makeRng(11);
    const m = randCsr(rng, 30, 19);
    const K = spdKernel(rng, m.nCols);
    const want = solveWith(rowImplementations.js, m, K, 1e-2).a;
    const rs = rowImplementations.wasm.createRowSolver(m.nCols, m.rowPtr, m.colIdx, m.values);
    rs.setKernel(K);
    const out = wasmAlloc(m.values.length);
    const big = wasmAlloc(1 << 23); // 64 MB: grows memory, detaching `out`
    expect(rs.solve(1e-2, 0, 30, out)).toBe(0); // the stale view still names its block
    expect(rs.solve(1e-2, 5, 5, out)).toBe(0);
    expect(bits(wasmRefresh(out)).equals(bits(want))).toBe(true);
    expect(() => rs.solve(1e-2, 0, 31, out)).toThrow(RangeError);
    expect(() => rs.solve(1e-2, 4, 3, out)).toThrow(RangeError);
    expect(() => rs.solve(1e-2, 0, 1, new Float64Array(3))).toThrow(RangeError);
    rs.dispose();
    expect(() => rs.solve(1e-2, 0, 1, want)).toThrow(/dispose/);
    wasmFree(big);
    wasmFree(out);
  });

  it('rejects a CSR matrix with an out-of-range column at creation', () => {
    const bad = { rowPtr: Int32Array.from([0, 2]), colIdx: Int32Array.from([0, 5]), values: new Float64Array(2) };
    expect(() => rowImplementations.wasm.createRowSolver(5, bad.rowPtr, bad.colIdx, bad.values)).toThrow(RangeError);
  });

  it('no rows at all', () => {
    for (const [, impl] of impls) {
      const rs = impl.createRowSolver(4, new Int32Array(1), new Int32Array(0), new Float64Array(0));
      rs.setKernel(new Float64Array(16));
      expect(rs.solve(1, 0, 0, new Float64Array(0))).toBe(0);
      rs.dispose();
    }
  });
});

// sum_i a_i a_i^T scattered on Omega_i x Omega_i, densely.
function bruteQ(m: Csr, a: Float64Array): Float64Array {
  const d = m.nCols;
  const Q = new Float64Array(d * d);
  for (let i = 0; i < m.nRows; i++) {
    for (let p = m.rowPtr[i]!; p < m.rowPtr[i + 1]!; p++) {
      for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) Q[m.colIdx[p]! * d + m.colIdx[q]!] += a[p]! * a[q]!;
    }
  }
  return Q;
}

function accumulateWith(impl: RowKernels, m: Csr, c: ColumnIndex, a: Float64Array, splits: number[] = [0, m.nCols]): Float64Array {
  const qa = impl.createQAccumulator(m.nCols, m.rowPtr, m.colIdx, c.colPtr, c.rowOf, c.posOf);
  const Q = new Float64Array(m.nCols * m.nCols).fill(Number.NaN);
  for (let s = 0; s + 1 < splits.length; s++) qa.accumulate(a, splits[s]!, splits[s + 1]!, Q);
  qa.dispose();
  return Q;
}

describe.skipIf(!wasmAvailable)('Q accumulation: WASM vs TypeScript vs brute force', () => {
  for (const seed of SEEDS) {
    it(`same bits as each other and as pipeline/sweep.ts accumulateQ; 1e-12 of the dense sum (seed ${seed})`, () => {
      const rng = makeRng(seed + 4000);
      const m = randCsr(rng, 80, 33);
      const c = columnIndex(m);
      const a = new Float64Array(m.values.length);
      for (let p = 0; p < a.length; p++) a[p] = rng.normal();
      const ref = new Float64Array(m.nCols * m.nCols);
      pipelineAccumulateQ(m.nCols, m, a, c, ref, 0, m.nCols);
      const js = accumulateWith(rowImplementations.js, m, c, a);
      const wa = accumulateWith(rowImplementations.wasm, m, c, a);
      expect(bits(js).equals(bits(ref)), `js seed ${seed}`).toBe(true);
      expect(bits(wa).equals(bits(ref)), `wasm seed ${seed}`).toBe(true);
      const brute = bruteQ(m, a);
      let err = 0, scale = 1;
      for (let t = 0; t < brute.length; t++) {
        err = Math.max(err, Math.abs(wa[t]! - brute[t]!));
        scale = Math.max(scale, Math.abs(brute[t]!));
      }
      expect(err / scale).toBeLessThan(1e-12);
    });

    it(`block boundaries: several [j0, j1) splits give the bits of one call (seed ${seed})`, () => {
      const rng = makeRng(seed + 5000);
      const m = randCsr(rng, 40, 21);
      const c = columnIndex(m);
      const a = new Float64Array(m.values.length);
      for (let p = 0; p < a.length; p++) a[p] = rng.normal();
      for (const [name, impl] of impls) {
        const one = accumulateWith(impl, m, c, a);
        for (const splits of [[0, 1, 21], [0, 5, 5, 13, 20, 21], [0, 4, 8, 12, 16, 20, 21]]) {
          expect(bits(accumulateWith(impl, m, c, a, splits)).equals(bits(one)), `${name} ${splits.join(',')}`).toBe(true);
        }
      }
    });
  }

  it('resident a and Q are used in place; the accumulator shares the CSR copy with a row solver', () => {
    const rng = makeRng(12);
    const m = randCsr(rng, 50, 17);
    const c = columnIndex(m);
    const K = spdKernel(rng, m.nCols);
    const d = m.nCols;
    const rs = rowImplementations.wasm.createRowSolver(d, m.rowPtr, m.colIdx, m.values);
    const qa = rowImplementations.wasm.createQAccumulator(d, m.rowPtr, m.colIdx, c.colPtr, c.rowOf, c.posOf);
    rs.setKernel(K);
    const a = wasmAlloc(m.values.length);
    const Q = wasmAlloc(d * d);
    rs.solve(0.1, 0, m.nRows, a);
    rs.dispose(); // the accumulator keeps its reference to the shared rowPtr/colIdx copies
    qa.accumulate(a, 0, 9, Q);
    qa.accumulate(a, 9, d, Q);
    const aPlain = wasmRefresh(a).slice();
    const want = accumulateWith(rowImplementations.js, m, c, aPlain);
    expect(bits(wasmRefresh(Q)).equals(bits(want))).toBe(true);
    expect(() => qa.accumulate(a, 0, d + 1, Q)).toThrow(RangeError);
    qa.dispose();
    wasmFree(a);
    wasmFree(Q);
  });
});

describe('dispatch', () => {
  it('createRowSolver and createQAccumulator are the selected implementation (LINRFM_KERNELS=js forces TypeScript)', () => {
    expect(createRowSolver).toBe(rowImplementations[kernelImpl].createRowSolver);
    expect(createQAccumulator).toBe(rowImplementations[kernelImpl].createQAccumulator);
  });
});
