// The schedule between sweeps as a pure state machine: the best sweep so far, when to stop, the
// kernel extrapolation's coefficient and restarts, and the next ridge (docs/DESIGN.md, "The schedule").
// Each step takes a state and returns a new one; the sweep loop owns the arrays.

import type { EngineOptions, LambdaSchedule, StopReason } from './options.ts';

/** Everything the schedule carries from one sweep to the next (all MSEs relative to the mean square). */
export interface ScheduleState {
  /** The ridge of the next sweep. */
  lambda: number;
  bestMse: number;
  bestSweep: number;
  bestLambda: number;
  /** Patience's reference: the best MSE and sweep when the best last gained 0.1% on its value then. */
  gainMse: number;
  gainSweep: number;
  /** The validation MSE of the last sweep (a rise restarts the extrapolation). */
  prevMse: number;
  /** The adaptive schedule's plateau watch: the validation MSE at the last cut or 1% gain, and sweeps since. */
  plateauMse: number;
  plateauSweeps: number;
  /**
   * A plateau cut on trial: the ridge before it (0: none), the best MSE when it was made and the
   * sweeps since. A cut that brings no 1% gain on that best within lambdaPlateau sweeps is undone.
   */
  cutFrom: number;
  cutBest: number;
  cutSweeps: number;
  /** After an undone cut: the ridge the schedule holds from then on (0: still free to cut). */
  heldLambda: number;
  restarts: number;
  /** Sweeps since the last restart of the extrapolation (k in Nesterov's (k - 1) / (k + 2)). */
  sinceRestart: number;
  /** Whether a previous AGOP (or kernel) is held to extrapolate from. */
  havePrev: boolean;
}

/** The schedule's fields of a state that holds more (a checkpoint's): the state to resume the schedule from. */
export function scheduleOf(s: ScheduleState): ScheduleState {
  const { lambda, bestMse, bestSweep, bestLambda, prevMse, plateauMse, plateauSweeps, restarts, sinceRestart, havePrev } = s;
  // a checkpoint written before the cut trial existed resumes with no cut on trial
  const gain = { gainMse: s.gainMse ?? s.bestMse, gainSweep: s.gainSweep ?? s.bestSweep };
  const cut = { cutFrom: s.cutFrom ?? 0, cutBest: s.cutBest ?? Number.POSITIVE_INFINITY, cutSweeps: s.cutSweeps ?? 0, heldLambda: s.heldLambda ?? 0 };
  return { lambda, bestMse, bestSweep, bestLambda, ...gain, prevMse, plateauMse, plateauSweeps, ...cut, restarts, sinceRestart, havePrev };
}

export type ScheduleOptions = Pick<EngineOptions,
  'lambda' | 'lambdaSchedule' | 'lambdaFloor' | 'lambdaFactor' | 'lambdaPlateau' | 'momentum' | 'patience' | 'tol'>;

// The adaptive schedule's plateau rule: a sweep counts as progress when it gains 1% on the
// reference MSE; after lambdaPlateau sweeps without, the ridge is cut to a quarter.
const PLATEAU_GAIN = 0.99;
// Patience counts sweeps since the best last gained 0.1%: a tail of ever smaller gains (noise being
// fitted a little better each sweep) does not keep a run going.
const PATIENCE_GAIN = 0.999;
const PLATEAU_CUT = 0.25;

export function initialSchedule(opts: Pick<EngineOptions, 'lambda'>): ScheduleState {
  return {
    lambda: opts.lambda,
    bestMse: Number.POSITIVE_INFINITY,
    bestSweep: 0,
    bestLambda: opts.lambda,
    gainMse: Number.POSITIVE_INFINITY,
    gainSweep: 0,
    prevMse: Number.POSITIVE_INFINITY,
    plateauMse: Number.POSITIVE_INFINITY,
    plateauSweeps: 0,
    cutFrom: 0,
    cutBest: Number.POSITIVE_INFINITY,
    cutSweeps: 0,
    heldLambda: 0,
    restarts: 0,
    sinceRestart: 0,
    havePrev: false,
  };
}

/**
 * After sweep `sweep`'s fit, with validation MSE `mse` (NaN without a validation split): is this the
 * best sweep so far (its kernel is the model's)? Without a split every sweep is the best.
 */
export function recordFit(s: ScheduleState, sweep: number, mse: number, validated: boolean): { state: ScheduleState; best: boolean } {
  if (validated && !(mse < s.bestMse)) return { state: s, best: false };
  const gain = !validated || mse < PATIENCE_GAIN * s.gainMse ? { gainMse: validated ? mse : Number.NaN, gainSweep: sweep } : {};
  return { state: { ...s, bestMse: validated ? mse : Number.NaN, bestSweep: sweep, bestLambda: s.lambda, ...gain }, best: true };
}

/** Whether the run ends after this sweep's fit (before its AGOP), and why. */
export function stopAfterFit(
  s: ScheduleState, sweep: number, mse: number, validated: boolean, callbackStop: boolean, opts: Pick<ScheduleOptions, 'tol' | 'patience'>,
): StopReason | null {
  if (validated && !Number.isFinite(mse)) return 'diverged';
  if (callbackStop) return 'callback';
  if (validated && mse <= opts.tol) return 'converged';
  if (validated && sweep - s.gainSweep >= opts.patience) return 'patience';
  return null;
}

/** What the next kernel is made of: the AGOP as it is, or extrapolated by `beta`. */
export interface NextKernel {
  /** True when the extrapolation is on (momentum > 0): the previous AGOP (or kernel) must be kept. */
  keepPrevious: boolean;
  /** K_{t+1} = X_t + beta (X_t - X_{t-1}) with X the AGOP or its power; 0: X_t itself. */
  beta: number;
}

/**
 * The step between two sweeps once the AGOP is formed: the extrapolation (Nesterov's ramp
 * (k - 1) / (k + 2), capped at `momentum`; a rise of the validation MSE restarts it, and that sweep
 * takes the AGOP as it is) and the next ridge. `schedule` is the effective one ('fixed' without a
 * validation split).
 */
export function nextStep(s: ScheduleState, mse: number, opts: ScheduleOptions, schedule: LambdaSchedule): { state: ScheduleState; next: NextKernel } {
  let { restarts, sinceRestart, havePrev, lambda, plateauMse, plateauSweeps } = s;
  let next: NextKernel = { keepPrevious: false, beta: 0 };
  if (opts.momentum > 0) {
    const restart = mse > s.prevMse;
    if (restart) {
      restarts++;
      sinceRestart = 0;
    }
    const beta = Math.min(opts.momentum, (sinceRestart - 1) / (sinceRestart + 2));
    sinceRestart++;
    next = { keepPrevious: true, beta: havePrev && !restart && beta > 0 ? beta : 0 };
    havePrev = true;
  }
  // the next ridge first: a Newton-Schulz root need only resolve K to a fraction of it
  let { cutFrom, cutBest, cutSweeps, heldLambda } = s;
  if (schedule === 'adaptive') {
    const floor = Math.max(opts.lambdaFloor, heldLambda);
    lambda = Math.max(floor, Math.min(lambda, opts.lambdaFactor * mse));
    if (cutFrom > 0 && s.bestMse < PLATEAU_GAIN * cutBest) cutFrom = 0;
    else if (cutFrom > 0 && ++cutSweeps >= opts.lambdaPlateau) {
      // the cut fitted noise rather than signal: back to the ridge before it, and no more cuts
      lambda = heldLambda = cutFrom;
      cutFrom = 0;
      plateauMse = mse;
      plateauSweeps = 0;
    }
    // a flat validation error under a ridge that no longer follows it: cut the ridge (see lambdaPlateau);
    // not while a cut is on trial or after one was undone
    if (mse < PLATEAU_GAIN * plateauMse) {
      plateauMse = mse;
      plateauSweeps = 0;
    } else if (opts.lambdaPlateau > 0 && heldLambda === 0 && cutFrom === 0 && ++plateauSweeps >= opts.lambdaPlateau) {
      cutFrom = lambda;
      cutBest = s.bestMse;
      cutSweeps = 0;
      lambda = Math.max(floor, PLATEAU_CUT * lambda);
      plateauMse = mse;
      plateauSweeps = 0;
    }
  } else if (schedule === 'official' && mse < 0.1) lambda = Math.min(lambda, 1e-3);
  return { state: { ...s, restarts, sinceRestart, havePrev, lambda, plateauMse, plateauSweeps, cutFrom, cutBest, cutSweeps, heldLambda, prevMse: mse }, next };
}

/** One ridge the final search tried and its validation MSE (relative units). */
export interface RidgeTrial {
  lambda: number;
  mse: number;
}

/** Steps of the final ridge search each way from the best sweep's ridge (factors up to 2^RIDGE_STEPS). */
export const RIDGE_STEPS = 6;

/**
 * The final ridge: with the best sweep's kernel held, the ridge that gives the lowest validation
 * MSE. The kernel was learned under the schedule's ridge, whose job is to steer the sweeps; the
 * ridge of the completions themselves is a hyperparameter like any ridge regression's, and the
 * validation split picks it (as one picks ALS's by validation). A generator: it yields each ridge
 * to try and is resumed with that ridge's validation MSE, so the caller runs the solves where the
 * data live. From (lambda0, mse0), the best sweep's, it doubles the ridge while that gains, else
 * halves it while that gains (at most RIDGE_STEPS each way, never below `floor`), then tries the
 * best times and over sqrt(2). Returns the trials in order; the lowest MSE wins, the earlier on a tie.
 */
export function* searchRidge(lambda0: number, mse0: number, floor: number): Generator<number, RidgeTrial[], number> {
  const tried: RidgeTrial[] = [{ lambda: lambda0, mse: mse0 }];
  const attempt = function* (lambda: number): Generator<number, boolean, number> {
    const before = bestTrial(tried).mse;
    const mse = yield lambda;
    tried.push({ lambda, mse });
    return mse < before;
  };
  let up = 0;
  while (up < RIDGE_STEPS && (yield* attempt(lambda0 * 2 ** (up + 1)))) up++;
  if (up === 0) {
    for (let down = 1; down <= RIDGE_STEPS && lambda0 / 2 ** down >= floor; down++) {
      if (!(yield* attempt(lambda0 / 2 ** down))) break;
    }
  }
  const centre = bestTrial(tried).lambda;
  for (const lambda of [centre * Math.SQRT2, centre / Math.SQRT2]) {
    if (lambda >= floor) yield* attempt(lambda);
  }
  return tried;
}

/** The winner of searchRidge's trials: the lowest MSE, the earlier on a tie (NaN never wins). */
export function bestTrial(tried: RidgeTrial[]): RidgeTrial {
  return tried.reduce((a, b) => (b.mse < a.mse ? b : a));
}
