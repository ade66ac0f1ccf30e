// The low-rank operator's sparse row pass in TypeScript (engine/lowrank.ts operatorRows): the
// reference the WASM kernel (kernels/wasm/assembly/sparse.ts) matches bit for bit.

/**
 * For rows i in [r0, r1): Z_i += (c a_q) X_j over the row's entries q (column j), then
 * YP_j += (c a_q) Z_i; Z (rows by i, p wide), X (d x p) and YP (d x p at yOff) row-major.
 */
export function sparseRowsJs(
  rowPtr: Int32Array, colIdx: Int32Array, a: Float64Array, c: number, X: Float64Array,
  Z: Float64Array, YP: Float64Array, yOff: number, p: number, r0: number, r1: number,
): void {
  for (let i = r0; i < r1; i++) {
    const ip = i * p;
    const q0 = rowPtr[i]!;
    const q1 = rowPtr[i + 1]!;
    for (let q = q0; q < q1; q++) {
      const v = c * a[q]!;
      const jp = colIdx[q]! * p;
      for (let e = 0; e < p; e++) Z[ip + e] += v * X[jp + e]!;
    }
    for (let q = q0; q < q1; q++) {
      const v = c * a[q]!;
      const jp = yOff + colIdx[q]! * p;
      for (let e = 0; e < p; e++) YP[jp + e] += v * Z[ip + e]!;
    }
  }
}
