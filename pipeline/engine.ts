// lin-RFM matrix completion: sweeps, lambda schedule, early stopping, and predictions from the model.

import { type Csr } from './csr.ts';
import { prepareData, type PreparedData } from './split.ts';
import {
  agopCosts,
  agopFactored,
  agopStreamed,
  columnIndex,
  maxRowLength,
  nextKernelPower,
  powerScratch,
  predictEntry,
  rowScratch,
  solveRow,
  solveRows,
  type AgopPath,
} from './sweep.ts';

export type AgopMode = 'auto' | AgopPath;
export type LambdaSchedule = 'adaptive' | 'official' | 'fixed';
export type StopReason = 'converged' | 'patience' | 'max-sweeps' | 'callback' | 'diverged';

export interface EngineOptions {
  /** Kernel power: K_{t+1} = G_t^(2 alpha). 1/2 (the default) needs no eigendecomposition. */
  alpha: number;
  /** Initial ridge, relative to the mean square of the observed values. */
  lambda: number;
  /**
   * adaptive: lambda_{t+1} = max(floor, min(lambda_t, validation MSE_t)), all relative to the mean
   * square; official: the reference code's rule, lambda then min(lambda, 1e-3) once the validation
   * MSE is below 0.1; fixed: lambda never changes.
   */
  lambdaSchedule: LambdaSchedule;
  lambdaFloor: number;
  /** The adaptive schedule tracks this multiple of the validation MSE. */
  lambdaFactor: number;
  maxSweeps: number;
  /**
   * Cap of the kernel extrapolation (0 = the plain iteration): K_{t+1} = G_t + beta_k (G_t - G_{t-1}) with
   * Nesterov's beta_k = (k - 1) / (k + 2) capped here, k counting sweeps since the last restart; a
   * rise of the validation error restarts it (that sweep takes plain G_t).
   */
  momentum: number;
  /** Stop after this many sweeps without a new best validation error. */
  patience: number;
  /** Stop once the relative validation MSE (MSE / mean square of observed values) is at or below this. */
  tol: number;
  /** Share of the observed entries held out for early stopping and the lambda schedule. */
  validationFraction: number;
  seed: number;
  agop: AgopMode;
  /** Rows completed at a time on the streamed AGOP path. */
  chunkRows: number;
}

export const defaultEngineOptions: EngineOptions = {
  alpha: 0.5,
  lambda: 5e-2,
  lambdaSchedule: 'adaptive',
  lambdaFloor: 1e-8,
  lambdaFactor: 2,
  maxSweeps: 1000,
  momentum: 0.95,
  patience: 20,
  tol: 1e-6,
  validationFraction: 0.05,
  seed: 0,
  agop: 'auto',
  chunkRows: 256,
};

export interface SweepInfo {
  /** 0-based sweep number: sweep t fits with kernel K_t. */
  sweep: number;
  /** The ridge used in this sweep, in the data's units (relative lambda x mean square). */
  lambda: number;
  /** Validation RMSE of this sweep's fit, in the data's units (NaN without a validation split). */
  validationRmse: number;
  /** Validation MSE divided by the mean square of the observed values. */
  validationRelMse: number;
  agop: AgopPath;
  /** Rows whose solve needed a larger ridge than lambda to factor. */
  cholFallbacks: number;
  /** Momentum restarts so far. */
  restarts: number;
  seconds: number;
}

/** Read-only view of the state after a sweep's fit, for progress reporting and experiments. */
export interface SweepProbe {
  /** Predictions of this sweep's fit (kernel K_t, training coefficients) at (row, col) pairs in input coordinates. */
  predict(rows: Int32Array, cols: Int32Array, out?: Float64Array): Float64Array;
}

export type SweepCallback = (info: SweepInfo, probe: SweepProbe) => void | 'stop';

/** What a completion learns: enough to predict any row from its observed entries alone. */
export interface LinRfmModel {
  /** Kernel side (the smaller of rows and columns of the input). */
  d: number;
  /** d x d row-major kernel, in units where the observed values have mean square 1. */
  K: Float64Array;
  /** Ridge in those units. */
  lambda: number;
  /** Root mean square of the observed values (the unit above). */
  scale: number;
  /** True when the kernel lives on the input's rows (the input had more columns than rows). */
  transposed: boolean;
  alpha: number;
}

export interface CompletionResult {
  model: LinRfmModel;
  stopReason: StopReason;
  /** Sweeps run. */
  sweeps: number;
  /** The sweep whose kernel the model keeps (best validation error). */
  bestSweep: number;
  bestValidationRmse: number;
  history: SweepInfo[];
  seconds: number;
  options: EngineOptions;
  nTrain: number;
  nValidation: number;
  /** Predictions at (row, col) pairs in input coordinates, from all observed entries of each row. */
  predict(rows: Int32Array, cols: Int32Array, out?: Float64Array): Float64Array;
}

export function validateEngineOptions(o: EngineOptions): void {
  const bad = (key: string, why: string): never => {
    throw new RangeError(`option ${key} = ${String((o as unknown as Record<string, unknown>)[key])}: ${why}`);
  };
  if (!(o.alpha > 0 && Number.isFinite(o.alpha))) bad('alpha', 'must be a finite number > 0');
  if (!(o.lambda > 0 && Number.isFinite(o.lambda))) bad('lambda', 'must be a finite number > 0');
  if (!(o.lambdaFloor > 0 && o.lambdaFloor <= o.lambda)) bad('lambdaFloor', 'must be > 0 and <= lambda');
  if (!(o.lambdaFactor > 0 && Number.isFinite(o.lambdaFactor))) bad('lambdaFactor', 'must be a finite number > 0');
  if (!(Number.isInteger(o.maxSweeps) && o.maxSweeps >= 1)) bad('maxSweeps', 'must be an integer >= 1');
  if (!(o.momentum >= 0 && o.momentum < 1)) bad('momentum', 'must be in [0, 1)');
  if (!(Number.isInteger(o.patience) && o.patience >= 1)) bad('patience', 'must be an integer >= 1');
  if (!(o.tol >= 0)) bad('tol', 'must be >= 0');
  if (!(o.validationFraction >= 0 && o.validationFraction < 1)) bad('validationFraction', 'must be in [0, 1)');
  if (!Number.isInteger(o.seed)) bad('seed', 'must be an integer');
  if (!['auto', 'streamed', 'factored'].includes(o.agop)) bad('agop', 'must be auto, streamed or factored');
  if (!['adaptive', 'official', 'fixed'].includes(o.lambdaSchedule)) bad('lambdaSchedule', 'must be adaptive, official or fixed');
  if (!(Number.isInteger(o.chunkRows) && o.chunkRows >= 1)) bad('chunkRows', 'must be an integer >= 1');
}

/** Completes a sparse matrix given as CSR (any shape) with lin-RFM. */
export function complete(input: Csr, options: Partial<EngineOptions> = {}, onSweep?: SweepCallback): CompletionResult {
  const opts: EngineOptions = { ...defaultEngineOptions, ...options };
  validateEngineOptions(opts);
  const t0 = performance.now();
  const data = prepareData(input, opts.validationFraction, opts.seed);
  const { train, valRow, valCol, valValue } = data;
  const n = train.nRows;
  const d = train.nCols;
  const nVal = valRow.length;
  const ms = data.scale * data.scale;
  const schedule: LambdaSchedule = nVal === 0 ? 'fixed' : opts.lambdaSchedule;

  let K = new Float64Array(d * d);
  for (let j = 0; j < d; j++) K[j * d + j] = 1;
  let G = new Float64Array(d * d);
  const best = new Float64Array(d * d);
  const a = new Float64Array(train.values.length);
  const scratch = rowScratch(maxRowLength(data.all));
  const costs = agopCosts(train);
  const path: AgopPath = opts.agop === 'auto' ? (costs.factored < costs.streamed ? 'factored' : 'streamed') : opts.agop;
  const chunkRows = Math.min(opts.chunkRows, n);
  const ybuf = path === 'streamed' ? new Float64Array(chunkRows * d) : new Float64Array(0);
  const Q = path === 'factored' ? new Float64Array(d * d) : new Float64Array(0);
  const colIndex = path === 'factored' ? columnIndex(train) : null;
  const T = path === 'factored' ? new Float64Array(d * d) : new Float64Array(0);
  const pow = opts.alpha === 0.5 ? null : powerScratch(d);
  // Without a validation split there is no signal to restart on, so no extrapolation either.
  const momentum = nVal > 0 ? opts.momentum : 0;
  // G_{t-1} for the extrapolation, and the extrapolated matrix
  const Gprev = new Float64Array(momentum > 0 ? d * d : 0);
  let Gext = new Float64Array(momentum > 0 ? d * d : 0);
  let havePrev = false;
  let prevMse = Number.POSITIVE_INFINITY;
  let restarts = 0;
  let sinceRestart = 0;

  let lambda = opts.lambda;
  let bestMse = Number.POSITIVE_INFINITY;
  let bestSweep = 0;
  let bestLambda = lambda;
  let stopReason: StopReason = 'max-sweeps';
  const history: SweepInfo[] = [];

  const probe: SweepProbe = {
    predict: (rows, cols, out) => predictInput(data, K, lambda, a, true, rows, cols, out ?? new Float64Array(rows.length)),
  };

  let sweep = 0;
  for (; sweep < opts.maxSweeps; sweep++) {
    const ts = performance.now();
    const fallbacks = solveRows(d, K, lambda, train, a, 0, n, scratch);
    let se = 0;
    for (let e = 0; e < nVal; e++) {
      const r = predictEntry(d, K, lambda, train, a, valRow[e]!, valCol[e]!) - valValue[e]!;
      se += r * r;
    }
    const mse = nVal > 0 ? se / nVal : Number.NaN;
    const lambdaUsed = lambda;
    if (nVal === 0 || mse < bestMse) {
      bestMse = nVal === 0 ? Number.NaN : mse;
      bestSweep = sweep;
      bestLambda = lambda;
      best.set(K);
    }
    // The probe must see this sweep's kernel, so the callback runs before K is replaced.
    const info: SweepInfo = {
      sweep,
      lambda: lambdaUsed * ms,
      validationRmse: Math.sqrt(mse) * data.scale,
      validationRelMse: mse,
      agop: path,
      cholFallbacks: fallbacks,
      restarts,
      seconds: 0,
    };
    const tc = performance.now();
    const verdict = onSweep ? onSweep(info, probe) : undefined;
    // the caller's own work (progress, experiments' error reports) is not the sweep's time
    const callbackMs = performance.now() - tc;

    let stop: StopReason | null = null;
    if (nVal > 0 && !Number.isFinite(mse)) stop = 'diverged';
    else if (verdict === 'stop') stop = 'callback';
    else if (nVal > 0 && mse <= opts.tol) stop = 'converged';
    else if (nVal > 0 && sweep - bestSweep >= opts.patience) stop = 'patience';
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      if (path === 'streamed') agopStreamed(d, K, train, a, chunkRows, ybuf, G);
      else agopFactored(d, K, lambda, train, a, colIndex!, Q, T, G);
      let src = G;
      if (momentum > 0) {
        // Extrapolate the kernel sequence, K_{t+1} = G_t + beta (G_t - G_{t-1}); restart (plain
        // G_t) whenever the validation error went up, so a bad step is never compounded.
        const restart = mse > prevMse;
        if (restart) {
          restarts++;
          sinceRestart = 0;
        }
        // Nesterov's ramp (k - 1) / (k + 2), capped: a restart lets the momentum build up again.
        const beta = Math.min(momentum, (sinceRestart - 1) / (sinceRestart + 2));
        sinceRestart++;
        if (havePrev && !restart && beta > 0) {
          for (let q = 0; q < d * d; q++) Gext[q] = G[q]! + beta * (G[q]! - Gprev[q]!);
          src = Gext;
        }
        Gprev.set(G);
        havePrev = true;
      }
      prevMse = mse;
      if (pow === null) {
        // K_{t+1} = src: swap buffers instead of copying
        const t = K;
        K = src;
        if (src === G) G = t;
        else Gext = t;
      } else if (nextKernelPower(d, src, opts.alpha, K, pow) !== 0) {
        stop = 'diverged';
      }
      if (schedule === 'adaptive') lambda = Math.max(opts.lambdaFloor, Math.min(lambda, opts.lambdaFactor * mse));
      else if (schedule === 'official' && mse < 0.1) lambda = Math.min(lambda, 1e-3);
    }
    info.seconds = (performance.now() - ts - callbackMs) / 1000;
    history.push(info);
    if (stop !== null) {
      stopReason = stop;
      sweep++;
      break;
    }
  }
  const model: LinRfmModel = { d, K: best, lambda: bestLambda, scale: data.scale, transposed: data.transposed, alpha: opts.alpha };
  return {
    model,
    stopReason,
    sweeps: Math.min(sweep, opts.maxSweeps),
    bestSweep,
    bestValidationRmse: Math.sqrt(bestMse) * data.scale,
    history,
    seconds: (performance.now() - t0) / 1000,
    options: opts,
    nTrain: train.values.length,
    nValidation: nVal,
    predict: (rows, cols, out) =>
      predictInput(data, model.K, model.lambda, null, false, rows, cols, out ?? new Float64Array(rows.length)),
  };
}

/**
 * Predictions at (row, col) pairs given in input coordinates. With `coef` (training coefficients)
 * each row's fit is the sweep's own; without, each row is solved afresh from all its observed
 * entries (training and validation). Observed entries are returned as observed. A row with no
 * observed entries, or an index out of range, predicts NaN.
 */
function predictInput(
  data: PreparedData,
  K: Float64Array,
  lambda: number,
  coef: Float64Array | null,
  trainOnly: boolean,
  rows: Int32Array,
  cols: Int32Array,
  out: Float64Array,
): Float64Array {
  const m = trainOnly ? data.train : data.all;
  const n = m.nRows;
  const d = m.nCols;
  const count = rows.length;
  // Group the pairs by oriented row (counting sort) so each row is solved once.
  const orow = new Int32Array(count);
  const ocol = new Int32Array(count);
  const start = new Int32Array(n + 1);
  for (let e = 0; e < count; e++) {
    const i = data.transposed ? cols[e]! : rows[e]!;
    const j = data.transposed ? rows[e]! : cols[e]!;
    const ok = i >= 0 && i < n && j >= 0 && j < d;
    orow[e] = ok ? i : -1;
    ocol[e] = j;
    if (ok) start[i + 1]!++;
    else out[e] = Number.NaN;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const order = new Int32Array(start[n]!);
  const next = start.slice(0, n);
  for (let e = 0; e < count; e++) if (orow[e]! >= 0) order[next[orow[e]!]!++] = e;

  const scratch = rowScratch(maxRowLength(m));
  const rowCoef = new Float64Array(maxRowLength(m));
  for (let i = 0; i < n; i++) {
    if (start[i] === start[i + 1]) continue;
    const p0 = m.rowPtr[i]!;
    const k = m.rowPtr[i + 1]! - p0;
    let a: Float64Array;
    let aOff: number;
    if (coef !== null) {
      a = coef;
      aOff = p0;
    } else {
      if (k > 0) solveRow(d, K, lambda, k, m.colIdx, m.values, p0, scratch, rowCoef, 0);
      a = rowCoef;
      aOff = 0;
    }
    for (let q = start[i]!; q < start[i + 1]!; q++) {
      const e = order[q]!;
      const j = ocol[e]!;
      if (k === 0) {
        out[e] = Number.NaN;
        continue;
      }
      let s = 0;
      let observed = -1;
      const jd = j * d;
      for (let p = 0; p < k; p++) {
        const l = m.colIdx[p0 + p]!;
        if (l === j) observed = p0 + p;
        s += a[aOff + p]! * K[jd + l]!;
      }
      out[e] = (observed >= 0 ? m.values[observed]! : s) * data.scale;
    }
  }
  return out;
}
