// A completion with the low-rank kernel, in this thread: the same data preparation and schedule as
// the dense engine (engine/split.ts, engine/schedule.ts), every phase in O(nnz k + (n + d) k^2).
// The pool, spilling, checkpoints and the command line do not drive it yet.

import { Rng } from '../kernels/random.ts';
import type { Csr } from './csr.ts';
import {
  agopTimes, identityKernel, kernelFromEigen, predictUnobserved, solveRowsLowRank, topEigen, woodburyScratch,
  type LowRankFit, type LowRankKernel,
} from './lowrank.ts';
import { defaultEngineOptions, validateEngineOptions, type EngineOptions, type StopReason, type SweepInfo } from './options.ts';
import { initialSchedule, nextStep, recordFit, stopAfterFit } from './schedule.ts';
import { prepareData, type PreparedData } from './split.ts';
import { maxRowLength } from './sweep.ts';

export interface LowRankOptions {
  /** Rank k of the kernel (at most the kernel side d). */
  rank: number;
  /** Random columns added to the subspace block (oversampling). */
  oversample: number;
  /** Power steps a sweep, and on the first sweep (no previous subspace to start from). */
  powerSteps: number;
  firstPowerSteps: number;
}

/**
 * One power step a sweep is enough from the previous sweep's subspace: measured (n = 10 d, 50 entries
 * a row, rank 10, k = 20) at d = 1,000 and 2,000, exact and noisy, the same sweeps and test errors as
 * with two (66 sweeps, 9.9e-4 at d = 2,000 exact), in 60-75% of the time a sweep; none (Rayleigh-Ritz
 * on [U_prev, random columns] alone) stalls at 0.23.
 */
export const defaultLowRankOptions: LowRankOptions = { rank: 20, oversample: 10, powerSteps: 1, firstPowerSteps: 6 };

export interface LowRankResult {
  kernel: LowRankKernel;
  lambda: number;
  scale: number;
  transposed: boolean;
  stopReason: StopReason;
  sweeps: number;
  bestSweep: number;
  history: SweepInfo[];
  /** The top Ritz values and the tail level of the last AGOP (data units squared), for the report. */
  spectrum: { s: number[]; tau: number };
  data: PreparedData;
  /**
   * Predictions at (row, col) pairs in input coordinates, from all observed entries of each row (one
   * Woodbury solve a row with the best kernel, done once); observed entries are returned as observed.
   */
  predict(rows: Int32Array, cols: Int32Array): Float64Array;
}

/** The predict of a result: each row fitted once on all its entries with the best kernel. */
function predictor(K: LowRankKernel, lambda: number, data: PreparedData): LowRankResult['predict'] {
  let fit: LowRankFit | null = null;
  const { all } = data;
  return (rows, cols) => {
    if (fit === null) {
      fit = newFit(all.values.length, all.nRows, K.k);
      solveRowsLowRank(K, lambda, all, fit, 0, all.nRows, woodburyScratch(maxRowLength(all), K.k));
    }
    const out = new Float64Array(rows.length);
    for (let e = 0; e < rows.length; e++) {
      const [i, j] = data.transposed ? [cols[e]!, rows[e]!] : [rows[e]!, cols[e]!];
      let v = Number.NaN;
      if (i >= 0 && i < all.nRows && j >= 0 && j < all.nCols && all.rowPtr[i + 1]! > all.rowPtr[i]!) {
        v = predictUnobserved(K, fit, i, j);
        for (let q = all.rowPtr[i]!; q < all.rowPtr[i + 1]!; q++) if (all.colIdx[q] === j) v = all.values[q]!;
      }
      out[e] = v * data.scale;
    }
    return out;
  };
}

/** Copies a kernel (the best one is kept apart from the iterate). */
function copyKernel(K: LowRankKernel): LowRankKernel {
  return { d: K.d, k: K.k, U: K.U.slice(), w: K.w.slice(), tauK: K.tauK };
}

function newFit(nnz: number, n: number, k: number): LowRankFit {
  return { a: new Float64Array(nnz), b: new Float64Array(n * k), bs: new Float64Array(n * k), c: 1 };
}

/**
 * Completes `input` with a rank-k kernel. The schedule is the dense engine's; the extrapolation is
 * taken on the AGOP as an operator (G + beta (G - G_prev)), whose negative Ritz values are clipped.
 */
export function completeLowRank(input: Csr, options: Partial<EngineOptions> = {}, lowRank: Partial<LowRankOptions> = {}): LowRankResult {
  const opts: EngineOptions = { ...defaultEngineOptions, ...options };
  validateEngineOptions(opts);
  const lo: LowRankOptions = { ...defaultLowRankOptions, ...lowRank };
  const data = prepareData(input, opts.validationFraction, opts.seed);
  const { train } = data;
  const n = train.nRows;
  const d = train.nCols;
  const k = Math.min(lo.rank, d);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`rank = ${lo.rank}: must be an integer >= 1`);
  const nVal = data.valRow.length;
  const momentum = nVal > 0 ? opts.momentum : 0;
  const schedule = nVal === 0 ? 'fixed' : opts.lambdaSchedule;
  const scheduleOpts = { ...opts, momentum };
  const ms = data.scale * data.scale;
  const rng = new Rng(opts.seed ^ 0x10a7);
  const scratch = woodburyScratch(maxRowLength(train), k);

  let K = identityKernel(d, k);
  let best = copyKernel(K);
  let fit = newFit(train.values.length, n, k);
  let prev: { K: LowRankKernel; fit: LowRankFit } | null = null;
  let sched = initialSchedule(opts);
  let stopReason: StopReason = 'max-sweeps';
  let spectrum = { s: [] as number[], tau: 0 };
  const history: SweepInfo[] = [];
  const p = Math.min(d, k + lo.oversample);
  const Z = new Float64Array(n * p);
  const T = new Float64Array(k * p);
  const Yp = new Float64Array(d * p);
  let sweep = 0;
  for (; sweep < opts.maxSweeps; sweep++) {
    const ts = performance.now();
    const lambda = sched.lambda;
    const fallbacks = solveRowsLowRank(K, lambda, train, fit, 0, n, scratch);
    let se = 0;
    for (let v = 0; v < nVal; v++) se += (predictUnobserved(K, fit, data.valRow[v]!, data.valCol[v]!) - data.valValue[v]!) ** 2;
    const mse = nVal > 0 ? se / nVal : Number.NaN;
    const r = recordFit(sched, sweep, mse, nVal > 0);
    sched = r.state;
    if (r.best) best = copyKernel(K);
    const info: SweepInfo = {
      sweep, lambda: lambda * ms, validationRmse: Math.sqrt(mse) * data.scale, validationRelMse: mse, agop: 'factored',
      cholFallbacks: fallbacks, restarts: sched.restarts, seconds: 0, solveSeconds: (performance.now() - ts) / 1000, agopSeconds: 0,
    };
    let stop = stopAfterFit(sched, sweep, mse, nVal > 0, false, opts);
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      const ta = performance.now();
      const step = nextStep(sched, mse, scheduleOpts, schedule);
      sched = step.state;
      const { beta } = step.next;
      const cur = { K, fit };
      const last = prev;
      // G X, or the extrapolated (1 + beta) G X - beta G_prev X
      const times = (X: Float64Array, q: number, Y: Float64Array): Float64Array => {
        agopTimes(cur.K, cur.fit, train, X, q, Y, Z, T);
        if (beta > 0 && last !== null) {
          agopTimes(last.K, last.fit, train, X, q, Yp, Z, T);
          for (let e = 0; e < d * q; e++) Y[e] = Y[e]! + beta * (Y[e]! - Yp[e]!);
        }
        return Y;
      };
      const first = sweep === 0;
      const eig = topEigen(d, k, times, first ? null : K.U, lo.oversample, first ? lo.firstPowerSteps : lo.powerSteps, rng);
      spectrum = { s: Array.from(eig.s, (x) => x * ms), tau: eig.tau * ms };
      if (step.next.keepPrevious) {
        // the fit before the previous one is no longer needed: the next sweep writes into it
        fit = prev?.fit ?? newFit(train.values.length, n, k);
        prev = cur;
      }
      K = kernelFromEigen(eig, opts.alpha);
      if (!eig.s.every(Number.isFinite)) stop = 'diverged';
      info.agopSeconds = (performance.now() - ta) / 1000;
    }
    info.seconds = (performance.now() - ts) / 1000;
    history.push(info);
    if (stop !== null) {
      stopReason = stop;
      sweep++;
      break;
    }
  }
  return {
    kernel: best, lambda: sched.bestLambda, scale: data.scale, transposed: data.transposed, stopReason,
    sweeps: Math.min(sweep, opts.maxSweeps), bestSweep: sched.bestSweep, history, spectrum, data,
    predict: predictor(best, sched.bestLambda, data),
  };
}
