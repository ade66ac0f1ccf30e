// The sweeps of one run (set up by setup.ts): the sweep loop as a generator of blocks, with the
// schedule, momentum, stopping and checkpoints between phases.

import { ResumeMismatch, type EngineState, type RunControl } from '../engine/state.ts';
import { nextOperandKey, Slot, type Block, type BlockResult } from './blocks.ts';
import type { CompletionResult, EngineOptions, LambdaSchedule, LinRfmModel, StopReason, SweepCallback, SweepInfo, SweepProbe } from '../engine/options.ts';
import { predictInput } from '../engine/prediction.ts';
import type { RunSetup } from './setup.ts';
import { remoteChunk, type SpillStore } from './spill.ts';
import type { PreparedData } from '../engine/split.ts';
import { nextKernelPower, powerScratch } from '../engine/sweep.ts';
import { initialSchedule, nextStep, recordFit, scheduleOf, stopAfterFit, type ScheduleOptions } from '../engine/schedule.ts';
import { checkpointAfter, completionOf, finalRidge, sumSolves } from './loopsteps.ts';

/**
 * The sweeps, as a generator: it yields each phase's blocks, is resumed with their results (in
 * block order), and does the cheap serial steps (the schedule, engine/schedule.ts; the
 * extrapolation; the power) in between.
 */
export function* sweepLoop(
  run: RunSetup,
  opts: EngineOptions,
  onSweep: SweepCallback | undefined,
  control: RunControl,
  t0: number,
  remote = false,
): Generator<Block[], CompletionResult, BlockResult[]> {
  const { data, arrays, plan, path, chunkRows, momentum, store, n, d, nVal } = run;
  // names this run for the threads' cached row solvers
  const runKey = nextOperandKey();
  const ms = data.scale * data.scale;
  const schedule: LambdaSchedule = nVal === 0 ? 'fixed' : opts.lambdaSchedule;
  const mats = arrays.mats;
  const a = arrays.a;

  let kI: number = Slot.kernel;
  let gI: number = Slot.agop;
  let extI: number = Slot.extrapolated;
  for (let j = 0; j < d; j++) mats[kI]![j * d + j] = 1;
  const best = new Float64Array(d * d);
  const pow = opts.alpha === 0.5 && opts.root !== 'eig' ? null : powerScratch(d);
  // G_{t-1} for the extrapolation
  const Gprev = new Float64Array(momentum > 0 ? d * d : 0);
  // For 2 alpha < 1 the extrapolation is taken after the power, on the kernels themselves (Gprev
  // then holds the last P_t = G_t^(2 alpha)): docs/DESIGN.md, "The schedule".
  const rootSpace = pow !== null && 2 * opts.alpha < 1;
  // the run's momentum: none without a validation split (no restart signal)
  const scheduleOpts: ScheduleOptions = { ...opts, momentum };
  let sched = initialSchedule(opts);
  let stopReason: StopReason = 'max-sweeps';
  const history: SweepInfo[] = [];

  let sweep = 0;
  const state = (sweepsDone: number): EngineState => ({
    sweepsDone,
    d,
    runId: run.id,
    ...sched,
    history,
    K: mats[kI]!,
    best,
    Gprev,
  });
  const r = control.resume;
  if (r !== undefined) {
    if (r.runId !== run.id || r.d !== d || r.K.length !== d * d || r.Gprev.length !== Gprev.length) {
      throw new ResumeMismatch(r.runId, run.id);
    }
    sweep = r.sweepsDone;
    sched = scheduleOf(r);
    history.push(...r.history);
    mats[kI]!.set(r.K);
    best.set(r.best);
    Gprev.set(r.Gprev);
  }

  if (remote && store === null) throw new RangeError('a run on the cluster is a spilled run: give the spill options');
  const remoteTasks = remote && store !== null
    ? store.chunks.map((c) => remoteChunk(c, store.solveRanges(plan, c)))
    : null;

  const probe: SweepProbe = {
    predict: (rows, cols, out) => store === null
      ? predictInput(data, mats[kI]!, sched.lambda, a, true, rows, cols, out ?? new Float64Array(rows.length))
      : predictSpilled(store, data, mats[kI]!, sched.lambda, true, rows, cols, out),
  };

  // Row solves with the kernel in mats[kI] at ridge `lambda`: on the cluster (all chunks at once,
  // taken back chunk by chunk), in memory, or chunk by chunk; `yhat` fuses Yhat rows in (in memory);
  // `q` adds each chunk's rows' share of Q after its solves (rows of Q ascending, as in memory).
  function* solvePass(lambda: number, yhat: boolean, q: boolean, pass: number): Generator<Block[], BlockResult[], BlockResult[]> {
    const kKey = nextOperandKey();
    const qBlocks = (c: { index: number }): Block[] => plan.q.map(([r0, r1]): Block => ({ kind: 'q', Q: Slot.q, r0, r1, zero: c.index === 0 }));
    if (store === null) return yield plan.solve.map(([r0, r1, v0, v1]): Block => ({ kind: 'solve', K: kI, lambda, r0, r1, v0, v1, yhat, runKey, kKey }));
    const solved: BlockResult[] = [];
    if (remote) yield [{ kind: 'dispatch', pass: { kind: 'solve', sweep, pass, d, lambda, K: mats[kI]!, chunks: remoteTasks! } }];
    for (const c of store.chunks) {
      store.load(c, arrays);
      if (remote) solved.push(...(yield [{ kind: 'collect', chunk: c.index, out: arrays.a }]));
      else {
        const chunkKey = nextOperandKey();
        solved.push(...(yield store.solveRanges(plan, c).map(([r0, r1, v0, v1]): Block => ({ kind: 'solve', K: kI, lambda, r0, r1, v0, v1, yhat: false, runKey: chunkKey, kKey }))));
      }
      if (q) yield qBlocks(c);
    }
    return solved;
  }

  for (; sweep < opts.maxSweeps; sweep++) {
    const ts = performance.now();
    // Yhat rows along with the solves, unless this is the last sweep (which forms no AGOP)
    const yhat = plan.fuseYhat && sweep + 1 < opts.maxSweeps;
    const lambda = sched.lambda;
    const solved = yield* solvePass(lambda, yhat, sweep + 1 < opts.maxSweeps, 0);
    const { fallbacks, se } = sumSolves(solved);
    const mse = nVal > 0 ? se / nVal : Number.NaN;
    const solveSeconds = (performance.now() - ts) / 1000;
    let agopSeconds = 0;
    const fit = recordFit(sched, sweep, mse, nVal > 0);
    sched = fit.state;
    if (fit.best) best.set(mats[kI]!);
    // The probe must see this sweep's kernel, so the callback runs before K is replaced.
    const info: SweepInfo = {
      sweep,
      lambda: lambda * ms,
      validationRmse: Math.sqrt(mse) * data.scale,
      validationRelMse: mse,
      agop: path,
      cholFallbacks: fallbacks,
      restarts: sched.restarts,
      seconds: 0,
      solveSeconds,
      agopSeconds: 0,
    };
    const tc = performance.now();
    const verdict = onSweep ? onSweep(info, probe) : undefined;
    // the caller's own work (progress, experiments' error reports) is not the sweep's time
    const callbackMs = performance.now() - tc;

    let stop = stopAfterFit(sched, sweep, mse, nVal > 0, verdict === 'stop', opts);
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      const ta = performance.now();
      if (path === 'streamed') {
        // G = Yhat^T Yhat / n, a super-chunk of Yhat rows at a time
        for (const sc of plan.superChunks) {
          if (!plan.fuseYhat) yield sc.rows.map(([r0, r1]): Block => ({ kind: 'yhat', K: kI, r0, r1, s0: sc.s0 }));
          const rows = sc.s1 - sc.s0;
          const first = sc.s0 === 0;
          const last = sc.s1 === n;
          yield plan.gram.map(([r0, r1]): Block => ({ kind: 'gram', G: gI, r0, r1, rows, chunkRows, first, last, scale: 1 / n }));
        }
      } else {
        // G = (K + lambda I) Q (K + lambda I) / n, symmetrised (see agopFactored)
        if (store === null) yield plan.q.map(([r0, r1]): Block => ({ kind: 'q', Q: Slot.q, r0, r1, zero: true }));
        const K = mats[kI]!;
        const saved = new Float64Array(d);
        for (let j = 0; j < d; j++) {
          saved[j] = K[j * d + j]!;
          K[j * d + j] += lambda;
        }
        const kKey = nextOperandKey();
        yield plan.gemm.map(([r0, r1]): Block => ({ kind: 'gemm', A: Slot.q, B: kI, C: Slot.product, r0, r1, alpha: 1, bKey: kKey }));
        const tKey = nextOperandKey();
        yield plan.gemm.map(([r0, r1]): Block => ({ kind: 'gemm', A: kI, B: Slot.product, C: gI, r0, r1, alpha: 1 / n, bKey: tKey }));
        for (let j = 0; j < d; j++) K[j * d + j] = saved[j]!;
        yield plan.symm.map(([r0, r1]): Block => ({ kind: 'symm', G: gI, r0, r1 }));
      }
      agopSeconds = (performance.now() - ta) / 1000;
      let srcI = gI;
      const step = nextStep(sched, mse, scheduleOpts, schedule);
      sched = step.state;
      const { keepPrevious, beta } = step.next;
      // Extrapolate the kernel sequence, K_{t+1} = G_t + beta (G_t - G_{t-1}); with rootSpace,
      // P_t + beta (P_t - P_{t-1}) for P_t = G_t^(2 alpha), after the power (below).
      if (keepPrevious && !rootSpace) {
        const G = mats[gI]!;
        if (beta > 0) {
          const Gext = mats[extI]!;
          for (let q = 0; q < d * d; q++) Gext[q] = G[q]! + beta * (G[q]! - Gprev[q]!);
          srcI = extI;
        }
        Gprev.set(G);
      }
      if (pow === null) {
        // K_{t+1} = src: trade buffers instead of copying
        const t = kI;
        kI = srcI;
        if (srcI === gI) gI = t;
        else extI = t;
      } else if (nextKernelPower(d, mats[srcI]!, opts.alpha, mats[kI]!, pow, { root: opts.root, lambda: sched.lambda }) !== 0) {
        stop = 'diverged';
      } else if (keepPrevious && rootSpace) {
        const K = mats[kI]!;
        for (let q = 0; q < d * d; q++) {
          const p = K[q]!;
          K[q] = p + beta * (p - Gprev[q]!);
          Gprev[q] = p;
        }
      }
    }
    info.seconds = (performance.now() - ts - callbackMs) / 1000;
    info.agopSeconds = agopSeconds;
    history.push(info);
    if (stop === null && sweep + 1 < opts.maxSweeps) {
      if (checkpointAfter(control, sweep, () => state(sweep + 1))) stop = 'interrupted';
    }
    if (stop !== null) {
      stopReason = stop;
      sweep++;
      break;
    }
  }
  // the final ridge: the best kernel back in mats[kI], its solves at each ridge tried (passes of a sweep not run)
  const fin = yield* finalRidge(sched, opts, nVal, stopReason, data.scale, () => mats[kI]!.set(best), (lambda, pass) => solvePass(lambda, false, false, pass));
  sched = fin.sched;
  const model: LinRfmModel = { d, K: best, lambda: sched.bestLambda, scale: data.scale, transposed: data.transposed, alpha: opts.alpha };
  return completionOf({ model, sched, stopReason, sweeps: sweep, history, t0, opts, nTrain: run.nTrain, nVal }, {
    predict: (rows, cols, out) => store === null
      ? predictInput(data, model.K, model.lambda, null, false, rows, cols, out ?? new Float64Array(rows.length))
      : predictSpilled(store, data, model.K, model.lambda, false, rows, cols, out),
    spectrum: null,
    spilledChunks: store === null ? 0 : store.chunks.length,
    release: () => store?.dispose(),
    ridgeSearch: fin.ridgeSearch,
  });
}

/** predictInput over a spilled matrix, chunk by chunk. */
function predictSpilled(
  store: SpillStore, data: PreparedData, K: Float64Array, lambda: number, trainOnly: boolean,
  rows: Int32Array, cols: Int32Array, out: Float64Array = new Float64Array(rows.length),
): Float64Array {
  return store.predict(data, rows, cols, out, (view, _chunk, lr, lc, part) => predictInput(view, K, lambda, null, trainOnly, lr, lc, part));
}
