// Index-driven kernels on dense symmetric matrices: gather a principal submatrix, scatter an outer product, symmetrize.

/** out[a][b] = K[idx[a]][idx[b]] for a, b < k (the principal submatrix picked by idx); returns out. */
export function dgathersym(
  k: number,
  idx: Int32Array, offsetIdx: number,
  K: Float64Array, ldk: number, offsetK: number,
  out: Float64Array, ldo: number, offsetOut: number,
): Float64Array {
  for (let a = 0; a < k; a++) {
    const src = offsetK + idx[offsetIdx + a] * ldk;
    const dst = offsetOut + a * ldo;
    for (let b = 0; b < k; b++) out[dst + b] = K[src + idx[offsetIdx + b]];
  }
  return out;
}

/**
 * The lower triangle (b <= a) of the principal submatrix, out[a][b] = K[idx[a]][idx[b]]; the strict
 * upper triangle of out is not written. Half the reads of dgathersym, which is what a Cholesky
 * factorisation (reading the lower triangle only) needs; returns out.
 */
export function dgathersymlower(
  k: number,
  idx: Int32Array, offsetIdx: number,
  K: Float64Array, ldk: number, offsetK: number,
  out: Float64Array, ldo: number, offsetOut: number,
): Float64Array {
  for (let a = 0; a < k; a++) {
    const src = offsetK + idx[offsetIdx + a] * ldk;
    const dst = offsetOut + a * ldo;
    for (let b = 0; b <= a; b++) out[dst + b] = K[src + idx[offsetIdx + b]];
  }
  return out;
}

/** Q[idx[p]][idx[q]] += alpha * a[p] * a[q] for all p, q < k; returns Q. Repeated indices accumulate. */
export function dscatterouter(
  k: number,
  idx: Int32Array, offsetIdx: number,
  alpha: number,
  a: Float64Array, strideA: number, offsetA: number,
  Q: Float64Array, ldq: number, offsetQ: number,
): Float64Array {
  if (alpha === 0) return Q;
  for (let p = 0; p < k; p++) {
    const ap = a[offsetA + p * strideA];
    const row = offsetQ + idx[offsetIdx + p] * ldq;
    for (let q = 0; q < k; q++) {
      // alpha * (ap * aq) rather than (alpha * ap) * aq: the product ap * aq is bitwise the same
      // for (p, q) and (q, p), so a symmetric Q stays exactly symmetric.
      const t = row + idx[offsetIdx + q];
      Q[t] = Q[t] + alpha * (ap * a[offsetA + q * strideA]);
    }
  }
  return Q;
}

/** C <- (C + C^T) / 2 in place on the n x n block; the diagonal is unchanged. Returns C. */
export function dsymmetrize(n: number, C: Float64Array, ldc: number, offsetC: number): Float64Array {
  for (let i = 1; i < n; i++) {
    const row = offsetC + i * ldc;
    for (let j = 0; j < i; j++) {
      const t = offsetC + j * ldc + i;
      const v = 0.5 * (C[row + j] + C[t]);
      C[row + j] = v;
      C[t] = v;
    }
  }
  return C;
}
