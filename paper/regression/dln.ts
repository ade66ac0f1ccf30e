// Diagonal deep linear network beta = w_1 * ... * w_L (elementwise) trained by gradient descent from a small initialisation.

import { dgemm, kernelAlloc, kernelFree } from '../../kernels/index.ts';
import { checkProblem, type RegressionProblem, type SolveResult } from './types.ts';

export interface DlnOptions {
  /** L, 2 to 4. */
  depth: number;
  /**
   * Initialisation scale alpha0 (default 1e-3): w_1 = 0 and w_l = alpha0 for l >= 2, so beta starts
   * at 0. Gradient flow conserves w_l^2 - w_1^2 = alpha0^2 for every l >= 2, so only w_1 can pass
   * through zero and beta can take either sign; starting every factor at alpha0 instead keeps all
   * factors equal forever and beta >= 0. Small alpha0 is the rich regime of Woodworth et al. 2020
   * ("Kernel and rich regimes in overparametrized models"), where the implicit bias tends to l1.
   */
  init?: number;
  /**
   * Step size. Default: adaptive, eta_t = stepScale / (1.1 lambda_t + max_j |g_j| Q_j), the
   * inverse of an estimate of the largest eigenvalue of the loss Hessian in W (see Curvature), so
   * every step is stable at the current point. Changing the step only re-times gradient flow, so
   * the steps follow (to O(eta)) the path of a small fixed step while taking large ones where the
   * loss is flat: near beta = 0 the curvature is ~alpha0^(2(L-1)) and a fixed step would crawl.
   * The plateaus of depth >= 3 (one per coefficient, about 1 / (|g_j| alpha0^(L-2)) long in flow
   * time, while the step is held down by the coefficients already learnt) remain.
   */
  stepScale?: number;
  /** A fixed step instead of the adaptive one. */
  step?: number;
  /** Stop when the loss is <= tol * loss(beta = 0) (default 1e-20). */
  tol?: number;
  maxIter?: number;
}

export interface DlnResult extends SolveResult {
  loss: number;
}

/**
 * loss = (1/2n) ||X beta - y||^2 with beta = prod_l W[l * d + j], and its gradient in grad
 * (L x d, like W). r (length n), beta and g (length d) are work buffers that come out holding the
 * residual X beta - y, beta and X^T r / n. X may be a kernelAlloc array (it is only read by dgemm).
 */
export function dlnLossGradient(
  n: number, d: number, L: number, X: Float64Array, y: Float64Array, W: Float64Array,
  grad: Float64Array, r: Float64Array, beta: Float64Array, g: Float64Array,
): number {
  for (let j = 0; j < d; j++) {
    let b = W[j]!;
    for (let l = 1; l < L; l++) b *= W[l * d + j]!;
    beta[j] = b;
  }
  dgemm(false, false, n, 1, d, 1, X, d, 0, beta, 1, 0, 0, r, 1, 0);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const e = r[i]! - y[i]!;
    r[i] = e;
    loss += e * e;
  }
  dgemm(true, false, d, 1, n, 1 / n, X, d, 0, r, 1, 0, 0, g, 1, 0);
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < d; j++) {
      // The product of the other factors, without dividing by w_l (which may be 0).
      let o = g[j]!;
      for (let m = 0; m < L; m++) if (m !== l) o *= W[m * d + j]!;
      grad[l * d + j] = o;
    }
  }
  return loss / (2 * n);
}

export function dln(p: RegressionProblem, o: DlnOptions): DlnResult {
  checkProblem(p);
  const { n, d, y } = p;
  const L = o.depth;
  const init = o.init ?? 1e-3;
  const stepScale = o.stepScale ?? 1;
  const tol = o.tol ?? 1e-20;
  const maxIter = o.maxIter ?? 20000;
  if (!(Number.isInteger(L) && L >= 2 && L <= 4)) throw new RangeError(`dln: depth must be 2, 3 or 4, got ${L}`);
  if (!(init > 0)) throw new RangeError(`dln: init must be > 0, got ${init}`);
  if (o.step !== undefined && !(o.step > 0)) throw new RangeError(`dln: step must be > 0, got ${o.step}`);

  // X lives in kernel memory for the run, so the products of every step are not copied in each time.
  const X = kernelAlloc(n * d);
  X.set(p.X.subarray(0, n * d));
  try {
    const W = new Float64Array(L * d).fill(init, d);
    const grad = new Float64Array(L * d);
    const r = new Float64Array(n);
    const beta = new Float64Array(d);
    const g = new Float64Array(d);
    const curv = new Curvature(n, d);
    let y2 = 0;
    for (let i = 0; i < n; i++) y2 += y[i]! * y[i]!;
    const loss0 = y2 / (2 * n);
    let loss = loss0;
    let prevLoss = Infinity;
    let it = 0;
    let converged = false;
    for (;;) {
      loss = dlnLossGradient(n, d, L, X, y, W, grad, r, beta, g);
      if (loss <= tol * loss0) {
        converged = true;
        break;
      }
      if (it >= maxIter || !Number.isFinite(loss)) break;
      let eta = o.step ?? 0;
      if (o.step === undefined) {
        const maxGQ = curv.setWeights(L, W, g);
        // A rise in the loss means the eigenvalue estimate lagged behind: refine it at once.
        const power = it === 0 ? 30 : loss > prevLoss ? 10 : it % 4 === 0 ? 1 : 0;
        curv.refine(X, power);
        eta = stepScale / (1.1 * curv.lambda + maxGQ);
      }
      prevLoss = loss;
      for (let q = 0; q < L * d; q++) W[q] -= eta * grad[q]!;
      it++;
    }
    return { beta: beta.slice(), iterations: it, converged, status: Number.isFinite(loss) ? 0 : 1, loss };
  } finally {
    kernelFree(X);
  }
}

/**
 * The step bound. The loss Hessian in W is J^T (X^T X / n) J + sum_j g_j Hess(beta_j), J the
 * Jacobian of beta in W. The first term has the nonzero eigenvalues of D (X^T X / n) D with
 * D = diag(sqrt(P_j)), P_j = ||d beta_j / d w_.j||^2; its largest is tracked by power iteration
 * warm-started from the previous vector (P changes slowly). This is far below ||X||^2 / n * max P
 * because P is large only on the few coordinates already learnt: measured 10-30x larger steps
 * than that bound. The second term is bounded by max_j |g_j| ||Hess(beta_j)||_F, where
 * Hess(beta_j)[l][m] is the product of the factors other than l and m.
 */
class Curvature {
  private readonly sqrtP: Float64Array;
  private readonly u: Float64Array;
  private readonly t: Float64Array;
  private readonly r: Float64Array;
  lambda = 0;

  constructor(private readonly n: number, private readonly d: number) {
    this.sqrtP = new Float64Array(d);
    this.u = new Float64Array(d).fill(1 / Math.sqrt(d));
    this.t = new Float64Array(d);
    this.r = new Float64Array(n);
  }

  /** Stores sqrt(P_j) for W; returns max_j |g_j| ||Hess(beta_j)||_F. */
  setWeights(L: number, W: Float64Array, g: Float64Array): number {
    const d = this.d;
    let maxGQ = 0;
    for (let j = 0; j < d; j++) {
      let P = 0;
      let Q = 0;
      for (let l = 0; l < L; l++) {
        let t = 1;
        for (let m = 0; m < L; m++) if (m !== l) t *= W[m * d + j]!;
        P += t * t;
        for (let m = l + 1; m < L; m++) {
          let h = 1;
          for (let q = 0; q < L; q++) if (q !== l && q !== m) h *= W[q * d + j]!;
          Q += 2 * h * h;
        }
      }
      this.sqrtP[j] = Math.sqrt(P);
      maxGQ = Math.max(maxGQ, Math.abs(g[j]!) * Math.sqrt(Q));
    }
    return maxGQ;
  }

  /** `steps` power iterations on D X^T X D / n; lambda is the latest Rayleigh quotient. */
  refine(X: Float64Array, steps: number): void {
    const { n, d, sqrtP, u, t, r } = this;
    for (let s = 0; s < steps; s++) {
      for (let j = 0; j < d; j++) t[j] = sqrtP[j]! * u[j]!;
      dgemm(false, false, n, 1, d, 1, X, d, 0, t, 1, 0, 0, r, 1, 0);
      let rr = 0;
      for (let i = 0; i < n; i++) rr += r[i]! * r[i]!;
      // u has unit norm, so u^T D X^T X D u / n = ||X D u||^2 / n.
      this.lambda = rr / n;
      dgemm(true, false, d, 1, n, 1 / n, X, d, 0, r, 1, 0, 0, t, 1, 0);
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const v = sqrtP[j]! * t[j]!;
        u[j] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm);
      if (!(norm > 0)) {
        u.fill(1 / Math.sqrt(d));
        return;
      }
      for (let j = 0; j < d; j++) u[j] /= norm;
      // The Rayleigh quotient of the new vector is at least the old one; ||M u|| bounds it above
      // for the vector just multiplied, and is the better estimate of the top eigenvalue.
      this.lambda = Math.max(this.lambda, norm);
    }
  }
}
