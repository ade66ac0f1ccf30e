// The engine's options, what a sweep reports and what a completion returns: the types every layer
// above the engine shares, with the defaults and their validation.

import type { Csr } from './csr.ts';
import type { LowRankKernel } from './lowrank.ts';
import type { AgopPath, RootMethod } from './sweep.ts';

export type AgopMode = 'auto' | AgopPath;
/** How the kernel is kept: a d x d matrix, or K = U diag(w) U^T + tauK I of rank kernelRank (engine/lowrank.ts). */
export type KernelForm = 'dense' | 'low-rank';
export type LambdaSchedule = 'adaptive' | 'official' | 'fixed';
export type FinalRidge = 'search' | 'keep';

export type StopReason = 'converged' | 'patience' | 'max-sweeps' | 'callback' | 'diverged' | 'interrupted';

export interface EngineOptions {
  /** Kernel power: K_{t+1} = G_t^(2 alpha). 1/2 (the default) needs no eigendecomposition. */
  alpha: number;
  /**
   * How the kernel power takes a square root (half-integer 2 alpha, e.g. alpha = 1/4): 'newton-schulz'
   * by matrix products only, resolving K to a tenth of the next sweep's ridge (see nextKernelPower);
   * 'eig' by eigendecomposition, and then every power, alpha = 1/2 included (the IRLS way, for
   * comparisons); 'auto' (the default) Newton-Schulz when its predicted product count is cheaper.
   */
  root: RootMethod;
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
  /**
   * Adaptive schedule: after this many sweeps in which the validation MSE did not improve by 1% on
   * its value at the last cut, the ridge is cut to a quarter (0: never). Tracking the validation MSE
   * alone can hold a ridge that is itself what keeps the error up (docs/DESIGN.md, "The schedule").
   */
  lambdaPlateau: number;
  /**
   * The ridge of the completions: 'search' picks it on the validation entries with the best sweep's
   * kernel held (engine/schedule.ts searchRidge); 'keep' keeps the best sweep's ridge.
   */
  finalRidge: FinalRidge;
  maxSweeps: number;
  /**
   * Cap of the kernel extrapolation (0 = the plain iteration): K_{t+1} = G_t + beta_k (G_t - G_{t-1}) with
   * Nesterov's beta_k = (k - 1) / (k + 2) capped here, k counting sweeps since the last restart; a
   * rise of the validation error restarts it (that sweep takes plain G_t).
   */
  momentum: number;
  /** Stop after this many sweeps without a validation error 0.1% below the best (at the last such gain). */
  patience: number;
  /** Stop once the relative validation MSE (MSE / mean square of observed values) is at or below this. */
  tol: number;
  /** Share of the observed entries held out for early stopping and the lambda schedule. */
  validationFraction: number;
  seed: number;
  agop: AgopMode;
  /** Rows completed at a time on the streamed AGOP path. */
  chunkRows: number;
  /**
   * Streamed path: rows of Yhat held at once (rounded up to a multiple of chunkRows), shared by the
   * workers; 0 = as many as fit in 64 MB. All rows at once lets the row solves complete them too.
   */
  superChunkRows: number;
  /**
   * Least work (flops) of a block: each phase of a sweep is cut into blocks of about this much
   * work or more, the units that workers take. The blocks never depend on the number of workers
   * (so neither do the results), but changing this moves their boundaries and so the last bits.
   */
  blockFlops: number;
  kernel: KernelForm;
  /** Low-rank form: the rank k of the kernel (at most the kernel side d); with kernelRankAuto, the rank it starts at. */
  kernelRank: number;
  /**
   * Low-rank form: the rank is chosen from the spectrum during the run (engine/rank.ts): cut at a
   * clear gap below kernelRank, or grown to 2 kernelRank when the tail is not separated.
   */
  kernelRankAuto: boolean;
  /** Low-rank form: random columns added to the subspace block (oversampling). */
  kernelOversample: number;
  /**
   * Low-rank form: power steps a sweep from the previous sweep's subspace (the first sweep takes
   * FIRST_POWER_STEPS, pipeline/lowrank-loop.ts). Measured (n = 10 d, 50 entries a row, rank 10,
   * k = 20) at d = 1,000 and 2,000, exact and noisy: 1 gives the sweeps and test errors of 2 in 60-75%
   * of the time a sweep; 0 (Rayleigh-Ritz on [U_prev, random columns] alone) stalls at 0.23.
   */
  kernelPowerSteps: number;
  /**
   * Low-rank form, in memory: fit the kernel side's biases along with the sweeps (engine/side-bias.ts),
   * one ridge half step a sweep from the fit's residuals, and take them out of the targets.
   */
  sideBias: boolean;
}

export const defaultEngineOptions: EngineOptions = {
  alpha: 0.5,
  root: 'auto',
  lambda: 5e-2,
  lambdaSchedule: 'adaptive',
  lambdaFloor: 1e-8,
  lambdaFactor: 2,
  lambdaPlateau: 5,
  finalRidge: 'search',
  maxSweeps: 1000,
  momentum: 0.95,
  patience: 20,
  tol: 1e-6,
  validationFraction: 0.05,
  seed: 0,
  agop: 'auto',
  chunkRows: 256,
  blockFlops: 1e6,
  superChunkRows: 0,
  kernel: 'dense',
  kernelRank: 20,
  kernelRankAuto: false,
  kernelOversample: 10,
  kernelPowerSteps: 1,
  sideBias: false,
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
  /** How the AGOP was formed, or 'low-rank' (an operator, never formed). */
  agop: AgopPath | 'low-rank';
  /** Rows whose solve needed a larger ridge than lambda to factor. */
  cholFallbacks: number;
  /** Momentum restarts so far. */
  restarts: number;
  seconds: number;
  /** Of `seconds`: the row solves with the validation error, and the AGOP (0 on the last sweep, which skips it). */
  solveSeconds: number;
  agopSeconds: number;
  /** Low-rank form: the kernel's rank in this sweep. */
  kernelRank?: number;
  /** Low-rank form with an automatic rank: the decision taken after this sweep, in words. */
  rankChoice?: string;
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
  /** The low-rank form's kernel (then K is empty). */
  lowRank?: LowRankKernel;
  /** The kernel side's biases fitted with the sweeps (engine/side-bias.ts), in the data's units: part of every prediction. */
  bias?: Float64Array;
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
  /** Low-rank form: the top Ritz values of the last AGOP and its tail level, in the data's units squared. */
  spectrum: { s: number[]; tau: number; rankNote?: string } | null;
  /**
   * The final ridge search (finalRidge 'search' with a validation split): each ridge tried and its
   * validation RMSE, in the data's units, the first the best sweep's; `chosen` the model's ridge.
   */
  ridgeSearch: { tried: Array<{ lambda: number; validationRmse: number }>; chosen: number } | null;
  /** Chunks of the matrix a spilled run streamed (0: it ran in memory). */
  spilledChunks: number;
  /** Removes what the run keeps on disk for predict (a spilled run's chunk files); predict is unusable after. */
  release(): void;
}

/** An input the engine takes over: it calls take() once and holds the only reference after (a spilled run frees it; its values are scaled in place). */
export interface CsrSource {
  take(): Csr;
}

export function validateEngineOptions(o: EngineOptions): void {
  const bad = (key: string, why: string): never => {
    throw new RangeError(`option ${key} = ${String((o as unknown as Record<string, unknown>)[key])}: ${why}`);
  };
  if (!(o.alpha > 0 && Number.isFinite(o.alpha))) bad('alpha', 'must be a finite number > 0');
  if (!(o.lambda > 0 && Number.isFinite(o.lambda))) bad('lambda', 'must be a finite number > 0');
  if (!(o.lambdaFloor > 0 && o.lambdaFloor <= o.lambda)) bad('lambdaFloor', 'must be > 0 and <= lambda');
  if (!(o.lambdaFactor > 0 && Number.isFinite(o.lambdaFactor))) bad('lambdaFactor', 'must be a finite number > 0');
  if (!(Number.isInteger(o.lambdaPlateau) && o.lambdaPlateau >= 0)) bad('lambdaPlateau', 'must be an integer >= 0');
  if (!(Number.isInteger(o.maxSweeps) && o.maxSweeps >= 1)) bad('maxSweeps', 'must be an integer >= 1');
  if (!(o.momentum >= 0 && o.momentum < 1)) bad('momentum', 'must be in [0, 1)');
  if (!(Number.isInteger(o.patience) && o.patience >= 1)) bad('patience', 'must be an integer >= 1');
  if (!(o.tol >= 0)) bad('tol', 'must be >= 0');
  if (!(o.validationFraction >= 0 && o.validationFraction < 1)) bad('validationFraction', 'must be in [0, 1)');
  if (!Number.isInteger(o.seed)) bad('seed', 'must be an integer');
  if (!['auto', 'streamed', 'factored'].includes(o.agop)) bad('agop', 'must be auto, streamed or factored');
  if (!['auto', 'eig', 'newton-schulz'].includes(o.root)) bad('root', 'must be auto, eig or newton-schulz');
  if (!['adaptive', 'official', 'fixed'].includes(o.lambdaSchedule)) bad('lambdaSchedule', 'must be adaptive, official or fixed');
  if (!['search', 'keep'].includes(o.finalRidge)) bad('finalRidge', 'must be search or keep');
  if (!(Number.isInteger(o.chunkRows) && o.chunkRows >= 1)) bad('chunkRows', 'must be an integer >= 1');
  if (!(Number.isInteger(o.superChunkRows) && o.superChunkRows >= 0)) bad('superChunkRows', 'must be an integer >= 0');
  if (!['dense', 'low-rank'].includes(o.kernel)) bad('kernel', 'must be dense or low-rank');
  if (!(Number.isInteger(o.kernelRank) && o.kernelRank >= 1)) bad('kernelRank', 'must be an integer >= 1');
  if (typeof o.kernelRankAuto !== 'boolean') bad('kernelRankAuto', 'must be true or false');
  if (!(Number.isInteger(o.kernelOversample) && o.kernelOversample >= 0)) bad('kernelOversample', 'must be an integer >= 0');
  if (!(Number.isInteger(o.kernelPowerSteps) && o.kernelPowerSteps >= 0)) bad('kernelPowerSteps', 'must be an integer >= 0');
  if (typeof o.sideBias !== 'boolean') bad('sideBias', 'must be true or false');
  if (o.sideBias && o.kernel !== 'low-rank') bad('sideBias', 'fits its biases with the low-rank kernel: set kernel to low-rank');
  if (!(o.blockFlops >= 1 && Number.isFinite(o.blockFlops))) bad('blockFlops', 'must be a finite number >= 1');
}
