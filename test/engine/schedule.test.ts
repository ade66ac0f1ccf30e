// The schedule as a state machine: best sweep, stopping, the extrapolation's ramp and restarts, and
// the ridge rules, each step checked against its closed form on hand-made error sequences.

import { describe, expect, it } from 'vitest';
import { initialSchedule, nextStep, recordFit, stopAfterFit, type ScheduleOptions, type ScheduleState } from '../../engine/schedule.ts';

const opts: ScheduleOptions = {
  lambda: 0.05, lambdaSchedule: 'adaptive', lambdaFloor: 1e-8, lambdaFactor: 2, lambdaPlateau: 5, momentum: 0.95, patience: 20, tol: 1e-6,
};

/** Feeds validation MSEs through fit and step as the sweep loop does; returns the states and betas. */
function drive(mses: number[], o: ScheduleOptions = opts): { states: ScheduleState[]; betas: number[] } {
  let s = Object.freeze(initialSchedule(o));
  const states: ScheduleState[] = [];
  const betas: number[] = [];
  mses.forEach((mse, sweep) => {
    s = Object.freeze(recordFit(s, sweep, mse, true).state);
    const step = nextStep(s, mse, o, o.lambdaSchedule);
    s = Object.freeze(step.state);
    states.push(s);
    betas.push(step.next.beta);
  });
  return { states, betas };
}

describe('schedule', () => {
  it('keeps the best sweep and its ridge; without validation every sweep is the best', () => {
    let s = initialSchedule(opts);
    s = recordFit(s, 0, 0.5, true).state;
    expect(recordFit(s, 1, 0.5, true).best).toBe(false);
    const r = recordFit({ ...s, lambda: 0.01 }, 2, 0.4, true);
    expect(r.best).toBe(true);
    expect([r.state.bestSweep, r.state.bestMse, r.state.bestLambda]).toEqual([2, 0.4, 0.01]);
    const n = recordFit(s, 3, Number.NaN, false);
    expect(n.best).toBe(true);
    expect(n.state.bestMse).toBeNaN();
  });

  it('stops on a non-finite error first, then the callback, the tolerance and patience', () => {
    const s = { ...initialSchedule(opts), bestSweep: 10, gainSweep: 10 };
    expect(stopAfterFit(s, 12, Number.NaN, true, true, opts)).toBe('diverged');
    expect(stopAfterFit(s, 12, 1e-9, true, true, opts)).toBe('callback');
    expect(stopAfterFit(s, 12, 1e-6, true, false, opts)).toBe('converged');
    expect(stopAfterFit(s, 29, 0.1, true, false, opts)).toBe(null);
    expect(stopAfterFit(s, 30, 0.1, true, false, opts)).toBe('patience');
    expect(stopAfterFit(s, 500, Number.NaN, false, false, opts)).toBe(null);
  });

  it('patience counts from the last best 0.1% below the best at the previous such gain; smaller bests still become the model', () => {
    let s = recordFit(initialSchedule(opts), 0, 0.01, true).state;
    expect([s.gainSweep, s.gainMse]).toEqual([0, 0.01]);
    // 0.05% lower: a new best (the model's kernel) that leaves patience's count running
    const small = recordFit(s, 5, 0.009995, true);
    expect(small.best).toBe(true);
    expect([small.state.bestSweep, small.state.gainSweep, small.state.gainMse]).toEqual([5, 0, 0.01]);
    expect(stopAfterFit(small.state, 20, 0.01, true, false, opts)).toBe('patience');
    // another 0.06%: 0.11% below the reference, so the count restarts there
    s = recordFit(small.state, 8, 0.009989, true).state;
    expect([s.gainSweep, s.gainMse]).toEqual([8, 0.009989]);
    expect(stopAfterFit(s, 27, 0.01, true, false, opts)).toBe(null);
    expect(stopAfterFit(s, 28, 0.01, true, false, opts)).toBe('patience');
  });

  it("ramps the extrapolation as Nesterov's (k - 1) / (k + 2), capped, and restarts it on a rise", () => {
    const falling = Array.from({ length: 60 }, (_, t) => 0.5 * 0.97 ** t);
    const { betas, states } = drive(falling);
    // the first step has nothing to extrapolate from; then k = 1, 2, ... counts the steps since
    expect(betas[0]).toBe(0);
    for (let t = 1; t < falling.length; t++) expect(betas[t]).toBe(Math.max(0, Math.min(0.95, (t - 1) / (t + 2))));
    expect(states.at(-1)!.restarts).toBe(0);
    const rise = [...falling.slice(0, 10), 1, 0.9, 0.8];
    const r = drive(rise);
    expect(r.betas[10]).toBe(0);
    expect(r.states[10]!.restarts).toBe(1);
    expect(r.betas[11]).toBe(0); // k = 1 after the restart
    expect(r.betas[12]).toBe(1 / 4);
  });

  it('without momentum keeps nothing and never extrapolates', () => {
    const s = nextStep(initialSchedule(opts), 0.1, { ...opts, momentum: 0 }, 'adaptive');
    expect(s.next).toEqual({ keepPrevious: false, beta: 0 });
    expect(s.state.havePrev).toBe(false);
  });

  it('adaptive: the ridge follows factor x MSE down, never up, and a plateau cuts it to a quarter', () => {
    const { states } = drive([0.1, 0.01, 0.02, 0.001]);
    expect(states.map((s) => s.lambda)).toEqual([0.05, 0.02, 0.02, 0.002]);
    // five sweeps without a 1% gain on 0.01: the fifth cuts
    const flat = drive([0.01, 0.01, 0.01, 0.0101, 0.01, 0.01]).states;
    expect(flat.map((s) => s.lambda)).toEqual([0.02, 0.02, 0.02, 0.02, 0.02, 0.005]);
    expect(flat.at(-1)!.plateauSweeps).toBe(0);
    // the floor holds
    expect(drive([1e-12], { ...opts, lambdaFloor: 1e-8 }).states[0]!.lambda).toBe(1e-8);
  });

  it('adaptive: a cut that brings no 1% gain on the best within lambdaPlateau sweeps is undone, and no cut follows', () => {
    // best 0.01 at sweep 0, five flat sweeps cut 0.02 to 0.005, then five sweeps no better than 0.0099
    const failed = drive([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.012, 0.011, 0.0105, 0.0101, 0.01, ...Array(12).fill(0.01)]).states;
    expect(failed[5]!.lambda).toBe(0.005);
    expect(failed[5]!.cutFrom).toBe(0.02);
    expect(failed.slice(6, 10).map((s) => s.lambda)).toEqual([0.005, 0.005, 0.005, 0.005]);
    expect(failed[10]!.lambda).toBe(0.02);
    expect(failed[10]!.heldLambda).toBe(0.02);
    // held: twelve more flat sweeps cut nothing, and the MSE rule cannot take the ridge below it
    expect(failed.slice(10).every((s) => s.lambda === 0.02 && s.cutFrom === 0)).toBe(true);
    expect(drive([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02, 0.02, 1e-4]).states.at(-1)!.lambda).toBe(0.02);
    // a cut followed by a 1% gain on the best stays, and the next plateau may cut again
    const paid = drive([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.0098, 0.0098, 0.0098, 0.0098, 0.0098, 0.0098]).states;
    expect(paid[6]!.cutFrom).toBe(0);
    expect(paid.map((s) => s.lambda).slice(5)).toEqual([0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.00125]);
  });

  it('official drops the ridge to 1e-3 once the MSE is below 0.1; fixed never moves it', () => {
    const official = { ...opts, lambdaSchedule: 'official' as const };
    expect(drive([0.5, 0.2, 0.09, 0.5], official).states.map((s) => s.lambda)).toEqual([0.05, 0.05, 1e-3, 1e-3]);
    const fixed = { ...opts, lambdaSchedule: 'fixed' as const };
    expect(drive([0.5, 1e-4, 1e-7], fixed).states.map((s) => s.lambda)).toEqual([0.05, 0.05, 0.05]);
  });
});
