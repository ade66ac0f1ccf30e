// AssemblyScript source of the low-rank operator's sparse row pass (engine/lowrank.ts operatorRows);
// built by scripts/build-wasm.mjs.
//
// It gives the bits of the TypeScript loop (kernels/sparse.ts): each element is updated by the same
// multiply, then add (wasm never fuses them), in the same entry order; SIMD runs two independent
// elements of a row at once. Pointers are byte addresses owned by the caller (kernels/wasm-sparse.ts),
// which has checked the indices; nothing here is bounds-checked.

/**
 * For rows r in [0, nRows) with entries [rowPtr[r], rowPtr[r + 1]) of (colIdx, a): Z_r += (c a_q) X_j
 * over the row's entries, then YP_j += (c a_q) Z_r; Z (nRows x p), X and YP (d x p) row-major.
 */
export function sparseRows(pRowPtr: usize, nRows: i32, pColIdx: usize, pA: usize, c: f64, pX: usize, pZ: usize, pYP: usize, p: i32): void {
  const pairs = p & ~1;
  const rowBytes = <usize>p << 3;
  for (let r = 0; r < nRows; r++) {
    const q0 = load<i32>(pRowPtr + (<usize>r << 2));
    const q1 = load<i32>(pRowPtr + (<usize>(r + 1) << 2));
    const z = pZ + <usize>r * rowBytes;
    for (let q = q0; q < q1; q++) {
      const v = c * load<f64>(pA + (<usize>q << 3));
      const x = pX + <usize>load<i32>(pColIdx + (<usize>q << 2)) * rowBytes;
      axpy(v, x, z, pairs, p);
    }
    for (let q = q0; q < q1; q++) {
      const v = c * load<f64>(pA + (<usize>q << 3));
      const y = pYP + <usize>load<i32>(pColIdx + (<usize>q << 2)) * rowBytes;
      axpy(v, z, y, pairs, p);
    }
  }
}

// y[e] += v * x[e] for e < p: pairs through f64x2 (multiply, then add), the odd last one alone.
// @ts-ignore: decorator
@inline
function axpy(v: f64, x: usize, y: usize, pairs: i32, p: i32): void {
  const vv = f64x2.splat(v);
  let e = 0;
  for (; e < pairs; e += 2) {
    const o = <usize>e << 3;
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(vv, v128.load(x + o))));
  }
  if (e < p) {
    const o = <usize>e << 3;
    store<f64>(y + o, load<f64>(y + o) + v * load<f64>(x + o));
  }
}
