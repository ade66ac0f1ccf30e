// AssemblyScript source of the low-rank kernel's row solves by Woodbury (engine/lowrank.ts
// woodburyRow); built by scripts/build-wasm.mjs.
//
// For each row, with W = U_O diag(sw): t = (c I + W^T W)^-1 W^T y, a = (y - W t) / c, bs = sw * t.
// W^T W is summed entry by entry as rank-one updates (two columns at a time through f64x2), the
// Cholesky factor and the two triangular solves are scalar. Pointers are byte addresses owned by
// the caller (kernels/wasm-woodbury.ts), which has checked the indices; nothing is bounds-checked.

/**
 * Rows r in [0, nRows) with entries [rowPtr[r], rowPtr[r + 1]) of (colIdx, vals): a into pA (like
 * vals), bs into pBs (nRows x k). U is d x k, sw has k entries. Scratch: W (maxRow x k), M (k x k),
 * t (k). Returns the rows whose system did not factor (their a and bs are zeros).
 */
export function woodburyRows(
  k: i32, pU: usize, pSw: usize, c: f64, pRowPtr: usize, nRows: i32, pColIdx: usize, pVals: usize,
  pA: usize, pBs: usize, pW: usize, pM: usize, pT: usize,
): i32 {
  const kb = <usize>k << 3;
  let failed = 0;
  for (let r = 0; r < nRows; r++) {
    const q0 = load<i32>(pRowPtr + (<usize>r << 2));
    const len = load<i32>(pRowPtr + (<usize>(r + 1) << 2)) - q0;
    const bs = pBs + <usize>r * kb;
    if (len == 0) continue;
    // W = U_O diag(sw), t = W^T y
    memory.fill(pT, 0, kb);
    for (let q = 0; q < len; q++) {
      const u = pU + <usize>load<i32>(pColIdx + (<usize>(q0 + q) << 2)) * kb;
      const y = load<f64>(pVals + (<usize>(q0 + q) << 3));
      const w = pW + <usize>q * kb;
      for (let e = 0; e < k; e++) {
        const o = <usize>e << 3;
        const x = load<f64>(u + o) * load<f64>(pSw + o);
        store<f64>(w + o, x);
        store<f64>(pT + o, load<f64>(pT + o) + x * y);
      }
    }
    // M = W^T W: row e gets columns [0, e] (rounded up to a pair), entry by entry
    memory.fill(pM, 0, <usize>k * kb);
    for (let q = 0; q < len; q++) {
      const w = pW + <usize>q * kb;
      for (let e = 0; e < k; e++) {
        const we = f64x2.splat(load<f64>(w + (<usize>e << 3)));
        const m = pM + <usize>e * kb;
        const upto = min(k & ~1, (e + 2) & ~1);
        let f = 0;
        for (; f < upto; f += 2) {
          const o = <usize>f << 3;
          v128.store(m + o, f64x2.add(v128.load(m + o), f64x2.mul(we, v128.load(w + o))));
        }
        if (f <= e) {
          const o = <usize>f << 3;
          store<f64>(m + o, load<f64>(m + o) + load<f64>(w + (<usize>e << 3)) * load<f64>(w + o));
        }
      }
    }
    // M + c I = L L^T in the lower triangle; then t = L^-T L^-1 t
    let ok = true;
    for (let j = 0; j < k && ok; j++) {
      const mj = pM + <usize>j * kb;
      let s = load<f64>(mj + (<usize>j << 3)) + c;
      for (let p = 0; p < j; p++) {
        const l = load<f64>(mj + (<usize>p << 3));
        s -= l * l;
      }
      if (!(s > 0)) {
        ok = false;
        break;
      }
      const ljj = Math.sqrt(s);
      store<f64>(mj + (<usize>j << 3), ljj);
      for (let i = j + 1; i < k; i++) {
        const mi = pM + <usize>i * kb;
        let v = load<f64>(mi + (<usize>j << 3));
        for (let p = 0; p < j; p++) v -= load<f64>(mi + (<usize>p << 3)) * load<f64>(mj + (<usize>p << 3));
        store<f64>(mi + (<usize>j << 3), v / ljj);
      }
    }
    const a = pA + (<usize>q0 << 3);
    if (!ok) {
      memory.fill(a, 0, <usize>len << 3);
      memory.fill(bs, 0, kb);
      failed++;
      continue;
    }
    for (let i = 0; i < k; i++) {
      const mi = pM + <usize>i * kb;
      let v = load<f64>(pT + (<usize>i << 3));
      for (let p = 0; p < i; p++) v -= load<f64>(mi + (<usize>p << 3)) * load<f64>(pT + (<usize>p << 3));
      store<f64>(pT + (<usize>i << 3), v / load<f64>(mi + (<usize>i << 3)));
    }
    for (let i = k - 1; i >= 0; i--) {
      let v = load<f64>(pT + (<usize>i << 3));
      for (let p = i + 1; p < k; p++) v -= load<f64>(pM + <usize>p * kb + (<usize>i << 3)) * load<f64>(pT + (<usize>p << 3));
      store<f64>(pT + (<usize>i << 3), v / load<f64>(pM + <usize>i * kb + (<usize>i << 3)));
    }
    // a = (y - W t) / c, bs = sw * t
    for (let q = 0; q < len; q++) {
      const w = pW + <usize>q * kb;
      let s: f64 = 0;
      for (let e = 0; e < k; e++) s += load<f64>(w + (<usize>e << 3)) * load<f64>(pT + (<usize>e << 3));
      store<f64>(a + (<usize>q << 3), (load<f64>(pVals + (<usize>(q0 + q) << 3)) - s) / c);
    }
    for (let e = 0; e < k; e++) {
      const o = <usize>e << 3;
      store<f64>(bs + o, load<f64>(pSw + o) * load<f64>(pT + o));
    }
  }
  return failed;
}
