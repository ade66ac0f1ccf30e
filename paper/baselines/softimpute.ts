// Soft-impute (Mazumder, Hastie, Tibshirani 2010): X <- S_lambda(P_Omega(Y) + P_Omega^perp(X)) down a lambda path with warm starts.

import { dgemm, dsyev, dsyrk, Rng } from '../../kernels/index.ts';
import { type Csr } from '../../engine/index.ts';
import {
  checkOption,
  densePredictor,
  denseProblem,
  putBackObserved,
  relativeChange,
  type BaselineResult,
  type BaselineStop,
  type IterationInfo,
  type IterateHook,
} from './common.ts';

/**
 * gram: the exact singular value thresholding from the eigendecomposition of the d x d Gram
 * matrix Z^T Z (dsyev, ~6 d^3 flops: 0.8 s at d = 500 here). subspace: a warm-started block
 * subspace iteration for the leading singular triplets only, with Rayleigh-Ritz, its block kept
 * at the current rank plus `oversample` (a few n d b products an iteration): what the soft-impute
 * authors do with a partial SVD. auto: gram up to d = 64, subspace above.
 */
export type SvdMode = 'auto' | 'gram' | 'subspace';

export interface SoftImputeOptions {
  /** Values of lambda on the path, lambda_max down to lambdaMinRatio * lambda_max (geometric). */
  nLambda: number;
  /** lambda_max is the largest singular value of P_Omega(Y) (where the solution is 0). */
  lambdaMinRatio: number;
  /** Move to the next lambda (or stop, at the last) once the relative change is at most this. */
  tol: number;
  /** Iterations at one lambda, at most (the last lambda may use all that maxIters leaves). */
  maxInner: number;
  maxIters: number;
  svd: SvdMode;
  /** subspace: block columns beyond the number of singular values above lambda. */
  oversample: number;
  /** subspace: power steps before each Rayleigh-Ritz step. */
  powerSteps: number;
  /** subspace: seed of the starting block. */
  seed: number;
}

export const defaultSoftImputeOptions: SoftImputeOptions = {
  nLambda: 10,
  lambdaMinRatio: 1e-5,
  tol: 1e-7,
  maxInner: 300,
  maxIters: 3000,
  svd: 'auto',
  oversample: 8,
  powerSteps: 1,
  seed: 0,
};

function validate(o: SoftImputeOptions): void {
  const c = (key: keyof SoftImputeOptions, ok: boolean, why: string): void => checkOption('softimpute', key, o[key] as number, ok, why);
  c('nLambda', Number.isInteger(o.nLambda) && o.nLambda >= 1, 'must be an integer >= 1');
  c('lambdaMinRatio', o.lambdaMinRatio > 0 && o.lambdaMinRatio <= 1, 'must be in (0, 1]');
  c('tol', o.tol >= 0, 'must be >= 0');
  c('maxInner', Number.isInteger(o.maxInner) && o.maxInner >= 1, 'must be an integer >= 1');
  c('maxIters', Number.isInteger(o.maxIters) && o.maxIters >= 1, 'must be an integer >= 1');
  if (!['auto', 'gram', 'subspace'].includes(o.svd)) throw new RangeError(`softimpute: option svd = ${String(o.svd)}: must be auto, gram or subspace`);
  c('oversample', Number.isInteger(o.oversample) && o.oversample >= 1, 'must be an integer >= 1');
  c('powerSteps', Number.isInteger(o.powerSteps) && o.powerSteps >= 1, 'must be an integer >= 1');
  c('seed', Number.isInteger(o.seed), 'must be an integer');
}

/** Buffers of the thresholding step, sized for any block up to d (allocated once a run). */
export interface SoftImputeState {
  n: number;
  d: number;
  mode: 'gram' | 'subspace';
  /** subspace: current block size b; V (d x b, leading dimension b) holds an orthonormal basis. */
  b: number;
  V: Float64Array;
  Z: Float64Array;
  A: Float64Array;
  W: Float64Array;
  C: Float64Array;
  P: Float64Array;
  w: Float64Array;
  work: Float64Array;
  f: Float64Array;
  /** subspace: block columns kept beyond the rank found. */
  oversample: number;
  rng: Rng;
}

export function softImputeState(n: number, d: number, mode: 'gram' | 'subspace', oversample: number, seed: number): SoftImputeState {
  const rng = new Rng(seed);
  const s: SoftImputeState = {
    n, d, mode, b: Math.min(2 * oversample, d), oversample,
    V: new Float64Array(d * d), Z: new Float64Array(n * d), A: new Float64Array(n * d), W: new Float64Array(n * d),
    C: new Float64Array(d * d), P: new Float64Array(d * d), w: new Float64Array(d), work: new Float64Array(d), f: new Float64Array(d), rng,
  };
  for (let q = 0; q < d * s.b; q++) s.V[q] = rng.normal();
  return s;
}

/**
 * One soft-impute step: Z = P_Omega(Y) + P_Omega^perp(X), Xout = S_lambda(Z) (singular values
 * sigma replaced by max(sigma - lambda, 0)). X and Xout are n x d and may not alias. Returns the
 * number of singular values above lambda, or -1 when an eigendecomposition failed.
 */
export function softImputeStep(obs: Csr, X: Float64Array, lambda: number, s: SoftImputeState, Xout: Float64Array, powerSteps = 1): number {
  const { n, d, Z } = s;
  Z.set(X.subarray(0, n * d));
  putBackObserved(obs, Z);
  return s.mode === 'gram' ? thresholdGram(s, lambda, Xout) : thresholdSubspace(s, lambda, Xout, powerSteps);
}

// S_lambda(Z) = Z V diag(f) V^T with Z^T Z = V diag(sigma^2) V^T and f = max(sigma - lambda, 0) / sigma.
function thresholdGram(s: SoftImputeState, lambda: number, Xout: Float64Array): number {
  const { n, d, Z, C, V, w, work, A } = s;
  dsyrk(true, d, n, 1, Z, d, 0, 0, C, d, 0);
  if (dsyev(d, C, d, 0, w, 0, V, d, 0, work) !== 0) return -1;
  // eigenvalues ascend, so the kept ones are the last columns of V
  let z = d;
  while (z > 0 && Math.sqrt(Math.max(w[z - 1]!, 0)) > lambda) z--;
  const r = d - z;
  if (r === 0) {
    Xout.fill(0, 0, n * d);
    return 0;
  }
  // A (n x r) = Z V[:, z:] diag(f), then Xout = A V[:, z:]^T
  dgemm(false, false, n, r, d, 1, Z, d, 0, V, d, z, 0, A, r, 0);
  for (let j = 0; j < r; j++) {
    const sigma = Math.sqrt(w[z + j]!);
    work[j] = (sigma - lambda) / sigma;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) A[i * r + j] *= work[j]!;
  dgemm(false, true, n, d, r, 1, A, r, 0, V, d, z, 0, Xout, d, 0);
  return r;
}

/**
 * The leading part of the same thresholding from the block V (d x b): power steps V <- orth(Z^T Z V),
 * then Rayleigh-Ritz on A = Z V, H = A^T A = Q diag(theta) Q^T, and
 * Xout = A Q diag(f) Q^T V^T with f from sigma = sqrt(theta). V is rotated to the Ritz vectors and
 * the block resized to the rank found plus oversample (new columns random, orthonormalised next time).
 */
function thresholdSubspace(s: SoftImputeState, lambda: number, Xout: Float64Array, powerSteps: number): number {
  const { n, d, Z, A, W, C, P, w, work, f, oversample } = s;
  const b = s.b;
  const V = s.V;
  for (let t = 0; t < powerSteps; t++) {
    dgemm(false, false, n, b, d, 1, Z, d, 0, V, b, 0, 0, A, b, 0);
    dgemm(true, false, d, b, n, 1, Z, d, 0, A, b, 0, 0, W, b, 0);
    if (orthonormalize(d, b, W, V, C, P, w, work) !== 0) return -1;
  }
  dgemm(false, false, n, b, d, 1, Z, d, 0, V, b, 0, 0, A, b, 0);
  dsyrk(true, b, n, 1, A, b, 0, 0, C, b, 0);
  if (dsyev(b, C, b, 0, w, 0, P, b, 0, work) !== 0) return -1;
  let r = 0;
  for (let j = 0; j < b; j++) {
    const sigma = Math.sqrt(Math.max(w[j]!, 0));
    f[j] = sigma > lambda ? (sigma - lambda) / sigma : 0;
    if (f[j]! > 0) r++;
  }
  // C (b x b) = P diag(f) P^T; W (n x b) = A C; Xout = W V^T
  for (let i = 0; i < b; i++) {
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let q = b - r; q < b; q++) acc += P[i * b + q]! * f[q]! * P[j * b + q]!;
      C[i * b + j] = acc;
      C[j * b + i] = acc;
    }
  }
  dgemm(false, false, n, b, b, 1, A, b, 0, C, b, 0, 0, W, b, 0);
  dgemm(false, true, n, d, b, 1, W, b, 0, V, b, 0, 0, Xout, d, 0);
  // Ritz vectors, largest last; keep the top `keep` of them as the next block.
  dgemm(false, false, d, b, b, 1, V, b, 0, P, b, 0, 0, W, b, 0);
  const keep = Math.min(d, Math.max(r + oversample, Math.min(b, 2 * oversample)));
  const from = Math.max(0, b - keep);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < keep; j++) V[i * keep + j] = j < b - from ? W[i * b + from + j]! : s.rng.normal();
  }
  s.b = keep;
  return r;
}

/**
 * V (d x b) = an orthonormal basis of the columns of W (d x b) by the eigendecomposition of the
 * b x b Gram matrix, V = W P diag(mu)^-1/2 (the SVQB scheme); columns of a numerically zero mu are
 * set to 0. Returns dsyev's info.
 */
function orthonormalize(d: number, b: number, W: Float64Array, V: Float64Array, C: Float64Array, P: Float64Array, w: Float64Array, work: Float64Array): number {
  dsyrk(true, b, d, 1, W, b, 0, 0, C, b, 0);
  const info = dsyev(b, C, b, 0, w, 0, P, b, 0, work);
  if (info !== 0) return info;
  const top = Math.max(w[b - 1]!, 0);
  for (let j = 0; j < b; j++) work[j] = w[j]! > top * 1e-13 ? 1 / Math.sqrt(w[j]!) : 0;
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) P[i * b + j] *= work[j]!;
  dgemm(false, false, d, b, b, 1, W, b, 0, P, b, 0, 0, V, b, 0);
  return 0;
}

/** Largest singular value of the n x d matrix Z by power iteration on Z^T Z (for lambda_max). */
function largestSingularValue(n: number, d: number, Z: Float64Array, rng: Rng, u: Float64Array, v: Float64Array): number {
  for (let j = 0; j < d; j++) v[j] = rng.normal();
  let sigma = 0;
  for (let it = 0; it < 100; it++) {
    let vn = 0;
    for (let j = 0; j < d; j++) vn += v[j]! * v[j]!;
    vn = Math.sqrt(vn);
    if (vn === 0) return 0;
    for (let j = 0; j < d; j++) v[j] /= vn;
    dgemm(false, false, n, 1, d, 1, Z, d, 0, v, 1, 0, 0, u, 1, 0);
    dgemm(true, false, d, 1, n, 1, Z, d, 0, u, 1, 0, 0, v, 1, 0);
    let uu = 0;
    for (let i = 0; i < n; i++) uu += u[i]! * u[i]!;
    const next = Math.sqrt(uu);
    if (Math.abs(next - sigma) <= 1e-10 * next) return next;
    sigma = next;
  }
  return sigma;
}

/** Completes `input` (any shape) by soft-impute down the lambda path, warm-starting each lambda. */
export function completeSoftImpute(input: Csr, options: Partial<SoftImputeOptions> = {}, onIterate?: IterateHook): BaselineResult {
  const o: SoftImputeOptions = { ...defaultSoftImputeOptions, ...options };
  validate(o);
  const t0 = performance.now();
  const prob = denseProblem(input);
  const { n, d, obs } = prob;
  const mode = o.svd === 'auto' ? (d <= 64 ? 'gram' : 'subspace') : o.svd;
  const s = softImputeState(n, d, mode, o.oversample, o.seed);
  let X: Float64Array = new Float64Array(n * d);
  let Xnext: Float64Array = new Float64Array(n * d);
  s.Z.fill(0);
  putBackObserved(obs, s.Z);
  const lambdaMax = largestSingularValue(n, d, s.Z, s.rng, s.A, s.W);
  const history: IterationInfo[] = [];
  let stopReason: BaselineStop = 'max-iters';
  let it = 0;
  path: for (let k = 1; k <= Math.max(1, o.nLambda - 1); k++) {
    const last = k >= o.nLambda - 1;
    const lambda = lambdaMax * (o.nLambda === 1 ? 1 : o.lambdaMinRatio ** (k / (o.nLambda - 1)));
    for (let inner = 0; last || inner < o.maxInner; inner++) {
      if (it >= o.maxIters) break path;
      const ts = performance.now();
      const rank = softImputeStep(obs, X, lambda, s, Xnext, o.powerSteps);
      const rel = rank < 0 ? Number.NaN : relativeChange(n * d, Xnext, X);
      const tmp = X;
      X = Xnext;
      Xnext = tmp;
      it++;
      history.push({ iteration: it, seconds: (performance.now() - ts) / 1000, relChange: rel, extra: { lambda: lambda * prob.scale, rank, block: s.b } });
      if (Number.isNaN(rel)) {
        stopReason = 'diverged';
        break path;
      }
      if (rel <= o.tol && last) {
        stopReason = 'converged';
        break path;
      }
      if (onIterate?.(it, densePredictor(prob, X)) === 'stop') {
        stopReason = 'budget';
        break path;
      }
      // converged at this lambda: on to the next
      if (rel <= o.tol) break;
    }
  }
  return {
    predict: densePredictor(prob, X),
    iterations: it,
    stopReason,
    hitCap: stopReason === 'max-iters',
    history,
    seconds: (performance.now() - t0) / 1000,
  };
}
