// What both sweep loops (pipeline/sweeploop.ts for the dense kernel, pipeline/lowrank-loop.ts for
// the low-rank one) do alike around their sweeps: the solves' sums, checkpoints and interruption
// after a sweep, and the completion they return.

import type { BlockResult } from './blocks.ts';
import type { CompletionResult, EngineOptions, LinRfmModel, StopReason, SweepInfo } from '../engine/options.ts';
import type { ScheduleState } from '../engine/schedule.ts';
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

/** A completion from what a sweep loop ends with; `extra` holds what differs between the kernel forms. */
export function completionOf(
  end: { model: LinRfmModel; sched: ScheduleState; stopReason: StopReason; sweeps: number; history: SweepInfo[]; t0: number; opts: EngineOptions; nTrain: number; nVal: number },
  extra: Pick<CompletionResult, 'predict' | 'spectrum' | 'spilledChunks' | 'release'>,
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
