// Cholesky factorisation A = L L^T of a symmetric positive definite row-major matrix, and the matching solve.

/**
 * In-place lower Cholesky: on success the lower triangle of A (diagonal included) holds L.
 * Only the lower triangle is read or written; the strict upper triangle is left untouched.
 * Returns 0 on success, or j + 1 when the pivot of (0-based) column j is not positive or is NaN,
 * i.e. the leading minor of order j + 1 is not positive definite (LAPACK `info`); A is then only
 * partly factored.
 */
export function dpotrf(n: number, A: Float64Array, lda: number, offsetA: number): number {
  // Row-oriented (Banachiewicz) order: every inner product runs along two contiguous row
  // prefixes, which suits row-major storage. Row i needs only rows <= i, so the first failing
  // pivot is the same one a column-oriented LAPACK factorisation would report.
  let i0 = 0;
  for (; i0 + 4 <= n; i0 += 4) {
    const r0 = offsetA + i0 * lda, r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda;
    // Four rows share each pass over an earlier row j, so the finished part of L is streamed
    // from memory once per four rows instead of once per row.
    for (let j = 0; j < i0; j++) {
      const rj = offsetA + j * lda;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < j; p++) {
        const l = A[rj + p];
        s0 += A[r0 + p] * l;
        s1 += A[r1 + p] * l;
        s2 += A[r2 + p] * l;
        s3 += A[r3 + p] * l;
      }
      const ljj = A[rj + j];
      A[r0 + j] = (A[r0 + j] - s0) / ljj;
      A[r1 + j] = (A[r1 + j] - s1) / ljj;
      A[r2 + j] = (A[r2 + j] - s2) / ljj;
      A[r3 + j] = (A[r3 + j] - s3) / ljj;
    }
    for (let i = i0; i < i0 + 4; i++) {
      const info = finishRow(i, i0, A, lda, offsetA);
      if (info !== 0) return info;
    }
  }
  for (let i = i0; i < n; i++) {
    const info = finishRow(i, 0, A, lda, offsetA);
    if (info !== 0) return info;
  }
  return 0;
}

// Completes row i of L from column `from` on (earlier columns already hold L) and its pivot.
function finishRow(i: number, from: number, A: Float64Array, lda: number, oa: number): number {
  const ri = oa + i * lda;
  for (let j = from; j < i; j++) {
    const rj = oa + j * lda;
    let s = 0;
    for (let p = 0; p < j; p++) s += A[ri + p] * A[rj + p];
    A[ri + j] = (A[ri + j] - s) / A[rj + j];
  }
  let s = 0;
  for (let p = 0; p < i; p++) s += A[ri + p] * A[ri + p];
  const d = A[ri + i] - s;
  // Written as !(d > 0) so that a NaN pivot also fails.
  if (!(d > 0)) return i + 1;
  A[ri + i] = Math.sqrt(d);
  return 0;
}

/**
 * Solves L L^T x = b in place (x overwrites b) with L the lower triangle left by dpotrf.
 * Returns b.
 */
export function dpotrs(
  n: number,
  L: Float64Array, ldl: number, offsetL: number,
  b: Float64Array, strideB: number, offsetB: number,
): Float64Array {
  // Forward: L y = b, one contiguous row of L per unknown.
  for (let i = 0; i < n; i++) {
    const ri = offsetL + i * ldl;
    let s = b[offsetB + i * strideB];
    let ib = offsetB;
    for (let p = 0; p < i; p++) {
      s -= L[ri + p] * b[ib];
      ib += strideB;
    }
    b[offsetB + i * strideB] = s / L[ri + i];
  }
  // Backward: L^T x = y. Column i of L^T is row i of L, so each solved unknown is pushed into
  // the earlier right-hand sides along a contiguous row rather than gathered down a column.
  for (let i = n - 1; i >= 0; i--) {
    const ri = offsetL + i * ldl;
    const bi = offsetB + i * strideB;
    const xi = b[bi] / L[ri + i];
    b[bi] = xi;
    let ib = offsetB;
    for (let p = 0; p < i; p++) {
      b[ib] -= L[ri + p] * xi;
      ib += strideB;
    }
  }
  return b;
}
