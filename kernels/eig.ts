// Symmetric eigendecomposition (Householder tridiagonalisation + implicit shifted QR) and symmetric matrix powers.

import { dsyrk } from './blas.ts';

const EPS = 2.220446049250313e-16;
const SAFE_MIN = 2.2250738585072014e-308;
// Inputs whose largest entry lies outside [2^-485, 2^485] are rescaled by a power of two (exact)
// first, so that squares and products formed along the way can neither overflow nor underflow.
const SCALE_LO = 2 ** -485;
const SCALE_HI = 2 ** 485;

/**
 * Eigendecomposition A = V diag(w) V^T of the symmetric n x n matrix A (only its lower triangle
 * is read; A is not written). Eigenvalues go to w[offsetW .. offsetW + n) in ascending order and
 * the unit eigenvector of w[j] to column j of V (V[:, j]). work needs length >= n.
 * Returns 0 on success; > 0 (the number of off-diagonal entries still coupled) when the QR
 * iteration did not converge within 30 n sweeps, in which case w and V hold the unfinished
 * iterate. A non-finite entry in A returns n with w and V filled with NaN.
 */
export function dsyev(
  n: number,
  A: Float64Array, lda: number, offsetA: number,
  w: Float64Array, offsetW: number,
  V: Float64Array, ldv: number, offsetV: number,
  work: Float64Array,
): number {
  if (n <= 0) return 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ra = offsetA + i * lda, rv = offsetV + i * ldv;
    for (let j = 0; j <= i; j++) {
      const a = A[ra + j];
      V[rv + j] = a;
      const aa = Math.abs(a);
      // aa > amax is false for NaN, so NaN is caught by the finiteness test below.
      if (aa > amax || aa !== aa) amax = aa;
    }
  }
  if (!Number.isFinite(amax)) {
    w.fill(NaN, offsetW, offsetW + n);
    for (let i = 0; i < n; i++) V.fill(NaN, offsetV + i * ldv, offsetV + i * ldv + n);
    return n;
  }
  let scale = 1;
  if ((amax > 0 && amax < SCALE_LO) || amax > SCALE_HI) {
    // Capped at 2^1000 so that scaling up a subnormal maximum cannot itself overflow.
    scale = 2 ** Math.min(1000, Math.round(-Math.log2(amax)));
  }
  if (scale !== 1) {
    for (let i = 0; i < n; i++) {
      const rv = offsetV + i * ldv;
      for (let j = 0; j <= i; j++) V[rv + j] *= scale;
    }
  }

  tridiagonalize(n, V, ldv, offsetV, w, offsetW, work);
  accumulateReflectors(n, V, ldv, offsetV);
  const info = implicitQR(n, w, offsetW, work, V, ldv, offsetV);

  if (info === 0) {
    // Selection sort: O(n^2) comparisons but only n row swaps of the eigenvector matrix.
    for (let i = 0; i < n - 1; i++) {
      let best = i;
      for (let j = i + 1; j < n; j++) if (w[offsetW + j] < w[offsetW + best]) best = j;
      if (best !== i) {
        const t = w[offsetW + i];
        w[offsetW + i] = w[offsetW + best];
        w[offsetW + best] = t;
        const ri = offsetV + i * ldv, rb = offsetV + best * ldv;
        for (let c = 0; c < n; c++) {
          const z = V[ri + c];
          V[ri + c] = V[rb + c];
          V[rb + c] = z;
        }
      }
    }
  }
  if (scale !== 1) for (let i = 0; i < n; i++) w[offsetW + i] /= scale;
  // The iteration keeps eigenvectors as rows (every rotation then touches two contiguous rows);
  // the contract wants columns.
  for (let i = 1; i < n; i++) {
    const ri = offsetV + i * ldv;
    for (let j = 0; j < i; j++) {
      const t = offsetV + j * ldv + i;
      const z = V[ri + j];
      V[ri + j] = V[t];
      V[t] = z;
    }
  }
  return info;
}

/**
 * out = A^p for symmetric A, as V diag(f(w)) V^T with f(l) = l^p for l > 0 and f(l) = 0 for
 * l <= 0 (negative eigenvalues are clipped; with p = 0 a clipped eigenvalue stays 0). Only the
 * lower triangle of A is read; out comes out exactly symmetric and may be the same storage as A.
 * Scratch: V of length n*n (leading dimension n, offset 0), w of length n, work of length n.
 * Returns dsyev's info; on failure out is filled with NaN.
 */
export function dsympow(
  n: number,
  A: Float64Array, lda: number, offsetA: number,
  p: number,
  out: Float64Array, ldo: number, offsetOut: number,
  V: Float64Array, w: Float64Array, work: Float64Array,
): number {
  if (n <= 0) return 0;
  const info = dsyev(n, A, lda, offsetA, w, 0, V, n, 0, work);
  if (info !== 0) {
    for (let i = 0; i < n; i++) out.fill(NaN, offsetOut + i * ldo, offsetOut + i * ldo + n);
    return info;
  }
  // Eigenvalues are ascending, so the clipped ones form a prefix of columns that can be skipped.
  let z = 0;
  while (z < n && !(w[z] > 0)) z++;
  for (let j = z; j < n; j++) work[j] = Math.pow(w[j], 0.5 * p);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = z; j < n; j++) V[ri + j] *= work[j];
  }
  // With U = V diag(f^(1/2)), A^p = U U^T: a syrk, which halves the flops and mirrors the
  // triangle so the result is symmetric bit for bit.
  dsyrk(false, n, n - z, 1, V, n, z, 0, out, ldo, offsetOut);
  return 0;
}

// Reduces the symmetric matrix held in the lower triangle of W to tridiagonal form T = Q^T A Q,
// Q = H_0 H_1 ... H_{n-3}, H_k = I - v_k v_k^T with |v_k|^2 = 2 (so no separate scale factor is
// stored). Diagonal of T -> d, subdiagonal T[k+1][k] -> e[k]. v_k is kept in row k to the right
// of the diagonal, a part of W the lower-triangle arithmetic never uses. d[k+1 ..] doubles as the
// scratch vector of step k, since those diagonal entries are not final yet.
function tridiagonalize(
  n: number, W: Float64Array, ldw: number, ow: number,
  d: Float64Array, od: number, e: Float64Array,
): void {
  for (let k = 0; k < n - 2; k++) {
    const rk = ow + k * ldw;
    d[od + k] = W[rk + k];
    // x = column k below the diagonal; copy it to row k (where v_k will live).
    let tail = 0;
    for (let i = k + 1; i < n; i++) {
      const x = W[ow + i * ldw + k];
      W[rk + i] = x;
      if (i > k + 1) tail = Math.max(tail, Math.abs(x));
    }
    const alpha = W[rk + k + 1];
    if (tail === 0) {
      // Already tridiagonal in this column: H_k = I.
      e[k] = alpha;
      for (let i = k + 1; i < n; i++) W[rk + i] = 0;
      continue;
    }
    const s = Math.max(tail, Math.abs(alpha));
    let ss = 0;
    for (let i = k + 1; i < n; i++) {
      const t = W[rk + i] / s;
      ss += t * t;
    }
    const sigma = s * Math.sqrt(ss);
    // beta takes the sign opposite to alpha so that v_0 = alpha - beta adds magnitudes.
    const beta = alpha >= 0 ? -sigma : sigma;
    e[k] = beta;
    W[rk + k + 1] = alpha - beta;
    // |x - beta e_1|^2 = 2 sigma (sigma + |alpha|); rescale v to |v|^2 = 2.
    const f = 1 / (Math.sqrt(sigma) * Math.sqrt(sigma + Math.abs(alpha)));
    for (let i = k + 1; i < n; i++) W[rk + i] *= f;

    // p = A22 v from the lower triangle only: each stored entry (i, j), j < i, feeds both p_i
    // (row dot) and p_j (its mirror), so each row is read once, contiguously.
    for (let i = k + 1; i < n; i++) d[od + i] = 0;
    for (let i = k + 1; i < n; i++) {
      const ri = ow + i * ldw;
      const vi = W[rk + i];
      let acc = 0;
      for (let j = k + 1; j < i; j++) {
        const a = W[ri + j];
        acc += a * W[rk + j];
        d[od + j] += a * vi;
      }
      d[od + i] += acc + W[ri + i] * vi;
    }
    // H A22 H = A22 - v q^T - q v^T with q = p - (v^T p / 2) v.
    let vp = 0;
    for (let i = k + 1; i < n; i++) vp += W[rk + i] * d[od + i];
    const half = 0.5 * vp;
    for (let i = k + 1; i < n; i++) d[od + i] -= half * W[rk + i];
    for (let i = k + 1; i < n; i++) {
      const ri = ow + i * ldw;
      const vi = W[rk + i], qi = d[od + i];
      for (let j = k + 1; j <= i; j++) W[ri + j] -= vi * d[od + j] + qi * W[rk + j];
    }
  }
  if (n >= 2) {
    d[od + n - 2] = W[ow + (n - 2) * ldw + n - 2];
    e[n - 2] = W[ow + (n - 1) * ldw + n - 2];
  }
  d[od + n - 1] = W[ow + (n - 1) * ldw + n - 1];
  e[n - 1] = 0;
}

// Overwrites W with Z = Q^T = H_{n-3} ... H_0 (so the rows of Z are the columns of Q), reading
// v_k from row k. Built backwards, Z_k = Z_{k+1} H_k: the partial product is the identity outside
// rows/columns > k, so row k (holding v_k) is still intact when H_k is applied, and applying H_k
// from the right is a dot plus an axpy along each contiguous row.
function accumulateReflectors(n: number, W: Float64Array, ldw: number, ow: number): void {
  setUnitRow(n - 1, n, W, ldw, ow);
  for (let k = n - 3; k >= 0; k--) {
    setUnitRow(k + 1, n, W, ldw, ow);
    const rk = ow + k * ldw;
    if (W[rk + k + 1] === 0) continue; // v_k = 0 (skipped reflector): H_k = I
    for (let i = k + 1; i < n; i++) {
      const ri = ow + i * ldw;
      let s = 0;
      for (let j = k + 1; j < n; j++) s += W[ri + j] * W[rk + j];
      if (s === 0) continue;
      for (let j = k + 1; j < n; j++) W[ri + j] -= s * W[rk + j];
    }
  }
  setUnitRow(0, n, W, ldw, ow);
}

function setUnitRow(i: number, n: number, W: Float64Array, ldw: number, ow: number): void {
  const ri = ow + i * ldw;
  W.fill(0, ri, ri + n);
  W[ri + i] = 1;
}

function negligible(ek: number, dk: number, dk1: number): boolean {
  const a = Math.abs(ek);
  return a <= EPS * (Math.abs(dk) + Math.abs(dk1)) || a < SAFE_MIN;
}

function hypot2(x: number, y: number): number {
  const ax = Math.abs(x), ay = Math.abs(y);
  const big = ax > ay ? ax : ay;
  if (big === 0) return 0;
  const small = ax > ay ? ay : ax;
  const t = small / big;
  return big * Math.sqrt(1 + t * t);
}

// Diagonalises the tridiagonal (d, e) by implicit QR sweeps with Wilkinson shifts, deflating
// from the bottom. Each sweep chases a bulge down the unreduced block [lo, hi] with plane
// rotations G_k on (k, k+1), T <- G_k^T T G_k; the eigenvector rows of Z get the same G_k^T.
function implicitQR(
  n: number, d: Float64Array, od: number, e: Float64Array,
  Z: Float64Array, ldz: number, oz: number,
): number {
  const maxSweeps = 30 * n;
  let sweeps = 0;
  let hi = n - 1;
  while (hi > 0) {
    if (negligible(e[hi - 1], d[od + hi - 1], d[od + hi])) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible(e[lo - 1], d[od + lo - 1], d[od + lo])) lo--;
    if (lo > 0) e[lo - 1] = 0;
    if (sweeps >= maxSweeps) {
      let coupled = 0;
      for (let i = 0; i < hi; i++) if (e[i] !== 0) coupled++;
      return coupled;
    }
    sweeps++;

    // Wilkinson shift: the eigenvalue of the trailing 2x2 block nearer to its last diagonal entry.
    const b = e[hi - 1];
    const delta = 0.5 * (d[od + hi - 1] - d[od + hi]);
    const r0 = hypot2(delta, b);
    const mu = d[od + hi] - b * (b / (delta + (delta >= 0 ? r0 : -r0)));

    // The first rotation is fixed by the first column of T - mu I; each later one removes the
    // bulge (k - 1, k + 1) that the previous rotation created.
    let x = d[od + lo] - mu;
    let y = e[lo];
    for (let k = lo; k < hi; k++) {
      const r = hypot2(x, y);
      let c = 1, s = 0;
      if (r !== 0) {
        c = x / r;
        s = y / r;
      }
      if (k > lo) e[k - 1] = r;
      const dk = d[od + k], dk1 = d[od + k + 1], ek = e[k];
      const cc = c * c, ss = s * s, cs2 = 2 * c * s * ek;
      d[od + k] = cc * dk + cs2 + ss * dk1;
      d[od + k + 1] = ss * dk - cs2 + cc * dk1;
      e[k] = (dk1 - dk) * c * s + ek * (cc - ss);
      if (k + 1 < hi) {
        x = e[k];
        y = s * e[k + 1];
        e[k + 1] *= c;
      }
      const rk = oz + k * ldz, rk1 = rk + ldz;
      for (let j = 0; j < n; j++) {
        const zk = Z[rk + j], zk1 = Z[rk1 + j];
        Z[rk + j] = c * zk + s * zk1;
        Z[rk1 + j] = c * zk1 - s * zk;
      }
    }
  }
  return 0;
}
