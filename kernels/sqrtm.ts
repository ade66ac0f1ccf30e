// Matrix square root of a symmetric positive semidefinite matrix by a scaled coupled Newton-Schulz iteration (products only).

import { dgemm, dsyrk, kernelAlloc, kernelFree, kernelRefresh } from './index.ts';
import { dsymmetrize } from './sym.ts';

const EPS = 2.220446049250313e-16;
// The step scale is capped at sqrt(3) / G_SAFE so that a root up to G_SAFE (a rounding error in the
// upper bound) can never be pushed past sqrt(3), where the cubic turns negative and would send that
// eigenvalue's root to minus itself. It costs a fraction of a step over a whole run.
const G_SAFE = 1.001;

export interface SqrtmOptions {
  /** Computes (A + shift I)^(1/2); default 0. */
  shift?: number;
  /**
   * A lower bound of the smallest eigenvalue of A + shift I. Eigenvalues below it converge only
   * partly (their roots come out too small, never above sqrt(lower)) and may fail the final check,
   * so a singular A needs a shift (with unshift). Default: the larger of shift / 2 and the
   * rounding floor n eps c (c the upper bound below).
   */
  lower?: number;
  /**
   * Stop once every eigenvalue's root is known, from the bounds alone, to be within this relative
   * distance of the exact one (default 1e-13); the last step roughly squares it.
   */
  tol?: number;
  maxIter?: number;
  /**
   * Return B^(1/2) - (shift / 2) B^(-1/2) instead, B = A + shift I: the first-order correction
   * back to A^(1/2). Per eigenvalue x of A the result is (2 x + shift) / (2 sqrt(x + shift)), within
   * shift^2 / (8 x^(3/2)) of sqrt(x) for x >> shift and at most sqrt(shift) / 2 above it for x << shift
   * (where the uncorrected root is off by up to sqrt(shift)). Costs one more product.
   */
  unshift?: boolean;
}

// Rows of C a product call computes at a time in dsymprod (measured best at n = 500 and 1000).
const PANEL = 64;
// Y T and T Z are symmetric in exact arithmetic, and computing only their lower triangles (dsymprod)
// saves ~0.4 of each; Z Y stays a full product. That only while the interval's lower end l is below
// HALF_BELOW: symmetrising all three products lets Z and Y drift from commuting (diverged at n = 128),
// symmetrising two in every step left max errors ~ 4e-17 / shift (4e-6 at shift 1e-11, n = 200 and
// 500, rank 5); with full products from l = 0.25 on they were <= 5e-7 at shift 1e-11 (full products
// throughout: 2e-8), far below the sqrt(shift) / 2 = 1.6e-6 the shifted root resolves anyway.
const HALF_BELOW = 0.25;

/**
 * C = alpha A B for n x n A and B whose product is symmetric (here: polynomials in one symmetric
 * matrix, which commute), computing the lower triangle by panels of rows - block row I needs only
 * columns up to its last row - and mirroring it: about (1/2 + PANEL / (2 n)) of a full product's
 * work (0.6 of its time at n = 500 and 1000 with the WASM kernels, when A, B and C live in wasm
 * memory and so are not copied per call). C comes out exactly symmetric and must not alias A or B.
 */
export function dsymprod(n: number, alpha: number, A: Float64Array, B: Float64Array, C: Float64Array): Float64Array {
  // below two panels, one full product (then mirrored all the same)
  const panel = n < 2 * PANEL ? n : PANEL;
  for (let r0 = 0; r0 < n; r0 += panel) {
    const r1 = Math.min(n, r0 + panel);
    dgemm(false, false, r1 - r0, r1, n, alpha, A, n, r0 * n, B, n, 0, 0, C, n, r0 * n);
  }
  for (let i = 1; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < i; j++) C[j * n + i] = C[row + j]!;
  }
  return C;
}

/**
 * The step scale g for scaled roots in [l, 1]: g^2 = 3 / (1 + l + l^2) makes the cubic map both
 * ends to the same value, so the interval becomes [p(g l), 1].
 */
function stepScale(l: number): number {
  return Math.sqrt(Math.min(3 / (1 + l + l * l), 3 / (G_SAFE * G_SAFE)));
}

// A work area for the iteration in wasm memory under the WASM kernels (its products then copy
// nothing). One per thread, grown as needed and kept: callers that run many roots (the engine, a
// root a sweep) then neither allocate per call nor leak wasm memory run after run.
let sharedWork: Float64Array = new Float64Array(0);

/** A current view of this thread's shared work area, at least len long (for dsqrtmNewtonSchulz's work). */
export function newtonSchulzWork(len: number): Float64Array {
  if (kernelRefresh(sharedWork).length < len) {
    kernelFree(sharedWork);
    sharedWork = kernelAlloc(len);
  }
  return (sharedWork = kernelRefresh(sharedWork));
}

/** Returns the shared work area's memory (4 d^2 values: 288 MB at d = 3000) until the next newtonSchulzWork. */
export function releaseNewtonSchulzWork(): void {
  kernelFree(sharedWork);
  sharedWork = new Float64Array(0);
}

/**
 * Steps the scaled iteration needs (the first included) when the scaled eigenvalues x lie in
 * [ratio, 1], so the roots sqrt(x) in [sqrt(ratio), 1], to bring every root within tol: the same
 * scalar recursion the iteration follows. Each step costs 3 products of size n (the first 1), so
 * 3 k - 2 in all.
 */
export function newtonSchulzSteps(ratio: number, tol = 1e-13, maxIter = 100): number {
  let l = Math.sqrt(Math.max(0, Math.min(1, ratio)));
  let k = 0;
  while (1 - l > tol && k < maxIter) {
    const g = stepScale(l);
    l = (g * l * (3 - g * g * l * l)) / 2;
    k++;
  }
  return k;
}

/**
 * out = (A + shift I)^(1/2) for symmetric A (n x n, row-major, ld n) with A + shift I positive
 * semidefinite, by matrix products only: no eigendecomposition, so lin-RFM with alpha = 1/4 stays
 * SVD-free. With B = A + shift I and an upper bound c of its largest eigenvalue
 * (c = ||B^2||_F^(1/2), from the product the first step needs anyway), Y_0 = B / c, Z_0 = I and
 *   T = (3 I - g^2 Z Y) / 2,  Y <- g Y T,  Z <- g T Z,
 * with Y -> (B / c)^(1/2) and Z -> (B / c)^(-1/2). Per eigenvalue this is the Newton-Schulz sign
 * iteration s <- p(g s), p(s) = s (3 - s^2) / 2, on s = sqrt(x): the scale g, chosen from the
 * interval [l, 1] that holds every s, maps both ends to the same value, so the small roots grow by
 * up to 1.5 sqrt(3) ~ 2.6 a step instead of the unscaled 1.5, and the interval's lower end, followed
 * in scalar arithmetic, says when to stop (no residual products). Returns the steps taken (3 k - 2
 * products for k steps); -1 when maxIter came first, the result is not finite, or trace(Z Y) shows an
 * eigenvalue of B below `lower` (B indefinite, say): then out is not the root. work holds 4 n^2 values;
 * with the WASM kernels, a current view of a kernelAlloc array spares a copy per product.
 */
export function dsqrtmNewtonSchulz(
  n: number,
  A: Float64Array,
  out: Float64Array,
  work: Float64Array,
  opts: SqrtmOptions = {},
): number {
  if (n === 0) return 0;
  const shift = opts.shift ?? 0;
  const tol = opts.tol ?? 1e-13;
  const maxIter = opts.maxIter ?? 100;
  const unshift = (opts.unshift ?? false) && shift > 0;
  const nn = n * n;
  let Y = work.subarray(0, nn);
  let Z = work.subarray(nn, 2 * nn);
  const T = work.subarray(2 * nn, 3 * nn);
  let S = work.subarray(3 * nn, 4 * nn);
  Y.set(A.subarray(0, nn));
  for (let i = 0; i < n; i++) Y[i * n + i] += shift;
  // S = B^2 = B^T B; its Frobenius norm bounds lambda_max(B)^2 from above and is at most ||B||_F^2.
  dsyrk(true, n, n, 1, Y, n, 0, 0, S, n, 0);
  let f2 = 0;
  for (let q = 0; q < nn; q++) f2 += S[q]! * S[q]!;
  const c = Math.sqrt(Math.sqrt(f2));
  if (!(c > 0)) {
    out.fill(c === 0 ? 0 : Number.NaN, 0, nn);
    return c === 0 ? 0 : -1;
  }
  const lower = opts.lower ?? Math.max(0.5 * shift, n * EPS * c);
  let l = Math.sqrt(Math.max(0, Math.min(1, lower / c)));

  // Step 1 with Z_0 = I: T_0 = (3 I - g^2 B / c) / 2, Y_1 = g (B / c) T_0 = g (3 B / c - g^2 B^2 / c^2) / 2,
  // Z_1 = g T_0: one product (B^2, above) instead of three.
  let g = stepScale(l);
  const y1 = (1.5 * g) / c;
  const y2 = (0.5 * g * g * g) / (c * c);
  for (let q = 0; q < nn; q++) {
    const b = Y[q]!;
    Y[q] = y1 * b - y2 * S[q]!;
    Z[q] = -(0.5 * g * g * g / c) * b;
  }
  for (let i = 0; i < n; i++) Z[i * n + i] += 1.5 * g;
  l = (g * l * (3 - g * g * l * l)) / 2;
  let iter = 1;
  for (; 1 - l > tol && iter < maxIter; iter++) {
    g = stepScale(l);
    const next = (g * l * (3 - g * g * l * l)) / 2;
    // T = (3 I - g^2 Z Y) / 2
    dgemm(false, false, n, n, n, -0.5 * g * g, Z, n, 0, Y, n, 0, 0, T, n, 0);
    for (let i = 0; i < n; i++) T[i * n + i] += 1.5;
    if (l < HALF_BELOW) {
      dsymprod(n, g, Y, T, S);
      [Y, S] = [S, Y];
      dsymprod(n, g, T, Z, S);
    } else {
      dgemm(false, false, n, n, n, g, Y, n, 0, T, n, 0, 0, S, n, 0);
      [Y, S] = [S, Y];
      dgemm(false, false, n, n, n, g, T, n, 0, Z, n, 0, 0, S, n, 0);
    }
    [Z, S] = [S, Z];
    l = next;
  }
  // Check: per eigenvalue, z y = s^2, within 2 tol of 1 for every s the bounds cover; an eigenvalue
  // of B below zero has s^2 <= 0 (and grows without bound in size), one below `lower` has s^2 < 1.
  // So trace(Z Y) = <Z, Y> (Y symmetric) falls short of n by 1 or more for each negative one.
  let tr = 0;
  for (let q = 0; q < nn; q++) tr += Z[q]! * Y[q]!;
  const s = Math.sqrt(c);
  // B^(-1/2) = Z / sqrt(c)
  const zs = unshift ? (0.5 * shift) / s : 0;
  let finite = true;
  for (let q = 0; q < nn; q++) {
    const v = Y[q]! * s - zs * Z[q]!;
    out[q] = v;
    if (!Number.isFinite(v)) finite = false;
  }
  dsymmetrize(n, out, n, 0);
  return finite && 1 - l <= tol && tr > n - 0.5 ? iter : -1;
}
