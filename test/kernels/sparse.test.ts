// The low-rank operator's sparse row pass: the WASM kernel gives the bits of the TypeScript loop,
// which itself matches a dense reference (1e-13).

import { describe, expect, it } from 'vitest';
import { Rng } from '../../kernels/random.ts';
import { sparseRowsImplementations } from '../../kernels/index.ts';
import { wasmAvailable } from '../../kernels/wasm.ts';

const SEED = 41;

function problem(rng: Rng, n: number, d: number, p: number, long: number) {
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    // row 1 is long: past one chunk of the WASM form when `long` is large
    const len = i === 1 ? long : rng.int(12);
    for (let t = 0; t < len; t++) cols.push(rng.int(d));
    rowPtr[i + 1] = cols.length;
  }
  const colIdx = Int32Array.from(cols);
  const a = Float64Array.from(cols, () => rng.normal());
  const X = Float64Array.from({ length: d * p }, () => rng.normal());
  const Z = Float64Array.from({ length: n * p }, () => rng.normal());
  return { rowPtr, colIdx, a, X, Z };
}

describe(`sparseRows (seed ${SEED})`, () => {
  it('the TypeScript loop equals Z + c A X and then c A^T Z (dense reference, 1e-13)', () => {
    const rng = new Rng(SEED);
    const [n, d, p] = [30, 17, 5];
    const { rowPtr, colIdx, a, X, Z } = problem(rng, n, d, p, 20);
    const Z0 = Z.slice();
    const YP = new Float64Array(3 + d * p);
    sparseRowsImplementations.js(rowPtr, colIdx, a, 0.7, X, Z, YP, 3, p, 0, n);
    const refZ = Z0.slice();
    for (let i = 0; i < n; i++) for (let q = rowPtr[i]!; q < rowPtr[i + 1]!; q++) for (let e = 0; e < p; e++) refZ[i * p + e] += 0.7 * a[q]! * X[colIdx[q]! * p + e]!;
    const refY = new Float64Array(d * p);
    for (let i = 0; i < n; i++) for (let q = rowPtr[i]!; q < rowPtr[i + 1]!; q++) for (let e = 0; e < p; e++) refY[colIdx[q]! * p + e] += 0.7 * a[q]! * refZ[i * p + e]!;
    for (let e = 0; e < n * p; e++) expect(Math.abs(Z[e]! - refZ[e]!)).toBeLessThan(1e-13 * (1 + Math.abs(refZ[e]!)));
    for (let e = 0; e < d * p; e++) expect(Math.abs(YP[3 + e]! - refY[e]!)).toBeLessThan(1e-12 * (1 + Math.abs(refY[e]!)));
    expect(YP.subarray(0, 3)).toEqual(new Float64Array(3));
  });

  it.runIf(wasmAvailable)('the WASM kernel gives the same bits: even and odd p, a row range, a row longer than a chunk', () => {
    const rng = new Rng(SEED + 1);
    for (const [n, d, p, long] of [[200, 40, 30, 50], [150, 33, 7, 70_000], [5, 3, 1, 4]] as const) {
      const { rowPtr, colIdx, a, X, Z } = problem(rng, n, d, p, long);
      const [r0, r1] = [1, n - 1];
      const Zj = Z.slice();
      const Zw = Z.slice();
      const Yj = Float64Array.from({ length: 2 * d * p }, () => 9);
      const Yw = Yj.slice();
      Yj.fill(0, d * p);
      Yw.fill(0, d * p);
      sparseRowsImplementations.js(rowPtr, colIdx, a, -1.3, X, Zj, Yj, d * p, p, r0, r1);
      sparseRowsImplementations.wasm(rowPtr, colIdx, a, -1.3, X, Zw, Yw, d * p, p, r0, r1);
      expect(Buffer.from(Zw.buffer).equals(Buffer.from(Zj.buffer)), `Z, p = ${p}`).toBe(true);
      expect(Buffer.from(Yw.buffer).equals(Buffer.from(Yj.buffer)), `YP, p = ${p}`).toBe(true);
      // rows outside the range are untouched
      expect(Zw.subarray(0, p)).toEqual(Z.subarray(0, p));
    }
  });

  it.runIf(wasmAvailable)('refuses a column index outside the matrix', () => {
    const rowPtr = Int32Array.of(0, 2);
    expect(() => sparseRowsImplementations.wasm(rowPtr, Int32Array.of(0, 5), new Float64Array(2), 1, new Float64Array(4), new Float64Array(2), new Float64Array(4), 0, 2, 0, 1))
      .toThrow(/colIdx\[1\] = 5/);
  });
});
