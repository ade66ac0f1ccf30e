// What both sweep loops (pipeline/sweeploop.ts for the dense kernel, pipeline/lowrank-loop.ts for
// the low-rank one) do alike around their sweeps: the solves' sums, checkpoints and interruption
// after a sweep, and the completion they return.

import type { Block, BlockResult } from './blocks.ts';
import type { CompletionResult, EngineOptions, LinRfmModel, StopReason, SweepInfo } from '../engine/options.ts';
import { bestTrial, searchRidge, type ScheduleState } from '../engine/schedule.ts';
import type { EngineState, RunControl } from '../engine/state.ts';

/** The solve blocks' fallbacks and squared held-out errors, added in block order (so the same bits for any workers). */
export function sumSolves(results: BlockResult[]): BlockResult {
  let fallbacks = 0;
  let se = 0;
  for (const r of results) {
    fallbacks += r.fallbacks;
    se += r.se;
  }
  return { fallbacks, se };
}

/**
 * After sweep `sweep` (not the run's last): hands the state to onCheckpoint every checkpointEvery
 * sweeps, or when the run is interrupted; returns whether it is.
 */
export function checkpointAfter(control: RunControl, sweep: number, state: () => EngineState): boolean {
  const interrupted = control.interrupted?.() === true;
  const every = control.checkpointEvery ?? 0;
  if (control.onCheckpoint && (interrupted || (every > 0 && (sweep + 1) % every === 0))) control.onCheckpoint(state());
  return interrupted;
}

/**
 * The model's ridge after the sweeps (EngineOptions.finalRidge): with 'search', a validation split and
 * a run that ended well, searchRidge over passes of row solves with the best sweep's kernel: `hold`
 * puts that kernel where the solves read it, once, before the first pass; `solveAt` runs pass
 * number `pass` (0, 1, ...) at a ridge and gives its blocks' results in block order (the same bits
 * for any workers). The schedule comes back with the winner as its best ridge and MSE. Else the
 * best sweep's ridge, and no search. `scale`: the data's unit (RMSEs and ridges reported in it).
 */
export function* finalRidge(
  sched: ScheduleState, opts: EngineOptions, nVal: number, stopReason: StopReason, scale: number,
  hold: () => void, solveAt: (lambda: number, pass: number) => Generator<Block[], BlockResult[], BlockResult[]>,
): Generator<Block[], { sched: ScheduleState; ridgeSearch: CompletionResult['ridgeSearch'] }, BlockResult[]> {
  if (opts.finalRidge !== 'search' || nVal === 0 || stopReason === 'interrupted' || stopReason === 'diverged' || !Number.isFinite(sched.bestMse)) {
    return { sched, ridgeSearch: null };
  }
  hold();
  const search = searchRidge(sched.bestLambda, sched.bestMse, opts.lambdaFloor);
  let step = search.next();
  for (let pass = 0; !step.done; pass++) {
    const { se } = sumSolves(yield* solveAt(step.value, pass));
    step = search.next(se / nVal);
  }
  const win = bestTrial(step.value);
  const ms = scale * scale;
  return {
    sched: { ...sched, bestLambda: win.lambda, bestMse: win.mse },
    ridgeSearch: { tried: step.value.map((t) => ({ lambda: t.lambda * ms, validationRmse: Math.sqrt(t.mse) * scale })), chosen: win.lambda * ms },
  };
}

/** A completion from what a sweep loop ends with; `extra` holds what differs between the kernel forms. */
export function completionOf(
  end: { model: LinRfmModel; sched: ScheduleState; stopReason: StopReason; sweeps: number; history: SweepInfo[]; t0: number; opts: EngineOptions; nTrain: number; nVal: number },
  extra: Pick<CompletionResult, 'predict' | 'spectrum' | 'spilledChunks' | 'release' | 'ridgeSearch'>,
): CompletionResult {
  const { model, sched, opts } = end;
  return {
    model,
    stopReason: end.stopReason,
    sweeps: Math.min(end.sweeps, opts.maxSweeps),
    bestSweep: sched.bestSweep,
    bestValidationRmse: Math.sqrt(sched.bestMse) * model.scale,
    history: end.history,
    seconds: (performance.now() - end.t0) / 1000,
    options: opts,
    nTrain: end.nTrain,
    nValidation: end.nVal,
    ...extra,
  };
}
