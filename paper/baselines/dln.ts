// Deep linear network completion: W = W_L ... W_1 fitted on the observed entries from a small initialisation (Arora, Cohen, Hu, Luo 2019).

import { dgemm, Rng } from '../../kernels/index.ts';
import { type Csr } from '../../engine/index.ts';
import { checkOption, densePredictor, denseProblem, relativeChange, type BaselineResult, type BaselineStop, type IterateHook, type IterationInfo } from './common.ts';

export type DlnOptimizer = 'gd' | 'adam';

export interface DlnOptions {
  /** Number of factors L, 2 to 4. */
  depth: number;
  /** Standard deviation of the i.i.d. Gaussian entries of every factor at the start. */
  initScale: number;
  /**
   * gd: gradient descent with a backtracking (Armijo) step, grown by 1.5 after every accepted step
   * and halved on every rejected trial, so the step follows the local curvature: small near
   * convergence and large on the plateau near the origin. adam: Adam with step size `lr`.
   */
  optimizer: DlnOptimizer;
  /** Adam's step size, or the first trial step of gd. */
  lr: number;
  maxIters: number;
  /** Stop once the training MSE over the observed entries (data scaled to mean square 1) is at or below this. */
  tol: number;
  seed: number;
}

export const defaultDlnOptions: DlnOptions = {
  depth: 3,
  initScale: 1e-3,
  optimizer: 'gd',
  lr: 1,
  maxIters: 5000,
  tol: 1e-8,
  seed: 0,
};

/**
 * Shapes of the factors for an n x d end-to-end matrix with inner width k = min(n, d):
 * W_1 is k x d, W_2 .. W_{L-1} are k x k and W_L is n x k, stored one after another (row-major)
 * in one parameter vector: factor j (0-based) at offsets[j], rows[j] x cols[j].
 */
export interface DlnShape {
  n: number;
  d: number;
  k: number;
  depth: number;
  rows: number[];
  cols: number[];
  offsets: number[];
  size: number;
}

export function dlnShape(n: number, d: number, depth: number): DlnShape {
  const k = Math.min(n, d);
  const rows: number[] = [];
  const cols: number[] = [];
  const offsets: number[] = [];
  let size = 0;
  for (let j = 0; j < depth; j++) {
    rows.push(j === depth - 1 ? n : k);
    cols.push(j === 0 ? d : k);
    offsets.push(size);
    size += rows[j]! * cols[j]!;
  }
  return { n, d, k, depth, rows, cols, offsets, size };
}

/** The training objective on one set of observed entries, with its scratch allocated once. */
export interface DlnObjective {
  shape: DlnShape;
  /** (1 / 2m) sum over the m observed entries of (W_ij - y_ij)^2, W = W_L ... W_1. */
  loss(params: Float64Array): number;
  /**
   * The loss, with its gradient with respect to every factor written into grad (same layout as
   * params). `forwardDone` says the last loss() or lossGrad() call was on these same values, so
   * the forward products are reused.
   */
  lossGrad(params: Float64Array, grad: Float64Array, forwardDone?: boolean): number;
  /** The end-to-end n x d matrix W_L ... W_1 (row-major) into out; returns out. */
  product(params: Float64Array, out: Float64Array): Float64Array;
}

/**
 * The objective for the n x d matrix `obs` (values as given). Forward: A_1 = W_1,
 * A_j = W_j A_{j-1} (k x d) up to A_{L-1}; the end-to-end entries W_L A_{L-1} are formed only on
 * the observed entries. Backward: with the residual R (n x d, (W_ij - y_ij) / m on the observed
 * entries, 0 elsewhere), dL/dW_j = D_j A_{j-1}^T where D_L = R, D_{j-1} = W_j^T D_j and A_0 = I,
 * so dL/dW_1 = D_1. The two products with the sparse R cost m k each; the k x k x d ones are
 * dgemm calls on preallocated buffers.
 */
export function dlnObjective(obs: Csr, depth: number): DlnObjective {
  const n = obs.nRows;
  const d = obs.nCols;
  const shape = dlnShape(n, d, depth);
  const { k, rows, cols, offsets } = shape;
  const { rowPtr, colIdx, values } = obs;
  const m = values.length;
  // 0-based index of the last factor
  const L = depth - 1;
  // acts[j] = A_{j+1} for j = 1 .. L-1 (0-based factor j); A_1 is W_1 itself, read from params.
  const acts = rows.map((_, j) => new Float64Array(j >= 1 && j < L ? k * d : 0));
  // The transpose (d x k) of the product of all factors but the last: the observed end-to-end
  // entries and the last factor's gradient read its rows.
  const AT = new Float64Array(d * k);
  const r = new Float64Array(m);
  const DT = new Float64Array(d * k);
  const D = [new Float64Array(k * d), new Float64Array(k * d)];
  const act = (params: Float64Array, j: number): [Float64Array, number] => (j === 0 ? [params, offsets[0]!] : [acts[j]!, 0]);

  const forward = (params: Float64Array): void => {
    for (let j = 1; j < L; j++) {
      const [A, oa] = act(params, j - 1);
      dgemm(false, false, k, d, k, 1, params, cols[j]!, offsets[j]!, A, d, oa, 0, acts[j]!, d, 0);
    }
    const [A, oa] = act(params, L - 1);
    transpose(k, d, A, oa, AT);
  };
  const residualLoss = (params: Float64Array): number =>
    observedResiduals(n, k, rowPtr, colIdx, values, params, offsets[L]!, AT, r) / (2 * m);
  return {
    shape,
    loss(params) {
      forward(params);
      return residualLoss(params);
    },
    lossGrad(params, grad, forwardDone = false) {
      if (!forwardDone) forward(params);
      const loss = residualLoss(params);
      // dL/dW_L = R A_{L-1}^T and D_{L-1}^T = R^T W_L, both over the observed entries only
      sparseBackward(n, k, rowPtr, colIdx, r, params, offsets[L]!, AT, grad, DT);
      let Dj = transpose(d, k, DT, 0, D[L % 2]!);
      for (let j = L - 1; j >= 1; j--) {
        const [A, oa] = act(params, j - 1);
        // dL/dW_j = D_j A_{j-1}^T and D_{j-1} = W_j^T D_j, all k x k x d
        dgemm(false, true, k, k, d, 1, Dj, d, 0, A, d, oa, 0, grad, cols[j]!, offsets[j]!);
        const next = D[j % 2]!;
        dgemm(true, false, k, d, k, 1, params, cols[j]!, offsets[j]!, Dj, d, 0, 0, next, d, 0);
        Dj = next;
      }
      grad.set(Dj, offsets[0]!);
      return loss;
    },
    product(params, out) {
      forward(params);
      const [A, oa] = act(params, L - 1);
      return dgemm(false, false, n, d, k, 1, params, k, offsets[L]!, A, d, oa, 0, out, d, 0);
    },
  };
}

// The loops over the observed entries take their arrays as arguments: V8 runs such loops markedly
// faster than the same loops over arrays captured by a closure.

/** out (cols x rows) = A^T for the rows x cols block of A at offset oa (leading dimension cols). */
function transpose(rowsA: number, colsA: number, A: Float64Array, oa: number, out: Float64Array): Float64Array {
  for (let a = 0; a < rowsA; a++) {
    const ra = oa + a * colsA;
    for (let j = 0; j < colsA; j++) out[j * rowsA + a] = A[ra + j]!;
  }
  return out;
}

/** r_p = (W_L[i, :] . AT[j, :] - y_p) / m on every observed (i, j); returns the sum of squared residuals. */
function observedResiduals(
  n: number, k: number, rowPtr: Int32Array, colIdx: Int32Array, values: Float64Array,
  params: Float64Array, oL: number, AT: Float64Array, r: Float64Array,
): number {
  const m = values.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const wi = oL + i * k;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      const aj = colIdx[p]! * k;
      let e = 0;
      for (let a = 0; a < k; a++) e += params[wi + a]! * AT[aj + a]!;
      const res = e - values[p]!;
      r[p] = res / m;
      s += res * res;
    }
  }
  return s;
}

/** grad of W_L (n x k at oL) = R AT and DT (d x k) = R^T W_L, R the residuals r on the observed entries. */
function sparseBackward(
  n: number, k: number, rowPtr: Int32Array, colIdx: Int32Array, r: Float64Array,
  params: Float64Array, oL: number, AT: Float64Array, grad: Float64Array, DT: Float64Array,
): void {
  grad.fill(0, oL, oL + n * k);
  DT.fill(0);
  for (let i = 0; i < n; i++) {
    const wi = oL + i * k;
    for (let p = rowPtr[i]!; p < rowPtr[i + 1]!; p++) {
      const aj = colIdx[p]! * k;
      const rp = r[p]!;
      for (let a = 0; a < k; a++) {
        grad[wi + a] += rp * AT[aj + a]!;
        DT[aj + a] += rp * params[wi + a]!;
      }
    }
  }
}

/** Every factor's entries i.i.d. N(0, initScale^2) from the seeded generator, factor 1 first. */
export function dlnInit(shape: DlnShape, initScale: number, seed: number, out: Float64Array): Float64Array {
  const rng = new Rng(seed);
  for (let q = 0; q < shape.size; q++) out[q] = initScale * rng.normal();
  return out;
}

function validate(o: DlnOptions): void {
  const c = (key: keyof DlnOptions, ok: boolean, why: string): void => checkOption('dln', key, o[key] as number, ok, why);
  c('depth', Number.isInteger(o.depth) && o.depth >= 2 && o.depth <= 4, 'must be 2, 3 or 4');
  c('initScale', o.initScale > 0 && Number.isFinite(o.initScale), 'must be a finite number > 0');
  if (o.optimizer !== 'gd' && o.optimizer !== 'adam') throw new RangeError(`dln: option optimizer = ${String(o.optimizer)}: must be gd or adam`);
  c('lr', o.lr > 0 && Number.isFinite(o.lr), 'must be a finite number > 0');
  c('maxIters', Number.isInteger(o.maxIters) && o.maxIters >= 1, 'must be an integer >= 1');
  c('tol', o.tol >= 0, 'must be >= 0');
  c('seed', Number.isInteger(o.seed), 'must be an integer');
}

const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-12;
// Armijo's sufficient-decrease fraction, and the trials a step may take before the run gives up.
const ARMIJO_C = 1e-4;
const MAX_TRIALS = 60;

/**
 * Completes `input` (any shape; oriented and scaled like the engine's data) with a depth-L deep
 * linear network. History records every `logEvery`-th iteration (and the last) to keep it small.
 */
export function completeDln(input: Csr, options: Partial<DlnOptions> = {}, logEvery = 50, onIterate?: IterateHook): BaselineResult {
  const o: DlnOptions = { ...defaultDlnOptions, ...options };
  validate(o);
  const t0 = performance.now();
  const prob = denseProblem(input);
  const obj = dlnObjective(prob.obs, o.depth);
  const size = obj.shape.size;
  const params = dlnInit(obj.shape, o.initScale, o.seed, new Float64Array(size));
  const grad = new Float64Array(size);
  const trial = new Float64Array(o.optimizer === 'gd' ? size : 0);
  const m1 = new Float64Array(o.optimizer === 'adam' ? size : 0);
  const m2 = new Float64Array(o.optimizer === 'adam' ? size : 0);
  const nd = prob.n * prob.d;
  const W = new Float64Array(nd);
  const Wprev = new Float64Array(nd);
  const history: IterationInfo[] = [];
  let stopReason: BaselineStop = 'max-iters';
  let step = o.lr;
  let iterations = 0;
  let tLog = performance.now();
  for (let t = 1; t <= o.maxIters; t++) {
    // after an accepted gd trial the forward products are those of params already
    const loss = obj.lossGrad(params, grad, o.optimizer === 'gd' && t > 1);
    iterations = t;
    if (!Number.isFinite(loss)) {
      stopReason = 'diverged';
      break;
    }
    if (2 * loss <= o.tol) {
      stopReason = 'converged';
      break;
    }
    if (o.optimizer === 'adam') {
      const c1 = 1 - ADAM_B1 ** t;
      const c2 = 1 - ADAM_B2 ** t;
      for (let q = 0; q < size; q++) {
        const g = grad[q]!;
        m1[q] = ADAM_B1 * m1[q]! + (1 - ADAM_B1) * g;
        m2[q] = ADAM_B2 * m2[q]! + (1 - ADAM_B2) * g * g;
        params[q] -= (o.lr * (m1[q]! / c1)) / (Math.sqrt(m2[q]! / c2) + ADAM_EPS);
      }
    } else {
      let g2 = 0;
      for (let q = 0; q < size; q++) g2 += grad[q]! * grad[q]!;
      let accepted = false;
      for (let trialNo = 0; trialNo < MAX_TRIALS; trialNo++) {
        for (let q = 0; q < size; q++) trial[q] = params[q]! - step * grad[q]!;
        const next = obj.loss(trial);
        if (next <= loss - ARMIJO_C * step * g2) {
          params.set(trial);
          accepted = true;
          break;
        }
        step *= 0.5;
      }
      if (!accepted) {
        // no step of any size decreases the loss: a stationary point to rounding
        stopReason = 'converged';
        break;
      }
      step *= 1.5;
    }
    if (t % logEvery === 0) {
      obj.product(params, W);
      const now = performance.now();
      history.push({ iteration: t, seconds: (now - tLog) / 1000, relChange: relativeChange(nd, W, Wprev), extra: { loss, step } });
      Wprev.set(W);
      tLog = now;
    }
    // the product into W only when the hook asks for predictions (W is formed afresh before each use)
    const predict: BaselineResult['predict'] = (rows, cols, out) => {
      obj.product(params, W);
      return densePredictor(prob, W)(rows, cols, out);
    };
    if (onIterate?.(t, predict) === 'stop') {
      stopReason = 'budget';
      break;
    }
  }
  obj.product(params, W);
  return {
    predict: densePredictor(prob, W),
    iterations,
    stopReason,
    hitCap: stopReason === 'max-iters',
    history,
    seconds: (performance.now() - t0) / 1000,
  };
}
