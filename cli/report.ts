// What every command reports: the version, the run's summary for report.json, progress per sweep,
// the peak memory.

import type { CompletionResult, SweepCallback } from '../engine/options.ts';
import type { Progress } from './progress.ts';

export const VERSION = '0.1.0';

/**
 * Progress per sweep. The callback runs after a sweep's fit and before its AGOP (so that it sees the
 * sweep's kernel), when the sweep's own seconds are not known yet: the line shows the wall time since
 * the previous sweep's report, a whole sweep.
 */
export function sweepReporter(progress: Progress, maxSweeps: number): SweepCallback {
  let last = performance.now();
  return (info) => {
    const now = performance.now();
    const ms = now - last;
    last = now;
    const rmse = Number.isFinite(info.validationRmse) ? info.validationRmse.toExponential(3) : 'n/a';
    progress.status(
      `sweep ${info.sweep + 1}/${maxSweeps}  validation RMSE ${rmse}  lambda ${info.lambda.toExponential(2)}  ${ms.toFixed(0)} ms`,
    );
    progress.event('sweep', {
      sweep: info.sweep,
      validationRmse: info.validationRmse,
      lambda: info.lambda,
      agop: info.agop,
      cholFallbacks: info.cholFallbacks,
    });
  };
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function runSummary(r: CompletionResult): Record<string, unknown> {
  return {
    options: r.options,
    sweeps: r.sweeps,
    stopReason: r.stopReason,
    bestSweep: r.bestSweep,
    bestValidationRmse: r.bestValidationRmse,
    lambda: r.model.lambda * r.model.scale * r.model.scale,
    kernelSide: r.model.d,
    transposed: r.model.transposed,
    nTrain: r.nTrain,
    nValidation: r.nValidation,
    seconds: r.seconds,
    history: r.history.map((h) => ({
      sweep: h.sweep,
      validationRmse: h.validationRmse,
      lambda: h.lambda,
      seconds: h.seconds,
      agop: h.agop,
      cholFallbacks: h.cholFallbacks,
      restarts: h.restarts,
    })),
  };
}
