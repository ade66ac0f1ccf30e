// What every command reports: the version, the run's summary for report.json, progress per sweep,
// the peak memory.

import type { KernelChoice } from '../pipeline/memory.ts';
import type { CompletionResult, SweepCallback, SweepInfo } from '../engine/options.ts';
import type { Progress } from './progress.ts';

export const VERSION = '0.1.0';

/**
 * Progress per sweep. The callback runs after a sweep's fit and before its AGOP (so that it sees the
 * sweep's kernel), when the sweep's own seconds are not known yet: the line shows the wall time since
 * the previous sweep's report, a whole sweep.
 */
export function sweepReporter(progress: Progress, maxSweeps: number): SweepCallback {
  let last = performance.now();
  let previous: SweepInfo | null = null;
  return (info) => {
    // an automatic rank is decided after a sweep's callback: said at the next one
    if (previous?.rankChoice !== undefined) progress.info(`kernel rank: ${previous.rankChoice}`);
    previous = info;
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
      ...(info.kernelRank !== undefined ? { kernelRank: info.kernelRank } : {}),
    });
  };
}

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** A low-rank kernel's tail level at or above this share of its top eigenvalue suggests the data has more directions than the rank. */
const TAIL_SHARE_WARN = 0.1;

/**
 * The kernel's form, why it was chosen and, for the low-rank form, the top eigenvalues and the tail
 * level of the last AGOP; with a warning when the tail is not small against the top (rank too small).
 */
export function kernelSummary(r: CompletionResult, choice: KernelChoice): { summary: Record<string, unknown>; warning: string | null } {
  const sp = r.spectrum;
  if (r.model.lowRank === undefined || sp === null) return { summary: { form: 'dense', why: choice.why }, warning: null };
  const top = sp.s[0] ?? 0;
  const tailShare = top > 0 ? sp.tau / top : 0;
  const k = r.model.lowRank.k;
  const warning = tailShare >= TAIL_SHARE_WARN
    ? `the low-rank kernel's tail level is ${(100 * tailShare).toFixed(1)}% of its top eigenvalue: rank ${k} may be too small for these data (try a larger --kernel-rank)`
    : null;
  return { summary: { form: 'low-rank', rank: k, why: choice.why, rankChoice: sp.rankNote ?? null, spectrum: { top: sp.s, tail: sp.tau, tailShare } }, warning };
}

export function runSummary(r: CompletionResult): Record<string, unknown> {
  return {
    options: r.options,
    sweeps: r.sweeps,
    stopReason: r.stopReason,
    bestSweep: r.bestSweep,
    bestValidationRmse: r.bestValidationRmse,
    lambda: r.model.lambda * r.model.scale * r.model.scale,
    ridgeSearch: r.ridgeSearch,
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
      ...(h.kernelRank !== undefined ? { kernelRank: h.kernelRank } : {}),
      ...(h.rankChoice !== undefined ? { rankChoice: h.rankChoice } : {}),
    })),
  };
}
