// Error against wall time for one fit: the relative test error of the iterate, taken at
// geometrically spaced moments of the fit's own time (the evaluations' time left out), and a
// wall-time budget after which the fit is told to stop.

import type { BaselineResult } from '../baselines/common.ts';

export interface ErrorTrace {
  /** Call after every iteration; 'stop' once the fit's time has passed the budget. */
  hook(iteration: number, predict: BaselineResult['predict']): 'stop' | void;
  /** The fit's seconds so far, the evaluations left out. */
  seconds(): number;
  /** Relative test error of the fit's final `predict` (its time counted as the fit's), recorded as the trace's last point; returns it. */
  finish(predict: BaselineResult['predict']): number;
  /** (fit seconds, relative test error) in time order. */
  readonly points: Array<[number, number]>;
}

/** Evaluations a fit gets at most, spaced by this factor in time (from the first iteration). */
const SPACING = 1.25;

/**
 * The relative test error ||pred - truth|| / ||truth|| of a predictor over the pairs (rows, cols)
 * whose true values are `truth` (one buffer for the predictions, reused by every call).
 */
export function testError(rows: Int32Array, cols: Int32Array, truth: Float64Array): (predict: BaselineResult['predict']) => number {
  let den = 0;
  for (const t of truth) den += t * t;
  const pred = new Float64Array(rows.length);
  return (predict) => {
    predict(rows, cols, pred);
    let num = 0;
    for (let e = 0; e < pred.length; e++) num += (pred[e]! - truth[e]!) ** 2;
    return Math.sqrt(num / den);
  };
}

/**
 * A trace over the pairs (rows, cols) whose true values are `truth`; `budgetSeconds` Infinity for
 * none. Starts the fit's clock now.
 */
export function errorTrace(rows: Int32Array, cols: Int32Array, truth: Float64Array, budgetSeconds: number): ErrorTrace {
  const error = testError(rows, cols, truth);
  const start = performance.now();
  let spent = 0;
  let next = 0;
  const points: Array<[number, number]> = [];
  const seconds = (): number => (performance.now() - start) / 1000 - spent;
  // `spend`: the time counts as evaluation, left out of the fit's (the final predict is the fit's
  // own: for lin-RFM it solves every row with the chosen kernel)
  const relError = (predict: BaselineResult['predict'], spend: boolean): number => {
    const t0 = performance.now();
    const e = error(predict);
    if (spend) spent += (performance.now() - t0) / 1000;
    return e;
  };
  return {
    points,
    seconds,
    hook(_iteration, predict) {
      const now = seconds();
      if (now >= next) {
        points.push([now, relError(predict, true)]);
        next = Math.max(now * SPACING, 1e-3);
      }
      return now > budgetSeconds ? 'stop' : undefined;
    },
    finish(predict) {
      const e = relError(predict, false);
      points.push([seconds(), e]);
      return e;
    },
  };
}
