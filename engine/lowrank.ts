// The low-rank kernel K = U diag(w) U^T + tauK I (U: d x k orthonormal) and one sweep's phases in
// that form, so that no d x d matrix is ever formed (docs/DESIGN.md, "The low-rank kernel"):
// the row solves by Woodbury, the AGOP as an operator, and the next kernel's top-k eigenpairs by
// block subspace iteration with a Rayleigh-Ritz step.

import { dpotrf, dpotrs } from '../kernels/chol.ts';
import { dgemm, dsyrk } from '../kernels/index.ts';
import { dsyev } from '../kernels/eig.ts';
import type { Rng } from '../kernels/random.ts';
import type { Csr } from './csr.ts';

/** K = U diag(w) U^T + tauK I, U d x k row-major with orthonormal columns. */
export interface LowRankKernel {
  d: number;
  k: number;
  U: Float64Array;
  w: Float64Array;
  tauK: number;
}

/** K_0 = I: no directions, tauK = 1. */
export function identityKernel(d: number, k: number): LowRankKernel {
  return { d, k, U: new Float64Array(d * k), w: new Float64Array(k), tauK: 1 };
}

/** The rows' fits with a low-rank kernel: a_i next to the values, b_i = U_O^T a_i and bs_i = w * b_i (n x k each). */
export interface LowRankFit {
  a: Float64Array;
  b: Float64Array;
  bs: Float64Array;
  /** c = tauK + lambda: Yhat = BS U^T + c A. */
  c: number;
}

/**
 * Rows at least this long form W^T W with the SIMD dsyrk (shorter ones cost less than the call).
 * Measured at 20,000 x 2,000, 50 entries a row, k = 20: the row solves take 0.3-0.5 s a sweep with
 * the kernel from 8 entries, 0.8-1.1 s with the TypeScript loop.
 */
const SYRK_ROWS = 8;

/** Scratch of one row solve, for rows of up to `maxRow` entries and rank k. */
export interface WoodburyScratch {
  W: Float64Array;
  M: Float64Array;
  t: Float64Array;
}

export function woodburyScratch(maxRow: number, k: number): WoodburyScratch {
  return { W: new Float64Array(Math.max(1, maxRow * k)), M: new Float64Array(Math.max(1, k * k)), t: new Float64Array(Math.max(1, k)) };
}

/**
 * Row solves of rows [r0, r1): a = (K_OO + lambda I)^-1 y by Woodbury, with c = tauK + lambda and
 * W = U_O diag(sqrt(w)): a = (y - W (c I + W^T W)^-1 W^T y) / c (|O| k^2 + k^3 / 3 flops); then
 * b = U_O^T a and bs = w * b. Returns the rows whose k x k system would not factor (a set to 0).
 */
export function solveRowsLowRank(
  K: LowRankKernel, lambda: number, m: Csr, fit: LowRankFit, r0: number, r1: number, s: WoodburyScratch,
): number {
  const { k, U, w } = K;
  const c = K.tauK + lambda;
  const { W, M, t } = s;
  const sw = Float64Array.from(w, Math.sqrt);
  let failed = 0;
  for (let i = r0; i < r1; i++) {
    const p0 = m.rowPtr[i]!;
    const len = m.rowPtr[i + 1]! - p0;
    if (len === 0) continue;
    // W = U_O diag(sqrt w)
    for (let q = 0; q < len; q++) {
      const uj = m.colIdx[p0 + q]! * k;
      for (let r = 0; r < k; r++) W[q * k + r] = U[uj + r]! * sw[r]!;
    }
    // M = c I + W^T W (lower triangle), t = W^T y; a long row's W^T W through the SIMD kernel
    t.fill(0, 0, k);
    for (let q = 0; q < len; q++) {
      const y = m.values[p0 + q]!;
      for (let r = 0; r < k; r++) t[r] += W[q * k + r]! * y;
    }
    if (len >= SYRK_ROWS) dsyrk(true, k, len, 1, W, k, 0, 0, M, k, 0);
    else {
      M.fill(0, 0, k * k);
      for (let q = 0; q < len; q++) {
        for (let r = 0; r < k; r++) {
          const wr = W[q * k + r]!;
          for (let u = 0; u <= r; u++) M[r * k + u] += wr * W[q * k + u]!;
        }
      }
    }
    for (let r = 0; r < k; r++) M[r * k + r] += c;
    if (k > 0 && dpotrf(k, M, k, 0) !== 0) {
      fit.a.fill(0, p0, p0 + len);
      fit.b.fill(0, i * k, i * k + k);
      fit.bs.fill(0, i * k, i * k + k);
      failed++;
      continue;
    }
    if (k > 0) dpotrs(k, M, k, 0, t, 1, 0);
    for (let q = 0; q < len; q++) {
      let wz = 0;
      for (let r = 0; r < k; r++) wz += W[q * k + r]! * t[r]!;
      fit.a[p0 + q] = (m.values[p0 + q]! - wz) / c;
    }
    // b = U_O^T a, a row of U at a time
    const bi = i * k;
    fit.b.fill(0, bi, bi + k);
    for (let q = 0; q < len; q++) {
      const aq = fit.a[p0 + q]!;
      const uj = m.colIdx[p0 + q]! * k;
      for (let r = 0; r < k; r++) fit.b[bi + r] += U[uj + r]! * aq;
    }
    for (let r = 0; r < k; r++) fit.bs[bi + r] = w[r]! * fit.b[bi + r]!;
  }
  fit.c = c;
  return failed;
}

/** The completed entry (i, j) for an unobserved j: bs_i . U_j. */
export function predictUnobserved(K: LowRankKernel, fit: LowRankFit, i: number, j: number): number {
  const { k, U } = K;
  let v = 0;
  for (let r = 0; r < k; r++) v += fit.bs[i * k + r]! * U[j * k + r]!;
  return v;
}

/**
 * Y = G X for the AGOP G = Yhat^T Yhat / n of a fit, X d x p row-major, never forming G: with
 * Yhat = BS U^T + c A, Z = Yhat X = BS (U^T X) + c A X (n x p) and G X = (U (BS^T Z) + c A^T Z) / n.
 * `Z` holds n x p, `T` k x p scratch; returns Y.
 */
export function agopTimes(
  K: LowRankKernel, fit: LowRankFit, m: Csr, X: Float64Array, p: number, Y: Float64Array, Z: Float64Array, T: Float64Array,
): Float64Array {
  const { d, k, U } = K;
  const n = m.nRows;
  const { bs, a, c } = fit;
  // T = U^T X (k x p); Z = BS T + c A X (the dense products through the SIMD kernels)
  dgemm(true, false, k, p, d, 1, U, k, 0, X, p, 0, 0, T, p, 0);
  dgemm(false, false, n, p, k, 1, bs, k, 0, T, p, 0, 0, Z, p, 0);
  sparseTimes(n, m.rowPtr, m.colIdx, a, c, X, p, Z, false);
  // T = BS^T Z (k x p); Y = (U T + c A^T Z) / n
  dgemm(true, false, k, p, n, 1, bs, k, 0, Z, p, 0, 0, T, p, 0);
  dgemm(false, false, d, p, k, 1, U, k, 0, T, p, 0, 0, Y, p, 0);
  sparseTimes(n, m.rowPtr, m.colIdx, a, c, Z, p, Y, true);
  for (let q = 0; q < d * p; q++) Y[q] /= n;
  return Y;
}

/**
 * With S the sparse n x d matrix holding c a on the CSR pattern: OUT += S IN (IN d x p, OUT n x p),
 * or with `transpose` OUT += S^T IN (IN n x p, OUT d x p). The arrays come as arguments so the hot
 * loop runs on locals.
 */
function sparseTimes(
  n: number, rowPtr: Int32Array, colIdx: Int32Array, a: Float64Array, c: number,
  IN: Float64Array, p: number, OUT: Float64Array, transpose: boolean,
): void {
  for (let i = 0; i < n; i++) {
    const ip = i * p;
    const q1 = rowPtr[i + 1]!;
    for (let q = rowPtr[i]!; q < q1; q++) {
      const v = c * a[q]!;
      const jp = colIdx[q]! * p;
      if (transpose) for (let e = 0; e < p; e++) OUT[jp + e] += v * IN[ip + e]!;
      else for (let e = 0; e < p; e++) OUT[ip + e] += v * IN[jp + e]!;
    }
  }
}

/** Orthonormalises the p columns of the d x p row-major V in place (Gram-Schmidt, twice); returns false when a column vanishes. */
export function orthonormalize(d: number, p: number, V: Float64Array): boolean {
  for (let e = 0; e < p; e++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let f = 0; f < e; f++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += V[j * p + f]! * V[j * p + e]!;
        for (let j = 0; j < d; j++) V[j * p + e] -= dot * V[j * p + f]!;
      }
    }
    let nrm = 0;
    for (let j = 0; j < d; j++) nrm += V[j * p + e]! ** 2;
    nrm = Math.sqrt(nrm);
    if (!(nrm > 0)) return false;
    for (let j = 0; j < d; j++) V[j * p + e] /= nrm;
  }
  return true;
}

/** What the subspace iteration finds: the top k Ritz pairs, and the (k+1)-th Ritz value as the tail level. */
export interface TopEigen {
  /** d x k row-major, orthonormal. */
  U: Float64Array;
  /** The k largest Ritz values, descending. */
  s: Float64Array;
  /** The (k+1)-th Ritz value (0 when the block has no more columns). */
  tau: number;
}

/**
 * The top k eigenpairs of the symmetric positive semidefinite operator `times` (Y = G X on d x p
 * blocks): block subspace iteration from [start, `extra` seeded Gaussian columns], `steps` power
 * steps with re-orthonormalisation, then Rayleigh-Ritz (an eigendecomposition of V^T G V).
 */
export function topEigen(
  d: number, k: number, times: (X: Float64Array, p: number, Y: Float64Array) => Float64Array,
  start: Float64Array | null, extra: number, steps: number, rng: Rng,
): TopEigen {
  const p = Math.min(d, k + extra);
  let V = new Float64Array(d * p);
  const given = start === null ? 0 : Math.min(k, p);
  for (let j = 0; j < d; j++) {
    for (let e = 0; e < p; e++) V[j * p + e] = e < given ? start![j * k + e]! : rng.normal();
  }
  if (!orthonormalize(d, p, V)) for (let q = 0; q < d * p; q++) V[q] = rng.normal();
  orthonormalize(d, p, V);
  let Y = new Float64Array(d * p);
  for (let step = 0; step < steps; step++) {
    times(V, p, Y);
    [V, Y] = [Y, V];
    if (!orthonormalize(d, p, V)) break;
  }
  // Rayleigh-Ritz: H = V^T G V, H = Q diag(theta) Q^T, U = V Q (largest first)
  times(V, p, Y);
  const H = new Float64Array(p * p);
  for (let e = 0; e < p; e++) {
    for (let f = 0; f <= e; f++) {
      let h = 0;
      for (let j = 0; j < d; j++) h += V[j * p + e]! * Y[j * p + f]!;
      H[e * p + f] = h;
    }
  }
  const theta = new Float64Array(p);
  const Q = new Float64Array(p * p);
  dsyev(p, H, p, 0, theta, 0, Q, p, 0, new Float64Array(p));
  const kk = Math.min(k, p);
  const U = new Float64Array(d * k);
  const s = new Float64Array(k);
  for (let r = 0; r < kk; r++) {
    const col = p - 1 - r;
    s[r] = Math.max(0, theta[col]!);
    for (let j = 0; j < d; j++) {
      let u = 0;
      for (let e = 0; e < p; e++) u += V[j * p + e]! * Q[e * p + col]!;
      U[j * k + r] = u;
    }
  }
  const tau = p > kk ? Math.max(0, theta[p - 1 - kk]!) : 0;
  return { U, s, tau };
}

/**
 * The next kernel from the AGOP's top eigenpairs: eigenvalues s^(2 alpha) on span U and tau^(2 alpha)
 * elsewhere, so w = max(s^(2 alpha) - tau^(2 alpha), 0) and tauK = tau^(2 alpha).
 */
export function kernelFromEigen(e: TopEigen, alpha: number): LowRankKernel {
  const k = e.s.length;
  const d = e.U.length / Math.max(1, k);
  const tauK = e.tau > 0 ? e.tau ** (2 * alpha) : 0;
  const w = Float64Array.from(e.s, (x) => Math.max(0, x ** (2 * alpha) - tauK));
  return { d, k, U: e.U, w, tauK };
}

/** The dense d x d matrix of a low-rank kernel (tests and small d only). */
export function denseKernel(K: LowRankKernel): Float64Array {
  const { d, k, U, w, tauK } = K;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let v = i === j ? tauK : 0;
      for (let r = 0; r < k; r++) v += U[i * k + r]! * w[r]! * U[j * k + r]!;
      out[i * d + j] = v;
    }
  }
  return out;
}
