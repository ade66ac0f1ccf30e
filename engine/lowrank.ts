// The low-rank kernel K = U diag(w) U^T + tauK I (U: d x k orthonormal) and one sweep's phases in
// that form, so that no d x d matrix is ever formed (docs/DESIGN.md, "The low-rank kernel"):
// the row solves by Woodbury, the AGOP as an operator, and the next kernel's top-k eigenpairs by
// block subspace iteration with a Rayleigh-Ritz step.

import { dgemm, sparseRows, woodburyRows } from '../kernels/index.ts';
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

/** The rows' fits with a low-rank kernel: a_i next to the values, and bs_i = w * U_O^T a_i (n x k). */
export interface LowRankFit {
  a: Float64Array;
  bs: Float64Array;
  /** c = tauK + lambda: Yhat = BS U^T + c A. */
  c: number;
}

/**
 * Row solves of rows [r0, r1): a = (K_OO + lambda I)^-1 y by Woodbury, and bs = w * U_O^T a
 * (kernels/woodbury.ts). `uKey` names U's contents for the WASM form's resident copy (NaN: copy).
 * Returns the rows whose k x k system would not factor (a and bs set to 0).
 */
export function solveRowsLowRank(K: LowRankKernel, lambda: number, m: Csr, fit: LowRankFit, r0: number, r1: number, uKey = Number.NaN): number {
  const c = K.tauK + lambda;
  fit.c = c;
  return woodburyRows(K.U, uKey, K.k, Float64Array.from(K.w, Math.sqrt), c, m.rowPtr, m.colIdx, m.values, r0, r1, fit.a, fit.bs);
}

/**
 * The fits' a of rows [r0, r1) from their bs: K_OO a + lambda a = y gives c a = y - U_O diag(w) U_O^T a
 * = y - U_O bs, so a = (y - U_O bs) / c. A spilled run keeps bs (n x k) and recomputes a chunk's a
 * from it whenever the operator needs them, instead of keeping nnz of them.
 */
export function refitRows(U: Float64Array, k: number, fit: LowRankFit, m: Csr, r0: number, r1: number): void {
  const { a, bs, c } = fit;
  for (let i = r0; i < r1; i++) {
    const b = i * k;
    for (let q = m.rowPtr[i]!; q < m.rowPtr[i + 1]!; q++) {
      const u = m.colIdx[q]! * k;
      let v = m.values[q]!;
      for (let r = 0; r < k; r++) v -= U[u + r]! * bs[b + r]!;
      a[q] = v / c;
    }
  }
}

/** The completed entry (i, j) for an unobserved j: bs_i . U_j. */
export function predictUnobserved(K: LowRankKernel, fit: LowRankFit, i: number, j: number): number {
  const { k, U } = K;
  let v = 0;
  for (let r = 0; r < k; r++) v += fit.bs[i * k + r]! * U[j * k + r]!;
  return v;
}

// ---- The AGOP G = Yhat^T Yhat / n as an operator, Yhat = BS U^T + c A: G X in two phases ----
//
// With T = U^T X (k x p): by row groups, Z = Yhat X = BS T + c A X, and each group's shares of
// PS = BS^T Z and of c A^T Z (d x p, scattered from its rows in ascending order); then by columns,
// G X = (U PS + the groups' c A^T Z, added in group order) / n. A block of either phase owns its
// outputs, so fixed groups and blocks give fixed bits.

/**
 * Rows [r0, r1) of Z = BS T + c A X (X d x p, T = U^T X k x p, Z n x p); those rows' share
 * BS_rows^T Z_rows of PS into P (k x p) at pOff, and their share c A_rows^T Z_rows into YP (d x p)
 * at yOff (which the call zeroes first).
 */
export function operatorRows(
  k: number, fit: LowRankFit, m: Csr, X: Float64Array, T: Float64Array, p: number, Z: Float64Array,
  r0: number, r1: number, P: Float64Array, pOff: number, YP: Float64Array, yOff: number,
): void {
  const rows = r1 - r0;
  YP.fill(0, yOff, yOff + m.nCols * p);
  if (rows <= 0) {
    P.fill(0, pOff, pOff + k * p);
    return;
  }
  dgemm(false, false, rows, p, k, 1, fit.bs, k, r0 * k, T, p, 0, 0, Z, p, r0 * p);
  sparseRows(m.rowPtr, m.colIdx, fit.a, fit.c, X, Z, YP, yOff, p, r0, r1);
  dgemm(true, false, k, p, rows, 1, fit.bs, k, r0 * k, Z, p, r0 * p, 0, P, p, pOff);
}

/**
 * Rows [j0, j1) of Y = G X = (U PS + sum_g YP_g) / n, from PS (k x p) and the `groups` d x p shares
 * YP_g of operatorRows over all n rows, added in group order.
 */
export function operatorCols(
  U: Float64Array, k: number, PS: Float64Array, YP: Float64Array, groups: number, p: number,
  j0: number, j1: number, Y: Float64Array, n: number,
): void {
  if (j1 <= j0) return;
  const d = U.length / k;
  dgemm(false, false, j1 - j0, p, k, 1, U, k, j0 * k, PS, p, 0, 0, Y, p, j0 * p);
  for (let g = 0; g < groups; g++) {
    const off = g * d * p;
    for (let q = j0 * p; q < j1 * p; q++) Y[q] += YP[off + q]!;
  }
  for (let q = j0 * p; q < j1 * p; q++) Y[q] /= n;
}

/** T = U^T X (k x p), the first step of G X. */
export function projectBlock(U: Float64Array, d: number, k: number, X: Float64Array, p: number, T: Float64Array): Float64Array {
  dgemm(true, false, k, p, d, 1, U, k, 0, X, p, 0, 0, T, p, 0);
  return T;
}

/** Y = G X in this thread, both phases over everything in one group (tests, references). */
export function agopTimes(K: LowRankKernel, fit: LowRankFit, m: Csr, X: Float64Array, p: number, Y: Float64Array): Float64Array {
  const { d, k, U } = K;
  const T = projectBlock(U, d, k, X, p, new Float64Array(k * p));
  const Z = new Float64Array(m.nRows * p);
  const PS = new Float64Array(k * p);
  const YP = new Float64Array(d * p);
  operatorRows(k, fit, m, X, T, p, Z, 0, m.nRows, PS, 0, YP, 0);
  operatorCols(U, k, PS, YP, 1, p, 0, d, Y, m.nRows);
  return Y;
}

/**
 * Orthonormalises the p columns of the d x p row-major V in place (Gram-Schmidt, twice); returns
 * false when a column vanishes (V is then partly changed). The columns are worked on as contiguous
 * vectors (a transposed copy): the same sums in the same order, without striding through V.
 */
export function orthonormalize(d: number, p: number, V: Float64Array): boolean {
  const C = new Float64Array(p * d);
  for (let j = 0; j < d; j++) for (let e = 0; e < p; e++) C[e * d + j] = V[j * p + e]!;
  let ok = true;
  for (let e = 0; e < p && ok; e++) {
    const ce = e * d;
    for (let pass = 0; pass < 2; pass++) {
      for (let f = 0; f < e; f++) {
        const cf = f * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += C[cf + j]! * C[ce + j]!;
        for (let j = 0; j < d; j++) C[ce + j] -= dot * C[cf + j]!;
      }
    }
    let nrm = 0;
    for (let j = 0; j < d; j++) nrm += C[ce + j]! ** 2;
    nrm = Math.sqrt(nrm);
    if (!(nrm > 0)) ok = false;
    else for (let j = 0; j < d; j++) C[ce + j] /= nrm;
  }
  for (let j = 0; j < d; j++) for (let e = 0; e < p; e++) V[j * p + e] = C[e * d + j]!;
  return ok;
}

/** What the subspace iteration finds: the top k Ritz pairs, and the (k+1)-th Ritz value as the tail level. */
export interface TopEigen {
  /** d x k row-major, orthonormal. */
  U: Float64Array;
  /** The k largest Ritz values, descending. */
  s: Float64Array;
  /** The (k+1)-th Ritz value (0 when the block has no more columns). */
  tau: number;
  /** All p Ritz values of the block, descending, negatives as 0 (what choosing the rank looks at). */
  ritz: Float64Array;
}

/**
 * The top k eigenpairs of a symmetric positive semidefinite operator G on d x p blocks: block
 * subspace iteration from [start, `extra` seeded Gaussian columns], `steps` power steps with
 * re-orthonormalisation, then Rayleigh-Ritz (an eigendecomposition of V^T G V). A generator: it
 * yields each block V (d x p, its own) whose product G V it needs, and is resumed with G V (which it
 * only reads), so the products may run anywhere (topEigen runs them in this thread).
 */
export function* subspaceIteration(
  d: number, k: number, start: Float64Array | null, extra: number, steps: number, rng: Rng,
): Generator<Float64Array, TopEigen, Float64Array> {
  const p = Math.min(d, k + extra);
  const V = new Float64Array(d * p);
  const given = start === null ? 0 : Math.min(k, p);
  for (let j = 0; j < d; j++) {
    for (let e = 0; e < p; e++) V[j * p + e] = e < given ? start![j * k + e]! : rng.normal();
  }
  if (!orthonormalize(d, p, V)) for (let q = 0; q < d * p; q++) V[q] = rng.normal();
  orthonormalize(d, p, V);
  for (let step = 0; step < steps; step++) {
    const GV = yield V;
    const keep = V.slice();
    V.set(GV);
    if (!orthonormalize(d, p, V)) {
      // G vanishes on part of the block: keep the block it came from
      V.set(keep);
      break;
    }
  }
  // Rayleigh-Ritz: H = V^T G V, H = Q diag(theta) Q^T, U = V Q (largest first)
  const Y = yield V;
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
  const ritz = Float64Array.from({ length: p }, (_, r) => Math.max(0, theta[p - 1 - r]!));
  return { U, s, tau, ritz };
}

/** subspaceIteration with the products G X = times(X, p, Y) in this thread. */
export function topEigen(
  d: number, k: number, times: (X: Float64Array, p: number, Y: Float64Array) => Float64Array,
  start: Float64Array | null, extra: number, steps: number, rng: Rng,
): TopEigen {
  const p = Math.min(d, k + extra);
  const Y = new Float64Array(d * p);
  const it = subspaceIteration(d, k, start, extra, steps, rng);
  let r = it.next();
  while (!r.done) r = it.next(times(r.value, p, Y));
  return r.value;
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

/** A kernel as one flat array (checkpoints): [tauK, w (k), U (d x k)]. */
export function packKernel(K: LowRankKernel): Float64Array {
  const out = new Float64Array(1 + K.k + K.d * K.k);
  out[0] = K.tauK;
  out.set(K.w, 1);
  out.set(K.U, 1 + K.k);
  return out;
}

/** The kernel of packKernel, or null when the array has not that kernel's length. */
export function unpackKernel(x: Float64Array, d: number, k: number): LowRankKernel | null {
  if (x.length !== 1 + k + d * k) return null;
  return { d, k, tauK: x[0]!, w: x.slice(1, 1 + k), U: x.slice(1 + k) };
}
