// AssemblyScript source of the batched CSR row solves and the row-blocked Q accumulation; built by scripts/build-wasm.mjs.
//
// Both must give the bits of the TypeScript path (kernels/sym.ts dgathersymlower + the ridge add
// + kernels/chol.ts dpotrf/dpotrs, and the accumulateQ loop of pipeline/sweep.ts): every element
// is the same sequence of IEEE operations (wasm never fuses a multiply and an add). SIMD is used
// only across independent elements - two rows of the factor at once - never to reassociate a sum.
//
// Layout of the k x k factor: "row pairs". Rows 2m and 2m + 1 are interleaved, element (r, p) at
// element offset (r >> 1) * 2k + 2p + (r & 1), so (L[2m, p], L[2m+1, p]) is one f64x2 and the
// Banachiewicz inner products of both rows run as one vector sum, lane by lane in the order of
// kernels/chol.ts. With k odd the last pair's second lane is padding: computed, never read.
//
// Pointers are byte addresses; the caller (kernels/wasm.ts) owns all memory and has validated the
// CSR arrays (indices in range, rowPtr non-decreasing) - nothing here is bounds-checked.

// @ts-ignore: decorator
@inline
function at(k: i32, r: i32, p: i32): usize {
  return (<usize>((r >> 1) * 2 * k + 2 * p + (r & 1))) << 3;
}

/** Bytes of factor scratch solveRows needs for rows of at most `maxRow` entries. */
export function rowScratchBytes(maxRow: i32): usize {
  return <usize>(((maxRow + 1) >> 1) * 2 * max(maxRow, 1)) << 3;
}

/**
 * For each row r in [r0, r1) of the CSR matrix (rowPtr, colIdx, values): a = (K[idx, idx] + ridge I)^-1 y,
 * written to out + 8 rowPtr[r] onward; the ridge starts at lambda and, while the Cholesky
 * factorisation fails, becomes max(10 ridge, 1e-12), at most 40 times; a row that still fails gets
 * zeros. Returns the number of rows whose ridge is not lambda (those that failed included).
 */
export function solveRows(
  d: i32, pK: usize, lambda: f64,
  pRowPtr: usize, pColIdx: usize, pValues: usize,
  r0: i32, r1: i32, pOut: usize, sub: usize,
): i32 {
  let fallbacks = 0;
  for (let r = r0; r < r1; r++) {
    const p0 = load<i32>(pRowPtr + (<usize>r << 2));
    const k = load<i32>(pRowPtr + (<usize>(r + 1) << 2)) - p0;
    if (k == 0) continue;
    const idx = pColIdx + (<usize>p0 << 2);
    const out = pOut + (<usize>p0 << 3);
    let ridge = lambda;
    let ok = true;
    for (let attempt = 0; ; attempt++) {
      gatherLower(k, idx, d, pK, sub);
      for (let q = 0; q < k; q++) {
        const e = sub + at(k, q, q);
        store<f64>(e, load<f64>(e) + ridge);
      }
      if (potrf(k, sub) == 0) break;
      if (attempt >= 40) {
        ok = false;
        break;
      }
      ridge = max(ridge * 10, 1e-12);
    }
    if (!ok) {
      memory.fill(out, 0, <usize>k << 3);
      fallbacks++;
      continue;
    }
    memory.copy(out, pValues + (<usize>p0 << 3), <usize>k << 3);
    potrs(k, sub, out);
    if (ridge != lambda) fallbacks++;
  }
  return fallbacks;
}

// out(a, b) = K[idx[a], idx[b]] for b <= a, into the row-pair layout.
function gatherLower(k: i32, idx: usize, d: i32, pK: usize, sub: usize): void {
  for (let a = 0; a < k; a++) {
    const src = pK + (<usize>(load<i32>(idx + (<usize>a << 2)) * d) << 3);
    let dst = sub + at(k, a, 0);
    for (let b = 0; b <= a; b++) {
      store<f64>(dst, load<f64>(src + (<usize>load<i32>(idx + (<usize>b << 2)) << 3)));
      dst += 16;
    }
  }
  // k odd: the last pair's padding lane takes part in the vector sums; zeros keep stale scratch
  // (possibly subnormal or non-finite) from slowing them down.
  if (k & 1) {
    let pad = sub + at(k, k, 0);
    for (let p = 0; p < k; p++) {
      store<f64>(pad, 0);
      pad += 16;
    }
  }
}

// In-place lower Cholesky in the row-pair layout; 0 on success, else (failing row) + 1, like
// kernels/chol.ts dpotrf. Each element is s = sum_{p<j} L[i,p] L[j,p] (from 0, ascending p), then
// (A[i,j] - s) / L[j,j]; the diagonal sqrt(A[i,i] - sum_{p<i} L[i,p]^2) - the same as dpotrf.
// The sums are latency-bound chains, so as many independent ones as possible run together: two
// row pairs (four rows, like dpotrf's block) times two columns j, j + 1 = four vector chains.
function potrf(n: i32, A: usize): i32 {
  const ld2 = <usize>(2 * n) << 3; // bytes per row pair
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const P0 = A + <usize>(i >> 1) * ld2;
    const P1 = P0 + ld2;
    for (let j = 0; j < i; j += 2) {
      // rows j and j + 1 are one pair: L[j, p] at rj + 16 p, L[j + 1, p] 8 bytes after
      const rj = A + <usize>(j >> 1) * ld2;
      let s00 = f64x2.splat(0), s10 = f64x2.splat(0); // column j, pairs P0 and P1
      let s01 = f64x2.splat(0), s11 = f64x2.splat(0); // column j + 1
      for (let p = 0; p < j; p++) {
        const o = <usize>p << 4;
        const x0 = v128.load(P0 + o);
        const x1 = v128.load(P1 + o);
        const l0 = v128.load64_splat(rj + o);
        const l1 = v128.load64_splat(rj + o, 8);
        s00 = f64x2.add(s00, f64x2.mul(x0, l0));
        s10 = f64x2.add(s10, f64x2.mul(x1, l0));
        s01 = f64x2.add(s01, f64x2.mul(x0, l1));
        s11 = f64x2.add(s11, f64x2.mul(x1, l1));
      }
      const o = <usize>j << 4;
      const ljj = v128.load64_splat(rj + o);
      const c0 = f64x2.div(f64x2.sub(v128.load(P0 + o), s00), ljj);
      const c1 = f64x2.div(f64x2.sub(v128.load(P1 + o), s10), ljj);
      v128.store(P0 + o, c0);
      v128.store(P1 + o, c1);
      // column j + 1 has one more term, p = j, with the L[., j] just computed
      const l = v128.load64_splat(rj + o, 8);
      s01 = f64x2.add(s01, f64x2.mul(c0, l));
      s11 = f64x2.add(s11, f64x2.mul(c1, l));
      const o1 = o + 16;
      const lj1 = v128.load64_splat(rj + o1, 8);
      v128.store(P0 + o1, f64x2.div(f64x2.sub(v128.load(P0 + o1), s01), lj1));
      v128.store(P1 + o1, f64x2.div(f64x2.sub(v128.load(P1 + o1), s11), lj1));
    }
    const info0 = finishPair(n, i, A, P0);
    if (info0 != 0) return info0;
    // Pair P1 still needs columns i, i + 1 (from pair P0) before its own diagonal block.
    pairColumns(i, i + 2, A, ld2, P1);
    const info1 = finishPair(n, i + 2, A, P1);
    if (info1 != 0) return info1;
  }
  for (; i < n; i += 2) {
    const P = A + <usize>(i >> 1) * ld2;
    pairColumns(0, i, A, ld2, P);
    const info = finishPair(n, i, A, P);
    if (info != 0) return info;
  }
  return 0;
}

// Columns [from, to) (both even) of the row pair at P, two columns at a time as in potrf.
function pairColumns(from: i32, to: i32, A: usize, ld2: usize, P: usize): void {
  for (let j = from; j < to; j += 2) {
    const rj = A + <usize>(j >> 1) * ld2;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    for (let p = 0; p < j; p++) {
      const o = <usize>p << 4;
      const x = v128.load(P + o);
      s0 = f64x2.add(s0, f64x2.mul(x, v128.load64_splat(rj + o)));
      s1 = f64x2.add(s1, f64x2.mul(x, v128.load64_splat(rj + o, 8)));
    }
    const o = <usize>j << 4;
    const c = f64x2.div(f64x2.sub(v128.load(P + o), s0), v128.load64_splat(rj + o));
    v128.store(P + o, c);
    s1 = f64x2.add(s1, f64x2.mul(c, v128.load64_splat(rj + o, 8)));
    const o1 = o + 16;
    v128.store(P + o1, f64x2.div(f64x2.sub(v128.load(P + o1), s1), v128.load64_splat(rj + o1, 8)));
  }
}

// The diagonal block of the pair of rows i, i + 1 (all earlier columns done): lane 0 of the vector
// sum is row i's pivot sum, lane 1 the inner product for L[i+1, i]; then row i + 1's pivot.
function finishPair(n: i32, i: i32, A: usize, P: usize): i32 {
  let s = f64x2.splat(0);
  for (let p = 0; p < i; p++) {
    const o = <usize>p << 4;
    s = f64x2.add(s, f64x2.mul(v128.load(P + o), v128.load64_splat(P + o)));
  }
  const oi = <usize>i << 4;
  const d0 = load<f64>(P + oi) - f64x2.extract_lane(s, 0);
  // !(d > 0) so that a NaN pivot also fails
  if (!(d0 > 0)) return i + 1;
  const lii = sqrt<f64>(d0);
  store<f64>(P + oi, lii);
  if (i + 1 >= n) return 0;
  store<f64>(P + oi + 8, (load<f64>(P + oi + 8) - f64x2.extract_lane(s, 1)) / lii);
  let t: f64 = 0;
  for (let p = 0; p <= i; p++) {
    const x = load<f64>(P + (<usize>p << 4) + 8);
    t += x * x;
  }
  const o1 = <usize>(i + 1) << 4;
  const d1 = load<f64>(P + o1 + 8) - t;
  if (!(d1 > 0)) return i + 2;
  store<f64>(P + o1 + 8, sqrt<f64>(d1));
  return 0;
}

// L L^T x = b in place (b at pB, unit stride), L from potrf: kernels/chol.ts dpotrs's order.
function potrs(n: i32, L: usize, b: usize): void {
  // Forward: b[i] = (b[i] - sum_{p<i} L[i,p] b[p], subtracted in ascending p) / L[i,i]; rows
  // i, i + 1 of a pair as the two lanes of one chain (row i + 1's term p = i comes last).
  for (let i = 0; i < n; i += 2) {
    const P = L + at(n, i, 0);
    const two = i + 1 < n;
    let s = f64x2.replace_lane(f64x2.splat(load<f64>(b + (<usize>i << 3))), 1, two ? load<f64>(b + (<usize>(i + 1) << 3)) : 0);
    for (let p = 0; p < i; p++) {
      s = f64x2.sub(s, f64x2.mul(v128.load(P + (<usize>p << 4)), v128.load64_splat(b + (<usize>p << 3))));
    }
    const oi = P + (<usize>i << 4);
    const xi = f64x2.extract_lane(s, 0) / load<f64>(oi);
    store<f64>(b + (<usize>i << 3), xi);
    if (two) {
      const t = f64x2.extract_lane(s, 1) - load<f64>(oi, 8) * xi;
      store<f64>(b + (<usize>(i + 1) << 3), t / load<f64>(oi, 24));
    }
  }
  // Backward: for i descending, x_i = b[i] / L[i,i]; b[p] -= L[i,p] x_i for p < i.
  for (let i = n - 1; i >= 0; i--) {
    const ri = L + at(n, i, 0);
    const bi = b + (<usize>i << 3);
    const xi = load<f64>(bi) / load<f64>(ri + (<usize>i << 4));
    store<f64>(bi, xi);
    for (let p = 0; p < i; p++) {
      const e = b + (<usize>p << 3);
      store<f64>(e, load<f64>(e) - load<f64>(ri + (<usize>p << 4)) * xi);
    }
  }
}

/**
 * Rows [j0, j1) of Q (d x d; pQ is the address of row j0): row j = sum over t in
 * [colPtr[j], colPtr[j+1]) of a[posOf[t]] * (a_i scattered on row i = rowOf[t]'s columns), t
 * ascending - pipeline/sweep.ts accumulateQ's order. The rows are zeroed first.
 */
export function accumulateQ(
  d: i32, pRowPtr: usize, pColIdx: usize, pA: usize,
  pColPtr: usize, pRowOf: usize, pPosOf: usize,
  j0: i32, j1: i32, pQ: usize,
): void {
  if (j1 <= j0) return;
  memory.fill(pQ, 0, <usize>(j1 - j0) * <usize>d << 3);
  let qrow = pQ;
  const rowBytes = <usize>d << 3;
  for (let j = j0; j < j1; j++) {
    const t1 = load<i32>(pColPtr + (<usize>(j + 1) << 2));
    for (let t = load<i32>(pColPtr + (<usize>j << 2)); t < t1; t++) {
      const i = load<i32>(pRowOf + (<usize>t << 2));
      const aij = load<f64>(pA + (<usize>load<i32>(pPosOf + (<usize>t << 2)) << 3));
      const pe = load<i32>(pRowPtr + (<usize>(i + 1) << 2));
      for (let p = load<i32>(pRowPtr + (<usize>i << 2)); p < pe; p++) {
        const q = qrow + (<usize>load<i32>(pColIdx + (<usize>p << 2)) << 3);
        store<f64>(q, load<f64>(q) + aij * load<f64>(pA + (<usize>p << 3)));
      }
    }
    qrow += rowBytes;
  }
}
